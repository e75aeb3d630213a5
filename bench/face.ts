/**
 * Face front-end benchmark: frames per second (wall and per CPU-second = per core) of the MediaPipe
 * Face Landmarker in Node, with the ffmpeg decode share measured separately, on the real talking-face
 * clips of ../shared/datasets/mead-samples and av-speech-unlabeled; then the worker pool of the
 * feature store (lib/store extractFeatures with lib/face's "face" set) at 1..N workers.
 *
 *   npm run bench -- face [--per-folder 3] [--seconds 4] [--workers 1,2] [--fps 30] [--max-side 640] [--all]
 *
 * `--per-folder` clips of each folder, the first `--seconds` of each (`--all`: every clip, whole).
 * CPU time: the landmarker's from process.cpuUsage(), ffmpeg's from the reaped children's times in
 * /proc/self/stat (Linux). The machine may be shared: the load average is recorded with each phase.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { flagNumber, flagString, parseArgs } from '../lib/args';
import type { Manifest } from '../lib/data/types';
import { EmolabError } from '../lib/errors';
import { decodeFrames, probeVideo } from '../lib/face/frames';
import { createFaceLandmarker } from '../lib/face/landmarker';
import { faceFeatureSet } from '../lib/face/features';
import { dataRoot, repoRoot } from '../lib/paths';
import { runInfo } from '../lib/runinfo';
import { extractFeatures } from '../lib/store/featureStore';

const load = (): number => Math.round(loadavg()[0] * 100) / 100;
const now = (): number => performance.now() / 1000;

/** CPU seconds of this process's reaped child processes (ffmpeg), from /proc/self/stat. */
function childCpuS(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100; // cutime + cstime, clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}
const selfCpuS = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

interface ClipRow {
  group: string; clip: string; size: string; frames: number; faces: number;
  decode_wall_s: number; decode_cpu_s: number; detect_wall_s: number; detect_cpu_s: number;
}

function clipList(perFolder: number, all: boolean): { group: string; file: string }[] {
  const root = dataRoot();
  const folders = [
    'mead-samples/crop', 'mead-samples/video', 'mead-samples/dreamtalk',
    'av-speech-unlabeled/voxceleb2_pcavs', 'av-speech-unlabeled/lrs2_deep_avsr', 'av-speech-unlabeled/hdtf_sadtalker',
    'av-speech-unlabeled/hdtf_edtalk', 'av-speech-unlabeled/video_retalking',
  ];
  const out: { group: string; file: string }[] = [];
  for (const f of folders) {
    const dir = join(root, f);
    if (!existsSync(dir)) { console.warn(`(skipping ${dir}: not found)`); continue; }
    const files = readdirSync(dir).filter((x) => x.endsWith('.mp4')).sort();
    for (const x of all ? files : files.slice(0, perFolder)) out.push({ group: f, file: join(dir, x) });
  }
  if (out.length === 0) throw new EmolabError('bench', `no clips under ${root}/mead-samples or av-speech-unlabeled`, { hint: 'set EMOLAB_DATA to ../shared/datasets' });
  return out;
}

export async function run(argv: string[]): Promise<void> {
  const a = parseArgs('bench face', argv, { values: ['per-folder', 'seconds', 'workers', 'fps', 'max-side'], booleans: ['all'] });
  const fps = flagNumber(a, 'bench face', 'fps', 30)!;
  const maxSide = flagNumber(a, 'bench face', 'max-side', 640)!;
  const all = Boolean(a.flags.all);
  const maxFrames = all ? undefined : Math.round(flagNumber(a, 'bench face', 'seconds', 4)! * fps);
  const workerCounts = (flagString(a, 'workers') ?? `1,${Math.min(2, availableParallelism())}`).split(',').map(Number).filter((n, i, xs) => n > 0 && xs.indexOf(n) === i);
  const clips = clipList(flagNumber(a, 'bench face', 'per-folder', 3)!, all);
  console.log(`bench face: ${clips.length} clips, ${fps} fps, max side ${maxSide}, ${maxFrames ? `first ${maxFrames} frames each` : 'whole clips'}; ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), load ${load()}`);

  // 1. One thread: decode alone, then decode + landmarker.
  const session = await createFaceLandmarker();
  // Warm-up (XNNPACK set-up and first inferences are slower): a few frames of the first clip, untimed.
  for await (const f of decodeFrames(clips[0].file, { fps, maxSide, maxFrames: 5 })) session.detect(f, f.index * 1000 / fps);
  const rows: ClipRow[] = [];
  const load1 = load();
  for (const { group, file } of clips) {
    const info = await probeVideo(file);
    let t = now(), c = childCpuS(), s = selfCpuS();
    let frames = 0, size = '';
    for await (const f of decodeFrames(file, { fps, maxSide, maxFrames }, info)) { frames++; size = `${f.width}x${f.height}`; }
    const decodeWall = now() - t;
    const decodeCpu = childCpuS() - c + (selfCpuS() - s);
    session.reset();
    let detectWall = 0, detectCpu = 0, faces = 0;
    for await (const f of decodeFrames(file, { fps, maxSide, maxFrames }, info)) {
      t = now(); s = selfCpuS();
      if (session.detect(f, f.index * 1000 / fps).length > 0) faces++;
      detectWall += now() - t; detectCpu += selfCpuS() - s;
    }
    rows.push({ group, clip: basename(file), size, frames, faces, decode_wall_s: decodeWall, decode_cpu_s: decodeCpu, detect_wall_s: detectWall, detect_cpu_s: detectCpu });
    console.log(`  ${group}/${basename(file)} ${size} ${frames} frames, face in ${faces}: decode ${(frames / decodeWall).toFixed(0)} fps, landmarker ${(frames / detectWall).toFixed(1)} fps wall / ${(frames / detectCpu).toFixed(1)} per CPU-s`);
  }
  session.close();
  const load1after = load();

  const sum = (xs: ClipRow[], k: keyof ClipRow) => xs.reduce((acc, r) => acc + (r[k] as number), 0);
  const summarise = (xs: ClipRow[]) => {
    const frames = sum(xs, 'frames');
    const dw = sum(xs, 'decode_wall_s'), dc = sum(xs, 'decode_cpu_s'), lw = sum(xs, 'detect_wall_s'), lc = sum(xs, 'detect_cpu_s');
    return {
      clips: xs.length, frames, faces: sum(xs, 'faces'),
      decode_fps_wall: frames / dw, decode_fps_per_cpu: frames / dc,
      landmarker_fps_wall: frames / lw, landmarker_fps_per_cpu: frames / lc,
      end_to_end_fps_per_core: frames / (dc + lc), decode_share: dc / (dc + lc),
    };
  };
  const bySize = new Map<string, ClipRow[]>();
  for (const r of rows) bySize.set(r.size, [...(bySize.get(r.size) ?? []), r]);
  const byGroup = new Map<string, ClipRow[]>();
  for (const r of rows) byGroup.set(r.group, [...(byGroup.get(r.group) ?? []), r]);
  const table = (m: Map<string, ClipRow[]>, title: string) => {
    console.log(`\n${title.padEnd(38)} frames  decode fps/core  landmarker fps/core (wall)  end-to-end fps/core  decode share`);
    for (const [k, xs] of m) {
      const s = summarise(xs);
      console.log(`${k.padEnd(38)} ${String(s.frames).padStart(6)}  ${s.decode_fps_per_cpu.toFixed(0).padStart(15)}  ${s.landmarker_fps_per_cpu.toFixed(1).padStart(14)} (${s.landmarker_fps_wall.toFixed(1)})  ${s.end_to_end_fps_per_core.toFixed(1).padStart(19)}  ${(100 * s.decode_share).toFixed(0).padStart(11)}%`);
    }
  };
  table(byGroup, 'folder');
  table(bySize, 'frame size');
  const total = summarise(rows);
  console.log(`\nall: ${total.frames} frames; landmarker ${total.landmarker_fps_per_cpu.toFixed(1)} frames per CPU-second (${total.landmarker_fps_wall.toFixed(1)} wall), decode ${total.decode_fps_per_cpu.toFixed(0)} per CPU-second, end to end ${total.end_to_end_fps_per_core.toFixed(1)} per core (decode ${(100 * total.decode_share).toFixed(0)}% of CPU); load ${load1} -> ${load1after}`);

  // 2. Worker pool: the feature store with the "face" set (decode + landmarker + AUs + activation + write).
  const manifest: Manifest = {
    corpus: 'bench-face', root: dataRoot(), quarantine: [],
    clips: clips.map(({ group, file }, i) => ({ id: `${i}_${group.replace(/\//g, '_')}_${basename(file, '.mp4')}`, corpus: 'bench-face', speaker: 'unknown', videoPath: file })),
  };
  const pool: { workers: number; seconds: number; frames: number; fps: number; speedup: number; load_before: number; load_after: number }[] = [];
  for (const workers of workerCounts) {
    const dir = mkdtempSync(join(tmpdir(), 'emolab-bench-face-'));
    const before = load();
    const t = now();
    const s = await extractFeatures({ manifest, dir, set: faceFeatureSet({ fps, maxSide, maxFrames }), workers, shardSize: 1, quiet: true });
    const seconds = now() - t;
    const frames = Object.values(s.index.clips).reduce((acc, c) => acc + c.frames, 0);
    pool.push({ workers, seconds, frames, fps: frames / seconds, speedup: 0, load_before: before, load_after: load() });
    rmSync(dir, { recursive: true, force: true });
    if (s.index.quarantine.length) console.log(`  (quarantined: ${s.index.quarantine.map((q) => `${q.clipId}: ${q.reason}`).join('; ')})`);
  }
  for (const p of pool) p.speedup = p.fps / pool[0].fps;
  console.log('\nworker pool (feature store, face set, 1 clip per shard; includes thread start + model load)');
  for (const p of pool) console.log(`  ${p.workers} worker(s): ${p.frames} frames in ${p.seconds.toFixed(1)} s = ${p.fps.toFixed(1)} frames/s, x${p.speedup.toFixed(2)}  (load ${p.load_before} -> ${p.load_after})`);

  const outDir = join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'face.json');
  writeFileSync(file, JSON.stringify({ run: runInfo(), cores: availableParallelism(), cpu: cpus()[0]?.model, fps, maxSide, maxFrames: maxFrames ?? null, total, byGroup: Object.fromEntries([...byGroup].map(([k, xs]) => [k, summarise(xs)])), bySize: Object.fromEntries([...bySize].map(([k, xs]) => [k, summarise(xs)])), clips: rows, pool, load: { single_thread: [load1, load1after] } }, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
}
