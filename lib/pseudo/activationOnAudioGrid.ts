/**
 * Task 2's input on the audio frame grid: lib/face's per-video-frame facial activation (upper face,
 * inter-ocular distances per second; see lib/face/activation.ts for why the upper face) and its
 * usable-face flags, resampled to the 10 ms frames of the audio features by nearest video frame
 * (./segments resampleToFrames), so task 1's segments apply unchanged.
 */
import { usableMask } from '../face/track';
import { resampleToFrames } from './segments';

/** Number of 25 ms / 10 ms frames in `durationS` seconds (Kaldi snip-edges framing). */
export function framesForDuration(durationS: number, hopS = 0.01, windowS = 0.025): number {
  return durationS < windowS ? 0 : Math.floor((durationS - windowS) / hopS + 1e-9) + 1;
}

/**
 * Activation and face flags on the audio grid. `nFrames` defaults to the frames of the video's
 * duration (last frame time + one frame period); pass the audio feature length to match it exactly.
 */
export function activationToAudioGrid(
  activation: ArrayLike<number>, usable: ArrayLike<number>, timesS: ArrayLike<number>, nFrames?: number,
): { activation: Float32Array; faceFound: Float32Array } {
  const m = timesS.length;
  const period = m > 1 ? (timesS[m - 1] - timesS[0]) / (m - 1) : 1 / 30;
  const n = nFrames ?? framesForDuration(m ? timesS[m - 1] + period : 0);
  // Frames whose activation is not a number count as faceless.
  const ok = Float32Array.from({ length: m }, (_, i) => (usable[i] && Number.isFinite(activation[i]) ? 1 : 0));
  const face = resampleToFrames(ok, timesS, n, { fill: 0 });
  return { activation: resampleToFrames(activation, timesS, n), faceFound: face };
}

/** Facial activation of a clip's face features (./labelerInputs StoredFace), on the audio grid. */
export function activationOnAudioGrid(
  face: { activation: ArrayLike<number>; faceFound: Uint8Array; interpolated: Uint8Array; times: ArrayLike<number> }, nFrames?: number,
): { activation: Float32Array; faceFound: Float32Array } {
  return activationToAudioGrid(face.activation, usableMask(face), face.times, nFrames);
}
