/**
 * Corpus names accepted by `emolab pseudo` and notebook 04, resolved to manifests of lib/data:
 * `emodb`, `av` (the unlabeled talking-face clips with speech), `mead-dreamtalk` (24 emotion-
 * labelled MEAD face clips, no audio), `folder:<dir>` (any folder with a labels.csv), or the path
 * of a manifest CSV saved by lib/data.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { emodbManifest } from '../data/emodb';
import { folderManifest, unlabeledAvManifest } from '../data/folder';
import { loadManifestCsv } from '../data/manifest-csv';
import type { Manifest } from '../data/types';
import { EmolabError } from '../errors';
import { dataRoot, runsRoot } from '../paths';

export const MEAD_DREAMTALK_DIR = (): string => join(dataRoot(), 'mead-samples', 'dreamtalk');

export function corpusManifest(name: string): Manifest {
  if (name === 'emodb') return emodbManifest();
  if (name === 'av' || name === 'av-speech-unlabeled') return unlabeledAvManifest();
  if (name === 'mead-dreamtalk') {
    const dir = MEAD_DREAMTALK_DIR();
    if (!existsSync(join(dir, 'labels.csv'))) {
      throw new EmolabError('data', 'MEAD dreamtalk clips not found', { file: dir, hint: 'set EMOLAB_DATA to the folder holding mead-samples/dreamtalk/ (24 mp4 + labels.csv)' });
    }
    return folderManifest(dir, { corpus: 'mead-dreamtalk' });
  }
  if (name.startsWith('folder:')) return folderManifest(resolve(name.slice(7)), { allowUnlabeled: true });
  if (name.endsWith('.csv') && existsSync(name)) return loadManifestCsv(resolve(name));
  throw new EmolabError('pseudo', `unknown corpus "${name}"`, { hint: 'use emodb, av, mead-dreamtalk, folder:<dir> or a manifest .csv' });
}

/** Default folder for a corpus' label sets: beside its features under EMOLAB_RUNS/features/<corpus>. */
export function defaultLabelDir(corpus: string): string {
  return join(runsRoot(), 'features', corpus.replace(/[^A-Za-z0-9_.-]+/g, '_'));
}
