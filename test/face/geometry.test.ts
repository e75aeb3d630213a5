import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySimilarity, fitSimilarity, rotationFromEuler, symmetricEigen } from '../../lib/face/procrustes';
import { facialActivation, LOWER_FACE, OUTER_EYE_CORNERS, UPPER_FACE } from '../../lib/face/activation';
import { AU_DEFINITIONS, AU_NAMES, auPresence, auThresholds, blendshapesToAus, calibrateThresholds } from '../../lib/face/aus';
import { BLENDSHAPE_NAMES, N_LANDMARKS } from '../../lib/face/landmarker';
import { fillShortGaps } from '../../lib/face/track';

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomShape(r: () => number, n = N_LANDMARKS): Float64Array {
  return Float64Array.from({ length: n * 3 }, () => r() * 200 - 100);
}

function transform(p: Float64Array, s: number, R: Float64Array, t: [number, number, number]): Float64Array {
  return applySimilarity({ scale: s, rotation: R, translation: t, rmsd: 0 }, p);
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };

test('Jacobi eigen-decomposition reproduces A v = λ v', () => {
  const A = [4, 1, 2, 0.5, 1, 3, 0, 1, 2, 0, 5, 2, 0.5, 1, 2, 1];
  const { values, vectors } = symmetricEigen(A, 4);
  for (let j = 0; j < 4; j++) {
    for (let i = 0; i < 4; i++) {
      let av = 0;
      for (let k = 0; k < 4; k++) av += A[i * 4 + k] * vectors[k * 4 + j];
      assert.ok(Math.abs(av - values[j] * vectors[i * 4 + j]) < 1e-10);
    }
  }
});

test('Procrustes: a rotated, scaled and translated copy aligns back exactly (3-D and 2-D)', () => {
  const r = rng(7);
  const ref = randomShape(r);
  for (let trial = 0; trial < 5; trial++) {
    const R = rotationFromEuler((r() - 0.5) * 2, (r() - 0.5) * 2, (r() - 0.5) * 6);
    const moved = transform(ref, 0.3 + 2 * r(), R, [r() * 50, -r() * 50, r() * 10]);
    const sim = fitSimilarity(moved, ref);
    assert.ok(maxAbsDiff(applySimilarity(sim, moved), ref) < 1e-9, 'points back in place');
    assert.ok(sim.rmsd < 1e-9);
    // The recovered rotation is a proper rotation (det +1).
    const m = sim.rotation;
    const det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
    assert.ok(Math.abs(det - 1) < 1e-12);
  }
  // 2-D: in-plane rotation only.
  const flat = ref.map((v, i) => (i % 3 === 2 ? 0 : v));
  const moved2 = transform(flat, 1.7, rotationFromEuler(0, 0, 2.5), [3, 4, 0]);
  const sim2 = fitSimilarity(moved2, flat, undefined, 2);
  assert.ok(maxAbsDiff(applySimilarity(sim2, moved2), flat) < 1e-9);
  // A mirror image is not a rotation: it cannot be fitted exactly (no reflections).
  const mirrored = ref.map((v, i) => (i % 3 === 0 ? -v : v));
  assert.ok(fitSimilarity(mirrored, ref).rmsd > 1);
  // Fitting on a subset ignores the other points.
  const bent = transform(ref, 1.3, rotationFromEuler(0.3, -0.2, 1), [1, 2, 3]);
  bent[0] += 1000;
  const sim3 = fitSimilarity(bent, ref, [5, 6, 7, 8, 9, 10]);
  assert.ok(maxAbsDiff(applySimilarity(sim3, bent).subarray(3), ref.subarray(3)) < 1e-9);
});

