/**
 * HFLEA on EmoDB, speaker-independent: settings per profile, the run over folds, and the result table
 * in the layout of the SER results (lib/report/ser: precision, recall, F1, UA, WA as mean ± std over
 * folds, bootstrap CI, paired test of (d) against (a)).
 *
 * Model choice: the ci profile always trains the tiny HuBERT from scratch; the full profile uses
 * facebook/hubert-base-ls960 when its files are under EMOLAB_MODELS/hubert-base-ls960/ (HFLEA's
 * settings), else the tiny model on every clip.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { emodbFolds, emodbManifest } from '../data/emodb';
import type { Manifest } from '../data/types';
import { aggregateArms, type ArmAggregate, type EvaluatedFold } from '../eval/aggregate';
import { initHubert, loadHubert, type HubertModel } from '../models/hubert';
import { hubertTinyConfig } from '../models/hubertConfig';
import { resultsDir } from '../paths';
import { HUBERT_BASE, hubertBaseDir } from '../models/hubertFetch';
import { pick, profileName } from '../profile';
import { rowsToCsv, rowsToMarkdown, tableRows, type SerTableRow } from '../report/ser';
import { writeFileAtomic } from '../store/atomic';
import { loadAlignData, FOUR_CLASSES } from './data';
import { disposeHfleaModels, hfleaBaseDefaults, hfleaTinyDefaults, runHflea, type HfleaConfig, type HfleaData, type HfleaResult } from './hflea';

export interface HfleaSettings {
  model: 'tiny' | 'base';
  config: HfleaConfig;
  /** Clips per class kept in each set (undefined: all). */
  perClass?: { train?: number; dev?: number; test?: number };
  /** How many of EmoDB's five leave-two-speakers-out folds to run. */
  folds: number;
}

/** Folder of the base checkpoint when both files are there (see lib/models/hubertFetch). */
export function baseCheckpointDir(): string | undefined {
  const dir = hubertBaseDir();
  return HUBERT_BASE.files.every((f) => existsSync(join(dir, f))) ? dir : undefined;
}

export function hfleaSettings(): HfleaSettings {
  const base = profileName() === 'full' ? baseCheckpointDir() : undefined;
  if (base) return { model: 'base', config: hfleaBaseDefaults(), folds: 5 };
  const tiny = hfleaTinyDefaults();
  return pick<HfleaSettings>({
    ci: {
      model: 'tiny',
      config: {
        ...tiny,
        finetune: { ...tiny.finetune, epochs: 3, cropSeconds: 1 },
        pretrain: { ...tiny.pretrain, epochs: 3, cropSeconds: 1 },
        finetuneAttention: { ...tiny.finetuneAttention, epochs: 3, cropSeconds: 1 },
        maxEvalSeconds: 3,
      },
      perClass: { train: 4, dev: 2, test: 3 },
      folds: 1,
    },
    full: { model: 'tiny', config: { ...tiny, finetune: { ...tiny.finetune, epochs: 15 }, pretrain: { ...tiny.pretrain, epochs: 15 }, finetuneAttention: { ...tiny.finetuneAttention, epochs: 15 } }, folds: 5 },
  });
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
  if (s.model === 'base') { const dir = baseCheckpointDir()!; return () => loadHubert(dir); }
  return () => initHubert(hubertTinyConfig(), s.config.seed);
}

/** Run HFLEA on the first `settings.folds` EmoDB folds; write results/hflea_emodb.{csv,md}. */
export async function runHfleaEmodb(settings: HfleaSettings = hfleaSettings(), manifest: Manifest = emodbManifest(undefined, { boredom: 'drop' }), opts: { keepModels?: boolean } = {}): Promise<HfleaExperiment> {
  const folds = emodbFolds(manifest).slice(0, settings.folds);
  const runs: FoldRun[] = [];
  const records: EvaluatedFold[] = [];
  for (const split of folds) {
    const data = await loadAlignData(manifest, split, { classes: FOUR_CLASSES, perClass: settings.perClass, normalize: settings.model === 'tiny', seed: settings.config.seed });
    const result = await runHflea(data, settings.config, encoderFactory(settings));
    const ids = data.test.map((c) => c.id);
    records.push({ arm: 'tapt', seed: settings.config.seed, fold: split.name, classes: data.classes, ids, truth: result.finetune.test.truth, pred: result.finetune.test.pred });
    records.push({ arm: 'hflea', seed: settings.config.seed, fold: split.name, classes: data.classes, ids, truth: result.aligned.test.truth, pred: result.aligned.test.pred });
    if (!opts.keepModels) disposeHfleaModels(result);
    runs.push({ fold: split.name, data, result });
  }
  const aggregates = aggregateArms(records, [...HFLEA_ARMS], { baseline: 'tapt' });
  const rows = tableRows(aggregates, 'tapt').map((r) => ({ ...r, label: HFLEA_ARM_LABELS[r.arm] ?? r.arm }));
  const scale = profileName() === 'ci' ? '> **SMOKE-TEST SCALE (EMOLAB_PROFILE=ci)**: tiny HuBERT trained from scratch on a handful of clips; these numbers check the pipeline, they are not a reproduction of Li et al.\n\n' : '';
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

