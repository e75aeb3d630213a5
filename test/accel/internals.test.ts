/**
 * What lib/accel/tfjsInternals.ts relies on in tfjs (the wasm heap, the tensor table, makeOutput, the
 * kernel registry). A tfjs upgrade that changes any of it fails here, by name, before the native
 * kernels compute on a wrong address.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, tf } from '../../lib/backend';
import { checkWasmInternals, replaceWasmKernel, replacedWasmKernels, restoreWasmKernel } from '../../lib/accel/tfjsInternals';
import { repoRoot } from '../../lib/paths';

await initBackend('wasm', 'wasm');

test('the wasm backend internals used by lib/accel are as expected', () => {
  assert.deepEqual(checkWasmInternals(), []);
});

test('the pinned tfjs versions are the ones tfjsInternals.ts was written against', () => {
  const pj = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const src = readFileSync(join(repoRoot, 'lib', 'accel', 'tfjsInternals.ts'), 'utf8');
  for (const pkg of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']) {
    const v = pj.dependencies[pkg];
    assert.ok(src.includes(`${pkg.split('/')[1]} ${v}`), `${pkg} is ${v} in package.json, but tfjsInternals.ts was checked against another version: re-check it and update its header`);
  }
  assert.equal(tf.version.tfjs, pj.dependencies['@tensorflow/tfjs']);
});

test('a replaced wasm kernel computes on the heap and its original comes back', () => {
  const a = tf.tensor1d([1, 2, 3]);
  const b = tf.tensor1d([10, 20, 30]);
  assert.deepEqual(Array.from(tf.add(a, b).dataSync()), [11, 22, 33]);
  // Add replaced by a heap kernel computing a - b (to see that ours ran), falling back for int32.
  replaceWasmKernel('Add', ({ inputs, heap, fallback }) => {
    const { a: x, b: y } = inputs;
    if (x.dtype !== 'float32' || x.shape.join() !== y.shape.join()) return fallback();
    const out = heap.output(x.shape);
    const h = heap.f32();
    const [ox, oy, oo] = [heap.offset(x), heap.offset(y), heap.offset(out)];
    for (let i = 0; i < x.shape[0]; i++) h[oo + i] = h[ox + i] - h[oy + i];
    return out;
  });
  try {
    assert.deepEqual(replacedWasmKernels(), ['Add']);
    assert.deepEqual(Array.from(tf.add(a, b).dataSync()), [-9, -18, -27]);
    assert.deepEqual(Array.from(tf.add(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32')).dataSync()), [4, 6]);
  } finally {
    restoreWasmKernel('Add');
  }
  assert.deepEqual(replacedWasmKernels(), []);
  assert.deepEqual(Array.from(tf.add(a, b).dataSync()), [11, 22, 33]);
  tf.dispose([a, b]);
});
