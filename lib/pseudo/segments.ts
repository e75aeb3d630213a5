/**
 * Segments of an utterance on the 10 ms frame grid of the audio features, shared by pretext tasks
 * 1 (energy) and 2 (facial activation), so both label exactly the same stretches of speech.
 *
 * Two ways to cut an utterance of `nFrames` frames:
 * - `fixed`: segments of `lengthFrames` every `hopFrames` (default 100 frames = 1 s every 50
 *   frames = 0.5 s). The number of segments grows with the duration. A tail that a full hop does not
 *   reach is covered by one extra segment aligned to the end (`tail: 'align-end'`, default) or
 *   dropped (`tail: 'drop'`). An utterance shorter than one segment gives a single segment covering
 *   it when it has at least `minFrames` frames (default 20 = 0.2 s), else none.
 * - `chunks`: always `count` segments of `lengthFrames` (default 100), spread evenly from the first
 *   to the last frame, so the overlap between neighbours adapts to the duration (the chunk-level
 *   scheme of Lin & Busso: a fixed number of chunks per utterance, overlap adjusted per sentence).
 *   When the utterance is shorter than one chunk, every chunk is the whole utterance.
 *
 * Segments are half-open frame ranges `[start, end)`. Pure functions.
 */
import { EmolabError } from '../errors';

export interface Segment {
  /** First frame (inclusive). */
  start: number;
  /** Last frame + 1 (exclusive). */
  end: number;
}

export interface FixedSegmentation {
  mode: 'fixed';
  /** Segment length in frames (default 100 = 1 s at a 10 ms hop). */
  lengthFrames?: number;
  /** Step between segment starts in frames (default 50 = 0.5 s). */
  hopFrames?: number;
  /** What to do with frames after the last full hop (default 'align-end'). */
  tail?: 'align-end' | 'drop';
  /** Shortest utterance (frames) that still yields one segment (default 20 = 0.2 s). */
  minFrames?: number;
}

export interface ChunkSegmentation {
  mode: 'chunks';
  /** Number of chunks per utterance (default 5). */
  count?: number;
  /** Chunk length in frames (default 100 = 1 s). */
  lengthFrames?: number;
  /** Shortest utterance (frames) that still yields chunks (default 20 = 0.2 s). */
  minFrames?: number;
}

export type Segmentation = FixedSegmentation | ChunkSegmentation;

export const SEGMENTATION_DEFAULTS = {
  fixed: { mode: 'fixed', lengthFrames: 100, hopFrames: 50, tail: 'align-end', minFrames: 20 },
  chunks: { mode: 'chunks', count: 5, lengthFrames: 100, minFrames: 20 },
} as const;

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new EmolabError('pseudo', `segmentation: ${name} must be a positive integer, got ${v}`);
  return v;
}

/** Cut `nFrames` frames into segments (see the module comment for the two modes). */
export function segmentFrames(nFrames: number, spec: Segmentation = SEGMENTATION_DEFAULTS.fixed): Segment[] {
  if (!Number.isInteger(nFrames) || nFrames < 0) throw new EmolabError('pseudo', `segmentation: nFrames must be a non-negative integer, got ${nFrames}`);
  const minFrames = positiveInt('minFrames', spec.minFrames ?? SEGMENTATION_DEFAULTS[spec.mode].minFrames);
  const len = positiveInt('lengthFrames', spec.lengthFrames ?? SEGMENTATION_DEFAULTS[spec.mode].lengthFrames);
  if (nFrames < minFrames) return [];
  if (spec.mode === 'fixed') {
    const hop = positiveInt('hopFrames', spec.hopFrames ?? SEGMENTATION_DEFAULTS.fixed.hopFrames);
    if (nFrames <= len) return [{ start: 0, end: nFrames }];
    const out: Segment[] = [];
    let start = 0;
    for (; start + len <= nFrames; start += hop) out.push({ start, end: start + len });
    const last = out[out.length - 1];
    if (last.end < nFrames && (spec.tail ?? 'align-end') === 'align-end') out.push({ start: nFrames - len, end: nFrames });
    return out;
  }
  const count = positiveInt('count', spec.count ?? SEGMENTATION_DEFAULTS.chunks.count);
  if (nFrames <= len) return Array.from({ length: count }, () => ({ start: 0, end: nFrames }));
  if (count === 1) {
    const start = Math.floor((nFrames - len) / 2);
    return [{ start, end: start + len }];
  }
  const span = nFrames - len;
  return Array.from({ length: count }, (_, i) => {
    const start = Math.round((i * span) / (count - 1));
    return { start, end: start + len };
  });
}

/** Segments as seconds, for plots: frame i starts at i * hopS. */
export function segmentTimes(segments: Segment[], hopS = 0.01): { startS: number; endS: number }[] {
  return segments.map((s) => ({ startS: s.start * hopS, endS: s.end * hopS }));
}

/**
 * Resample a curve sampled at irregular times (e.g. video frames at 25 or 30 fps with their
 * timestamps) onto the audio frame grid: frame i of the grid is centred at `i * hopS + windowS / 2`
 * (Kaldi framing: 25 ms windows every 10 ms), and takes the value of the source sample nearest in
 * time. Nearest rather than interpolated so that a boolean track (face found) stays boolean and a
 * missing face is never smeared into its neighbours. Grid frames beyond the last source sample by
 * more than `maxGapS` (default one source period, estimated from the timestamps) get `fill`.
 */
export function resampleToFrames(
  values: ArrayLike<number>,
  timesS: ArrayLike<number>,
  nFrames: number,
  opts: { hopS?: number; windowS?: number; maxGapS?: number; fill?: number } = {},
): Float32Array {
  if (values.length !== timesS.length) throw new EmolabError('pseudo', `resample: ${values.length} values but ${timesS.length} timestamps`);
  const hop = opts.hopS ?? 0.01;
  const half = (opts.windowS ?? 0.025) / 2;
  const fill = opts.fill ?? NaN;
  const out = new Float32Array(nFrames).fill(fill);
  const m = values.length;
  if (m === 0) return out;
  for (let i = 1; i < m; i++) {
    if (!(timesS[i] >= timesS[i - 1])) throw new EmolabError('pseudo', `resample: timestamps must be non-decreasing (index ${i}: ${timesS[i - 1]} then ${timesS[i]})`);
  }
  const period = m > 1 ? (timesS[m - 1] - timesS[0]) / (m - 1) : hop;
  const maxGap = opts.maxGapS ?? Math.max(period, hop);
  let j = 0;
  for (let i = 0; i < nFrames; i++) {
    const t = i * hop + half;
    while (j + 1 < m && Math.abs(timesS[j + 1] - t) <= Math.abs(timesS[j] - t)) j++;
    if (Math.abs(timesS[j] - t) <= maxGap) out[i] = values[j];
  }
  return out;
}
