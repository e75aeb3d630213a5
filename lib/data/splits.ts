/**
 * Speaker-independent splits: no speaker contributes clips to more than one of train/dev/test,
 * so a model is always scored on voices it never heard. Fixed protocols (EmoDB leave-two-speakers-out
 * folds, the CREMA-D partitions) and a seeded generator for any corpus.
 */
import { EmolabError } from '../errors';
import type { Clip, Manifest, Split, SplitName } from './types';
import { seededRandom } from '../random';

/** Re-exported: the project's one seeded PRNG (lib/random). */
export { seededRandom };

/** Speakers in order of first appearance. */
export function speakersOf(clips: readonly Clip[]): string[] {
  return [...new Set(clips.map((c) => c.speaker))];
}

/** The sex of each speaker (first clip that states it). */
export function speakerSex(clips: readonly Clip[]): Map<string, 'F' | 'M' | undefined> {
  const m = new Map<string, 'F' | 'M' | undefined>();
  for (const c of clips) if (!m.has(c.speaker) || (m.get(c.speaker) === undefined && c.sex)) m.set(c.speaker, c.sex);
  return m;
}

/** A split where `dev` and `test` speakers are given; every other speaker trains. */
export function splitFromSpeakers(name: string, clips: readonly Clip[], sets: { dev: readonly string[]; test: readonly string[] }): Split {
  const dev = new Set(sets.dev), test = new Set(sets.test);
  for (const s of dev) if (test.has(s)) throw new EmolabError('data', `split "${name}": speaker ${s} is in both dev and test`);
  const known = new Set(clips.map((c) => c.speaker));
  for (const s of [...dev, ...test]) if (!known.has(s)) throw new EmolabError('data', `split "${name}": speaker ${s} has no clips`);
  const out: Split = { name, train: [], dev: [], test: [] };
  for (const c of clips) (test.has(c.speaker) ? out.test : dev.has(c.speaker) ? out.dev : out.train).push(c.id);
  return out;
}


/** Fisher–Yates shuffle of a copy, driven by `rand`. */
export function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export interface SpeakerSplitOptions {
  /** Seed of the speaker shuffle (default 0). */
  seed?: number;
  /** Dev speakers: a count (>= 1) or a fraction of all speakers (< 1). Default 0.15. */
  dev?: number;
  /** Test speakers: a count (>= 1) or a fraction of all speakers (< 1). Default 0.15. */
  test?: number;
  /** Alternate female and male speakers when filling test and dev (default true when every speaker's sex is known). */
  balanceSex?: boolean;
  /** Speakers that always train (e.g. one speaker holding most of a corpus, such as GRID's s1). */
  alwaysTrain?: string[];
  name?: string;
}

function speakerCount(v: number, total: number, what: string): number {
  if (!(v >= 0)) throw new EmolabError('data', `speakerIndependentSplit: ${what} must be >= 0, got ${v}`);
  const n = v < 1 ? Math.round(v * total) : Math.round(v);
  return v > 0 ? Math.max(1, n) : 0;
}

/**
 * A seeded speaker-independent split of any corpus: speakers are shuffled (seed), then the first
 * `test` go to test, the next `dev` to dev, the rest to train. Speakers in `alwaysTrain` are kept
 * out of the draw and train (fractions count the other speakers). With `balanceSex`, females and males
 * alternate so test and dev hold both sexes.
 */
