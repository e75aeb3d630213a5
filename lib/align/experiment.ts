/**
 * HFLEA on EmoDB, speaker-independent: settings per profile, the run over folds, and the result table
 * in the layout of the SER results (lib/report/ser: precision, recall, F1, UA, WA as mean ± std over
 * folds, bootstrap CI, paired test of (d) against (a)).
 *
 * Settings are complete objects from lib/experiments/li2024 (tiny HuBERT from scratch for ci and
 * cpu; facebook/hubert-base-ls960 with HFLEA's settings for paper).
 */
import { join } from 'node:path';
import { emodbFolds, emodbManifest } from '../data/emodb';
import type { Manifest } from '../data/types';
import { aggregateArms, type ArmAggregate, type EvaluatedFold } from '../eval/aggregate';
import { initHubert, loadHubert, type HubertModel } from '../models/hubert';
import { hubertTinyConfig } from '../models/hubertConfig';
import { resultsDir, runsRoot } from '../paths';
import { writeJsonAtomic } from '../atomic';
import { hfleaRecordsRoot, type HfleaFoldRecord } from '../report/explorer';
import { rowsToCsv, rowsToMarkdown, tableRows, type SerTableRow } from '../report/ser';
import { writeFileAtomic } from '../atomic';
import { loadAlignData, FOUR_CLASSES } from './data';
import { shortHash } from '../hash';
import { disposeHfleaModels, hfleaFingerprint, runHflea, type HfleaConfig, type HfleaData, type HfleaResult } from './hflea';
import { writeHfleaRunJson } from './hfleaRun';


/** The complete settings of one HFLEA experiment (built per profile by lib/experiments/li2024). */
export interface HfleaSettings {
  profile: string;
  /** Which HuBERT: the tiny config trained from scratch, or the released base checkpoint. */
  model: 'tiny' | 'base';
  /** Folder of the base checkpoint (model 'base' only). */
  checkpointDir: string | null;
  config: HfleaConfig;
  /** Clips per class kept in each set (null: all). */
  perClass: { train: number | null; dev: number | null; test: number | null };
  /** How many of EmoDB's five leave-two-speakers-out folds to run. */
  folds: number;
}

export interface FoldRun {
  fold: string;
  data: HfleaData;
  result: HfleaResult;
  /** The fold's run folder (checkpoints of every stage, run.json). */
  runDir: string;
}

export interface HfleaExperiment {
  settings: HfleaSettings;
  runs: FoldRun[];
  aggregates: ArmAggregate[];
  rows: SerTableRow[];
  markdown: string;
  files: { csv: string; markdown: string };
}

/** The two evaluated models: after stage (2) FT (the baseline of the comparison) and after stage (5). */
export const HFLEA_ARMS = ['ft', 'hflea'] as const;
export const HFLEA_ARM_LABELS: Record<string, string> = { ft: 'TAPT + FT (fine-tuned HuBERT)', hflea: 'HFLEA: TAPT + FT + alignment pretraining + attention FT' };
const NO_TAPT_LABELS: Record<string, string> = { ft: 'FT (fine-tuned HuBERT, no TAPT)', hflea: 'HFLEA without TAPT: FT + alignment pretraining + attention FT' };

function encoderFactory(s: HfleaSettings): () => HubertModel {
  if (s.model === 'base') { const dir = s.checkpointDir!; return () => loadHubert(dir); }
  return () => initHubert(hubertTinyConfig(), s.config.seed);
}

/** Experiment name of the records: hflea-emodb-<profile>-<hash of the settings> (runs/hflea/<name>/). */
export function hfleaExperimentName(s: HfleaSettings): string {
  return `emodb-${s.profile}-${shortHash({ model: s.model, config: s.config, perClass: s.perClass }, 8)}`;
}

/**
 * Run HFLEA on the first `settings.folds` EmoDB folds; write results/hflea_emodb.{csv,md} and one
 * record per fold under runs/hflea/<experiment>/ (the results explorer reads them). Each fold runs in
 * runs/hflea/<experiment>/<fold>/ (`hfleaFoldDir`): every stage checkpoints there, so a run killed
 * midway resumes and a finished one is loaded; run.json records it (`emolab verify` checks it).
 */
/** The run folder of one fold of an experiment: runs/hflea/<experiment>/<fold>/ (stage (1) in its tapt/). */
export const hfleaFoldDir = (experiment: string, fold: string, root: string = runsRoot()): string => join(hfleaRecordsRoot(root), experiment, fold);

