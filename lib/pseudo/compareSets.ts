/**
 * How much two label sets of the same task agree on the clips they share — e.g. tasks 2 and 3's
 * targets from face tracks at 10 and at 25 frames per second: segment by segment (task 2, on the
 * same 10 ms audio grid), clip by clip (task 3), plus the correlation of the segment statistic.
 * Pure; used by `npm run bench -- face-fps`.
 */
import { clipTensors, type LabelSetSummary } from './labelsets';
import type { TensorMap } from '../store/safetensors';

export interface LabelAgreement {
  clips: number;
  /** Segments (task 2) or clips (task 3) compared: labelled in both sets. */
  units: number;
  /** Share of units with the same label. */
  agreement: number;
  /** Cohen's kappa of the two labelings. */
  kappa: number;
  /** Pearson correlation of the segment statistic (task 2), NaN otherwise. */
  valueCorrelation: number;
  /** Units labelled in one set but excluded in the other. */
  excludedInOne: number;
}

function kappa(pairs: [number, number][]): number {
  const n = pairs.length;
  if (n === 0) return NaN;
  const classes = [...new Set(pairs.flat())];
  const po = pairs.filter(([a, b]) => a === b).length / n;
  let pe = 0;
  for (const c of classes) pe += (pairs.filter(([a]) => a === c).length / n) * (pairs.filter(([, b]) => b === c).length / n);
  return pe === 1 ? 1 : (po - pe) / (1 - pe);
}

function pearson(x: number[], y: number[]): number {
  const n = x.length;
  if (n < 2) return NaN;
  const mx = x.reduce((s, v) => s + v, 0) / n, my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) ** 2; syy += (y[i] - my) ** 2; }
  return sxy / Math.sqrt(sxx * syy);
}

export function compareLabelSets(a: { summary: LabelSetSummary; tensors: TensorMap }, b: { summary: LabelSetSummary; tensors: TensorMap }): LabelAgreement {
  const idsB = new Set(b.summary.perClip.map((p) => p.id));
  const ids = a.summary.perClip.map((p) => p.id).filter((id) => idsB.has(id));
  const pairs: [number, number][] = [];
  const va: number[] = [], vb: number[] = [];
  let excludedInOne = 0;
  for (const id of ids) {
    const ta = clipTensors(a.tensors, id), tb = clipTensors(b.tensors, id);
    if (ta.label && tb.label) {
      pairs.push([Number(ta.label.data[0]), Number(tb.label.data[0])]);
      continue;
    }
    if (!ta.labels || !tb.labels || !ta.segments || !tb.segments) continue;
    const key = (t: typeof ta, s: number) => `${t.segments!.data[2 * s]}-${t.segments!.data[2 * s + 1]}`;
    const segB = new Map<string, number>();
    for (let s = 0; s < tb.labels.data.length; s++) segB.set(key(tb, s), s);
    for (let s = 0; s < ta.labels.data.length; s++) {
      const j = segB.get(key(ta, s));
      if (j === undefined) continue;
      const la = Number(ta.labels.data[s]), lb = Number(tb.labels.data[j]);
      if (la < 0 && lb < 0) continue;
      if (la < 0 || lb < 0) { excludedInOne++; continue; }
      pairs.push([la, lb]);
      if (ta.values && tb.values) { va.push(Number(ta.values.data[s])); vb.push(Number(tb.values.data[j])); }
    }
  }
  return {
    clips: ids.length, units: pairs.length, agreement: pairs.length ? pairs.filter(([x, y]) => x === y).length / pairs.length : NaN,
    kappa: kappa(pairs), valueCorrelation: va.length ? pearson(va, vb) : NaN, excludedInOne,
  };
}
