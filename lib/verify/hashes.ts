/**
 * Output hashes for run manifests, and the check behind `emolab verify runs/<name>`.
 *
 * A run manifest (`runs/<name>/run.json`) records, under `outputs`, the SHA-256 and byte size of each
 * file the run produced (paths relative to the run folder). `verifyRun` re-hashes those files and
 * reports each one as ok, changed (bytes differ: a corrupt copy, a half-written file, an edit) or
 * missing. Hashing streams the file in 1 MiB blocks, so a multi-GB checkpoint needs no more memory.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { sha256File } from '../hash';

/** One output file as recorded in a run manifest. */
export interface OutputRecord {
  sha256: string;
  bytes: number;
}

/** `outputs` of a run manifest: relative path -> hash and size. */
export type OutputHashes = Record<string, OutputRecord>;

/** A run-relative path that stays inside the run folder (no absolute paths, no `..`). Pure. */
export function safeRelative(rel: string): boolean {
  if (rel === '' || isAbsolute(rel) || rel.includes('\0')) return false;
  const n = normalize(rel);
  return n !== '..' && !n.startsWith(`..${sep}`) && !n.startsWith('../');
}

/**
 * Hash the given run-relative files that exist (files a run did not produce, e.g. best.safetensors
 * without a dev set, are left out). Keys keep the given order.
 */
export function hashOutputs(runDir: string, relFiles: readonly string[]): OutputHashes {
  const out: OutputHashes = {};
  for (const rel of relFiles) {
    if (!safeRelative(rel)) throw new EmolabError('store', `output path "${rel}" is not inside the run folder`, { file: runDir });
    const file = join(runDir, rel);
    if (!existsSync(file)) continue;
    out[rel] = { sha256: sha256File(file), bytes: statSync(file).size };
  }
  return out;
}

export type OutputStatus = 'ok' | 'changed' | 'missing';

export interface OutputCheck {
  file: string;
  status: OutputStatus;
  expected: OutputRecord;
  actual?: OutputRecord;
}

export interface VerifyReport {
  runDir: string;
  manifestFile: string;
  command?: string;
  checks: OutputCheck[];
  ok: boolean;
}

/** Validate the `outputs` field of a parsed manifest. Pure; exported for tests. */
export function parseOutputHashes(value: unknown, file: string): OutputHashes {
  if (value === undefined) {
    throw new EmolabError('store', 'run manifest records no output hashes (`outputs`), so there is nothing to verify', { file, hint: 'runs written before output hashing was added must be rerun to be verifiable' });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new EmolabError('store', '`outputs` in the run manifest is not an object', { file });
  const out: OutputHashes = {};
  for (const [rel, rec] of Object.entries(value as Record<string, unknown>)) {
    const r = rec as Partial<OutputRecord> | null;
    if (!safeRelative(rel)) throw new EmolabError('store', `output path "${rel}" in the run manifest is not inside the run folder`, { file });
    if (!r || typeof r !== 'object' || typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256) || !Number.isSafeInteger(r.bytes) || (r.bytes as number) < 0) {
      throw new EmolabError('store', `output "${rel}" in the run manifest needs {sha256: 64 hex digits, bytes: integer}`, { file });
    }
    out[rel] = { sha256: r.sha256, bytes: r.bytes as number };
  }
  if (Object.keys(out).length === 0) throw new EmolabError('store', 'run manifest lists no outputs', { file });
  return out;
}

/** Re-hash every output a run manifest records. `run` is a run folder or its run.json. */
export function verifyRun(run: string): VerifyReport {
  const abs = resolve(run);
  const isFile = existsSync(abs) && statSync(abs).isFile();
  const runDir = isFile ? resolve(abs, '..') : abs;
  const manifestFile = isFile ? abs : join(runDir, 'run.json');
  if (!existsSync(manifestFile)) throw new EmolabError('store', 'no run manifest here', { file: manifestFile, hint: 'pass a run folder such as runs/pretrain-energy (it holds run.json)' });
  let manifest: { command?: unknown; outputs?: unknown };
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as typeof manifest;
  } catch (e) {
    throw new EmolabError('store', `run manifest is not JSON: ${errorMessage(e)}`, { file: manifestFile });
  }
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) throw new EmolabError('store', 'run manifest is not a JSON object', { file: manifestFile });
  const expected = parseOutputHashes(manifest.outputs, manifestFile);
  const checks: OutputCheck[] = Object.entries(expected).map(([rel, exp]) => {
    const file = join(runDir, rel);
    if (!existsSync(file)) return { file: rel, status: 'missing', expected: exp };
    const actual = { sha256: sha256File(file), bytes: statSync(file).size };
    return { file: rel, status: actual.sha256 === exp.sha256 && actual.bytes === exp.bytes ? 'ok' : 'changed', expected: exp, actual };
  });
  return { runDir, manifestFile, command: typeof manifest.command === 'string' ? manifest.command : undefined, checks, ok: checks.every((c) => c.status === 'ok') };
}

/** Human-readable lines for a report. Pure. */
export function formatVerifyReport(r: VerifyReport): string {
  const lines = r.checks.map((c) => {
    if (c.status === 'ok') return `  ok       ${c.file}  (${c.expected.bytes} bytes, sha256 ${c.expected.sha256.slice(0, 12)}…)`;
    if (c.status === 'missing') return `  MISSING  ${c.file}  (expected ${c.expected.bytes} bytes)`;
    return `  CHANGED  ${c.file}  (expected ${c.expected.bytes} bytes sha256 ${c.expected.sha256.slice(0, 12)}…, found ${c.actual!.bytes} bytes sha256 ${c.actual!.sha256.slice(0, 12)}…)`;
  });
  const bad = r.checks.filter((c) => c.status !== 'ok').length;
  return [`${r.manifestFile}${r.command ? ` (${r.command})` : ''}`, ...lines, bad ? `${bad} of ${r.checks.length} outputs do not match the manifest` : `all ${r.checks.length} outputs match the manifest`].join('\n');
}
