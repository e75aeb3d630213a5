/**
 * `emolab features face <video> --out <file.safetensors>`: face features of one video (landmarks,
 * blendshapes, AUs, activation, face_found, times) in one safetensors file. Registered as a
 * subcommand of `emolab features` by the commands layer (lib/commands/features.ts); `run` is the same command stand-alone.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { flagNumber, flagString, parseArgs } from '../args';
import { EmolabError } from '../errors';
import { AU_NAMES } from './aus';
import { extractFaceFeatures, writeFaceFeatures } from './features';

export const FACE_FEATURES_USAGE = 'emolab features face <video> --out <file.safetensors> [--fps 30] [--max-side 640] [--max-gap 5] [--faces 2] [--max-frames N] [--thresholds AU12=0.3,AU4=0.25] [--force] [--quiet]\n'
  + '       emolab features face --corpus <name> --out <store dir> [--shard i/n] [--workers N] [--shard-size 32] [--limit N] [--rebuild] [--fps/--max-side/--max-gap/--faces/--thresholds as above]   (a whole corpus into a face feature store; --shard: part i of n, 0-based, joined by emolab store merge)';

/** Parse "AU12=0.3,AU4=0.25". Pure; exported for tests. */
export function parseThresholds(s: string | undefined): Partial<Record<string, number>> {
  if (!s) return {};
  const out: Partial<Record<string, number>> = {};
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(AU\d+)=([0-9.]+)$/.exec(part);
    if (!m || !AU_NAMES.includes(m[1])) throw new EmolabError('cli', `bad --thresholds entry "${part}"`, { hint: `use AUn=value with AUs among ${AU_NAMES.join(', ')}` });
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** The `features face` subcommand: argv after "face". */
export async function runFeaturesFace(argv: string[]): Promise<number> {
  const a = parseArgs('features face', argv, { values: ['out', 'fps', 'max-side', 'max-gap', 'faces', 'max-frames', 'thresholds', 'corpus', 'root', 'shard', 'workers', 'shard-size', 'limit'], booleans: ['force', 'quiet', 'rebuild'] });
  if (a.flags.help) { console.log(`usage: ${FACE_FEATURES_USAGE}`); return 0; }
  if (flagString(a, 'corpus') !== undefined) return runFaceCorpus(a);
  const [video, ...extra] = a.positionals;
  const out = flagString(a, 'out');
  if (!video || extra.length || !out) throw new EmolabError('cli', 'features face needs one video and --out', { hint: `usage: ${FACE_FEATURES_USAGE}` });
  if (!existsSync(video)) throw new EmolabError('face', 'video file not found', { file: resolve(video) });
  if (existsSync(out) && !a.flags.force) throw new EmolabError('cli', `${out} exists`, { file: resolve(out), hint: 'pass --force to overwrite' });
  const f = await extractFaceFeatures(resolve(video), {
    fps: flagNumber(a, 'features face', 'fps', 30),
    maxSide: flagNumber(a, 'features face', 'max-side', 640),
    maxGapFrames: flagNumber(a, 'features face', 'max-gap', 5),
    numFaces: flagNumber(a, 'features face', 'faces', 2),
    maxFrames: flagNumber(a, 'features face', 'max-frames'),
    auThresholds: parseThresholds(flagString(a, 'thresholds')),
    progress: !a.flags.quiet,
  });
  writeFaceFeatures(resolve(out), f);
  const s = f.track.stats;
  if (!a.flags.quiet) {
    console.log(`${out}: ${s.frames} frames at ${f.track.fps} fps (${f.track.width}x${f.track.height}); face in ${s.detected}, interpolated ${s.interpolated}, missing ${s.missing}, several faces in ${s.multiFace}`);
    console.log(`  decode ${s.decodeS.toFixed(2)} s, landmarker ${s.detectS.toFixed(2)} s (${(s.frames / Math.max(s.detectS, 1e-9)).toFixed(1)} frames/s)`);
  }
  return s.detected === 0 ? 3 : 0;
}

/** `features face --corpus X --out <store> [--shard i/n]`: face tracks of a whole corpus into a (partial) feature store. */
async function runFaceCorpus(a: ReturnType<typeof parseArgs>): Promise<number> {
  const cmd = 'features face';
  const out = flagString(a, 'out');
  if (!out || a.positionals.length) throw new EmolabError('cli', `emolab ${cmd} --corpus: give --out <store dir> and no video`, { hint: `usage: ${FACE_FEATURES_USAGE}` });
  // (--max-frames is not offered here: it is not part of the face set's fingerprint, so truncated tracks would pass for whole ones)
  if (flagString(a, 'max-frames') !== undefined) throw new EmolabError('cli', `emolab ${cmd} --corpus: --max-frames is for single videos only`);
  const shard = flagString(a, 'shard');
  const { parsePartSpec } = await import('../store/partition');
  const part = shard !== undefined ? parsePartSpec(shard) : undefined;
  const { corpusManifest } = await import('../data/corpora');
  const { faceFeatureSet } = await import('./features');
  const { extractFeatures } = await import('../store/featureStore');
  const full = corpusManifest(flagString(a, 'corpus')!, { root: flagString(a, 'root') });
  const limit = flagNumber(a, cmd, 'limit');
  const manifest = limit !== undefined ? { ...full, clips: full.clips.slice(0, limit) } : full;
  if (!manifest.clips.some((c) => c.videoPath)) throw new EmolabError('face', `corpus ${manifest.corpus} has no video files`, { file: manifest.root, hint: 'face features need an audio-visual corpus (grid, av-speech-unlabeled, crema-d, a folder of videos)' });
  const set = faceFeatureSet({
    fps: flagNumber(a, cmd, 'fps', 30),
    maxSide: flagNumber(a, cmd, 'max-side', 640),
    maxGapFrames: flagNumber(a, cmd, 'max-gap', 5),
    numFaces: flagNumber(a, cmd, 'faces', 2),
    auThresholds: parseThresholds(flagString(a, 'thresholds')),
  });
  const { availableParallelism } = await import('node:os');
  const s = await extractFeatures({
    manifest, dir: resolve(out), set, part, rebuild: Boolean(a.flags.rebuild), quiet: Boolean(a.flags.quiet),
    workers: flagNumber(a, cmd, 'workers', availableParallelism())!, shardSize: flagNumber(a, cmd, 'shard-size', 32)!,
  });
  console.log(`features face${part ? ` [shard ${shard}]` : ''}: ${Object.keys(s.index.clips).length} clips in ${s.index.shards.length} shards at ${s.dir} (${s.computedShards} computed, ${s.resumedShards} resumed, ${s.workers} worker(s), ${s.seconds.toFixed(1)} s, ${s.index.quarantine.length} quarantined)`);
  return 0;
}

/** Stand-alone form (`emolab face <video> --out ...`), identical to `emolab features face`. */
export async function run(argv: string[]): Promise<number> {
  return runFeaturesFace(argv);
}
