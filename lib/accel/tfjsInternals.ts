/**
 * Every use of tfjs internals in emolab, in one file: the wasm backend's heap and tensor table, and the
 * kernel registry. Pinned to @tensorflow/tfjs 4.22.0 / tfjs-backend-wasm 4.22.0 (package.json).
 *
 * What it relies on (test/accel/internals.test.ts fails loudly when an upgrade changes any of it):
 * - `tf.backend()` on wasm is a BackendWasm with `wasm.HEAPF32` (a Float32Array over the whole wasm
 *   memory; memory growth replaces it, so it is read after every allocation), `dataIdMap.get(dataId)`
 *   returning `{ memoryOffset }` (a byte offset into that memory; tensors are dense, row-major,
 *   contiguous), and `makeOutput(shape, dtype)` allocating a new tensor's memory and returning its
 *   TensorInfo; `incRef(dataId)` adding a tensor that shares existing memory (what wasm's Reshape does).
 * - `tf.getKernel` / `tf.registerKernel` / `tf.unregisterKernel` (public API) and the kernel-function
 *   contract `{ inputs, backend, attrs } -> TensorInfo`; the engine looks kernels up on every call, so a
 *   replaced kernel takes effect immediately.
 * - For in-place updates outside a kernel (the fused AdamW step): a tensor's `dataIdMap` entry has
 *   `refCount`, the number of tensors sharing that memory (1: no other tensor sees a write).
 * - The BatchMatMul kernel's inputs `{ a, b }` and attrs `{ transposeA, transposeB }` (tf.matMul's
 *   semantics: batch dimensions broadcast, the last two are the matrix).
 */
import * as tf from '@tensorflow/tfjs';

/** The pieces of BackendWasm emolab uses. */
interface WasmBackendLike {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number | null; refCount?: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  incRef(dataId: object): void;
}

export type KernelFunc = (args: { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs: Record<string, unknown> }) => tf.TensorInfo;

/** A kernel that computes on the heap: gets the heap accessors and the original wasm kernel to fall back to. */
export type HeapKernel = (args: { inputs: Record<string, tf.TensorInfo>; attrs: Record<string, unknown>; heap: WasmHeap; fallback: () => tf.TensorInfo }) => tf.TensorInfo;

/** Heap access for one kernel call. */
export interface WasmHeap {
  /** The current Float32Array over the wasm memory (read it after the last `output()`). */
  f32(): Float32Array;
  /** Element (float) offset of a float32 tensor's data in `f32()`. */
  offset(t: tf.TensorInfo): number;
  /** Allocate a float32 output tensor. */
  output(shape: number[]): tf.TensorInfo;
  /** A new tensor sharing `t`'s memory (reference counted, as wasm's own Reshape does): no copy. */
  alias(t: tf.TensorInfo): tf.TensorInfo;
}

function asWasm(backend: unknown): WasmBackendLike {
  return backend as WasmBackendLike;
}

function heapOf(backend: unknown): WasmHeap {
  const b = asWasm(backend);
  return {
    f32: () => b.wasm.HEAPF32,
    offset: (t) => {
      const entry = b.dataIdMap.get(t.dataId as object);
      const off = entry?.memoryOffset;
      if (typeof off !== 'number' || off % 4 !== 0) throw new Error(`emolab accel: tensor has no float32 heap offset (memoryOffset ${off})`);
      return off >>> 2;
    },
    output: (shape) => b.makeOutput(shape, 'float32'),
    alias: (t) => { b.incRef(t.dataId as object); return { dataId: t.dataId, shape: t.shape, dtype: t.dtype }; },
  };
}

/**
 * Heap access to existing tensors outside a kernel, on the running wasm backend: the float offsets of
 * `tensors` in `f32`, or undefined when one is not a dense float32 heap tensor or, for those in
 * `exclusive`, when its memory is shared with another tensor (writing there in place would change both).
 */
export function tensorHeap(tensors: tf.Tensor[], exclusive: boolean[] = []): { f32: Float32Array; offsets: number[] } | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const b = tf.backend() as unknown as WasmBackendLike;
  const offsets: number[] = [];
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    if (t.dtype !== 'float32' || t.isDisposed) return undefined;
    const entry = b.dataIdMap.get(t.dataId as object);
    if (!entry || typeof entry.memoryOffset !== 'number' || entry.memoryOffset % 4 !== 0) return undefined;
    if (exclusive[i] && entry.refCount !== 1) return undefined;
    offsets.push(entry.memoryOffset >>> 2);
  }
  return { f32: b.wasm.HEAPF32, offsets };
}

const originals = new Map<string, tf.KernelConfig>();

