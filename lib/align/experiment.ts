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
import { resultsDir } from '../paths';
import { rowsToCsv, rowsToMarkdown, tableRows, type SerTableRow } from '../report/ser';
import { writeFileAtomic } from '../store/atomic';
import { loadAlignData, FOUR_CLASSES } from './data';
import { disposeHfleaModels, runHflea, type HfleaConfig, type HfleaData, type HfleaResult } from './hflea';


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
}

export interface HfleaExperiment {
  settings: HfleaSettings;
  runs: FoldRun[];
  aggregates: ArmAggregate[];
  rows: SerTableRow[];
  markdown: string;
  files: { csv: string; markdown: string };
}

export const HFLEA_ARMS = ['tapt', 'hflea'] as const;
export const HFLEA_ARM_LABELS: Record<string, string> = { tapt: '(a) fine-tuned HuBERT (TAPT)', hflea: '(d) HFLEA: pseudo-label pretraining + attention' };

function encoderFactory(s: HfleaSettings): () => HubertModel {
  if (s.model === 'base') { const dir = s.checkpointDir!; return () => loadHubert(dir); }
  return () => initHubert(hubertTinyConfig(), s.config.seed);
}

/** Run HFLEA on the first `settings.folds` EmoDB folds; write results/hflea_emodb.{csv,md}. */
export async function runHfleaEmodb(settings: HfleaSettings, manifest: Manifest = emodbManifest(undefined, { boredom: 'drop' }), opts: { keepModels?: boolean } = {}): Promise<HfleaExperiment> {
  const folds = emodbFolds(manifest).slice(0, settings.folds);
  const runs: FoldRun[] = [];
  const records: EvaluatedFold[] = [];
  for (const split of folds) {
    const data = await loadAlignData(manifest, split, { classes: FOUR_CLASSES, perClass: { train: settings.perClass.train ?? undefined, dev: settings.perClass.dev ?? undefined, test: settings.perClass.test ?? undefined }, normalize: settings.model === 'tiny', seed: settings.config.seed });
    const result = await runHflea(data, settings.config, encoderFactory(settings));
    const ids = data.test.map((c) => c.id);
    records.push({ arm: 'tapt', seed: settings.config.seed, fold: split.name, classes: data.classes, ids, truth: result.finetune.test.truth, pred: result.finetune.test.pred });
    records.push({ arm: 'hflea', seed: settings.config.seed, fold: split.name, classes: data.classes, ids, truth: result.aligned.test.truth, pred: result.aligned.test.pred });
    if (!opts.keepModels) disposeHfleaModels(result);
    runs.push({ fold: split.name, data, result });
  }
  const aggregates = aggregateArms(records, [...HFLEA_ARMS], { baseline: 'tapt' });
  const rows = tableRows(aggregates, 'tapt').map((r) => ({ ...r, label: HFLEA_ARM_LABELS[r.arm] ?? r.arm }));
  const scale = settings.profile === 'ci' ? '> **SMOKE-TEST SCALE (EMOLAB_PROFILE=ci)**: tiny HuBERT trained from scratch on a handful of clips; these numbers check the pipeline, they are not a reproduction of Li et al.\n\n' : '';
  const markdown = [
    `# HFLEA on EmoDB (${FOUR_CLASSES.join(', ')}), ${settings.model} HuBERT`,
    '',
    scale + `Protocol: EmoDB leave-two-speakers-out, ${folds.length} fold(s); test speakers are never used for fine-tuning, clustering or pretraining; test scores alone (no (val+test)/2). Metrics in %, mean ± std over folds.`,
    '',
    rowsToMarkdown(rows).replace('| Pretraining |', '| Model |'),
    '',
  ].join('\n');
  const files = { csv: join(resultsDir(), 'hflea_emodb.csv'), markdown: join(resultsDir(), 'hflea_emodb.md') };
  writeFileAtomic(files.csv, rowsToCsv(rows));
  writeFileAtomic(files.markdown, markdown);
  return { settings, runs, aggregates, rows, markdown, files };
}

