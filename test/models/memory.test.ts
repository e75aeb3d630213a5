import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../lib/backend';
import { EmolabError } from '../../lib/errors';
import { ENCODER_PRESETS, createModel, countParams, disposeParams, type HeadSpec } from '../../lib/models';
import {
  WASM_HEAP_MAX, checkTrainingFits, countModelParams, estimateTrainingMemory, heapLimitBytes, type TrainingMemoryInput,
} from '../../lib/models/memory';

await initBackend(process.env.EMOLAB_BACKEND === 'cpu' ? 'cpu' : 'wasm');

const SER: HeadSpec = { kind: 'utterance', name: 'ser', classes: 7, pooling: 'attention' };
const SETTINGS = { batchSize: 'finetune.hyper.batchSize', frames: 'finetune.hyper.maxFrames', encoder: 'encoder.preset' };
const input = (over: Partial<TrainingMemoryInput> = {}): TrainingMemoryInput =>
  ({ encoder: ENCODER_PRESETS.base, heads: [SER], batchSize: 16, frames: 800, backend: 'wasm', ...over });

test('the parameter part is the exact count of createModel variables x 4 bytes', () => {
  const heads: HeadSpec[][] = [[], [SER], [{ kind: 'segment', name: 'energy' }, { kind: 'frame', name: 'k', classes: 50 }, { kind: 'utterance', name: 'u', classes: 4, pooling: 'attention', attentionDim: 16 }]];
  for (const preset of ['tiny', 'small'] as const) {
    for (const h of heads) {
      const model = createModel({ encoder: ENCODER_PRESETS[preset], heads: h }, 1);
      const n = countParams(model.params);
      disposeParams(model.params);
      assert.equal(countModelParams(ENCODER_PRESETS[preset], h), n);
      const est = estimateTrainingMemory(input({ encoder: ENCODER_PRESETS[preset], heads: h }));
      assert.equal(est.parameterCount, n);
      assert.equal(est.breakdown.parameters, n * 4);
      assert.equal(est.breakdown.optimizer, 4 * n * 4); // AdamW m, v + gradients + clipped gradients
    }
  }
  // base without building it (4.6 M parameters): the same formula, checked by hand.
  const b = ENCODER_PRESETS.base;
  const conv = (5 * 80 * 256 + 256 + 512) + (5 * 256 * 256 + 256 + 512);
  const layer = 4 * 256 + 4 * (256 * 256 + 256) + (256 * 1024 + 1024) + (1024 * 256 + 256);
  assert.equal(countModelParams(b), conv + (256 * 256 + 256) + 4 * layer + 512);
});

test('the breakdown sums to bytes and every part is positive', () => {
  const e = estimateTrainingMemory(input());
  const sum = Object.values(e.breakdown).reduce((a, b) => a + b, 0);
  assert.equal(e.bytes, sum);
  for (const v of Object.values(e.breakdown)) assert.ok(v > 0);
  assert.equal(e.encodedFrames, 400);
  assert.ok(e.bytes > e.unscaledBytes);
});

test('the estimate grows about linearly in batch and super-linearly in frames', () => {
  const at = (batchSize: number, frames: number, backend: TrainingMemoryInput['backend'] = 'cpu') =>
    estimateTrainingMemory(input({ batchSize, frames, backend }));
  // cpu (batched attention): activations exactly linear in B.
  const a4 = at(4, 400), a8 = at(8, 400);
  const fixed = a4.breakdown.parameters + a4.breakdown.optimizer;
  assert.ok(Math.abs((a8.bytes - fixed) / (a4.bytes - fixed) - 2) < 1e-6);
  // wasm: the block-diagonal attention's per-clip slice gradients add a B^2 term (measured: small 4 -> 8 x400 = 2.26x).
  const w4 = at(4, 400, 'wasm'), w8 = at(8, 400, 'wasm');
  const ratio = (w8.bytes - fixed) / (w4.bytes - fixed);
  assert.ok(ratio > 2 && ratio < 2.5, `wasm batch ratio ${ratio}`);
  // Doubling frames more than doubles the activation part (attention is quadratic in T').
  for (const backend of ['cpu', 'wasm'] as const) {
    const t1 = at(8, 400, backend), t2 = at(8, 800, backend);
    assert.ok(t2.bytes - fixed > 2 * (t1.bytes - fixed), backend);
    // scores [B, H, T', T'] quadruple; wasm's block-diagonal K and V ([B, d, H*T']) only double.
    assert.ok(t2.breakdown.attention > (backend === 'cpu' ? 3.99 : 2.5) * t1.breakdown.attention, backend);
  }
  // Monotone.
  assert.ok(at(8, 801).bytes >= at(8, 800).bytes);
  assert.ok(at(9, 800).bytes > at(8, 800).bytes);
});

