/**
 * Corpus downloads for users with internet: EmoDB from its official site (one ZIP, resumable through
 * HTTP Range requests by lib/fetch/download, every WAV checked against the SHA-256 list shipped in
 * ./emodb-sha256.json) and CREMA-D by cloning its official repository with git-lfs (resumable: a
 * second run only pulls the missing objects); GRID's video archives: ./gridFetch. Offline, each fails
 * with a message naming the URL and saying exactly where to put the files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { downloadResumable, type DownloadOptions } from '../fetch/download';
import { dataRoot, repoRoot } from '../paths';
import { verifyChecksums, type ChecksumList, type ChecksumReport } from './checksums';
import { cremadManifest } from './cremad';
import { extractZip, listZip } from './zip';

export const EMODB_URL = 'http://emodb.bilderbar.info/download/download.zip';
export const CREMAD_REPO = 'https://github.com/CheyneyComputerScience/CREMA-D.git';
export const CREMAD_MIRROR = 'https://gitlab.com/cs-cooper-lab/crema-d-mirror.git';
export const EMODB_WAV_COUNT = 535;
export const CREMAD_CLIP_COUNT = 7442;

/** The SHA-256 list of EmoDB shipped with the project (computed from the complete copy in ../shared). */
export function emodbChecksums(): ChecksumList {
  return JSON.parse(readFileSync(join(repoRoot, 'lib', 'data', 'emodb-sha256.json'), 'utf8')) as ChecksumList;
}

export interface VerifyResult extends ChecksumReport {
  /** Files whose mismatch is only a warning (documentation files, not audio). */
  warnings: string[];
}

/** Check an EmoDB folder against the shipped list: every WAV must match; text files only warn. */
export function verifyEmodb(root: string, expected: ChecksumList = emodbChecksums(), opts: { quiet?: boolean } = {}): VerifyResult {
  const r = verifyChecksums(root, expected, opts);
  const isAudio = (p: string) => p.startsWith('wav/');
  return {
    ...r,
    missing: r.missing.filter(isAudio),
    mismatched: r.mismatched.filter(isAudio),
    warnings: [...r.missing.filter((p) => !isAudio(p)).map((p) => `${p}: missing`), ...r.mismatched.filter((p) => !isAudio(p)).map((p) => `${p}: differs from the reference copy`)],
  };
}

function emodbHint(dest: string, url: string, zip: string): string {
  return `download ${url} on a machine with internet and unzip it so that ${join(dest, 'wav', '03a01Fa.wav')} exists (${EMODB_WAV_COUNT} WAV files in ${join(dest, 'wav')}/), ` +
    `or put download.zip at ${zip} and run this command again; check with: npx emolab data verify emodb`;
}

export interface FetchOptions extends DownloadOptions {
  /** Folder that receives the corpus folder (default EMOLAB_DATA). */
  dataDir?: string;
  /** Override the download URL (tests, mirrors). */
  url?: string;
  /** Override the checksum list and WAV count (tests). */
  expected?: ChecksumList;
  log?: (line: string) => void;
}

export interface FetchResult {
  root: string;
  files: number;
  verified: number;
  warnings: string[];
  alreadyPresent: boolean;
}

/**
 * Fetch EmoDB into `<dataDir>/emodb`: download (resumable) the official ZIP to
 * `<dataDir>/emodb-download.zip`, unpack into a staging folder, verify every WAV's SHA-256 and the
 * file count, then move into place. An already complete, verified copy is left untouched.
 */
