/**
 * The one step loop of every gradient-trained stage: lib/train/trainer (pretraining and SER
 * fine-tuning, single-thread or data-parallel) and HFLEA's stages and TAPT in lib/align. It owns what
 * they share: AdamW over named parameters, a learning-rate hook, global-norm clipping, epoch ends
 * (fixed `stepsPerEpoch` or the caller's `epochSteps`) with a dev metric that keeps the best epoch's
 * weights, early stopping, checkpoints every N steps and/or at epoch ends, resume after a kill, and a
 * finished run loaded instead of retrained.
 *
 * Each update's gradients come from the caller: `loss(step)` (the loop takes tf.variableGrads of it),
 * or `gradients(step)` (the caller computes them, e.g. over worker threads, and the loop clips,
 * applies and disposes them).
 *
 * Checkpoints go through a `LoopCheckpointStore`, so each caller keeps its file format:
 * - `loopCheckpointStore` (the default for `checkpoint: { dir, every, fingerprint }`): `<dir>/last.safetensors`,
 *   one atomic file with `param/<name>` tensors, the AdamW moments (`adam.m/<name>`, `adam.v/<name>`)
 *   and, in the metadata, the loop position as JSON (step, losses, dev metrics, best epoch,
 *   early-stopping count, the caller's own state such as running sums or an RNG position);
 *   `<dir>/best.safetensors` holds the best epoch's parameters. A finished run's last.safetensors holds
 *   the weights the run returned (the best epoch's when `restoreBest`). A checkpoint is resumed only by
 *   a run with the same `fingerprint`; another one starts over.
 * - lib/train/trainer's store writes lib/train/checkpoint's format (model config, trainer state).
 *
 * Exactness: the loop itself draws nothing random. A caller whose randomness is a function of
 * (seed, step) resumes exactly; a caller with a stateful stream checkpoints its position
 * (`ResumableRng`), so a resumed run takes exactly the updates an uninterrupted one would.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EmolabError } from '../errors';
import type { Params } from '../models/layers';
import { Rng } from '../random';
import { progress } from '../show/progress';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../store/safetensors';
import { AdamW, clipByGlobalNorm } from './adamw';

const LOOP_FORMAT = 'emolab.step-loop.v1';

/** Where a run stands: what a checkpoint restores and what the loop reports. */
export interface LoopPosition {
  /** Updates done. */
  step: number;
  done: boolean;
  /** Loss of every update (a store may keep none; then only this call's are reported). */
  losses: number[];
  /** Dev metric after each epoch that had one. */
  dev: number[];
  /** Best epoch (0-based) and its metric (higher is better), or null. */
  best: { epoch: number; metric: number } | null;
  /** Epochs since the best one (counted whether or not patience is set). */
  badEpochs: number;
  stoppedEarly: boolean;
  /** The caller's state (`StepLoopSpec.state`). */
  user: unknown;
}

/** How a loop's checkpoints are written and read (each caller keeps its own file format). */
export interface LoopCheckpointStore {
  /**
   * The saved position of this run, with the parameters and the optimizer restored from it, or
   * undefined to start at step 0. May throw for a checkpoint that must not be overwritten.
   */
  resume(opt: AdamW): LoopPosition | undefined;
  /** Write the last checkpoint: parameters, optimizer moments and position. */
  save(opt: AdamW, pos: LoopPosition): void;
  /** Write the best epoch's parameters (`pos.best` is the new best). */
  saveBest(pos: LoopPosition): void;
  /** The parameters `saveBest` wrote, by name (undefined when there are none). */
  loadBest(): Record<string, Float32Array> | undefined;
  /**
   * What the last checkpoint of a finished run holds: `returned`, the weights the run returns (the
   * best epoch's when restored), or `last-update`, those after the final update (the best epoch's are
   * then restored from `saveBest`'s file when the finished run is loaded).
   */
  finalWeights: 'returned' | 'last-update';
}

