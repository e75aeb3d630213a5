/** Synthetic examples with learnable targets for every head kind (tests only). */
import { Rng } from '../../lib/random';
import type { Example } from '../../lib/train/batches';
import type { HeadSpec } from '../../lib/models/heads';

export const SYNTH_HEADS: HeadSpec[] = [
  { kind: 'segment', name: 'energy' },
  { kind: 'utterance', name: 'au', classes: 3 },
  { kind: 'frame', name: 'cluster', classes: 3 },
  { kind: 'utterance', name: 'ser', classes: 2, pooling: 'attention', attentionDim: 16 },
];

/**
 * Clip i: frames ~N(0,1) in 80 dims plus planted signals:
 * energy segments (10 frames): label = mean of channel 0 over the segment > 0 (channel 0 is +-1.5 per segment);
 * au: class c gets +2 on channel 1+c; cluster: per-frame class k gets +3 on channel 4+k; ser: +-2 on channel 8.
 */
export function syntheticExamples(n: number, seed: number, minFrames = 24, maxFrames = 40): Example[] {
  const rng = new Rng(seed);
  const out: Example[] = [];
  for (let i = 0; i < n; i++) {
    const frames = minFrames + rng.int(maxFrames - minFrames + 1);
    const dim = 80;
    const f = new Float32Array(frames * dim);
    for (let j = 0; j < f.length; j++) f[j] = rng.normal() * 0.5;
    const au = rng.int(3), ser = rng.int(2);
    const segs = [] as { start: number; end: number; label: number }[];
    for (let s = 0; s + 10 <= frames; s += 10) {
      const label = rng.int(2);
      for (let t = s; t < s + 10; t++) f[t * dim] += label ? 1.5 : -1.5;
      segs.push({ start: s, end: s + 10, label });
    }
    const fl = new Int32Array(frames);
    let k = rng.int(3);
    for (let t = 0; t < frames; t++) {
      if (t % 6 === 0) k = rng.int(3);
      fl[t] = k;
      f[t * dim + 4 + k] += 3;
      f[t * dim + 1 + au] += 2;
      f[t * dim + 8] += ser ? 2 : -2;
    }
    out.push({ id: `clip${i}`, speaker: `spk${i % 3}`, features: f, frames, dim, segments: { energy: segs }, labels: { au, ser }, frameLabels: { cluster: fl } });
  }
  return out;
}
