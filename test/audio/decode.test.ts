import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAudio, parseWav, readWav, sanitizeSignal, signalStats } from '../../lib/audio/index';
import { EmolabError } from '../../lib/errors';
import { emodbWav, encodeWav, haveEmodb, tone } from './shared';

test('parseWav reads PCM16, PCM24, PCM8 and float32, and averages channels', () => {
  const left = Float32Array.from([0, 0.5, -0.5, 0.25]);
  const right = Float32Array.from([0.5, 0.5, 0.5, -0.25]);
  for (const [fmt, tol] of [['pcm16', 1e-4], ['pcm24', 1e-6], ['float32', 1e-7], ['pcm8', 1e-2]] as const) {
    const w = parseWav(encodeWav([left, right], 22050, fmt));
    assert.equal(w.sampleRate, 22050);
    assert.equal(w.channels, 2);
    const expected = [0.25, 0.5, 0, 0];
    w.samples.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < tol, `${fmt}[${i}] ${v}`));
  }
});

test('parseWav refuses garbage with an EmolabError naming the file', () => {
  assert.throws(() => parseWav(new Uint8Array(40), 'x.wav'), (e: unknown) => e instanceof EmolabError && e.stage === 'audio' && e.message.includes('x.wav'));
  const bad = Buffer.from(encodeWav([new Float32Array(4)], 16000));
  bad.writeUInt16LE(2, 20); // ADPCM
  assert.throws(() => parseWav(bad, 'adpcm.wav'), /unsupported format tag 2/);
});

test('NaN and out-of-range samples are sanitised; stats report silence and clipping', () => {
  const x = sanitizeSignal(Float32Array.from([NaN, Infinity, -Infinity, 2, -3, 0.5]));
  assert.deepEqual(Array.from(x), [0, 1, -1, 1, -1, 0.5]);
  const s = signalStats(x, 16000);
  assert.equal(s.peak, 1);
  assert.ok(Math.abs(s.clippedFraction - 4 / 6) < 1e-9);
  assert.equal(signalStats(new Float32Array(160), 16000).silent, true);
});

test('decodeAudio: WAV reader and ffmpeg give the same samples on an EmoDB file', { skip: !haveEmodb() }, async () => {
  const f = emodbWav('03a01Fa.wav');
  const viaWav = await decodeAudio(f);
  const viaFfmpeg = await decodeAudio(f, { via: 'ffmpeg' });
  assert.equal(viaWav.length, 30372);
  assert.equal(viaFfmpeg.length, viaWav.length);
  let m = 0;
  for (let i = 0; i < viaWav.length; i++) m = Math.max(m, Math.abs(viaWav[i] - viaFfmpeg[i]));
  assert.ok(m < 1e-6, `max diff ${m}`);
  assert.equal(readWav(f).sampleRate, 16000);
});

test('decodeAudio resamples a 44.1 kHz stereo file to 16 kHz mono through ffmpeg', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-audio-'));
  try {
    const f = join(dir, 'stereo.wav');
    const l = tone([440], [0.4], 0.5, 44100), r = tone([440], [0.4], 0.5, 44100);
    writeFileSync(f, encodeWav([l, r], 44100));
    const x = await decodeAudio(f, { sampleRate: 16000 });
    assert.ok(Math.abs(x.length - 8000) <= 2, `length ${x.length}`);
    // zero crossings of a 440 Hz tone over 0.35 s (samples 1600..7200): 308
    let zc = 0;
    for (let i = 1600; i < 8000 - 800; i++) if ((x[i - 1] < 0) !== (x[i] < 0)) zc++;
    assert.ok(Math.abs(zc - 308) <= 3, `zero crossings ${zc}`);
    await assert.rejects(decodeAudio(f, { via: 'wav' }), /44100 Hz, 16000 Hz requested/);
    const junk = join(dir, 'junk.mp3');
    writeFileSync(junk, 'not audio at all');
    await assert.rejects(decodeAudio(junk), (e: unknown) => e instanceof EmolabError && e.message.includes('junk.mp3'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
