import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterBootstrapCIs, clusterPairedTests, expandedTail, normalCdf, normalQuantile, pairedTest, seededRandom, tQuantile, type Predictions } from '../../lib/eval/stats';
import { classificationMetrics, METRIC_NAMES } from '../../lib/eval/metrics';
import { ensembleSeeds, speakerOfId, speakersFromTestList } from '../../lib/eval/ensemble';
import { aggregateArms, perFoldSummaries, seedNoiseFloor, type EvaluatedFold } from '../../lib/eval/aggregate';
import { EmolabError } from '../../lib/errors';

/** `n` utterances per speaker, truth cycling over k classes. */
function design(speakers: string[], n: number, k: number): { truth: number[]; clusters: string[] } {
  const truth: number[] = []; const clusters: string[] = [];
  for (const s of speakers) for (let i = 0; i < n; i++) { truth.push(i % k); clusters.push(s); }
  return { truth, clusters };
}
const wrong = (t: number, k: number): number => (t + 1) % k;

test('identical arms: delta 0 and p = 1 for every metric (exact enumeration over speakers)', () => {
  const { truth, clusters } = design(['03', '08', '09', '10', '11', '12', '13', '14', '15', '16'], 9, 3);
  const r = seededRandom(1);
  const pred = truth.map((t) => (r() < 0.6 ? t : wrong(t, 3)));
  const tests = clusterPairedTests({ truth, pred, nClasses: 3, clusters }, { truth, pred, nClasses: 3 }, METRIC_NAMES, { bootstrap: 100 });
  for (const m of METRIC_NAMES) {
    assert.equal(tests[m].delta, 0);
    assert.equal(tests[m].pValue, 1);
    assert.equal(tests[m].exact, true);
    assert.equal(tests[m].permutations, 1024);
    assert.equal(tests[m].units, 10);
    assert.equal(tests[m].detectable, 0);
    assert.equal(tests[m].ci.low, 0);
    assert.equal(tests[m].ci.high, 0);
  }
});

test('arms differing on one speaker only: every swap gives |delta*| = |delta|, so exactly p = 1', () => {
  const { truth, clusters } = design(['a', 'b', 'c', 'd', 'e'], 10, 2);
  const base = truth.map((t) => wrong(t, 2));
  const arm = base.map((p, i) => (clusters[i] === 'c' ? truth[i] : p)); // arm right on all of speaker c
  const t = pairedTest({ truth, pred: arm, nClasses: 2, clusters }, { truth, pred: base, nClasses: 2 }, 'wa', { bootstrap: 200 });
  assert.ok(Math.abs(t.delta - 10 / 50) < 1e-12);
  assert.equal(t.pValue, 1);
  assert.equal(t.permutations, 32);
  assert.ok(Math.abs(t.detectable - 0.2) < 1e-12);
});

test('two speakers differ by 3 and 1 correct clips: exact p = 8/16 and the detectable |delta| = 4/N', () => {
  const { truth, clusters } = design(['a', 'b', 'c', 'd'], 6, 3);
  const base = truth.map((t) => wrong(t, 3));
  const arm = base.slice();
  [0, 1, 2].forEach((i) => { arm[i] = truth[i]; }); // speaker a: +3
  arm[6] = truth[6]; // speaker b: +1
  const N = truth.length;
  const t = pairedTest({ truth, pred: arm, nClasses: 3, clusters }, { truth, pred: base, nClasses: 3 }, 'wa', { bootstrap: 200 });
  assert.ok(Math.abs(t.delta - 4 / N) < 1e-12);
  // assignments: a,b both kept or both swapped -> |4|/N; one swapped -> |2|/N; c, d free (x4): 8 of 16 extreme
  assert.equal(t.pValue, 0.5);
  assert.ok(Math.abs(t.detectable - 4 / N) < 1e-12);
  assert.ok(t.ci.low <= t.delta && t.delta <= t.ci.high);
});

