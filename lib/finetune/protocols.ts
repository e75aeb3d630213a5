/**
 * The SER evaluation protocols: which clips, which six-class label, which speaker-independent folds.
 *
 * - `emodb` (default demo): EmoDB without boredom (no CREMA-D counterpart), six classes, the five
 *   leave-two-speakers-out folds of lib/data (test: one female + one male speaker; dev: the next pair).
 * - `crema-d` (the paper's corpus): the five speaker-independent partitions (63/14/14 actors), label =
 *   the partition's consensus (majority) label. Needs the CREMA-D audio (AudioWAV/); without it a
 *   clear error says so — the metadata alone ship in ../shared.
 */
import { corpusRef, resolveCorpus } from '../data/corpora';
import { emodbFolds, emodbManifest } from '../data/emodb';
import { loadCremadPartition, mediaPresent } from '../data/cremad';
import { shuffled, splitClips } from '../data/splits';
import { SIX_EMOTIONS, type Clip, type Emotion, type Split } from '../data/types';
import { EmolabError } from '../errors';
import { seededRandom } from '../eval/stats';
import type { Protocol } from './results';

export interface SerFold {
  name: string;
  train: Clip[];
  dev: Clip[];
  test: Clip[];
}

/** Which classes an SER protocol trains on: the six shared classes, or the corpus's own emotion set. */
export type SerClasses = 'six' | 'corpus';
export const SER_CLASS_CHOICES: readonly SerClasses[] = ['six', 'corpus'];

export interface SerProtocolData {
  protocol: Protocol;
  classes: readonly Emotion[];
  folds: SerFold[];
  /** Label index of a clip (into `classes`), -1 when it has none. */
  label: (c: Clip) => number;
  quarantined: number;
  /** The corpus (manifest name) of the training clips, and of the test clips when another (cross-corpus). */
  corpus: string;
  testCorpus?: string;
  /** How folds were made, in words (for the tables). */
  folding: string;
  /** Fold names whose dev set is empty: those models train for the fixed epoch budget. */
  noDev: string[];
}

const sixIndex = (e: Emotion | undefined): number => (e === undefined ? -1 : SIX_EMOTIONS.indexOf(e));

function keepLabelled(clips: Clip[], label: (c: Clip) => number): Clip[] {
  return clips.filter((c) => label(c) >= 0);
}

/** EmoDB, six classes, leave-two-speakers-out folds. */
export function emodbProtocol(root?: string): SerProtocolData {
  const manifest = root ? emodbManifest(root, { boredom: 'drop' }) : emodbManifest(undefined, { boredom: 'drop' });
  const label = (c: Clip): number => sixIndex(c.emotion);
  const folds = emodbFolds(manifest).map((s: Split) => {
    const sets = splitClips(manifest, s);
    return { name: shortFoldName(s.name), train: keepLabelled(sets.train, label), dev: keepLabelled(sets.dev, label), test: keepLabelled(sets.test, label) };
  });
  return { protocol: 'emodb', classes: SIX_EMOTIONS, folds, label, quarantined: manifest.quarantine.length, corpus: 'emodb', folding: 'EmoDB leave-two-speakers-out folds (test: one female + one male speaker; dev: the next pair)', noDev: [] };
}

/** CREMA-D partitions (1..5), consensus labels; refuses to start without the audio files. */
export function cremadProtocol(partitions: number[] = [1, 2, 3, 4, 5], root?: string): SerProtocolData {
  const label = (c: Clip): number => sixIndex(c.perceived?.majority);
  let quarantined = 0;
  const folds = partitions.map((n) => {
    const p = root ? loadCremadPartition(n, root) : loadCremadPartition(n);
    const media = mediaPresent(p.manifest);
    if (media.audio < media.clips) {
      throw new EmolabError('data', `CREMA-D audio missing: ${media.audio} of ${media.clips} clips of partition ${n} have their wav on disk`, {
        file: p.manifest.root,
        hint: 'the CREMA-D metadata and partitions are present but not the media; put the official AudioWAV/ folder under $EMOLAB_DATA/crema-d/ (git lfs clone of CheyneyComputerScience/CREMA-D), or use --protocol emodb',
      });
    }
    quarantined += p.manifest.quarantine.length;
    const sets = splitClips(p.manifest, p.split);
    return { name: `partition${n}`, train: keepLabelled(sets.train, label), dev: keepLabelled(sets.dev, label), test: keepLabelled(sets.test, label) };
  });
  return { protocol: 'crema-d', classes: SIX_EMOTIONS, folds, label, quarantined, corpus: 'crema-d', folding: 'CREMA-D speaker-independent partitions (63/14/14 actors)', noDev: [] };
}

export function protocolData(protocol: Protocol, opts: { partitions?: number[]; root?: string } = {}): SerProtocolData {
  if (protocol === 'emodb') return emodbProtocol(opts.root);
  if (protocol === 'crema-d') return cremadProtocol(opts.partitions, opts.root);
  throw new EmolabError('cli', `unknown SER protocol "${String(protocol)}" (use emodb or crema-d, or serProtocol for any corpus)`);
}

