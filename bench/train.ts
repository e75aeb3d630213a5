/**
 * Training-step benchmark, side by side with PyTorch:
 *
 *   npm run bench -- train [--backend wasm|cpu|webgpu|tensorflow] [--preset tiny,base,hubert-base,issue-ref]
 *                          [--kernels wasm,native] [--batch B] [--frames T] [--steps N] [--warmup W] [--torch-threads 1] [--no-torch]
 *                          [--torch-device cpu|cuda] [--torch-blas openblas|reference|system] [--torch-ld-path <dir with libblas.so.3>]
 *                          [--conv im2col|native] [--tf-flags WEBGPU_CPU_FORWARD=false,...] [--profile] [--dp-probe] [--hubert-wasm] [--out file.json]
 *
 * On wasm every preset runs on each kernel set of `--kernels` (default: wasm and, when built, native;
 * lib/accel) in one process, interleaved step by step (wasm, native, native, wasm, ...), so the A/B ratio
 * is measured under the same load; `hubert-base` runs on native only when it is built (on wasm's own kernels its
 * backward pass aborts, which breaks the process's wasm heap for every later case; `--hubert-wasm` tries anyway). PyTorch gets OpenBLAS by default (`--torch-blas openblas`): Debian's
 * python3-torch links libblas.so.3, and the run puts Debian's OpenBLAS folder holding a libblas.so.3
 * (/usr/lib/<arch>/openblas-pthread) first on its LD_LIBRARY_PATH, whatever the system alternative says;
 * `reference` puts the netlib folder (/usr/lib/<arch>/blas) first, `system` leaves the alternative. Each
 * torch result lists the BLAS libraries its process really mapped (/proc/self/maps).
 *
 * One training step = forward + backward + global-norm clip + AdamW update (the step of lib/train/trainer),
 * timed one by one after `warmup` untimed steps; the table shows the median (and min) of N, samples/s,
 * forward-only time, peak tf.memory().numBytes and peak process RSS. The models:
 *
 * - `tiny`, `base`: the encoder presets (lib/models/encoder) with an attention-pooling 6-class utterance head
 *   (the SER head), softmax cross-entropy, AdamW (wd 0.01, clip 1), on log-mel input [B, T, 80].
 * - `hubert-base`: HuBERT-base (hubertBaseConfig, random weights; 94.4 M parameters) on raw audio
 *   [B, T*160] (T 10 ms frames), mean pooling + linear 6, dropout on: forward + backward to every weight,
 *   no optimizer update. Its backward pass does not fit the wasm heap (bench/NOTES.md): cpu or webgpu.
 * - `issue-ref`: the model of issue 11 (batch 32 x 300 x 80; conv1d 80->256 k5 + ReLU, conv1d 256->256 k5
 *   + ReLU, attention pooling, linear 6; Adam, no clip), for the GPU comparison (115 ms tfjs-webgpu vs
 *   3.25 ms PyTorch CUDA on an H100).
 *
 * bench/reference_torch.py builds the same models (same shapes, layer counts and optimizer) and times the
 * same steps with torch.set_num_threads(n) for each n of --torch-threads, when /usr/bin/python3 has torch.
 * Ours runs on one thread (wasm under Node and cpu are single-threaded; OpenBLAS at EMOLAB_BLAS_THREADS=1),
 * so `ours / torch@1` is the like-for-like ratio. Results go to bench/results/<backend>-<date>.json.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { describeBackend, initBackend, parseBackendRequest } from '../lib/backend';
import { ADDON_PATH, describeKernels, kernelReport, setKernels, type KernelReport, type KernelSet } from '../lib/accel';
import { goncalves2022Profile } from '../lib/experiments/goncalves2022';
import { flagNumber, flagString, parseArgs } from '../lib/args';
import { EmolabError } from '../lib/errors';
import { encoderConfig, type EncoderConfig } from '../lib/models/encoder';
import { createModel, forward } from '../lib/models/heads';
import { hubertBaseConfig, type HubertConfig } from '../lib/models/hubertConfig';
import { hubertForward, initHubert } from '../lib/models/hubert';
import { ParamFactory, applyDense, attentionPool, conv1d, countParams, disposeParams, type Params } from '../lib/models/layers';
import { Rng } from '../lib/random';
import { AdamW, clipByGlobalNorm } from '../lib/train/adamw';
import { headLoss } from '../lib/train/losses';
import { repoRoot } from '../lib/paths';
import { runInfo } from '../lib/runinfo';

export const TRAIN_PRESETS = ['tiny', 'base', 'hubert-base', 'issue-ref'] as const;
export type TrainPreset = (typeof TRAIN_PRESETS)[number];

/** Default sizes per preset: small enough to finish on 2 CPU cores (override with --batch/--frames/--steps). */
export const PRESET_DEFAULTS: Record<TrainPreset, { batch: number; frames: number; steps: number; warmup: number }> = {
  tiny: { batch: 8, frames: 300, steps: 20, warmup: 3 },
  base: { batch: 8, frames: 300, steps: 5, warmup: 2 },
  'hubert-base': { batch: 2, frames: 100, steps: 3, warmup: 1 },
  'issue-ref': { batch: 32, frames: 300, steps: 3, warmup: 1 },
};