test('exact enumeration on 4 speakers matches a brute-force count (macro F1, unequal speaker sizes)', () => {
  const r = seededRandom(5);
  const k = 4;
  const sizes = [7, 12, 5, 9];
  const truth: number[] = []; const clusters: number[] = [];
  sizes.forEach((n, s) => { for (let i = 0; i < n; i++) { truth.push(Math.floor(r() * k)); clusters.push(s); } });
  const a = truth.map((t) => (r() < 0.7 ? t : Math.floor(r() * k)));
  const b = truth.map((t) => (r() < 0.5 ? t : Math.floor(r() * k)));
  for (const m of ['f1', 'precision', 'ua'] as const) {
    const f = (p: number[]): number => classificationMetrics(truth, p, k)[m];
    const delta = f(a) - f(b);
    let extreme = 0;
    const nulls: number[] = [];
    for (let mask = 0; mask < 16; mask++) {
      const x = a.map((v, i) => ((mask >> clusters[i]) & 1 ? b[i] : v));
      const y = b.map((v, i) => ((mask >> clusters[i]) & 1 ? a[i] : v));
      const d = Math.abs(f(x) - f(y));
      nulls.push(d);
      if (d >= Math.abs(delta) - 1e-12) extreme++;
    }
    const t = pairedTest({ truth, pred: a, nClasses: k, clusters }, { truth, pred: b, nClasses: k }, m, { bootstrap: 50 });
    assert.ok(Math.abs(t.delta - delta) < 1e-12, m);
    assert.equal(t.pValue, extreme / 16, m);
    assert.equal(t.exact, true);
    nulls.sort((x, y) => x - y);
    const h = 15 * 0.95;
    assert.ok(Math.abs(t.detectable - (nulls[14] + (h - 14) * (nulls[15] - nulls[14]))) < 1e-12, m);
  }
});

test('more than 12 speakers: sampled swaps, (extreme + 1) / (R + 1)', () => {
  const { truth, clusters } = design(Array.from({ length: 13 }, (_, i) => `s${i}`), 4, 2);
  const pred = truth.slice();
  const t = pairedTest({ truth, pred, nClasses: 2, clusters }, { truth, pred, nClasses: 2 }, 'f1', { permutations: 99, bootstrap: 10 });
  assert.equal(t.exact, false);
  assert.equal(t.permutations, 99);
  assert.equal(t.pValue, 1);
  const u = pairedTest({ truth, pred, nClasses: 2, clusters }, { truth, pred, nClasses: 2 }, 'f1', { permutations: 99, bootstrap: 10, exactLimit: 8192 });
  assert.equal(u.exact, true);
  assert.equal(u.permutations, 8192);
});

test('speaker-level test is not fooled by many utterances: a per-speaker effect of random sign is not significant', () => {
  // 10 speakers x 90 clips; per speaker one arm is much better, the better arm alternates: no consistent effect
  const speakers = Array.from({ length: 10 }, (_, i) => `s${i}`);
  const { truth, clusters } = design(speakers, 90, 6);
  const r = seededRandom(9);
  const a: number[] = []; const b: number[] = [];
  truth.forEach((t, i) => {
    const s = Number(clusters[i].slice(1));
    const good = r() < 0.75 ? t : wrong(t, 6); const bad = r() < 0.45 ? t : wrong(t, 6);
    const armBetter = s % 2 === 0 || s === 7 || s === 9; // 7 of 10 speakers favour the arm
    a.push(armBetter ? good : bad); b.push(armBetter ? bad : good);
  });
  const spk = pairedTest({ truth, pred: a, nClasses: 6, clusters }, { truth, pred: b, nClasses: 6 }, 'wa', { bootstrap: 300 });
  const utt = pairedTest({ truth, pred: a, nClasses: 6 }, { truth, pred: b, nClasses: 6 }, 'wa', { bootstrap: 300, permutations: 500 });
  assert.ok(spk.delta > 0.04, `delta ${spk.delta}`);
  assert.ok(utt.pValue < 0.01, `utterance-level p ${utt.pValue} (anti-conservative)`);
  assert.ok(spk.pValue > 0.1, `speaker-level p ${spk.pValue}`);
  assert.ok(spk.ci.low < 0 && spk.ci.high > 0, 'the speaker CI agrees with p: it spans 0');
  assert.ok(spk.detectable > spk.delta);
});

