/**
 * GRID (Cooke, Barker, Cunningham & Shao 2006; CC BY 4.0) from its official site: per-speaker video
 * archives downloaded resumably (lib/fetch/download), checked by trust on first use (see `fetchGrid`),
 * and transcoded to the MP4 + labels.csv layout emolab reads. Offline, it fails with a message naming
 * the URL, where to put the archive, and that local clip folders are used as they are.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { downloadResumable, type DownloadOptions } from '../fetch/download';
import { sha256File } from '../hash';
import { dataRoot } from '../paths';
import { ffmpegBinaries, ffprobeJsonText } from '../media/ffmpeg';
import { progress } from '../show/progress';
import { writeFileAtomic, writeJsonAtomic } from '../atomic';
import { formatCsv } from './csv';
import type { FetchResult } from './fetch';
import { folderManifest } from './folder';
import { listZip, readZipEntry, type ZipEntry } from './zip';

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
    const j = JSON.parse(await ffprobeJsonText(ffprobe, file, { timeoutMs: 60000 })) as { streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number; sample_rate?: string }[]; format?: { duration?: string } };
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
    const r = await downloadResumable(url, zip, { ...opts, what: `GRID speaker ${spk}`, stage: 'data', hint: gridHint(dest, n, url, zip) });
    log(had ? `using ${zip} (${r.bytes} bytes, downloaded earlier)` : `downloaded ${r.bytes} bytes to ${zip}${r.resumedFrom > 0 ? ` (resumed at ${r.resumedFrom})` : ''}`);
    const size = statSync(zip).size;
    const sha256 = sha256File(zip);
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
