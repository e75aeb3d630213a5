/**
 * Clip-level prosody summaries from frame-level energy and F0 (for exploration and the energy pretext task):
 * level of the speech frames, F0 median / range over voiced frames, voiced fraction, and F0 in semitones
 * relative to each speaker's median F0 (removes the male/female register difference that dominates raw Hz).
 */
export interface ProsodyInput {
  clipId: string;
  speaker: string;
  emotion?: string;
  /** Per-frame RMS level, dBFS. */
  energyDb: Float32Array;
  /** Per-frame F0 in Hz, 0 where unvoiced. */
  f0: Float32Array;
}

export interface ClipProsody {
  clipId: string;
  speaker: string;
  emotion?: string;
  frames: number;
  /** Mean level (dBFS) over frames within `speechRangeDb` of the clip's loudest frame. */
  energyDb: number;
  /** Standard deviation of the level over those frames (dB): a simple measure of energy variation. */
  energyStdDb: number;
  voicedFraction: number;
  /** Median F0 over voiced frames (Hz); NaN when no frame is voiced. */
  f0MedianHz: number;
  /** 90th minus 10th percentile of voiced F0, in semitones. */
  f0RangeSt: number;
  /** Median F0 in semitones relative to the speaker's median over all their clips (filled by `withSpeakerF0`). */
  f0RelSt?: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Summaries of one clip. Frames more than `speechRangeDb` (default 30 dB) below the loudest count as pauses. */
export function clipProsody(x: ProsodyInput, speechRangeDb = 30): ClipProsody {
  const T = x.energyDb.length;
  let peak = -Infinity;
  for (const v of x.energyDb) if (v > peak) peak = v;
  let sum = 0, sumSq = 0, n = 0;
  for (const v of x.energyDb) if (v >= peak - speechRangeDb) { sum += v; sumSq += v * v; n++; }
  const mean = n ? sum / n : NaN;
  const voiced = Array.from(x.f0).filter((v) => v > 0).sort((a, b) => a - b);
  const p10 = quantile(voiced, 0.1), p90 = quantile(voiced, 0.9);
  return {
    clipId: x.clipId, speaker: x.speaker, emotion: x.emotion, frames: T,
    energyDb: mean,
    energyStdDb: n ? Math.sqrt(Math.max(0, sumSq / n - mean * mean)) : NaN,
    voicedFraction: T ? voiced.length / T : 0,
    f0MedianHz: quantile(voiced, 0.5),
    f0RangeSt: voiced.length ? 12 * Math.log2(p90 / p10) : NaN,
  };
}

/** Adds `f0RelSt`: each clip's median F0 in semitones relative to the median of its speaker's clip medians. */
export function withSpeakerF0(clips: ClipProsody[]): ClipProsody[] {
  const bySpeaker = new Map<string, number[]>();
  for (const c of clips) if (Number.isFinite(c.f0MedianHz)) bySpeaker.set(c.speaker, [...(bySpeaker.get(c.speaker) ?? []), c.f0MedianHz]);
  const ref = new Map([...bySpeaker].map(([s, v]) => [s, quantile(v.sort((a, b) => a - b), 0.5)]));
  return clips.map((c) => ({ ...c, f0RelSt: Number.isFinite(c.f0MedianHz) && ref.has(c.speaker) ? 12 * Math.log2(c.f0MedianHz / ref.get(c.speaker)!) : undefined }));
}
