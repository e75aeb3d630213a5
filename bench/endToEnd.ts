/**
 * End to end: the main job (lib/pipeline runMainJob, what `npm start` runs) reduced to its first SER
 * fold and one seed, once per kernel set, before vs after issue 17:
 *
 *   npm run bench -- e2e --from <runs folder> [--profile cpu] [--kernels wasm,native] [--folds 1] [--seeds 1] [--work DIR]
 *
 * Each kernel set runs in its own child process (EMOLAB_KERNELS=<set>) on a fresh EMOLAB_RUNS folder
 * (DIR/<set>) whose features/ is a copy of `<from>/features` (feature stores, face tracks and face label
 * sets), so feature extraction and face tracking are reused, not redone, and nothing is written to the
 * source. Settings: goncalves2022Settings(profile, { finetune: { folds, seeds } }) (the first `folds`
 * speaker folds of EmoDB, with their per-fold pretraining), everything else the profile's (all arms, pretraining per fold, the grid's worker processes; EMOLAB_WORKERS as set).
 *
 * Per stage (the main job's `== n.` lines): wall seconds (runMainJob's timing) and CPU seconds of the
 * whole process tree (the job and its worker processes and threads, sampled from /proc when each stage
 * starts; the total is the children's rusage once reaped). Prints the table and the wasm / native ratios
 * and writes bench/results/e2e-<date>.json.
 */
import { fork } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { flagString, parseArgs } from '../lib/args';
import { EmolabError } from '../lib/errors';
import { repoRoot } from '../lib/paths';
import { runInfo } from '../lib/runinfo';

const CLK_TCK = (() => { try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { return 100; } })();
const load = (): number => Math.round(loadavg()[0] * 100) / 100;

/** utime + stime + cutime + cstime of a /proc/<pid>/stat line, in seconds, and its parent pid. */
function procStat(pid: number): { ppid: number; cpuS: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    return { ppid: Number(f[1]), cpuS: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/** CPU seconds of `root` and every live descendant (reaped ones are in their parents' cutime/cstime). */
export function treeCpuS(root: number): number {
  const all = new Map<number, { ppid: number; cpuS: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (st) all.set(Number(name), st);
  }
  const inTree = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, st] of all) if (!inTree.has(pid) && inTree.has(st.ppid)) { inTree.add(pid); grew = true; }
  }
  let s = 0;
  for (const pid of inTree) s += all.get(pid)?.cpuS ?? 0;
  return s;
}

/** This process's reaped children's CPU seconds (cutime + cstime). */
function childrenCpuS(): number {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / CLK_TCK;
}

interface ChildSpec { profile: string; folds: number; seeds: number[] }
interface KernelRun {
  kernels: string; runs: string; exitCode: number | null;
  wallS: number; cpuS: number;
  stages: { n: number; name: string; wallS: number | null; cpuS: number }[];
  timing: Record<string, number> | null; experiment: string | null; kernelReport: unknown; workers: unknown; loadBefore: number; loadAfter: number;
}

/** The child: run the reduced main job on EMOLAB_RUNS and report its timing. */
async function child(): Promise<void> {
  const spec = JSON.parse(process.env.EMOLAB_E2E_CHILD!) as ChildSpec;
  const { goncalves2022Settings } = await import('../lib/experiments/goncalves2022');
  const { runMainJob } = await import('../lib/pipeline');
  const { profileName } = await import('../lib/profile');
  const s = goncalves2022Settings(profileName({ ...process.env, EMOLAB_PROFILE: spec.profile }), { finetune: { folds: spec.folds, seeds: spec.seeds } });
  const r = await runMainJob(s);
  const info = runInfo();
  process.send!({ type: 'done', timing: r.timing, experiment: r.experiment, failures: r.failures.length, kernels: info.kernels, workers: info.workers });
  process.disconnect();
}

const STAGE_NAMES: Record<number, string> = { 0: 'backend', 1: 'features', 2: 'avTargets', 3: 'models', 4: 'report' };

async function runOne(kernels: string, runs: string, spec: ChildSpec): Promise<KernelRun> {
  const loadBefore = load();
  const cut0 = childrenCpuS();
  const t0 = Date.now();
  const kid = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'], cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, EMOLAB_KERNELS: kernels, EMOLAB_RUNS: runs, EMOLAB_PROFILE: spec.profile, EMOLAB_E2E_CHILD: JSON.stringify(spec) },
  });
  const marks: { n: number; t: number; cpuS: number }[] = [];
  let buf = '';
  kid.stdout!.on('data', (d: Buffer) => {
    process.stdout.write(d);
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const m = /^== (\d+)\. /.exec(line);
      if (m && kid.pid) marks.push({ n: Number(m[1]), t: Date.now(), cpuS: treeCpuS(kid.pid) });
    }
  });
  let done: { timing: Record<string, number>; experiment: string; kernels: unknown; workers: unknown } | undefined;
  kid.on('message', (m: { type: string } & typeof done) => { if (m.type === 'done') done = m; });
  const exitCode = await new Promise<number | null>((res) => kid.on('exit', (c) => res(c)));
  const wallS = (Date.now() - t0) / 1000;
  const cpuS = childrenCpuS() - cut0;
  const stages = marks.map((m, i) => ({
    n: m.n, name: STAGE_NAMES[m.n] ?? `stage${m.n}`,
    wallS: done?.timing[STAGE_NAMES[m.n]] ?? null,
    cpuS: (i + 1 < marks.length ? marks[i + 1].cpuS : cpuS) - m.cpuS,
  }));
  return { kernels, runs, exitCode, wallS, cpuS, stages, timing: done?.timing ?? null, experiment: done?.experiment ?? null, kernelReport: done?.kernels ?? null, workers: done?.workers ?? null, loadBefore, loadAfter: load() };
}