test('cluster bootstrap: CI contains the estimate, and collapses to a point when all speakers are alike', () => {
  const r = seededRandom(3);
  const { truth, clusters } = design(['a', 'b', 'c', 'd', 'e', 'f'], 20, 4);
  const pred = truth.map((t) => (r() < 0.6 ? t : wrong(t, 4)));
  const cis = clusterBootstrapCIs({ truth, pred, nClasses: 4, clusters }, METRIC_NAMES, { iterations: 300, seed: 2 });
  for (const m of METRIC_NAMES) {
    assert.ok(cis[m].low <= cis[m].estimate && cis[m].estimate <= cis[m].high, m);
    assert.ok(cis[m].high - cis[m].low > 0, m);
  }
  assert.deepEqual(cis, clusterBootstrapCIs({ truth, pred, nClasses: 4, clusters }, METRIC_NAMES, { iterations: 300, seed: 2 }));
  // every speaker has exactly the same (truth, pred) composition
  const one = { truth: [0, 1, 2, 3, 0, 1], pred: [0, 1, 2, 0, 1, 1] };
  const same: Predictions = { truth: [], pred: [], nClasses: 4, clusters: [] };
  for (const s of ['a', 'b', 'c', 'd', 'e']) { same.truth.push(...one.truth); same.pred.push(...one.pred); (same.clusters as string[]).push(...one.truth.map(() => s)); }
  const point = clusterBootstrapCIs(same, METRIC_NAMES, { iterations: 200 });
  for (const m of METRIC_NAMES) {
    assert.ok(Math.abs(point[m].low - point[m].estimate) < 1e-12 && Math.abs(point[m].high - point[m].estimate) < 1e-12, `${m}: ${JSON.stringify(point[m])}`);
    assert.ok(Math.abs(point[m].estimate - classificationMetrics(one.truth, one.pred, 4)[m]) < 1e-12);
  }
  // the paired version collapses too: the arm is better by the same amount on every speaker
  const better = same.pred.map((p, i) => (i % 6 === 3 ? same.truth[i] : p));
  const t = pairedTest({ ...same, pred: better }, same, 'wa', { bootstrap: 200 });
  assert.ok(Math.abs(t.ci.low - t.delta) < 1e-12 && Math.abs(t.ci.high - t.delta) < 1e-12);
  assert.equal(t.pValue, 2 / 32); // only "none swapped" and "all swapped" reach |delta|
});

test('paired test refuses different truth or different clusters', () => {
  assert.throws(() => pairedTest({ truth: [0, 1], pred: [0, 1], nClasses: 2 }, { truth: [1, 1], pred: [0, 1], nClasses: 2 }, 'f1'), EmolabError);
  assert.throws(() => pairedTest({ truth: [0, 1], pred: [0, 1], nClasses: 2, clusters: ['a', 'b'] }, { truth: [0, 1], pred: [0, 1], nClasses: 2, clusters: ['a', 'a'] }, 'f1'), EmolabError);
  assert.throws(() => pairedTest({ truth: [0, 1], pred: [0, 1], nClasses: 2, clusters: ['a'] }, { truth: [0, 1], pred: [0, 1], nClasses: 2 }, 'f1'), EmolabError);
});

const rec = (arm: string, seed: number, fold: string, ids: string[], truth: number[], pred: number[], probs?: number[][], speakers?: string[]): EvaluatedFold =>
  ({ arm, seed, fold, classes: ['a', 'b', 'c'], ids, truth, pred, probs, speakers });

