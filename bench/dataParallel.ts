/**
 * Data-parallel workers: which pays, and when (issue 17, item 3).
 *
 *   npm run bench -- dp [--preset tiny,base] [--steps N] [--batch B] [--frames T]
 *
 * 1. Step time of lib/train/trainer's train() at 1 vs 2 replicas (EMOLAB_WORKERS=1 vs 2), one model, the
 *    same batches (B clips of T frames, a 6-class SER head), after an untimed warm-up run that starts the
 *    worker threads; wall and whole-process CPU time (all threads) per step, interleaved 1, 2, 2, 1.
 * 2. The grid: the same two jobs (N steps each) as 2 processes x 1 worker at once (what the pool does) vs
 *    1 process x 2 workers running them one after the other. Each job process warms up, then all start on
 *    a signal; the figure is the wall time from the first start to the last end, and the processes' CPU.
 *
 * The machine may be loaded by other work: the load average before and after goes into the result
 * (bench/results/dp-<date>.json). Our CPU figures are whole-process (main + worker threads).
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describeBackend, initBackend } from '../lib/backend';
import { flagNumber, flagString, parseArgs } from '../lib/args';
import { EmolabError } from '../lib/errors';
import { encoderConfig } from '../lib/models/encoder';
import { createModel } from '../lib/models/heads';
import { disposeParams } from '../lib/models/layers';
import { Rng } from '../lib/random';
import { repoRoot } from '../lib/paths';
import { runInfo } from '../lib/runinfo';
import type { Example } from '../lib/train/batches';
import { stopDataParallelWorkers } from '../lib/train/dataParallel';
import { train } from '../lib/train/trainer';
import { goncalves2022Profile } from '../lib/experiments/goncalves2022';

const load = (): number => Math.round(loadavg()[0] * 100) / 100;

interface Job { preset: 'tiny' | 'base'; batch: number; frames: number; steps: number }

function examples(j: Job, seed: number): Example[] {
  const rng = new Rng(seed);
  return Array.from({ length: j.batch * j.steps }, (_, i) => {
    const frames = j.frames - rng.int(Math.max(1, Math.floor(j.frames / 10)));
    const f = new Float32Array(frames * 80);
    for (let k = 0; k < f.length; k++) f[k] = rng.normal();
    return { id: `c${i}`, speaker: `s${i % 4}`, features: f, frames, dim: 80, labels: { ser: rng.int(6) } };
  });
}

/** Train one job (N steps of batch B) with `workers` replicas: wall and whole-process CPU ms per step. */
async function timeJob(j: Job, workers: number, seed = 1): Promise<{ wallMsPerStep: number; cpuMsPerStep: number; loss: number }> {
  const model = createModel({ encoder: encoderConfig(j.preset), heads: [{ kind: 'utterance', name: 'ser', classes: 6, pooling: 'attention' }] }, seed);
  const data = examples(j, seed);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await train(model, { train: data }, { epochs: 1, batchSize: j.batch, lr: 1e-3, seed, quiet: true, workers, restoreBest: false });
  const wall = performance.now() - t0;
  const dc = process.cpuUsage(c0);
  disposeParams(model.params);
  return { wallMsPerStep: wall / r.steps, cpuMsPerStep: (dc.user + dc.system) / 1000 / r.steps, loss: r.history[0].trainLoss };
}

/** Child process of the grid measurement: warm up, say ready, run `jobs` jobs on 'go', report. */
async function child(): Promise<void> {
  const spec = JSON.parse(process.env.EMOLAB_DP_BENCH_CHILD!) as { job: Job; workers: number; jobs: number };
  await initBackend();
  await timeJob({ ...spec.job, steps: 1 }, spec.workers, 99);
  process.send!({ type: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const start = Date.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < spec.jobs; i++) await timeJob(spec.job, spec.workers, i + 1);
  const dc = process.cpuUsage(c0);
  process.send!({ type: 'done', start, end: Date.now(), cpuMs: (dc.user + dc.system) / 1000 });
  await stopDataParallelWorkers();
  process.disconnect();
}

async function grid(job: Job, processes: number, workers: number, jobsEach: number): Promise<{ wallS: number; cpuS: number }> {
  const kids = Array.from({ length: processes }, () => fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'], cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, EMOLAB_DP_BENCH_CHILD: JSON.stringify({ job, workers, jobs: jobsEach }) },
  }));
  const msgs = kids.map((k) => {
    const got: Record<string, unknown>[] = [];
    const waiters: ((m: Record<string, unknown>) => void)[] = [];
    k.on('message', (m: Record<string, unknown>) => { const w = waiters.shift(); if (w) w(m); else got.push(m); });
    return () => new Promise<Record<string, unknown>>((resolve, reject) => {
      const m = got.shift();
      if (m) resolve(m); else { waiters.push(resolve); k.once('exit', (c) => reject(new EmolabError('bench', `dp grid child exited (${c})`))); }
    });
  });
  await Promise.all(msgs.map((next) => next()));
  kids.forEach((k) => k.send({ type: 'go' }));
  const done = (await Promise.all(msgs.map((next) => next()))) as { start: number; end: number; cpuMs: number }[];
  return { wallS: (Math.max(...done.map((d) => d.end)) - Math.min(...done.map((d) => d.start))) / 1000, cpuS: done.reduce((s, d) => s + d.cpuMs, 0) / 1000 };
}

