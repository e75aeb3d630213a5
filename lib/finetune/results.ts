/**
 * The on-disk record of SER fine-tuning: one JSON file per trained model (arm x mode x seed x fold),
 *
 *   runs/ser/<experiment>/<mode>/<arm>/seed-<seed>/<fold>.json
 *
 * holding the test predictions (ids, truth, predicted class, class probabilities), the test
 * metrics, the training history and everything needed to rerun it. A finished file is never
 * recomputed (resume = skip what exists); `emolab report` rebuilds every table and figure from
 * these files alone.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import type { ClassificationMetrics } from '../eval/metrics';
import type { EvaluatedFold } from '../eval/aggregate';
import { runsRoot } from '../paths';
import { writeJsonAtomic } from '../atomic';

export const FOLD_RESULT_SCHEMA = 'emolab.ser-fold.v1';

/** The pretext arms, in table order. `baseline` is fine-tuned from random initialisation. */
export const ARMS = ['baseline', 'energy', 'activation', 'au', 'all'] as const;
export type Arm = (typeof ARMS)[number];

export const ARM_LABELS: Readonly<Record<Arm, string>> = {
  baseline: 'Baseline (no pretraining)',
  energy: 'Task 1: energy variation',
  activation: 'Task 2: facial activation',
  au: 'Task 3: AU-combination emotions',
  all: 'Tasks 1+2+3 (combination)',
};

export type FinetuneMode = 'full' | 'frozen';
/**
 * The SER protocol of a record: `emodb` (leave-two-speakers-out folds), `crema-d` (its partitions),
 * `corpus:<key>` (any labelled corpus: speaker-independent folds built by lib/finetune/protocols
 * corpusProtocol) or `cross:<train key>-><test key>` (train on one corpus, test on every clip of another).
 */
export type Protocol = 'emodb' | 'crema-d' | `corpus:${string}` | `cross:${string}`;

/** One fine-tuning epoch: training loss, dev-speaker loss and accuracy (the early-stopping metric). */
export interface EpochRecord { epoch: number; trainLoss: number; devLoss: number; devAccuracy: number; seconds: number }

export interface FoldResult {
  schema: typeof FOLD_RESULT_SCHEMA;
  experiment: string;
  protocol: Protocol;
  arm: string;
  mode: FinetuneMode;
  seed: number;
  fold: string;
  classes: string[];
  /** Where the encoder's weights came from. */
  init: { kind: 'scratch' } | { kind: 'pretrained'; run: string; checkpoint: string; task: string };
  test: { ids: string[]; truth: number[]; pred: number[]; probs: number[][] };
  metrics: ClassificationMetrics;
  history: EpochRecord[];
  bestEpoch: number;
  config: Record<string, unknown>;
  speakers: { train: string[]; dev: string[]; test: string[] };
  clips: { train: number; dev: number; test: number };
  wallSeconds: number;
  runInfo: Record<string, unknown>;
  createdAt: string;
}

export const serRoot = (root: string = runsRoot()): string => join(root, 'ser');

/** Path of one model's record. Names are restricted to safe characters. */
export function foldResultPath(r: { experiment: string; mode: string; arm: string; seed: number; fold: string }, root: string = runsRoot()): string {
  for (const [k, v] of Object.entries({ experiment: r.experiment, mode: r.mode, arm: r.arm, fold: r.fold })) {
    if (!/^[A-Za-z0-9_.+-]+$/.test(v)) throw new EmolabError('eval', `${k} "${v}" must use letters, digits, "_", "-", ".", "+"`);
  }
  return join(serRoot(root), r.experiment, r.mode, r.arm, `seed-${r.seed}`, `${r.fold}.json`);
}

export function writeFoldResult(r: FoldResult, root: string = runsRoot()): string {
  const file = foldResultPath(r, root);
  writeJsonAtomic(file, r);
  return file;
}

function validate(x: unknown, file: string): FoldResult {
  const r = x as Partial<FoldResult>;
  const bad = (why: string): never => { throw new EmolabError('report', `not a valid SER fold result: ${why}`, { file, hint: 'delete the file and rerun `emolab finetune` for that arm/seed/fold' }); };
  if (!r || typeof r !== 'object') bad('not a JSON object');
  if (r.schema !== FOLD_RESULT_SCHEMA) bad(`schema is ${JSON.stringify(r.schema)}, expected ${FOLD_RESULT_SCHEMA}`);
  for (const k of ['experiment', 'arm', 'mode', 'fold', 'protocol'] as const) if (typeof r[k] !== 'string') bad(`field ${k} missing`);
  if (!Number.isInteger(r.seed)) bad('field seed missing');
  if (!Array.isArray(r.classes) || r.classes.length < 2) bad('field classes missing');
  const t = r.test;
  if (!t || !Array.isArray(t.ids) || !Array.isArray(t.truth) || !Array.isArray(t.pred) || t.ids.length !== t.truth.length || t.truth.length !== t.pred.length) bad('test predictions missing or of different lengths');
  const k = r.classes!.length;
  if ([...t!.truth, ...t!.pred].some((c) => !Number.isInteger(c) || c < 0 || c >= k)) bad(`class ids outside [0, ${k})`);
  return r as FoldResult;
}

export function readFoldResult(file: string): FoldResult {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EmolabError('report', `cannot read SER fold result: ${errorMessage(e)}`, { file, hint: 'delete the file and rerun `emolab finetune` for that arm/seed/fold' });
  }
  return validate(json, file);
}

/** runs/ser/<experiment>/pretraining.json: which encoder each arm x fold started from (not a fold result). */
export const PRETRAINING_MANIFEST = 'pretraining.json';

/** Files of an experiment folder that are not per-model records: pretraining.json, failures.json, run.json. */
export const EXPERIMENT_FILES: readonly string[] = [PRETRAINING_MANIFEST, 'failures.json', 'run.json'];

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.json') && !name.includes('.tmp') && !EXPERIMENT_FILES.includes(name)) out.push(p);
  }
}

/** Every fold result under runs/ser (optionally one experiment). Empty when nothing was run yet. */
export function listFoldResults(opts: { root?: string; experiment?: string } = {}): FoldResult[] {
  const base = serRoot(opts.root);
  const dir = opts.experiment ? join(base, opts.experiment) : base;
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  walk(dir, files);
  return files.map((f) => {
    const r = readFoldResult(f);
    const expected = foldResultPath(r, opts.root);
    if (relative(expected, f) !== '') throw new EmolabError('report', `fold result is stored at the wrong place (expected ${expected})`, { file: f });
    return r;
  });
}

/** The part of a fold result that evaluation needs. */
export function toEvaluated(r: FoldResult): EvaluatedFold {
  return { arm: r.arm, seed: r.seed, fold: r.fold, classes: r.classes, ids: r.test.ids, truth: r.test.truth, pred: r.test.pred };
}