export interface StepLoopSpec {
  /** The trained variables by name (checkpoint names). */
  params: Params;
  /** Updates in all. */
  steps: number;
  /** The epoch-end hook runs after every this many updates (default: once, at the end). */
  stepsPerEpoch?: number;
  /** Updates of each epoch, when they differ (length-bucketed batches); they sum to `steps`. */
  epochSteps?: number[];
  weightDecay: number;
  /** Which parameters get weight decay (AdamW's default when absent). */
  decay?: (name: string) => boolean;
  /** Learning rate of update `step` (0-based). */
  lr: (step: number) => number;
  /** Global gradient-norm clip (0 = none). */
  clipNorm: number;
  /** The loss of update `step`; called inside tf.variableGrads. */
  loss?: (step: number) => tf.Scalar;
  /**
   * Instead of `loss`: the loss value and the gradients (by parameter name) of update `step`, computed
   * by the caller (e.g. summed over data-parallel replicas). The loop clips, applies and disposes them.
   */
  gradients?: (step: number) => Promise<{ loss: number; grads: Record<string, tf.Tensor> }> | { loss: number; grads: Record<string, tf.Tensor> };
  /** After a finite update: the caller's running sums. */
  onStep?: (step: number, loss: number) => void;
  /** Progress note after an update. */
  note?: (step: number, loss: number) => string;
  /**
   * Epoch-end hook: the dev metric (higher is better) of epoch `epoch` (0-based), or null when there
   * is none. The best epoch's parameters are kept (in memory and through the store's `saveBest`).
   */
  evaluate?: (epoch: number) => number | null;
  /** After the epoch's bookkeeping (best, patience) and before its checkpoint: the caller's epoch record. */
  epochEnd?: (epoch: number, info: { metric: number | null; improved: boolean }) => void;
  /** Stop after this many epochs without dev improvement (0 = never). */
  patience?: number;
  /** Load the best epoch's parameters at the end (default true). */
  restoreBest?: boolean;
  /**
   * Checkpoints: `{ dir, every, fingerprint }` for the loop's own format (loopCheckpointStore), or a
   * caller's `store`. Written every `every` steps, at epoch ends with `atEpochEnd`, and at the end.
   */
  checkpoint?: { dir: string; every: number; fingerprint: string } | { store: LoopCheckpointStore; every?: number; atEpochEnd?: boolean };
  /** The caller's state, saved with each checkpoint (JSON) and given back on resume. */
  state?: { save: () => unknown; load: (saved: unknown) => void };
  /** Called once the start position is restored, before any update (e.g. start worker threads from the resumed weights). */
  start?: () => Promise<void> | void;
  /** End the call after this many updates in all, with a checkpoint (an interrupted run; tests). */
  stopAfter?: number;
  /** Hint of the error for a non-finite loss. */
  nanHint?: string;
  label: string;
  quiet?: boolean;
}

export interface StepLoopResult {
  /** Loss of every update (restored ones included when the store keeps them). */
  losses: number[];
  /** Dev metric after each epoch (empty without an `evaluate` metric). */
  dev: number[];
  /** Best epoch (0-based) and its metric, or null. */
  best: { epoch: number; metric: number } | null;
  /** Updates done. */
  steps: number;
  stoppedEarly: boolean;
  /** True when `stopAfter` ended the call before the last update. */
  interrupted: boolean;
  /** Update the call continued from (0: from the start; `steps` when a finished run was loaded). */
  resumedFrom: number;
  /** Seconds of training in this call. */
  seconds: number;
  /** Seconds inside updates in this call (gradients, clip, AdamW; no dev evaluation or checkpoints). */
  updateSeconds: number;
  /** Updates done in this call. */
  updates: number;
}

interface LoopState extends LoopPosition {
  format: typeof LOOP_FORMAT;
  fingerprint: string;
}

function toArrays(params: Record<string, tf.Tensor>, prefix: string): Record<string, { data: Float32Array; shape: number[] }> {
  return Object.fromEntries(Object.entries(params).map(([n, v]) => [`${prefix}${n}`, { data: v.dataSync() as Float32Array, shape: v.shape }]));
}

