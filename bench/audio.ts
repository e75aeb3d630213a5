/**
 * Audio front-end benchmark: all of EmoDB (535 clips, ~1,487 s) decoded and turned into fbank + energy + F0,
 * through the feature store (shards written to a temp folder), with 1 and 2 workers; per-stage single-thread
 * timings; and, in the same run on the same files, torchaudio's Kaldi fbank (/usr/bin/python3) with 1 and 2
 * threads. Reports real-time factors (audio seconds / wall seconds) and writes JSON to bench/results/.
 *
 *   npm run bench -- audio [--root <emodb dir>] [--ffmpeg-files 40] [--reps 2] [--keep]
 *
 * The machine is shared: CPU seconds (user + system, all threads) are reported beside wall time, since audio
 * seconds per CPU second hardly depend on how busy the other cores are; each store run is repeated `--reps` times (fresh folder each time) and the best wall
 * time is reported, and the load average before and after each phase is recorded next to the timings.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAudio } from '../lib/audio/decode';
import { frameEnergyDb } from '../lib/audio/energy';
import { audioFeatureSet } from '../lib/audio/featureSet';
import { kaldiFbank } from '../lib/audio/kaldi';
import { yinPitch } from '../lib/audio/pitch';
import { flagNumber, flagString, parseArgs } from '../lib/args';
import { corpusManifest } from '../lib/data/corpora';
import { EmolabError } from '../lib/errors';
import { repoRoot } from '../lib/paths';
import { runInfo } from '../lib/runinfo';
import { extractFeatures } from '../lib/store/featureStore';

interface TorchResult { threads: number; files: number; audio_s: number; frames: number; decode_s: number; fbank_s: number; total_s: number; cpu_s: number; torch: string; torchaudio: string }

const now = (): number => performance.now() / 1000;
const load = (): number => Math.round(loadavg()[0] * 100) / 100;

function torchaudioRun(threads: number, listFile: string): TorchResult & { load_before: number; load_after: number } {
  const before = load();
  const out = execFileSync('/usr/bin/python3', [join(repoRoot, 'bench', 'audio_torch.py'), String(threads), listFile], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  const lines = out.trim().split('\n');
  return { ...(JSON.parse(lines[lines.length - 1]) as TorchResult), load_before: before, load_after: load() };
}

export async function run(argv: string[]): Promise<void> {
  const a = parseArgs('bench audio', argv, { values: ['root', 'ffmpeg-files', 'reps'], booleans: ['keep'] });
  const manifest = corpusManifest('emodb', { root: flagString(a, 'root') });
  const files = manifest.clips.map((c) => c.audioPath).filter((p): p is string => !!p);
  if (files.length === 0) throw new EmolabError('bench', 'EmoDB manifest has no audio files');
  const work = mkdtempSync(join(tmpdir(), 'emolab-bench-audio-'));
  const listFile = join(work, 'files.txt');
  writeFileSync(listFile, files.join('\n') + '\n');
  console.log(`bench audio: ${files.length} EmoDB clips, ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), load ${load()}`);

  // 1. single-thread stages (wall and CPU seconds)
  const cpuNow = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  let c = cpuNow();
  let t = now();
  const signals: Float32Array[] = [];
  for (const f of files) signals.push(await decodeAudio(f));
  const decodeWavS = now() - t;
  const decodeWavCpu = cpuNow() - c;
  const audioS = signals.reduce((s, x) => s + x.length, 0) / 16000;
  const nFfmpeg = Math.min(files.length, flagNumber(a, 'bench audio', 'ffmpeg-files', 40)!);
  t = now();
  let ffmpegAudio = 0;
  for (const f of files.slice(0, nFfmpeg)) ffmpegAudio += (await decodeAudio(f, { via: 'ffmpeg' })).length / 16000;
  const decodeFfmpegS = now() - t;
  t = now(); c = cpuNow();
  let frames = 0;
  for (const x of signals) frames += kaldiFbank(x).frames;
  const fbankS = now() - t, fbankCpu = cpuNow() - c;
  t = now(); c = cpuNow();
  for (const x of signals) frameEnergyDb(x);
  const energyS = now() - t, energyCpu = cpuNow() - c;
  t = now(); c = cpuNow();
  for (const x of signals) yinPitch(x);
  const f0S = now() - t, f0Cpu = cpuNow() - c;
  const stages = {
    decode_wav_s: decodeWavS, decode_ffmpeg_s_per_file: decodeFfmpegS / nFfmpeg, decode_ffmpeg_rtf: ffmpegAudio / decodeFfmpegS, ffmpeg_files: nFfmpeg,
    fbank_s: fbankS, energy_s: energyS, f0_s: f0S, sum_s: decodeWavS + fbankS + energyS + f0S,
    cpu_s: { decode_wav: decodeWavCpu, fbank: fbankCpu, energy: energyCpu, f0: f0Cpu },
  };

  // 2. the real pipeline: feature store with 1 and 2 workers (decode + fbank + energy + F0 + shard writes)
  const store: Record<string, { workers: number; wall_s: number; rtf: number; cpu_s: number; audio_s_per_cpu_s: number; clips: number; quarantined: number; load_before: number; load_after: number; all_wall_s?: number[] }> = {};
  const reps = Math.max(1, flagNumber(a, 'bench audio', 'reps', 2)!);
  for (const workers of [1, 2]) {
    let best: (typeof store)[string] | undefined;
    const walls: number[] = [];
    for (let r = 0; r < reps; r++) {
      const dir = join(work, `store-${workers}-${r}`);
      const before = load();
      t = now();
      const cpu0 = process.cpuUsage(); // all threads of this process, so worker threads count too
      const s = await extractFeatures({ manifest, dir, set: audioFeatureSet(), workers, quiet: true });
      const wall = now() - t;
      const cpu = process.cpuUsage(cpu0);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      walls.push(wall);
      rmSync(dir, { recursive: true, force: true });
      if (!best || wall < best.wall_s) best = { workers: s.workers, wall_s: wall, rtf: audioS / wall, cpu_s: cpuS, audio_s_per_cpu_s: audioS / cpuS, clips: Object.keys(s.index.clips).length, quarantined: s.index.quarantine.length, load_before: before, load_after: load() };
    }
    store[`workers_${workers}`] = { ...best!, all_wall_s: walls };
  }

  // 3. torchaudio Kaldi fbank on the same files
  const torch: Record<string, TorchResult & { rtf_fbank: number; rtf_total: number; load_before: number; load_after: number }> = {};
  for (const threads of [1, 2]) {
    const r = torchaudioRun(threads, listFile);
    torch[`threads_${threads}`] = { ...r, rtf_fbank: r.audio_s / r.fbank_s, rtf_total: r.audio_s / r.total_s };
  }

  const result = {
    benchmark: 'audio',
    date: new Date().toISOString(),
    corpus: 'emodb', clips: files.length, audio_s: audioS, frames,
    cores: availableParallelism(), cpu: cpus()[0]?.model,
    stages_single_thread: { ...stages, rtf_fbank: audioS / fbankS, rtf_f0: audioS / f0S, rtf_all: audioS / stages.sum_s },
    store,
    torchaudio: torch,
    speedup_vs_torchaudio_2: store.workers_2.rtf / torch.threads_2.rtf_total,
    cpu_efficiency_vs_torchaudio_1: store.workers_1.audio_s_per_cpu_s / (torch.threads_1.audio_s / torch.threads_1.cpu_s),
    speedup_vs_torchaudio_best: store.workers_2.rtf / Math.max(torch.threads_1.rtf_total, torch.threads_2.rtf_total),
    run: runInfo(),
  };
  const fmt = (x: number): string => x.toFixed(x >= 100 ? 0 : 2);
  console.log([
    `audio ${fmt(audioS)} s, ${frames} frames`,
    `single thread: decode(wav) ${fmt(decodeWavS)} s | decode(ffmpeg) ${fmt(1000 * stages.decode_ffmpeg_s_per_file)} ms/file | fbank ${fmt(fbankS)} s (${fmt(audioS / fbankS)}x) | energy ${fmt(energyS)} s | F0 ${fmt(f0S)} s (${fmt(audioS / f0S)}x)`,
    `single thread, CPU seconds: decode(wav) ${fmt(decodeWavCpu)} | fbank ${fmt(fbankCpu)} (${fmt(audioS / fbankCpu)} audio-s per CPU-s) | energy ${fmt(energyCpu)} | F0 ${fmt(f0Cpu)} (${fmt(audioS / f0Cpu)} audio-s per CPU-s)`,
    ...Object.values(store).map((s) => `emolab store, ${s.workers} worker(s): decode+fbank+energy+F0+write best ${fmt(s.wall_s)} s of [${(s.all_wall_s ?? []).map(fmt).join(', ')}] = ${fmt(s.rtf)}x real time; CPU ${fmt(s.cpu_s)} s = ${fmt(s.audio_s_per_cpu_s)} audio-s per CPU-s (load ${s.load_before} -> ${s.load_after})`),
    ...Object.values(torch).map((r) => `torchaudio ${r.torchaudio}, ${r.threads} thread(s): decode ${fmt(r.decode_s)} s + kaldi fbank ${fmt(r.fbank_s)} s = ${fmt(r.total_s)} s = ${fmt(r.rtf_total)}x real time (fbank alone ${fmt(r.rtf_fbank)}x); CPU ${fmt(r.cpu_s)} s = ${fmt(r.audio_s / r.cpu_s)} audio-s per CPU-s (load ${r.load_before} -> ${r.load_after})`),
    `emolab (2 workers, fbank+energy+F0) / torchaudio (fbank only): ${result.speedup_vs_torchaudio_2.toFixed(2)}x vs its 2-thread run, ${result.speedup_vs_torchaudio_best.toFixed(2)}x vs its faster run; per CPU-second (load-independent): ${result.cpu_efficiency_vs_torchaudio_1.toFixed(2)}x (1 worker vs 1 thread)`,
  ].join('\n'));
  const outDir = join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const outFile = join(outDir, `audio-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
  console.log(`-> ${outFile}`);
  if (!a.flags.keep) rmSync(work, { recursive: true, force: true });
}