export async function fetchEmodb(opts: FetchOptions = {}): Promise<FetchResult> {
  const dataDir = opts.dataDir ?? dataRoot();
  const dest = join(dataDir, 'emodb');
  const url = opts.url ?? process.env.EMOLAB_EMODB_URL ?? EMODB_URL;
  const expected = opts.expected ?? emodbChecksums();
  const wavCount = Object.keys(expected.files).filter((p) => p.startsWith('wav/')).length;
  const log = opts.log ?? ((l: string) => console.error(l));
  const zip = join(dataDir, 'emodb-download.zip');
  if (existsSync(join(dest, 'wav'))) {
    const v = verifyEmodb(dest, expected, opts);
    if (v.missing.length === 0 && v.mismatched.length === 0) {
      log(`EmoDB already present and verified at ${dest} (${v.ok} files)`);
      return { root: dest, files: wavCount, verified: v.ok, warnings: v.warnings, alreadyPresent: true };
    }
    log(`EmoDB at ${dest} is incomplete (${v.missing.length} missing, ${v.mismatched.length} differing WAVs): fetching again`);
  }
  mkdirSync(dataDir, { recursive: true });
  const r = await downloadResumable(url, zip, { ...opts, what: 'EmoDB', stage: 'data', hint: emodbHint(dest, url, zip) });
  log(`downloaded ${r.bytes} bytes to ${zip}${r.resumedFrom > 0 ? ` (resumed at ${r.resumedFrom})` : ''}`);
  let entries;
  try {
    entries = listZip(zip);
  } catch (e) {
    rmSync(zip, { force: true });
    throw new EmolabError('data', `the downloaded EmoDB archive is not a readable ZIP (${errorMessage(e)}); it was deleted, run again to download it afresh`, { file: zip, hint: emodbHint(dest, url, zip) });
  }
  const wavEntry = entries.find((e) => /(^|\/)wav\/\d{2}[ab]\d{2}[A-Z][a-z]\.wav$/.test(e.name));
  if (!wavEntry) throw new EmolabError('data', 'the archive holds no wav/NNxNNXx.wav files: not the EmoDB download', { file: zip, hint: emodbHint(dest, url, zip) });
  const prefix = wavEntry.name.slice(0, wavEntry.name.lastIndexOf('wav/'));
  const staging = `${dest}.partial`;
  rmSync(staging, { recursive: true, force: true });
  const written = extractZip(zip, staging, (name) => (name.startsWith(prefix) && !name.startsWith(prefix + '__MACOSX') ? name.slice(prefix.length) : undefined));
  const wavs = written.filter((p) => /^wav\/[^/]+\.wav$/.test(p)).length;
  const v = verifyEmodb(staging, expected, opts);
  if (wavs !== wavCount || v.missing.length || v.mismatched.length) {
    throw new EmolabError('data', `EmoDB archive failed verification: ${wavs} WAV files (expected ${wavCount}), ` +
      `${v.missing.length} missing [${v.missing.slice(0, 5).join(', ')}], ${v.mismatched.length} with a wrong SHA-256 [${v.mismatched.slice(0, 5).join(', ')}]`,
    { file: zip, hint: `delete ${zip} and run again, or ${emodbHint(dest, url, zip)}` });
  }
  mkdirSync(dest, { recursive: true });
  for (const entry of readdirSync(staging)) {
    rmSync(join(dest, entry), { recursive: true, force: true });
    renameSync(join(staging, entry), join(dest, entry));
  }
  rmSync(staging, { recursive: true, force: true });
  for (const w of v.warnings) log(`warning: ${w}`);
  log(`EmoDB ready at ${dest}: ${wavs} WAV files, ${v.ok} files verified by SHA-256`);
  return { root: dest, files: wavs, verified: v.ok, warnings: v.warnings, alreadyPresent: false };
}

function cremadHint(dest: string): string {
  return `clone it yourself: git lfs clone ${CREMAD_REPO} ${dest} (mirror: ${CREMAD_MIRROR}); ` +
    `or copy an existing clone so that ${join(dest, 'AudioWAV', '1001_DFA_ANG_XX.wav')}, ${join(dest, 'VideoFlash', '1001_DFA_ANG_XX.flv')} ` +
    `and ${join(dest, 'VideoDemographics.csv')} exist (${CREMAD_CLIP_COUNT} clips); the metadata alone (VideoDemographics.csv, SentenceFilenames.csv, processedResults/) is enough for manifests and partitions`;
}

