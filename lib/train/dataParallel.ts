/**
 * Data-parallel training of one model over worker threads (issue 17, item 3).
 *
 * N replicas: the main thread's model plus N-1 worker threads (./dataParallelWorker.ts), each with
 * its own tfjs backend and kernel set (the same as the main thread's, lib/backend + lib/accel) and a
 * copy of the model built from the same config and given the main thread's weights. Every step:
 *
 *   1. the batch's rows are split into N shards balanced by frames (`splitByFrames`);
 *   2. each replica gets its shard (the examples, copied by structured clone: typed arrays, no JSON) and
 *      the main thread's current trainable weights (one Float32Array), and computes its shard's
 *      gradients; the main thread computes shard 0 meanwhile;
 *   3. the shard gradients (one Float32Array each, transferred) are summed in shard order. Each shard's
 *      loss weighs head h by w_h * n_hs / N_h (n_hs: the head's labelled targets in the shard, N_h: in
 *      the batch), so the sum is the full batch's gradient of sum_h w_h * mean_h, up to float summation
 *      order;
 *   4. the trainer clips by the global norm of the summed gradients and runs its one AdamW update on
 *      the main thread. Workers keep no optimizer: they get the new weights with the next step.
 *
 * Why weights out and not the averaged gradient to every replica with its own identical AdamW: the
 * main thread owns the only optimizer state, so checkpoints, resume and best-weight snapshots work
 * unchanged, and replicas cannot drift; the price is the same one Float32Array per worker and step
 * that a gradient broadcast would cost (bench/NOTES.md: 0.4 ms tiny, 22-74 ms base per exchange).
 *
 * What differs from one process: float summation order (the shards' sums), and dropout: shard k draws
 * its masks from deriveSeed(stepSeed, k, 0xd47a) for its own rows, so with dropout > 0 the masks differ
 * from the single-thread run's (same distribution, other draws). With dropout 0 the updates equal the
 * single-thread ones to float rounding (test/train/dataParallel.test.ts states the tolerance).
 *
 * Workers are started once per process and reused by later runs (each run sends its model); they
 * are unref'd between steps so they never keep a finished process alive.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { backendReport } from '../backend';
import { productChoice, type ProductChoice } from '../accel/index';
import { EmolabError, errorMessage } from '../errors';
import { forward, type ModelConfig, type SpeechModel } from '../models/heads';
import { encodedLength, subsampling } from '../models/encoder';
import { deriveSeed } from '../random';
import { repoRoot } from '../paths';
import { makeBatch, type Example } from './batches';
import { batchLoss } from './losses';

/**
 * Split a batch's rows into at most `n` non-empty shards with nearly equal frame sums: longest rows
 * first, each to the shard with the fewest frames so far (ties: the lower shard). Row indices ascend
 * within a shard; shards are ordered by their first row. Deterministic.
 */
export function splitByFrames(frames: number[], n: number): number[][] {
  const k = Math.max(1, Math.min(n, frames.length));
  const order = frames.map((f, i) => i).sort((a, b) => frames[b] - frames[a] || a - b);
  const shards: number[][] = Array.from({ length: k }, () => []);
  const load = new Array<number>(k).fill(0);
  for (const i of order) {
    let best = 0;
    for (let s = 1; s < k; s++) if (load[s] < load[best]) best = s;
    shards[best].push(i);
    load[best] += frames[i];
  }
  for (const s of shards) s.sort((a, b) => a - b);
  return shards.sort((a, b) => a[0] - b[0]);
}

/**
 * Every variable of a model (encoder and heads) in a canonical order: a depth-first walk over the
 * encoder and head objects with keys sorted, each variable at its first visit. Two models built from
 * the same config list their variables in the same order with the same shapes.
 */
export function modelVariables(model: SpeechModel): tf.Variable[] {
  const out: tf.Variable[] = [];
  const seen = new Set<unknown>();
  const walk = (x: unknown): void => {
    if (x === null || typeof x !== 'object' || seen.has(x)) return;
    seen.add(x);
    if (x instanceof tf.Variable) { out.push(x); return; }
    if (x instanceof tf.Tensor || ArrayBuffer.isView(x)) return;
    if (Array.isArray(x)) { x.forEach(walk); return; }
    for (const key of Object.keys(x).sort()) if (key !== 'config' && key !== 'spec') walk((x as Record<string, unknown>)[key]);
  };
  walk(model.encoder);
  for (const h of model.config.heads) walk(model.heads[h.name]);
  return out;
}