test('heap limits: wasm 70% of 4 GiB, host a share of total memory, webgpu unknown', () => {
  assert.equal(heapLimitBytes('wasm'), Math.floor(WASM_HEAP_MAX * 0.7));
  assert.ok(heapLimitBytes('wasm') < 3 * 2 ** 30 && heapLimitBytes('wasm') > 2.5 * 2 ** 30);
  assert.equal(heapLimitBytes('cpu', 16 * 2 ** 30), 8 * 2 ** 30);
  assert.equal(heapLimitBytes('webgpu'), Infinity);
});

test('base at batch 16 x 800 frames is refused on wasm, naming the settings; tiny at batch 16 fits', () => {
  let err: unknown;
  try {
    checkTrainingFits({ ...input(), what: 'finetune', settingNames: SETTINGS });
  } catch (e) { err = e; }
  assert.ok(err instanceof EmolabError, String(err));
  assert.equal(err.stage, 'train');
  assert.match(err.message, /finetune: the base encoder at batch 16 x 800 frames needs about [\d.]+ GiB on wasm, more than the 2\.8 GiB its heap can use/);
  assert.match(err.hint!, /lower finetune\.hyper\.batchSize \(16 -> \d+ fits\)/);
  assert.match(err.hint!, /cap finetune\.hyper\.maxFrames/);
  assert.match(err.hint!, /encoder\.preset \(tiny fits\)/);
  // The suggested batch really fits, and one more does not.
  const b = Number(/16 -> (\d+) fits/.exec(err.hint!)![1]);
  assert.ok(b >= 1 && b < 16);
  const limit = heapLimitBytes('wasm');
  assert.ok(estimateTrainingMemory(input({ batchSize: b })).bytes <= limit);
  assert.ok(estimateTrainingMemory(input({ batchSize: b + 1 })).bytes > limit);
  // The suggested frame cap fits at batch 16.
  const t = Number(/clips up to (\d+) frames/.exec(err.hint!)![1]);
  assert.ok(estimateTrainingMemory(input({ frames: t })).bytes <= limit);
  assert.ok(estimateTrainingMemory(input({ frames: t + 1 })).bytes > limit);

  const ok = checkTrainingFits({ ...input({ encoder: ENCODER_PRESETS.tiny }), what: 'finetune', settingNames: SETTINGS });
  assert.ok(ok.bytes <= ok.limitBytes);
  // small at batch 16 x 800 (crashed on EmoDB) is refused too; on webgpu nothing is refused.
  assert.throws(() => checkTrainingFits({ ...input({ encoder: ENCODER_PRESETS.small }), what: 'pretext', settingNames: SETTINGS }), /small encoder at batch 16/);
  checkTrainingFits({ ...input({ backend: 'webgpu' }), what: 'finetune', settingNames: SETTINGS });
});

test('when not even batch 1 fits, the hint says so', () => {
  assert.throws(
    () => checkTrainingFits({ ...input({ frames: 20000 }), what: 'finetune', settingNames: SETTINGS }),
    (e: unknown) => e instanceof EmolabError && /not even batch 1 fits at 20000 frames/.test(e.hint!),
  );
});

test('bad inputs are refused', () => {
  assert.throws(() => estimateTrainingMemory(input({ batchSize: 0 })), EmolabError);
  assert.throws(() => estimateTrainingMemory(input({ frames: NaN })), EmolabError);
});