export async function run(argv: string[]): Promise<void> {
  const a = parseArgs('bench e2e', argv, { values: ['from', 'profile', 'kernels', 'folds', 'seeds', 'work', 'out'] });
  if (a.flags.help) {
    console.log('usage: npm run bench -- e2e --from <runs folder> [--profile cpu] [--kernels wasm,native] [--folds 1] [--seeds 1] [--work DIR] [--out file.json]');
    return;
  }
  const from = flagString(a, 'from');
  if (!from) throw new EmolabError('bench', 'bench e2e needs --from <runs folder> (its features/ is copied into each fresh runs folder)', { hint: 'e.g. --from runs' });
  const src = join(resolve(from), 'features');
  if (!existsSync(src)) throw new EmolabError('bench', `bench e2e: ${src} does not exist`, { file: src, hint: '--from names a runs folder (EMOLAB_RUNS) holding features/' });
  const ints = (name: string, raw: string): number[] => {
    const xs = raw.split(',').map((x) => Number(x.trim()));
    if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new EmolabError('bench', `bench e2e: --${name} takes positive integers, got "${raw}"`);
    return xs;
  };
  const oneInt = (name: string, raw: string): number => {
    const [x, ...rest] = ints(name, raw);
    if (rest.length) throw new EmolabError('bench', `bench e2e: --${name} takes one positive integer, got "${raw}"`);
    return x;
  };
  const spec: ChildSpec = { profile: flagString(a, 'profile', process.env.EMOLAB_PROFILE ?? 'cpu')!, folds: oneInt('folds', flagString(a, 'folds', '1')!), seeds: ints('seeds', flagString(a, 'seeds', '1')!) };
  const kernelSets = flagString(a, 'kernels', 'wasm,native')!.split(',').map((k) => k.trim());
  for (const k of kernelSets) if (k !== 'wasm' && k !== 'native') throw new EmolabError('bench', `bench e2e: --kernels takes wasm and/or native, got "${k}"`);
  const date = new Date().toISOString();
  const work = resolve(flagString(a, 'work') ?? join(tmpdir(), `emolab-e2e-${date.replace(/[:.]/g, '-')}`));
  console.log(`bench e2e: profile ${spec.profile}, folds ${spec.folds}, seeds ${spec.seeds.join(',')}; kernel sets ${kernelSets.join(', ')}; features copied from ${src}; runs under ${work}; ${availableParallelism()} cores, load ${load()}`);
  const results: KernelRun[] = [];
  const outDir = join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const outFile = flagString(a, 'out') ?? join(outDir, `e2e-${date.replace(/[:.]/g, '-')}.json`);
  // Written after each kernel set too, so a run stopped midway keeps what it measured.
  const save = () => writeFileSync(outFile, JSON.stringify({ benchmark: 'e2e', date, settings: spec, from: src, work, cores: availableParallelism(), cpu: cpus()[0]?.model, results, run: runInfo() }, null, 2) + '\n');
  for (const k of kernelSets) {
    const runs = join(work, k);
    if (existsSync(runs)) throw new EmolabError('bench', `bench e2e: ${runs} exists; each kernel set needs a fresh runs folder`, { file: runs, hint: 'another --work' });
    mkdirSync(runs, { recursive: true });
    cpSync(src, join(runs, 'features'), { recursive: true });
    console.log(`\n=== EMOLAB_KERNELS=${k}, EMOLAB_RUNS=${runs}`);
    const r = await runOne(k, runs, spec);
    results.push(r);
    save();
    if (r.exitCode !== 0) console.log(`EMOLAB_KERNELS=${k}: the main job exited with code ${r.exitCode}`);
  }
  const fmt = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(1));
  console.log('\nstage        ' + results.map((r) => `${r.kernels}: wall s / cpu s`.padEnd(26)).join('') + (results.length === 2 ? `${results[0].kernels}/${results[1].kernels} wall, cpu` : ''));
  const names = [...new Set(results.flatMap((r) => r.stages.map((s) => s.name)))];
  const ratio = (x?: number | null, y?: number | null) => (x && y ? `${(x / y).toFixed(2)}x` : '-');
  for (const name of [...names, 'total']) {
    const cells = results.map((r) => {
      const st = name === 'total' ? { wallS: r.wallS, cpuS: r.cpuS } : r.stages.find((s) => s.name === name);
      return { w: st?.wallS ?? null, c: st?.cpuS ?? null };
    });
    console.log(name.padEnd(13) + cells.map((c) => `${fmt(c.w)} / ${fmt(c.c)}`.padEnd(26)).join('') + (cells.length === 2 ? `${ratio(cells[0].w, cells[1].w)}, ${ratio(cells[0].c, cells[1].c)}` : ''));
  }
  save();
  console.log(`-> ${outFile}`);
  if (results.some((r) => r.exitCode !== 0)) process.exitCode = 1;
}

if (process.env.EMOLAB_E2E_CHILD && process.send) child().catch((e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
