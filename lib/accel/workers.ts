/**
 * How many worker threads train one model (data parallelism, lib/train/dataParallel).
 *
 * `EMOLAB_WORKERS=<n>` asks for n replicas (1 = the single-thread trainer, exactly as before data
 * parallelism existed). Unset or `auto`: one per free core, where the experiment grid's process pool
 * (lib/finetune/pool) already runs W job processes on the machine's C cores and tells each of them W in
 * `EMOLAB_POOL_PROCESSES`: every job gets max(1, floor(C / W)). So `npm start`'s 2-job grid on 2 cores
 * trains each model on 1 thread, and a single run (a notebook, `emolab pretrain`) on 2 cores uses 2
 * (measured in bench/NOTES.md, "Data-parallel workers"). lib/train/trainer `replicasFor` keeps `auto` at 1
 * for a model with dropout > 0, whose shards would draw other dropout masks than one process.
 */
import { availableParallelism } from 'node:os';
import { EmolabError } from '../errors';

export interface WorkerCount {
  /** Replicas one training run uses (1 = no worker threads). */
  workers: number;
  /** Where the number came from. */
  source: 'EMOLAB_WORKERS' | 'auto';
  cores: number;
  /** Job processes of the experiment grid sharing the cores (1 outside the grid). */
  poolProcesses: number;
}

function positiveInt(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new EmolabError('backend', `${name} must be an integer 1..${max} or "auto"; got "${raw}"`);
  return n;
}

/** The worker count asked for by the environment (EMOLAB_WORKERS, EMOLAB_POOL_PROCESSES) on `cores` cores. */
export function trainingWorkers(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): WorkerCount {
  const poolRaw = env.EMOLAB_POOL_PROCESSES?.trim();
  const poolProcesses = poolRaw ? positiveInt('EMOLAB_POOL_PROCESSES', poolRaw, 1024) : 1;
  const raw = env.EMOLAB_WORKERS?.trim();
  if (raw && raw.toLowerCase() !== 'auto') return { workers: positiveInt('EMOLAB_WORKERS', raw, 64), source: 'EMOLAB_WORKERS', cores, poolProcesses };
  return { workers: Math.max(1, Math.floor(cores / poolProcesses)), source: 'auto', cores, poolProcesses };
}

/** One line for `emolab backend` and logs: `workers=2 (auto: 2 cores, 1 process)`. */
export function describeWorkers(w: WorkerCount = trainingWorkers()): string {
  if (w.source === 'EMOLAB_WORKERS') return `workers=${w.workers} (EMOLAB_WORKERS)`;
  return `workers=${w.workers} (auto: ${w.cores} core${w.cores === 1 ? '' : 's'} / ${w.poolProcesses} job process${w.poolProcesses === 1 ? '' : 'es'})`;
}
