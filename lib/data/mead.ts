/**
 * MEAD (Wang et al., ECCV 2020): 60 actors filmed from 7 views speaking with 8 emotions at 3
 * intensity levels. Official layout after unpacking each actor's archives:
 * `M003/video/front/angry/level_1/001.mp4` and `M003/audio/angry/level_1/001.m4a` (actor M/W + 3 digits,
 * W = female). Flat names used by derived releases are also read: `M030_front_angry_level3_001.mp4`
 * (DreamTalk style clips) and `M030_sad_3_001.mp4` (EAMM crops).
 */
import { extname, join, resolve } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { datasetDir, type DatasetLayout } from '../paths';
import { buildManifest, mediaProblem } from './quarantine';
import type { Clip, Emotion, Manifest, QuarantinedItem } from './types';
import { AUDIO_EXTENSIONS, listFilesRecursive, VIDEO_EXTENSIONS } from './walk';

export const MEAD_LAYOUT: DatasetLayout = {
  folder: 'mead',
  layout: 'mead/<actor>/video/<view>/<emotion>/level_<n>/<nnn>.mp4 and mead/<actor>/audio/<emotion>/level_<n>/<nnn>.m4a (e.g. M003/video/front/angry/level_1/001.mp4)',
  required: ['.'],
  fetch: 'request MEAD at https://wywu.github.io/projects/MEAD/MEAD.html, then unpack each actor\'s video.tar and audio.tar into <EMOLAB_DATA>/mead/<actor>/',
};

export const MEAD_EMOTIONS: Readonly<Record<string, Emotion>> = {
  angry: 'anger', contempt: 'contempt', disgusted: 'disgust', fear: 'fear', happy: 'happiness',
  neutral: 'neutral', sad: 'sadness', surprised: 'surprise',
};
export const MEAD_VIEWS: readonly string[] = ['front', 'down', 'top', 'left_30', 'left_60', 'right_30', 'right_60'];

export interface MeadPath {
  /** Clip key shared by a take's video and audio: `<actor>_<emotion word>_level<n>_<nnn>`. */
  id: string;
  speaker: string;
  sex: 'F' | 'M';
  kind: 'video' | 'audio';
  /** Camera view (undefined for audio and for crops whose name does not say). */
  view?: string;
  emotion: Emotion;
  level: number;
  utterance: string;
}

const TREE_VIDEO = /(?:^|\/)([MW]\d{3})\/video\/([a-z_0-9]+)\/([a-z]+)\/level_(\d)\/(\d{3})\.[A-Za-z0-9]+$/;
const TREE_AUDIO = /(?:^|\/)([MW]\d{3})\/audio\/([a-z]+)\/level_(\d)\/(\d{3})\.[A-Za-z0-9]+$/;
const FLAT_VIEW = new RegExp(`^([MW]\\d{3})_(${MEAD_VIEWS.join('|')})_([a-z]+)_level_?(\\d)_(\\d{3})\\.[A-Za-z0-9]+$`);
const FLAT_CROP = /^([MW]\d{3})_([a-z]+)_(\d)_(\d{3})\.[A-Za-z0-9]+$/;

