/**
 * Bad input is set aside, not fatal: every adapter collects rejected items (unknown label codes,
 * files named in metadata but missing on disk, zero-length or unreadable media, duplicate ids)
 * into the manifest's quarantine list with the file and the reason, and keeps every good clip.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { errorMessage } from '../errors';
import type { Clip, Manifest, QuarantinedItem } from './types';
import { readWavInfo } from './wav';

const MP4_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip', 'pnot', 'uuid']);

/**
 * What the first bytes say is wrong with a media file, or undefined when they look right: a git-lfs
 * pointer (media not pulled), an HTML page (a failed download), or a container signature that does
 * not match the extension (.mp4/.m4a/.mov: an ISO-BMFF box; .flv: "FLV"). Other extensions pass.
 */
export function sniffMediaProblem(head: Uint8Array, ext: string): string | undefined {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 64));
  if (text.startsWith('version https://git-lfs')) return 'git-lfs pointer, not media (run: git lfs pull)';
  if (/^\s*<(!doctype|html)/i.test(text)) return 'an HTML page, not media (failed download?)';
  const e = ext.toLowerCase();
  if ((e === '.mp4' || e === '.m4a' || e === '.mov') && !MP4_BOXES.has(text.slice(4, 8))) return `not an MP4/QuickTime file (no ISO-BMFF box at the start)`;
  if (e === '.flv' && !text.startsWith('FLV')) return 'not an FLV file (no FLV signature)';
  return undefined;
}

/** Why a media file cannot be used (missing, not a file, zero-length, wrong signature, bad WAV header), or undefined if it looks fine. */
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
  try {
    const fd = openSync(file, 'r');
    const head = Buffer.alloc(Math.min(64, size));
    try { readSync(fd, head, 0, head.length, 0); } finally { closeSync(fd); }
    const sniffed = sniffMediaProblem(head, extname(file));
    if (sniffed) return sniffed;
  } catch (e) {
    return `unreadable: ${errorMessage(e)}`;
  }
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
