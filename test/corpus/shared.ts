/**
 * Small labelled folder corpora made at test time from EmoDB clips (copied into /tmp, never into the
 * repository), laid out as a new user's corpus would be: `<root>/wav/<name>.wav` (or nested
 * subfolders) plus `<root>/labels.csv` with file, speaker, emotion columns.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { emodbManifest } from '../../lib/data/emodb';
import type { Clip } from '../../lib/data/types';

export const ENV = {
  EMOLAB_DATA: process.env.EMOLAB_DATA ?? '/work/shared/datasets',
  EMOLAB_MODELS: process.env.EMOLAB_MODELS ?? '/work/shared/models',
};

export interface FolderCorpusOptions {
  /** EmoDB speakers to take (e.g. ['03', '08']). */
  speakers: string[];
  /** Clips per speaker and emotion (first by id), at most. */
  perEmotion: number;
  /** Emotions to keep (default: the six shared classes present in EmoDB). */
  emotions?: string[];
  /** Relative path of each copied file (default `wav/<EmoDB name>.wav`). */
  pathOf?: (c: Clip, i: number) => string;
  delimiter?: ',' | ';' | '\t';
  /** Speaker names in labels.csv (default `spk-<EmoDB speaker>`). */
  speakerName?: (s: string) => string;
}

/** Make a folder corpus under a fresh temporary folder; returns its root and the rows written. */
export function makeFolderCorpus(opts: FolderCorpusOptions, parent = mkdtempSync(join(tmpdir(), 'emolab-corpus-'))): { root: string; rows: { file: string; speaker: string; emotion: string; source: Clip }[] } {
  const emotions = opts.emotions ?? ['anger', 'disgust', 'fear', 'happiness', 'neutral', 'sadness'];
  const all = [...emodbManifest().clips].sort((a, b) => a.id.localeCompare(b.id));
  const picked: Clip[] = [];
  for (const s of opts.speakers) {
    for (const e of emotions) picked.push(...all.filter((c) => c.speaker === s && c.emotion === e).slice(0, opts.perEmotion));
  }
  const root = join(parent, 'corpus');
  const rows = picked.map((c, i) => {
    const file = opts.pathOf ? opts.pathOf(c, i) : `wav/${basename(c.audioPath!)}`;
    mkdirSync(dirname(join(root, file)), { recursive: true });
    copyFileSync(c.audioPath!, join(root, file));
    return { file, speaker: (opts.speakerName ?? ((s) => `spk-${s}`))(c.speaker), emotion: c.emotion!, source: c };
  });
  const d = opts.delimiter ?? ',';
  const q = (v: string) => (v.includes(d) || v.includes('"') ? `"${v.replace(/"/g, '""')}"` : v);
  writeFileSync(join(root, 'labels.csv'), ['file,speaker,emotion'.split(',').join(d), ...rows.map((r) => [r.file, r.speaker, r.emotion].map(q).join(d))].join('\n') + '\n');
  return { root, rows };
}
