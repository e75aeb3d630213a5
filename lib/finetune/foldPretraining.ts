/**
 * Pretraining that follows the SER speaker protocol: an arm whose pretext task trains on the
 * protocol's own corpus (task 1, energy, on EmoDB) gets one encoder per fold, pretrained on that
 * fold's train + dev speakers only (its settings come from lib/experiments `settingsFor(fold)`);
 * arms pretrained on other corpora share one encoder. `planPretraining` turns an experiment's arms
 * x folds into pretraining jobs for lib/finetune/pool, reusing finished runs with the same settings.
 */
import { basename } from 'node:path';
import { finishedPretrainRun, type PretrainSettings } from '../train/pretrainRun';
import type { FoldSpeakers } from './encoderLookup';
import type { PoolJob } from './pool';
import type { SerFold } from './protocols';

/** How an arm's encoder is pretrained: once (other corpora) or once per SER fold (the SER corpus itself). */
export type ArmPretraining =
  | { perFold: false; settings: PretrainSettings }
  | { perFold: true; settingsFor: (fold: FoldSpeakers) => PretrainSettings };

/** The pretraining settings of an arm's encoder for one fold (the same for every fold unless per fold). */
export function armPretrainSettings(p: ArmPretraining, fold: FoldSpeakers): PretrainSettings {
  return 'settingsFor' in p ? p.settingsFor(fold) : p.settings;
}

/**
 * Pretraining settings on the SER corpus for one fold whose speakers outside the fold's test set (train +
 * dev; a cross-corpus run: every training speaker) cannot fill a held-out train/dev/test split (fewer than 3): the run trains on all of them without one (split 0/0, stated in
 * its run.json), instead of failing. Other settings are returned unchanged (same fingerprint).
 */
export function heldOutFor(settings: PretrainSettings, fold: SerFold, serCorpus: string): PretrainSettings {
  // Only runs on the SER (training) corpus itself: the audio-visual corpora have their own speakers.
  if (settings.data !== serCorpus) return settings;
  const remaining = new Set([...fold.train, ...fold.dev].map((c) => c.speaker)).size;
  return remaining >= 3 ? settings : { ...settings, split: { devSpeakers: 0, testSpeakers: 0 } };
}


/** The pretraining of one arm for one fold: its settings, and the pool job that makes it (none when a finished run is reused). */
export interface PlannedPretraining { settings: PretrainSettings; jobId?: string }

/**
 * The pretraining jobs of an experiment's arms x folds, and the planned run of each arm x fold
 * (key `arm|fold`; `arm|null` for an arm's one fold-independent encoder). A finished run with the
 * same settings is reused (`onReused`, once per encoder); runs shared by several folds are one job.
 */
export function planPretraining(
  arms: string[], pretraining: Record<string, ArmPretraining>, folds: SerFold[], foldSp: FoldSpeakers[], serCorpus: string,
  onReused?: (arm: string, fold: string | null, runDir: string) => void,
): { jobs: PoolJob[]; planned: Map<string, PlannedPretraining> } {
  const jobs: PoolJob[] = [];
  const planned = new Map<string, PlannedPretraining>();
  for (const arm of arms) {
    const p = pretraining[arm];
    if (!p) continue;
    for (const fs of foldSp) {
      const settings = heldOutFor(armPretrainSettings(p, fs), folds.find((f) => f.name === fs.name)!, serCorpus);
      const jobId = `pretrain ${basename(settings.out)}`;
      const done = finishedPretrainRun(settings.out, settings);
      if (!done && !jobs.some((j) => j.id === jobId)) {
        jobs.push({ id: jobId, after: [], request: { kind: 'pretrain', settings }, cost: settings.budget.epochs * (settings.task === 'energy' ? 1 : 2.5) });
      }
      if (done && !planned.has(`${arm}|null`) && !p.perFold) onReused?.(arm, null, settings.out);
      if (done && p.perFold) onReused?.(arm, fs.name, settings.out);
      planned.set(`${arm}|${fs.name}`, { settings, jobId: done ? undefined : jobId });
      if (!p.perFold) planned.set(`${arm}|null`, { settings });
    }
  }
  return { jobs, planned };
}

/** The arm a finished pretraining job was planned for (its task when no arm's settings write to its folder). */
export function armOfPretraining(arms: string[], pretraining: Record<string, ArmPretraining>, foldSp: FoldSpeakers[], settings: PretrainSettings): string {
  return arms.find((a) => { const p = pretraining[a]; return p !== undefined && foldSp.some((fs) => armPretrainSettings(p, fs).out === settings.out); }) ?? settings.task;
}
