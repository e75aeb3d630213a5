/**
 * From per-(arm, seed, fold) test predictions to the numbers of a result table. Pure; the records
 * come from lib/finetune's run files.
 *
 * Per arm:
 * - `pooled`: metrics of the SEED-ENSEMBLED predictions (lib/eval/ensemble: mean class
 *   probabilities over seeds, argmax), all folds pooled — one prediction per test utterance;
 * - `ci`: cluster bootstrap over test speakers of those pooled metrics;
 * - `perFold`: mean and std over folds of the per-fold metric, each fold's value being the mean
 *   over its seeds (n = folds; std is 0 for a single fold and must not be printed as "± 0");
 * - `perRun` / `perSeed` (as before): over (seed, fold) models / over seeds of fold-pooled metrics;
 * - `vsBaseline`: the paired test against the baseline on the ensembled predictions, the test
 *   SPEAKER being the exchangeable unit (randomization p, exact when 2^speakers <= 4096; paired
 *   cluster-bootstrap CI of the difference; the smallest detectable difference) — lib/eval/stats;
 * - `noiseFloor` (baseline only): the same test between pairs of single seeds of the baseline.
 *
 * Speakers come from each record's `speakers` (per utterance), else `opts.speakerOf`, else the
 * EmoDB / CREMA-D id conventions; utterances without a speaker are their own unit (then `unit` is
 * 'utterance' or 'mixed', and a note says so).
 */
import { EmolabError } from '../errors';
import { addConfusions, confusionMatrix, metricsFromConfusion, METRIC_NAMES, type ClassificationMetrics, type ConfusionMatrix, type MetricName } from './metrics';
import { clusterBootstrapCIs, clusterPairedTests, summarize, type Interval, type PairedTest, type PairedTestOptions, type Summary } from './stats';
import { ensembleSeeds, unitKeyOf, type EnsembledArm } from './ensemble';

/** Test predictions of one trained model (one arm, one seed, one fold). */
export interface EvaluatedFold {
  arm: string;
  seed: number;
  fold: string;
  classes: string[];
  ids: string[];
  truth: number[];
  pred: number[];
  /** Class probabilities per utterance (optional: without them a seed counts as a one-hot vote). */
  probs?: number[][];
  /** Test speaker of each utterance (optional: see the file comment). */
  speakers?: (string | undefined)[];
}

/** The unit of the paired test and the bootstrap. */
export type StatUnit = 'speaker' | 'utterance' | 'mixed';

export interface ArmAggregate {
  arm: string;
  /** Number of (seed, fold) models. */
  runs: number;
  seeds: number[];
  folds: string[];
  /** Test speakers (sorted), from the ensembled predictions. */
  speakers: string[];
  /** Test utterances after seed-ensembling. */
  utterances: number;
  unit: StatUnit;
  /** A non-neural reference row (e.g. 'functionals'), compared with the baseline but not a pretraining arm. */
  reference: boolean;
  /** Mean/std over (seed, fold) models of each metric. */
  perRun: Record<MetricName, Summary>;
  /** Mean/std over seeds of the metrics of each seed's predictions pooled over folds. */
  perSeed: Record<MetricName, Summary>;
  /** Mean/std over folds of each fold's metric averaged over that fold's seeds. */
  perFold: Record<MetricName, Summary>;
  /** Metrics of the seed-ensembled predictions, all folds pooled (one prediction per utterance). */
  pooled: ClassificationMetrics;
  /** Metrics of every (seed, fold) prediction pooled, without ensembling (what `pooled` was before). */
  pooledAllRuns: ClassificationMetrics;
  /** Speaker-level cluster-bootstrap CI of each metric of `pooled`. */
  ci: Record<MetricName, Interval>;
  /** Summed confusion matrix over seeds and folds. */
  confusion: ConfusionMatrix;
  /** Confusion matrix of the seed-ensembled predictions. */
  ensembledConfusion: ConfusionMatrix;
  /** The seed-ensembled predictions themselves. */
  ensembled: EnsembledArm;
  /** Paired test against the baseline, per metric (absent for the baseline itself or when not comparable). */
  vsBaseline?: Record<MetricName, PairedTest>;
  /** Why no paired test was possible, or on what it was done, when that needs saying. */
  vsBaselineNote?: string;
  /** Baseline only: the paired test between pairs of its single seeds (the seed-to-seed noise floor). */
  noiseFloor?: SeedNoise[];
}

export interface AggregateOptions {
  baseline?: string;
  bootstrap?: number;
  permutations?: number;
  seed?: number;
  /** Exact enumeration up to 2^units <= exactLimit (default 4096). */
  exactLimit?: number;
  /** Speaker of an utterance id when records carry no `speakers`. */
  speakerOf?: (id: string) => string | undefined;
  /** Arms that are references rather than pretraining arms (default ['functionals']). */
  referenceArms?: string[];
  /** Compute the baseline's seed-to-seed noise floor (default true). */
  noiseFloor?: boolean;
}

