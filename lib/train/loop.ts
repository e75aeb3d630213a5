/**
 * The step loop every gradient-trained stage shares (HFLEA's stages and TAPT in lib/align): AdamW
 * over named parameters, a learning-rate hook, global-norm clipping, an epoch-end hook (dev
 * evaluation) that keeps the best epoch's weights, early stopping, a checkpoint every N steps and at
 * the end, and resume after a kill.
 *
 * Checkpoint (`<dir>/last.safetensors`, one atomic file): `param/<name>` tensors, the AdamW moments
 * (`adam.m/<name>`, `adam.v/<name>`) and, in the metadata, the loop state as JSON (step, losses, dev
 * metrics, best epoch, early-stopping count, the caller's own state such as running sums or an RNG
 * position). `<dir>/best.safetensors` holds the best epoch's parameters. A finished run's
 * last.safetensors holds the final weights (the best epoch's when `restoreBest`) and is loaded, not
 * retrained. A checkpoint is resumed only by a run with the same `fingerprint`; another one starts
 * over.
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

export interface StepLoopSpec {
  /** The trained variables by name (checkpoint names). */
  params: Params;
  /** Updates in all. */
  steps: number;
  /** The epoch-end hook runs after every this many updates (default: once, at the end). */
  stepsPerEpoch?: number;
  weightDecay: number;
  /** Which parameters get weight decay (AdamW's default when absent). */
  decay?: (name: string) => boolean;
  /** Learning rate of update `step` (0-based). */
  lr: (step: number) => number;
  /** Global gradient-norm clip (0 = none). */
  clipNorm: number;
  /** The loss of update `step`; called inside tf.variableGrads. */
  loss: (step: number) => tf.Scalar;
  /** Progress note after an update. */
  note?: (step: number, loss: number) => string;
  /**
   * Epoch-end hook: the dev metric (higher is better) of epoch `epoch` (0-based), or null when there
   * is none. The best epoch's parameters are kept (in memory and in best.safetensors).
   */
  evaluate?: (epoch: number) => number | null;
  /** Stop after this many epochs without dev improvement (0 = never). */
  patience?: number;
  /** Load the best epoch's parameters at the end (default true). */
  restoreBest?: boolean;
  /** Checkpoints: last.safetensors every `every` steps and at the end, in `dir`. */
  checkpoint?: { dir: string; every: number; fingerprint: string };
  /** The caller's state, saved with each checkpoint (JSON) and given back on resume. */
  state?: { save: () => unknown; load: (saved: unknown) => void };
  /** End the call after this many updates in all, with a checkpoint (an interrupted run; tests). */
  stopAfter?: number;
  label: string;
  quiet?: boolean;
}

export interface StepLoopResult {
  /** Loss of every update (restored ones included). */
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
}

