/**
 * Splitting a manifest into `count` parts for sharded extraction (`--shard i/n`, one process or cluster task
 * per part; `emolab store merge` joins them).
 *
 * The split is per clip, a function of the clip set only (not of the manifest order), so tasks that list a
 * corpus in different orders still agree on who computes what; and it balances the parts by work, not by
 * clip count: clips are weighed by duration (or, when some durations are unknown, by file size; failing
 * that, one each) and dealt heaviest first to the lightest part (longest-processing-time rule; ties by
 * clip id, then by the lowest part number). Pure apart from the optional file-size fallback.
 */
import { statSync } from 'node:fs';
import type { Clip } from '../data/types';
import { EmolabError } from '../errors';

/** Part `index` (0-based, as SLURM's SLURM_ARRAY_TASK_ID and Kubernetes' JOB_COMPLETION_INDEX) of `count`. */
export interface PartSpec {
  index: number;
  count: number;
}

/** Parse "i/n" (0 <= i < n). */
export function parsePartSpec(s: string, what = '--shard'): PartSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(s);
  if (!m) throw new EmolabError('cli', `${what} must be "i/n" with 0 <= i < n (e.g. 0/3, 1/3, 2/3), got "${s}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!(count >= 1 && index < count && Number.isSafeInteger(count))) throw new EmolabError('cli', `${what} ${s}: the index must be 0..${Math.max(0, count - 1)} (0-based, as SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX) and n at least 1`);
  return { index, count };
}

export const formatPart = (p: PartSpec): string => `${p.index}/${p.count}`;

export type PartWeight = 'duration' | 'bytes' | 'count';

export interface PartPlan {
  /** Part of each clip, in the order of the clips given. */
  partOf: number[];
  /** What the clips were weighed by. */
  weight: PartWeight;
  /** Total weight per part (seconds, bytes or clips). */
  loads: number[];
}

function fileBytes(c: Clip): number | undefined {
  const f = c.audioPath ?? c.videoPath;
  if (!f) return undefined;
  try { return statSync(f).size; } catch { return undefined; }
}

/** Weights of the clips: durations when every clip has one, else file sizes when every file exists, else 1 each. */
export function clipWeights(clips: Clip[]): { weight: PartWeight; values: number[] } {
  if (clips.every((c) => typeof c.durationS === 'number' && Number.isFinite(c.durationS) && c.durationS >= 0)) return { weight: 'duration', values: clips.map((c) => c.durationS!) };
  const bytes = clips.map(fileBytes);
  if (bytes.every((b) => b !== undefined)) return { weight: 'bytes', values: bytes as number[] };
  return { weight: 'count', values: clips.map(() => 1) };
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Deal clips to `count` parts, balanced by weight; the result does not depend on the clips' order. */
export function planParts(clips: Clip[], count: number, weights = clipWeights(clips)): PartPlan {
  if (!(Number.isInteger(count) && count >= 1)) throw new EmolabError('store', `part count must be a positive integer, got ${count}`);
  const order = clips.map((_, i) => i).sort((a, b) => weights.values[b] - weights.values[a] || byId(clips[a].id, clips[b].id));
  const loads = new Array<number>(count).fill(0);
  const partOf = new Array<number>(clips.length).fill(0);
  for (const i of order) {
    let best = 0;
    for (let p = 1; p < count; p++) if (loads[p] < loads[best]) best = p;
    partOf[i] = best;
    loads[best] += weights.values[i];
  }
  return { partOf, weight: weights.weight, loads };
}
