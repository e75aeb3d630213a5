/**
 * Clips for HFLEA: a manifest split (speaker-independent, lib/data) restricted to the classes the
 * experiment uses, optionally subsampled per class (ci profile), decoded to 16 kHz mono
 * (lib/audio/decode) and — for models trained with it — normalised to zero mean, unit variance.
 */
import { decodeAudio } from '../audio/decode';
import type { Clip, Emotion, Manifest, Split } from '../data/types';
import { splitClips } from '../data/splits';
import { EmolabError } from '../errors';
import { normalizeSignal } from '../models/hubert';
import { Rng } from '../random';
import { progress } from '../show/progress';
import type { AlignClip, HfleaData } from './hflea';

/** The four classes of HFLEA's IEMOCAP protocol, as available in EmoDB and CREMA-D. */
export const FOUR_CLASSES: readonly Emotion[] = ['anger', 'happiness', 'neutral', 'sadness'];

export interface AlignDataOptions {
  classes?: readonly Emotion[];
  /** Keep at most this many clips per class in each set (seeded choice); all when undefined. */
  perClass?: { train?: number; dev?: number; test?: number };
  /** Zero-mean unit-variance audio (default true: what the tiny model is trained on). */
  normalize?: boolean;
  seed?: number;
}

function pickPerClass(clips: Clip[], classes: readonly Emotion[], n: number | undefined, rng: Rng): Clip[] {
  const kept = clips.filter((c) => c.emotion && classes.includes(c.emotion));
  if (n === undefined) return kept;
  const out: Clip[] = [];
  for (const e of classes) out.push(...rng.shuffle(kept.filter((c) => c.emotion === e)).slice(0, n));
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

async function decodeClips(clips: Clip[], classes: readonly Emotion[], normalize: boolean, label: string): Promise<AlignClip[]> {
  const bar = progress(`decode ${label}`, clips.length, { unit: 'clips' });
  const out: AlignClip[] = [];
  for (const c of clips) {
    if (!c.audioPath) throw new EmolabError('data', `clip ${c.id} has no audio path`);
    const x = await decodeAudio(c.audioPath);
    out.push({ id: c.id, speaker: c.speaker, label: classes.indexOf(c.emotion!), audio: normalize ? normalizeSignal(x) : x });
    bar.tick();
  }
  bar.done();
  return out;
}

/** Decoded train/dev/test clips of one split. */
export async function loadAlignData(manifest: Manifest, split: Split, opts: AlignDataOptions = {}): Promise<HfleaData> {
  const classes = opts.classes ?? FOUR_CLASSES;
  const rng = new Rng(opts.seed ?? 0);
  const sets = splitClips(manifest, split);
  const norm = opts.normalize ?? true;
  const out: HfleaData = { train: [], dev: [], test: [], classes: [...classes] };
  for (const set of ['train', 'dev', 'test'] as const) {
    out[set] = await decodeClips(pickPerClass(sets[set], classes, opts.perClass?.[set], rng), classes, norm, set);
  }
  return out;
}
