/**
 * `emolab features ...`: the audio subcommands of lib/audio/cli (fbank, mfcc, extract) plus the face
 * features of lib/face/cli (`features face`). The two stages' front ends know nothing of each other;
 * this commands-layer table joins them.
 */
import type { Subcommand } from '../args';

/** `emolab features face`: lib/face/cli, loaded on demand. */
export const FACE_FEATURES: Subcommand = {
  name: 'face',
  summary: 'face features of one video (MediaPipe landmarks, blendshapes, FACS AUs, facial activation) -> one safetensors file',
  usage: 'emolab features face <video> --out x.safetensors [--fps 30] [--max-side 640] [--max-gap 5] [--faces 2] [--max-frames N] [--thresholds AU12=0.3,...] [--force]',
  run: async (argv) => (await import('../face/cli')).runFeaturesFace(argv),
};

export async function run(argv: string[]): Promise<number | void> {
  return (await import('../audio/cli')).run(argv, [FACE_FEATURES]);
}
