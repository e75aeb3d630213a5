/**
 * Which ffmpeg/ffprobe binaries to use: `FFMPEG_PATH`/`FFPROBE_PATH` when set, else the system's on
 * PATH, else the static builds shipped by @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe (so
 * `npm ci` alone is enough to decode audio and to probe and decode the talking-face videos).
 * fluent-ffmpeg is configured here once.
 */
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { repoRoot } from '../paths';

/** The first executable file named `bin` in a folder of PATH, or undefined (what `command -v` finds for a program). */
export function findOnPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here, or not executable: next folder
    }
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
  const ffprobe = process.env.FFPROBE_PATH || findOnPath('ffprobe') || bundledFfprobe();
  if (process.env.FFMPEG_PATH) {
    resolved = { ffmpeg: process.env.FFMPEG_PATH, ffprobe, source: 'FFMPEG_PATH' };
  } else if (findOnPath('ffmpeg')) {
    resolved = { ffmpeg: findOnPath('ffmpeg')!, ffprobe, source: 'system' };
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

/**
 * ffprobe's JSON description of a media file (`-show_streams -show_format -of json`), as text. Rejects
 * with an Error whose message is ffprobe's last line on stderr (or the exec error), so each caller can
 * name its stage and file.
 */
export function ffprobeJsonText(ffprobe: string, file: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ffprobe, ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], { maxBuffer: 16 << 20, timeout: opts.timeoutMs ?? 0 }, (err, stdout, stderr) => {
      if (err) reject(new Error(stderr.trim().split('\n').pop() || err.message));
      else resolve(stdout);
    });
  });
}
