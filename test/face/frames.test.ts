import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeFrames, frameTime, outputSize, parseRate, probeVideo, readFrames, timeOffsetS, videoInfoFromProbe } from '../../lib/face/frames';
import { dataRoot } from '../../lib/paths';

const clip = join(dataRoot(), 'mead-samples', 'dreamtalk', 'W009_front_happy_level3_001.mp4');
const speech = join(dataRoot(), 'mead-samples', 'crop', 'M030_sad_3_001.mp4');

test('rates, sizes and frame times', () => {
  assert.equal(parseRate('30000/1001').toFixed(3), '29.970');
  assert.equal(parseRate('25'), 25);
  assert.ok(Number.isNaN(parseRate('0/0')));
  assert.deepEqual(outputSize(1920, 1080, 640), { width: 640, height: 360 });
  assert.deepEqual(outputSize(256, 256, 640), { width: 256, height: 256 });
  assert.deepEqual(outputSize(255, 101, 640), { width: 256, height: 102 });
  // 30 fps frames fall exactly on 10 ms audio frames every third frame.
  assert.equal(frameTime(3, 30), 0.1);
  assert.equal(frameTime(0, 30, 0.02), 0.02);
});

test('probe: rotation swaps the display size, offsets relative to audio start', () => {
  const info = videoInfoFromProbe('x.mp4', {
    streams: [
      { codec_type: 'video', width: 1280, height: 720, r_frame_rate: '30/1', start_time: '0.100000', side_data_list: [{ rotation: -90 }] },
      { codec_type: 'audio', start_time: '0.040000' },
    ],
  });
  assert.equal(info.displayWidth, 720);
  assert.equal(info.displayHeight, 1280);
  assert.equal(info.rotation, 270);
  assert.ok(Math.abs(timeOffsetS(info) - 0.06) < 1e-12);
  assert.throws(() => videoInfoFromProbe('a.wav', { streams: [{ codec_type: 'audio' }] }), /no video stream/);
});

test('decode a real clip: sizes, count, timestamps, early stop', async () => {
  const info = await probeVideo(speech);
  assert.equal(info.width, 1920);
  assert.equal(info.hasAudio, true);
  const frames = await readFrames(clip, { fps: 10, maxFrames: 4 });
  assert.equal(frames.length, 4);
  for (const [i, f] of frames.entries()) {
    assert.equal(f.index, i);
    assert.equal(f.width, 256);
    assert.equal(f.data.length, 256 * 256 * 4);
    assert.ok(Math.abs(f.timeS - i / 10) < 1e-9);
    assert.equal(f.data[3], 255, 'alpha is opaque');
  }
  // Frames are distinct buffers (a consumer may keep them).
  assert.notEqual(frames[0].data.buffer, frames[1].data.buffer);
  // Breaking early stops ffmpeg without error.
  let n = 0;
  for await (const f of decodeFrames(speech, { fps: 30, maxSide: 160 })) { assert.equal(f.width, 160); if (++n === 2) break; }
  assert.equal(n, 2);
});

test('unreadable and missing videos are clear errors', async () => {
  await assert.rejects(readFrames('/no/such/video.mp4'), /emolab face \[\/no\/such\/video.mp4\]: video file not found/);
  await assert.rejects(readFrames(join(dataRoot(), 'mead-samples', 'labels.csv')), /emolab face .*labels.csv/);
});
