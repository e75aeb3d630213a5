/**
 * Which ffmpeg/ffprobe binaries to use: `FFMPEG_PATH`/`FFPROBE_PATH` when set, else the system's on
 * PATH, else the static builds shipped by @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe (so
 * `npm ci` alone is enough to decode audio and to probe and decode the talking-face videos).
 * fluent-ffmpeg is configured here once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { repoRoot } from '../paths';

function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, bin);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** The static ffprobe of @ffprobe-installer/ffprobe, when its platform package is installed. */
function bundledFfprobe(): string | undefined {
  try {
    const req = createRequire(join(repoRoot, 'package.json'));
    const p = (req('@ffprobe-installer/ffprobe') as { path: string }).path;
    return existsSync(p) ? p : undefined;
  } catch {
    return undefined; // no build for this platform: probing then needs a system ffprobe (named in the error)
  }
}

let resolved: { ffmpeg: string; ffprobe?: string; source: string } | undefined;

export function ffmpegBinaries(): { ffmpeg: string; ffprobe?: string; source: string } {
  if (resolved) return resolved;
  const ffprobe = process.env.FFPROBE_PATH || onPath('ffprobe') || bundledFfprobe();
  if (process.env.FFMPEG_PATH) {
    resolved = { ffmpeg: process.env.FFMPEG_PATH, ffprobe, source: 'FFMPEG_PATH' };
  } else if (onPath('ffmpeg')) {
    resolved = { ffmpeg: onPath('ffmpeg')!, ffprobe, source: 'system' };
  } else {
    const req = createRequire(join(repoRoot, 'package.json'));
    const installer = req('@ffmpeg-installer/ffmpeg') as { path: string };
    resolved = { ffmpeg: installer.path, ffprobe, source: '@ffmpeg-installer/ffmpeg' };
  }
  ffmpeg.setFfmpegPath(resolved.ffmpeg);
  if (resolved.ffprobe) ffmpeg.setFfprobePath(resolved.ffprobe);
  return resolved;
}

/** Version line of the ffmpeg in use (for reports and run manifests). */
export function ffmpegVersion(): string {
  const { ffmpeg: bin } = ffmpegBinaries();
  return execFileSync(bin, ['-hide_banner', '-version'], { encoding: 'utf8' }).split('\n')[0];
}

/** fluent-ffmpeg, with the binaries above configured. */
export function fluent(input?: string): ffmpeg.FfmpegCommand {
  ffmpegBinaries();
  return input === undefined ? ffmpeg() : ffmpeg(input);
}

/**
 * ffmpeg's stdout as a stream that never emits 'close'. fluent-ffmpeg kills ffmpeg 20 ms after its
 * output stream closes and reports "Output stream closed" if ffmpeg has not exited by then — which
 * happens under load when a consumer finishes reading (an async iterator destroys the stream at the
 * end) just before ffmpeg's exit is processed. Without 'close' that race is gone; a consumer that
 * stops early kills ffmpeg itself.
 */
export function ffmpegStdout(cmd: ffmpeg.FfmpegCommand): PassThrough {
  const out = new PassThrough({ emitClose: false, autoDestroy: false });
  cmd.pipe(out, { end: true });
  return out;
}