export const NUM_CLASSES = 6;
export const HUBERT_SAMPLES_PER_FRAME = 160;

/** What both frameworks build: the model description handed to reference_torch.py as JSON. */
export type CaseSpec =
  | { preset: 'tiny' | 'base'; encoder: EncoderConfig; batch: number; frames: number; classes: number; lr: number; weightDecay: number; clip: number; update: boolean }
  | { preset: 'hubert-base'; hubert: HubertConfig; batch: number; samples: number; classes: number; lr: number; weightDecay: number; clip: number; update: boolean }
  | { preset: 'issue-ref'; inputDim: number; channels: number; kernel: number; conv: 'im2col' | 'native'; batch: number; frames: number; classes: number; lr: number; weightDecay: number; clip: number; update: boolean };

/** `conv`: issue-ref only: 'im2col' (lib/models conv1d, every backend) or 'native' (tf.conv1d; needs conv backprop kernels: webgpu, cpu). */
export function caseSpec(preset: TrainPreset, batch: number, frames: number, conv: 'im2col' | 'native' = 'im2col'): CaseSpec {
  const common = { batch, classes: NUM_CLASSES, lr: 1e-4, update: true };
  switch (preset) {
    case 'tiny':
    case 'base':
      return { preset, encoder: encoderConfig(preset), frames, weightDecay: 0.01, clip: 1, ...common };
    case 'hubert-base':
      // Forward + backward only (issue 11). On wasm even that exceeds the heap (2.1 GB of live tensors
      // in the backward at batch 1 x 0.3 s: "memory access out of bounds"); use --backend cpu or webgpu.
      return { preset, hubert: hubertBaseConfig(), samples: frames * HUBERT_SAMPLES_PER_FRAME, weightDecay: 0.01, clip: 0, ...common, update: false };
    case 'issue-ref':
      return { preset, inputDim: 80, channels: 256, kernel: 5, conv, frames, weightDecay: 0, clip: 0, ...common };
  }
}

/** A built case: its variables and a loss closure over fixed random inputs. */
export interface BuiltCase {
  params: Params;
  /** Scalar loss of the fixed batch (call inside tf.variableGrads / tf.tidy). */
  loss: (training: boolean) => tf.Scalar;
  dispose: () => void;
}