export interface CremadFetchOptions {
  dataDir?: string;
  /** Repository URL (default the official GitHub repository; EMOLAB_CREMAD_REPO overrides). */
  repo?: string;
  /** Kill git after this long (default none). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

function runGit(args: string[], cwd: string | undefined, timeoutMs: number | undefined): { ok: boolean; output: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || (r.error ? errorMessage(r.error) : '');
  return { ok: r.status === 0, output };
}

function countFiles(dir: string, ext: string): number {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(ext)).length : 0;
}

/**
 * Fetch CREMA-D into `<dataDir>/crema-d` by cloning the official repository with git-lfs (7.5 GB).
 * Resumable: when the clone exists, `git lfs pull` fetches only the missing media. Verified by
 * counting AudioWAV/*.wav and VideoFlash/*.flv (7,442 each) and checking every WAV header.
 */
export async function fetchCremad(opts: CremadFetchOptions = {}): Promise<FetchResult> {
  const dataDir = opts.dataDir ?? dataRoot();
  const dest = join(dataDir, 'crema-d');
  const repo = opts.repo ?? process.env.EMOLAB_CREMAD_REPO ?? CREMAD_REPO;
  const log = opts.log ?? ((l: string) => console.error(l));
  const verify = (): FetchResult | undefined => {
    const wav = countFiles(join(dest, 'AudioWAV'), '.wav'), flv = countFiles(join(dest, 'VideoFlash'), '.flv');
    if (wav < CREMAD_CLIP_COUNT || flv < CREMAD_CLIP_COUNT) return undefined;
    const m = cremadManifest(dest);
    const warnings = m.quarantine.map((q) => `${q.file}: ${q.reason}`);
    return { root: dest, files: wav + flv, verified: m.clips.length, warnings, alreadyPresent: false };
  };
  const present = verify();
  if (present) { log(`CREMA-D already present at ${dest}: ${present.verified} clips with audio`); return { ...present, alreadyPresent: true }; }
  const lfs = runGit(['lfs', 'version'], undefined, 10000);
  if (!lfs.ok) throw new EmolabError('data', 'git-lfs is not installed (CREMA-D media are git-lfs objects)', { file: dest, hint: `install it (Debian: apt-get install git-lfs) and run this command again; or ${cremadHint(dest)}` });
  mkdirSync(dataDir, { recursive: true });
  const isClone = existsSync(join(dest, '.git'));
  if (existsSync(dest) && !isClone) {
    throw new EmolabError('data', `${dest} exists but is not a git clone (metadata-only copy?); git cannot clone into it`, { file: dest, hint: `move it aside and run again, or ${cremadHint(dest)}` });
  }
  log(isClone ? `resuming: git lfs pull in ${dest}` : `cloning ${repo} into ${dest} (about 7.5 GB)`);
  const r = isClone ? runGit(['lfs', 'pull'], dest, opts.timeoutMs) : runGit(['lfs', 'clone', repo, dest], undefined, opts.timeoutMs);
  if (!r.ok) {
    throw new EmolabError('data', `could not fetch CREMA-D from ${repo}: ${r.output.split('\n').slice(-3).join(' | ')}`, { file: dest, hint: `run again to resume, or ${cremadHint(dest)}` });
  }
  const done = verify();
  if (!done) {
    throw new EmolabError('data', `CREMA-D clone is incomplete: ${countFiles(join(dest, 'AudioWAV'), '.wav')} WAV and ${countFiles(join(dest, 'VideoFlash'), '.flv')} FLV files (expected ${CREMAD_CLIP_COUNT} each)`, { file: dest, hint: `run again to resume (git lfs pull), or ${cremadHint(dest)}` });
  }
  log(`CREMA-D ready at ${dest}: ${done.verified} clips with audio, ${done.warnings.length} quarantined`);
  return done;
}