/** A synthetic clip: a face shape under random rigid head motion, with the brows rising at `speed` IOD/s. */
function syntheticClip(frames: number, fps: number, browSpeed: number, W = 640, H = 360) {
  const r = rng(11);
  const face = randomShape(r).map((v) => v + 200);
  const iod = Math.hypot(...[0, 1, 2].map((c) => face[3 * OUTER_EYE_CORNERS[0] + c] - face[3 * OUTER_EYE_CORNERS[1] + c]));
  const out = new Float32Array(frames * N_LANDMARKS * 3);
  for (let t = 0; t < frames; t++) {
    const p = Float64Array.from(face);
    for (const k of UPPER_FACE.slice(0, 20)) p[3 * k + 1] -= browSpeed * iod * (t / fps); // brows only, straight up
    const R = rotationFromEuler(0.2 * Math.sin(t / 5), 0.3 * Math.cos(t / 7), 0.1 * Math.sin(t / 3));
    const q = transform(p, 1 + 0.2 * Math.sin(t / 4), R, [10 * t, 5 * Math.cos(t), 2]);
    for (let k = 0; k < N_LANDMARKS; k++) {
      out[(t * N_LANDMARKS + k) * 3] = q[3 * k] / W;
      out[(t * N_LANDMARKS + k) * 3 + 1] = q[3 * k + 1] / H;
      out[(t * N_LANDMARKS + k) * 3 + 2] = q[3 * k + 2] / W;
    }
  }
  return out;
}

test('facial activation: rigid head motion alone gives ~0; brow motion shows in the upper face only', () => {
  const still = facialActivation(syntheticClip(20, 30, 0), { width: 640, height: 360, fps: 30 });
  for (const v of [...still.upper, ...still.lower]) assert.ok(Math.abs(v) < 1e-3, `rigid motion leaked: ${v}`);
  const moving = facialActivation(syntheticClip(20, 30, 0.5), { width: 640, height: 360, fps: 30 });
  // 20 of the 28 upper-face points rise at 0.5 IOD/s: region mean 0.5 * 20/28.
  for (const v of moving.upper) assert.ok(Math.abs(v - 0.5 * 20 / UPPER_FACE.length) < 2e-3, `upper ${v}`);
  for (const v of moving.lower) assert.ok(Math.abs(v) < 2e-3, `lower ${v}`);
  assert.equal(moving.activation, moving.upper, 'the pretext signal is the upper face');
  // Frame-rate independent: the same motion sampled at 15 fps gives the same speed.
  const slow = facialActivation(syntheticClip(20, 15, 0.5), { width: 640, height: 360, fps: 15 });
  assert.ok(Math.abs(slow.upper[10] - moving.upper[10]) < 2e-3);
  // Without the width/height the shape is distorted (non-square frame) and rigid motion leaks.
  const distorted = facialActivation(syntheticClip(20, 30, 0), { fps: 30 });
  assert.ok(Math.max(...distorted.lower) > 1e-2);
});

test('facial activation: invalid frames are NaN and do not break their neighbours', () => {
  const lm = syntheticClip(10, 30, 0.5);
  const valid = Uint8Array.from({ length: 10 }, (_, i) => (i === 4 ? 0 : 1));
  const a = facialActivation(lm, { width: 640, height: 360, valid });
  assert.ok(Number.isNaN(a.upper[4]));
  assert.ok(Number.isFinite(a.upper[3]) && Number.isFinite(a.upper[5]), 'one-sided differences next to the gap');
  assert.ok(Math.abs(a.upper[3] - a.upper[2]) < 2e-3);
  const none = facialActivation(new Float32Array(2 * N_LANDMARKS * 3).fill(NaN));
  assert.ok(none.activation.every(Number.isNaN));
  assert.equal(LOWER_FACE.filter((k) => UPPER_FACE.includes(k)).length, 0, 'regions do not overlap');
});

test('short gaps are interpolated, long gaps and edges are not', () => {
  //               0  1  2  3  4  5  6  7  8  9 10 11
  const found = Uint8Array.from([0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0]);
  const data = Float32Array.from([NaN, 10, NaN, NaN, 40, NaN, NaN, NaN, NaN, 90, 100, NaN].flatMap((v) => [v, -v]));
  const filled = fillShortGaps(found, [{ data, width: 2 }], 3);
  assert.deepEqual([...filled], [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...data.subarray(4, 8)], [20, -20, 30, -30]);
  assert.ok(Number.isNaN(data[0]) && Number.isNaN(data[10]) && Number.isNaN(data[22]));
  const filled4 = fillShortGaps(found, [{ data, width: 2 }], 4);
  assert.deepEqual([...filled4].slice(5, 9), [1, 1, 1, 1]);
  assert.equal(data[10], 50);
});

