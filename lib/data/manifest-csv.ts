/**
 * Manifests as CSV: one row per clip (readable in danfojs, a spreadsheet or pandas), plus the
 * quarantine list beside it (`<file>.quarantine.csv`). Save then load gives back the same manifest.
 * Perceived soft labels and corpus extras are stored as JSON inside their cell.
 */
import { existsSync } from 'node:fs';
import { EmolabError, errorMessage } from '../errors';
import { writeFileAtomic } from '../atomic';
import { formatCsv, readCsvRecords, type CsvRecord } from './csv';
import { normalizeEmotion } from './emotions';
import type { Clip, Emotion, Manifest, PerceivedLabels, QuarantinedItem } from './types';

export const MANIFEST_COLUMNS = [
  'id', 'corpus', 'speaker', 'sex', 'age', 'emotion', 'text_id', 'duration_s', 'audio_path', 'video_path',
  'perceived_plurality', 'perceived_majority', 'perceived_raters', 'perceived_soft', 'extra', 'root',
] as const;

const num = (v: number | undefined): string => (v === undefined ? '' : String(v));

/** The CSV row of one clip, in MANIFEST_COLUMNS order. */
export function clipToRow(c: Clip, root: string): string[] {
  const p = c.perceived;
  return [
    c.id, c.corpus, c.speaker, c.sex ?? '', num(c.age), c.emotion ?? '', c.textId ?? '', num(c.durationS),
    c.audioPath ?? '', c.videoPath ?? '', p?.plurality ?? '', p?.majority ?? '', num(p?.raters),
    p?.soft ? JSON.stringify(p.soft) : '', c.extra && Object.keys(c.extra).length ? JSON.stringify(c.extra) : '', root,
  ];
}

export function manifestToCsv(m: Manifest): string {
  return formatCsv([[...MANIFEST_COLUMNS], ...m.clips.map((c) => clipToRow(c, m.root))]);
}

export function quarantinePath(file: string): string {
  return file.replace(/\.csv$/i, '') + '.quarantine.csv';
}

/** Write `file` (clips) and `<file>.quarantine.csv` (rejected items), atomically. */
export function saveManifestCsv(m: Manifest, file: string): void {
  writeFileAtomic(file, manifestToCsv(m));
  writeFileAtomic(quarantinePath(file), formatCsv([['file', 'stage', 'reason'], ...m.quarantine.map((q) => [q.file, q.stage, q.reason])]));
}

function parseEmotionCell(v: string, col: string, line: number, file: string): Emotion | undefined {
  if (v === '') return undefined;
  const e = normalizeEmotion(v);
  if (!e) throw new EmolabError('data', `line ${line}: unknown emotion "${v}" in column ${col}`, { file });
  return e;
}

function parseNumberCell(v: string, col: string, line: number, file: string): number | undefined {
  if (v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new EmolabError('data', `line ${line}: column ${col} is not a number: "${v}"`, { file });
  return n;
}

function parseJsonCell<T>(v: string, col: string, line: number, file: string): T | undefined {
  if (v === '') return undefined;
  try {
    return JSON.parse(v) as T;
  } catch (e) {
    throw new EmolabError('data', `line ${line}: column ${col} is not valid JSON (${errorMessage(e)})`, { file });
  }
}

/** One clip from a manifest CSV record (line = 1-based line number, for messages). */
export function rowToClip(r: CsvRecord, line: number, file: string): Clip {
  if (!r.id || !r.corpus || !r.speaker) throw new EmolabError('data', `line ${line}: id, corpus and speaker must not be empty`, { file });
  if (r.sex !== '' && r.sex !== 'F' && r.sex !== 'M') throw new EmolabError('data', `line ${line}: sex must be F, M or empty, got "${r.sex}"`, { file });
  const c: Clip = { id: r.id, corpus: r.corpus, speaker: r.speaker };
  if (r.sex) c.sex = r.sex as 'F' | 'M';
  const age = parseNumberCell(r.age, 'age', line, file); if (age !== undefined) c.age = age;
  const emo = parseEmotionCell(r.emotion, 'emotion', line, file); if (emo) c.emotion = emo;
  if (r.text_id) c.textId = r.text_id;
  const dur = parseNumberCell(r.duration_s, 'duration_s', line, file); if (dur !== undefined) c.durationS = dur;
  if (r.audio_path) c.audioPath = r.audio_path;
  if (r.video_path) c.videoPath = r.video_path;
  const p: PerceivedLabels = {};
  const pl = parseEmotionCell(r.perceived_plurality, 'perceived_plurality', line, file); if (pl) p.plurality = pl;
  const mj = parseEmotionCell(r.perceived_majority, 'perceived_majority', line, file); if (mj) p.majority = mj;
  const raters = parseNumberCell(r.perceived_raters, 'perceived_raters', line, file); if (raters !== undefined) p.raters = raters;
  const soft = parseJsonCell<Partial<Record<Emotion, number>>>(r.perceived_soft, 'perceived_soft', line, file); if (soft) p.soft = soft;
  if (Object.keys(p).length) c.perceived = p;
  const extra = parseJsonCell<Record<string, string>>(r.extra, 'extra', line, file); if (extra) c.extra = extra;
  return c;
}

/** Load a manifest saved by saveManifestCsv (and its quarantine file when present). */
export function loadManifestCsv(file: string): Manifest {
  const recs = readCsvRecords(file, [...MANIFEST_COLUMNS]);
  const clips = recs.map((r, i) => rowToClip(r, i + 2, file));
  const qFile = quarantinePath(file);
  const quarantine: QuarantinedItem[] = existsSync(qFile)
    ? readCsvRecords(qFile, ['file', 'stage', 'reason']).map((r) => ({ file: r.file, stage: r.stage, reason: r.reason }))
    : [];
  const corpus = recs[0]?.corpus ?? '';
  const root = recs[0]?.root ?? '';
  return { corpus, root, clips, quarantine };
}