export async function run(argv: string[]): Promise<void> {
  const a = parseArgs('bench dp', argv, { values: ['preset', 'steps', 'batch', 'frames', 'out'], booleans: ['no-grid'] });
  const presets = (flagString(a, 'preset') ?? 'tiny,base').split(',').map((s) => s.trim());
  for (const p of presets) if (p !== 'tiny' && p !== 'base') throw new EmolabError('bench', `bench dp: --preset takes tiny and/or base, got "${p}"`);
  const report = await initBackend();
  const defaultEncoder = goncalves2022Profile('cpu').encoder.preset;
  console.log(`bench dp: ${describeBackend(report)}; ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), load ${load()}; the cpu profile's encoder is ${defaultEncoder}`);
  const results: Record<string, unknown>[] = [];
  for (const preset of presets as Job['preset'][]) {
    const job: Job = {
      preset, batch: flagNumber(a, 'bench dp', 'batch', 8)!, frames: flagNumber(a, 'bench dp', 'frames', 300)!,
      steps: flagNumber(a, 'bench dp', 'steps', preset === 'tiny' ? 8 : 3)!,
    };
    const label = `${preset}${preset === defaultEncoder ? ' (cpu profile encoder)' : ''}`;
    const before = load();
    await timeJob({ ...job, steps: 1 }, 2, 99); // start the worker thread, warm the kernels
    const runs: Record<number, { wallMsPerStep: number; cpuMsPerStep: number; loss: number }[]> = { 1: [], 2: [] };
    for (const w of [1, 2, 2, 1]) runs[w].push(await timeJob(job, w));
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const step = Object.fromEntries([1, 2].map((w) => [w, { wall_ms_per_step: mean(runs[w].map((r) => r.wallMsPerStep)), cpu_ms_per_step: mean(runs[w].map((r) => r.cpuMsPerStep)), runs: runs[w] }]));
    console.log(`  ${label} step (B=${job.batch} x ${job.frames}, ${job.steps} steps x 2 runs): 1 worker ${step[1].wall_ms_per_step.toFixed(0)} ms wall / ${step[1].cpu_ms_per_step.toFixed(0)} ms cpu; 2 workers ${step[2].wall_ms_per_step.toFixed(0)} ms wall / ${step[2].cpu_ms_per_step.toFixed(0)} ms cpu; speedup ${(step[1].wall_ms_per_step / step[2].wall_ms_per_step).toFixed(2)}x wall`);
    let gridRes: Record<string, unknown> | undefined;
    if (!a.flags['no-grid']) {
      const twoByOne = await grid(job, 2, 1, 1);
      const oneByTwo = await grid(job, 1, 2, 2);
      gridRes = { two_processes_x_1_worker: twoByOne, one_process_x_2_workers: oneByTwo };
      console.log(`  ${label} grid of 2 jobs x ${job.steps} steps: 2 processes x 1 worker ${twoByOne.wallS.toFixed(1)} s wall / ${twoByOne.cpuS.toFixed(1)} s cpu; 1 process x 2 workers ${oneByTwo.wallS.toFixed(1)} s wall / ${oneByTwo.cpuS.toFixed(1)} s cpu`);
    }
    results.push({ preset, job, step, grid: gridRes, load_before: before, load_after: load() });
  }
  await stopDataParallelWorkers();
  const result = { benchmark: 'dp', date: new Date().toISOString(), backend: report, cores: availableParallelism(), cpu: cpus()[0]?.model, default_profile_encoder: defaultEncoder, results, run: runInfo() };
  const outDir = join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const outFile = flagString(a, 'out') ?? join(outDir, `dp-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
  console.log(`-> ${outFile}`);
}

if (process.env.EMOLAB_DP_BENCH_CHILD && process.send) child().catch((e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
