/**
 * RAVDESS (Livingstone & Russo, PLoS ONE 2018): 24 actors (12 female, 12 male), speech and song,
 * audio-only WAV and audio-visual / video-only MP4. File names are seven two-digit fields:
 * `modality-channel-emotion-intensity-statement-repetition-actor`, e.g. `03-01-06-01-02-01-12.wav`:
 * modality 01 audio-video, 02 video-only, 03 audio-only; channel 01 speech, 02 song; emotion 01 neutral,
 * 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised; intensity 01 normal,
 * 02 strong (none for neutral); statement 01 "Kids are talking by the door", 02 "Dogs are sitting by
 * the door"; repetition 01/02; actor 01-24 (odd male, even female).
 */
import { extname, join, resolve } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { datasetDir, type DatasetLayout } from '../paths';
import { buildManifest, mediaProblem } from './quarantine';
import type { Clip, Emotion, Manifest, QuarantinedItem } from './types';
import { AUDIO_EXTENSIONS, listFilesRecursive, VIDEO_EXTENSIONS } from './walk';
import { readWavInfo } from './wav';

export const RAVDESS_LAYOUT: DatasetLayout = {
  folder: 'ravdess',
  layout: 'ravdess/**/NN-NN-NN-NN-NN-NN-NN.{wav,mp4} (e.g. Actor_01/03-01-01-01-01-01-01.wav, the zenodo.org/record/1188976 archives unpacked)',
  required: ['.'],
  fetch: 'download the Audio_Speech_Actors_01-24.zip and Video_Speech_Actor_NN.zip archives from https://zenodo.org/record/1188976 and unzip them into <EMOLAB_DATA>/ravdess/',
};

const MODALITY: Readonly<Record<string, RavdessName['modality']>> = { '01': 'audio-video', '02': 'video-only', '03': 'audio-only' };
const CHANNEL: Readonly<Record<string, RavdessName['channel']>> = { '01': 'speech', '02': 'song' };
export const RAVDESS_EMOTION_CODES: Readonly<Record<string, Emotion>> = {
  '01': 'neutral', '02': 'calm', '03': 'happiness', '04': 'sadness', '05': 'anger', '06': 'fear', '07': 'disgust', '08': 'surprise',
};
const SONG_EMOTIONS: readonly Emotion[] = ['neutral', 'calm', 'happiness', 'sadness', 'anger', 'fear'];

export interface RavdessName {
  /** The full seven-field name, e.g. "03-01-06-01-02-01-12". */
  name: string;
  /** The recording, independent of modality: channel-emotion-intensity-statement-repetition-actor. */
  recording: string;
  modality: 'audio-video' | 'video-only' | 'audio-only';
  channel: 'speech' | 'song';
  emotion: Emotion;
  intensity: 'normal' | 'strong';
  statement: '01' | '02';
  repetition: '01' | '02';
  actor: string;
  sex: 'F' | 'M';
}

/** Parse a RAVDESS file name (folders and extension allowed). Malformed or impossible codes: EmolabError. */
export function parseRavdessName(fileName: string): RavdessName {
  const base = fileName.split(/[\\/]/).pop()!.replace(/\.[A-Za-z0-9]+$/, '');
  const file = fileName || '(empty name)';
  const m = /^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$/.exec(base);
  if (!m) throw new EmolabError('data', 'not a RAVDESS file name (expected seven 2-digit fields modality-channel-emotion-intensity-statement-repetition-actor, e.g. 03-01-06-01-02-01-12)', { file });
  const [, mo, ch, em, inten, st, rep, actor] = m;
  const bad = (what: string, v: string) => new EmolabError('data', `unknown RAVDESS ${what} code "${v}"`, { file });
  const modality = MODALITY[mo]; if (!modality) throw bad('modality', mo);
  const channel = CHANNEL[ch]; if (!channel) throw bad('vocal channel', ch);
  const emotion = RAVDESS_EMOTION_CODES[em]; if (!emotion) throw bad('emotion', em);
  if (inten !== '01' && inten !== '02') throw bad('intensity', inten);
  if (inten === '02' && emotion === 'neutral') throw new EmolabError('data', 'RAVDESS has no strong intensity for neutral', { file });
  if (channel === 'song' && !SONG_EMOTIONS.includes(emotion)) throw new EmolabError('data', `RAVDESS song has no ${emotion}`, { file });
  if (st !== '01' && st !== '02') throw bad('statement', st);
  if (rep !== '01' && rep !== '02') throw bad('repetition', rep);
  const a = Number(actor);
  if (a < 1 || a > 24) throw new EmolabError('data', `RAVDESS actor ${actor} outside 01-24`, { file });
  return {
    name: base, recording: `${ch}-${em}-${inten}-${st}-${rep}-${actor}`, modality, channel, emotion,
    intensity: inten === '01' ? 'normal' : 'strong', statement: st, repetition: rep, actor, sex: a % 2 === 1 ? 'M' : 'F',
  };
}

export interface RavdessOptions {
  /** Keep speech, song or both (default speech). */
  channel?: 'speech' | 'song' | 'both';
}

/**
 * The RAVDESS manifest: one clip per recording (the audio-only WAV and the audio-video MP4 of the
 * same take are one clip; id = `<channel>-<emotion>-<intensity>-<statement>-<repetition>-<actor>` in
 * file-name codes, i.e. the name without its modality field).
 */
export function ravdessManifest(root: string = datasetDir(RAVDESS_LAYOUT), opts: RavdessOptions = {}): Manifest {
  root = resolve(root);
  const want = opts.channel ?? 'speech';
  const files = listFilesRecursive(root, (r) => [...AUDIO_EXTENSIONS, ...VIDEO_EXTENSIONS].includes(extname(r).toLowerCase()));
  const quarantine: QuarantinedItem[] = [];
  const byRec = new Map<string, Clip>();
  for (const rel of files) {
    const file = join(root, rel);
    let p: RavdessName;
    try {
      p = parseRavdessName(rel);
    } catch (e) {
      quarantine.push({ file, stage: 'ravdess', reason: errorMessage(e).replace(/^emolab data \[[^\]]*\]: /, '') });
      continue;
    }
    if (want !== 'both' && p.channel !== want) continue;
    const problem = mediaProblem(file);
    if (problem) { quarantine.push({ file, stage: 'ravdess', reason: problem }); continue; }
    const clip = byRec.get(p.recording) ?? {
      id: p.recording, corpus: 'ravdess', speaker: p.actor, sex: p.sex, emotion: p.emotion, textId: p.statement,
      extra: { channel: p.channel, intensity: p.intensity, repetition: p.repetition },
    };
    const isAudio = AUDIO_EXTENSIONS.includes(extname(rel).toLowerCase());
    const dup = (kept: string) => quarantine.push({ file, stage: 'ravdess', reason: `duplicate ${isAudio ? 'audio' : 'video'} for recording ${p.recording} (kept ${kept})` });
    if (isAudio) {
      if (clip.audioPath) { dup(clip.audioPath); continue; }
      clip.audioPath = file;
      if (extname(rel).toLowerCase() === '.wav') clip.durationS = readWavInfo(file).durationS;
    } else {
      const kept = clip.extra?.videoModality;
      // the audio-video MP4 is preferred; a video-only MP4 of the same take is redundant, not an error
      if (kept === p.modality) { dup(clip.videoPath!); continue; }
      if (kept !== 'audio-video') {
        clip.videoPath = file;
        clip.extra = { ...clip.extra, videoModality: p.modality };
      }
    }
    byRec.set(p.recording, clip);
  }
  return buildManifest('ravdess', root, [...byRec.values()], quarantine);
}
