/**
 * The trainer's checkpoints: lib/train/checkpoint's safetensors format holding a `TrainerState`,
 * written and read for lib/train/loop's runStepLoop through `trainerCheckpointStore`, and the epoch
 * records (`EpochRecord`) that the state, TrainResult and the notebooks' live plots carry.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SpeechModel } from '../models/heads';
import { EmolabError } from '../errors';
import type { HeadMetrics } from './losses';
import { loadParams, readCheckpoint, saveCheckpoint } from './checkpoint';
import { prepareCheckpointDir, type LoopCheckpointStore } from './loop';

export interface EpochRecord {
  epoch: number;
  /** Updates done at the end of this epoch. */
  step: number;
  /** Learning rate of the last update. */
  lr: number;
  trainLoss: number;
  trainHeadLoss: Record<string, number>;
  dev?: Record<string, HeadMetrics>;
  devMetric?: number;
  /** Seconds since training started in this process (0 for epochs restored from a checkpoint: wall times are kept out of checkpoints so they are byte-identical between runs). */
  wallS: number;
}

/** What a checkpoint stores besides tensors. */
export interface TrainerState {
  seed: number;
  epoch: number;
  batchInEpoch: number;
  step: number;
  lossSum: number;
  lossN: number;
  headSums: Record<string, [number, number]>;
  history: EpochRecord[];
  best: { epoch: number; metric: number } | null;
  badEpochs: number;
  finished: boolean;
  /** What must match for a checkpoint to be resumed: options, model config, training clip ids. */
  fingerprint?: string;
}

/**
 * The RNG state in a checkpoint. Nothing random is carried from step to step: the batch plan of an
 * epoch draws from deriveSeed(seed, epoch, 0xba7c) and step k's dropout from
 * deriveSeed(seed, k, 0x57e9), so (seed, epoch, step) is the whole state.
 */
const RNG_STATE = (seed: number, st: TrainerState): string =>
  JSON.stringify({ seed, epoch: st.epoch, step: st.step, batchPlan: 'deriveSeed(seed, epoch, 0xba7c)', dropout: 'deriveSeed(seed, step, 0x57e9)' });




/**
 * Trainer checkpoints (lib/train/checkpoint's format) as a store of lib/train/loop: last.safetensors
 * holds the weights after the last update, the optimizer moments and the TrainerState (a finished
 * run's best weights are restored from best.safetensors when it is loaded); best.safetensors holds the
 * best dev epoch's weights. A checkpoint of another seed or fingerprint is refused, not overwritten.
 */
export function trainerCheckpointStore(model: SpeechModel, dir: string, c: {
  seed: number; fingerprint: string; resume: boolean; patience: number; epochs: number; totalSteps: number;
  at: (step: number) => { epoch: number; index: number };
}): LoopCheckpointStore {
  prepareCheckpointDir(dir);
  const lastFile = join(dir, 'last.safetensors');
  const bestFile = join(dir, 'best.safetensors');
  // epoch and position inside it, as the trainer state has always stored them (a finished epoch: the next one, at 0)
  const where = (step: number) => (step >= c.totalSteps ? { epoch: c.epochs, index: 0 } : c.at(step));
  return {
    finalWeights: 'last-update',
    resume(opt) {
      if (!c.resume || !existsSync(lastFile)) return undefined;
      const ck = readCheckpoint(lastFile);
      const saved = ck.state as TrainerState | undefined;
      if (!saved || saved.seed !== c.seed) {
        throw new EmolabError('train', `checkpoint was written with seed ${saved?.seed}, this run has seed ${c.seed}`, { file: lastFile, hint: 'use the same seed, another --out, or delete the checkpoint' });
      }
      if (saved.fingerprint !== c.fingerprint) {
        throw new EmolabError('train', 'checkpoint belongs to a run with other settings or data (options, model config or training clips differ)', { file: lastFile, hint: 'rerun with the same settings to resume, or use another --out / resume: false to start over' });
      }
      loadParams(model.params, ck.params, { strict: true, file: lastFile });
      opt.loadState(ck.optimizer, ck.step, lastFile);
      const user: TrainerRunningState = { lossSum: saved.lossSum, lossN: saved.lossN, headSums: saved.headSums, history: saved.history };
      return {
        step: saved.step, done: saved.finished, losses: [],
        dev: saved.history.flatMap((h) => (h.devMetric === undefined ? [] : [h.devMetric])),
        best: saved.best ? { epoch: saved.best.epoch - 1, metric: saved.best.metric } : null,
        badEpochs: saved.badEpochs,
        stoppedEarly: saved.finished && c.patience > 0 && saved.badEpochs >= c.patience && saved.history.length < c.epochs,
        user,
      };
    },
    save(opt, pos) {
      const u = pos.user as TrainerRunningState;
      const { epoch, index } = where(pos.step);
      // Wall times stay out of checkpoints, so the same run writes byte-identical files every time.
      const state: TrainerState = {
        seed: c.seed, epoch, batchInEpoch: index, step: pos.step, lossSum: u.lossSum, lossN: u.lossN, headSums: u.headSums,
        history: u.history.map((h) => ({ ...h, wallS: 0 })),
        best: pos.best ? { epoch: pos.best.epoch + 1, metric: pos.best.metric } : null,
        badEpochs: pos.badEpochs, finished: pos.done, fingerprint: c.fingerprint,
      };
      saveCheckpoint(lastFile, model, { optimizer: opt, step: pos.step, state, extra: { rng: RNG_STATE(c.seed, state) } });
    },
    saveBest(pos) {
      saveCheckpoint(bestFile, model, { step: pos.step, extra: { epoch: String(pos.best!.epoch + 1), devMetric: String(pos.best!.metric) } });
    },
    loadBest() {
      return existsSync(bestFile) ? Object.fromEntries(Object.entries(readCheckpoint(bestFile).params).map(([k, v]) => [k, v.data])) : undefined;
    },
  };
}

/** The trainer's part of a checkpoint's state: the epoch's running sums and the epoch records. */
export interface TrainerRunningState {
  lossSum: number;
  lossN: number;
  headSums: Record<string, [number, number]>;
  history: EpochRecord[];
}

