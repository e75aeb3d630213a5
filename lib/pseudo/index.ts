/**
 * lib/pseudo — pretext targets computed from the data itself (no emotion labels), and their
 * label sets on disk. Owns:
 * - segmentation of utterances on the 10 ms frame grid, fixed length + hop or a fixed number of
 *   chunks (./segments), and resampling of video-rate tracks onto that grid;
 * - task 1, high/low energy variation per segment against the utterance or speaker median (./energy);
 * - task 2, high/low facial activation per segment against the speaker median, faceless segments
 *   excluded and counted (./activation, ./activationOnAudioGrid);
 * - task 3, an emotion per utterance from EMFACS action-unit combinations with partial matches,
 *   sustain, a soft label and a speaker baseline (./emfacs; MediaPipe adapter ./face), checked on
 *   RAVDESS OpenFace AUs with actor-half tuning (./ravdess);
 * - frame-level pseudo-emotion labels by k-means (k-means++, Lloyd / mini-batch), purity against
 *   utterance labels, centroids in safetensors (./kmeans);
 * - corpus builders and label sets saved beside the features with their class balance
 *   (./build, ./labelsets), inputs read from media or the feature store (./labelerInputs), and the
 *   `emolab pseudo` command (./cli).
 */
export * from './segments';
export * from './energyTargets';
export * from './activationTargets';
export * from './activationOnAudioGrid';
export * from './emfacs';
export * from './face';
export * from './ravdessAuCheck';
export * from './kmeans';
export * from './labelsets';
export * from './build';
export * from './labelerInputs';
export * from './labelDir';
