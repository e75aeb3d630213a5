/** Where the read-only shared corpora live for these tests: EMOLAB_DATA when set, else ../shared/datasets beside the checkout. */
import { resolve } from 'node:path';
import { dataRoot, repoRoot } from '../../lib/paths';

export const SHARED: string = process.env.EMOLAB_DATA ? dataRoot() : resolve(repoRoot, '..', 'shared', 'datasets');