test('blendshapes to action units: mapping, presence thresholds, calibration', () => {
  const bs = new Float32Array(2 * 52);
  const set = (t: number, name: string, v: number) => { bs[t * 52 + BLENDSHAPE_NAMES.indexOf(name)] = v; };
  set(0, 'mouthSmileLeft', 0.9); set(0, 'mouthSmileRight', 0.5); // AU12 = 0.7
  set(0, 'browInnerUp', 0.8); // AU1
  set(0, 'jawOpen', 0.1); set(0, 'mouthLowerDownLeft', 0.6); set(0, 'mouthLowerDownRight', 0.4); // AU25 = max(0.1, 0.5) = 0.5
  set(1, 'eyeBlinkLeft', 1); set(1, 'eyeBlinkRight', 0.6); // AU45 = 0.8
  const aus = blendshapesToAus(bs);
  const col = (t: number, au: string) => aus[t * AU_NAMES.length + AU_NAMES.indexOf(au)];
  assert.ok(Math.abs(col(0, 'AU12') - 0.7) < 1e-6);
  assert.ok(Math.abs(col(0, 'AU1') - 0.8) < 1e-6);
  assert.ok(Math.abs(col(0, 'AU25') - 0.5) < 1e-6);
  assert.ok(Math.abs(col(0, 'AU26') - 0.1) < 1e-6);
  assert.ok(Math.abs(col(1, 'AU45') - 0.8) < 1e-6);
  assert.equal(col(1, 'AU12'), 0);
  for (const needed of ['AU1', 'AU2', 'AU4', 'AU5', 'AU6', 'AU7', 'AU9', 'AU10', 'AU12', 'AU14', 'AU15', 'AU17', 'AU20', 'AU23', 'AU24', 'AU25', 'AU26', 'AU28', 'AU45']) {
    assert.ok(AU_NAMES.includes(needed), needed);
  }
  for (const d of AU_DEFINITIONS) assert.ok(d.why.length > 20 && d.threshold > 0 && d.threshold < 1, d.au);
  const present = auPresence(aus);
  assert.equal(present[AU_NAMES.indexOf('AU12')], 1);
  assert.equal(present[AU_NAMES.length + AU_NAMES.indexOf('AU45')], 1);
  // Configurable: a stricter AU12 threshold turns it off.
  const strict = auPresence(aus, auThresholds({ AU12: 0.75 }));
  assert.equal(strict[AU_NAMES.indexOf('AU12')], 0);
  assert.throws(() => auThresholds({ AU99: 0.5 }), /unknown AU "AU99"/);
  // No face: NaN in, NaN out, never "present".
  const nan = blendshapesToAus(new Float32Array(52).fill(NaN));
  assert.ok(nan.every(Number.isNaN));
  assert.ok(auPresence(nan).every((v) => v === 0));
  // Calibration: the 95th percentile of neutral frames, floored.
  const neutral = Float32Array.from({ length: 100 * 2 }, (_, i) => (i % 2 === 0 ? (i / 2) / 100 : 0.01));
  assert.deepEqual(calibrateThresholds(neutral, 2, 0.95, 0.2).map((v) => +v.toFixed(2)), [0.94, 0.2]); // nearest rank of 0.95 * (100 - 1)
});

test('face series onto the 10 ms audio grid, and Pearson correlation', async () => {
  const { toAudioFrames, pearson } = await import('../../lib/face/activation');
  // 30 fps frames at 0, 1/30, ...; audio frame t centred at t * 0.01 + 0.0125.
  const times = Float64Array.from({ length: 4 }, (_, i) => i / 30);
  const vals = Float32Array.from([0, 3, 6, NaN]);
  const a = toAudioFrames(times, vals, 12);
  assert.ok(Math.abs(a[0] - 0.0125 * 90) < 1e-5, `${a[0]}`); // slope 3 per 1/30 s = 90 per s
  assert.ok(Math.abs(a[5] - 0.0625 * 90) < 1e-4);
  assert.ok(Number.isNaN(a[7]), 'next to a NaN frame');
  assert.ok(Number.isNaN(a[11]), 'after the last frame');
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [2, 4, 6, 8.0]) - 1) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3, 4, NaN], [4, 3, 2, 1, 7]) + 1) < 1e-12);
  assert.ok(Number.isNaN(pearson([1, 2], [1, 2])));
});
