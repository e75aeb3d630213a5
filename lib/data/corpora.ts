/**
 * One entry point per corpus name, for the CLI and notebooks: `corpusManifest('emodb')`.
 */
import { EmolabError } from '../errors';
import { datasetDir } from '../paths';
import { cremadManifest, CREMAD_LAYOUT } from './cremad';
import { emodbManifest, EMODB_LAYOUT } from './emodb';
import { AV_SPEECH_LAYOUT, folderManifest, unlabeledAvManifest } from './folder';
import { meadManifest, MEAD_LAYOUT } from './mead';
import { ravdessManifest, RAVDESS_LAYOUT } from './ravdess';
import type { Manifest } from './types';

export const CORPORA = ['emodb', 'crema-d', 'ravdess', 'mead', 'av-speech-unlabeled', 'folder'] as const;
export type CorpusName = (typeof CORPORA)[number];

export function isCorpusName(s: string): s is CorpusName {
  return (CORPORA as readonly string[]).includes(s);
}

export interface CorpusOptions {
  /** Corpus folder (default: the corpus' folder under EMOLAB_DATA; required for 'folder'). */
  root?: string;
  /** EmoDB: drop boredom. */
  boredom?: 'keep' | 'drop';
}

/** The manifest of a corpus by name. */
export function corpusManifest(name: string, opts: CorpusOptions = {}): Manifest {
  if (!isCorpusName(name)) throw new EmolabError('data', `unknown corpus "${name}" (known: ${CORPORA.join(', ')})`);
  switch (name) {
    case 'emodb': return emodbManifest(opts.root ?? datasetDir(EMODB_LAYOUT), { boredom: opts.boredom });
    case 'crema-d': return cremadManifest(opts.root ?? datasetDir(CREMAD_LAYOUT));
    case 'ravdess': return ravdessManifest(opts.root ?? datasetDir(RAVDESS_LAYOUT));
    case 'mead': return meadManifest(opts.root ?? datasetDir(MEAD_LAYOUT));
    case 'av-speech-unlabeled': return unlabeledAvManifest(opts.root ?? datasetDir(AV_SPEECH_LAYOUT));
    case 'folder':
      if (!opts.root) throw new EmolabError('data', 'the folder corpus needs a root folder (a folder of media with labels.csv)');
      return folderManifest(opts.root);
  }
}