test('ensembleSeeds: mean of class probabilities per utterance, argmax of the mean; labels-only seeds vote one-hot', () => {
  const ids = ['u1', 'u2', 'u3'];
  const truth = [0, 1, 2];
  const s1 = rec('x', 1, 'f1', ids, truth, [0, 1, 0], [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.5, 0.1, 0.4]]);
  const s2 = rec('x', 2, 'f1', ids, truth, [1, 2, 2], [[0.2, 0.7, 0.1], [0.1, 0.3, 0.6], [0.1, 0.1, 0.8]]);
  const e = ensembleSeeds([s2, s1]);
  assert.deepEqual(e.keys, ['f1|u1', 'f1|u2', 'f1|u3']);
  assert.deepEqual(e.seeds, [1, 2]);
  const close = (x: number[], y: number[]): boolean => x.every((v, i) => Math.abs(v - y[i]) < 1e-12);
  assert.ok(close(e.probs[0], [0.4, 0.5, 0.1]));
  assert.ok(close(e.probs[1], [0.15, 0.4, 0.45]));
  assert.ok(close(e.probs[2], [0.3, 0.1, 0.6]));
  // u1: seed 1 says a (0.6), seed 2 says b (0.7): the mean picks b; u2: seed 1 says b, the mean says c
  assert.deepEqual(e.pred, [1, 2, 2]);
  assert.deepEqual(e.nSeeds, [2, 2, 2]);
  // without probabilities: one-hot votes; a 1-1 tie goes to the lowest seed's prediction
  const l1 = rec('y', 3, 'f1', ids, truth, [2, 1, 0]);
  const l2 = rec('y', 1, 'f1', ids, truth, [1, 1, 2]);
  const l3 = rec('y', 2, 'f1', ids, truth, [2, 0, 1]);
  assert.deepEqual(ensembleSeeds([l1, l2]).pred, [1, 1, 2]);
  assert.deepEqual(ensembleSeeds([l1, l2, l3]).pred, [2, 1, 2]);
  // different labels for the same utterance across seeds: refused
  assert.throws(() => ensembleSeeds([s1, rec('x', 2, 'f1', ids, [0, 1, 1], [0, 1, 0])]), EmolabError);
});

test('speakers of utterances: EmoDB / CREMA-D ids, and matching against a fold\'s test speakers', () => {
  assert.equal(speakerOfId('03a01Fa'), '03');
  assert.equal(speakerOfId('wav/16b10Wb.wav'), '16');
  assert.equal(speakerOfId('1001_DFA_ANG_XX'), '1001');
  assert.equal(speakerOfId('f1-u3'), undefined);
  assert.deepEqual(speakersFromTestList(['03a01Fa', '10b02Nc'], ['03', '10']), ['03', '10']);
  assert.deepEqual(speakersFromTestList(['spkA-1', 'spkB-7', 'zz'], ['spkA', 'spkB']), ['spkA', 'spkB', undefined]);
  assert.deepEqual(speakersFromTestList(['x', 'y'], ['only']), ['only', 'only']);
  assert.deepEqual(speakersFromTestList(['u1'], []), [undefined]);
});

