/**
 * Corpus arguments of `emolab pseudo` and notebook 04: the one resolver of lib/data
 * (`resolveCorpus`: emodb, av / av-speech-unlabeled, mead-dreamtalk, grid, a folder with a
 * labels.csv, a manifest CSV, "+"-joined names), re-exported under the name notebook 04 uses.
 */
import { join } from 'node:path';
import { corpusRef, resolveCorpus, MEAD_DREAMTALK_DIR } from '../data/corpora';
import type { Manifest } from '../data/types';
import { runsRoot } from '../paths';

export { MEAD_DREAMTALK_DIR };

/** The manifest of a corpus argument (lib/data resolveCorpus). */
export function corpusManifest(name: string): Manifest {
  return resolveCorpus(name);
}

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
