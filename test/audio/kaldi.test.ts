import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { kaldiFbank, kaldiMfcc, melBanks, numFrames, readF32, dctMatrix } from '../../lib/audio/index';
import { readSafetensors } from '../../lib/store/safetensors';
import { fixturesDir } from './shared';

const dir = (): string => join(fixturesDir(), 'fbank');

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('kaldiFbank matches torchaudio.compliance.kaldi.fbank (80 bins) to < 1e-3', () => {
  const x = readF32(join(dir(), 'input.f32'));
  const ref = readSafetensors(join(dir(), 'features.safetensors'), ['kaldi_fbank80']).tensors.kaldi_fbank80;
  const fb = kaldiFbank(x, { numMelBins: 80 });
  assert.deepEqual([fb.frames, fb.dims], ref.shape);
  const diff = maxAbsDiff(fb.data, ref.data as Float32Array);
  assert.ok(diff < 1e-3, `max abs diff ${diff}`);
});

test('kaldiMfcc matches torchaudio.compliance.kaldi.mfcc (13 ceps, 23 bins) to < 1e-2', () => {
  const x = readF32(join(dir(), 'input.f32'));
  const ref = readSafetensors(join(dir(), 'features.safetensors'), ['kaldi_mfcc13']).tensors.kaldi_mfcc13;
  const m = kaldiMfcc(x);
  assert.deepEqual([m.frames, m.dims], ref.shape);
  const diff = maxAbsDiff(m.data, ref.data as Float32Array);
  assert.ok(diff < 1e-2, `max abs diff ${diff}`);
});

test('frame count follows snip_edges; shorter than one window gives 0 frames, no NaN', () => {
  assert.equal(numFrames(16000, 400, 160), 98);
  assert.equal(numFrames(399, 400, 160), 0);
  assert.equal(numFrames(400, 400, 160), 1);
  assert.equal(kaldiFbank(new Float32Array(399)).frames, 0);
  const silent = kaldiFbank(new Float32Array(1600));
  assert.equal(silent.frames, 8);
  for (const v of silent.data) assert.ok(Math.abs(v - Math.log(1.1920928955078125e-7)) < 1e-5, 'digital silence sits at log(eps)');
});

test('a pure tone lights the mel bin whose centre is nearest to it', () => {
  const sr = 16000, f = 1000;
  const x = new Float32Array(sr / 2);
  for (let i = 0; i < x.length; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * f * i) / sr);
  const fb = kaldiFbank(x);
  const t = 10;
  const rowv = Array.from(fb.data.subarray(t * 80, t * 80 + 80));
  const peak = rowv.indexOf(Math.max(...rowv));
  const mel = (hz: number) => 1127 * Math.log(1 + hz / 700);
  const delta = (mel(8000) - mel(20)) / 81;
  const expected = Math.round((mel(f) - mel(20)) / delta) - 1;
  assert.ok(Math.abs(peak - expected) <= 1, `peak bin ${peak}, expected ~${expected}`);
});

test('mel filters are triangles that peak at 1 and DCT basis is orthonormal', () => {
  const filters = melBanks(23, 512, 16000);
  for (const f of filters) {
    const max = Math.max(...f.weights);
    assert.ok(max > 0.5 && max <= 1 + 1e-12);
  }
  const D = dctMatrix(23, 23);
  for (let a = 0; a < 23; a++) {
    for (let b = 0; b < 23; b++) {
      let s = 0;
      for (let n = 0; n < 23; n++) s += D[n * 23 + a] * D[n * 23 + b];
      assert.ok(Math.abs(s - (a === b ? 1 : 0)) < 1e-9);
    }
  }
});