function assignFrom(params: Params, tensors: Record<string, { data: unknown; shape: number[] }>, prefix: string, file: string): void {
  for (const [n, v] of Object.entries(params)) {
    const t = tensors[`${prefix}${n}`];
    if (!t) throw new EmolabError('train', `checkpoint lacks parameter ${n}`, { file, hint: 'delete the folder to train this stage again' });
    if (t.shape.join(',') !== v.shape.join(',')) throw new EmolabError('train', `checkpoint parameter ${n} has shape [${t.shape}], the model needs [${v.shape}]`, { file });
    tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, t.shape, 'float32')));
  }
}

/** Make a checkpoint folder and remove the temp files of an atomic write killed midway (garbage as large as a checkpoint). */
export function prepareCheckpointDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
}

/** The saved loop state of a checkpoint folder, when it belongs to `fingerprint` (else undefined). */
export function readLoopState(dir: string, fingerprint: string): { step: number; done: boolean } | undefined {
  const file = join(dir, 'last.safetensors');
  if (!existsSync(file)) return undefined;
  const s = JSON.parse(readSafetensorsHeader(file).metadata.state ?? 'null') as LoopState | null;
  return s && s.format === LOOP_FORMAT && s.fingerprint === fingerprint ? { step: s.step, done: s.done } : undefined;
}

/**
 * The loop's own checkpoint format in `dir` (see the file comment): resumed only by a run with the
 * same `fingerprint`, another one starts over.
 */
export function loopCheckpointStore(dir: string, fingerprint: string, params: Params): LoopCheckpointStore {
  prepareCheckpointDir(dir);
  const lastFile = join(dir, 'last.safetensors');
  const bestFile = join(dir, 'best.safetensors');
  return {
    finalWeights: 'returned',
    resume(opt) {
      if (!existsSync(lastFile)) return undefined;
      const { tensors, metadata } = readSafetensors(lastFile);
      const saved = JSON.parse(metadata.state ?? 'null') as LoopState | null;
      if (!saved || saved.format !== LOOP_FORMAT || saved.fingerprint !== fingerprint) return undefined;
      assignFrom(params, tensors, 'param/', lastFile);
      if (!saved.done) opt.loadState(Object.fromEntries(Object.entries(tensors).filter(([n]) => n.startsWith('adam.')).map(([n, t]) => [n, { data: t.data as Float32Array, shape: t.shape }])), saved.step, lastFile);
      const { format: _f, fingerprint: _p, ...pos } = saved;
      return pos;
    },
    save(opt, p) {
      const st: LoopState = { format: LOOP_FORMAT, fingerprint, step: p.step, done: p.done, losses: p.losses, dev: p.dev, best: p.best, badEpochs: p.badEpochs, stoppedEarly: p.stoppedEarly, user: p.user };
      writeSafetensors(lastFile, { ...toArrays(params, 'param/'), ...toArrays(opt.state(), '') }, { format: LOOP_FORMAT, state: JSON.stringify(st) });
    },
    saveBest(p) {
      writeSafetensors(bestFile, toArrays(params, ''), { format: LOOP_FORMAT, epoch: String(p.best!.epoch), metric: String(p.best!.metric) });
    },
    loadBest() {
      if (!existsSync(bestFile)) return undefined;
      const b = readSafetensors(bestFile).tensors;
      return Object.fromEntries(Object.keys(params).map((n) => [n, b[n].data as Float32Array]));
    },
  };
}

/**
 * Epoch boundaries of a loop: `epochSteps` (each epoch's updates) or every `stepsPerEpoch` updates
 * (default: one epoch of all `steps`). `epochEndingAt(step)` is the 0-based epoch that ends after
 * `step` updates, or -1; `at(step)` is the epoch and the index inside it of update `step`.
 */
