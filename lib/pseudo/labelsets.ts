/**
 * Pretext label sets on disk, next to the features they were computed from:
 *
 *   <dir>/pseudo/<task>.safetensors   per-clip tensors, named `<clip id>/<name>`
 *   <dir>/pseudo/<task>.json          what they are: classes, class balance, parameters, per-clip
 *                                     counts, quarantined clips, run info
 *
 * Tensors per task:
 * - energy, activation: `segments` I32 [S, 2] (start, end frame on the 10 ms grid), `labels` I8 [S]
 *   (1 high, 0 low, -1 excluded), `values` F32 [S] (the segment statistic);
 * - au: `label` I32 [1] (index into AU_LABELS), `soft` F32 [8], `winners` I32 [frames];
 * - clusters: `ids` I32 [frames] (cluster per frame); the centroids are saved beside it as
 *   `<task>.centroids.safetensors`.
 * The tensors file is written first and the JSON last, both atomically, so a reader that finds the
 * JSON finds a complete tensors file. The JSON records the tensors file's SHA-256, so a run killed
 * between the two renames (new tensors beside the previous JSON) is refused on reading, never mixed.
 * Nothing time-dependent is stored in the tensors, so recomputing the same set gives byte-identical files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmolabError } from '../errors';
import type { QuarantinedItem } from '../data/types';
import { writeJsonAtomic } from '../atomic';
import { readSafetensors, writeSafetensors, type TensorInput, type TensorMap } from '../store/safetensors';
import { sha256File } from '../hash';

export const PSEUDO_TASKS = ['energy', 'activation', 'au', 'clusters'] as const;
export type PseudoTask = (typeof PSEUDO_TASKS)[number];
export const LABEL_SET_FORMAT = 'emolab-pseudo-labels/1';

export interface ClipSummary {
  id: string;
  speaker: string;
  /** Count per class name (and 'excluded'). */
  counts: Record<string, number>;
  /** Utterance-level label (task au). */
  label?: string;
}

export interface LabelSetSummary {
  format: typeof LABEL_SET_FORMAT;
  task: PseudoTask;
  corpus: string;
  /** What one label describes. */
  unit: 'segment' | 'utterance' | 'frame';
  /** Class names in id order. */
  classes: string[];
  /** Labels per class over the whole set, plus 'excluded' where targets can be missing. */
  balance: Record<string, number>;
  clips: number;
  /** Every parameter that shaped the labels, with its value. */
  params: Record<string, unknown>;
  perClip: ClipSummary[];
  quarantine: QuarantinedItem[];
  /** Task-specific results (speaker medians, cluster purity, ...). */
  extra: Record<string, unknown>;
  tensorsFile: string;
  /** SHA-256 of the tensors file this summary describes (checked on reading). */
  tensorsSha256?: string;
  run?: Record<string, unknown>;
}

export function labelSetFiles(dir: string, task: PseudoTask): { tensors: string; summary: string; centroids: string } {
  const base = join(dir, 'pseudo', task);
  return { tensors: `${base}.safetensors`, summary: `${base}.json`, centroids: `${base}.centroids.safetensors` };
}

/** Write a label set (tensors first, summary last). Returns the two paths. */
export function writeLabelSet(dir: string, summary: LabelSetSummary, tensors: Record<string, TensorInput>): { tensors: string; summary: string } {
  const files = labelSetFiles(dir, summary.task);
  writeSafetensors(files.tensors, tensors, { format: LABEL_SET_FORMAT, task: summary.task });
  writeJsonAtomic(files.summary, { ...summary, tensorsSha256: sha256File(files.tensors) });
  return { tensors: files.tensors, summary: files.summary };
}

/** Read a label set; a missing or foreign summary is a clear error. */
export function readLabelSet(dir: string, task: PseudoTask): { summary: LabelSetSummary; tensors: TensorMap } {
  const files = labelSetFiles(dir, task);
  if (!existsSync(files.summary)) {
    throw new EmolabError('pseudo', `no ${task} label set here`, { file: files.summary, hint: `make it with: npx emolab pseudo ${task} --out ${dir}` });
  }
  let summary: LabelSetSummary;
  try {
    summary = JSON.parse(readFileSync(files.summary, 'utf8')) as LabelSetSummary;
  } catch (e) {
    throw new EmolabError('pseudo', `label set summary is not JSON: ${(e as Error).message}`, { file: files.summary });
  }
  if (summary === null || typeof summary !== 'object' || summary.format !== LABEL_SET_FORMAT || summary.task !== task) {
    throw new EmolabError('pseudo', `not an ${LABEL_SET_FORMAT} ${task} summary (format ${summary?.format}, task ${summary?.task})`, { file: files.summary });
  }
  if (summary.tensorsSha256 !== undefined && (!existsSync(files.tensors) || sha256File(files.tensors) !== summary.tensorsSha256)) {
    throw new EmolabError('pseudo', `the ${task} tensors file does not match its summary (a run was interrupted between writing the two?)`, { file: files.tensors, hint: `recompute it: npx emolab pseudo ${task} --out ${dir}` });
  }
  return { summary, tensors: readSafetensors(files.tensors).tensors };
}

/** Tensors of one clip from a label set, by short name. */
export function clipTensors(tensors: TensorMap, clipId: string): TensorMap {
  const prefix = `${clipId}/`;
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith(prefix) && !name.slice(prefix.length).includes('/')) out[name.slice(prefix.length)] = t;
  return out;
}

/** Class shares of a balance table (fractions of the non-excluded labels). */
export function balanceShares(balance: Record<string, number>): Record<string, number> {
  const total = Object.entries(balance).filter(([k]) => k !== 'excluded').reduce((a, [, v]) => a + v, 0);
  return Object.fromEntries(Object.entries(balance).filter(([k]) => k !== 'excluded').map(([k, v]) => [k, total ? v / total : 0]));
}
