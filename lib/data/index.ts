/**
 * lib/data — the dataset layer. Owns: the corpus adapters (EmoDB, CREMA-D, RAVDESS, MEAD, a generic
 * folder + labels CSV, unlabeled audio-visual speech), their file-name parsers, manifests (one `Clip`
 * record per utterance, see ./types) and their CSV form, the quarantine of bad input,
 * speaker-independent splits (EmoDB folds, CREMA-D partitions, a seeded generator), WAV header
 * probing, verified resumable downloads (`emolab data fetch`), corpus summaries and their plotly
 * figure specs (./summaries, ./figures), and the `emolab data` command (./cli, not re-exported).
 *
 * In notebooks import it as `./lib/data/index` (tslab's CommonJS resolution does not pick up a
 * folder's index.ts).
 *
 * Every function that needs a corpus folder defaults to `datasetDir(<LAYOUT>)` (EMOLAB_DATA), so a
 * missing corpus fails with a message naming the variable, the layout and the fetch command.
 */
export * from './types';
export * from './csv';
export * from './emotions';
export * from './wav';
export * from './quarantine';
export * from './splits';
export * from './manifest-csv';
export * from './emodb';
export * from './cremad';
export * from './walk';
export * from './ravdess';
export * from './mead';
export * from './folder';
export * from './checksums';
export * from './zip';
export * from './fetch';
export * from './gridFetch';
export * from './corpora';
export * from './summaries';
export * from './figures';