/** The SER data of an experiment: a corpus argument, or a pair for cross-corpus evaluation. */
export interface SerDataSpec {
  /** Training corpus (lib/data corpus argument); `emodb` and `crema-d` keep their own protocols. */
  corpus: string;
  /** Cross-corpus: test on every labelled clip of this corpus (null: speaker-independent folds of `corpus`). */
  testCorpus: string | null;
  classes: SerClasses;
  /** CREMA-D partitions (crema-d only). */
  partitions?: number[];
  /** Folds of a generic corpus: leave-one-speaker-out up to this many speakers, else this many leave-k-out folds. Default 10 / 5. */
  losoMaxSpeakers?: number;
}

/** Protocol name of an SER data spec (recorded in every fold result). */
export function serProtocolName(d: SerDataSpec): Protocol {
  if (d.testCorpus !== null) return `cross:${corpusRef(d.corpus).key}->${corpusRef(d.testCorpus).key}`;
  if (d.corpus === 'emodb' && d.classes === 'six') return 'emodb';
  if (d.corpus === 'crema-d' && d.classes === 'six') return 'crema-d';
  return `corpus:${corpusRef(d.corpus).key}`;
}

/** Emotion classes of labelled clips: the six shared classes in their order, then any others alphabetically. */
export function corpusClasses(clips: readonly Clip[]): Emotion[] {
  const present = new Set(clips.map((c) => c.emotion).filter((e): e is Emotion => e !== undefined));
  return [...SIX_EMOTIONS.filter((e) => present.has(e)), ...[...present].filter((e) => !SIX_EMOTIONS.includes(e)).sort()];
}

/** "fold2-test-03+08" with only file-name-safe characters; long speaker lists give just "fold2". */
function foldName(k: number, speakers: string[]): string {
  const tail = speakers.map((s) => s.replace(/[^A-Za-z0-9_.-]+/g, '_')).join('+');
  const name = `fold${k}-test-${tail}`;
  return name.length <= 64 ? name : `fold${k}`;
}

function labelledManifest(spec: string, classes: SerClasses, allowed?: readonly Emotion[]) {
  const m = resolveCorpus(spec, { labelled: true, boredom: 'keep' });
  const labelled = m.clips.filter((c) => c.emotion !== undefined && (c.audioPath !== undefined));
  const cls: readonly Emotion[] = classes === 'six' ? SIX_EMOTIONS : (allowed ?? corpusClasses(labelled));
  const clips = labelled.filter((c) => cls.includes(c.emotion!));
  const dropped = labelled.length - clips.length;
  return { manifest: m, clips, classes: cls, dropped };
}

/**
 * Speaker-independent folds of any labelled corpus: with at most `losoMaxSpeakers` speakers (default
 * 10) one fold per speaker (leave-one-speaker-out), else 5 folds of ceil(speakers / 5) test speakers
 * each (leave-k-out, speakers in sorted order). Dev: the next fold's test speakers (3 or more
 * speakers), used for early stopping and the best epoch; with 2 speakers there are none and each
 * model trains for the fixed epoch budget (`noDev`, stated in the tables).
 */
export function corpusFolds(clips: readonly Clip[], opts: { losoMaxSpeakers?: number; corpus?: string } = {}): { folds: SerFold[]; folding: string } {
  const speakers = [...new Set(clips.map((c) => c.speaker))].sort();
  if (speakers.length < 2) {
    throw new EmolabError('data', `${opts.corpus ?? 'the corpus'} has ${clips.length} labelled clips from ${speakers.length} speaker(s): a speaker-independent SER test needs at least 2 speakers`, {
      hint: 'add a speaker column to labels.csv, or test on another corpus: emolab finetune --train <this corpus> --test <other corpus>',
    });
  }
  const loso = speakers.length <= (opts.losoMaxSpeakers ?? 10);
  const k = loso ? 1 : Math.ceil(speakers.length / 5);
  const groups: string[][] = [];
  for (let i = 0; i < speakers.length; i += k) groups.push(speakers.slice(i, i + k));
  const folds = groups.map((test, i) => {
    const dev = groups.length >= 3 ? groups[(i + 1) % groups.length] : [];
    const t = new Set(test), d = new Set(dev);
    return {
      name: foldName(i + 1, test),
      train: clips.filter((c) => !t.has(c.speaker) && !d.has(c.speaker)),
      dev: clips.filter((c) => d.has(c.speaker)),
      test: clips.filter((c) => t.has(c.speaker)),
    };
  });
  const folding = loso
    ? `leave-one-speaker-out, ${speakers.length} folds${groups.length >= 3 ? ' (dev: the next fold\'s speaker)' : ' (2 speakers: no dev speaker, fixed epoch budget)'}`
    : `leave-${k}-speakers-out, ${groups.length} folds (dev: the next fold's speakers)`;
  return { folds, folding };
}

/**
 * The SER data of any corpus (or pair of corpora): EmoDB and CREMA-D keep their protocols; any other
 * labelled corpus gets corpusFolds; cross-corpus trains on the whole training corpus (dev: about 20%
 * of its speakers, when it has 2 or more) and tests on every labelled clip of the test corpus. Speakers
 * of a cross-corpus pair are prefixed with their corpus key (`<corpus key>:<speaker>`), so two corpora's
 * "speaker 1" stay two people.
 */
