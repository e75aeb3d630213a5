/**
 * Models (and pretraining runs) of an SER experiment that failed: listed in
 * runs/ser/<experiment>/failures.json by each run of the experiment and in the result tables.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../atomic';
import { EmolabError, errorMessage } from '../errors';
import { serRoot, type FinetuneMode } from './results';

/** A model (or a pretraining run) that failed, as recorded in failures.json and the tables. */
export interface ModelFailure { arm: string; mode: FinetuneMode | 'pretrain'; seed: number | null; fold: string | null; message: string }

export const FAILURES_FILE = 'failures.json';

/** Write the failures of this run of an experiment (an empty list when none failed). */
export function writeFailures(experiment: string, root: string, failures: ModelFailure[]): void {
  writeJsonAtomic(join(serRoot(root), experiment, FAILURES_FILE), { experiment, createdAt: new Date().toISOString(), failures });
}

/** The failures recorded by the last run of an experiment (empty when none or never run). */
export function readFailures(experiment: string, root: string): ModelFailure[] {
  const file = join(serRoot(root), experiment, FAILURES_FILE);
  if (!existsSync(file)) return [];
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { failures?: ModelFailure[] }).failures ?? [];
  } catch (e) {
    throw new EmolabError('report', `cannot read ${FAILURES_FILE}: ${errorMessage(e)}`, { file });
  }
}

/** The failed SER models of a run, in the shape the result tables take (pretraining failures are listed through the models they stopped). */
export function tableFailures(experiment: string, failures: ModelFailure[]): { arm: string; mode: string; seed: number; fold: string; message: string; experiment: string }[] {
  return failures.filter((f) => f.mode !== 'pretrain' && f.seed !== null && f.fold !== null).map((f) => ({ arm: f.arm, mode: f.mode, seed: f.seed!, fold: f.fold!, message: f.message, experiment }));
}
