/**
 * Bad input is set aside, not fatal: every adapter collects rejected items (unknown label codes,
 * files named in metadata but missing on disk, zero-length or unreadable media, duplicate ids)
 * into the manifest's quarantine list with the file and the reason, and keeps every good clip.
 */
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import { errorMessage } from '../errors';
import type { Clip, Manifest, QuarantinedItem } from './types';
import { readWavInfo } from './wav';

/** Why a media file cannot be used (missing, not a file, zero-length, bad WAV header), or undefined if it looks fine. */
export function mediaProblem(file: string): string | undefined {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return 'not a regular file';
    size = st.size;
  } catch {
    return 'missing on disk';
  }
  if (size === 0) return 'zero-length file';
  if (extname(file).toLowerCase() === '.wav') {
    try {
      const info = readWavInfo(file);
      if (info.frames === 0) return 'WAV has no samples';
    } catch (e) {
      return `unreadable WAV: ${errorMessage(e).replace(/^emolab data \[[^\]]*\]: /, '')}`;
    }
  }
  return undefined;
}

/**
 * Keep the first clip of each id; later ones go to quarantine ("duplicate id"). Returns the kept
 * clips in their original order.
 */
export function dropDuplicateIds(clips: Clip[], quarantine: QuarantinedItem[], stage: string): Clip[] {
  const seen = new Map<string, Clip>();
  const kept: Clip[] = [];
  for (const c of clips) {
    const first = seen.get(c.id);
    if (first) {
      quarantine.push({ file: c.audioPath ?? c.videoPath ?? c.id, stage, reason: `duplicate id "${c.id}" (first seen at ${first.audioPath ?? first.videoPath ?? first.id})` });
      continue;
    }
    seen.set(c.id, c);
    kept.push(c);
  }
  return kept;
}

/** Assemble a manifest: duplicates removed, clips sorted by id (so manifests are deterministic). */
export function buildManifest(corpus: string, root: string, clips: Clip[], quarantine: QuarantinedItem[]): Manifest {
  const kept = dropDuplicateIds(clips, quarantine, corpus);
  kept.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { corpus, root, clips: kept, quarantine };
}

/** One line per quarantined item, for logs and notebooks. */
export function formatQuarantine(items: QuarantinedItem[]): string {
  return items.map((q) => `${q.stage}: ${q.file}: ${q.reason}`).join('\n');
}
