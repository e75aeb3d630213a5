/**
 * Downloads for users with internet: EmoDB from its official site (one ZIP, resumable through HTTP
 * Range requests, every WAV checked against the SHA-256 list shipped in ./emodb-sha256.json),
 * CREMA-D by cloning its official repository with git-lfs (resumable: a second run only pulls the
 * missing objects), and GRID's per-speaker video archives from its official site (resumable ZIP
 * downloads, transcoded to the MP4 layout emolab reads; checked by trust on first use, see
 * `fetchGrid`). Offline, each fails with a message saying exactly where to put the files.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { dataRoot, repoRoot } from '../paths';
import { ffmpegBinaries } from '../media/ffmpeg';
import { progress } from '../show/progress';
import { writeFileAtomic, writeJsonAtomic } from '../atomic';
import { verifyChecksums, type ChecksumList, type ChecksumReport } from './checksums';
import { cremadManifest } from './cremad';
import { formatCsv } from './csv';
import { folderManifest } from './folder';
import { extractZip, listZip, readZipEntry, type ZipEntry } from './zip';

export const EMODB_URL = 'http://emodb.bilderbar.info/download/download.zip';
export const CREMAD_REPO = 'https://github.com/CheyneyComputerScience/CREMA-D.git';
export const CREMAD_MIRROR = 'https://gitlab.com/cs-cooper-lab/crema-d-mirror.git';
export const EMODB_WAV_COUNT = 535;
export const CREMAD_CLIP_COUNT = 7442;

export interface DownloadOptions {
  /** Abort when no byte arrives for this long (default 30 s). */
  idleTimeoutMs?: number;
  quiet?: boolean;
}

export interface DownloadResult {
  file: string;
  bytes: number;
  /** Bytes that were already on disk from an earlier, interrupted run. */
  resumedFrom: number;
}

/**
 * Download `url` to `file`, resumably: bytes go to `<file>.part`; a later call asks only for the
 * rest (HTTP Range) and appends. The finished file is renamed into place. An existing `file` is
 * taken as complete. Network failures throw a plain Error (callers add the where-to-put-files hint).
 */
export async function downloadResumable(url: string, file: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  if (existsSync(file)) return { file, bytes: statSync(file).size, resumedFrom: statSync(file).size };
  const part = `${file}.part`;
  const have = existsSync(part) ? statSync(part).size : 0;
  const idle = opts.idleTimeoutMs ?? 30000;
  const ctrl = new AbortController();
  let timer = setTimeout(() => ctrl.abort(new Error(`no data for ${idle} ms`)), idle);
  const poke = () => { clearTimeout(timer); timer = setTimeout(() => ctrl.abort(new Error(`no data for ${idle} ms`)), idle); };
  try {
    const res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: ctrl.signal, redirect: 'follow' });
    if (res.status === 416 && have > 0) { // the part file already holds everything
      await res.body?.cancel();
      renameSync(part, file);
      return { file, bytes: have, resumedFrom: have };
    }
    if (res.status !== 200 && res.status !== 206) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    const append = res.status === 206;
    const start = append ? have : 0;
    const len = Number(res.headers.get('content-length'));
    const total = Number.isFinite(len) && len > 0 ? start + len : undefined;
    mkdirSync(join(file, '..'), { recursive: true });
    const fd = openSync(part, append ? 'a' : 'w');
    let got = start;
    const bar = progress(`download ${url.split('/').pop()}`, total ?? 0, { unit: 'bytes', quiet: opts.quiet });
    try {
      if (!res.body) throw new Error('empty response body');
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        poke();
        writeSync(fd, chunk);
        got += chunk.byteLength;
        bar.tick(chunk.byteLength);
      }
    } finally {
      closeSync(fd);
      bar.done();
    }
    if (total !== undefined && got !== total) throw new Error(`connection closed after ${got} of ${total} bytes (run again to resume)`);
    renameSync(part, file);
    return { file, bytes: got, resumedFrom: start };
  } catch (e) {
    const reason = ctrl.signal.aborted ? errorMessage(ctrl.signal.reason) : errorMessage(e);
    const cause = (e as { cause?: unknown }).cause;
    throw new Error(cause ? `${reason} (${errorMessage(cause)})` : reason);
  } finally {
    clearTimeout(timer);
  }
}

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
  try {
    const r = await downloadResumable(url, zip, opts);
    log(`downloaded ${r.bytes} bytes to ${zip}${r.resumedFrom > 0 ? ` (resumed at ${r.resumedFrom})` : ''}`);
  } catch (e) {
    throw new EmolabError('data', `could not download EmoDB from ${url}: ${errorMessage(e)}`, { file: zip, hint: emodbHint(dest, url, zip) });
  }
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