export const REFERENCE_ARMS: readonly string[] = ['functionals'];

function checkRecord(r: EvaluatedFold, classes: string[]): void {
  if (r.ids.length !== r.truth.length || r.truth.length !== r.pred.length) {
    throw new EmolabError('eval', `arm ${r.arm} seed ${r.seed} fold ${r.fold}: ids/truth/pred lengths differ (${r.ids.length}/${r.truth.length}/${r.pred.length})`);
  }
  if (r.classes.join(',') !== classes.join(',')) {
    throw new EmolabError('eval', `arm ${r.arm} seed ${r.seed} fold ${r.fold}: classes [${r.classes}] differ from [${classes}]`);
  }
}

function summaries(ms: ClassificationMetrics[]): Record<MetricName, Summary> {
  return Object.fromEntries(METRIC_NAMES.map((m) => [m, summarize(ms.map((x) => x[m]))])) as Record<MetricName, Summary>;
}

const clusterOf = (spk: string | undefined, key: string): string => (spk === undefined ? `utterance:${key}` : `speaker:${spk}`);

function unitOf(speakers: (string | undefined)[]): StatUnit {
  const known = speakers.filter((s) => s !== undefined).length;
  return known === speakers.length ? 'speaker' : known === 0 ? 'utterance' : 'mixed';
}

/** Per fold: the mean over its seeds of each metric; then mean/std over folds. */
export function perFoldSummaries(records: EvaluatedFold[], nClasses: number): Record<MetricName, Summary> {
  const folds = [...new Set(records.map((r) => r.fold))].sort();
  const perFold = folds.map((f) => {
    const ms = records.filter((r) => r.fold === f).map((r) => classificationMetricsOf(r, nClasses));
    return Object.fromEntries(METRIC_NAMES.map((m) => [m, ms.reduce((s, x) => s + x[m], 0) / ms.length])) as Record<MetricName, number>;
  });
  return Object.fromEntries(METRIC_NAMES.map((m) => [m, summarize(perFold.map((x) => x[m]))])) as Record<MetricName, Summary>;
}

function classificationMetricsOf(r: EvaluatedFold, k: number): ClassificationMetrics {
  return metricsFromConfusion(confusionMatrix(r.truth, r.pred, k));
}

/** Paired inputs (arm vs other) on the utterances both were scored on; speakers from either side. */
function pairUp(a: EnsembledArm, b: EnsembledArm, k: number, what: string): { arm: { truth: number[]; pred: number[]; nClasses: number; clusters: string[] }; base: { truth: number[]; pred: number[]; nClasses: number }; shared: number; unit: StatUnit } | undefined {
  const bIndex = new Map(b.keys.map((key, i) => [key, i]));
  const idx: [number, number][] = [];
  a.keys.forEach((key, i) => { const j = bIndex.get(key); if (j !== undefined) idx.push([i, j]); });
  if (idx.length === 0) return undefined;
  if (idx.some(([i, j]) => a.truth[i] !== b.truth[j])) {
    throw new EmolabError('eval', `${what}: the same utterance has different labels than in the baseline (different protocol?)`);
  }
  const speakers = idx.map(([i, j]) => b.speakers[j] ?? a.speakers[i]);
  return {
    arm: { truth: idx.map(([i]) => a.truth[i]), pred: idx.map(([i]) => a.pred[i]), nClasses: k, clusters: idx.map(([i], n) => clusterOf(speakers[n], a.keys[i])) },
    base: { truth: idx.map(([i]) => a.truth[i]), pred: idx.map(([, j]) => b.pred[j]), nClasses: k },
    shared: idx.length,
    unit: unitOf(speakers),
  };
}

/** The seed-to-seed noise floor of one arm: the speaker-level paired test of seed A against seed B. */
export interface SeedNoise {
  arm: string;
  seedA: number;
  seedB: number;
  unit: StatUnit;
  /** metric(seed B) - metric(seed A), its p-value and the |delta| needed for p < 0.05, per metric. */
  tests: Record<MetricName, PairedTest>;
}

/**
 * The paired speaker-level test between every pair of seeds of the SAME arm (each seed's folds
 * pooled, no ensembling): how large a difference seeds alone produce, and the |delta| needed for
 * p < 0.05 at the single-seed level. An arm ensembling n seeds is less noisy than this.
 */
