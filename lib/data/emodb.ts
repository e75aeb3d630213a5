/**
 * EmoDB (Berlin Database of Emotional Speech; Burkhardt et al., Interspeech 2005): 535 utterances,
 * 10 actors (5 female, 5 male), 10 German texts, 7 emotions, 16 kHz mono WAV.
 *
 * File-name code, e.g. `03a01Fa.wav`: speaker (2 digits) `03`, text (3) `a01`, emotion letter `F`,
 * version letter `a`. Emotion letters (German initials): W Ärger/Wut = anger, L Langeweile = boredom,
 * E Ekel = disgust, A Angst = fear, F Freude = happiness, T Trauer = sadness, N neutral.
 */
import { readdirSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { datasetDir, type DatasetLayout } from '../paths';
import { buildManifest, mediaProblem } from './quarantine';
import { leaveTwoSpeakersOutFolds } from './splits';
import type { Clip, Emotion, Manifest, QuarantinedItem, Split } from './types';
import { readWavInfo } from './wav';

export const EMODB_LAYOUT: DatasetLayout = {
  folder: 'emodb',
  layout: 'emodb/wav/*.wav (535 files named like 03a01Fa.wav); optional lablaut/, silb/, erkennung.txt',
  required: ['wav'],
  fetch: 'npx emolab data fetch emodb',
};

export const EMODB_EMOTION_CODES: Readonly<Record<string, Emotion>> = {
  W: 'anger', L: 'boredom', E: 'disgust', A: 'fear', F: 'happiness', T: 'sadness', N: 'neutral',
};

/** Speakers as documented with the corpus (sex, age at recording). */
export const EMODB_SPEAKERS: Readonly<Record<string, { sex: 'F' | 'M'; age: number }>> = {
  '03': { sex: 'M', age: 31 }, '08': { sex: 'F', age: 34 }, '09': { sex: 'F', age: 21 },
  '10': { sex: 'M', age: 32 }, '11': { sex: 'M', age: 26 }, '12': { sex: 'M', age: 30 },
  '13': { sex: 'F', age: 32 }, '14': { sex: 'F', age: 35 }, '15': { sex: 'M', age: 25 },
  '16': { sex: 'F', age: 31 },
};

/** The ten texts (a = short everyday sentences, b = longer ones). */
export const EMODB_TEXTS: readonly string[] = ['a01', 'a02', 'a04', 'a05', 'a07', 'b01', 'b02', 'b03', 'b09', 'b10'];

export interface EmodbName {
  /** e.g. "03a01Fa" */
  id: string;
  speaker: string;
  textId: string;
  code: string;
  emotion: Emotion;
  version: string;
}

/**
 * Parse an EmoDB file name (with or without folder and `.wav`). Throws an EmolabError for a
 * malformed name, an unknown emotion letter, an unknown speaker or an unknown text.
 */
export function parseEmodbName(fileName: string): EmodbName {
  const base = fileName.split(/[\\/]/).pop()!.replace(/\.wav$/i, '');
  const m = /^(\d{2})([ab]\d{2})([A-Za-z])([a-z])$/.exec(base);
  if (!m) throw new EmolabError('data', `not an EmoDB file name (expected speaker 2 digits, text a|b + 2 digits, emotion letter, version letter, e.g. 03a01Fa.wav)`, { file: fileName || '(empty name)' });
  const [, speaker, textId, code, version] = m;
  const emotion = EMODB_EMOTION_CODES[code];
  if (!emotion) throw new EmolabError('data', `unknown EmoDB emotion code "${code}" (known: ${Object.keys(EMODB_EMOTION_CODES).join(' ')})`, { file: fileName || '(empty name)' });
  if (!EMODB_SPEAKERS[speaker]) throw new EmolabError('data', `unknown EmoDB speaker "${speaker}" (known: ${Object.keys(EMODB_SPEAKERS).join(' ')})`, { file: fileName || '(empty name)' });
  if (!EMODB_TEXTS.includes(textId)) throw new EmolabError('data', `unknown EmoDB text "${textId}" (known: ${EMODB_TEXTS.join(' ')})`, { file: fileName || '(empty name)' });
  return { id: base, speaker, textId, code, emotion, version };
}

export interface EmodbOptions {
  /** Boredom has no CREMA-D counterpart: keep it as its own class (default) or drop those clips. */
  boredom?: 'keep' | 'drop';
}

/**
 * The EmoDB manifest from `<root>/wav/*.wav`: ids, speakers with sex/age, intended emotion, text id,
 * and duration from each WAV header. Malformed names and unreadable files go to quarantine.
 */
export function emodbManifest(root: string = datasetDir(EMODB_LAYOUT), opts: EmodbOptions = {}): Manifest {
  root = resolve(root);
  const wavDir = join(root, 'wav');
  let names: string[];
  try {
    names = readdirSync(wavDir).sort();
  } catch (e) {
    throw new EmolabError('data', `cannot list EmoDB audio folder: ${errorMessage(e)}`, { file: wavDir, hint: `expected layout: ${EMODB_LAYOUT.layout}; or run: ${EMODB_LAYOUT.fetch}` });
  }
  const clips: Clip[] = [];
  const quarantine: QuarantinedItem[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const file = join(wavDir, name);
    if (extname(name).toLowerCase() !== '.wav') { quarantine.push({ file, stage: 'emodb', reason: 'not a .wav file' }); continue; }
    let parsed: EmodbName;
    try {
      parsed = parseEmodbName(name);
    } catch (e) {
      quarantine.push({ file, stage: 'emodb', reason: errorMessage(e).replace(/^emolab data \[[^\]]*\]: /, '') });
      continue;
    }
    if (parsed.emotion === 'boredom' && opts.boredom === 'drop') continue;
    const problem = mediaProblem(file);
    if (problem) { quarantine.push({ file, stage: 'emodb', reason: problem }); continue; }
    const spk = EMODB_SPEAKERS[parsed.speaker];
    clips.push({
      id: parsed.id,
      corpus: 'emodb',
      speaker: parsed.speaker,
      sex: spk.sex,
      age: spk.age,
      audioPath: file,
      emotion: parsed.emotion,
      textId: parsed.textId,
      durationS: readWavInfo(file).durationS,
      extra: { version: parsed.version, code: parsed.code },
    });
  }
  return buildManifest('emodb', root, clips, quarantine);
}

/**
 * Speaker-independent EmoDB folds: leave-two-speakers-out, five folds; fold k tests on one female
 * and one male speaker (08+03, 09+10, 13+11, 14+12, 16+15) and holds out the next pair as dev for
 * early stopping; the remaining six speakers train.
 */
export function emodbFolds(manifest: Manifest = emodbManifest()): Split[] {
  return leaveTwoSpeakersOutFolds(manifest.clips, 'emodb');
}
