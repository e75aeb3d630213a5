/**
 * Per-frame level on the same 25 ms / 10 ms snip-edges grid as the Kaldi filterbank, so row t of every
 * frame-level feature describes the same samples.
 */
import { frameGeometry, type KaldiFrameOptions, numFrames } from './kaldi';

export interface EnergyOptions {
  sampleRate?: number;     // 16000
  frameLengthMs?: number;  // 25
  frameShiftMs?: number;   // 10
  /** Lowest value returned, in dB (digital silence): -100. */
  floorDb?: number;
  /** Subtract each frame's mean before measuring (Kaldi's remove_dc_offset): true. */
  removeDc?: boolean;
}

/**
 * RMS level of each frame in dB relative to full scale (a full-scale sine is -3.01 dB):
 * 10 log10(mean(x^2)), floored at `floorDb`. Input is a [-1, 1] signal.
 */
export function frameEnergyDb(signal: Float32Array, opts: EnergyOptions = {}): Float32Array {
  const { windowSize, windowShift } = frameGeometry(opts as KaldiFrameOptions);
  const floorDb = opts.floorDb ?? -100;
  const removeDc = opts.removeDc ?? true;
  const T = numFrames(signal.length, windowSize, windowShift);
  const out = new Float32Array(T);
  const floorPow = Math.pow(10, floorDb / 10);
  for (let t = 0; t < T; t++) {
    const off = t * windowShift;
    let sum = 0, sumSq = 0;
    for (let i = 0; i < windowSize; i++) { const v = signal[off + i]; sum += v; sumSq += v * v; }
    let meanSq = sumSq / windowSize;
    if (removeDc) { const m = sum / windowSize; meanSq = Math.max(0, meanSq - m * m); }
    out[t] = 10 * Math.log10(Math.max(meanSq, floorPow));
  }
  return out;
}

/**
 * Kaldi's raw log energy per frame (natural log of the sum of squares of the DC-removed frame, input scaled by
 * 32768, floored at float32 epsilon) — the value Kaldi puts in column 0 with use_energy.
 */
export function kaldiLogEnergy(signal: Float32Array, opts: EnergyOptions & { inputScale?: number } = {}): Float32Array {
  const { windowSize, windowShift } = frameGeometry(opts as KaldiFrameOptions);
  const scale = opts.inputScale ?? 32768;
  const T = numFrames(signal.length, windowSize, windowShift);
  const out = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const off = t * windowShift;
    let sum = 0;
    for (let i = 0; i < windowSize; i++) sum += signal[off + i] * scale;
    const m = sum / windowSize;
    let e = 0;
    for (let i = 0; i < windowSize; i++) { const v = signal[off + i] * scale - m; e += v * v; }
    out[t] = Math.log(Math.max(e, 1.1920928955078125e-7));
  }
  return out;
}