function randn(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

/** Build the tfjs side of a case (seeded inputs and labels). */
export function buildCase(spec: CaseSpec): BuiltCase {
  const rng = new Rng(11);
  const labels = Array.from({ length: spec.batch }, () => rng.int(spec.classes));
  if (spec.preset === 'tiny' || spec.preset === 'base') {
    const model = createModel({ encoder: spec.encoder, heads: [{ kind: 'utterance', name: 'emotion', classes: spec.classes, pooling: 'attention' }] }, 1);
    const x = tf.tensor3d(randn(rng, spec.batch * spec.frames * spec.encoder.inputDim), [spec.batch, spec.frames, spec.encoder.inputDim]);
    const lengths = new Array(spec.batch).fill(spec.frames);
    return {
      params: model.params,
      loss: (training) => {
        const { outputs } = forward(model, x, lengths, {}, { training, seed: 1 });
        return headLoss('utterance', outputs.emotion.logits, labels)!;
      },
      dispose: () => { x.dispose(); disposeParams(model.params); },
    };
  }
  if (spec.preset === 'hubert-base') {
    const model = initHubert(spec.hubert, 0);
    const head = new ParamFactory(7).dense('head', spec.hubert.hiddenSize, spec.classes);
    const params: Params = { ...model.params, 'head.w': head.w as tf.Variable, 'head.b': head.b as tf.Variable };
    const audio = tf.tensor2d(randn(rng, spec.batch * spec.samples), [spec.batch, spec.samples]);
    return {
      params,
      loss: (training) => {
        const out = hubertForward(model, audio, { training, seed: 1 });
        const logits = applyDense(tf.mean(out.lastHiddenState, 1) as tf.Tensor2D, head);
        return headLoss('utterance', logits, labels)!;
      },
      dispose: () => { audio.dispose(); disposeParams(params); },
    };
  }
  if (spec.preset !== 'issue-ref') throw new EmolabError('bench', `unknown preset ${spec.preset}`);
  const f = new ParamFactory(5);
  const c1 = f.conv1d('conv1', spec.kernel, spec.inputDim, spec.channels);
  const c2 = f.conv1d('conv2', spec.kernel, spec.channels, spec.channels);
  const score = f.dense('att.score', spec.channels, 1, false);
  const out = f.dense('out', spec.channels, spec.classes);
  const x = tf.tensor3d(randn(rng, spec.batch * spec.frames * spec.inputDim), [spec.batch, spec.frames, spec.inputDim]);
  return {
    params: f.params,
    loss: () => {
      const cv = (y: tf.Tensor3D, w: { w: tf.Tensor; b?: tf.Tensor }): tf.Tensor3D => spec.conv === 'native'
        ? tf.add(tf.conv1d(y, w.w as tf.Tensor3D, 1, 'same'), w.b!) as tf.Tensor3D
        : conv1d(y, w.w, w.b);
      const h = tf.relu(cv(tf.relu(cv(x, c1)) as tf.Tensor3D, c2)) as tf.Tensor3D;
      const { pooled } = attentionPool(h, undefined, { score });
      return headLoss('utterance', applyDense(pooled, out), labels)!;
    },
    dispose: () => { x.dispose(); disposeParams(f.params); },
  };
}

/** One training step (forward, backward, clip, AdamW) as the trainer does it (`update: false`: forward + backward only); returns the loss. */
export function makeStep(c: BuiltCase, spec: CaseSpec): { step: () => number; peakBytes: () => number; optimizer: AdamW } {
  const optimizer = new AdamW(spec.update ? c.params : {}, { weightDecay: spec.weightDecay });
  const names = new Map(Object.entries(c.params).map(([k, v]) => [v.name, k]));
  const vars = Object.values(c.params);
  const last = vars[vars.length - 1];
  let peak = 0;
  const step = (): number => {
    // Peak tensor bytes: sampled at the end of the forward pass (activations the tape keeps for the
    // backward pass) and once the gradients exist; transient buffers inside the backward are not seen.
    const { value, grads } = tf.variableGrads(() => {
      const l = c.loss(true);
      peak = Math.max(peak, tf.memory().numBytes);
      return l;
    }, vars);
    const named: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) named[names.get(k)!] = g;
    peak = Math.max(peak, tf.memory().numBytes);
    let applied = named;
    let clipped: Record<string, tf.Tensor> | undefined;
    if (spec.clip > 0) { clipped = clipByGlobalNorm(named, spec.clip).grads; applied = clipped; }
    peak = Math.max(peak, tf.memory().numBytes);
    if (spec.update) optimizer.apply(applied, spec.lr);
    const loss = value.dataSync()[0];
    // Wait for the update (or the last gradient) too: GPU backends queue work.
    tf.tidy(() => tf.sum(spec.update ? last : Object.values(grads)[0]).dataSync());
    tf.dispose([value, ...Object.values(grads), ...(clipped ? Object.values(clipped) : [])]);
    return loss;
  };
  return { step, peakBytes: () => peak, optimizer };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface CaseResult {
  preset: TrainPreset;
  /** wasm: the kernel set this result ran on (lib/accel); absent on other backends. */
  kernels?: KernelSet;
  batch: number;
  /** 10 ms frames (hubert-base: samples / 160). */
  frames: number;
  params: number;
  warmup: number;
  steps: number;
  ms_median: number;
  ms_min: number;
  ms_all: number[];
  /** Process CPU time (user + system) per step, median: robust to other processes on a shared machine. */
  cpu_ms_median: number;
  forward_ms_median: number;
  samples_per_s: number;
  peak_tf_bytes: number;
  peak_rss_bytes: number;
  loss_first: number;
  loss_last: number;
  load_before: number;
  load_after: number;
}

const load = (): number => Math.round(loadavg()[0] * 100) / 100;

/** Time one case on the running backend (the kernel set active now). */
export function runCase(spec: CaseSpec, steps: number, warmup: number): CaseResult {
  return runCaseAB(spec, steps, warmup, [undefined])[0];
}

/**
 * Time one case on each kernel set of `sets` (undefined: leave the kernels as they are), interleaved:
 * the same model and optimizer, step i runs the sets in turn, in an order that alternates from step to
 * step (ABBA...), so load changes hit every set alike. Returns one result per set.
 */
export function runCaseAB(spec: CaseSpec, steps: number, warmup: number, sets: (KernelSet | undefined)[]): CaseResult[] {
  return runCaseVariants(spec, steps, warmup, sets.map((k) => ({ kernels: k, apply: () => { if (k) setKernels(k); } })));
}

/** A setting a case is timed under (interleaved with the others): what to switch before each of its steps. */
export interface Variant { kernels?: KernelSet; label?: string; apply: () => void }

/** `runCaseAB` over arbitrary variants (kernel sets, product choices). */
export function runCaseVariants(spec: CaseSpec, steps: number, warmup: number, variants: Variant[]): (CaseResult & { variant?: string })[] {
  const before = load();
  const c = buildCase(spec);
  const { step, peakBytes, optimizer } = makeStep(c, spec);
  const sets = variants;
  const use = (v: Variant) => v.apply();
  let rss = process.memoryUsage().rss;
  const per = sets.map(() => ({ losses: [] as number[], ms: [] as number[], cpuMs: [] as number[], fwd: [] as number[] }));
  for (let i = 0; i < warmup; i++) {
    sets.forEach((k, j) => { use(k); per[j].losses.push(step()); });
    rss = Math.max(rss, process.memoryUsage().rss);
  }
  const order = (i: number) => (i % 2 ? [...sets.keys()].reverse() : [...sets.keys()]);
  for (let i = 0; i < steps; i++) {
    for (const j of order(i)) {
      use(sets[j]);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      per[j].losses.push(step());
      const dc = process.cpuUsage(c0);
      per[j].ms.push(performance.now() - t0);
      per[j].cpuMs.push((dc.user + dc.system) / 1000);
    }
    rss = Math.max(rss, process.memoryUsage().rss);
  }
  for (let i = 0; i < Math.max(1, Math.min(steps, 5)); i++) {
    for (const j of order(i)) {
      use(sets[j]);
      const t0 = performance.now();
      tf.tidy(() => { c.loss(false).dataSync(); });
      per[j].fwd.push(performance.now() - t0);
    }
  }
  const frames = spec.preset === 'hubert-base' ? spec.samples / HUBERT_SAMPLES_PER_FRAME : spec.frames;
  const after = load();
  const out = sets.map((v, j): CaseResult & { variant?: string } => {
    const { losses, ms, cpuMs, fwd } = per[j];
    const k = v.kernels;
    return {
      preset: spec.preset, ...(k ? { kernels: k } : tf.getBackend() === 'wasm' ? { kernels: kernelReport().active } : {}), ...(v.label ? { variant: v.label } : {}),
      batch: spec.batch, frames, params: countParams(c.params), warmup, steps,
      ms_median: median(ms), ms_min: Math.min(...ms), ms_all: ms.map((x) => Math.round(x * 100) / 100),
      cpu_ms_median: median(cpuMs),
      forward_ms_median: median(fwd), samples_per_s: spec.batch / (median(ms) / 1000),
      peak_tf_bytes: peakBytes(), peak_rss_bytes: rss, loss_first: losses[0], loss_last: losses[losses.length - 1],
      load_before: before, load_after: after,
    };
  });
  optimizer.dispose();
  c.dispose();
  return out;
}

/** Per-kernel time of one training step (tf.profile), summed by kernel name, largest first. */
export async function profileStep(spec: CaseSpec, top = 15): Promise<{ kernel: string; ms: number; calls: number }[]> {
  const c = buildCase(spec);
  const { step, optimizer } = makeStep(c, spec);
  step();
  const info = await tf.profile(() => { step(); });
  const by = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls += 1;
    by.set(k.name, e);
  }
  optimizer.dispose();
  c.dispose();
  return [...by.entries()].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms).slice(0, top);
}

