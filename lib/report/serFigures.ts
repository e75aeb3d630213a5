/**
 * The plotly figures of one SER report (lib/report/ser): metrics per arm, the gain over the baseline
 * beside the paper's claim, the confusion matrices and per-class recall, one colour per arm.
 */
import { METRIC_NAMES, normalizeRows, type MetricName } from '../eval/metrics';
import { experimentOutputs } from '../paths';
import { ARM_COLORS, showFigure as showFigureIn, type ShownFigure } from '../show/figures';
import { armLabel, METRIC_LABELS, PAPER_CLAIMS, type SerReport } from './serTables';

export function figureBase(experiment: string, mode: string): string {
  return `ser_${experiment}_${mode}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/**
 * The plotly figures of one report (shown inline in a notebook; HTML + PNG/SVG in `dir`, default the
 * report's figures folder, else the experiment's: $EMOLAB_RUNS/ser/<experiment>/figures).
 */
export function serFigures(rep: Pick<SerReport, 'experiment' | 'mode' | 'classes' | 'rows' | 'aggregates' | 'scale'> & { outputs?: { figures: string } }, dir?: string): ShownFigure[] {
  const base = figureBase(rep.experiment, rep.mode);
  const figDir = dir ?? rep.outputs?.figures ?? experimentOutputs(rep.experiment).figures;
  const showFigure = (fig: Parameters<typeof showFigureIn>[0], name: string, title: string): ShownFigure => showFigureIn(fig, name, title, { dir: figDir });
  const tag = rep.scale === 'smoke-test' ? ' [smoke-test scale]' : '';
  const out: ShownFigure[] = [];
  out.push(showFigure({
    data: rep.rows.filter((r) => r.runs > 0).map((r) => ({
      type: 'bar', name: r.label, marker: { color: ARM_COLORS[r.arm] }, x: METRIC_NAMES.map((m) => METRIC_LABELS[m]), y: METRIC_NAMES.map((m) => 100 * r.pooled[m]),
      error_y: { type: 'data', symmetric: false, array: METRIC_NAMES.map((m) => 100 * (r.ci[m][1] - r.pooled[m])), arrayminus: METRIC_NAMES.map((m) => 100 * (r.pooled[m] - r.ci[m][0])), visible: true },
    })),
    layout: { barmode: 'group', yaxis: { title: { text: '% (seed-ensembled, folds pooled; 95% CI over test speakers)' } }, legend: { orientation: 'h' } },
  }, `${base}_metrics`, `SER ${rep.experiment} (${rep.mode} fine-tuning): metrics per pretraining${tag}`));
  const pretrained = rep.aggregates.filter((a) => a.vsBaseline);
  const baseArm = rep.aggregates.find((a) => a.arm === 'baseline');
  if (pretrained.length > 0) {
    const ms: MetricName[] = ['precision', 'recall', 'f1'];
    out.push(showFigure({
      data: [
        ...pretrained.map((a) => {
          const row = rep.rows.find((r) => r.arm === a.arm)!;
          return {
            type: 'bar', name: row.label, marker: { color: ARM_COLORS[a.arm] }, x: ms.map((m) => METRIC_LABELS[m]), y: ms.map((m) => a.vsBaseline![m].delta * 100),
            error_y: { type: 'data', symmetric: false, array: ms.map((m) => 100 * (a.vsBaseline![m].ci.high - a.vsBaseline![m].delta)), arrayminus: ms.map((m) => 100 * (a.vsBaseline![m].delta - a.vsBaseline![m].ci.low)) },
          };
        }),
        ...(baseArm ? [{
          type: 'scatter', mode: 'markers', name: "paper's best relative gain, applied to our baseline",
          x: ms.map((m) => METRIC_LABELS[m]), y: ms.map((m) => (PAPER_CLAIMS.relativeGainPct[m] ?? 0) * baseArm.pooled[m]),
          marker: { symbol: 'diamond', size: 12, color: 'black' },
        }] : []),
      ],
      layout: { barmode: 'group', yaxis: { title: { text: 'difference to baseline, percentage points (95% paired speaker-bootstrap CI)' }, zeroline: true }, legend: { orientation: 'h' } },
    }, `${base}_gain`, `Arm minus baseline (seed-ensembled, pooled predictions)${tag}`));
  }
  const n = rep.aggregates.length;
  out.push(showFigure({
    data: rep.aggregates.map((a, i) => ({
      type: 'heatmap', z: normalizeRows(a.ensembledConfusion ?? a.confusion).map((row) => row.map((x) => +(100 * x).toFixed(1))), x: rep.classes, y: rep.classes,
      colorscale: 'Blues', reversescale: true, zmin: 0, zmax: 100, showscale: i === n - 1, xaxis: `x${i === 0 ? '' : i + 1}`, yaxis: `y${i === 0 ? '' : i + 1}`,
      texttemplate: '%{z:.0f}', hovertemplate: 'true %{y}<br>predicted %{x}<br>%{z:.1f}%<extra></extra>',
    })),
    layout: {
      grid: { rows: 1, columns: n, pattern: 'independent' },
      annotations: rep.aggregates.map((a, i) => ({ text: armLabel(a.arm), xref: `x${i === 0 ? '' : i + 1} domain`, yref: 'paper', x: 0.5, y: 1.08, showarrow: false, font: { size: 11 } })),
      ...Object.fromEntries(rep.aggregates.flatMap((_, i) => [[`yaxis${i === 0 ? '' : i + 1}`, { autorange: 'reversed', showticklabels: i === 0, ...(i === 0 ? { title: { text: 'true class' } } : {}) }], [`xaxis${i === 0 ? '' : i + 1}`, { tickangle: 45, title: { text: 'predicted class' } }]])),
      width: Math.max(700, 330 * n), height: 420,
    },
  }, `${base}_confusion`, `Confusion matrices of the seed-ensembled predictions, row-normalised % (true class = row)${tag}`));
  out.push(showFigure({
    data: rep.aggregates.map((a) => ({ type: 'bar', name: armLabel(a.arm), marker: { color: ARM_COLORS[a.arm] }, x: rep.classes, y: a.pooled.perClassRecall.map((x) => 100 * x) })),
    layout: { barmode: 'group', yaxis: { title: { text: 'recall % (seed-ensembled, folds pooled)' } }, legend: { orientation: 'h' } },
  }, `${base}_per_class`, `Per-class recall${tag}`));
  return out;
}