test('aggregateArms: seed-ensembled pooled metrics, per-fold means, speaker-level exact test, noise floor', () => {
  // 2 folds x 2 speakers x 6 clips, 3 classes, 3 seeds; baseline seeds identical -> its noise floor is 0
  const folds = [{ name: 'f1', speakers: ['03', '08'] }, { name: 'f2', speakers: ['09', '10'] }];
  const recs: EvaluatedFold[] = [];
  for (const f of folds) {
    const ids = f.speakers.flatMap((s) => Array.from({ length: 6 }, (_, i) => `${s}a0${i}Fa`));
    const truth = ids.map((_, i) => i % 3);
    for (const seed of [1, 2, 3]) {
      recs.push(rec('baseline', seed, f.name, ids, truth, truth.map((t, i) => (i % 2 === 0 ? t : wrong(t, 3)))));
      // the arm: right on speaker 03 only in seeds 1 and 2 (seed 3 is as the baseline)
      recs.push(rec('energy', seed, f.name, ids, truth, truth.map((t, i) => ((ids[i].startsWith('03') && seed < 3) || i % 2 === 0 ? t : wrong(t, 3)))));
    }
  }
  const aggs = aggregateArms(recs, ['baseline', 'energy'], { bootstrap: 200 });
  const [b, e] = aggs;
  assert.equal(b.unit, 'speaker');
  assert.deepEqual(b.speakers, ['03', '08', '09', '10']);
  assert.equal(b.utterances, 24);
  assert.ok(Math.abs(b.pooled.wa - 0.5) < 1e-12);
  // ensembling: 2 of 3 seeds right on speaker 03 -> the ensemble is right on all of 03's clips
  assert.ok(Math.abs(e.pooled.wa - 15 / 24) < 1e-12, `${e.pooled.wa}`);
  // per fold: f1 = mean over seeds of (9/12, 9/12, 6/12); f2 = 0.5
  assert.equal(e.perFold.wa.n, 2);
  assert.ok(Math.abs(e.perFold.wa.mean - (8 / 12 + 0.5) / 2) < 1e-12);
  assert.deepEqual(perFoldSummaries(recs.filter((r) => r.arm === 'energy'), 3), e.perFold);
  const t = e.vsBaseline!.wa;
  assert.ok(Math.abs(t.delta - 3 / 24) < 1e-12);
  assert.equal(t.exact, true);
  assert.equal(t.units, 4);
  assert.equal(t.pValue, 1); // one speaker carries the whole difference
  assert.equal(e.vsBaselineNote, undefined);
  assert.equal(b.noiseFloor!.length, 3);
  for (const n of b.noiseFloor!) for (const m of METRIC_NAMES) { assert.equal(n.tests[m].delta, 0); assert.equal(n.tests[m].pValue, 1); }
  const floor = seedNoiseFloor(recs, 'energy', { bootstrap: 50 });
  assert.deepEqual(floor.map((n) => [n.seedA, n.seedB]), [[1, 2], [1, 3], [2, 3]]);
  assert.equal(floor[0].tests.wa.delta, 0);
  assert.ok(Math.abs(floor[1].tests.wa.delta - -3 / 24) < 1e-12);
  assert.ok(Math.abs(floor[1].tests.wa.detectable - 3 / 24) < 1e-12);
});

test('aggregateArms without speaker labels: utterances are the unit, and a note says so', () => {
  const ids = Array.from({ length: 12 }, (_, i) => `u${i}`);
  const truth = ids.map((_, i) => i % 3);
  const aggs = aggregateArms([rec('baseline', 1, 'f', ids, truth, truth.map((t) => wrong(t, 3))), rec('energy', 1, 'f', ids, truth, truth)], [], { bootstrap: 50, noiseFloor: false });
  assert.equal(aggs[1].unit, 'utterance');
  assert.equal(aggs[1].vsBaseline!.wa.units, 12);
  assert.match(aggs[1].vsBaselineNote!, /no speaker labels/);
});

test('expanded percentile interval (Hesterberg 2015): t and normal quantiles, the tail used for S clusters', () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-6);
  assert.ok(Math.abs(normalCdf(-1.959964) - 0.025) < 1e-6);
  assert.ok(Math.abs(tQuantile(0.975, 9) - 2.262157) < 1e-3);
  assert.ok(Math.abs(tQuantile(0.975, 30) - 2.042272) < 1e-4);
  // 10 speakers: z = sqrt(10/9) * 2.2622 = 2.3846 -> the 0.855th / 99.145th percentiles
  assert.ok(Math.abs(expandedTail(10) - 0.00855) < 2e-4, `${expandedTail(10)}`);
  assert.ok(Math.abs(expandedTail(5000) - 0.025) < 1e-4);
  assert.equal(expandedTail(2), 0);
  // the expanded CI is at least as wide as the plain percentile one
  const { truth, clusters } = design(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], 12, 3);
  const r = seededRandom(4);
  const pred = truth.map((t) => (r() < 0.6 ? t : wrong(t, 3)));
  const wide = clusterBootstrapCIs({ truth, pred, nClasses: 3, clusters }, ['wa'], { iterations: 400 }).wa;
  const plain = clusterBootstrapCIs({ truth, pred, nClasses: 3, clusters }, ['wa'], { iterations: 400, expand: false }).wa;
  assert.ok(wide.low <= plain.low && wide.high >= plain.high && wide.high - wide.low > plain.high - plain.low);
});
