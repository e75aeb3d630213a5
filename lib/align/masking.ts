/**
 * HuBERT span masking (Hsu et al. 2021, Sec. III-C; wav2vec 2.0's scheme): each valid frame is
 * chosen as a span start with probability `startProb` (p = 8% for HuBERT Base), and the `length`
 * frames from each start (l = 10) are masked; spans may overlap, so about
 * 1 - (1 - p)^l ≈ 57% of the frames end up masked for p = 0.08, l = 10. At least `minSpans` spans are
 * drawn per utterance (2, as transformers' mask_time_min_masks). Spans never reach padding frames.
 *
 * Pure and seeded: the same (lengths, options, rng state) always gives the same mask.
 */
import { Rng } from '../random';

export interface SpanMaskOptions {
  /** Probability that a frame starts a masked span (default 0.08). */
  startProb: number;
  /** Span length in frames (default 10). */
  length: number;
  /** Minimum spans per utterance (default 2). */
  minSpans: number;
}

export const HUBERT_BASE_MASK: SpanMaskOptions = { startProb: 0.08, length: 10, minSpans: 2 };

/**
 * Mask [B * T] (1 = masked) for utterances of `lengths` valid frames in a batch of width `frames`.
 * The number of spans is round(startProb * len) plus a Bernoulli draw for the fraction, at least
 * `minSpans`; starts are distinct, uniform over [0, len - length].
 */
export function spanMask(lengths: number[], frames: number, o: SpanMaskOptions, rng: Rng): Float32Array {
  const out = new Float32Array(lengths.length * frames);
  lengths.forEach((lenRaw, b) => {
    const len = Math.min(lenRaw, frames);
    const l = Math.min(o.length, len);
    if (len <= 0 || l <= 0) return;
    const expected = o.startProb * len;
    let n = Math.floor(expected) + (rng.next() < expected - Math.floor(expected) ? 1 : 0);
    const positions = len - l + 1;
    n = Math.min(positions, Math.max(o.minSpans, n));
    const starts = new Set<number>();
    while (starts.size < n) starts.add(rng.int(positions));
    for (const s of starts) out.fill(1, b * frames + s, b * frames + s + l);
  });
  return out;
}

/** Fraction of valid frames masked (for logs and tests). */
export function maskedFraction(mask: Float32Array, lengths: number[], frames: number): number {
  let m = 0, n = 0;
  lengths.forEach((len, b) => { for (let t = 0; t < Math.min(len, frames); t++) { m += mask[b * frames + t]; n++; } });
  return n ? m / n : 0;
}
