#!/usr/bin/env node
/**
 * Install-time build of the optional native kernels (native/emolab_kernels.c -> native/build/emolab_kernels.node).
 *
 * Runs from package.json's `install` script (so `npm ci` builds it) and by hand: `node native/build.mjs [--quiet] [--force]`.
 * Needs a C compiler (cc/gcc, or $CC), Node's headers (node_api.h: /usr/include/node on Debian's nodejs, or
 * <prefix>/include/node next to the running node) and a CBLAS with OpenBLAS's thread API (Debian: libopenblas-dev;
 * found by pkg-config `openblas`, else the compiler's default paths). Works offline: no node-gyp header download.
 *
 * Never fails the install: it prints one line saying whether the native kernels were built and, if not, why,
 * and exits 0. Without the addon emolab runs the pure wasm kernels as before (lib/accel).
 * EMOLAB_NATIVE_BUILD=0 skips the build.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'emolab_kernels.c');
const outDir = join(here, 'build');
const out = join(outDir, 'emolab_kernels.node');
const args = new Set(process.argv.slice(2));

function say(msg) {
  console.log(`emolab native kernels: ${msg}`);
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function nodeIncludeDir() {
  const candidates = [
    process.env.EMOLAB_NODE_INCLUDE,
    join(dirname(dirname(process.execPath)), 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  return candidates.find((d) => existsSync(join(d, 'node_api.h')));
}

function blasFlags() {
  const pc = spawnSync('pkg-config', ['--cflags', '--libs', 'openblas'], { encoding: 'utf8' });
  if (pc.status === 0 && pc.stdout.trim()) return pc.stdout.trim().split(/\s+/);
  return ['-lopenblas'];
}

function main() {
  if (process.env.EMOLAB_NATIVE_BUILD === '0') return say('not built (EMOLAB_NATIVE_BUILD=0); the pure wasm kernels run');
  if (process.platform !== 'linux' && process.platform !== 'darwin') return say(`not built (platform ${process.platform} is not supported by native/build.mjs); the pure wasm kernels run`);
  if (!args.has('--force') && existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) {
    return args.has('--quiet') ? undefined : say(`up to date (${out})`);
  }
  const cc = process.env.CC || which('cc') || which('gcc') || which('clang');
  if (!cc) return say('not built (no C compiler: install gcc, e.g. apt-get install build-essential); the pure wasm kernels run');
  const inc = nodeIncludeDir();
  if (!inc) return say('not built (no node_api.h: install the Node headers, e.g. Debian libnode-dev, or set EMOLAB_NODE_INCLUDE); the pure wasm kernels run');
  mkdirSync(outDir, { recursive: true });
  const tmp = join(outDir, `emolab_kernels.${process.pid}.tmp.node`);
  const flags = ['-O3', '-ffp-contract=off', '-fPIC', '-shared', '-std=c11', '-Wall', '-DNODE_GYP_MODULE_NAME=emolab_kernels', `-I${inc}`, src, '-o', tmp, ...blasFlags(), '-lm'];
  if (process.platform === 'darwin') flags.push('-undefined', 'dynamic_lookup');
  const r = spawnSync(cc, flags, { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    const first = `${r.stderr || r.error?.message || ''}`.split('\n').find((l) => /error|cannot find|not found/i.test(l)) ?? `${cc} exited ${r.status}`;
    const hint = /cblas\.h|lopenblas|openblas/i.test(first) ? ' (install OpenBLAS: apt-get install libopenblas-dev)' : '';
    return say(`not built (${first.trim().slice(0, 200)})${hint}; the pure wasm kernels run`);
  }
  // Load it once in a child process: a library that links but does not load is no build.
  try {
    execFileSync(process.execPath, ['-e', `const k = require(${JSON.stringify(tmp)}); if (typeof k.sgemm !== 'function') process.exit(3);`], { stdio: 'pipe' });
  } catch (e) {
    rmSync(tmp, { force: true });
    return say(`not built (the compiled addon does not load: ${String(e.stderr || e.message).split('\n')[0].slice(0, 200)}); the pure wasm kernels run`);
  }
  renameSync(tmp, out);
  say(`built ${out} (OpenBLAS matMul; select with EMOLAB_KERNELS=auto|native|wasm)`);
}

try {
  main();
} catch (e) {
  say(`not built (${e instanceof Error ? e.message.split('\n')[0] : e}); the pure wasm kernels run`);
}