/** Labelled targets of each head in one example, counted as lib/train/losses counts them in a batch. */
export function targetCounts(model: SpeechModel, e: Example): Record<string, number> {
  const out: Record<string, number> = {};
  const factor = subsampling(model.config.encoder);
  for (const spec of model.config.heads) {
    let n = 0;
    if (spec.kind === 'segment') n = (e.segments?.[spec.name] ?? []).filter((s) => s.label >= 0).length;
    else if (spec.kind === 'utterance') n = (e.labels?.[spec.name] ?? -1) >= 0 ? 1 : 0;
    else {
      const src = e.frameLabels?.[spec.name];
      if (src) {
        const valid = Math.min(src.length, e.frames);
        const enc = encodedLength(model.config.encoder, e.frames);
        for (let j = 0; j < enc; j++) {
          const idx = Math.min(j * factor, e.frames - 1);
          if (idx < valid && src[idx] >= 0) n++;
        }
      }
    }
    out[spec.name] = n;
  }
  return out;
}

/** Each shard's share n_hs / N_h of every head's labelled targets (0 where the shard has none). */
export function shardShares(model: SpeechModel, shards: Example[][]): Record<string, number>[] {
  const counts = shards.map((s) => {
    const c: Record<string, number> = {};
    for (const e of s) for (const [h, n] of Object.entries(targetCounts(model, e))) c[h] = (c[h] ?? 0) + n;
    return c;
  });
  const total: Record<string, number> = {};
  for (const c of counts) for (const [h, n] of Object.entries(c)) total[h] = (total[h] ?? 0) + n;
  return counts.map((c) => Object.fromEntries(Object.keys(total).map((h) => [h, total[h] > 0 ? c[h] / total[h] : 0])));
}

/** Dropout seed of shard k of a step. */
export const shardSeed = (stepSeed: number, shard: number): number => deriveSeed(stepSeed, shard, 0xd47a);

/** A shard's result as flat arrays (the worker's reply). */
export interface ShardResult {
  /** Sum over heads of weight * mean loss (the shard's share of the batch loss). */
  total: number;
  /** Per head: (n_hs / N_h) * the shard's mean loss (summed over shards: the batch's mean). */
  perHead: Record<string, number>;
  /** Gradients of the trainable variables, concatenated in their order (zeros where `present` is 0). */
  grads: Float32Array;
  /** 1 where the variable got a gradient. */
  present: Uint8Array;
}

/**
 * Forward + backward of one shard on `vars` (the trainable variables, in order): the loss weighs head
 * h by headWeights[h] (default 1) times the shard's share of its targets.
 */
export function shardGradients(model: SpeechModel, vars: tf.Variable[], examples: Example[], seed: number, share: Record<string, number>, headWeights: Record<string, number> = {}): ShardResult {
  const weights = Object.fromEntries(Object.entries(share).map(([h, s]) => [h, (headWeights[h] ?? 1) * s]));
  const batch = makeBatch(examples);
  try {
    const kept: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const { encoded, outputs } = forward(model, batch.x, batch.lengths, { segments: batch.segments }, { training: true, seed });
      const { total, perHead } = batchLoss(model, batch, outputs, encoded.lengths, encoded.hidden.shape[1], weights);
      for (const [h, l] of Object.entries(perHead)) kept[h] = tf.keep(l);
      return total;
    }, vars);
    const size = vars.reduce((s, v) => s + v.size, 0);
    const flat = new Float32Array(size);
    const present = new Uint8Array(vars.length);
    let off = 0;
    vars.forEach((v, i) => {
      const g = grads[v.name];
      if (g) { flat.set(g.dataSync() as Float32Array, off); present[i] = 1; }
      off += v.size;
    });
    const perHead: Record<string, number> = {};
    for (const [h, l] of Object.entries(kept)) perHead[h] = l.dataSync()[0] * (share[h] ?? 0);
    const total = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads), ...Object.values(kept)]);
    return { total, perHead, grads: flat, present };
  } finally {
    batch.x.dispose();
  }
}

