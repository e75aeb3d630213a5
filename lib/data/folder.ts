/**
 * Any corpus laid out as a folder of media plus a CSV of labels (one row per file), and the
 * unlabeled audio-visual speech collection (clips with real speech and faces but no emotion label,
 * for the pretext tasks that need none).
 *
 * Columns are found by name (case-insensitive, first match): file (`file`, `path`, `filename`),
 * speaker (`speaker`, `speaker_id`, `actor`), emotion (`emotion`, `label`), duration (`duration_s`,
 * `duration`), text (`text_id`, `sentence`), sex (`sex`, `gender`). Other columns are kept in `extra`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { EmolabError } from '../errors';
import { datasetDir, type DatasetLayout } from '../paths';
import { csvHeader, readCsvRecords, sniffDelimiter, type CsvRecord } from './csv';
import { normalizeEmotion } from './emotions';
import { buildManifest, mediaProblem } from './quarantine';
import type { Clip, Manifest, QuarantinedItem } from './types';
import { AUDIO_EXTENSIONS, VIDEO_EXTENSIONS } from './walk';
import { readWavInfo } from './wav';

const COLUMN_NAMES = {
  file: ['file', 'path', 'filename', 'file_name'],
  speaker: ['speaker', 'speaker_id', 'spkrid', 'actor'],
  emotion: ['emotion', 'label', 'emotion_label'],
  duration: ['duration_s', 'duration'],
  text: ['text_id', 'sentence', 'text'],
  sex: ['sex', 'gender'],
  hasAudio: ['has_audio'],
  audioCodec: ['acodec'],
} as const;
type Role = keyof typeof COLUMN_NAMES;

export interface FolderOptions {
  /** Corpus name (default: the folder name). */
  corpus?: string;
  /** Labels file relative to root (default labels.csv). */
  labels?: string;
  /** Override column names by role, e.g. { emotion: 'category' }. */
  columns?: Partial<Record<Role, string>>;
  /** Emotion may be empty (unlabeled data). Default false: a row without emotion is quarantined. */
  allowUnlabeled?: boolean;
  /** Prefix for clip ids (default none); ids are the file path relative to root without extension. */
  idPrefix?: string;
}

function findColumn(header: string[], role: Role, override?: string): string | undefined {
  if (override !== undefined) return header.includes(override) ? override : undefined;
  const lower = header.map((h) => h.toLowerCase());
  for (const name of COLUMN_NAMES[role]) {
    const i = lower.indexOf(name);
    if (i >= 0) return header[i];
  }
  return undefined;
}

function parseSex(v: string | undefined): 'F' | 'M' | undefined {
  const s = (v ?? '').trim().toLowerCase();
  return s === 'f' || s === 'female' || s === 'w' ? 'F' : s === 'm' || s === 'male' ? 'M' : undefined;
}

const falsy = (v: string | undefined): boolean => v !== undefined && /^(false|0|no)$/i.test(v.trim());

/**
 * A manifest from `<root>/<labels.csv>`: one clip per row whose file exists and is non-empty.
 * Audio files give `audioPath`; video files give `videoPath` and also `audioPath` (the audio track)
 * unless a `has_audio` column says false or an `acodec` column is empty. Unknown emotion words,
 * missing/empty files and duplicate ids go to quarantine.
 */
