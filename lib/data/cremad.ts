/**
 * CREMA-D (Cao et al., IEEE TAC 2014): 7,442 clips, 91 actors (48 male, 43 female, ages 20-74),
 * 12 sentences, 6 emotions at 4 levels, each clip rated by crowd raters on audio only, video only
 * and audio-visual presentation. The target corpus of Goncalves & Busso (Interspeech 2022).
 *
 * Official layout (github.com/CheyneyComputerScience/CREMA-D): `AudioWAV/<id>.wav`,
 * `VideoFlash/<id>.flv` (optionally converted to `VideoMP4/<id>.mp4`), `VideoDemographics.csv`,
 * `SentenceFilenames.csv`, `processedResults/tabulatedVotes.csv`. Clip ids are
 * `ActorID_Sentence_Emotion_Level`, e.g. `1001_DFA_ANG_XX`.
 *
 * The manifest is built from the metadata alone (the media are 7.5 GB of git-lfs objects): audio and
 * video paths point where the media belong, and `mediaPresent()` says how many are actually there.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { datasetDir, type DatasetLayout } from '../paths';
import { readCsvRecords } from './csv';
import { buildManifest, mediaProblem } from './quarantine';
import { assertSpeakerIndependent } from './splits';
import type { Clip, Emotion, Manifest, PerceivedLabels, QuarantinedItem, Split } from './types';
import { readWavInfo } from './wav';

export const CREMAD_LAYOUT: DatasetLayout = {
  folder: 'crema-d',
  layout: 'crema-d/VideoDemographics.csv, SentenceFilenames.csv, processedResults/tabulatedVotes.csv; media (optional) in AudioWAV/*.wav, VideoFlash/*.flv or VideoMP4/*.mp4',
  required: ['VideoDemographics.csv', 'SentenceFilenames.csv'],
  fetch: 'npx emolab data fetch crema-d',
};

export const CREMAD_PARTITIONS_LAYOUT: DatasetLayout = {
  folder: 'crema-d',
  layout: 'crema-d/partitions/label_consensus_6class_M_{1..5}.csv (from github.com/ilucasgoncalves/VAVL, data/CREMA-D/labels_consensus_6class_M/)',
  required: ['partitions/label_consensus_6class_M_1.csv'],
  fetch: 'copy label_consensus_6class_M_1..5.csv from https://github.com/ilucasgoncalves/VAVL/tree/main/VAVL/data/CREMA-D/labels_consensus_6class_M into <EMOLAB_DATA>/crema-d/partitions/',
};

export const CREMAD_EMOTION_CODES: Readonly<Record<string, Emotion>> = {
  ANG: 'anger', DIS: 'disgust', FEA: 'fear', HAP: 'happiness', NEU: 'neutral', SAD: 'sadness',
};
/** Vote columns of tabulatedVotes.csv. */
export const CREMAD_VOTE_CODES: Readonly<Record<string, Emotion>> = {
  A: 'anger', D: 'disgust', F: 'fear', H: 'happiness', N: 'neutral', S: 'sadness',
};
export const CREMAD_LEVELS: readonly string[] = ['LO', 'MD', 'HI', 'XX'];
export const CREMAD_SENTENCES: Readonly<Record<string, string>> = {
  IEO: "It's eleven o'clock", TIE: 'That is exactly what happened', IOM: "I'm on my way to the meeting",
  IWW: 'I wonder what this is about', TAI: 'The airplane is almost full', MTI: 'Maybe tomorrow it will be cold',
  IWL: 'I would like a new alarm clock', ITH: "I think I have a doctor's appointment", DFA: "Don't forget a jacket",
  ITS: "I think I've seen this before", TSI: 'The surface is slick', WSI: "We'll stop in a couple of minutes",
};

export interface CremadName {
  id: string;
  actor: string;
  sentence: string;
  emotionCode: string;
  emotion: Emotion;
  level: string;
}

