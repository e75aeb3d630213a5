/**
 * The one place that picks the tfjs backend.
 *
 * `EMOLAB_BACKEND=auto` (default) tries, in order: `tensorflow` (tfjs-node-gpu / tfjs-node, when
 * they are installed and load) > `webgpu` (Dawn through the `webgpu` package, when a GPU adapter is
 * found) > `wasm` (SIMD) > `cpu`. An explicit `EMOLAB_BACKEND=<name>` that cannot start is an error,
 * never a silent fallback.
 *
 * Known gaps designed around elsewhere (see lib/models): wasm has no Conv2DBackpropFilter (train
 * convolutions as im2col + matMul), no FFT/complex kernels (features are computed in plain
 * TypeScript, lib/audio), a slow `tf.layers.layerNormalization` (use the tf.moments-based
 * `layerNorm` in lib/models), and it runs single-threaded under Node.
 *
 * On wasm, `EMOLAB_KERNELS=auto|native|wasm` (second argument) decides whether the OpenBLAS kernels of
 * lib/accel replace wasm's matrix product (default auto: when native/build.mjs built them).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { EmolabError, errorMessage } from './errors';
import { repoRoot } from './paths';
import { describeKernels, parseKernelRequest, setKernels, type KernelReport, type KernelRequest } from './accel/index';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendRequest = BackendName | 'auto';

export interface BackendReport {
  /** The backend tfjs now runs on. */
  name: BackendName;
  /** What was asked for (EMOLAB_BACKEND or the argument). */
  requested: BackendRequest;
  tfjsVersion: string;
  /** GPU adapter description (webgpu) or device list (tensorflow). */
  adapter?: string;
  /** wasm only: whether the SIMD build is in use. */
  simd?: boolean;
  /** Threads the backend computes with. */
  threads?: number;
  /** Why each better backend was skipped under `auto`. */
  skipped: { name: BackendName; reason: string }[];
  /** wasm: which kernels run natively (lib/accel; EMOLAB_KERNELS). */
  kernels?: KernelReport;
}

const ORDER: BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];
const requireHere = createRequire(join(repoRoot, 'package.json'));
let current: BackendReport | undefined;

export function parseBackendRequest(raw: string | undefined): BackendRequest {
  const v = (raw ?? 'auto').trim().toLowerCase();
  if (v === 'auto' || (ORDER as string[]).includes(v)) return v as BackendRequest;
  throw new EmolabError('backend', `EMOLAB_BACKEND must be one of auto, ${ORDER.join(', ')}; got "${raw}"`);
}

/**
 * Start the backend named by `request` (default: EMOLAB_BACKEND, else auto) and report it.
 * Idempotent: a second call with the same request returns the first report.
 */
