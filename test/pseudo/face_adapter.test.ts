import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auEvidenceFromTrack, auNumber } from '../../lib/pseudo/face';
import { activationToAudioGrid, framesForDuration } from '../../lib/pseudo/activationOnAudioGrid';
import { auRuleLabel } from '../../lib/pseudo/emfacs';
import { BLENDSHAPE_NAMES, N_BLENDSHAPES } from '../../lib/face/landmarker';
import { EmolabError } from '../../lib/errors';

/** A track of n frames whose listed blendshapes hold the given scores in every frame. */
function track(n: number, scores: Record<string, number>, faceFound = 1) {
  const blendshapes = new Float32Array(n * N_BLENDSHAPES);
  for (let t = 0; t < n; t++) for (const [name, v] of Object.entries(scores)) blendshapes[t * N_BLENDSHAPES + BLENDSHAPE_NAMES.indexOf(name)] = v;
  return { nFrames: n, blendshapes, faceFound: new Uint8Array(n).fill(faceFound), interpolated: new Uint8Array(n) };
}

test('MediaPipe blendshapes -> AU presence: a full smile with cheek raise is happiness', () => {
  const ev = auEvidenceFromTrack(track(20, { mouthSmileLeft: 0.9, mouthSmileRight: 0.9, cheekSquintLeft: 0.8, cheekSquintRight: 0.8 }));
  assert.equal(auNumber('AU12'), 12);
  assert.deepEqual([...ev.au.get(12)!.slice(0, 2)], [1, 1]);
  assert.deepEqual([...ev.au.get(6)!.slice(0, 2)], [1, 1]);
  assert.equal(ev.au.get(4)![0], 0);
  assert.equal(ev.asymmetry![0], 0); // symmetric
  assert.equal(auRuleLabel(ev, { minSustainFrames: 10 }).name, 'happiness');
});

test('a one-sided smile + dimple is asymmetric and reads as contempt', () => {
  const ev = auEvidenceFromTrack(track(20, { mouthSmileLeft: 0.8, mouthDimpleLeft: 0.7 }));
  // bilateral AU12 = mean(0.8, 0) = 0.4 -> present at the 0.4 threshold; the stronger side is 0.8
  assert.equal(ev.unilateral!.get(12)![0], 1);
  assert.ok(Math.abs(ev.asymmetry![0] - 1) < 1e-6);
  assert.equal(auRuleLabel(ev, { minSustainFrames: 10, matchThreshold: 0.9 }).name, 'contempt');
  // a still mouth is not asymmetric (below the 0.1 floor)
  assert.equal(auEvidenceFromTrack(track(2, { mouthSmileLeft: 0.05 })).asymmetry![0], 0);
});

test('frames without a face carry no evidence', () => {
  const tr = track(3, { mouthSmileLeft: 0.9, mouthSmileRight: 0.9 }, 0);
  tr.blendshapes.fill(NaN);
  const ev = auEvidenceFromTrack(tr);
  assert.ok(Number.isNaN(ev.au.get(12)![0]));
  assert.deepEqual([...ev.faceFound!], [0, 0, 0]);
  assert.throws(() => auEvidenceFromTrack({ ...tr, nFrames: 4 }), EmolabError);
});

test('activation on the audio grid: frame count from duration, faceless and NaN frames flagged', () => {
  assert.equal(framesForDuration(1.0), 98); // (1.0 - 0.025) / 0.01 + 1
  assert.equal(framesForDuration(0.02), 0);
  const times = [0, 0.1, 0.2, 0.3];
  const g = activationToAudioGrid([1, 2, NaN, 4], [1, 1, 1, 0], times);
  assert.equal(g.activation.length, framesForDuration(0.4)); // last time + one period
  assert.equal(g.activation[0], 1); // centre 12.5 ms -> frame at 0
  assert.equal(g.faceFound[0], 1);
  assert.equal(g.faceFound[20], 0); // centre 212.5 ms -> frame at 0.2 s, activation NaN
  assert.equal(g.faceFound[30], 0); // centre 312.5 ms -> frame at 0.3 s, no usable face
  assert.equal(g.activation[10], 2);
});