export async function runHfleaEmodb(settings: HfleaSettings, manifest: Manifest = emodbManifest(undefined, { boredom: 'drop' }), opts: { keepModels?: boolean; root?: string; embed?: boolean; quiet?: boolean; tablesDir?: string; checkpointEvery?: number } = {}): Promise<HfleaExperiment> {
  const folds = emodbFolds(manifest).slice(0, settings.folds);
  const runs: FoldRun[] = [];
  const records: EvaluatedFold[] = [];
  const experiment = hfleaExperimentName(settings);
  const root = opts.root ?? runsRoot();
  const labels = settings.config.tapt ? HFLEA_ARM_LABELS : NO_TAPT_LABELS;
  for (const split of folds) {
    const data = await loadAlignData(manifest, split, { classes: FOUR_CLASSES, perClass: { train: settings.perClass.train ?? undefined, dev: settings.perClass.dev ?? undefined, test: settings.perClass.test ?? undefined }, normalize: settings.model === 'tiny', seed: settings.config.seed });
    const source = settings.model === 'base' ? `base:${settings.checkpointDir}` : `tiny-init-seed${settings.config.seed}`;
    const runDir = hfleaFoldDir(experiment, split.name, root);
    const t0 = Date.now();
    const result = await runHflea(data, settings.config, encoderFactory(settings), { dir: runDir, source, quiet: opts.quiet, checkpointEvery: opts.checkpointEvery, embedClips: opts.embed !== false && runs.length === 0 ? [...data.dev, ...data.test] : undefined });
    writeHfleaRunJson(runDir, { experiment, fold: split.name, settings, fingerprint: hfleaFingerprint(data, settings.config, source), source, data, result, wallS: (Date.now() - t0) / 1000 });
    const ids = data.test.map((c) => c.id);
    records.push({ arm: 'ft', seed: settings.config.seed, fold: split.name, classes: data.classes, ids, truth: result.finetune.test.truth, pred: result.finetune.test.pred });
    records.push({ arm: 'hflea', seed: settings.config.seed, fold: split.name, classes: data.classes, ids, truth: result.aligned.test.truth, pred: result.aligned.test.pred });
    const rec: HfleaFoldRecord = {
      schema: 'emolab.hflea-fold.v1', experiment, corpus: 'emodb', profile: settings.profile, fold: split.name, seed: settings.config.seed,
      classes: data.classes, ids, speakers: data.test.map((c) => c.speaker), truth: result.finetune.test.truth,
      arms: { ft: { label: labels.ft, pred: result.finetune.test.pred }, hflea: { label: labels.hflea, pred: result.aligned.test.pred } }, baseline: 'ft',
    };
    writeJsonAtomic(join(hfleaRecordsRoot(root), experiment, `${split.name}.json`), rec);
    if (!opts.keepModels) disposeHfleaModels(result);
    runs.push({ fold: split.name, data, result, runDir });
  }
  const aggregates = aggregateArms(records, [...HFLEA_ARMS], { baseline: 'ft' });
  const rows = tableRows(aggregates, 'ft').map((r) => ({ ...r, label: labels[r.arm] ?? r.arm }));
  const scale = settings.profile === 'ci' ? '> **SMOKE-TEST SCALE (EMOLAB_PROFILE=ci)**: tiny HuBERT trained from scratch on a handful of clips; these numbers check the pipeline, they are not a reproduction of Li et al.\n\n' : '';
  const markdown = [
    `# HFLEA on EmoDB (${FOUR_CLASSES.join(', ')}), ${settings.model} HuBERT`,
    '',
    scale + `Protocol: EmoDB leave-two-speakers-out, ${folds.length} fold(s); test speakers are never used for TAPT, fine-tuning, clustering or pretraining; test scores alone (no (val+test)/2). Metrics in %, mean ± std over folds.` + (settings.config.tapt ? ` Stage (1) TAPT: ${settings.config.tapt.steps} masked-prediction updates on k-means (k = ${settings.config.tapt.k}) targets from layer ${settings.config.tapt.layer} of the starting model.` : ' No TAPT stage (config.tapt = null).'),
    '',
    rowsToMarkdown(rows).replace('| Pretraining |', '| Model |'),
    '',
  ].join('\n');
  const tables = opts.tablesDir ?? resultsDir();
  const files = { csv: join(tables, 'hflea_emodb.csv'), markdown: join(tables, 'hflea_emodb.md') };
  writeFileAtomic(files.csv, rowsToCsv(rows));
  writeFileAtomic(files.markdown, markdown);
  return { settings, runs, aggregates, rows, markdown, files };
}

