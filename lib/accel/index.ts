/**
 * Optional native acceleration of the tfjs wasm backend: OpenBLAS matrix products through the
 * N-API addon in native/ (built at install time by native/build.mjs when a compiler and OpenBLAS are
 * there; never required).
 *
 * `EMOLAB_KERNELS` picks the kernel set on wasm:
 *   auto   (default) native when the addon loads, else the pure wasm kernels;
 *   native the addon's kernels, or an error naming why they cannot load;
 *   wasm   tfjs-backend-wasm's own kernels only (as before native kernels existed).
 * `setKernels()` switches at run time (A/B tests in one process). The active set goes to
 * `emolab backend`, run.json (lib/runinfo) and the benchmark results.
 *
 * Threads: OpenBLAS runs `EMOLAB_BLAS_THREADS` threads (default 1). Set deliberately: the rest of a
 * training step (elementwise kernels) is single-threaded wasm, OpenBLAS's pthreads spin while they wait,
 * and the experiment grid already runs one worker per core (bench/NOTES.md: 2 BLAS threads gain ~6% on
 * the base step and take a second core). OPENBLAS_NUM_THREADS is set to the same value before the
 * library loads, so OpenBLAS never starts more threads than that.
 *
 * All access to tfjs internals is in ./tfjsInternals.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { repoRoot } from '../paths';
import { replaceWasmKernel, replacedWasmKernels, restoreWasmKernel, tensorHeap, type HeapKernel } from './tfjsInternals';

export type KernelRequest = 'auto' | 'native' | 'wasm';
export type KernelSet = 'native' | 'wasm';

/** What the addon exports (native/emolab_kernels.c). */
interface NativeAddon {
  abiVersion: number;
  sgemm(heap: Float32Array, aOff: number, bOff: number, cOff: number, batch: number, m: number, n: number, k: number, transA: number, transB: number, strideA: number, strideB: number): void;
  adamw(heap: Float32Array, pOff: number, gOff: number, mOff: number, vOff: number, size: number, beta1: number, omb1: number, beta2: number, omb2: number,
    sqrtBc2: number, eps: number, lrOverBc1: number, lrWd: number): void;
  sumsq(heap: Float32Array, spans: Float64Array): number;
  reduceSum(heap: Float32Array, xOff: number, outOff: number, outer: number, r: number, inner: number): void;
  setThreads(n: number): void;
  threads(): number;
  config(): string;
}

export interface KernelReport {
  /** The kernel set now active on wasm ('wasm' on other backends: nothing replaced). */
  active: KernelSet;
  requested: KernelRequest;
  /** wasm kernels replaced by native ones. */
  kernels: string[];
  /** OpenBLAS build string (openblas_get_config) and threads, when the addon is loaded. */
  blas?: string;
  blasThreads?: number;
  /** Why native kernels are not active (when they are not). */
  reason?: string;
}

export const ADDON_PATH = join(repoRoot, 'native', 'build', 'emolab_kernels.node');
const ADDON_ABI = 3;
const NATIVE_KERNELS = ['BatchMatMul', 'Sum', 'Identity'] as const;
/** Fused steps outside tfjs's kernels (lib/train/adamw uses them when native kernels are active). */
const NATIVE_FUSED = ['AdamW', 'GlobalNorm'] as const;

let addon: NativeAddon | undefined;
let addonError: string | undefined;
let report: KernelReport = { active: 'wasm', requested: 'auto', kernels: [], reason: 'not initialised (lib/backend initBackend on wasm sets the kernels)' };

export function parseKernelRequest(raw: string | undefined): KernelRequest {
  const v = (raw ?? 'auto').trim().toLowerCase();
  if (v === 'auto' || v === 'native' || v === 'wasm') return v;
  throw new EmolabError('backend', `EMOLAB_KERNELS must be one of auto, native, wasm; got "${raw}"`);
}