export async function initBackend(
  request: BackendRequest = parseBackendRequest(process.env.EMOLAB_BACKEND),
  kernels: KernelRequest = parseKernelRequest(process.env.EMOLAB_KERNELS),
): Promise<BackendReport> {
  if (current && (request === 'auto' || request === current.name)) {
    if (current.name === 'wasm' && current.kernels?.requested !== kernels) current = { ...current, kernels: setKernels(kernels) };
    return current;
  }
  const skipped: BackendReport['skipped'] = [];
  const candidates = request === 'auto' ? ORDER : [request];
  for (const name of candidates) {
    let started: BackendReport;
    try {
      if (request === 'auto' && name === 'webgpu') {
        const why = noVulkanDriver();
        if (why) throw new Error(why);
      }
      const extra = await START[name]();
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      started = { name, requested: request, tfjsVersion: tf.version.tfjs, skipped, ...extra };
    } catch (e) {
      if (request !== 'auto') {
        throw new EmolabError('backend', `EMOLAB_BACKEND=${name} cannot start: ${errorMessage(e)}`, { hint: HINTS[name] });
      }
      skipped.push({ name, reason: errorMessage(e) });
      continue;
    }
    // Outside the try: EMOLAB_KERNELS=native that cannot load is its own error, not a reason to skip wasm.
    current = name === 'wasm' ? { ...started, kernels: setKernels(kernels) } : started;
    return current;
  }
  throw new EmolabError('backend', `no tfjs backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** The report of the running backend (after initBackend). */
export function backendReport(): BackendReport | undefined {
  return current;
}

/** One line for notebooks, logs and benchmark output. */
export function describeBackend(r: BackendReport): string {
  const parts = [`backend=${r.name}`, `tfjs=${r.tfjsVersion}`];
  if (r.adapter) parts.push(`adapter=${r.adapter}`);
  if (r.simd !== undefined) parts.push(`simd=${r.simd}`);
  if (r.threads !== undefined) parts.push(`threads=${r.threads}`);
  if (r.kernels) parts.push(describeKernels(r.kernels));
  // Each reason's first line, whole: the reasons are worded short where they are made (a cut
  // message reads as a broken one); a multi-line error keeps its first line here, all of it in `skipped`.
  if (r.requested === 'auto' && r.skipped.length) parts.push(`skipped: ${r.skipped.map((s) => `${s.name} (${s.reason.split('\n')[0].trim()})`).join(', ')}`);
  return parts.join('  ');
}

const HINTS: Record<BackendName, string> = {
  tensorflow: 'install @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node with internet access (their install step downloads libtensorflow); or use EMOLAB_BACKEND=webgpu|wasm|cpu',
  webgpu: 'needs a GPU with a Vulkan driver (libvulkan1 and the vendor ICD, e.g. VK_DRIVER_FILES=/usr/share/vulkan/icd.d/nvidia_icd.json); use EMOLAB_BACKEND=wasm or cpu on machines without one',
  wasm: 'reinstall node_modules (npm ci); @tensorflow/tfjs-backend-wasm must contain dist/*.wasm',
  cpu: 'the pure-JS backend ships with @tensorflow/tfjs; reinstall node_modules',
};

/**
 * Why Dawn cannot find a GPU here, decided without starting it (a start prints Vulkan warnings on
 * every machine without a GPU): no Vulkan driver manifest (ICD) in the loader's standard folders
 * and none named by VK_DRIVER_FILES / VK_ICD_FILENAMES. Undefined when a driver may be present.
 * Used under `auto` only; an explicit EMOLAB_BACKEND=webgpu always tries Dawn.
 */
export function noVulkanDriver(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (process.platform !== 'linux') return undefined;
  if (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES || env.VK_ADD_DRIVER_FILES) return undefined;
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter(Boolean);
  const dirs = ['/etc/vulkan/icd.d', ...dataDirs.map((d) => join(d, 'vulkan', 'icd.d'))];
  const found = dirs.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));
  return found ? undefined : `no Vulkan driver found: no ICD manifest in ${dirs.join(', ')}; VK_DRIVER_FILES unset`;
}

type Starter = () => Promise<Partial<BackendReport>>;

const START: Record<BackendName, Starter> = {
  async tensorflow() {
    let lastErr: unknown;
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        requireHere.resolve(pkg);
      } catch {
        lastErr = new Error(`${pkg} is not installed`);
        continue;
      }
      try {
        await import(pkg);
      } catch (e) {
        lastErr = e;
        continue;
      }
      // package.json overrides map tfjs-node to plain tfjs (for danfojs): only a real binding registers "tensorflow".
      if (tf.findBackendFactory('tensorflow')) return { adapter: pkg };
      lastErr = new Error(`${pkg} is package.json's plain-tfjs stand-in, no native binding`);
    }
    throw lastErr ?? new Error('tfjs-node is not installed');
  },

  async webgpu() {
    const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
    const hadNavigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    let installed = false;
    if (!g.navigator?.gpu) {
      installed = true;
      // Dawn's globals and navigator.gpu must exist before tfjs-backend-webgpu is imported:
      // it registers itself at import time only when navigator.gpu is there.
      const dawn = (await import('webgpu')) as unknown as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
      Object.assign(globalThis, dawn.globals);
      const gpu = dawn.create([]);
      if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
      else Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: `Node.js/${process.versions.node}` }, configurable: true, writable: true });
    }
    const adapter = await g.navigator!.gpu!.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      // Leave no half-made browser globals behind: other code (MediaPipe in lib/face) decides
      // what to shim by whether `navigator` exists.
      if (installed) {
        if (hadNavigator) Object.defineProperty(globalThis, 'navigator', hadNavigator);
        else delete (globalThis as { navigator?: unknown }).navigator;
      }
      throw new Error('no WebGPU adapter found (no GPU, or no Vulkan driver visible to Dawn)');
    }
    const info = (adapter as unknown as { info?: { vendor?: string; architecture?: string; device?: string; description?: string } }).info;
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!tf.findBackendFactory('webgpu')) throw new Error('@tensorflow/tfjs-backend-webgpu did not register (navigator.gpu missing at import time)');
    const adapterName = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'unknown adapter';
    return { adapter: adapterName };
  },

  async wasm() {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dist = dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dist + '/');
    // Node has no Worker from blob: URLs, so the threaded build cannot start: use SIMD, one thread.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
    return { simd, threads: 1 };
  },

  async cpu() {
    return { threads: 1 };
  },
};

export { tf };
