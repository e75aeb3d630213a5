/**
 * The run manifest of one HFLEA fold, `runs/hflea/<experiment>/<fold>/run.json`, written like the
 * pretraining and fine-tuning manifests: the complete settings and the fingerprint that the stage
 * checkpoints belong to, the clips of each set, the backend and kernels, versions and git commit
 * (lib/runinfo), timing per stage (and where each stage resumed from), test metrics, and the SHA-256
 * of every checkpoint, re-checked by `emolab verify runs/hflea/<experiment>/<fold>`.
 */
import { join } from 'node:path';
import { writeJsonAtomic } from '../atomic';
import { backendReport, describeBackend } from '../backend';
import { runInfo } from '../runinfo';
import { hashOutputs } from '../verify/hashes';
import type { HfleaData, HfleaResult } from './hflea';

export const HFLEA_RUN_SCHEMA = 'emolab.hflea-run.v1';

/** The checkpoints of a fold folder, relative to it (those a run did not produce are left out of `outputs`). */
export const HFLEA_RUN_FILES = ['tapt/last.safetensors', 'tapt/targets.safetensors', 'ft/last.safetensors', 'ft/best.safetensors', 'align/last.safetensors', 'attention/last.safetensors', 'attention/best.safetensors'] as const;

const stageRecord = (r: { losses: number[]; seconds: number; resumedFrom: number }): { steps: number; seconds: number; resumedFrom: number } => ({ steps: r.losses.length, seconds: r.seconds, resumedFrom: r.resumedFrom });

/** Write `dir`/run.json for a finished fold; returns its path. */
export function writeHfleaRunJson(dir: string, a: { experiment: string; fold: string; settings: unknown; fingerprint: string; source: string; data: HfleaData; result: HfleaResult; wallS: number }): string {
  const r = a.result;
  const set = (cs: HfleaData['train']): { clips: string[]; speakers: string[] } => ({ clips: cs.map((c) => c.id), speakers: [...new Set(cs.map((c) => c.speaker))].sort() });
  const b = backendReport();
  const file = join(dir, 'run.json');
  writeJsonAtomic(file, {
    schema: HFLEA_RUN_SCHEMA,
    command: 'hflea',
    experiment: a.experiment,
    fold: a.fold,
    configFingerprint: a.fingerprint,
    // The complete settings of the experiment (lib/experiments/li2024 at the profile) and the starting weights.
    settings: a.settings,
    source: a.source,
    dataset: { classes: a.data.classes, train: set(a.data.train), dev: set(a.data.dev), test: set(a.data.test) },
    backend: b ? describeBackend(b) : undefined,
    run: runInfo(),
    timing: {
      wallS: a.wallS,
      stages: {
        ...(r.tapt ? { tapt: { steps: r.tapt.steps, seconds: r.tapt.seconds, resumedFrom: r.tapt.resumedFrom } } : {}),
        ft: stageRecord(r.finetune), align: stageRecord(r.pretrain), attention: stageRecord(r.aligned),
      },
    },
    metrics: {
      ft: { test: r.finetune.test.metrics, devUA: r.finetune.devUA, bestEpoch: r.finetune.bestEpoch },
      hflea: { test: r.aligned.test.metrics, devUA: r.aligned.devUA, bestEpoch: r.aligned.bestEpoch },
      ...(r.tapt ? { tapt: { maskedFraction: r.tapt.maskedFraction, lastLoss: r.tapt.losses[r.tapt.losses.length - 1], targets: r.tapt.targets } } : {}),
      align: { maskedFraction: r.pretrain.maskedFraction, lastLoss: r.pretrain.losses[r.pretrain.losses.length - 1] },
      clusters: r.clusters,
    },
    files: { tapt: 'tapt/', ft: 'ft/', align: 'align/', attention: 'attention/' },
    // SHA-256 and size of each output, re-checked by `emolab verify <dir>`.
    outputs: hashOutputs(dir, HFLEA_RUN_FILES),
  });
  return file;
}