/** OpenBLAS threads asked for by EMOLAB_BLAS_THREADS (default 1). */
export function blasThreadsRequested(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.EMOLAB_BLAS_THREADS;
  if (raw === undefined || raw.trim() === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new EmolabError('backend', `EMOLAB_BLAS_THREADS must be an integer 1..64; got "${raw}"`);
  return n;
}

/** Load the addon once; undefined (with the reason kept) when it is not built or does not load. */
function loadAddon(): NativeAddon | undefined {
  if (addon || addonError) return addon;
  if (!existsSync(ADDON_PATH)) {
    addonError = `${ADDON_PATH} is not built (node native/build.mjs; needs gcc, Node headers and libopenblas-dev)`;
    return undefined;
  }
  const threads = blasThreadsRequested();
  // Read by OpenBLAS when the library loads: no more threads than asked for are ever started.
  process.env.OPENBLAS_NUM_THREADS = String(threads);
  try {
    const a = createRequire(join(repoRoot, 'package.json'))(ADDON_PATH) as NativeAddon;
    if (a.abiVersion !== ADDON_ABI) throw new Error(`addon ABI ${a.abiVersion}, this code needs ${ADDON_ABI}: rebuild (node native/build.mjs --force)`);
    a.setThreads(threads);
    addon = a;
  } catch (e) {
    addonError = `${ADDON_PATH} does not load: ${errorMessage(e).split('\n')[0]}`;
  }
  return addon;
}

/**
 * Where each output batch entry's A and B matrices start (in elements from each tensor's start), for
 * tf.matMul's broadcasting batch dimensions; `uniform` when one stride per operand describes them all
 * (one sgemm call for the whole batch).
 */
export function batchOffsets(aShape: number[], bShape: number[], aMatrix: number, bMatrix: number):
  { outBatch: number[]; uniform?: { batch: number; sa: number; sb: number }; a: number[]; b: number[] } {
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const n = outBatch.reduce((x, y) => x * y, 1);
  const rank = outBatch.length;
  const pad = (s: number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const [pa, pb] = [pad(aBatch), pad(bBatch)];
  const a: number[] = [];
  const b: number[] = [];
  const idx = new Array(rank).fill(0);
  for (let e = 0; e < n; e++) {
    let oa = 0;
    let ob = 0;
    for (let d = 0; d < rank; d++) {
      oa = oa * pa[d] + (pa[d] === 1 ? 0 : idx[d]);
      ob = ob * pb[d] + (pb[d] === 1 ? 0 : idx[d]);
    }
    a.push(oa * aMatrix);
    b.push(ob * bMatrix);
    for (let d = rank - 1; d >= 0; d--) { if (++idx[d] < outBatch[d]) break; idx[d] = 0; }
  }
  const stride = (o: number[]) => (o.length < 2 ? 0 : o[1] - o[0]);
  const isUniform = (o: number[], s: number) => o.every((x, i) => x === o[0] + i * s);
  const [sa, sb] = [stride(a), stride(b)];
  return { outBatch, a, b, uniform: isUniform(a, sa) && isUniform(b, sb) && a[0] === 0 && b[0] === 0 ? { batch: n, sa, sb } : undefined };
}

const batchMatMul: HeapKernel = ({ inputs, attrs, heap, fallback }) => {
  const { a, b } = inputs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return fallback();
  const ta = !!attrs.transposeA;
  const tb = !!attrs.transposeB;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb || m * n * k === 0) return fallback(); // shape errors and empty products stay tfjs's own
  const st = batchOffsets(a.shape, b.shape, m * k, k * n);
  if (st.a.length === 0) return fallback();
  const out = heap.output([...st.outBatch, m, n]);
  const aOff = heap.offset(a);
  const bOff = heap.offset(b);
  const cOff = heap.offset(out);
  const h = heap.f32();
  if (st.uniform) addon!.sgemm(h, aOff, bOff, cOff, st.uniform.batch, m, n, k, ta ? 1 : 0, tb ? 1 : 0, st.uniform.sa, st.uniform.sb);
  else for (let e = 0; e < st.a.length; e++) addon!.sgemm(h, aOff + st.a[e], bOff + st.b[e], cOff + e * m * n, 1, m, n, k, ta ? 1 : 0, tb ? 1 : 0, 0, 0);
  return out;
};

/**
 * Sum over a contiguous run of axes ([outer, r, inner] after merging) without wasm's transpose (its
 * Sum moves the reduced axes innermost first: the bias gradients' sum over rows copied every
 * activation). Other axis sets (non-contiguous) and non-float32 go to wasm's kernel.
 */
const sum: HeapKernel = ({ inputs, attrs, heap, fallback }) => {
  const { x } = inputs;
  if (x.dtype !== 'float32' || x.shape.length === 0) return fallback();
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((p, q) => p - q);
  if (axes.length === 0 || axes.some((a, i) => i > 0 && a !== axes[i - 1] + 1)) return fallback();
  const size = x.shape.reduce((p, q) => p * q, 1);
  if (size === 0) return fallback();
  const outer = x.shape.slice(0, axes[0]).reduce((p, q) => p * q, 1);
  const r = axes.reduce((p, a) => p * x.shape[a], 1);
  const inner = size / (outer * r);
  const keep = !!attrs.keepDims;
  const outShape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
  const out = heap.output(outShape);
  const xo = heap.offset(x);
  const oo = heap.offset(out);
  addon!.reduceSum(heap.f32(), xo, oo, outer, r, inner);
  return out;
};

/** Identity as a shared reference (no copy). tfjs clones every tensor it saves for the backward pass through Identity; wasm's copies the data. */
const identity: HeapKernel = ({ inputs, heap, fallback }) => {
  const { x } = inputs;
  if (x.dtype === 'string') return fallback();
  return heap.alias(x);
};

const HEAP_KERNELS: Record<(typeof NATIVE_KERNELS)[number], HeapKernel> = { BatchMatMul: batchMatMul, Sum: sum, Identity: identity };

/**
 * Make `request` the kernel set of the wasm backend (call after the wasm backend is set). `native` that
 * cannot load is an EmolabError; `auto` falls back to wasm and says why in the report.
 */
export function setKernels(request: KernelRequest = parseKernelRequest(process.env.EMOLAB_KERNELS)): KernelReport {
  if (tf.getBackend() !== 'wasm') {
    report = { active: 'wasm', requested: request, kernels: [], reason: `native kernels are for the wasm backend; running ${tf.getBackend()}` };
    return report;
  }
  if (request === 'wasm') {
    for (const name of replacedWasmKernels()) restoreWasmKernel(name);
    report = { active: 'wasm', requested: request, kernels: [], ...blasInfo(), reason: 'EMOLAB_KERNELS=wasm' };
    return report;
  }
  const a = loadAddon();
  if (!a) {
    if (request === 'native') {
      throw new EmolabError('backend', `EMOLAB_KERNELS=native cannot start: ${addonError}`, { hint: 'apt-get install gcc libopenblas-dev, then node native/build.mjs (npm ci runs it); or EMOLAB_KERNELS=wasm|auto' });
    }
    for (const name of replacedWasmKernels()) restoreWasmKernel(name);
    report = { active: 'wasm', requested: request, kernels: [], reason: addonError };
    return report;
  }
  for (const name of NATIVE_KERNELS) replaceWasmKernel(name, HEAP_KERNELS[name]);
  report = { active: 'native', requested: request, kernels: [...NATIVE_KERNELS, ...NATIVE_FUSED], ...blasInfo() };
  return report;
}

function blasInfo(): Pick<KernelReport, 'blas' | 'blasThreads'> {
  return addon ? { blas: addon.config(), blasThreads: addon.threads() } : {};
}

/** The active kernel set and what it replaced. */
export function kernelReport(): KernelReport {
  return report;
}

/** AdamW hyper-parameters of one update, as lib/train/adamw computes them. */
export interface AdamWStep { beta1: number; beta2: number; eps: number; bc1: number; bc2: number; lr: number; weightDecay: number }

/**
 * One fused AdamW update of `p` and its moments `m`, `v` in place (native kernels active, all dense
 * float32 wasm tensors, p/m/v not sharing memory with any other tensor). Returns false, having changed
 * nothing, when it cannot; the caller then runs the tf ops. Same operation order and float32 rounding
 * as lib/train/adamw's ops (test/accel/parity.test.ts compares them).
 */
export function fusedAdamW(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: AdamWStep): boolean {
  if (!nativeMatMul() || !addon || g.size !== p.size || m.size !== p.size || v.size !== p.size) return false;
  const h = tensorHeap([p, g, m, v], [true, false, true, true]);
  if (!h) return false;
  const [po, go, mo, vo] = h.offsets;
  addon.adamw(h.f32, po, go, mo, vo, p.size, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, Math.sqrt(s.bc2), s.eps, s.lr / s.bc1, s.lr * s.weightDecay);
  return true;
}

/** sqrt(sum of squares) over all of `tensors` in one native pass (double accumulation), or undefined when native kernels are off. */
export function fusedGlobalNorm(tensors: tf.Tensor[]): number | undefined {
  if (!nativeMatMul() || !addon) return undefined;
  const h = tensorHeap(tensors);
  if (!h) return undefined;
  const spans = new Float64Array(tensors.length * 2);
  tensors.forEach((t, i) => { spans[2 * i] = h.offsets[i]; spans[2 * i + 1] = t.size; });
  return Math.sqrt(addon.sumsq(h.f32, spans));
}

/** True when wasm's matrix products run natively (layers then use plain tf.matMul, see lib/models/layers). */
export function nativeMatMul(): boolean {
  return report.active === 'native' && tf.getBackend() === 'wasm';
}

/** One line: `kernels=native (BatchMatMul; OpenBLAS 0.3.21 ..., 1 thread)` or `kernels=wasm (why)`. */
export function describeKernels(r: KernelReport = report): string {
  if (r.active === 'native') return `kernels=native (${r.kernels.join(', ')}; ${r.blas ?? 'BLAS'}; ${r.blasThreads} BLAS thread${r.blasThreads === 1 ? '' : 's'})`;
  return `kernels=wasm${r.reason ? ` (${r.reason})` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Which matrix-product forms the layers use (lib/models/layers), chosen by measurement per kernel set

/**
 * The wasm workarounds in lib/models/layers and whether each is on:
 * - `untransposedGradient`: matMul2d's gradient transposes explicitly and multiplies untransposed
 *   (wasm's own kernel is 8-10x slower with a transpose flag);
 * - `blockDiagonalAttention`: attention as 2-D products against block-diagonal K and V (wasm's own
 *   batched product is ~10x slower per flop than its 2-D one), for up to 4 heads without attention dropout.
 */
export interface ProductChoice { untransposedGradient: boolean; blockDiagonalAttention: boolean }

/**
 * Measured on this machine (bench/NOTES.md, "Products by kernel set"; `npm run bench -- products`, all
 * variants interleaved, median process CPU ms per training step): on wasm's own kernels the untransposed
 * gradient wins (tiny 158 vs 310 ms with block-diagonal attention; base 3,335 vs 21,307 ms) and
 * block-diagonal attention wins up to 2 heads (layers BLOCK_DIAGONAL_MAX_HEADS); with OpenBLAS both lose
 * or tie (tiny 60.1 plain vs 62.7 untransposed vs 96-103 block-diagonal; base 893 vs 961 vs 2,039-2,114):
 * cblas_sgemm takes transpose flags and batches at full speed, so the explicit transposes and the
 * H-fold wasted block-diagonal work are pure cost.
 */
export const PRODUCTS_BY_KERNELS: Record<KernelSet, ProductChoice> = {
  wasm: { untransposedGradient: true, blockDiagonalAttention: true },
  native: { untransposedGradient: false, blockDiagonalAttention: false },
};

let productOverride: ProductChoice | undefined;

/** The product forms for the running backend and kernel set (non-wasm backends: none of the workarounds). */
export function productChoice(): ProductChoice {
  if (productOverride) return productOverride;
  if (tf.getBackend() !== 'wasm') return { untransposedGradient: false, blockDiagonalAttention: false };
  return PRODUCTS_BY_KERNELS[report.active];
}

/** Force a product choice (the products benchmark measures every combination); undefined restores the table. */
export function overrideProducts(choice: ProductChoice | undefined): void {
  productOverride = choice;
}