export function speakerIndependentSplit(clips: readonly Clip[], opts: SpeakerSplitOptions = {}): Split {
  const seed = opts.seed ?? 0;
  const always = new Set(opts.alwaysTrain ?? []);
  const speakers = [...speakersOf(clips)].filter((s) => !always.has(s)).sort();
  const nTest = speakerCount(opts.test ?? 0.15, speakers.length, 'test');
  const nDev = speakerCount(opts.dev ?? 0.15, speakers.length, 'dev');
  // No held-out speakers (0 dev, 0 test): every speaker trains, even when all of them are alwaysTrain.
  if (nTest + nDev > 0 && nTest + nDev >= speakers.length) {
    throw new EmolabError('data', `speakerIndependentSplit: ${nTest} test + ${nDev} dev speakers leave none of the ${speakers.length} speakers for training`);
  }
  const rand = seededRandom(seed);
  const sex = speakerSex(clips);
  const balance = opts.balanceSex ?? speakers.every((s) => sex.get(s) !== undefined);
  let order: string[];
  if (balance) {
    const f = shuffled(speakers.filter((s) => sex.get(s) === 'F'), rand);
    const m = shuffled(speakers.filter((s) => sex.get(s) === 'M'), rand);
    const other = shuffled(speakers.filter((s) => sex.get(s) === undefined), rand);
    order = [];
    const firstFemale = rand() < 0.5;
    for (let i = 0; i < Math.max(f.length, m.length); i++) {
      const pair = firstFemale ? [f[i], m[i]] : [m[i], f[i]];
      for (const s of pair) if (s !== undefined) order.push(s);
    }
    order.push(...other);
  } else {
    order = shuffled(speakers, rand);
  }
  const test = order.slice(0, nTest), dev = order.slice(nTest, nTest + nDev);
  return splitFromSpeakers(opts.name ?? `speaker-split-seed${seed}`, clips, { dev, test });
}

/**
 * Leave-two-speakers-out folds: fold k tests on the k-th female and k-th male speaker (sorted by id)
 * and uses the next pair (cyclically) as dev for early stopping; the rest train. Needs the sex of every speaker.
 */
export function leaveTwoSpeakersOutFolds(clips: readonly Clip[], prefix: string): Split[] {
  const sex = speakerSex(clips);
  const unknown = [...sex].filter(([, s]) => s === undefined).map(([k]) => k);
  if (unknown.length) throw new EmolabError('data', `leave-two-speakers-out needs the sex of every speaker; unknown for ${unknown.join(', ')}`);
  const f = [...sex].filter(([, s]) => s === 'F').map(([k]) => k).sort();
  const m = [...sex].filter(([, s]) => s === 'M').map(([k]) => k).sort();
  const n = Math.min(f.length, m.length);
  if (n < 2) throw new EmolabError('data', `leave-two-speakers-out needs at least 2 female and 2 male speakers (have ${f.length} F, ${m.length} M)`);
  const folds: Split[] = [];
  for (let k = 0; k < n; k++) {
    const d = (k + 1) % n;
    folds.push(splitFromSpeakers(`${prefix}-fold${k + 1}-test-${f[k]}+${m[k]}`, clips, { test: [f[k], m[k]], dev: [f[d], m[d]] }));
  }
  return folds;
}

/**
 * Check a split against its clips: every id known, no id twice, no speaker in two sets.
 * Throws an EmolabError naming the first problem.
 */
export function assertSpeakerIndependent(split: Split, clips: readonly Clip[]): void {
  const byId = new Map(clips.map((c) => [c.id, c]));
  const setOf = new Map<string, SplitName>();
  const seen = new Set<string>();
  for (const set of ['train', 'dev', 'test'] as const) {
    for (const id of split[set]) {
      const c = byId.get(id);
      if (!c) throw new EmolabError('data', `split "${split.name}": clip ${id} (${set}) is not in the manifest`);
      if (seen.has(id)) throw new EmolabError('data', `split "${split.name}": clip ${id} appears twice`);
      seen.add(id);
      const prev = setOf.get(c.speaker);
      if (prev && prev !== set) throw new EmolabError('data', `split "${split.name}": speaker ${c.speaker} is in both ${prev} and ${set}`);
      setOf.set(c.speaker, set);
    }
  }
}

/** The clips of each set of a split, in split order. */
export function splitClips(manifest: Manifest, split: Split): Record<SplitName, Clip[]> {
  const byId = new Map(manifest.clips.map((c) => [c.id, c]));
  const get = (ids: string[]) => ids.map((id) => {
    const c = byId.get(id);
    if (!c) throw new EmolabError('data', `split "${split.name}": clip ${id} is not in the ${manifest.corpus} manifest`);
    return c;
  });
  return { train: get(split.train), dev: get(split.dev), test: get(split.test) };
}

/** Which set each speaker of a split belongs to (for tables and figures). */
export function speakerSets(split: Split, clips: readonly Clip[]): Map<string, SplitName> {
  const byId = new Map(clips.map((c) => [c.id, c]));
  const m = new Map<string, SplitName>();
  for (const set of ['train', 'dev', 'test'] as const) for (const id of split[set]) {
    const c = byId.get(id);
    if (c) m.set(c.speaker, set);
  }
  return m;
}
