/**
 * Seed ensembles and test speakers of SER predictions.
 *
 * - `ensembleSeeds`: one prediction per test utterance and arm — each utterance's class
 *   probabilities averaged over the seeds that scored it, argmax of the mean. Seeds are repeated
 *   trainings of the same arm, not independent test evidence, so they are averaged out before any
 *   test (lib/eval/stats). A record without usable probabilities (e.g. a deterministic reference
 *   model that only stores labels) counts as a one-hot vote; ties of the mean go to the lowest
 *   seed's own prediction when it is among the tied classes, else to the lowest class index.
 * - Test speakers of each utterance: the record's own per-utterance list when it has one, else
 *   the unique test speaker whose id prefixes the utterance id (EmoDB "03a01Fa" -> "03", CREMA-D
 *   "1001_DFA_ANG_XX" -> "1001"), else the corpus naming conventions (`speakerOfId`).
 *
 * Pure; no tfjs.
 */
import { EmolabError } from '../errors';
import type { EvaluatedFold } from './aggregate';

/** Speaker of an EmoDB or CREMA-D clip id from its naming convention; undefined for other ids. */
export function speakerOfId(id: string): string | undefined {
  const base = id.split(/[\\/]/).pop()!.replace(/\.(wav|flv|mp4|mp3)$/i, '');
  let m = /^(\d{2})[ab]\d{2}[A-Za-z][a-z]$/.exec(base); // EmoDB: 03a01Fa
  if (m) return m[1];
  m = /^(\d{4})_[A-Z]{3}_[A-Z]{3}_[A-Z]{2}$/.exec(base); // CREMA-D: 1001_DFA_ANG_XX
  if (m) return m[1];
  return undefined;
}

/**
 * Speaker of each utterance from the fold's list of test speakers: the only one when there is one,
 * else the unique (longest) speaker id that prefixes the utterance id, else `speakerOfId` when that
 * is in the list (or the list is empty). undefined where none applies.
 */
export function speakersFromTestList(ids: string[], testSpeakers: string[] = []): (string | undefined)[] {
  const list = [...new Set(testSpeakers)].sort((a, b) => b.length - a.length);
  return ids.map((id) => {
    if (list.length === 1) return list[0];
    const byPrefix = list.filter((s) => s.length > 0 && id.startsWith(s));
    if (byPrefix.length === 1 || (byPrefix.length > 1 && byPrefix[0].length > byPrefix[1].length)) return byPrefix[0];
    const conv = speakerOfId(id);
    return conv !== undefined && (list.length === 0 || list.includes(conv)) ? conv : undefined;
  });
}

/** Per-utterance speakers of a record: its own list, else `speakerOf`, else `speakerOfId`. */
export function recordSpeakers(r: Pick<EvaluatedFold, 'ids'> & { speakers?: (string | undefined)[] }, speakerOf?: (id: string) => string | undefined): (string | undefined)[] {
  return r.ids.map((id, i) => r.speakers?.[i] ?? speakerOf?.(id) ?? speakerOfId(id));
}

export const unitKeyOf = (fold: string, id: string): string => `${fold}|${id}`;

/** One arm's predictions after averaging seeds: one entry per (fold, utterance), sorted by key. */
export interface EnsembledArm {
  arm: string;
  classes: string[];
  /** Seeds that contributed (union over utterances). */
  seeds: number[];
  /** `${fold}|${id}` per utterance, sorted. */
  keys: string[];
  ids: string[];
  folds: string[];
  /** Test speaker per utterance (undefined when unknown). */
  speakers: (string | undefined)[];
  truth: number[];
  pred: number[];
  /** Mean class probabilities over seeds (one-hot votes for records without probabilities). */
  probs: number[][];
  /** How many seeds scored each utterance. */
  nSeeds: number[];
}

function usableProbs(r: EvaluatedFold, k: number): boolean {
  return Array.isArray(r.probs) && r.probs.length === r.ids.length
    && r.probs.every((row) => Array.isArray(row) && row.length === k && row.every((x) => Number.isFinite(x)));
}

/**
 * Average each utterance's class probabilities over the seeds of one arm (all records must belong
 * to that arm and share `classes`); argmax of the mean is the ensemble prediction.
 */
export function ensembleSeeds(records: EvaluatedFold[], opts: { speakerOf?: (id: string) => string | undefined } = {}): EnsembledArm {
  if (records.length === 0) throw new EmolabError('eval', 'no records to ensemble');
  const { arm, classes } = records[0];
  const k = classes.length;
  interface Acc { fold: string; id: string; truth: number; sum: number[]; n: number; firstSeed: number; firstPred: number; speaker?: string }
  const acc = new Map<string, Acc>();
  const seeds = new Set<number>();
  for (const r of records) {
    if (r.arm !== arm) throw new EmolabError('eval', `ensembleSeeds: records of arms ${arm} and ${r.arm} mixed`);
    if (r.classes.join(',') !== classes.join(',')) throw new EmolabError('eval', `arm ${arm} seed ${r.seed} fold ${r.fold}: classes [${r.classes}] differ from [${classes}]`);
    if (r.ids.length !== r.truth.length || r.truth.length !== r.pred.length) {
      throw new EmolabError('eval', `arm ${r.arm} seed ${r.seed} fold ${r.fold}: ids/truth/pred lengths differ (${r.ids.length}/${r.truth.length}/${r.pred.length})`);
    }
    seeds.add(r.seed);
    const withProbs = usableProbs(r, k);
    const spk = recordSpeakers(r, opts.speakerOf);
    r.ids.forEach((id, i) => {
      const key = unitKeyOf(r.fold, id);
      const p = r.pred[i];
      if (!Number.isInteger(p) || p < 0 || p >= k) throw new EmolabError('eval', `arm ${arm} seed ${r.seed} fold ${r.fold} utterance ${id}: prediction ${p} outside [0, ${k})`);
      const row = withProbs ? r.probs![i] : Array.from({ length: k }, (_, j) => (j === p ? 1 : 0));
      let a = acc.get(key);
      if (!a) {
        a = { fold: r.fold, id, truth: r.truth[i], sum: new Array<number>(k).fill(0), n: 0, firstSeed: r.seed, firstPred: p, speaker: spk[i] };
        acc.set(key, a);
      } else if (a.truth !== r.truth[i]) {
        throw new EmolabError('eval', `arm ${arm} fold ${r.fold} utterance ${id}: label ${r.truth[i]} in seed ${r.seed} but ${a.truth} in seed ${a.firstSeed}`);
      }
      if (r.seed < a.firstSeed) { a.firstSeed = r.seed; a.firstPred = p; }
      if (a.speaker === undefined) a.speaker = spk[i];
      row.forEach((x, j) => { a!.sum[j] += x; });
      a.n++;
    });
  }
  const keys = [...acc.keys()].sort();
  const out: EnsembledArm = { arm, classes: [...classes], seeds: [...seeds].sort((a, b) => a - b), keys, ids: [], folds: [], speakers: [], truth: [], pred: [], probs: [], nSeeds: [] };
  for (const key of keys) {
    const a = acc.get(key)!;
    const mean = a.sum.map((x) => x / a.n);
    const top = Math.max(...mean);
    const tied = mean.map((x, j) => (x >= top - 1e-12 ? j : -1)).filter((j) => j >= 0);
    const pred = tied.includes(a.firstPred) ? a.firstPred : tied[0];
    out.ids.push(a.id); out.folds.push(a.fold); out.speakers.push(a.speaker);
    out.truth.push(a.truth); out.pred.push(pred); out.probs.push(mean); out.nSeeds.push(a.n);
  }
  return out;
}