export function folderManifest(root: string, opts: FolderOptions = {}): Manifest {
  root = resolve(root);
  const labelsFile = join(root, opts.labels ?? 'labels.csv');
  if (!existsSync(labelsFile)) throw new EmolabError('data', 'labels CSV not found', { file: labelsFile, hint: 'a folder corpus needs a CSV with at least a file column (file/path/filename) beside its media' });
  // Stray spaces around headers and cells ("file , speaker") must not hide a column or invent a speaker.
  const recs: CsvRecord[] = readCsvRecords(labelsFile).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.trim(), v.trim()])));
  const header = recs.length ? Object.keys(recs[0]) : [];
  const col = Object.fromEntries((Object.keys(COLUMN_NAMES) as Role[]).map((r) => [r, findColumn(header, r, opts.columns?.[r])])) as Record<Role, string | undefined>;
  const parsed = (): string => {
    const text = readFileSync(labelsFile, 'utf8');
    const d = sniffDelimiter(text);
    return `header as parsed with delimiter ${JSON.stringify(d)}: ${csvHeader(text, d).map((h) => JSON.stringify(h)).join(' | ') || '(empty)'}`;
  };
  if (!col.file) throw new EmolabError('data', `labels CSV has no file column (looked for ${COLUMN_NAMES.file.join(', ')}${opts.columns?.file ? ', ' + opts.columns.file : ''}; ${parsed()})`, { file: labelsFile, hint: 'columns are separated by "," ";" or tab; the first line must name them' });
  if (!col.emotion && !opts.allowUnlabeled) throw new EmolabError('data', `labels CSV has no emotion column (looked for ${COLUMN_NAMES.emotion.join(', ')}; ${parsed()})`, { file: labelsFile, hint: 'a labelled corpus needs an emotion column; unlabeled data works for pretraining (emolab pretrain --task energy --corpus <folder>)' });
  const used = new Set(Object.values(col).filter((c): c is string => c !== undefined));
  const corpus = opts.corpus ?? basename(root);
  const clips: Clip[] = [];
  const quarantine: QuarantinedItem[] = [];
  recs.forEach((r, i) => {
    const where = `${labelsFile}:${i + 2}`;
    const rel = r[col.file!];
    if (!rel) { quarantine.push({ file: where, stage: corpus, reason: 'empty file name' }); return; }
    const file = join(root, rel);
    const ext = extname(rel).toLowerCase();
    const isAudio = AUDIO_EXTENSIONS.includes(ext), isVideo = VIDEO_EXTENSIONS.includes(ext);
    if (!isAudio && !isVideo) { quarantine.push({ file, stage: corpus, reason: `unknown media type "${ext}"` }); return; }
    const word = col.emotion ? r[col.emotion] : '';
    const emotion = word ? normalizeEmotion(word) : undefined;
    if (word && !emotion) { quarantine.push({ file, stage: corpus, reason: `unknown emotion "${word}"` }); return; }
    if (!word && !opts.allowUnlabeled) { quarantine.push({ file, stage: corpus, reason: 'no emotion label' }); return; }
    const problem = mediaProblem(file);
    if (problem) { quarantine.push({ file, stage: corpus, reason: problem }); return; }
    const id = (opts.idPrefix ?? '') + rel.replace(/\\/g, '/').replace(/\.[^./]+$/, '');
    const clip: Clip = { id, corpus, speaker: (col.speaker && r[col.speaker]) || 'unknown' };
    const sex = parseSex(col.sex ? r[col.sex] : undefined); if (sex) clip.sex = sex;
    if (emotion) clip.emotion = emotion;
    if (col.text && r[col.text]) clip.textId = r[col.text];
    if (isVideo) {
      clip.videoPath = file;
      const noAudio = falsy(col.hasAudio ? r[col.hasAudio] : undefined) || (col.audioCodec !== undefined && r[col.audioCodec] === '');
      if (!noAudio) clip.audioPath = file;
    } else clip.audioPath = file;
    const dur = col.duration ? Number(r[col.duration]) : NaN;
    if (col.duration && r[col.duration] !== '' && Number.isFinite(dur)) clip.durationS = dur;
    else if (ext === '.wav') clip.durationS = readWavInfo(file).durationS;
    const extra: Record<string, string> = {};
    for (const [k, v] of Object.entries(r)) if (!used.has(k) && v !== '') extra[k] = v;
    if (Object.keys(extra).length) clip.extra = extra;
    clips.push(clip);
  });
  return buildManifest(corpus, root, clips, quarantine);
}

export const AV_SPEECH_LAYOUT: DatasetLayout = {
  folder: 'av-speech-unlabeled',
  layout: 'av-speech-unlabeled/<source>/*.mp4 with <source>/labels.csv (file, speaker, duration, acodec, ...) per source folder',
  required: ['.'],
  fetch: 'put folders of talking-face clips with speech (each with a labels.csv: file, speaker, duration) under <EMOLAB_DATA>/av-speech-unlabeled/',
};

/**
 * Unlabeled audio-visual speech: every subfolder of root holding a labels.csv is read with
 * folderManifest (emotion may be empty); ids are `<subfolder>/<file stem>`, `extra.source` the subfolder.
 */
export function unlabeledAvManifest(root: string = datasetDir(AV_SPEECH_LAYOUT), corpus = 'av-speech-unlabeled'): Manifest {
  root = resolve(root);
  const subs = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.') && existsSync(join(root, d.name, 'labels.csv'))).map((d) => d.name).sort();
  if (subs.length === 0) throw new EmolabError('data', 'no subfolder with a labels.csv', { file: root, hint: AV_SPEECH_LAYOUT.layout });
  const clips: Clip[] = [];
  const quarantine: QuarantinedItem[] = [];
  for (const sub of subs) {
    const m = folderManifest(join(root, sub), { corpus, allowUnlabeled: true, idPrefix: `${sub}/` });
    for (const c of m.clips) clips.push({ ...c, extra: { ...c.extra, source: sub } });
    quarantine.push(...m.quarantine);
  }
  return buildManifest(corpus, root, clips, quarantine);
}
