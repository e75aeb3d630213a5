/**
 * Memory calibration of lib/models/memory (estimateTrainingMemory): runs real training steps
 * (forward + backward + global-norm clip + AdamW, the step of lib/train/trainer) of an encoder preset
 * with the SER head (attention pooling, 7 classes) on synthetic [B, T, 80] input, and records
 *
 * - `peakBytes`: tf.profile's peakBytes over the whole step (live tensor bytes, backward transients included),
 * - `afterGrads`: tf.memory().numBytes once the gradients exist,
 * - `heap`: wasm only, the wasm heap size (tf.backend().wasm.HEAPU8.length) after each step (it never shrinks),
 *
 * next to the estimate. Each point runs in its own process (the wasm heap only grows), one at a time:
 *
 *   EMOLAB_BACKEND=wasm node --import tsx bench/memory.ts [--points tiny:8x400,small:4x800] [--steps 2] [--vary]
 *
 * `--vary`: step s runs at frames x (0.5, 0.8, 0.6, 0.9, 0.7, 1.0)[s % 6] (batch shapes change from step
 * to step as in a real epoch), to see how far the heap grows past the largest step's peak.
 *
 * Prints one JSON line per point and a Markdown table (the one in lib/models/memory.ts's doc comment).
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../lib/backend';
import { encoderConfig } from '../lib/models/encoder';
import { createModel, forward, type HeadSpec } from '../lib/models/heads';
import { disposeParams } from '../lib/models/layers';
import { Rng } from '../lib/random';
import { estimateTrainingMemory, type MemoryBackend } from '../lib/models/memory';
import { AdamW, clipByGlobalNorm } from '../lib/train/adamw';
import { headLoss } from '../lib/train/losses';

const SER: HeadSpec = { kind: 'utterance', name: 'ser', classes: 7, pooling: 'attention' };

export interface MemoryPoint {
  preset: string; backend: string; batch: number; frames: number; steps: number;
  peakBytes: number; afterGrads: number; heap: number[]; estimate: number; unscaled: number;
}

function heapBytes(): number {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.length ?? 0;
}

/** `vary`: step s uses frames x VARY[s % 6] (mixed batch lengths, as a length-bucketed epoch has): shows heap growth from fragmentation. */
const VARY = [0.5, 0.8, 0.6, 0.9, 0.7, 1.0];

async function runPoint(preset: string, batch: number, frames: number, steps: number, vary = false): Promise<MemoryPoint> {
  const report = await initBackend();
  const rng = new Rng(1);
  const cfg = encoderConfig(preset);
  const model = createModel({ encoder: cfg, heads: [SER] }, 1);
  const input = (t: number) => ({
    x: tf.tensor3d(new Float32Array(batch * t * 80).map(() => rng.normal()), [batch, t, 80]),
    // Varied lengths as in a real length-bucketed batch; the longest is `t`.
    lengths: Array.from({ length: batch }, (_, i) => Math.max(1, t - i * Math.floor(t / (4 * batch)))),
  });
  let { x, lengths } = input(frames);
  const labels = Array.from({ length: batch }, (_, i) => i % 7);
  const opt = new AdamW(model.params, { weightDecay: 0.01 });
  const names = new Map(Object.entries(model.params).map(([k, v]) => [v.name, k]));
  let peakBytes = 0;
  let afterGrads = 0;
  const heap: number[] = [];
  for (let s = 0; s < steps; s++) {
    if (vary) { x.dispose(); ({ x, lengths } = input(Math.round(frames * VARY[s % VARY.length]))); }
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => {
        const { outputs } = forward(model, x, lengths, {}, { training: true, seed: s });
        return headLoss('utterance', outputs.ser.logits, labels)!;
      }, Object.values(model.params));
      afterGrads = Math.max(afterGrads, tf.memory().numBytes);
      const named = Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
      const c = clipByGlobalNorm(named, 1);
      opt.apply(c.grads, 1e-4);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads), ...Object.values(c.grads)]);
    });
    peakBytes = Math.max(peakBytes, info.peakBytes);
    heap.push(heapBytes());
  }
  const est = estimateTrainingMemory({ encoder: cfg, heads: [SER], batchSize: batch, frames, backend: report.name as MemoryBackend });
  x.dispose(); opt.dispose(); disposeParams(model.params);
  return { preset, backend: report.name, batch, frames, steps, peakBytes, afterGrads, heap, estimate: est.bytes, unscaled: est.unscaledBytes };
}

const DEFAULT_POINTS = 'tiny:4x200,tiny:8x400,tiny:16x800,small:2x200,small:4x400,small:8x400,small:4x800,base:2x400';

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; };
  const steps = Number(arg('steps') ?? 2);
  const vary = argv.includes('--vary');
  const child = arg('child');
  if (child) {
    const [preset, bt] = child.split(':');
    const [b, t] = bt.split('x').map(Number);
    console.log(JSON.stringify(await runPoint(preset, b, t, steps, vary)));
    return;
  }
  const rows: MemoryPoint[] = [];
  for (const p of (arg('points') ?? DEFAULT_POINTS).split(',')) {
    try {
      const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', p, '--steps', String(steps), ...(vary ? ['--vary'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const row = JSON.parse(out.trim().split('\n').pop()!) as MemoryPoint;
      rows.push(row);
      console.log(JSON.stringify(row));
    } catch (e) {
      console.log(JSON.stringify({ point: p, failed: String(e).split('\n')[0] }));
    }
  }
  const mib = (n: number) => (n / 2 ** 20).toFixed(0);
  console.log('\n| preset | B x T | peakBytes MiB | heap MiB (per step) | estimate MiB | estimate / peak | heap / peak |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const h = r.heap.length ? r.heap.map(mib).join(', ') : '-';
    const hp = r.heap.length && r.heap[r.heap.length - 1] ? (r.heap[r.heap.length - 1] / r.peakBytes).toFixed(2) : '-';
    console.log(`| ${r.preset} | ${r.batch} x ${r.frames} | ${mib(r.peakBytes)} | ${h} | ${mib(r.estimate)} | ${(r.estimate / r.peakBytes).toFixed(2)} | ${hp} |`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e) => { console.error(e); process.exit(1); });
}
