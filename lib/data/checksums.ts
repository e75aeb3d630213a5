/**
 * Per-file SHA-256 lists: computed from a reference copy (`sha256List`), shipped with the project
 * (e.g. ./emodb-sha256.json), and checked against a downloaded copy (`verifyChecksums`), so a
 * truncated or altered download is caught file by file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from '../hash';
import { progress } from '../show/progress';

export interface ChecksumList {
  /** Where the reference copy came from. */
  source: string;
  /** relative path (forward slashes) -> lower-case hex SHA-256 */
  files: Record<string, string>;
}

/** SHA-256 of each listed file under root (sorted by path). */
export function sha256List(root: string, relPaths: string[], source: string): ChecksumList {
  const files: Record<string, string> = {};
  for (const rel of [...relPaths].sort()) files[rel] = sha256File(join(root, rel));
  return { source, files };
}

export interface ChecksumReport {
  expected: number;
  ok: number;
  missing: string[];
  mismatched: string[];
}

/** Compare the files under root with a checksum list. */
export function verifyChecksums(root: string, list: ChecksumList, opts: { quiet?: boolean } = {}): ChecksumReport {
  const entries = Object.entries(list.files);
  const report: ChecksumReport = { expected: entries.length, ok: 0, missing: [], mismatched: [] };
  const bar = progress('verify sha256', entries.length, { unit: 'files', quiet: opts.quiet });
  for (const [rel, hash] of entries) {
    const file = join(root, rel);
    if (!existsSync(file)) report.missing.push(rel);
    else if (sha256File(file) !== hash) report.mismatched.push(rel);
    else report.ok++;
    bar.tick();
  }
  bar.done();
  return report;
}