/** Parse a MEAD path (official tree or flat derived names). Malformed or unknown codes: EmolabError. */
export function parseMeadPath(relPath: string): MeadPath {
  const p = relPath.replace(/\\/g, '/');
  const file = relPath || '(empty name)';
  const base = p.split('/').pop()!;
  const ext = extname(base).toLowerCase();
  let speaker: string, view: string | undefined, word: string, level: string, utt: string, kind: 'video' | 'audio';
  let m: RegExpExecArray | null;
  if ((m = TREE_VIDEO.exec(p))) { [, speaker, view, word, level, utt] = m; kind = 'video'; }
  else if ((m = TREE_AUDIO.exec(p))) { [, speaker, word, level, utt] = m; kind = 'audio'; }
  else if ((m = FLAT_VIEW.exec(base))) { [, speaker, view, word, level, utt] = m; kind = AUDIO_EXTENSIONS.includes(ext) ? 'audio' : 'video'; }
  else if ((m = FLAT_CROP.exec(base))) { [, speaker, word, level, utt] = m; kind = AUDIO_EXTENSIONS.includes(ext) ? 'audio' : 'video'; }
  else throw new EmolabError('data', 'not a MEAD path (expected <actor>/video/<view>/<emotion>/level_<n>/<nnn>.mp4, <actor>/audio/<emotion>/level_<n>/<nnn>.m4a, or <actor>_<view>_<emotion>_level<n>_<nnn>.mp4)', { file });
  if (kind === 'video' && !VIDEO_EXTENSIONS.includes(ext)) throw new EmolabError('data', `MEAD video with extension "${ext}"`, { file });
  if (kind === 'audio' && !AUDIO_EXTENSIONS.includes(ext)) throw new EmolabError('data', `MEAD audio with extension "${ext}"`, { file });
  if (view !== undefined && !MEAD_VIEWS.includes(view)) throw new EmolabError('data', `unknown MEAD view "${view}" (known: ${MEAD_VIEWS.join(' ')})`, { file });
  const emotion = MEAD_EMOTIONS[word];
  if (!emotion) throw new EmolabError('data', `unknown MEAD emotion "${word}" (known: ${Object.keys(MEAD_EMOTIONS).join(' ')})`, { file });
  const lv = Number(level);
  if (lv < 1 || lv > 3) throw new EmolabError('data', `MEAD level ${level} outside 1-3`, { file });
  if (emotion === 'neutral' && lv !== 1) throw new EmolabError('data', 'MEAD neutral exists at level 1 only', { file });
  const out: MeadPath = { id: `${speaker}_${word}_level${lv}_${utt}`, speaker, sex: speaker[0] === 'W' ? 'F' : 'M', kind, emotion, level: lv, utterance: utt };
  if (view !== undefined) out.view = view;
  return out;
}

export interface MeadOptions {
  /** Camera view to use (default front); videos of other views are skipped. */
  view?: string;
}

/** The MEAD manifest: one clip per take (video of the chosen view + its audio, when present). */
export function meadManifest(root: string = datasetDir(MEAD_LAYOUT), opts: MeadOptions = {}): Manifest {
  root = resolve(root);
  const view = opts.view ?? 'front';
  const files = listFilesRecursive(root, (r) => [...AUDIO_EXTENSIONS, ...VIDEO_EXTENSIONS].includes(extname(r).toLowerCase()));
  const quarantine: QuarantinedItem[] = [];
  const byId = new Map<string, Clip>();
  for (const rel of files) {
    const file = join(root, rel);
    let p: MeadPath;
    try {
      p = parseMeadPath(rel);
    } catch (e) {
      quarantine.push({ file, stage: 'mead', reason: errorMessage(e).replace(/^emolab data \[[^\]]*\]: /, '') });
      continue;
    }
    if (p.kind === 'video' && p.view !== undefined && p.view !== view) continue;
    const problem = mediaProblem(file);
    if (problem) { quarantine.push({ file, stage: 'mead', reason: problem }); continue; }
    const clip = byId.get(p.id) ?? {
      id: p.id, corpus: 'mead', speaker: p.speaker, sex: p.sex, emotion: p.emotion, textId: p.utterance,
      extra: { level: String(p.level), view },
    };
    const slot = p.kind === 'audio' ? 'audioPath' : 'videoPath';
    if (clip[slot]) { quarantine.push({ file, stage: 'mead', reason: `duplicate ${p.kind} for ${p.id} (kept ${clip[slot]})` }); continue; }
    clip[slot] = file;
    byId.set(p.id, clip);
  }
  return buildManifest('mead', root, [...byId.values()], quarantine);
}

/** The small set of real MEAD clips used for development (DreamTalk style clips, EAMM crops). */
export const MEAD_SAMPLES_LAYOUT: DatasetLayout = {
  folder: 'mead-samples',
  layout: 'mead-samples/dreamtalk/<actor>_front_<emotion>_level<n>_<nnn>.mp4 with labels.csv; crop/, video/ with labels.csv',
  required: ['dreamtalk/labels.csv'],
  fetch: 'copy data/style_clip/video/*.mp4 from github.com/ali-vilab/dreamtalk into <EMOLAB_DATA>/mead-samples/dreamtalk/ (see ../shared/README.md)',
};