export function epochBoundaries(steps: number, o: { stepsPerEpoch?: number; epochSteps?: number[] }, label = 'step loop'): { epochEndingAt: (step: number) => number; at: (step: number) => { epoch: number; index: number } } {
  if (o.epochSteps) {
    const sizes = o.epochSteps;
    if (sizes.some((n) => !Number.isInteger(n) || n < 1) || sizes.reduce((a, b) => a + b, 0) !== steps) {
      throw new EmolabError('settings', `${label}: epochSteps [${sizes.join(', ')}] must be positive integers summing to steps (${steps})`);
    }
    const ends = new Map<number, number>();
    const starts: number[] = [];
    let c = 0;
    sizes.forEach((n, e) => { starts.push(c); c += n; ends.set(c, e); });
    return {
      epochEndingAt: (step) => ends.get(step) ?? -1,
      at: (step) => {
        let e = 0;
        while (e + 1 < starts.length && starts[e + 1] <= step) e++;
        return { epoch: e, index: step - starts[e] };
      },
    };
  }
  const per = o.stepsPerEpoch ?? steps;
  if (!Number.isInteger(per) || per < 1) throw new EmolabError('settings', `${label}: stepsPerEpoch must be a positive integer, got ${per}`);
  return { epochEndingAt: (step) => (step > 0 && step % per === 0 ? step / per - 1 : -1), at: (step) => ({ epoch: Math.floor(step / per), index: step % per }) };
}

