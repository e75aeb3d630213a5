import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { initBackend, parseBackendRequest, describeBackend } from '../lib/backend';
import { EmolabError } from '../lib/errors';

/** One Adam step of a tiny two-layer model on a fixed batch; returns [loss before, loss after]. */
async function tinyTrainStep(): Promise<[number, number]> {
  const x = tf.tensor2d([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const y = tf.tensor2d([[0], [1], [1], [0]]);
  const w1 = tf.variable(tf.tensor2d([[0.5, -0.4, 0.3], [0.2, 0.6, -0.7]]));
  const b1 = tf.variable(tf.zeros([3]));
  const w2 = tf.variable(tf.tensor2d([[0.3], [-0.5], [0.8]]));
  const loss = () => tf.losses.sigmoidCrossEntropy(y, tf.matMul(tf.tanh(tf.add(tf.matMul(x, w1), b1)), w2)) as tf.Scalar;
  const before = (await loss().data())[0];
  const opt = tf.train.adam(0.1);
  for (let i = 0; i < 5; i++) opt.minimize(loss);
  const after = (await loss().data())[0];
  tf.dispose([x, y, w1, b1, w2]);
  opt.dispose();
  return [before, after];
}

for (const name of ['wasm', 'cpu'] as const) {
  test(`${name} backend starts and trains a tiny model`, async () => {
    const r = await initBackend(name);
    assert.equal(r.name, name);
    assert.equal(tf.getBackend(), name);
    if (name === 'wasm') assert.equal(r.simd, true);
    const [before, after] = await tinyTrainStep();
    assert.ok(Number.isFinite(after));
    assert.ok(after < before, `loss should fall: ${before} -> ${after}`);
    assert.match(describeBackend(r), new RegExp(`backend=${name}`));
  });
}

test('webgpu: runs where a GPU exists, else fails clearly (never a silent fallback)', async () => {
  try {
    const r = await initBackend('webgpu');
    assert.equal(r.name, 'webgpu');
    assert.ok(r.adapter);
  } catch (e) {
    assert.ok(e instanceof EmolabError);
    assert.match(e.message, /EMOLAB_BACKEND=webgpu cannot start/);
    assert.match(e.message, /adapter|Vulkan|GPU/);
  }
});

test('wasm reports its kernel set (EMOLAB_KERNELS) in the report, the one-line description and run info', async () => {
  const { runInfo } = await import('../lib/runinfo');
  const r = await initBackend('wasm', 'wasm');
  assert.equal(r.kernels?.active, 'wasm');
  assert.match(describeBackend(r), /kernels=wasm \(EMOLAB_KERNELS=wasm\)/);
  assert.equal(runInfo().kernels?.active, 'wasm');
  const a = await initBackend('wasm', 'auto');
  assert.equal(a.kernels?.requested, 'auto');
  assert.match(describeBackend(a), a.kernels?.active === 'native' ? /kernels=native \(BatchMatMul, Sum, Identity, AdamW, GlobalNorm; OpenBLAS/ : /kernels=wasm \(.*not built/);
  assert.deepEqual(runInfo().kernels, a.kernels);
  await initBackend('wasm', 'wasm');
});

test('EMOLAB_BACKEND values are validated', () => {
  assert.equal(parseBackendRequest(undefined), 'auto');
  assert.equal(parseBackendRequest(' WASM '), 'wasm');
  assert.throws(() => parseBackendRequest('cuda'), /must be one of auto, tensorflow, webgpu, wasm, cpu/);
});

test('auto skips webgpu without starting Dawn when no Vulkan driver is installed', async () => {
  const { noVulkanDriver } = await import('../lib/backend');
  if (process.platform !== 'linux') return;
  assert.equal(noVulkanDriver({ VK_DRIVER_FILES: '/x/nvidia_icd.json' }), undefined);
  const none = noVulkanDriver({ XDG_DATA_DIRS: '/nonexistent-a:/nonexistent-b' });
  const etc = '/etc/vulkan/icd.d';
  if (existsSync(etc) && readdirSync(etc).some((f) => f.endsWith('.json'))) return; // a system-wide driver: nothing more to check
  assert.match(none ?? '', /no Vulkan driver .*\/nonexistent-a\/vulkan\/icd\.d/);
});

test('the backend line keeps every skip reason whole (first line of each)', () => {
  const long = `no Vulkan driver found: no ICD manifest in ${['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d'].join(', ')}; VK_DRIVER_FILES unset`;
  const line = describeBackend({
    name: 'wasm', requested: 'auto', tfjsVersion: tf.version.tfjs, simd: true, threads: 1,
    skipped: [{ name: 'tensorflow', reason: 'x is not installed\n    at stack frame' }, { name: 'webgpu', reason: long }],
  });
  assert.ok(line.includes(`webgpu (${long})`), line);
  assert.ok(line.includes('tensorflow (x is not installed)'), line);
  assert.doesNotMatch(line, /stack frame/);
});