// ---------------------------------------------------------------------------------------------
// GRID (Cooke, Barker, Cunningham & Shao 2006; CC BY 4.0)

/** Base URL of the official GRID site; speaker N's video archive is `<base>/s<N>/video/s<N>.mpg_vcd.zip`. */
export const GRID_URL = 'https://spandh.dcs.shef.ac.uk/gridcorpus';
/** GRID speakers run from s1 to s34; s21 has no video. */
export const GRID_MAX_SPEAKER = 34;
export const GRID_NO_VIDEO: readonly number[] = [21];
export const GRID_VIDEO_SPEAKERS: readonly number[] = Array.from({ length: GRID_MAX_SPEAKER }, (_, i) => i + 1).filter((n) => !GRID_NO_VIDEO.includes(n));
/**
 * ffmpeg output settings for GRID clips, the same as the copy in ../shared/datasets/grid (see its
 * README): H.264 CRF 23 yuv420p + AAC 64 kb/s mono 16 kHz, MP4 with the index at the front.
 */
export const GRID_TRANSCODE_ARGS: readonly string[] = ['-c:v', 'libx264', '-preset', 'slow', '-crf', '23', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-ar', '16000', '-movflags', '+faststart'];
/** Columns of the labels.csv written per speaker folder (the av-speech-unlabeled layout; emotion empty). */
export const GRID_LABEL_COLUMNS: readonly string[] = ['file', 'speaker', 'emotion', 'duration', 'width', 'height', 'vcodec', 'acodec', 'audio_sr', 'size_bytes', 'md5', 'source_path'];

export const gridArchiveName = (n: number): string => `s${n}.mpg_vcd.zip`;
export const gridArchiveUrl = (base: string, n: number): string => `${base.replace(/\/+$/, '')}/s${n}/video/${gridArchiveName(n)}`;

/**
 * Speaker numbers from `1-34`, `1,2,5`, `s3-s7`, `s1,s4` or `all` (undefined/empty = all with video).
 * A range skips s21 (no video); naming s21 alone, a number outside 1-34 or anything else is an error.
 */
export function parseGridSpeakers(spec?: string | readonly number[]): number[] {
  const text = Array.isArray(spec) ? spec.join(',') : (spec as string | undefined)?.trim();
  if (text === undefined || text === '' || text.toLowerCase() === 'all') return [...GRID_VIDEO_SPEAKERS];
  const bad = (msg: string) => new EmolabError('data', `GRID speakers "${text}": ${msg}`, { hint: `use e.g. --speakers 1-34 (all with video), --speakers 1,2,5 or --speakers s3-s7; GRID has speakers s1-s${GRID_MAX_SPEAKER}, s21 without video` });
  const out = new Set<number>();
  for (const raw of text.split(',')) {
    const part = raw.trim().toLowerCase();
    const m = /^s?(\d+)(?:\s*-\s*s?(\d+))?$/.exec(part);
    if (!m) throw bad(`"${raw.trim()}" is not a speaker number or range`);
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
    for (const n of [a, b]) if (n < 1 || n > GRID_MAX_SPEAKER) throw bad(`there is no speaker s${n} (GRID has s1-s${GRID_MAX_SPEAKER})`);
    if (b < a) throw bad(`range "${raw.trim()}" runs backwards`);
    if (a === b && GRID_NO_VIDEO.includes(a)) throw bad(`speaker s${a} has no video in GRID (audio only), leave it out`);
    for (let n = a; n <= b; n++) if (!GRID_NO_VIDEO.includes(n)) out.add(n);
  }
  if (out.size === 0) throw bad('no speaker with video');
  return [...out].sort((x, y) => x - y);
}

/** One archive's record in `grid/checksums.json` (trust on first use: what the first download held). */
export interface GridArchiveRecord {
  url: string;
  size: number;
  sha256: string;
  recorded: string;
}

export interface GridChecksums {
  note: string;
  archives: Record<string, GridArchiveRecord>;
}

const GRID_TOFU_NOTE = 'Trust on first use: the GRID site publishes no checksums, so each archive\'s size and SHA-256 are recorded here after its first download and every later copy of it must match.';

export async function sha256Stream(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The clips of a GRID speaker folder when it is complete (labels.csv present, every listed clip usable), else undefined. */
export function gridSpeakerPresent(dir: string): { clips: number; quarantined: number } | undefined {
  if (!existsSync(join(dir, 'labels.csv'))) return undefined;
  try {
    const m = folderManifest(dir, { allowUnlabeled: true });
    return m.clips.length > 0 && m.quarantine.length === 0 ? { clips: m.clips.length, quarantined: 0 } : undefined;
  } catch {
    return undefined;
  }
}

function gridHint(dest: string, n: number, url: string, zip: string): string {
  return `download ${url} on a machine with internet and put it at ${zip} (a partial ${zip}.part is resumed), then run this command again: ` +
    `it is checked, unpacked and transcoded into ${join(dest, `s${n}`)}/ (*.mp4 + labels.csv); ` +
    `or copy already transcoded clips with their labels.csv into ${join(dest, `s${n}`)}/: speaker folders that hold them ` +
    `(such as ../shared/datasets/grid/s1; or point EMOLAB_DATA at ../shared/datasets) are used as they are and not downloaded`;
}

function execTool(bin: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 16 << 20, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(stderr.trim().split('\n').slice(-2).join(' | ') || errorMessage(err)));
      else resolve({ stdout, stderr });
    });
  });
}

