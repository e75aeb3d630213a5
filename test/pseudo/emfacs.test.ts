import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AU_LABELS, auRuleLabel, prototypeScores, frameWinners, applyBaseline, baselineFor, type AuEvidence } from '../../lib/pseudo/emfacs';
import { loadRavdessAus, evaluateRule, chanceMacroF1, actorHalf, tuneRule, truthIds } from '../../lib/pseudo/ravdessAuCheck';
import { EmolabError } from '../../lib/errors';

/** A video of `frames` frames where the listed AUs are fully present during [from, to). */
function video(frames: number, parts: { aus: number[]; from: number; to: number }[], allAus = [1, 2, 4, 5, 6, 7, 9, 12, 14, 15, 16, 20, 23, 26]): AuEvidence {
  const au = new Map<number, Float32Array>(allAus.map((a) => [a, new Float32Array(frames)]));
  for (const p of parts) for (const a of p.aus) for (let t = p.from; t < p.to; t++) au.get(a)![t] = 1;
  return { frames, au };
}
const id = (name: string): number => (AU_LABELS as readonly string[]).indexOf(name);

test('partial matches score the fraction of the combination present', () => {
  const ev = video(1, [{ aus: [1, 2, 5], from: 0, to: 1 }]);
  const [row] = prototypeScores(ev);
  // AU_EMOTIONS order: anger, contempt, disgust, fear, happiness, sadness, surprise
  assert.ok(Number.isNaN(row[1])); // contempt: no asymmetry track -> not scored
  assert.equal(row[6], 0.75); // surprise 1+2+5 of 1+2+5+26
  assert.ok(Math.abs(row[3] - 3 / 7) < 1e-6); // fear 3 of 7
  assert.ok(Math.abs(row[5] - 1 / 3) < 1e-6); // sadness: AU1 of 1+4+15
  assert.equal(row[0], 0.25); // anger: AU5 of 4+5+7+23
});

test('each prototype, sustained, gives its label; short bursts and nothing give neutral', () => {
  const cases: [string, number[]][] = [
    ['happiness', [6, 12]], ['sadness', [1, 4, 15]], ['surprise', [1, 2, 5, 26]],
    ['fear', [1, 2, 4, 5, 7, 20, 26]], ['anger', [4, 5, 7, 23]], ['disgust', [9, 15, 16]],
  ];
  for (const [name, aus] of cases) {
    const r = auRuleLabel(video(60, [{ aus, from: 10, to: 40 }]));
    assert.equal(r.name, name, `${aus.join('+')} -> ${r.name}`);
    assert.equal(r.wins[id(name)], 30);
    assert.ok(Math.abs(r.soft.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.ok(r.soft[id(name)] > r.soft[id('anger') === id(name) ? id('sadness') : id('anger')]);
  }
  assert.equal(auRuleLabel(video(60, [{ aus: [6, 12], from: 10, to: 20 }])).name, 'neutral'); // 10 frames < 15
  assert.equal(auRuleLabel(video(60, [])).name, 'neutral');
  assert.equal(auRuleLabel(video(60, [{ aus: [6, 12], from: 10, to: 20 }]), { minSustainFrames: 5 }).name, 'happiness');
});

test('fear beats surprise when both are complete (larger combination wins the tie)', () => {
  const ev = video(1, [{ aus: [1, 2, 4, 5, 7, 20, 26], from: 0, to: 1 }]);
  assert.equal(AU_LABELS[frameWinners(prototypeScores(ev))[0]], 'fear');
});

test('contempt needs asymmetry; a symmetric 12+14 is not contempt', () => {
  const ev = video(40, [{ aus: [12, 14], from: 0, to: 40 }]);
  const sym = auRuleLabel({ ...ev, asymmetry: new Float32Array(40).fill(0.05) }, { matchThreshold: 0.9 });
  assert.notEqual(sym.name, 'contempt');
  const uni = auRuleLabel({ ...ev, asymmetry: new Float32Array(40).fill(0.6) }, { matchThreshold: 0.9 });
  assert.equal(uni.name, 'contempt');
});

test('frames without a face are not counted and break runs', () => {
  const ev = video(40, [{ aus: [6, 12], from: 0, to: 40 }]);
  const face = new Uint8Array(40).fill(1);
  for (let t = 0; t < 40; t += 10) face[t] = 0; // runs of 9 < 15
  const r = auRuleLabel({ ...ev, faceFound: face });
  assert.equal(r.name, 'neutral');
  assert.equal(r.wins[id('happiness')], 36);
});

test('speaker baseline removes what is constant for a person', () => {
  const talky = video(30, [{ aus: [26], from: 0, to: 30 }, { aus: [1, 2, 5], from: 0, to: 20 }]);
  assert.equal(auRuleLabel(talky).name, 'surprise');
  const base = baselineFor([talky]);
  assert.equal(base.get(26), 1);
  assert.equal(auRuleLabel(applyBaseline(talky, base)).name, 'neutral'); // AU26 always on: no evidence
  assert.throws(() => prototypeScores({ frames: 2, au: new Map([[1, new Float32Array(3)]]) }), EmolabError);
});

const ravFile = join(process.env.EMOLAB_DATA ?? '/work/shared/datasets', 'ravdess-openface', 'au_mfcc.csv');

test('RAVDESS OpenFace AUs: loads 1,440 clips; the tuned rule beats chance on held-out actors', () => {
  const clips = loadRavdessAus(ravFile);
  assert.equal(clips.length, 1440);
  assert.equal(new Set(clips.map((c) => c.actor)).size, 24);
  assert.equal(clips[0].presence.size, 18);
  assert.equal(clips[0].intensity.size, 17);
  const test = actorHalf(clips, 'even');
  assert.equal(test.length, 720);
  assert.equal(truthIds(test).filter((t) => t === id('neutral')).length, 144); // 48 neutral + 96 calm
  // small grid (the notebook searches the full one)
  const grid = [0.3, 0.6, 0.9].map((m) => ({ source: 'intensity' as const, intensityScale: 3, baseline: 'speaker' as const, presenceThreshold: 0.1, matchThreshold: m }));
  const tuned = tuneRule(actorHalf(clips, 'odd'), grid);
  const ev = evaluateRule(test, tuned.best);
  const chance = chanceMacroF1(ev.truth);
  assert.ok(Math.abs(chance.stratified - 1 / 7) < 1e-12);
  assert.ok(ev.metrics.f1 > 2 * chance.stratified, `macro-F1 ${ev.metrics.f1}`);
  assert.equal(ev.confusion.flat().reduce((a, b) => a + b, 0), 720);
});