/** Parse `1001_DFA_ANG_XX` (folders and extension allowed). Malformed or unknown codes: EmolabError. */
export function parseCremadName(fileName: string): CremadName {
  const base = fileName.split(/[\\/]/).pop()!.replace(/\.(wav|flv|mp4|mp3)$/i, '');
  const m = /^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$/.exec(base);
  if (!m) throw new EmolabError('data', 'not a CREMA-D clip name (expected ActorID_Sentence_Emotion_Level, e.g. 1001_DFA_ANG_XX)', { file: fileName || '(empty name)' });
  const [, actor, sentence, emotionCode, level] = m;
  const emotion = CREMAD_EMOTION_CODES[emotionCode];
  if (!emotion) throw new EmolabError('data', `unknown CREMA-D emotion code "${emotionCode}" (known: ${Object.keys(CREMAD_EMOTION_CODES).join(' ')})`, { file: fileName || '(empty name)' });
  if (!CREMAD_SENTENCES[sentence]) throw new EmolabError('data', `unknown CREMA-D sentence code "${sentence}"`, { file: fileName || '(empty name)' });
  if (!CREMAD_LEVELS.includes(level)) throw new EmolabError('data', `unknown CREMA-D level "${level}" (known: ${CREMAD_LEVELS.join(' ')})`, { file: fileName || '(empty name)' });
  const n = Number(actor);
  if (n < 1001 || n > 1091) throw new EmolabError('data', `CREMA-D actor id ${actor} outside 1001-1091`, { file: fileName || '(empty name)' });
  return { id: base, actor, sentence, emotionCode, emotion, level };
}

export interface CremadActor {
  actor: string;
  age: number;
  sex: 'F' | 'M';
  race: string;
  ethnicity: string;
}

/** VideoDemographics.csv: actor -> age, sex, race, ethnicity. */
export function readCremadDemographics(root: string = datasetDir(CREMAD_LAYOUT)): Map<string, CremadActor> {
  const file = join(root, 'VideoDemographics.csv');
  const out = new Map<string, CremadActor>();
  readCsvRecords(file, ['ActorID', 'Age', 'Sex', 'Race', 'Ethnicity']).forEach((r, i) => {
    const sex = r.Sex === 'Female' ? 'F' : r.Sex === 'Male' ? 'M' : undefined;
    const age = Number(r.Age);
    if (!sex || !Number.isFinite(age)) throw new EmolabError('data', `line ${i + 2}: bad Sex "${r.Sex}" or Age "${r.Age}"`, { file });
    out.set(r.ActorID, { actor: r.ActorID, age, sex, race: r.Race, ethnicity: r.Ethnicity });
  });
  return out;
}

/** SentenceFilenames.csv: the 7,442 clip names in stimulus order. */
export function readCremadClipNames(root: string = datasetDir(CREMAD_LAYOUT)): string[] {
  return readCsvRecords(join(root, 'SentenceFilenames.csv'), ['Filename']).map((r) => r.Filename);
}

/** How raters saw the clip: 1 voice only, 2 face only, 3 audio-visual (CREMA-D's queryType). */
export type VoteModality = 'voice' | 'face' | 'audiovisual';
export const VOTE_MODALITIES: readonly VoteModality[] = ['voice', 'face', 'audiovisual'];

/** Vote counts per emotion for one clip and one modality. */
export type VoteCounts = Partial<Record<Emotion, number>>;
export type CremadVotes = Map<string, Partial<Record<VoteModality, VoteCounts>>>;

/**
 * processedResults/tabulatedVotes.csv -> clip id -> modality -> counts. The row name's first digit
 * is the queryType of processFinishedResponses.R (1 voice, 2 face, 3 audio-visual), the other five
 * digits the clip number in SentenceFilenames.csv (e.g. "302041" = audio-visual votes of clip 2041).
 */
export function readCremadVotes(root: string = datasetDir(CREMAD_LAYOUT)): CremadVotes {
  const file = join(root, 'processedResults', 'tabulatedVotes.csv');
  const recs = readCsvRecords(file, ['', 'A', 'D', 'F', 'H', 'N', 'S', 'fileName', 'numResponses']);
  const out: CremadVotes = new Map();
  recs.forEach((r, i) => {
    const modality = VOTE_MODALITIES[Number(r[''].charAt(0)) - 1];
    if (!modality || r[''].length !== 6) throw new EmolabError('data', `line ${i + 2}: row name "${r['']}" is not <queryType 1-3><clip number 5 digits>`, { file });
    const counts: VoteCounts = {};
    let total = 0;
    for (const [code, emo] of Object.entries(CREMAD_VOTE_CODES)) {
      const n = Number(r[code]);
      if (!Number.isInteger(n) || n < 0) throw new EmolabError('data', `line ${i + 2}: vote count ${code}="${r[code]}" is not a count`, { file });
      counts[emo] = n;
      total += n;
    }
    if (total !== Number(r.numResponses)) throw new EmolabError('data', `line ${i + 2}: votes sum to ${total} but numResponses is ${r.numResponses}`, { file });
    const entry = out.get(r.fileName) ?? {};
    entry[modality] = counts;
    out.set(r.fileName, entry);
  });
  return out;
}

/**
 * Perceived labels from vote counts: soft = vote shares; plurality = the single most-voted emotion
 * (undefined on a tie); majority = the emotion chosen by more than half of the raters (else undefined).
 */