// ---------------------------------------------------------------------------------------------
// Data-parallel probe: what gradient accumulation across worker threads would cost per step

/**
 * Cost of exchanging one step's gradients with a worker thread: the main thread sends `numParams`
 * floats (transferred, not copied), the worker adds its own gradient vector and sends the sum back
 * (the all-reduce of 2-way data parallelism). Returns the median round trip and the main thread's
 * CPU time for it, over `rounds` rounds.
 */
export async function gradientExchangeMs(numParams: number, rounds = 10): Promise<{ wallMs: number; cpuMs: number }> {
  const { Worker } = await import('node:worker_threads');
  const src = `const { parentPort } = require('node:worker_threads');
    let own;
    parentPort.on('message', (buf) => { const g = new Float32Array(buf); if (!own || own.length !== g.length) own = new Float32Array(g.length).fill(1e-3);
      for (let i = 0; i < g.length; i++) g[i] += own[i]; parentPort.postMessage(buf, [buf]); });`;
  const w = new Worker(src, { eval: true });
  const wall: number[] = [];
  const cpu: number[] = [];
  try {
    for (let r = 0; r < rounds + 1; r++) {
      const g = new Float32Array(numParams).fill(1);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const back = await new Promise<ArrayBuffer>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        w.postMessage(g.buffer, [g.buffer]);
      });
      const dc = process.cpuUsage(c0);
      if (numParams > 0 && new Float32Array(back)[numParams - 1] !== Math.fround(1 + Math.fround(1e-3))) {
        throw new EmolabError('bench', 'gradient exchange probe returned a wrong sum');
      }
      if (r > 0) { wall.push(performance.now() - t0); cpu.push((dc.user + dc.system) / 1000); }
    }
  } finally {
    await w.terminate();
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

// ---------------------------------------------------------------------------------------------
// PyTorch side

export interface TorchResult {
  preset: string; threads: number; ms_median: number; ms_min: number; cpu_ms_median: number; forward_ms_median: number; samples_per_s: number;
  params: number; peak_rss_bytes: number; loss_first: number; loss_last: number; torch: string;
  /** BLAS libraries the torch process had mapped (resolved paths). */
  blas_libraries?: string[];
}

export type TorchBlas = 'openblas' | 'reference' | 'system';

/** The folder holding the libblas.so.3 that `--torch-blas` asks for (undefined: leave the system's alternative). */
export function torchBlasFolder(which: TorchBlas, arch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu'): string | undefined {
  if (which === 'system') return undefined;
  const dir = which === 'openblas' ? `/usr/lib/${arch}/openblas-pthread` : `/usr/lib/${arch}/blas`;
  if (!existsSync(join(dir, 'libblas.so.3'))) {
    throw new EmolabError('bench', `--torch-blas ${which}: no libblas.so.3 in ${dir}`, { hint: which === 'openblas' ? 'apt-get install libopenblas0-pthread (or libopenblas-dev)' : 'apt-get install libblas3' });
  }
  return dir;
}

/** The python with torch (EMOLAB_TORCH_PYTHON overrides, e.g. a GPU machine's CUDA build). */
export const TORCH_PYTHON = process.env.EMOLAB_TORCH_PYTHON ?? '/usr/bin/python3';

/** Whether /usr/bin/python3 imports torch (its version), or why not. */
export function torchAvailable(): { ok: true; version: string } | { ok: false; reason: string } {
  if (!existsSync(TORCH_PYTHON)) return { ok: false, reason: `${TORCH_PYTHON} not found` };
  try {
    return { ok: true, version: execFileSync(TORCH_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim() };
  } catch {
    return { ok: false, reason: `${TORCH_PYTHON} has no torch (apt install python3-torch)` };
  }
}

function torchRun(spec: CaseSpec, threads: number, steps: number, warmup: number, device: string, ldPath?: string): TorchResult {
  const script = join(repoRoot, 'bench', 'reference_torch.py');
  const job = JSON.stringify({ spec, threads, steps, warmup, device });
  const out = execFileSync(TORCH_PYTHON, [script, job], {
    encoding: 'utf8', maxBuffer: 1 << 24,
    env: {
      ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads),
      ...(ldPath ? { LD_LIBRARY_PATH: [ldPath, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } : {}),
    },
  });
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as TorchResult;
}

// ---------------------------------------------------------------------------------------------
// CLI

function parsePresets(raw: string | undefined): TrainPreset[] {
  const list = (raw ?? 'tiny,base,hubert-base').split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of list) {
    if (!(TRAIN_PRESETS as readonly string[]).includes(p)) {
      throw new EmolabError('bench', `unknown preset "${p}"`, { hint: `use one or more of ${TRAIN_PRESETS.join(', ')} (comma-separated)` });
    }
  }
  return list as TrainPreset[];
}

/** `--tf-flags A=1,B=false`: tfjs environment flags (e.g. WEBGPU_CPU_FORWARD=false), numbers and booleans parsed. */
export function parseTfFlags(raw: string | undefined): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const item of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Z0-9_]+)=(.+)$/.exec(item);
    if (!m) throw new EmolabError('bench', `--tf-flags entries look like NAME=value, got "${item}"`);
    const v = m[2];
    out[m[1]] = v === 'true' ? true : v === 'false' ? false : Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}

