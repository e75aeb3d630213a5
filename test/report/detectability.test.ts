import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectabilityMarkdown, type SerTableRow } from '../../lib/report/ser';
import type { SeedNoise } from '../../lib/eval/aggregate';
import { METRIC_NAMES, type MetricName } from '../../lib/eval/metrics';

const all = (x: number): Record<MetricName, number> => Object.fromEntries(METRIC_NAMES.map((m) => [m, x])) as Record<MetricName, number>;

function row(arm: string, o: { f1?: number; detF1?: number; detUa?: number; reference?: boolean; speakers?: number } = {}): SerTableRow {
  const pooled = { ...all(0.55), f1: o.f1 ?? 0.55 };
  const r: SerTableRow = {
    arm, label: arm, runs: 4, seeds: 2, folds: 2, failed: 0, reference: o.reference ?? false, speakers: o.speakers ?? 4, utterances: 100, unit: 'speaker',
    pooled, ci: Object.fromEntries(METRIC_NAMES.map((m) => [m, [0.4, 0.7]])) as Record<MetricName, [number, number]>, mean: pooled, std: all(0.01), f1Ci: [0.4, 0.7],
  };
  if (o.detF1 !== undefined) {
    r.delta = all(0.01);
    r.relGainPct = all(2);
    r.pValue = all(0.5);
    r.detectable = { ...all(0.1), f1: o.detF1, ua: o.detUa ?? o.detF1 };
  }
  return r;
}

const noise = (f1Delta: number): SeedNoise => ({
  arm: 'baseline', seedA: 1, seedB: 2, unit: 'speaker',
  tests: Object.fromEntries(METRIC_NAMES.map((m) => [m, { metric: m, delta: m === 'f1' ? f1Delta : 0.5, relativePct: 0, armValue: 0, baselineValue: 0, pValue: 0.5, ci: { low: 0, high: 0 }, permutations: 16, exact: true, detectable: 0.05 }])),
} as unknown as SeedNoise);

// baseline F1 60%: a paper-sized gain is 4.9% of 60 = 2.94 points; 8 speakers: the exact test can reach p = 2/256
const base = row('baseline', { f1: 0.6, speakers: 8 });

test('detectability: F1/UA ranges in points, seed-to-seed movements, and a paper-sized gain that cannot be shown', () => {
  const rows = [base,
    row('energy', { detF1: 0.05, detUa: 0.04 }),
    row('all', { detF1: 0.08, detUa: 0.065 }),
    row('au'), // no comparison (e.g. every model failed): ignored
    row('functionals', { detF1: 0.01, detUa: 0.2, reference: true }), // a reference row: ignored
  ];
  const md = detectabilityMarkdown({ rows, noiseFloor: [noise(0.021), noise(-0.034)] });
  assert.match(md, /With 8 test speakers/);
  assert.doesNotMatch(md, /smallest possible p/);
  assert.match(md, /by 5\.0–8\.0 points \(UA: 4\.0–6\.5 points\)/);
  assert.match(md, /moved by 2\.1, 3\.4 points/);
  assert.match(md, /\+4\.9% relative of our baseline F1 \(60\.0\), is 2\.9 points/);
  assert.match(md, /cannot be shown/);
  assert.match(md, /below the smallest detectable difference of every arm/);
  assert.doesNotMatch(md, /within what this data can detect/);
  assert.doesNotMatch(md, /1\.0–/, 'the reference row does not set the lower end');
});

test('detectability: a gain above the smallest detectable difference is "within what this data can detect"; no noise floor, no seed sentence', () => {
  const md = detectabilityMarkdown({ rows: [base, row('energy', { detF1: 0.02, detUa: 0.03 }), row('all', { detF1: 0.035, detUa: 0.03 })], noiseFloor: [] });
  assert.match(md, /by 2\.0–3\.5 points \(UA: 3\.0–3\.0 points\)/);
  assert.match(md, /is 2\.9 points: (within what this data can detect for every arm|detectable only for .*)\./);
  assert.doesNotMatch(md, /single seeds/);
});

test('detectability: \'\' without a baseline, without pretrained arms, or with only reference rows', () => {
  assert.equal(detectabilityMarkdown({ rows: [row('energy', { detF1: 0.05 })], noiseFloor: [noise(0.01)] }), '');
  assert.equal(detectabilityMarkdown({ rows: [base], noiseFloor: [noise(0.01)] }), '');
  assert.equal(detectabilityMarkdown({ rows: [base, row('functionals', { detF1: 0.01, reference: true })], noiseFloor: [] }), '');
  assert.equal(detectabilityMarkdown({ rows: [], noiseFloor: [] }), '');
  // another baseline name
  assert.match(detectabilityMarkdown({ rows: [row('scratch', { f1: 0.6, speakers: 8 }), row('energy', { detF1: 0.05 })], noiseFloor: [] }, 'scratch'), /cannot be shown/);
});

test('detectability: with at most 5 test speakers the exact test cannot reach p < .05 at all (smallest p = 2 / 2^S), whatever the Δ needed says', () => {
  for (const [speakers, assignments, minP] of [[4, 16, '0.125'], [5, 32, '0.063']] as const) {
    const md = detectabilityMarkdown({ rows: [row('baseline', { f1: 0.6, speakers }), row('energy', { detF1: 0.01, detUa: 0.01 })], noiseFloor: [noise(0.02)] });
    assert.match(md, new RegExp(`With ${speakers} test speakers .* 2\\^${speakers} = ${assignments} assignments, so its smallest possible p is ${minP.replace('.', '\\.')}: no difference, however large, can reach p < 0\\.05`));
    assert.match(md, /cannot be shown/);
    assert.doesNotMatch(md, /within what this data can detect/, 'a small Δ needed must not make the gain look detectable');
  }
  // 6 speakers: 2/64 < .05, the ranges are given again
  const six = detectabilityMarkdown({ rows: [row('baseline', { f1: 0.6, speakers: 6 }), row('energy', { detF1: 0.01, detUa: 0.01 })], noiseFloor: [] });
  assert.doesNotMatch(six, /smallest possible p/);
  assert.match(six, /With 6 test speakers .* by 1\.0–1\.0 points/);
  assert.match(six, /within what this data can detect/);
});

// lib/report/ser.ts: the few-speakers branch uses base.speakers even when the test unit is the utterance
// (no speaker labels: speakers = 0, randomization over utterances), so it says "2^0 = 1 assignments,
// smallest possible p is 2.000". Expected: the utterance-level ranges.
test('detectability: without speaker labels (unit utterance, 0 speakers) the ranges are still given', () => {
  const b = { ...row('baseline', { f1: 0.6, speakers: 0 }), unit: 'utterance' as const };
  const e = { ...row('energy', { detF1: 0.05, detUa: 0.05, speakers: 0 }), unit: 'utterance' as const };
  const md = detectabilityMarkdown({ rows: [b, e], noiseFloor: [] });
  assert.doesNotMatch(md, /smallest possible p/);
  assert.match(md, /by 5\.0–5\.0 points/);
});
