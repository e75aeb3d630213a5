/**
 * What a run ran on: versions of the runtime and the libraries that shape results, the git commit,
 * the profile, the backend and (wasm) its kernel set. Printed by notebook 00 and written into every run manifest.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { repoRoot } from './paths';
import { profileName } from './profile';
import { backendReport } from './backend';
import type { KernelReport } from './accel';
import { trainingWorkers, type WorkerCount } from './accel/workers';

const req = createRequire(join(repoRoot, 'package.json'));

function pkgVersion(name: string): string {
  // Read the file directly: some packages (tasks-vision) do not export ./package.json.
  try {
    const main = req.resolve(name);
    let dir = dirname(main);
    while (dir !== dirname(dir)) {
      const pj = join(dir, 'package.json');
      if (existsSync(pj)) {
        const parsed = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string; version?: string };
        if (parsed.name === name && parsed.version) return parsed.version;
      }
      dir = dirname(dir);
    }
  } catch { /* fall through */ }
  const direct = join(repoRoot, 'node_modules', name, 'package.json');
  return existsSync(direct) ? (JSON.parse(readFileSync(direct, 'utf8')) as { version: string }).version : 'not installed';
}

export interface RunInfo {
  node: string;
  platform: string;
  cpus: number;
  packages: Record<string, string>;
  gitCommit: string;
  gitDirty: boolean;
  profile: string;
  backend?: string;
  /** wasm: the active kernel set (native OpenBLAS matMul or pure wasm), what it replaced and the BLAS threads. */
  kernels?: KernelReport;
  /** Data-parallel replicas one training run uses here (EMOLAB_WORKERS or one per free core; lib/accel/workers). */
  workers?: WorkerCount;
}

export const TRACKED_PACKAGES = [
  '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', 'webgpu',
  '@mediapipe/tasks-vision', 'danfojs-node', 'plotly.js-dist-min', 'fluent-ffmpeg', 'fft.js', 'tslab', 'typescript',
];

export function gitCommit(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().length > 0;
    return { commit, dirty };
  } catch {
    return { commit: 'unknown (not a git checkout)', dirty: false };
  }
}

export function runInfo(): RunInfo {
  const { commit, dirty } = gitCommit();
  const b = backendReport();
  return {
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    packages: Object.fromEntries(TRACKED_PACKAGES.map((p) => [p, pkgVersion(p)])),
    gitCommit: commit,
    gitDirty: dirty,
    profile: profileName(),
    backend: b ? `${b.name}${b.adapter ? ` (${b.adapter})` : ''}` : undefined,
    kernels: b?.kernels,
    workers: trainingWorkers(),
  };
}