/** Run (or resume, or load) the updates of `spec`; the parameters are trained in place. */
export async function runStepLoop(spec: StepLoopSpec): Promise<StepLoopResult> {
  const { params, steps } = spec;
  if (!Number.isInteger(steps) || steps < 1) throw new EmolabError('settings', `${spec.label}: steps must be a positive integer, got ${steps}`);
  if (!spec.loss === !spec.gradients) throw new EmolabError('settings', `${spec.label}: give the step loop exactly one of loss and gradients`);
  const epochs = epochBoundaries(steps, spec, spec.label);
  const ck = spec.checkpoint;
  const every = ck ? ck.every : undefined;
  if (every !== undefined && (!Number.isInteger(every) || every < 1)) throw new EmolabError('settings', `${spec.label}: checkpoint every ${every} steps is not a positive integer`);
  const atEpochEnd = ck && 'store' in ck ? ck.atEpochEnd ?? false : false;
  const opt = new AdamW(params, { weightDecay: spec.weightDecay, ...(spec.decay ? { decay: spec.decay } : {}) });
  // The best epoch's weights live in JS memory, not the backend's heap (4 GiB under wasm).
  let best: Record<string, Float32Array> | undefined;
  const keepBest = (): void => { best = Object.fromEntries(Object.entries(params).map(([n, v]) => [n, (v.dataSync() as Float32Array).slice()])); };
  const restoreBest = (): void => {
    if (!best) return;
    for (const [n, v] of Object.entries(params)) tf.tidy(() => v.assign(tf.tensor(best![n], v.shape, 'float32')));
  };
  try {
    const store = ck ? ('store' in ck ? ck.store : loopCheckpointStore(ck.dir, ck.fingerprint, params)) : undefined;
    let st: LoopPosition = { step: 0, done: false, losses: [], dev: [], best: null, badEpochs: 0, stoppedEarly: false, user: null };
    const saved = store?.resume(opt);
    if (saved) {
      st = saved;
      if (st.best && (!st.done || store!.finalWeights === 'last-update')) best = store!.loadBest();
      spec.state?.load(st.user);
    }
    const resumedFrom = st.step;
    let savedAt = saved ? st.step : -1;
    const save = (): void => {
      if (!store) return;
      st.user = spec.state?.save() ?? null;
      store.save(opt, st);
      savedAt = st.step;
    };
    let updateSeconds = 0, updates = 0;
    const result = (seconds: number, interrupted: boolean): StepLoopResult => ({ losses: st.losses, dev: st.dev, best: st.best, steps: st.step, stoppedEarly: st.stoppedEarly, interrupted, resumedFrom, seconds, updateSeconds, updates });
    await spec.start?.();
    if (st.done) {
      if ((spec.restoreBest ?? true) && store?.finalWeights === 'last-update') restoreBest();
      return result(0, false);
    }

    const names = Object.keys(params);
    const vars = names.map((n) => params[n]);
    const byVarName = new Map(names.map((n) => [params[n].name, n]));
    const end = Math.min(steps, spec.stopAfter ?? steps);
    const bar = progress(spec.label, steps, { unit: 'steps', quiet: spec.quiet });
    if (st.step) bar.tick(st.step, 'resumed');
    const t0 = Date.now();
    while (st.step < end && !st.stoppedEarly) {
      const step = st.step;
      const ts = Date.now();
      const lr = spec.lr(step);
      let loss: number;
      let grads: Record<string, tf.Tensor>;
      const owned: tf.Tensor[] = [];
      if (spec.gradients) {
        const g = await spec.gradients(step);
        loss = g.loss;
        grads = g.grads;
      } else {
        const { value, grads: byId } = tf.variableGrads(() => spec.loss!(step), vars);
        grads = {};
        for (const [id, g] of Object.entries(byId)) grads[byVarName.get(id)!] = g;
        loss = value.dataSync()[0];
        owned.push(value);
      }
      const clipped = clipByGlobalNorm(grads, spec.clipNorm);
      opt.apply(clipped.grads, lr);
      tf.dispose([...owned, ...Object.values(grads), ...Object.values(clipped.grads)]);
      if (!Number.isFinite(loss)) throw new EmolabError('train', `${spec.label}: loss became ${loss} at step ${step} (lr ${lr.toExponential(2)})`, { hint: spec.nanHint ?? 'lower the learning rate or check the input for NaN/Inf' });
      st.losses.push(loss);
      st.step = step + 1;
      updateSeconds += (Date.now() - ts) / 1000;
      updates++;
      spec.onStep?.(step, loss);
      bar.tick(1, spec.note?.(step, loss) ?? `loss ${loss.toFixed(3)}`);
      const epoch = epochs.epochEndingAt(st.step);
      if (epoch >= 0 && (spec.evaluate || spec.epochEnd)) {
        const metric = spec.evaluate?.(epoch) ?? null;
        let improved = false;
        if (metric !== null) {
          st.dev.push(metric);
          if (st.best === null || metric > st.best.metric) {
            st.best = { epoch, metric };
            st.badEpochs = 0;
            improved = true;
            keepBest();
            store?.saveBest(st);
          } else if (++st.badEpochs >= (spec.patience || Infinity)) st.stoppedEarly = true;
        }
        spec.epochEnd?.(epoch, { metric, improved });
      }
      const due = (every !== undefined && st.step % every === 0) || (atEpochEnd && epoch >= 0);
      if (store && due && st.step < steps && !st.stoppedEarly) save();
      await new Promise((r) => setImmediate(r));
    }
    const seconds = (Date.now() - t0) / 1000;
    if (st.step < steps && !st.stoppedEarly) {
      bar.done('interrupted');
      if (savedAt !== st.step) save();
      return result(seconds, true);
    }
    bar.done(st.stoppedEarly ? `early stop (no dev gain for ${spec.patience} epochs)` : undefined);
    const restore = spec.restoreBest ?? true;
    if (restore && store?.finalWeights !== 'last-update') restoreBest();
    st.done = true;
    save();
    if (restore && store?.finalWeights === 'last-update') restoreBest();
    return result(seconds, false);
  } finally {
    opt.dispose();
  }
}

/**
 * A seeded stream whose position is checkpointed: it counts its uniform draws, and `seek(n)` replays
 * n draws of a fresh stream (cheap: mulberry32), so a resumed stage continues the exact sequence.
 * Box-Muller normals are not used by the stages that checkpoint this (refused: the spare normal would
 * not survive a seek).
 */
export class ResumableRng extends Rng {
  draws = 0;

  override next(): number {
    this.draws++;
    return super.next();
  }

  override normal(): number {
    throw new EmolabError('train', 'ResumableRng: normal() draws are not resumable (a spare value is cached between calls)');
  }

  /** Advance a fresh stream to position `n` (the `draws` of a saved one). */
  seek(n: number): void {
    if (this.draws > n) throw new EmolabError('train', `ResumableRng: cannot seek back from ${this.draws} to ${n} draws`);
    while (this.draws < n) this.next();
  }
}
