/**
 * The SER evaluation protocols: which clips, which six-class label, which speaker-independent folds.
 *
 * - `emodb` (default demo): EmoDB without boredom (no CREMA-D counterpart), six classes, the five
 *   leave-two-speakers-out folds of lib/data (test: one female + one male speaker; dev: the next pair).
 * - `crema-d` (the paper's corpus): the five speaker-independent partitions (63/14/14 actors), label =
 *   the partition's consensus (majority) label. Needs the CREMA-D audio (AudioWAV/); without it a
 *   clear error says so — the metadata alone ship in ../shared.
 */
import { emodbFolds, emodbManifest } from '../data/emodb';
import { loadCremadPartition, mediaPresent } from '../data/cremad';
import { splitClips } from '../data/splits';
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

export interface SerProtocolData {
  protocol: Protocol;
  classes: readonly Emotion[];
  folds: SerFold[];
  /** Label index of a clip (into `classes`), -1 when it has none. */
  label: (c: Clip) => number;
  quarantined: number;
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
  return { protocol: 'emodb', classes: SIX_EMOTIONS, folds, label, quarantined: manifest.quarantine.length };
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
  return { protocol: 'crema-d', classes: SIX_EMOTIONS, folds, label, quarantined };
}

export function protocolData(protocol: Protocol, opts: { partitions?: number[]; root?: string } = {}): SerProtocolData {
  if (protocol === 'emodb') return emodbProtocol(opts.root);
  if (protocol === 'crema-d') return cremadProtocol(opts.partitions, opts.root);
  throw new EmolabError('cli', `unknown SER protocol "${String(protocol)}" (use emodb or crema-d)`);
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