interface ClipProbe { duration: string; width: string; height: string; vcodec: string; acodec: string; audioSr: string }

/** Duration, size and codecs of a transcoded clip: ffprobe when installed, else parsed from `ffmpeg -i`. */
async function probeClip(file: string): Promise<ClipProbe> {
  const { ffmpeg, ffprobe } = ffmpegBinaries();
  const round = (s: string | undefined) => (s && Number.isFinite(Number(s)) ? String(Number(Number(s).toFixed(3))) : '');
  if (ffprobe) {
    const { stdout } = await execTool(ffprobe, ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], 60000);
    const j = JSON.parse(stdout) as { streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number; sample_rate?: string }[]; format?: { duration?: string } };
    const v = j.streams?.find((s) => s.codec_type === 'video'), a = j.streams?.find((s) => s.codec_type === 'audio');
    return { duration: round(j.format?.duration), width: String(v?.width ?? ''), height: String(v?.height ?? ''), vcodec: v?.codec_name ?? '', acodec: a?.codec_name ?? '', audioSr: a?.sample_rate ?? '' };
  }
  const text = await new Promise<string>((resolve) => execFile(ffmpeg, ['-hide_banner', '-i', file], { timeout: 60000 }, (_e, _o, stderr) => resolve(stderr))); // exits 1: no output named
  const dur = /Duration: (\d+):(\d+):([\d.]+)/.exec(text);
  const v = /Stream #.*Video: (\w+).*?, (\d+)x(\d+)/.exec(text), a = /Stream #.*Audio: (\w+).*?, (\d+) Hz/.exec(text);
  return { duration: dur ? round(String(Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]))) : '', width: v?.[2] ?? '', height: v?.[3] ?? '', vcodec: v?.[1] ?? '', acodec: a?.[1] ?? '', audioSr: a?.[2] ?? '' };
}

