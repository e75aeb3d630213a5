/**
 * What notebook 10 needs to put our results beside the paper's and to discuss the differences
 * honestly: a summary of every pretraining run (pretext accuracy vs the majority-class rate, data
 * size, model size), a check of which SER test speakers the pretrained encoders heard during
 * pretraining (audio only, no labels — transductive, and said so), and how large the paper's gain
 * would be on our baseline compared with the uncertainty of our paired difference.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FoldResult } from '../finetune/results';
import type { EncoderConfig } from '../models/encoder';
import { isPretrainRun, readPretrainRun } from '../train/pretrainRun';
import { runsRoot } from '../paths';
import { PAPER_CLAIMS, type SerReport } from './ser';
import { ARM_COLORS, type Figure } from '../show/figures';

export interface PretrainSummary {
  run: string;
  task: string;
  corpus: string;
  clips: number;
  examples: { train: number; dev: number; test: number };
  speakers: { train: string[]; dev: string[]; test: string[] };
  /** Per head: held-out-speaker accuracy and the majority-class rate. */
  test: Record<string, { accuracy: number; majorityRate: number; n: number }>;
  encoder: Record<string, unknown>;
  /** Trainable encoder parameters, computed from the configuration. */
  encoderParams: number;
  profile: string;
  epochs: number;
  wallS: number;
}

/** Parameters of the encoder of lib/models/encoder.ts, from its configuration. Pure. */
export function encoderParamCount(e: EncoderConfig): number {
  let n = 0;
  let cin = e.inputDim;
  for (const c of e.convChannels) { n += e.convKernel * cin * c + c + 2 * c; cin = c; }
  n += cin * e.dModel + e.dModel;
  const d = e.dModel;
  const layer = 2 * (2 * d) + 4 * (d * d + d) + (d * e.ffDim + e.ffDim) + (e.ffDim * d + d);
  n += e.numLayers * layer + 2 * d;
  return n;
}

/** Every `pretrain()` run under runs/, sorted by name. */
export function pretrainSummaries(root: string = runsRoot()): PretrainSummary[] {
  if (!existsSync(root)) return [];
  const out: PretrainSummary[] = [];
  for (const name of readdirSync(root).sort()) {
    // lib/train's run.json reader; runs of other commands (and folders without one) are skipped.
    const r = readPretrainRun(join(root, name), 'report');
    if (!r || !isPretrainRun(r)) continue;
    const enc = r.config?.model?.encoder;
    out.push({
      run: name, task: r.task, corpus: r.dataset?.corpus ?? '?', clips: r.dataset?.clipsUsed ?? 0,
      examples: r.dataset?.examples ?? { train: 0, dev: 0, test: 0 },
      speakers: r.split?.speakers ?? { train: [], dev: [], test: [] },
      test: r.metrics?.test ?? {}, encoder: (enc ?? {}) as unknown as Record<string, unknown>, encoderParams: enc ? encoderParamCount(enc) : 0,
      profile: r.run?.profile ?? '?', epochs: r.metrics?.perEpoch?.length ?? 0, wallS: r.wallS ?? 0,
    });
  }
  return out;
}

export interface SpeakerOverlap {
  run: string;
  corpus: string;
  /** SER test speakers whose (unlabelled) audio was in the pretraining data. */
  heardTestSpeakers: string[];
  serTestSpeakers: string[];
}

/**
 * For each pretraining run on the SER corpus, the SER test speakers whose audio it trained on
 * (train + dev speakers of the pretraining split). Only the folds fine-tuned from that run count
 * (records whose `init.run` names it; records without `init` count for every run), so an encoder
 * pretrained for one fold is not blamed for hearing another fold's test speakers. Pure.
 */
export function pretrainingSpeakerOverlap(pretrains: PretrainSummary[], folds: (Pick<FoldResult, 'protocol' | 'speakers'> & Partial<Pick<FoldResult, 'init'>>)[]): SpeakerOverlap[] {
  const protocol = folds[0]?.protocol;
  return pretrains.filter((p) => p.corpus === protocol).map((p) => {
    const usedBy = folds.filter((f) => !f.init || (f.init.kind === 'pretrained' && f.init.run === p.run));
    const serTest = [...new Set(usedBy.flatMap((f) => f.speakers.test))].sort();
    const seen = new Set([...p.speakers.train, ...p.speakers.dev]);
    return { run: p.run, corpus: p.corpus, heardTestSpeakers: serTest.filter((s) => seen.has(s)), serTestSpeakers: serTest };
  });
}

export interface DetectableGain {
  arm: string;
  metric: 'precision' | 'recall' | 'f1';
  baselinePct: number;
  /** The paper's best relative gain applied to our baseline, in percentage points. */
  paperGainPp: number;
  /** Our observed difference and its 95% paired-bootstrap CI, percentage points. */
  oursPp: number;
  ciLowPp: number;
  ciHighPp: number;
  /** Half-width of our CI over the paper-size gain: > 1 means such a gain would not be detectable here. */
  noiseToEffect: number;
}

/** Would a gain of the paper's size be visible at our sample size? One row per arm x metric. Pure. */
export function detectableGains(rep: Pick<SerReport, 'aggregates'>): DetectableGain[] {
  const base = rep.aggregates.find((a) => a.arm === 'baseline');
  if (!base) return [];
  const rows: DetectableGain[] = [];
  for (const a of rep.aggregates) {
    if (!a.vsBaseline) continue;
    for (const m of ['precision', 'recall', 'f1'] as const) {
      const t = a.vsBaseline[m];
      const b = 100 * base.pooled[m];
      const paper = (PAPER_CLAIMS.relativeGainPct[m] ?? 0) / 100 * b;
      const half = (100 * (t.ci.high - t.ci.low)) / 2;
      rows.push({ arm: a.arm, metric: m, baselinePct: b, paperGainPp: paper, oursPp: 100 * t.delta, ciLowPp: 100 * t.ci.low, ciHighPp: 100 * t.ci.high, noiseToEffect: paper > 0 ? half / paper : Infinity });
    }
  }
  return rows;
}

/**
 * Held-out pretext accuracy of every run and head (bars, one colour per task as in every notebook)
 * with the majority-class rate of the same targets (black ticks): the gap is what the encoder learned.
 */
export function pretextAccuracyFigure(pretrains: PretrainSummary[]): Figure {
  const rows = pretrains.flatMap((p) => Object.entries(p.test).map(([head, m]) => ({ label: `${p.run} · ${head}`, head, ...m })));
  return {
    data: [
      { type: 'bar', name: 'held-out accuracy', x: rows.map((r) => r.label), y: rows.map((r) => Math.round(1000 * r.accuracy) / 10), marker: { color: rows.map((r) => ARM_COLORS[r.head] ?? '#999') }, text: rows.map((r) => `n=${r.n}`), textposition: 'inside' },
      { type: 'scatter', mode: 'markers', name: 'majority-class rate', x: rows.map((r) => r.label), y: rows.map((r) => Math.round(1000 * r.majorityRate) / 10), marker: { symbol: 'line-ew-open', size: 30, color: '#222', line: { width: 3 } } },
    ],
    layout: { yaxis: { title: { text: 'accuracy on held-out speakers (%)' }, range: [0, 100] }, xaxis: { tickangle: -30, automargin: true }, legend: { orientation: 'h', y: 1.12 }, height: 460, margin: { b: 160 } },
  };
}
