/**
 * From per-(arm, seed, fold) test predictions to the numbers of a result table: mean and standard
 * deviation over seeds x folds, pooled-prediction metrics with a bootstrap CI, confusion matrices,
 * and the paired test of each arm against the baseline over the (seed, fold, utterance) units both
 * arms were scored on. Pure; the records come from lib/finetune's run files.
 */
import { EmolabError } from '../errors';
import { addConfusions, confusionMatrix, metricsFromConfusion, METRIC_NAMES, type ClassificationMetrics, type ConfusionMatrix, type MetricName } from './metrics';
import { bootstrapCI, pairedTest, summarize, type Interval, type PairedTest, type Summary } from './stats';

/** Test predictions of one trained model (one arm, one seed, one fold). */
export interface EvaluatedFold {
  arm: string;
  seed: number;
  fold: string;
  classes: string[];
  ids: string[];
  truth: number[];
  pred: number[];
}

export interface ArmAggregate {
  arm: string;
  /** Number of (seed, fold) models. */
  runs: number;
  seeds: number[];
  folds: string[];
  /** Mean/std over (seed, fold) models of each metric. */
  perRun: Record<MetricName, Summary>;
  /** Mean/std over seeds of the metrics of each seed's predictions pooled over folds. */
  perSeed: Record<MetricName, Summary>;
  /** Metrics of all predictions pooled (every seed and fold). */
  pooled: ClassificationMetrics;
  /** Bootstrap CI of each metric on the pooled predictions. */
  ci: Record<MetricName, Interval>;
  /** Summed confusion matrix over seeds and folds. */
  confusion: ConfusionMatrix;
  /** Paired test against the baseline, per metric (absent for the baseline itself or when not comparable). */
  vsBaseline?: Record<MetricName, PairedTest>;
  /** Why no paired test was possible, when it was not. */
  vsBaselineNote?: string;
}

export interface AggregateOptions {
  baseline?: string;
  bootstrap?: number;
  permutations?: number;
  seed?: number;
}

const unitKey = (r: EvaluatedFold, id: string): string => `${r.seed}|${r.fold}|${id}`;

function pooledUnits(records: EvaluatedFold[]): Map<string, { truth: number; pred: number }> {
  const out = new Map<string, { truth: number; pred: number }>();
  for (const r of records) r.ids.forEach((id, i) => out.set(unitKey(r, id), { truth: r.truth[i], pred: r.pred[i] }));
  return out;
}

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
  const baseUnits = byArm.has(baselineName) ? pooledUnits(byArm.get(baselineName)!) : undefined;
  return arms.map((arm) => {
    const recs = byArm.get(arm)!;
    const cms = recs.map((r) => confusionMatrix(r.truth, r.pred, k));
    const seeds = [...new Set(recs.map((r) => r.seed))].sort((a, b) => a - b);
    const folds = [...new Set(recs.map((r) => r.fold))].sort();
    const perSeedMetrics = seeds.map((s) => metricsFromConfusion(addConfusions(cms.filter((_, i) => recs[i].seed === s))));
    const confusion = addConfusions(cms);
    const units = pooledUnits(recs);
    const keys = [...units.keys()].sort();
    const pooledPreds = { truth: keys.map((u) => units.get(u)!.truth), pred: keys.map((u) => units.get(u)!.pred), nClasses: k };
    const ci = Object.fromEntries(METRIC_NAMES.map((m) => [m, bootstrapCI(pooledPreds, m, { iterations: opts.bootstrap ?? 1000, seed: opts.seed ?? 1 })])) as Record<MetricName, Interval>;
    const agg: ArmAggregate = {
      arm, runs: recs.length, seeds, folds,
      perRun: summaries(cms.map(metricsFromConfusion)),
      perSeed: summaries(perSeedMetrics),
      pooled: metricsFromConfusion(confusion),
      ci, confusion,
    };
    if (arm !== baselineName) {
      if (!baseUnits) {
        agg.vsBaselineNote = `no "${baselineName}" arm to compare with`;
      } else {
        const shared = keys.filter((u) => baseUnits.has(u));
        if (shared.length === 0) {
          agg.vsBaselineNote = 'no (seed, fold, utterance) in common with the baseline';
        } else if (shared.some((u) => baseUnits.get(u)!.truth !== units.get(u)!.truth)) {
          throw new EmolabError('eval', `arm ${arm}: the same utterance has different labels than in the baseline (different protocol?)`);
        } else {
          const a = { truth: shared.map((u) => units.get(u)!.truth), pred: shared.map((u) => units.get(u)!.pred), nClasses: k };
          const b = { truth: a.truth, pred: shared.map((u) => baseUnits.get(u)!.pred), nClasses: k };
          agg.vsBaseline = Object.fromEntries(METRIC_NAMES.map((m) => [m, pairedTest(a, b, m, { permutations: opts.permutations ?? 1000, bootstrap: opts.bootstrap ?? 1000, seed: opts.seed ?? 7 })])) as Record<MetricName, PairedTest>;
          if (shared.length < keys.length || shared.length < baseUnits.size) {
            agg.vsBaselineNote = `paired on the ${shared.length} units both arms were scored on (arm ${keys.length}, baseline ${baseUnits.size})`;
          }
        }
      }
    }
    return agg;
  });
}
