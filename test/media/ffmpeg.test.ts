/**
 * lib/media/ffmpeg: with no ffmpeg/ffprobe on PATH, `npm ci` alone must still be able to probe the
 * talking-face videos (face tracking, tasks 2 and 3): the static ffprobe of @ffprobe-installer/ffprobe
 * is used. Run in a child process whose PATH holds no ffmpeg, so the system's binaries cannot answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, dataRoot } from '../../lib/paths';
import { ffprobeJsonText, findOnPath } from '../../lib/media/ffmpeg';

const clip = join(dataRoot(), 'mead-samples', 'crop', 'M030_sad_3_001.mp4');

test('without ffmpeg on PATH the bundled ffprobe probes a video', { skip: !existsSync(clip) && `no ${clip}` }, () => {
  const script = `
    const { ffmpegBinaries } = await import(${JSON.stringify(join(repoRoot, 'lib/media/ffmpeg.ts'))});
    const { probeVideo } = await import(${JSON.stringify(join(repoRoot, 'lib/face/frames.ts'))});
    const b = ffmpegBinaries();
    const info = await probeVideo(${JSON.stringify(clip)});
    console.log(JSON.stringify({ ffprobe: b.ffprobe, source: b.source, width: info.width, height: info.height, fps: info.fps, durationS: info.durationS, hasAudio: info.hasAudio }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot, encoding: 'utf8',
    env: { ...process.env, PATH: '/nonexistent', FFMPEG_PATH: '', FFPROBE_PATH: '' },
  });
  const r = JSON.parse(out.trim().split('\n').pop()!);
  assert.match(r.ffprobe, /@ffprobe-installer/);
  assert.equal(r.source, '@ffmpeg-installer/ffmpeg');
  assert.ok(r.width > 0 && r.height > 0, `size ${r.width}x${r.height}`);
  assert.ok(r.fps > 10 && r.fps < 61, `fps ${r.fps}`);
  assert.ok(r.durationS > 0.5, `duration ${r.durationS}`);
  assert.equal(r.hasAudio, true);
});

test('findOnPath: the first executable file on PATH; folders, non-executable files and empty entries are passed over', () => {
  const root = mkdtempSync(join(tmpdir(), 'emolab-path-'));
  const saved = process.env.PATH;
  try {
    const [a, b, c] = ['a', 'b', 'c'].map((d) => { mkdirSync(join(root, d)); return join(root, d); });
    mkdirSync(join(a, 'tool')); // a folder of that name
    writeFileSync(join(b, 'tool'), '#!/bin/sh\n'); chmodSync(join(b, 'tool'), 0o644); // not executable
    writeFileSync(join(c, 'tool'), '#!/bin/sh\n'); chmodSync(join(c, 'tool'), 0o755);
    process.env.PATH = ['', a, b, c].join(':');
    assert.equal(findOnPath('tool'), join(c, 'tool'));
    assert.equal(findOnPath('no-such-tool'), undefined);
  } finally {
    process.env.PATH = saved;
    rmSync(root, { recursive: true, force: true });
  }
});

test('ffprobeJsonText: a file that is not media rejects with ffprobe\'s own reason', { skip: !findOnPath('ffprobe') && 'no ffprobe on PATH' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-probe-'));
  try {
    const bad = join(dir, 'not-a-video.mp4');
    writeFileSync(bad, 'hello');
    await assert.rejects(ffprobeJsonText(findOnPath('ffprobe')!, bad), (e: unknown) => e instanceof Error && /invalid data|not-a-video/i.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
