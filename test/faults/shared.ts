/**
 * Helpers for the fault-injection suite: temp folders whose path holds spaces and non-ASCII
 * characters (so every test also covers such paths), a seeded synthetic speech-like corpus written as
 * WAV files, ffmpeg for real bad media, and child processes that can be SIGKILLed at a chosen moment.
 */
import { seededRandom } from '../../lib/random';
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ffmpegBinaries } from '../../lib/media/ffmpeg';
import { repoRoot } from '../../lib/paths';
import { encodeWav } from '../audio/shared';

/** A fresh temp folder (under `parent`, default the OS temp dir) named with a space and non-ASCII letters. */
export function hostileTmp(label: string, parent: string = tmpdir()): string {
  const base = mkdtempSync(join(parent, `emolab faults ${label} `));
  const dir = join(base, 'données été 情感');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function removeTmp(dir: string): void {
  rmSync(join(dir, '..'), { recursive: true, force: true });
}

/** Seeded uniform random numbers (mulberry32, lib/random). */
export const rng = seededRandom;

/** Speech-like test signal: a harmonic tone with a syllable-rate loudness envelope, plus a little noise. */
export function speechLike(seconds: number, seed: number, sampleRate = 16000): Float32Array {
  const r = rng(seed);
  const f0 = 100 + 120 * r(), rate = 2 + 4 * r(), depth = 0.3 + 0.7 * r(), amp = 0.05 + 0.25 * r();
  const x = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < x.length; i++) {
    const t = i / sampleRate;
    const env = amp * (1 - depth * 0.5 * (1 + Math.sin(2 * Math.PI * rate * t)));
    let v = 0;
    for (let h = 1; h <= 4; h++) v += Math.sin(2 * Math.PI * f0 * h * t) / h;
    x[i] = env * v * 0.5 + 0.003 * (r() * 2 - 1);
  }
  return x;
}

/** A folder corpus (labels.csv: file, speaker, emotion) of speech-like WAVs: `speakers` x `perSpeaker` clips. */
export function writeSyntheticCorpus(dir: string, speakers: number, perSpeaker: number, seconds: number): string[] {
  mkdirSync(join(dir, 'wav'), { recursive: true });
  const emotions = ['anger', 'sadness', 'happiness', 'neutral'];
  const rows = ['file,speaker,emotion'];
  const files: string[] = [];
  for (let s = 0; s < speakers; s++) {
    for (let k = 0; k < perSpeaker; k++) {
      const rel = `wav/spk${s} clip ${k}.wav`;
      writeFileSync(join(dir, rel), encodeWav([speechLike(seconds, 1000 * s + k)], 16000));
      rows.push(`${rel},spk${s},${emotions[(s + k) % emotions.length]}`);
      files.push(join(dir, rel));
    }
  }
  writeFileSync(join(dir, 'labels.csv'), rows.join('\n') + '\n');
  return files;
}

/** Run ffmpeg (system or bundled) with the given arguments; throws with its stderr on failure. */
export function ffmpeg(args: string[]): void {
  execFileSync(ffmpegBinaries().ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** sha256 of every file under dir (relative path -> hex), skipping names matched by `skip`. */
export function treeHashes(dir: string, skip: RegExp = /^$/): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!skip.test(e.name)) out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

export const sizeOf = (file: string): number => statSync(file).size;

export interface ChildResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; paused?: string }

/**
 * Run `test/faults/child.ts <args>` in a child process with the fault hook preloaded. With `pauseAt`,
 * the child blocks at the Nth atomic rename whose target contains that string and is SIGKILLed there.
 */
export function runChild(args: string[], opts: { pauseAt?: string; nth?: number; when?: 'before' | 'after'; env?: Record<string, string> } = {}): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string> = { ...process.env as Record<string, string>, EMOLAB_PROFILE: 'ci', ...opts.env };
    delete env.EMOLAB_FAULT_PAUSE;
    if (opts.pauseAt) Object.assign(env, { EMOLAB_FAULT_PAUSE: opts.pauseAt, EMOLAB_FAULT_NTH: String(opts.nth ?? 1), EMOLAB_FAULT_WHEN: opts.when ?? 'before' });
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', join(repoRoot, 'test', 'faults', 'faultHook.ts'), join(repoRoot, 'test', 'faults', 'child.ts'), ...args],
      { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', paused: string | undefined;
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /FAULT-PAUSE (.*)\n/.exec(stderr);
      if (m && paused === undefined) { paused = m[1]; child.kill('SIGKILL'); }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr, paused }));
  });
}
