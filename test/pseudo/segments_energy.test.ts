import { test } from 'node:test';
import assert from 'node:assert/strict';
import { segmentFrames, resampleToFrames } from '../../lib/pseudo/segments';
import { energyTargets, energySegmentValues, median, speakerMedians, binaryBalance } from '../../lib/pseudo/energyTargets';
import { activationTargets } from '../../lib/pseudo/activationTargets';
import { EmolabError } from '../../lib/errors';

test('fixed segmentation: hop, end-aligned tail, drop, short utterances', () => {
  assert.deepEqual(segmentFrames(250, { mode: 'fixed', lengthFrames: 100, hopFrames: 50 }), [
    { start: 0, end: 100 }, { start: 50, end: 150 }, { start: 100, end: 200 }, { start: 150, end: 250 },
  ]);
  assert.deepEqual(segmentFrames(260, { mode: 'fixed', lengthFrames: 100, hopFrames: 50 }).at(-1), { start: 160, end: 260 });
  assert.deepEqual(segmentFrames(260, { mode: 'fixed', lengthFrames: 100, hopFrames: 50, tail: 'drop' }).at(-1), { start: 150, end: 250 });
  assert.deepEqual(segmentFrames(60, { mode: 'fixed' }), [{ start: 0, end: 60 }]);
  assert.deepEqual(segmentFrames(10, { mode: 'fixed' }), []);
  assert.throws(() => segmentFrames(100, { mode: 'fixed', hopFrames: 0 }), EmolabError);
});

test('chunk segmentation: fixed count, overlap adapts to duration', () => {
  assert.deepEqual(segmentFrames(300, { mode: 'chunks', count: 3, lengthFrames: 100 }), [
    { start: 0, end: 100 }, { start: 100, end: 200 }, { start: 200, end: 300 },
  ]);
  // 200 frames, 3 chunks of 100: starts 0, 50, 100 -> 50 % overlap
  assert.deepEqual(segmentFrames(200, { mode: 'chunks', count: 3, lengthFrames: 100 }).map((s) => s.start), [0, 50, 100]);
  assert.equal(segmentFrames(1234, { mode: 'chunks', count: 7 }).length, 7);
  assert.deepEqual(segmentFrames(80, { mode: 'chunks', count: 2, lengthFrames: 100 }), [{ start: 0, end: 80 }, { start: 0, end: 80 }]);
});

test('energy statistic per segment: std, range, mean on known values', () => {
  const e = [0, 2, 0, 2, 10, 10, 10, 10];
  const segs = [{ start: 0, end: 4 }, { start: 4, end: 8 }];
  assert.deepEqual([...energySegmentValues(e, segs, 'std')], [1, 0]);
  assert.deepEqual([...energySegmentValues(e, segs, 'range')], [2, 0]);
  assert.deepEqual([...energySegmentValues(e, segs, 'mean')], [1, 10]);
  // -Infinity (digital silence) is floored, not propagated
  assert.deepEqual([...energySegmentValues([-Infinity, -80], [{ start: 0, end: 2 }], 'std')], [0]);
});

test('energy targets against the utterance median', () => {
  // four segments with std 0, 1, 2, 3 (alternating +-s around 0): median 1.5 -> low low high high
  const curve: number[] = [];
  for (const s of [0, 1, 2, 3]) for (let i = 0; i < 10; i++) curve.push(i % 2 ? s : -s);
  const segs = segmentFrames(40, { mode: 'fixed', lengthFrames: 10, hopFrames: 10 });
  const t = energyTargets(curve, segs);
  assert.equal(t.threshold, 1.5);
  assert.deepEqual([...t.labels], [0, 0, 1, 1]);
  assert.deepEqual([...t.values], [0, 1, 2, 3]);
  // gain change (constant dB offset) leaves std labels unchanged
  assert.deepEqual([...energyTargets(curve.map((x) => x - 30), segs).labels], [0, 0, 1, 1]);
  // level statistic against the speaker median
  const lvl = energyTargets([1, 1, 5, 5, 9, 9], [{ start: 0, end: 2 }, { start: 2, end: 4 }, { start: 4, end: 6 }], { statistic: 'mean', reference: 'speaker', speakerMedian: 6 });
  assert.deepEqual([...lvl.labels], [0, 0, 1]);
  // odd number of segments: the middle one is the median itself -> excluded, classes balanced
  const three = energyTargets(curve.slice(0, 30), segs.slice(0, 3));
  assert.deepEqual([...three.labels], [0, -1, 1]);
  assert.deepEqual(binaryBalance(energyTargets(curve.slice(0, 10), segs.slice(0, 1)).labels), { high: 0, low: 0, excluded: 1 });
  assert.throws(() => energyTargets(curve, segs, { reference: 'speaker' }), EmolabError);
  assert.throws(() => energyTargets([1, 2], [{ start: 0, end: 3 }]), EmolabError);
});

test('median and speaker medians', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([NaN])));
  const m = speakerMedians([{ speaker: 'a', values: [1, 2] }, { speaker: 'a', values: [10] }, { speaker: 'b', values: [5, NaN] }]);
  assert.equal(m.get('a'), 2);
  assert.equal(m.get('b'), 5);
  assert.deepEqual(binaryBalance([1, 0, -1, 1]), { high: 2, low: 1, excluded: 1 });
});

test('activation targets: speaker median, face fraction exclusion counted', () => {
  const act = [1, 1, 1, 1, 5, 5, 5, 5, 9, 9, 0, 0];
  const face = [1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1];
  const segs = [{ start: 0, end: 4 }, { start: 4, end: 8 }, { start: 8, end: 12 }];
  const t = activationTargets(act, face, segs, { speakerMedian: 3, minFaceFraction: 0.5 });
  assert.deepEqual([...t.labels], [0, 1, -1]);
  assert.equal(t.excluded, 1);
  assert.deepEqual([...t.faceFraction], [1, 0.75, 0.25]);
  assert.equal(t.values[1], 5); // mean over face frames only
  const loose = activationTargets(act, face, segs, { speakerMedian: 3, minFaceFraction: 0.2 });
  assert.deepEqual([...loose.labels], [0, 1, 0]); // only the frame with a face (activation 0) counts
  assert.throws(() => activationTargets(act, face.slice(1), segs, { speakerMedian: 3 }), EmolabError);
  assert.throws(() => activationTargets(act, face, segs, { speakerMedian: NaN }), EmolabError);
});

test('resampling a 25 fps track onto the 10 ms grid (nearest frame)', () => {
  const times = [0, 0.04, 0.08, 0.12];
  const vals = [0, 1, 2, 3];
  const r = resampleToFrames(vals, times, 16);
  // grid centres 0.0125, 0.0225, ..., 0.1625
  assert.deepEqual([...r.slice(0, 12)], [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3]);
  assert.equal(r[14], 3); // 0.1525 s: 32.5 ms after the last frame, within one period
  assert.ok(Number.isNaN(r[15])); // 0.1625 s: 42.5 ms after the last frame, more than one period (40 ms)
  assert.throws(() => resampleToFrames([1, 2], [0.1, 0], 3), EmolabError);
});
