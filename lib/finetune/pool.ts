/**
 * Independent models trained at once, one child process each (wasm runs one thread per process, so
 * two processes are the cheap 2x on a 2-core machine), with dependencies between jobs (a fine-tuning
 * job waits for the pretraining run whose encoder it starts from).
 *
 * Isolation: every job runs in a worker process; a wasm abort (`memory access out of bounds`,
 * `Aborted()`) or any other crash kills only that process. The job is recorded as failed with the
 * process's last message, jobs that depend on it fail with the reason, a fresh process takes the
 * next job, and the others go on from a clean state. Nothing is retried automatically: a rerun
 * retrains exactly the jobs that have no record (every finished model is on disk already).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../paths';
import { progress } from '../show/progress';
import type { JobReply, JobRequest } from './jobWorker';

export interface PoolJob {
  id: string;
  /** Ids of jobs that must finish first. */
  after: string[];
  request: JobRequest;
  /** Relative cost (budgeted epochs, weighted by clip count), for the ETA and to start long jobs first. */
  cost: number;
}

export interface PoolOutcome {
  id: string;
  ok: boolean;
  /** The worker's reply when ok. */
  reply?: JobReply;
  /** Why it failed: the error message, the signal/exit code of a dead worker, or the failed dependency. */
  message?: string;
  seconds: number;
}

export interface PoolOptions {
  workers: number;
  quiet: boolean;
  /** Progress label. */
  label: string;
  onOutcome?: (job: PoolJob, outcome: PoolOutcome) => void;
  /** Messages a job sends while it runs (epoch records), for live plots. */
  onProgress?: (job: PoolJob, message: unknown) => void;
  /** Environment of the worker processes (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

const WORKER = join(repoRoot, 'lib', 'finetune', 'jobWorker.ts');

interface Slot { child: ChildProcess; stderr: string; busy?: { job: PoolJob; t0: number; resolve: (o: PoolOutcome) => void } }

/**
 * `processes`: how many job processes share the machine; each job's trainer then uses
 * max(1, floor(cores / processes)) data-parallel worker threads unless EMOLAB_WORKERS says otherwise
 * (lib/accel/workers).
 */
function spawnWorker(env: NodeJS.ProcessEnv, processes: number): Slot {
  const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], cwd: repoRoot, env: { ...env, EMOLAB_WORKER: '1', EMOLAB_POOL_PROCESSES: String(processes) }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
  const slot: Slot = { child, stderr: '' };
  child.stderr?.on('data', (d: Buffer) => { slot.stderr = (slot.stderr + d.toString()).slice(-4000); });
  return slot;
}

/** The last meaningful lines a dead worker printed (wasm prints its abort reason there). */
function lastLines(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('at ') && l.length < 400);
  return lines.slice(-3).join(' | ');
}

/** Run every job (respecting `after`) on `workers` processes; never throws for a job's failure. */
export async function runJobPool(jobs: PoolJob[], o: PoolOptions): Promise<PoolOutcome[]> {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  for (const j of jobs) for (const d of j.after) if (!byId.has(d)) throw new Error(`job ${j.id} depends on unknown job ${d}`);
  const outcomes = new Map<string, PoolOutcome>();
  const pending = [...jobs].sort((a, b) => b.cost - a.cost);
  const totalCost = jobs.reduce((s, j) => s + j.cost, 0);
  const bar = progress(o.label, Math.max(1, Math.round(totalCost)), { unit: 'epochs', quiet: o.quiet });
  let doneCount = 0, failedCount = 0;
  const env = o.env ?? process.env;
  const slots: Slot[] = [];
  const finish = (job: PoolJob, out: PoolOutcome): void => {
    outcomes.set(job.id, out);
    if (out.ok) doneCount++; else failedCount++;
    bar.tick(Math.round(job.cost), `${doneCount} done, ${failedCount} failed of ${jobs.length}`);
    o.onOutcome?.(job, out);
  };
  const next = (): PoolJob | undefined => {
    for (let i = 0; i < pending.length; i++) {
      const j = pending[i];
      const deps = j.after.map((d) => outcomes.get(d));
      const failedDep = j.after.find((d) => outcomes.get(d) && !outcomes.get(d)!.ok);
      if (failedDep) {
        pending.splice(i, 1);
        finish(j, { id: j.id, ok: false, message: `not run: ${failedDep} failed (${outcomes.get(failedDep)!.message})`, seconds: 0 });
        return next();
      }
      if (deps.every((d) => d !== undefined)) { pending.splice(i, 1); return j; }
    }
    return undefined;
  };
  const runOn = (slot: Slot, job: PoolJob): Promise<PoolOutcome> => new Promise((resolve) => {
    slot.busy = { job, t0: Date.now(), resolve };
    slot.child.send({ type: 'job', id: job.id, request: job.request });
  });
  const attach = (slot: Slot): void => {
    slot.child.on('message', (m: { type: string; id: string; ok?: boolean; reply?: JobReply; message?: string; progress?: unknown }) => {
      const b = slot.busy;
      if (!b || m.id !== b.job.id) return;
      if (m.type === 'progress') { o.onProgress?.(b.job, m.progress); return; }
      slot.busy = undefined;
      b.resolve({ id: b.job.id, ok: Boolean(m.ok), reply: m.reply, message: m.message, seconds: (Date.now() - b.t0) / 1000 });
    });
    slot.child.on('exit', (code, signal) => {
      const b = slot.busy;
      if (!b) return;
      slot.busy = undefined;
      const why = lastLines(slot.stderr);
      b.resolve({ id: b.job.id, ok: false, message: `worker process died (${signal ? `signal ${signal}` : `exit code ${code}`})${why ? `: ${why}` : ''}`, seconds: (Date.now() - b.t0) / 1000 });
    });
  };
  const n = Math.max(1, Math.min(o.workers, jobs.length));
  try {
    await Promise.all(Array.from({ length: n }, async () => {
      let slot: Slot | undefined;
      for (;;) {
        const job = next();
        if (!job) {
          if (pending.length === 0) break;
          // Waiting for a dependency that another worker is training.
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        if (!slot || slot.child.exitCode !== null || slot.child.signalCode !== null) {
          slot = spawnWorker(env, n);
          attach(slot);
          slots.push(slot);
        }
        const out = await runOn(slot, job);
        finish(job, out);
        // A process that failed may hold a poisoned wasm heap: the next job gets a fresh one.
        if (!out.ok) { slot.child.kill(); slot = undefined; }
      }
    }));
  } finally {
    for (const s of slots) if (s.child.exitCode === null && s.child.signalCode === null) s.child.disconnect?.();
    bar.done(`${doneCount} done, ${failedCount} failed`);
  }
  return jobs.map((j) => outcomes.get(j.id)!);
}