interface LoopState {
  format: typeof LOOP_FORMAT;
  fingerprint: string;
  step: number;
  done: boolean;
  losses: number[];
  dev: number[];
  best: { epoch: number; metric: number } | null;
  badEpochs: number;
  stoppedEarly: boolean;
  user: unknown;
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

/** The saved loop state of a checkpoint folder, when it belongs to `fingerprint` (else undefined). */
export function readLoopState(dir: string, fingerprint: string): { step: number; done: boolean } | undefined {
  const file = join(dir, 'last.safetensors');
  if (!existsSync(file)) return undefined;
  const s = JSON.parse(readSafetensorsHeader(file).metadata.state ?? 'null') as LoopState | null;
  return s && s.format === LOOP_FORMAT && s.fingerprint === fingerprint ? { step: s.step, done: s.done } : undefined;
}

/** Run (or resume, or load) the updates of `spec`; the parameters are trained in place. */
export async function runStepLoop(spec: StepLoopSpec): Promise<StepLoopResult> {
  const { params, steps } = spec;
  if (!Number.isInteger(steps) || steps < 1) throw new EmolabError('settings', `${spec.label}: steps must be a positive integer, got ${steps}`);
  const perEpoch = spec.stepsPerEpoch ?? steps;
  const ck = spec.checkpoint;
  if (ck && (!Number.isInteger(ck.every) || ck.every < 1)) throw new EmolabError('settings', `${spec.label}: checkpoint every ${ck.every} steps is not a positive integer`);
  const lastFile = ck ? join(ck.dir, 'last.safetensors') : undefined;
  const bestFile = ck ? join(ck.dir, 'best.safetensors') : undefined;
  const opt = new AdamW(params, { weightDecay: spec.weightDecay, ...(spec.decay ? { decay: spec.decay } : {}) });
  let best: Map<string, tf.Tensor> | undefined;
  const keepBest = (): void => {
    if (best) tf.dispose([...best.values()]);
    best = new Map(Object.entries(params).map(([n, v]) => [n, tf.clone(v)]));
  };
  try {
    let st: LoopState = { format: LOOP_FORMAT, fingerprint: ck?.fingerprint ?? '', step: 0, done: false, losses: [], dev: [], best: null, badEpochs: 0, stoppedEarly: false, user: null };
    if (ck) {
      mkdirSync(ck.dir, { recursive: true });
      // temp files of an atomic write killed midway are garbage as large as a checkpoint
      for (const f of readdirSync(ck.dir)) if (f.endsWith('.tmp')) rmSync(join(ck.dir, f), { force: true });
      if (existsSync(lastFile!)) {
        const { tensors, metadata } = readSafetensors(lastFile!);
        const saved = JSON.parse(metadata.state ?? 'null') as LoopState | null;
        if (saved && saved.format === LOOP_FORMAT && saved.fingerprint === ck.fingerprint) {
          assignFrom(params, tensors, 'param/', lastFile!);
          if (!saved.done) opt.loadState(Object.fromEntries(Object.entries(tensors).filter(([n]) => n.startsWith('adam.')).map(([n, t]) => [n, { data: t.data as Float32Array, shape: t.shape }])), saved.step, lastFile);
          if (!saved.done && saved.best && existsSync(bestFile!)) {
            const b = readSafetensors(bestFile!).tensors;
            best = new Map(Object.keys(params).map((n) => [n, tf.tensor(b[n].data as Float32Array, b[n].shape, 'float32')]));
          }
          st = saved;
          spec.state?.load(saved.user);
        }
      }
    }
    const resumedFrom = st.step;
    const save = (): void => {
      if (!ck) return;
      st.user = spec.state?.save() ?? null;
      writeSafetensors(lastFile!, { ...toArrays(params, 'param/'), ...toArrays(opt.state(), '') }, { format: LOOP_FORMAT, state: JSON.stringify(st) });
    };
    const result = (seconds: number, interrupted: boolean): StepLoopResult => ({ losses: st.losses, dev: st.dev, best: st.best, steps: st.step, stoppedEarly: st.stoppedEarly, interrupted, resumedFrom, seconds });
    if (st.done) return result(0, false);

    const names = Object.keys(params);
    const vars = names.map((n) => params[n]);
    const byVarName = new Map(names.map((n) => [params[n].name, n]));
    const end = Math.min(steps, spec.stopAfter ?? steps);
    const bar = progress(spec.label, steps, { unit: 'steps', quiet: spec.quiet });
    if (st.step) bar.tick(st.step, 'resumed');
    const t0 = Date.now();
    while (st.step < end && !st.stoppedEarly) {
      const step = st.step;
      const { value, grads } = tf.variableGrads(() => spec.loss(step), vars);
      const named: Record<string, tf.Tensor> = {};
      for (const [id, g] of Object.entries(grads)) named[byVarName.get(id)!] = g;
      const clipped = clipByGlobalNorm(named, spec.clipNorm);
      const lr = spec.lr(step);
      opt.apply(clipped.grads, lr);
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads), ...Object.values(clipped.grads)]);
      if (!Number.isFinite(loss)) throw new EmolabError('train', `${spec.label}: loss became ${loss} at step ${step} (lr ${lr.toExponential(2)})`, { hint: 'lower the learning rate or check the input for NaN/Inf' });
      st.losses.push(loss);
      st.step = step + 1;
      bar.tick(1, spec.note?.(step, loss) ?? `loss ${loss.toFixed(3)}`);
      if (spec.evaluate && st.step % perEpoch === 0) {
        const epoch = st.step / perEpoch - 1;
        const metric = spec.evaluate(epoch);
        if (metric !== null) {
          st.dev.push(metric);
          if (st.best === null || metric > st.best.metric) {
            st.best = { epoch, metric };
            st.badEpochs = 0;
            keepBest();
            if (bestFile) writeSafetensors(bestFile, toArrays(params, ''), { format: LOOP_FORMAT, epoch: String(epoch), metric: String(metric) });
          } else if (spec.patience && ++st.badEpochs >= spec.patience) st.stoppedEarly = true;
        }
      }
      if (ck && st.step % ck.every === 0 && st.step < steps && !st.stoppedEarly) save();
      await new Promise((r) => setImmediate(r));
    }
    const seconds = (Date.now() - t0) / 1000;
    if (st.step < steps && !st.stoppedEarly) {
      bar.done('interrupted');
      if (st.step % (ck?.every ?? 1) !== 0) save();
      return result(seconds, true);
    }
    bar.done(st.stoppedEarly ? `early stop (no dev gain for ${spec.patience} epochs)` : undefined);
    if ((spec.restoreBest ?? true) && best) for (const [n, t] of best) params[n].assign(t);
    st.done = true;
    save();
    return result(seconds, false);
  } finally {
    opt.dispose();
    if (best) tf.dispose([...best.values()]);
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