/** `--kernels wasm,native` (default: wasm, plus native when the addon is built). */
export function parseKernelSets(raw: string | undefined, built = existsSync(ADDON_PATH)): KernelSet[] {
  const list = (raw ?? (built ? 'wasm,native' : 'wasm')).split(',').map((x) => x.trim()).filter(Boolean);
  for (const k of list) if (k !== 'wasm' && k !== 'native') throw new EmolabError('bench', `--kernels takes wasm and/or native, got "${k}"`);
  return list as KernelSet[];
}

function parseThreads(raw: string | undefined): number[] {
  const list = (raw ?? '1').split(',').map(Number);
  if (list.some((n) => !Number.isInteger(n) || n < 1)) throw new EmolabError('bench', `--torch-threads must be positive integers, got "${raw}"`);
  return list;
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2) : '-');
const mib = (b: number): string => (b / 2 ** 20).toFixed(0);

/**
 * The printed table: one row per preset, ours then torch per thread count, and ours/torch ratios of the
 * median wall time and of the median process CPU time (the like-for-like figure for 1 thread on a loaded
 * machine; with n threads torch's CPU time sums its threads, so compare wall time there).
 */
export function formatTable(backend: string, ours: CaseResult[], torch: Record<string, TorchResult[]>, defaultEncoder?: string): string {
  const threads = Object.keys(torch).map(Number).sort((a, b) => a - b);
  const head = ['preset', 'kernels', 'batch x frames', 'params', `${backend} ms wall/cpu`, 'fwd ms', 'samples/s', 'peak tf MiB', 'peak RSS MiB',
    ...threads.flatMap((t) => [`torch@${t} ms wall/cpu`, `ours/torch@${t} wall/cpu`])];
  const rows = ours.map((r) => {
    const cells = [r.preset === defaultEncoder ? `${r.preset} (= cpu profile encoder)` : r.preset, r.kernels ?? '-', `${r.batch} x ${r.frames}`, `${(r.params / 1e6).toFixed(2)} M`, `${fmt(r.ms_median)} / ${fmt(r.cpu_ms_median)}`,
      fmt(r.forward_ms_median), fmt(r.samples_per_s), mib(r.peak_tf_bytes), mib(r.peak_rss_bytes)];
    for (const t of threads) {
      const tr = torch[t]?.find((x) => x.preset === r.preset);
      cells.push(tr ? `${fmt(tr.ms_median)} / ${fmt(tr.cpu_ms_median)}` : '-',
        tr ? `${(r.ms_median / tr.ms_median).toFixed(2)}x / ${(r.cpu_ms_median / tr.cpu_ms_median).toFixed(2)}x` : '-');
    }
    return cells;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export async function run(argv: string[]): Promise<void> {
  const a = parseArgs('bench train', argv, {
    values: ['backend', 'preset', 'kernels', 'batch', 'frames', 'steps', 'warmup', 'torch-threads', 'torch-device', 'torch-blas', 'torch-ld-path', 'out', 'conv', 'tf-flags'],
    booleans: ['no-torch', 'profile', 'dp-probe', 'hubert-wasm'],
  });
  if (a.flags.help) {
    console.log('usage: npm run bench -- train [--backend wasm|cpu|webgpu|tensorflow] [--preset tiny,base,hubert-base,issue-ref] [--kernels wasm,native] [--batch B] [--frames T] [--steps N] [--warmup W] [--torch-threads 1] [--torch-device cpu|cuda] [--torch-blas openblas|reference|system] [--torch-ld-path DIR] [--conv im2col|native] [--tf-flags NAME=v,...] [--no-torch] [--profile] [--dp-probe] [--hubert-wasm] [--out file]');
    return;
  }
  const report = await initBackend(parseBackendRequest(flagString(a, 'backend') ?? process.env.EMOLAB_BACKEND));
  const tfFlags = parseTfFlags(flagString(a, 'tf-flags'));
  for (const [k, v] of Object.entries(tfFlags)) {
    try { tf.env().set(k, v); } catch (e) {
      throw new EmolabError('bench', `cannot set tfjs flag ${k}: ${(e as Error).message}`, { hint: `flags exist only for their backend (this run: ${report.name})` });
    }
  }
  const conv = flagString(a, 'conv', 'im2col');
  if (conv !== 'im2col' && conv !== 'native') throw new EmolabError('bench', `--conv must be im2col or native, got "${conv}"`);
  const presets = parsePresets(flagString(a, 'preset'));
  const threads = parseThreads(flagString(a, 'torch-threads'));
  const kernelSets: (KernelSet | undefined)[] = report.name === 'wasm' ? parseKernelSets(flagString(a, 'kernels')) : [undefined];
  const torchDevice = flagString(a, 'torch-device', 'cpu')!;
  // e.g. an OpenBLAS libblas.so.3 folder: Debian's python3-torch is linked to libblas.so.3, which is the
  // reference (netlib) BLAS unless an optimised one is installed as the alternative.
  const torchBlas = flagString(a, 'torch-blas', 'openblas') as TorchBlas;
  if (!['openblas', 'reference', 'system'].includes(torchBlas)) throw new EmolabError('bench', `--torch-blas must be openblas, reference or system, got "${torchBlas}"`);
  const torchLdPath = flagString(a, 'torch-ld-path') ?? (a.flags['no-torch'] ? undefined : torchBlasFolder(torchBlas));
  if (torchLdPath && !existsSync(join(torchLdPath, 'libblas.so.3'))) throw new EmolabError('bench', 'no libblas.so.3 in --torch-ld-path', { file: torchLdPath });
  const torchOk: { ok: true; version: string } | { ok: false; reason: string } = a.flags['no-torch'] ? { ok: false, reason: '--no-torch' } : torchAvailable();
  const torchWhy = 'reason' in torchOk ? torchOk.reason : '';
  const defaultEncoder = goncalves2022Profile('cpu').encoder.preset;
  console.log(`bench train: ${describeBackend(report)}; ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), load ${load()}; torch: ${torchOk.ok ? `${torchOk.version} on ${torchDevice}, threads ${threads.join(',')}${torchLdPath ? `, LD_LIBRARY_PATH=${torchLdPath}` : ', system libblas.so.3'}` : torchWhy}; kernel sets: ${kernelSets.map((k) => k ?? 'as set').join(', ')}; the cpu profile's encoder is ${defaultEncoder}`);

  const ours: CaseResult[] = [];
  const failures: { preset: TrainPreset; backend: string; kernels: string; error: string; peak_rss_bytes: number }[] = [];
  const torch: Record<string, TorchResult[]> = {};
  const profiles: Record<string, { kernel: string; ms: number; calls: number }[]> = {};
  for (const preset of presets) {
    const d = PRESET_DEFAULTS[preset];
    const spec = caseSpec(preset, flagNumber(a, 'bench train', 'batch', d.batch)!, flagNumber(a, 'bench train', 'frames', d.frames)!, conv);
    const steps = flagNumber(a, 'bench train', 'steps', d.steps)!;
    const warmup = flagNumber(a, 'bench train', 'warmup', d.warmup)!;
    // HuBERT-base's backward pass aborts wasm's own kernels (heap exhausted, bench/NOTES.md) and an abort
    // poisons the process's wasm heap for every later case: with native kernels built it runs on those only.
    const sets = preset === 'hubert-base' && kernelSets.includes('native') && !a.flags['hubert-wasm'] ? ['native' as const] : kernelSets;
    let rs: CaseResult[];
    try {
      rs = runCaseAB(spec, steps, warmup, sets);
    } catch (e) {
      // e.g. HuBERT-base's backward pass on wasm ("memory access out of bounds"): keep the other presets' results.
      const message = e instanceof Error ? e.message : String(e);
      failures.push({ preset, backend: report.name, kernels: sets.filter(Boolean).join(','), error: message, peak_rss_bytes: process.memoryUsage().rss });
      console.log(`  ${preset}: FAILED on ${report.name}${sets[0] ? ` (kernels ${sets.join(', ')})` : ''}: ${message.split('\n')[0]}`);
      continue;
    }
    for (const r of rs) {
      ours.push(r);
      console.log(`  ${preset}${r.kernels ? ` [kernels=${r.kernels}]` : ''}${preset === defaultEncoder ? ' (cpu profile encoder)' : ''}: ${fmt(r.ms_median)} ms/step (min ${fmt(r.ms_min)}, cpu ${fmt(r.cpu_ms_median)}), forward ${fmt(r.forward_ms_median)} ms, loss ${r.loss_first.toFixed(3)} -> ${r.loss_last.toFixed(3)}, load ${r.load_before} -> ${r.load_after}`);
    }
    if (rs.length === 2 && rs[0].kernels && rs[1].kernels) {
      console.log(`  ${preset}: ${rs[0].kernels}/${rs[1].kernels} = ${(rs[0].ms_median / rs[1].ms_median).toFixed(2)}x wall, ${(rs[0].cpu_ms_median / rs[1].cpu_ms_median).toFixed(2)}x cpu (interleaved)`);
    }
    if (a.flags.profile) {
      for (const k of kernelSets) {
        if (k) setKernels(k);
        profiles[`${preset}${k ? `/${k}` : ''}`] = await profileStep(spec);
        console.log(`    profile ${preset}${k ? ` [kernels=${k}]` : ''}:\n` + profiles[`${preset}${k ? `/${k}` : ''}`].map((p) => `    ${p.kernel.padEnd(24)} ${fmt(p.ms)} ms  ${p.calls} calls`).join('\n'));
      }
    }
    if (torchOk.ok) {
      for (const t of threads) {
        const tr = torchRun(spec, t, steps, warmup, torchDevice, torchLdPath);
        (torch[t] ??= []).push(tr);
        console.log(`  ${preset}: torch ${tr.torch} ${torchDevice} ${t} thread(s): ${fmt(tr.ms_median)} ms/step (min ${fmt(tr.ms_min)}, cpu ${fmt(tr.cpu_ms_median)}), forward ${fmt(tr.forward_ms_median)} ms, loss ${tr.loss_first.toFixed(3)} -> ${tr.loss_last.toFixed(3)}; BLAS mapped: ${(tr.blas_libraries ?? ['?']).join(', ')}`);
      }
    }
  }
  // --dp-probe: would 2-way data parallelism (gradient accumulation across 2 worker threads) pay?
  // Compare the step at batch B with the step at B/2 plus one gradient exchange (all on CPU time).
  const dataParallel: Record<string, unknown> = {};
  if (a.flags['dp-probe']) {
    for (const r of ours) {
      if (r.batch < 2 || r.batch % 2) continue;
      if (r.kernels) setKernels(r.kernels);
      const half = runCase(caseSpec(r.preset, r.batch / 2, r.frames), Math.max(3, Math.floor(r.steps / 2)), 1);
      const ex = await gradientExchangeMs(r.params);
      const predicted = r.cpu_ms_median / (half.cpu_ms_median + ex.wallMs);
      dataParallel[`${r.preset}${r.kernels ? `/${r.kernels}` : ''}`] = { full_batch_cpu_ms: r.cpu_ms_median, half_batch_cpu_ms: half.cpu_ms_median, exchange_ms: ex, predicted_speedup_2_idle_cores: predicted };
      console.log(`  data-parallel probe ${r.preset}: step(B=${r.batch}) ${fmt(r.cpu_ms_median)} ms cpu; step(B=${r.batch / 2}) ${fmt(half.cpu_ms_median)} ms cpu; gradient exchange of ${r.params} floats ${fmt(ex.wallMs)} ms -> predicted 2-worker speedup on 2 idle cores ${predicted.toFixed(2)}x`);
    }
  }
  console.log('\n' + formatTable(report.name, ours, torch, defaultEncoder));
  for (const f of failures) console.log(`${f.preset}: failed on ${f.backend}${f.kernels ? ` (kernels ${f.kernels})` : ''} (${f.error.split('\n')[0]})`);
  const result = {
    benchmark: 'train', date: new Date().toISOString(), backend: report, tf_flags: tfFlags, conv, cores: availableParallelism(), cpu: cpus()[0]?.model,
    ours_threads: report.threads ?? null, results: ours, failures,
    kernels: { sets: kernelSets, addon: ADDON_PATH, report: kernelReport() as KernelReport, description: describeKernels() },
    default_profile_encoder: defaultEncoder,
    torch: torchOk.ok ? { version: torchOk.version, device: torchDevice, blas: torchLdPath ? torchBlas : 'system', ld_library_path: torchLdPath ?? null, by_threads: torch } : { skipped: torchWhy },
    ratios: Object.fromEntries(ours.map((r) => [`${r.preset}${r.kernels ? `/${r.kernels}` : ''}`, Object.fromEntries(Object.entries(torch).map(([t, list]) => {
      const tr = list.find((x) => x.preset === r.preset);
      return [`torch_${t}`, tr ? { wall: r.ms_median / tr.ms_median, cpu: r.cpu_ms_median / tr.cpu_ms_median } : null];
    }))])),
    profiles: a.flags.profile ? profiles : undefined,
    data_parallel: a.flags['dp-probe'] ? dataParallel : undefined,
    run: runInfo(),
  };
  const outDir = join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const outFile = flagString(a, 'out') ?? join(outDir, `${report.name}${report.name === 'wasm' ? `-${kernelSets.filter(Boolean).join('+') || kernelReport().active}` : ''}-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
  console.log(`-> ${outFile}`);
}