export function serProtocol(d: SerDataSpec): SerProtocolData {
  if (d.testCorpus === null && d.classes === 'six' && d.corpus === 'emodb') return emodbProtocol();
  if (d.testCorpus === null && d.classes === 'six' && d.corpus === 'crema-d') return cremadProtocol(d.partitions);
  const protocol = serProtocolName(d);
  if (d.testCorpus === null) {
    const { manifest, clips, classes, dropped } = labelledManifest(d.corpus, d.classes);
    if (classes.length < 2) throw new EmolabError('data', `${manifest.corpus}: ${classes.length} emotion class(es) among its labelled clips; SER needs at least 2`, { file: manifest.root });
    const { folds, folding } = corpusFolds(clips, { losoMaxSpeakers: d.losoMaxSpeakers, corpus: manifest.corpus });
    const label = (c: Clip): number => (c.emotion === undefined ? -1 : classes.indexOf(c.emotion));
    return {
      protocol, classes, folds, label, quarantined: manifest.quarantine.length + dropped, corpus: manifest.corpus,
      folding: `${folding}; classes: ${d.classes === 'six' ? 'the six shared classes' : "the corpus's own"}${dropped ? ` (${dropped} clips of other classes left out)` : ''}`,
      noDev: folds.filter((f) => f.dev.length === 0).map((f) => f.name),
    };
  }
  const tr = labelledManifest(d.corpus, d.classes);
  const te = labelledManifest(d.testCorpus, d.classes, d.classes === 'corpus' ? tr.classes : undefined);
  const classes = d.classes === 'six' ? SIX_EMOTIONS : tr.classes.filter((e) => te.clips.some((c) => c.emotion === e));
  if (classes.length < 2) throw new EmolabError('data', `${tr.manifest.corpus} and ${te.manifest.corpus} share ${classes.length} emotion class(es); SER needs at least 2`);
  const keep = (cs: Clip[], corpus: string) => cs.filter((c) => classes.includes(c.emotion!)).map((c) => ({ ...c, speaker: `${corpus}:${c.speaker}` }));
  // Prefixed by the corpus key (unique even for two folders of one name).
  const trainClips = keep(tr.clips, corpusRef(d.corpus).key);
  const testClips = keep(te.clips, corpusRef(d.testCorpus).key);
  if (trainClips.length === 0 || testClips.length === 0) throw new EmolabError('data', `cross-corpus SER: ${trainClips.length} training clips (${tr.manifest.corpus}), ${testClips.length} test clips (${te.manifest.corpus}) in the shared classes ${classes.join(', ')}`);
  const speakers = [...new Set(trainClips.map((c) => c.speaker))].sort();
  const nDev = speakers.length >= 2 ? Math.max(1, Math.round(0.2 * speakers.length)) : 0;
  const dev = new Set(shuffled(speakers, seededRandom(17)).slice(0, nDev));
  const fold: SerFold = {
    name: 'cross-all', train: trainClips.filter((c) => !dev.has(c.speaker)), dev: trainClips.filter((c) => dev.has(c.speaker)), test: testClips,
  };
  const label = (c: Clip): number => (c.emotion === undefined ? -1 : classes.indexOf(c.emotion));
  return {
    protocol, classes, folds: [fold], label, quarantined: tr.manifest.quarantine.length + te.manifest.quarantine.length,
    corpus: tr.manifest.corpus, testCorpus: te.manifest.corpus,
    folding: `cross-corpus: trained on ${tr.manifest.corpus} (${speakers.length - nDev} speakers; dev: ${nDev ? [...dev].join(', ') : 'none, fixed epoch budget'}), tested on every clip of ${te.manifest.corpus} (${new Set(testClips.map((c) => c.speaker)).size} speakers); classes: ${classes.join(', ')}`,
    noDev: fold.dev.length ? [] : [fold.name],
  };
}

/** "emodb-fold1-test-08+03" -> "fold1-test-08+03" (names become file names). */
function shortFoldName(name: string): string {
  return name.replace(/^emodb-/, '');
}

/**
 * A class-stratified, seeded subset of at most `max` clips (for the ci profile); order kept.
 * Every class keeps at least one clip when it had one.
 */
export function stratifiedSubset(clips: Clip[], max: number | undefined, label: (c: Clip) => number, seed: number): Clip[] {
  if (max === undefined || clips.length <= max) return clips;
  const rand = seededRandom(seed);
  const byClass = new Map<number, Clip[]>();
  for (const c of clips) byClass.set(label(c), [...(byClass.get(label(c)) ?? []), c]);
  const keep = new Set<string>();
  for (const items of byClass.values()) {
    const share = Math.max(1, Math.round((items.length / clips.length) * max));
    const order = items.map((c) => ({ c, r: rand() })).sort((a, b) => a.r - b.r);
    for (const { c } of order.slice(0, share)) keep.add(c.id);
  }
  return clips.filter((c) => keep.has(c.id));
}
