/**
 * `emolab features face <video> --out <file.safetensors>`: face features of one video (landmarks,
 * blendshapes, AUs, activation, face_found, times) in one safetensors file. Registered as a
 * subcommand of `emolab features` (lib/audio/cli.ts); `run` is the same command stand-alone.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { flagNumber, flagString, parseArgs } from '../cli/args';
import { EmolabError } from '../errors';
import { AU_NAMES } from './aus';
import { extractFaceFeatures, writeFaceFeatures } from './features';

export const FACE_FEATURES_USAGE = 'emolab features face <video> --out <file.safetensors> [--fps 30] [--max-side 640] [--max-gap 5] [--faces 2] [--max-frames N] [--thresholds AU12=0.3,AU4=0.25] [--force] [--quiet]';

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
  const a = parseArgs('features face', argv, { values: ['out', 'fps', 'max-side', 'max-gap', 'faces', 'max-frames', 'thresholds'], booleans: ['force', 'quiet'] });
  if (a.flags.help) { console.log(`usage: ${FACE_FEATURES_USAGE}`); return 0; }
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

/** Stand-alone form (`emolab face <video> --out ...`), identical to `emolab features face`. */
export async function run(argv: string[]): Promise<number> {
  return runFeaturesFace(argv);
}
