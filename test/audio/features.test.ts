import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deltas, featureMatrix, frameEnergyDb, kaldiFbank, kaldiLogEnergy, meanVarStats, speakerMvn, utteranceMvn, withDeltas, yinPitch, column,
} from '../../lib/audio/index';
import { tone } from './shared';

test('frameEnergyDb: a sine of amplitude A sits at 20 log10(A / sqrt 2) dBFS; silence at the floor', () => {
  const e = frameEnergyDb(tone([440], [0.5], 0.5));
  assert.equal(e.length, kaldiFbank(tone([440], [0.5], 0.5)).frames, 'same grid as the filterbank');
  const expected = 20 * Math.log10(0.5 / Math.SQRT2);
  for (const v of e) assert.ok(Math.abs(v - expected) < 0.1, `${v} vs ${expected}`);
  const s = frameEnergyDb(new Float32Array(8000));
  for (const v of s) assert.equal(v, -100);
  const quieter = frameEnergyDb(tone([440], [0.05], 0.5));
  assert.ok(Math.abs(quieter[5] - e[5] + 20) < 0.1, '10x smaller amplitude = 20 dB lower');
});

test('kaldiLogEnergy is ln of the frame energy at int16 scale', () => {
  const x = tone([300], [0.25], 0.2);
  const le = kaldiLogEnergy(x);
  const expected = Math.log(400 * (0.25 * 32768) ** 2 / 2);
  assert.ok(Math.abs(le[3] - expected) < 0.02, `${le[3]} vs ${expected}`);
});

test('yinPitch finds the F0 of harmonic tones from 62 to 480 Hz within 0.5%', () => {
  for (const f0 of [62, 98, 123.4, 220, 333, 480]) {
    const x = tone([f0, 2 * f0, 3 * f0], [0.5, 0.3, 0.2], 1);
    const p = yinPitch(x);
    assert.equal(p.f0.length, 98);
    const mid = p.f0.slice(5, 90);
    for (const v of mid) assert.ok(Math.abs(v - f0) / f0 < 0.005, `F0 ${f0}: got ${v}`);
    assert.ok(p.voiced.slice(5, 90).every((v) => v === 1));
    assert.ok(p.periodicity[50] > 0.9);
  }
});

test('yinPitch: a tone whose fundamental is missing still gives its F0; noise and silence are unvoiced', () => {
  const missing = yinPitch(tone([400, 600, 800], [0.3, 0.3, 0.3], 0.5));
  assert.ok(Math.abs(missing.f0[20] - 200) < 2, `missing fundamental: ${missing.f0[20]}`);
  let seed = 7;
  const noise = new Float32Array(16000).map(() => { seed = (seed * 1103515245 + 12345) % 2147483648; return (seed / 2147483648 - 0.5) * 0.5; });
  const pn = yinPitch(noise);
  const voicedFrac = pn.voiced.reduce((a, b) => a + b, 0) / pn.voiced.length;
  assert.ok(voicedFrac < 0.1, `white noise voiced fraction ${voicedFrac}`);
  const ps = yinPitch(new Float32Array(16000));
  assert.ok(ps.f0.every((v) => v === 0) && ps.voiced.every((v) => v === 0));
  assert.equal(yinPitch(new Float32Array(100)).f0.length, 0);
});

test('deltas of a linear ramp equal its slope away from the edges; order-2 doubles dims thrice', () => {
  const T = 20;
  const m = featureMatrix(T, 2, Float32Array.from({ length: T * 2 }, (_, i) => (i % 2 === 0 ? 3 * Math.floor(i / 2) : 5)));
  const d = deltas(m);
  for (let t = 2; t < T - 2; t++) {
    assert.ok(Math.abs(d.data[t * 2] - 3) < 1e-6);
    assert.ok(Math.abs(d.data[t * 2 + 1]) < 1e-6);
  }
  assert.ok(d.data[0] < 3, 'edge replicated: smaller slope at the start');
  const w = withDeltas(m, 2);
  assert.equal(w.dims, 6);
  assert.equal(w.data[4 * 6 + 2], d.data[4 * 2]);
});

test('utterance and speaker MVN give zero mean and unit variance over the pooled frames', () => {
  const a = featureMatrix(4, 1, Float32Array.from([1, 2, 3, 4]));
  const b = featureMatrix(2, 1, Float32Array.from([10, 20]));
  const u = utteranceMvn(a);
  const s = meanVarStats([u]);
  assert.ok(Math.abs(s.mean[0]) < 1e-7 && Math.abs(s.std[0] - 1) < 1e-6);
  const [na, nb, nc] = speakerMvn([{ speaker: 'x', features: a }, { speaker: 'x', features: b }, { speaker: 'y', features: b }]);
  const pooled = meanVarStats([na, nb]);
  assert.ok(Math.abs(pooled.mean[0]) < 1e-6 && Math.abs(pooled.std[0] - 1) < 1e-6);
  assert.deepEqual(Array.from(column(nc, 0)).map((v) => Math.round(v)), [-1, 1]);
  const constant = utteranceMvn(featureMatrix(3, 1, Float32Array.from([2, 2, 2])));
  assert.ok(constant.data.every((v) => v === 0), 'zero variance gives 0, not NaN');
});
