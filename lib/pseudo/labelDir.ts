/**
 * Where a corpus' pretext label sets live by default. Corpus arguments themselves are resolved by
 * the one resolver of lib/data (`resolveCorpus`).
 */
import { join } from 'node:path';
import { corpusRef } from '../data/corpora';
import { runsRoot } from '../paths';

/**
 * Default folder for a corpus' label sets: beside its features under EMOLAB_RUNS/features/<key>,
 * where key is the corpus name, or for a folder or manifest CSV its name plus a hash of its path
 * (lib/data corpusRef), so two folders of the same name never share label sets.
 */
export function defaultLabelDir(corpus: string): string {
  let key: string;
  try { key = corpusRef(corpus).key; } catch { key = corpus; }
  return join(runsRoot(), 'features', key.replace(/[^A-Za-z0-9_.-]+/g, '_'));
}