/** Replace wasm's kernel `name` with `kernel` (the original stays available as its fallback). Idempotent. */
export function replaceWasmKernel(name: string, kernel: HeapKernel): void {
  if (!originals.has(name)) {
    const orig = tf.getKernel(name, 'wasm');
    if (!orig) throw new Error(`emolab accel: tfjs-backend-wasm has no ${name} kernel registered`);
    originals.set(name, orig);
  }
  const orig = originals.get(name)!;
  tf.unregisterKernel(name, 'wasm');
  const kernelFunc = ((args: Parameters<KernelFunc>[0]) => kernel({
    inputs: args.inputs, attrs: args.attrs, heap: heapOf(args.backend),
    fallback: () => (orig.kernelFunc as unknown as KernelFunc)(args),
  })) as unknown as tf.KernelFunc;
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc, setupFunc: orig.setupFunc, disposeFunc: orig.disposeFunc });
}

/** Put back wasm's own kernel `name` (no-op when it was never replaced). */
export function restoreWasmKernel(name: string): void {
  const orig = originals.get(name);
  if (!orig) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel(orig);
  originals.delete(name);
}

/** Names of the wasm kernels currently replaced. */
export function replacedWasmKernels(): string[] {
  return [...originals.keys()];
}

/**
 * Check, on the running wasm backend, everything this file relies on; returns the problems (empty when
 * all holds). Writes a known tensor, reads it back through the heap, and makes an output through
 * makeOutput that tfjs then reads.
 */
export function checkWasmInternals(): string[] {
  const problems: string[] = [];
  if (tf.getBackend() !== 'wasm') return [`the running backend is ${tf.getBackend()}, not wasm`];
  for (const fn of ['getKernel', 'registerKernel', 'unregisterKernel'] as const) {
    if (typeof (tf as unknown as Record<string, unknown>)[fn] !== 'function') problems.push(`tf.${fn} is not a function`);
  }
  const b = tf.backend() as unknown as Partial<WasmBackendLike>;
  if (!(b.wasm?.HEAPF32 instanceof Float32Array)) problems.push('backend.wasm.HEAPF32 is not a Float32Array');
  if (typeof b.dataIdMap?.get !== 'function') problems.push('backend.dataIdMap.get is not a function');
  if (typeof b.makeOutput !== 'function') problems.push('backend.makeOutput is not a function');
  if (typeof b.incRef !== 'function') problems.push('backend.incRef is not a function');
  const mm = tf.getKernel('BatchMatMul', 'wasm');
  if (!mm || typeof mm.kernelFunc !== 'function') problems.push('no BatchMatMul kernel registered for wasm');
  if (problems.length) return problems;
  const heap = heapOf(b);
  const x = tf.tensor1d([1.5, -2, 3.25, 7]);
  try {
    const off = heap.offset(x);
    const seen = Array.from(heap.f32().subarray(off, off + 4));
    if (seen.join(',') !== '1.5,-2,3.25,7') problems.push(`a tensor's data is not at dataIdMap.get(dataId).memoryOffset (read ${seen})`);
    const entry = (b as WasmBackendLike).dataIdMap.get(x.dataId as object);
    if (entry?.refCount !== 1) problems.push(`dataIdMap entry refCount is ${entry?.refCount} for a tensor nothing else shares (expected 1)`);
    const alias = tf.reshape(x, [2, 2]);
    if ((b as WasmBackendLike).dataIdMap.get(x.dataId as object)?.refCount !== 2) problems.push('refCount does not count a reshape sharing the memory (expected 2)');
    if (tensorHeap([x], [true]) !== undefined) problems.push('tensorHeap gave an exclusive offset for shared memory');
    alias.dispose();
    const shared = tf.engine().makeTensorFromTensorInfo(heap.alias(x));
    if ((b as WasmBackendLike).dataIdMap.get(x.dataId as object)?.refCount !== 2 || shared.dataSync().join(',') !== '1.5,-2,3.25,7') problems.push('alias (incRef) does not share the memory with a counted reference');
    shared.dispose();
    if ((b as WasmBackendLike).dataIdMap.get(x.dataId as object)?.refCount !== 1) problems.push('disposing an alias does not release its reference');
    if (tensorHeap([x], [true])?.offsets[0] !== off) problems.push('tensorHeap does not give the offset of an unshared tensor');
    const info = heap.output([2, 2]);
    if (!info || !info.dataId || info.shape.join(',') !== '2,2' || info.dtype !== 'float32') problems.push('makeOutput did not return a TensorInfo of the asked shape/dtype');
    else {
      const o = heap.offset(info);
      heap.f32().set([4, 3, 2, 1], o);
      const t = tf.engine().makeTensorFromTensorInfo(info);
      const back = Array.from(t.dataSync());
      t.dispose();
      if (back.join(',') !== '4,3,2,1') problems.push(`a tensor made by makeOutput does not read what was written to its heap offset (read ${back})`);
    }
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  } finally {
    x.dispose();
  }
  return problems;
}