/** Run `work` over `items` with at most `jobs` at a time. */
async function pool<T>(items: readonly T[], jobs: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

export interface GridFetchOptions extends DownloadOptions {
  /** Folder that receives `grid/` and `grid-download/` (default EMOLAB_DATA). */
  dataDir?: string;
  /** Base URL of the corpus site (default GRID_URL; EMOLAB_GRID_URL overrides): tests, mirrors. */
  url?: string;
  /** Speakers: a list or a spec for parseGridSpeakers (default all 33 with video). */
  speakers?: string | readonly number[];
  /** Clips transcoded at once (default 2). */
  jobs?: number;
  /** Delete each archive once its speaker folder is complete (default: keep, so re-runs can check it). */
  deleteArchives?: boolean;
  log?: (line: string) => void;
}

export interface GridSpeakerResult {
  speaker: string;
  root: string;
  clips: number;
  alreadyPresent: boolean;
  /** Clips transcoded by this run (the rest were done by an earlier, interrupted run). */
  transcoded: number;
  /** Archive entries that ffmpeg could not transcode (left out of labels.csv). */
  failed: string[];
}

export interface GridFetchResult extends FetchResult {
  speakers: GridSpeakerResult[];
}

/**
 * Fetch GRID speakers into `<dataDir>/grid/s<N>/` (`<clip>.mp4` + `labels.csv`, the layout of
 * ../shared/datasets/grid, read by `unlabeledAvManifest(<dataDir>/grid, 'grid')`). Per speaker:
 * a folder that already holds a labels.csv whose clips all exist is left untouched (nothing is
 * downloaded); otherwise the official video archive (MPEG-1 + MP2 audio) is downloaded resumably to
 * `<dataDir>/grid-download/s<N>.mpg_vcd.zip`, each .mpg in it is transcoded with GRID_TRANSCODE_ARGS
 * (clips already transcoded by an interrupted run are skipped) and labels.csv is written last.
 *
 * Checksums: GRID publishes none and this project could not download the archives to compute any,
 * so none are shipped. Instead each archive's size and SHA-256 are recorded in
 * `<dataDir>/grid/checksums.json` after its first complete download (trust on first use) and every
 * later copy (a re-run, a re-download) is checked against that record. This catches a truncated or
 * altered re-download and a changed upstream file, not a first download that was already wrong.
 */
export async function fetchGrid(opts: GridFetchOptions = {}): Promise<GridFetchResult> {
  const dataDir = opts.dataDir ?? dataRoot();
  const dest = join(dataDir, 'grid');
  const downloads = join(dataDir, 'grid-download');
  const base = opts.url ?? process.env.EMOLAB_GRID_URL ?? GRID_URL;
  const speakers = parseGridSpeakers(opts.speakers);
  const log = opts.log ?? ((l: string) => console.error(l));
  const sumsFile = join(dest, 'checksums.json');
  const results: GridSpeakerResult[] = [];
  const warnings: string[] = [];
  for (const n of speakers) {
    const spk = `s${n}`;
    const dir = join(dest, spk);
    const present = gridSpeakerPresent(dir);
    if (present) {
      log(`GRID ${spk} already present at ${dir} (${present.clips} clips): not downloaded`);
      results.push({ speaker: spk, root: dir, clips: present.clips, alreadyPresent: true, transcoded: 0, failed: [] });
      continue;
    }
    let ffmpeg: string;
    try {
      ffmpeg = ffmpegBinaries().ffmpeg; // before a long download: fails here when no ffmpeg can be found
    } catch (e) {
      throw new EmolabError('data', `GRID clips are transcoded with ffmpeg, and none was found (${errorMessage(e)})`, { hint: 'install ffmpeg (Debian: apt-get install ffmpeg), set FFMPEG_PATH, or run npm ci for @ffmpeg-installer/ffmpeg' });
    }
    const url = gridArchiveUrl(base, n);
    const name = gridArchiveName(n);
    const zip = join(downloads, name);
    mkdirSync(downloads, { recursive: true });
    const had = existsSync(zip);
    try {
      const r = await downloadResumable(url, zip, opts);
      log(had ? `using ${zip} (${r.bytes} bytes, downloaded earlier)` : `downloaded ${r.bytes} bytes to ${zip}${r.resumedFrom > 0 ? ` (resumed at ${r.resumedFrom})` : ''}`);
    } catch (e) {
      throw new EmolabError('data', `could not download GRID speaker ${spk} from ${url}: ${errorMessage(e)}`, { file: zip, hint: gridHint(dest, n, url, zip) });
    }
    const size = statSync(zip).size;
    const sha256 = await sha256Stream(zip);
    const sums: GridChecksums = existsSync(sumsFile) ? JSON.parse(readFileSync(sumsFile, 'utf8')) as GridChecksums : { note: GRID_TOFU_NOTE, archives: {} };
    const rec = sums.archives[name];
    if (rec && (rec.size !== size || rec.sha256 !== sha256)) {
      throw new EmolabError('data', `${name} differs from the copy recorded at its first download (${rec.recorded}): ${size} bytes, SHA-256 ${sha256} ` +
        `where ${sumsFile} has ${rec.size} bytes, SHA-256 ${rec.sha256}`, { file: zip, hint: `delete ${zip} and run again to download it afresh; if the corpus site really changed the archive, also remove the "${name}" entry from ${sumsFile}` });
    }
    let entries: ZipEntry[];
    try {
      entries = listZip(zip);
    } catch (e) {
      rmSync(zip, { force: true });
      throw new EmolabError('data', `the downloaded GRID archive is not a readable ZIP (${errorMessage(e)}); it was deleted, run again to download it afresh`, { file: zip, hint: gridHint(dest, n, url, zip) });
    }
    const clips = new Map<string, ZipEntry>();
    for (const e of entries) {
      if (e.name.endsWith('/') || /(^|\/)(__MACOSX\/|\._)/.test(e.name) || !/\.mpg$/i.test(e.name)) continue;
      const clip = basename(e.name).replace(/\.mpg$/i, '');
      if (clips.has(clip)) warnings.push(`${name}: ${e.name} repeats clip ${clip}, kept the first`);
      else clips.set(clip, e);
    }
    if (clips.size === 0) throw new EmolabError('data', `${name} holds no .mpg files: not a GRID video archive`, { file: zip, hint: `delete it and run again, or ${gridHint(dest, n, url, zip)}` });
    if (!rec) {
      sums.archives[name] = { url, size, sha256, recorded: new Date().toISOString() };
      writeJsonAtomic(sumsFile, { ...sums, note: GRID_TOFU_NOTE });
      log(`recorded ${name} (${size} bytes, SHA-256 ${sha256}) in ${sumsFile}: later copies must match (trust on first use; GRID publishes no checksums)`);
    } else log(`${name} matches the size and SHA-256 recorded at its first download`);

    const tmp = join(dir, '.transcode-tmp');
    mkdirSync(tmp, { recursive: true });
    const todo = [...clips.keys()].sort();
    const failed: string[] = [];
    let transcoded = 0;
    const bar = progress(`transcode GRID ${spk}`, todo.length, { unit: 'clips', quiet: opts.quiet });
    await pool(todo, opts.jobs ?? 2, async (clip) => {
      const out = join(dir, `${clip}.mp4`);
      if (existsSync(out) && statSync(out).size > 0) { bar.tick(); return; } // done by an earlier run (renamed into place only when complete)
      const mpg = join(tmp, `${clip}.mpg`), part = join(tmp, `${clip}.mp4`);
      try {
        writeFileSync(mpg, readZipEntry(zip, clips.get(clip)!));
        await execTool(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-i', mpg, ...GRID_TRANSCODE_ARGS, part], 300000);
        renameSync(part, out);
        transcoded++;
      } catch (e) {
        failed.push(clip);
        warnings.push(`${spk}/${clip}: ffmpeg could not transcode ${clips.get(clip)!.name} (${errorMessage(e)}); left out`);
      } finally {
        rmSync(mpg, { force: true });
        rmSync(part, { force: true });
        bar.tick();
      }
    });
    bar.done();
    rmSync(tmp, { recursive: true, force: true });
    const good = todo.filter((c) => !failed.includes(c));
    if (good.length === 0) {
      throw new EmolabError('data', `ffmpeg could not transcode any clip of ${name}: ${warnings[warnings.length - 1] ?? ''}`, { file: zip, hint: 'check ffmpeg (npx emolab doctor; it needs libx264 and aac), then run again' });
    }
    const rows: string[][] = [[...GRID_LABEL_COLUMNS]];
    const probes = new Map<string, ClipProbe>();
    await pool(good, opts.jobs ?? 2, async (clip) => { probes.set(clip, await probeClip(join(dir, `${clip}.mp4`))); });
    for (const clip of good) {
      const file = join(dir, `${clip}.mp4`);
      const p = probes.get(clip)!;
      const md5 = createHash('md5').update(readFileSync(file)).digest('hex');
      rows.push([`${clip}.mp4`, spk, '', p.duration, p.width, p.height, p.vcodec, p.acodec, p.audioSr, String(statSync(file).size), md5, `${name}:${clips.get(clip)!.name}`]);
    }
    writeFileAtomic(join(dir, 'labels.csv'), formatCsv(rows));
    const check = folderManifest(dir, { allowUnlabeled: true });
    for (const q of check.quarantine) warnings.push(`${q.file}: ${q.reason}`);
    log(`GRID ${spk} ready at ${dir}: ${check.clips.length} clips (${transcoded} transcoded now, ${good.length - transcoded} by an earlier run${failed.length ? `, ${failed.length} failed` : ''})`);
    results.push({ speaker: spk, root: dir, clips: check.clips.length, alreadyPresent: false, transcoded, failed });
    if (opts.deleteArchives) { rmSync(zip, { force: true }); log(`deleted ${zip} (its SHA-256 stays in ${sumsFile})`); }
  }
  for (const w of warnings) log(`warning: ${w}`);
  const files = results.reduce((s, r) => s + r.clips, 0);
  log(`GRID at ${dest}: ${results.length} speakers, ${files} clips (${results.filter((r) => r.alreadyPresent).length} speakers already present)`);
  return { root: dest, files, verified: files, warnings, alreadyPresent: results.every((r) => r.alreadyPresent), speakers: results };
}