export function perceivedFromVotes(counts: VoteCounts): PerceivedLabels {
  const entries = Object.entries(counts) as [Emotion, number][];
  const raters = entries.reduce((s, [, n]) => s + n, 0);
  if (raters === 0) return { raters: 0 };
  const soft: Partial<Record<Emotion, number>> = {};
  for (const [e, n] of entries) if (n > 0) soft[e] = n / raters;
  const max = Math.max(...entries.map(([, n]) => n));
  const top = entries.filter(([, n]) => n === max).map(([e]) => e);
  const out: PerceivedLabels = { soft, raters };
  if (top.length === 1) out.plurality = top[0];
  if (max * 2 > raters) out.majority = top[0];
  return out;
}

/** The label a model is trained and scored on: the perceived majority when the protocol has one, else the intended emotion. */
export function targetEmotion(c: Clip): Emotion | undefined {
  return c.perceived?.majority ?? c.emotion;
}

export interface CremadOptions {
  /** Which ratings give `perceived` (default 'audiovisual', as in the partitions' consensus labels). */
  votes?: VoteModality;
}

function firstExisting(paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

/**
 * The CREMA-D manifest from its metadata: one clip per SentenceFilenames.csv row, with actor
 * demographics, intended emotion and level, perceived labels from tabulatedVotes.csv, and the media
 * paths. When the media folders exist, missing, empty or unreadable media go to quarantine and WAV
 * durations are read from the headers; when they are absent, the clips are kept (metadata-only).
 */
export function cremadManifest(root: string = datasetDir(CREMAD_LAYOUT), opts: CremadOptions = {}): Manifest {
  root = resolve(root);
  const modality = opts.votes ?? 'audiovisual';
  const actors = readCremadDemographics(root);
  const names = readCremadClipNames(root);
  const votes = existsSync(join(root, 'processedResults', 'tabulatedVotes.csv')) ? readCremadVotes(root) : undefined;
  const audioDir = join(root, 'AudioWAV');
  const haveAudio = existsSync(audioDir);
  const videoDirs = ['VideoMP4', 'VideoFlash'].filter((d) => existsSync(join(root, d)));
  const clips: Clip[] = [];
  const quarantine: QuarantinedItem[] = [];
  const metaFile = join(root, 'SentenceFilenames.csv');
  for (const name of names) {
    let p: CremadName;
    try {
      p = parseCremadName(name);
    } catch (e) {
      quarantine.push({ file: metaFile, stage: 'crema-d', reason: `${name}: ${errorMessage(e).replace(/^emolab data \[[^\]]*\]: /, '')}` });
      continue;
    }
    const actor = actors.get(p.actor);
    if (!actor) { quarantine.push({ file: metaFile, stage: 'crema-d', reason: `${name}: actor ${p.actor} not in VideoDemographics.csv` }); continue; }
    const audioPath = join(audioDir, `${p.id}.wav`);
    let durationS: number | undefined;
    if (haveAudio) {
      const problem = mediaProblem(audioPath);
      if (problem) { quarantine.push({ file: audioPath, stage: 'crema-d', reason: problem }); continue; }
      durationS = readWavInfo(audioPath).durationS;
    }
    const videoPath = firstExisting(videoDirs.map((d) => join(root, d, `${p.id}.${d === 'VideoMP4' ? 'mp4' : 'flv'}`)))
      ?? join(root, 'VideoFlash', `${p.id}.flv`);
    const clip: Clip = {
      id: p.id, corpus: 'crema-d', speaker: p.actor, sex: actor.sex, age: actor.age,
      audioPath, videoPath, emotion: p.emotion, textId: p.sentence,
      extra: { level: p.level, race: actor.race, ethnicity: actor.ethnicity },
    };
    if (durationS !== undefined) clip.durationS = durationS;
    const v = votes?.get(p.id)?.[modality];
    if (v) clip.perceived = perceivedFromVotes(v);
    else if (votes) quarantine.push({ file: join(root, 'processedResults', 'tabulatedVotes.csv'), stage: 'crema-d', reason: `${p.id}: no ${modality} votes (clip kept without perceived labels)` });
    clips.push(clip);
  }
  return buildManifest('crema-d', root, clips, quarantine);
}

export interface MediaCount {
  clips: number;
  audio: number;
  video: number;
}

/** How many clips of a manifest have their audio / video file on disk. */
export function mediaPresent(m: Manifest): MediaCount {
  let audio = 0, video = 0;
  for (const c of m.clips) {
    if (c.audioPath && existsSync(c.audioPath)) audio++;
    if (c.videoPath && existsSync(c.videoPath)) video++;
  }
  return { clips: m.clips.length, audio, video };
}

/** The soft-label columns of the partition files, mapped to emotions. */
const PARTITION_SOFT: Readonly<Record<string, Emotion>> = {
  angry: 'anger', sad: 'sadness', disgust: 'disgust', fear: 'fear', neutral: 'neutral', happy: 'happiness',
};
const PARTITION_SETS: Readonly<Record<string, 'train' | 'dev' | 'test'>> = { Train: 'train', Development: 'dev', Test: 'test' };

export interface CremadPartition {
  /** 1..5 */
  index: number;
  split: Split;
  /** The kept clips (5,820), with perceived.soft = the partition's soft labels and perceived.majority = its consensus label. */
  manifest: Manifest;
}

/**
 * Partition n (1..5) of the speaker-independent CREMA-D protocol (63 train / 14 dev / 14 test actors,
 * 5,820 clips with a majority label): the split, checked speaker-independent, and the manifest of its
 * clips joined with the corpus metadata (demographics, media paths, intended emotion, vote counts).
 */
export interface CremadPartitionOptions extends CremadOptions {
  /** The full corpus manifest, when already built (saves re-reading the metadata for each partition). */
  base?: Manifest;
}

export function loadCremadPartition(n: number, root: string = datasetDir(CREMAD_PARTITIONS_LAYOUT), opts: CremadPartitionOptions = {}): CremadPartition {
  root = resolve(root);
  if (!Number.isInteger(n) || n < 1 || n > 5) throw new EmolabError('data', `CREMA-D partition must be 1..5, got ${n}`);
  const file = join(root, 'partitions', `label_consensus_6class_M_${n}.csv`);
  if (!existsSync(file)) throw new EmolabError('data', `CREMA-D partition ${n} not found`, { file, hint: CREMAD_PARTITIONS_LAYOUT.fetch });
  const recs = readCsvRecords(file, ['FileName', ...Object.keys(PARTITION_SOFT), 'SpkrID', 'Gender', 'Split_Set']);
  const base = opts.base ?? cremadManifest(root, opts);
  const byId = new Map(base.clips.map((c) => [c.id, c]));
  const split: Split = { name: `crema-d-partition-${n}`, train: [], dev: [], test: [] };
  const clips: Clip[] = [];
  const quarantine: QuarantinedItem[] = [];
  recs.forEach((r, i) => {
    const where = `${file}:${i + 2}`;
    let p: CremadName;
    try {
      p = parseCremadName(r.FileName);
    } catch (e) {
      quarantine.push({ file: where, stage: 'crema-d-partition', reason: errorMessage(e).replace(/^emolab data \[[^\]]*\]: /, '') });
      return;
    }
    const set = PARTITION_SETS[r.Split_Set];
    if (!set) { quarantine.push({ file: where, stage: 'crema-d-partition', reason: `${p.id}: unknown Split_Set "${r.Split_Set}"` }); return; }
    if (r.SpkrID !== p.actor) { quarantine.push({ file: where, stage: 'crema-d-partition', reason: `${p.id}: SpkrID ${r.SpkrID} differs from the actor in the name` }); return; }
    const meta = byId.get(p.id);
    if (!meta) { quarantine.push({ file: where, stage: 'crema-d-partition', reason: `${p.id}: not in the CREMA-D manifest (see its quarantine)` }); return; }
    const soft: Partial<Record<Emotion, number>> = {};
    let best: Emotion | undefined, bestV = -1, tie = false;
    for (const [col, emo] of Object.entries(PARTITION_SOFT)) {
      const v = Number(r[col]);
      if (!Number.isFinite(v)) { quarantine.push({ file: where, stage: 'crema-d-partition', reason: `${p.id}: soft label ${col}="${r[col]}" is not a number` }); return; }
      soft[emo] = v;
      if (v > bestV) { best = emo; bestV = v; tie = false; } else if (v === bestV) tie = true;
    }
    if (tie) { quarantine.push({ file: where, stage: 'crema-d-partition', reason: `${p.id}: soft labels tie, no consensus label` }); return; }
    clips.push({ ...meta, perceived: { ...meta.perceived, soft, majority: best } });
    split[set].push(p.id);
  });
  const manifest = buildManifest('crema-d', root, clips, [...base.quarantine, ...quarantine]);
  const kept = new Set(manifest.clips.map((c) => c.id));
  for (const s of ['train', 'dev', 'test'] as const) split[s] = split[s].filter((id, i, a) => kept.has(id) && a.indexOf(id) === i);
  assertSpeakerIndependent(split, manifest.clips);
  return { index: n, split, manifest };
}