export function seedNoiseFloor(records: EvaluatedFold[], arm: string, opts: Omit<AggregateOptions, 'baseline' | 'noiseFloor' | 'referenceArms'> = {}): SeedNoise[] {
  const recs = records.filter((r) => r.arm === arm);
  if (recs.length === 0) return [];
  const k = recs[0].classes.length;
  recs.forEach((r) => checkRecord(r, recs[0].classes));
  const seeds = [...new Set(recs.map((r) => r.seed))].sort((a, b) => a - b);
  const bySeed = new Map(seeds.map((s) => [s, ensembleSeeds(recs.filter((r) => r.seed === s), { speakerOf: opts.speakerOf })]));
  const out: SeedNoise[] = [];
  for (let i = 0; i < seeds.length; i++) {
    for (let j = i + 1; j < seeds.length; j++) {
      const p = pairUp(bySeed.get(seeds[j])!, bySeed.get(seeds[i])!, k, `arm ${arm} seeds ${seeds[i]}/${seeds[j]}`);
      if (!p) continue;
      out.push({
        arm, seedA: seeds[i], seedB: seeds[j], unit: p.unit,
        tests: clusterPairedTests(p.arm, p.base, METRIC_NAMES, testOptions(opts)),
      });
    }
  }
  return out;
}

function testOptions(opts: AggregateOptions): PairedTestOptions {
  return { permutations: opts.permutations, bootstrap: opts.bootstrap ?? 1000, seed: opts.seed ?? 7, exactLimit: opts.exactLimit };
}

/**
 * Aggregate one experiment (same protocol, same fine-tuning mode) over arms. Arms keep the order of
 * `armOrder` (unknown arms after, sorted).
 */
export function aggregateArms(records: EvaluatedFold[], armOrder: string[] = [], opts: AggregateOptions = {}): ArmAggregate[] {
  if (records.length === 0) return [];
  const classes = records[0].classes;
  const k = classes.length;
  records.forEach((r) => checkRecord(r, classes));
  const byArm = new Map<string, EvaluatedFold[]>();
  for (const r of records) byArm.set(r.arm, [...(byArm.get(r.arm) ?? []), r]);
  const arms = [...byArm.keys()].sort((a, b) => {
    const ia = armOrder.indexOf(a); const ib = armOrder.indexOf(b);
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib) || a.localeCompare(b);
  });
  const baselineName = opts.baseline ?? 'baseline';
  const references = opts.referenceArms ?? REFERENCE_ARMS;
  const ens = new Map(arms.map((arm) => [arm, ensembleSeeds(byArm.get(arm)!, { speakerOf: opts.speakerOf })]));
  const baseEns = ens.get(baselineName);
  return arms.map((arm) => {
    const recs = byArm.get(arm)!;
    const e = ens.get(arm)!;
    const cms = recs.map((r) => confusionMatrix(r.truth, r.pred, k));
    const seeds = [...new Set(recs.map((r) => r.seed))].sort((a, b) => a - b);
    const folds = [...new Set(recs.map((r) => r.fold))].sort();
    const perSeedMetrics = seeds.map((s) => metricsFromConfusion(addConfusions(cms.filter((_, i) => recs[i].seed === s))));
    const ensembledConfusion = confusionMatrix(e.truth, e.pred, k);
    const clusters = e.keys.map((key, i) => clusterOf(e.speakers[i], key));
    const ci = clusterBootstrapCIs({ truth: e.truth, pred: e.pred, nClasses: k, clusters }, METRIC_NAMES, { iterations: opts.bootstrap ?? 1000, seed: opts.seed ?? 1 });
    const agg: ArmAggregate = {
      arm, runs: recs.length, seeds, folds,
      speakers: [...new Set(e.speakers.filter((s): s is string => s !== undefined))].sort(),
      utterances: e.keys.length,
      unit: unitOf(e.speakers),
      reference: references.includes(arm),
      perRun: summaries(cms.map(metricsFromConfusion)),
      perSeed: summaries(perSeedMetrics),
      perFold: perFoldSummaries(recs, k),
      pooled: metricsFromConfusion(ensembledConfusion),
      pooledAllRuns: metricsFromConfusion(addConfusions(cms)),
      ci, confusion: addConfusions(cms), ensembledConfusion, ensembled: e,
    };
    if (arm === baselineName) {
      if (opts.noiseFloor !== false && seeds.length > 1) agg.noiseFloor = seedNoiseFloor(recs, arm, opts);
    } else if (!baseEns) {
      agg.vsBaselineNote = `no "${baselineName}" arm to compare with`;
    } else {
      const p = pairUp(e, baseEns, k, `arm ${arm}`);
      if (!p) {
        agg.vsBaselineNote = 'no (fold, utterance) in common with the baseline';
      } else {
        agg.vsBaseline = clusterPairedTests(p.arm, p.base, METRIC_NAMES, testOptions(opts));
        const notes: string[] = [];
        if (p.shared < e.keys.length || p.shared < baseEns.keys.length) notes.push(`paired on the ${p.shared} utterances both arms were scored on (arm ${e.keys.length}, baseline ${baseEns.keys.length})`);
        if (p.unit !== 'speaker') notes.push(p.unit === 'utterance' ? 'no speaker labels: utterances were treated as independent units' : 'some utterances had no speaker label and were treated as their own unit');
        if (notes.length) agg.vsBaselineNote = notes.join('; ');
      }
    }
    return agg;
  });
}