/** Copy every value of `vars` into one Float32Array. */
export function flatValues(vars: tf.Variable[]): Float32Array {
  const out = new Float32Array(vars.reduce((s, v) => s + v.size, 0));
  let off = 0;
  for (const v of vars) { out.set(v.dataSync() as Float32Array, off); off += v.size; }
  return out;
}

/** Set `vars` from one Float32Array (flatValues's layout). */
export function assignFlat(vars: tf.Variable[], flat: Float32Array): void {
  let off = 0;
  for (const v of vars) {
    const part = flat.subarray(off, off + v.size);
    tf.tidy(() => v.assign(tf.tensor(part, v.shape, 'float32')));
    off += v.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Messages between the main thread and a worker

export interface InitMessage {
  type: 'init';
  backend: string;
  kernels: string;
  products: ProductChoice;
  config: ModelConfig;
  /** Every model variable (modelVariables order): shape and values. */
  shapes: number[][];
  values: Float32Array[];
  /** Indices (into `values`) of the trainable variables. */
  trainable: number[];
}
export interface StepMessage { type: 'step'; examples: Example[]; seed: number; share: Record<string, number>; headWeights: Record<string, number>; params: Float32Array }
export type WorkerRequest = InitMessage | StepMessage | { type: 'release' };
export type WorkerReply =
  | { type: 'ready'; kernels: string; backend: string }
  | ({ type: 'grads' } & ShardResult)
  | { type: 'released' }
  | { type: 'error'; message: string };

interface Replica { worker: Worker; pending?: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }; dead?: string }

const requireHere = createRequire(join(repoRoot, 'package.json'));
const ENTRY = join(repoRoot, 'lib', 'train', 'dataParallelWorker.ts');
const replicas: Replica[] = [];

/** The worker's bootstrap: register tsx's loader in the thread (execArgv --import does not reach workers), then load the entry. */
function bootstrap(): string {
  let api: string;
  try {
    api = join(dirname(requireHere.resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs');
  } catch (e) {
    throw new EmolabError('train', `data-parallel workers need the tsx package to load TypeScript in worker threads: ${errorMessage(e)}`, { hint: 'npm ci, or EMOLAB_WORKERS=1' });
  }
  if (!existsSync(api)) throw new EmolabError('train', `data-parallel workers: tsx's loader API is not at ${api}`, { hint: 'npm ci (tsx as pinned in package.json), or EMOLAB_WORKERS=1' });
  return `import(${JSON.stringify(pathToFileURL(api).href)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(ENTRY).href)}); });`;
}

function spawnReplica(): Replica {
  const r: Replica = { worker: new Worker(bootstrap(), { eval: true, env: process.env }) };
  const fail = (why: string) => {
    r.dead = why;
    const p = r.pending;
    r.pending = undefined;
    p?.reject(new EmolabError('train', `data-parallel worker thread failed: ${why}`, { hint: 'EMOLAB_WORKERS=1 trains on the main thread only' }));
  };
  r.worker.on('message', (m: WorkerReply) => {
    const p = r.pending;
    r.pending = undefined;
    r.worker.unref();
    p?.resolve(m);
  });
  r.worker.on('error', (e) => fail(errorMessage(e)));
  r.worker.on('exit', (code) => fail(`exited with code ${code}`));
  r.worker.unref();
  return r;
}

function ask(r: Replica, msg: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
  if (r.dead) return Promise.reject(new EmolabError('train', `data-parallel worker thread is gone: ${r.dead}`));
  return new Promise<WorkerReply>((resolve, reject) => {
    r.pending = { resolve, reject };
    r.worker.ref();
    r.worker.postMessage(msg, transfer);
  }).then((reply) => {
    if (reply.type === 'error') throw new EmolabError('train', `data-parallel worker: ${reply.message}`, { hint: 'EMOLAB_WORKERS=1 trains on the main thread only' });
    return reply;
  });
}

/** Stop every worker thread (tests; a process may also just exit). */
export async function stopDataParallelWorkers(): Promise<void> {
  const all = replicas.splice(0);
  await Promise.all(all.map((r) => r.worker.terminate()));
}

/** The per-step gradient exchange of one training run over `n` replicas (main thread included). */
export class DataParallel {
  private constructor(
    private readonly model: SpeechModel,
    private readonly vars: tf.Variable[],
    private readonly workers: Replica[],
  ) {}

  /** Replicas in use, main thread included. */
  get replicas(): number {
    return this.workers.length + 1;
  }

  /** Start (or reuse) n-1 worker threads and give each a copy of `model`; `model.params` are the trainable variables. */
  static async start(model: SpeechModel, n: number): Promise<DataParallel> {
    const b = backendReport();
    if (!b) throw new EmolabError('train', 'data-parallel training needs an initialised backend (lib/backend initBackend) on the main thread');
    const all = modelVariables(model);
    const index = new Map(all.map((v, i) => [v, i]));
    const trainableVars = Object.values(model.params);
    const trainable = trainableVars.map((v) => {
      const i = index.get(v);
      if (i === undefined) throw new EmolabError('train', `data-parallel: trainable variable ${v.name} is not part of the model's encoder or heads`);
      return i;
    });
    for (let i = replicas.length - 1; i >= 0; i--) if (replicas[i].dead) replicas.splice(i, 1);
    while (replicas.length < n - 1) replicas.push(spawnReplica());
    const use = replicas.slice(0, n - 1);
    const kernels = b.kernels?.requested ?? 'auto';
    const init: InitMessage = {
      type: 'init', backend: b.name, kernels, products: productChoice(), config: model.config,
      shapes: all.map((v) => v.shape), values: all.map((v) => v.dataSync().slice() as Float32Array), trainable,
    };
    const replies = await Promise.all(use.map((r) => ask(r, init)));
    const mainKernels = b.kernels?.active ?? 'none';
    for (const rep of replies) {
      if (rep.type !== 'ready') throw new EmolabError('train', `data-parallel worker answered ${rep.type} to init`);
      if (rep.backend !== b.name || rep.kernels !== mainKernels) {
        throw new EmolabError('train', `data-parallel worker runs backend ${rep.backend} with kernels ${rep.kernels}, the main thread ${b.name} with ${mainKernels}`, { hint: 'EMOLAB_WORKERS=1, or make the native kernels loadable in worker threads' });
      }
    }
    return new DataParallel(model, trainableVars, use);
  }

  /**
   * Gradients of one batch: `value` the batch loss, `perHead` each head's mean loss, `grads` keyed by
   * variable name (as tf.variableGrads) — new tensors the caller disposes.
   */
  async step(examples: Example[], stepSeed: number, headWeights: Record<string, number> = {}): Promise<{ value: number; perHead: Record<string, number>; grads: Record<string, tf.Tensor> }> {
    const shardIdx = splitByFrames(examples.map((e) => e.frames), this.workers.length + 1);
    const shards = shardIdx.map((ix) => ix.map((i) => examples[i]));
    const shares = shardShares(this.model, shards);
    const params = shards.length > 1 ? flatValues(this.vars) : new Float32Array(0);
    const remote = shards.slice(1).map((s, k) => ask(this.workers[k], { type: 'step', examples: s, seed: shardSeed(stepSeed, k + 1), share: shares[k + 1], headWeights, params }));
    let local: ShardResult;
    try {
      local = shardGradients(this.model, this.vars, shards[0], shardSeed(stepSeed, 0), shares[0], headWeights);
    } catch (e) {
      await Promise.allSettled(remote);
      throw e;
    }
    const results: ShardResult[] = [local];
    for (const rep of await Promise.all(remote)) {
      if (rep.type !== 'grads') throw new EmolabError('train', `data-parallel worker answered ${rep.type} to a step`);
      results.push(rep);
    }
    const sum = results[0].grads;
    const present = results[0].present;
    for (const r of results.slice(1)) {
      for (let i = 0; i < sum.length; i++) sum[i] += r.grads[i];
      for (let i = 0; i < present.length; i++) present[i] |= r.present[i];
    }
    const grads: Record<string, tf.Tensor> = {};
    let off = 0;
    this.vars.forEach((v, i) => {
      if (present[i]) grads[v.name] = tf.tensor(sum.subarray(off, off + v.size), v.shape, 'float32');
      off += v.size;
    });
    const perHead: Record<string, number> = {};
    for (const r of results) for (const [h, l] of Object.entries(r.perHead)) perHead[h] = (perHead[h] ?? 0) + l;
    return { value: results.reduce((s, r) => s + r.total, 0), perHead, grads };
  }

  /** Let the workers drop their model copies (they stay up for the next run). */
  async release(): Promise<void> {
    await Promise.allSettled(this.workers.map((r) => ask(r, { type: 'release' })));
  }
}
