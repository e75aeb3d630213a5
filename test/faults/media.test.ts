/**
 * Bad media through the real pipeline: files generated with ffmpeg (and a TS WAV writer) into a folder
 * whose path has spaces and non-ASCII letters, then (1) the folder adapter's manifest and (2) audio
 * feature extraction into the feature store, and (3) face features for video that has no face or no
 * picture. Each bad file must end in the quarantine list with its path, the stage and a specific
 * reason; every good file must be processed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { folderManifest } from '../../lib/data/folder';
import type { Clip, Manifest } from '../../lib/data/types';
import { audioFeatureSet } from '../../lib/audio/featureSet';
import { extractFeatures, openFeatureStore, type FeatureSet } from '../../lib/store/featureStore';
import { clipFeatures } from '../../lib/audio/clipFeatures';
import { modelsRoot } from '../../lib/paths';
import { encodeWav } from '../audio/shared';
import { ffmpeg, hostileTmp, removeTmp, speechLike } from './shared';

const frames16k = (seconds: number): number => Math.floor((Math.round(seconds * 16000) - 400) / 160) + 1;

/** Every bad and good input, written once. Returns name -> absolute path. */
function writeMedia(dir: string): Record<string, string> {
  const f = (name: string): string => join(dir, name);
  const files: Record<string, string> = {};
  const put = (key: string, name: string, bytes: Uint8Array | string): void => { writeFileSync(f(name), bytes); files[key] = f(name); };
  const good = encodeWav([speechLike(1, 1)], 16000);
  put('good', 'good clip é.wav', good);
  put('rate8k', 'eight kHz.wav', encodeWav([speechLike(1, 2, 8000)], 8000));
  put('rate96k', 'ninety-six kHz.wav', encodeWav([speechLike(1, 3, 96000)], 96000, 'pcm24'));
  put('stereo', 'stéréo.wav', encodeWav([speechLike(1, 4), speechLike(1, 5)], 16000));
  put('silence', 'silence.wav', encodeWav([new Float32Array(16000)], 16000));
  put('short', 'short 10ms.wav', encodeWav([speechLike(0.01, 6)], 16000));
  put('zero', 'zero bytes.wav', new Uint8Array(0));
  put('truncHeader', 'truncated header.wav', good.subarray(0, 30));
  put('truncData', 'truncated data.wav', good.subarray(0, 44 + 8000 * 2)); // header says 1 s, 0.5 s present
  // f32 with NaN / Inf samples (raw float32 input, decoded as-is)
  const raw = speechLike(1, 7);
  raw[100] = NaN; raw[200] = Infinity; raw[300] = -Infinity;
  put('nan', 'nan inf.f32', new Uint8Array(raw.buffer));
  // ffmpeg-made containers
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=300:duration=1', '-f', 'aiff', f('aiff named.wav')]); files.aiff = f('aiff named.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=1', '-f', 'lavfi', '-i', 'sine=frequency=300:duration=1', '-c:v', 'mpeg4', '-c:a', 'aac', '-shortest', f('full.mp4')]);
  const mp4 = readFileSync(f('full.mp4'));
  put('truncMp4', 'truncated vidéo.mp4', mp4.subarray(0, Math.floor(mp4.length / 2)));
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=1', '-f', 'lavfi', '-i', 'sine=frequency=300:duration=1', '-c:v', 'flv1', '-c:a', 'adpcm_swf', '-ar', '22050', '-shortest', f('full.flv')]);
  const flv = readFileSync(f('full.flv'));
  put('truncFlv', 'truncated.flv', flv.subarray(0, 20));
  files.noFace = f('full.mp4'); // testsrc: a picture, but no face
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=300:duration=1', '-c:a', 'aac', f('audio only.mp4')]); files.audioOnly = f('audio only.mp4');
  return files;
}

let dir = '';
let files: Record<string, string> = {};
before(() => { dir = hostileTmp('media'); files = writeMedia(dir); });
after(() => removeTmp(dir));

const clipOf = (id: string, file: string): Clip => (/\.(mp4|flv)$/.test(file) ? { id, corpus: 'faults', speaker: 's', audioPath: file, videoPath: file } : { id, corpus: 'faults', speaker: 's', audioPath: file });

test('bad media: the folder manifest quarantines unusable files with a specific reason and keeps the rest', () => {
  {
    const names = Object.fromEntries(Object.entries(files).map(([k, p]) => [k, p.slice(dir.length + 1)]));
    const rows = ['file,speaker,emotion', ...Object.values(names).map((n) => `"${n}",s1,neutral`), 'missing file.wav,s1,neutral'];
    writeFileSync(join(dir, 'labels.csv'), rows.join('\n') + '\n');
    const m = folderManifest(dir, { corpus: 'faults' });
    const reason = (key: string): string | undefined => m.quarantine.find((q) => q.file === files[key])?.reason;
    assert.equal(reason('zero'), 'zero-length file');
    assert.match(reason('truncHeader') ?? '', /unreadable WAV/);
    assert.match(reason('aiff') ?? '', /unreadable WAV.*RIFF/);
    assert.match(reason('nan') ?? '', /unknown media type ".f32"/);
    assert.equal(m.quarantine.find((q) => q.file.endsWith('missing file.wav'))?.reason, 'missing on disk');
    assert.ok(m.quarantine.every((q) => q.stage === 'faults' && q.file.startsWith(dir)), 'each item names its file and stage');
    // what passes the manifest (cheap checks only) goes on to feature extraction
    const kept = new Set(m.clips.map((c) => c.audioPath));
    for (const k of ['good', 'rate8k', 'rate96k', 'stereo', 'silence', 'short', 'truncData', 'truncMp4', 'truncFlv', 'audioOnly', 'noFace']) assert.ok(kept.has(files[k]), `${k} kept`);
    assert.equal(m.clips.length + m.quarantine.length, rows.length - 1, 'every row is either a clip or quarantined');
    assert.equal(m.quarantine.length, 5);
  }
});

test('bad media: audio feature extraction quarantines each bad clip (file, stage, reason) and stores every good one', async () => {
  {
    const order = ['good', 'zero', 'rate8k', 'truncHeader', 'rate96k', 'aiff', 'stereo', 'silence', 'short', 'truncData', 'nan', 'truncMp4', 'truncFlv', 'audioOnly', 'noFace'];
    const manifest: Manifest = { corpus: 'faults', root: dir, clips: order.map((k) => clipOf(k, files[k])), quarantine: [] };
    const s = await extractFeatures({ manifest, dir: join(dir, 'store'), set: audioFeatureSet(), workers: 1, shardSize: 4, quiet: true });
    const q = new Map(s.index.quarantine.map((x) => [x.clipId, x]));
    const bad: Record<string, RegExp> = {
      zero: /ffmpeg could not decode/,
      truncHeader: /ffmpeg could not decode/,
      short: /shorter than one 25 ms analysis window/,
      truncMp4: /ffmpeg could not decode/,
      truncFlv: /ffmpeg could not decode|ffmpeg found no audio/,
    };
    for (const [k, re] of Object.entries(bad)) {
      const item = q.get(k);
      assert.ok(item, `${k} is quarantined`);
      assert.equal(item.stage, 'audio', `${k}: stage`);
      assert.equal(item.file, files[k], `${k}: file`);
      assert.match(item.reason, re, `${k}: ${item.reason}`);
      assert.ok(item.reason.includes(files[k]), `${k}: the message names the file`);
    }
    assert.equal(q.size, Object.keys(bad).length, `only the bad clips are quarantined: ${[...q.keys()]}`);
    const store = openFeatureStore(join(dir, 'store'));
    const expectFrames: Record<string, number> = { good: 98, rate8k: 98, rate96k: 98, stereo: 98, silence: 98, truncData: frames16k(0.5), nan: 98, aiff: 98 };
    for (const [k, n] of Object.entries(expectFrames)) {
      const fb = store.get(k, 'fbank');
      assert.equal(fb.frames, n, `${k}: frames`);
      assert.ok(fb.data.every(Number.isFinite), `${k}: fbank finite`);
      assert.ok(store.get(k, 'f0').data.every(Number.isFinite), `${k}: f0 finite`);
    }
    assert.ok(store.get('audioOnly', 'fbank').frames >= 98, 'audio-only mp4: its AAC track is decoded (encoder priming adds a few frames)');
    assert.ok(store.get('silence', 'energy_db').data.every((v) => v <= -99), 'silence sits at the energy floor');
    assert.ok(store.get('silence', 'f0').data.every((v) => v === 0), 'silence is unvoiced');
    assert.ok(store.get('stereo', 'energy_db').data.some((v) => v > -60), 'stereo is averaged, not dropped');
    assert.ok(existsSync(join(dir, 'store', 'audio', 'index.json')));
  }
});

test('NaN/Inf in stored features: training input refuses the clip with a clear reason, keeps the others', async () => {
  const dir = hostileTmp('nan');
  try {
    const ids = ['ok1', 'poisoned', 'ok2', 'inf'];
    const set: FeatureSet = {
      name: 'audio', version: 'test', params: {},
      features: { fbank: { dims: 80, description: 'test' }, energy_db: { dims: 1, description: 'test' } },
      async extract(clip) {
        const fb = new Float32Array(30 * 80).fill(-3);
        if (clip.id === 'poisoned') fb[123] = NaN;
        if (clip.id === 'inf') fb[7] = -Infinity;
        return { fbank: { data: fb, frames: 30, dims: 80 }, energy_db: { data: new Float32Array(30).fill(-20), frames: 30, dims: 1 } };
      },
    };
    const clips = ids.map((id) => ({ id, corpus: 'faults', speaker: 's', audioPath: join(dir, `${id}.wav`) }));
    await extractFeatures({ manifest: { corpus: 'faults', root: dir, clips, quarantine: [] }, dir: join(dir, 'store'), set, workers: 1, quiet: true });
    const { items, quarantine } = await clipFeatures(clips, { store: openFeatureStore(join(dir, 'store')), quiet: true });
    assert.deepEqual(items.map((i) => i.clip.id), ['ok1', 'ok2']);
    assert.deepEqual(quarantine.map((x) => [x.file, x.stage, x.reason]), [
      [join(dir, 'poisoned.wav'), 'train', 'features contain NaN or Inf'],
      [join(dir, 'inf.wav'), 'train', 'features contain NaN or Inf'],
    ]);
  } finally {
    removeTmp(dir);
  }
});

const haveFaceModel = (): boolean => existsSync(join(modelsRoot(), 'face_landmarker.task'));

test('video without a face, and an audio-only file where video is expected: face features quarantine both', { skip: !haveFaceModel() && 'no face_landmarker.task in EMOLAB_MODELS' }, async () => {
  {
    const { faceFeatureSet } = await import('../../lib/face/features');
    const clips: Clip[] = [
      { id: 'noface', corpus: 'faults', speaker: 's', videoPath: files.noFace },
      { id: 'audioonly', corpus: 'faults', speaker: 's', videoPath: files.audioOnly },
      { id: 'novideo', corpus: 'faults', speaker: 's', audioPath: files.audioOnly },
    ];
    const s = await extractFeatures({ manifest: { corpus: 'faults', root: dir, clips, quarantine: [] }, dir: join(dir, 'face store'), set: faceFeatureSet({ fps: 10 }), workers: 1, quiet: true });
    const q = Object.fromEntries(s.index.quarantine.map((x) => [x.clipId, x]));
    assert.equal(q.noface?.stage, 'face');
    assert.match(q.noface.reason, /no face found in any of the \d+ frames/);
    assert.equal(q.noface.file, clips[0].videoPath);
    assert.equal(q.audioonly?.stage, 'face');
    assert.ok(q.audioonly.reason.includes(clips[1].videoPath!), q.audioonly.reason);
    assert.match(q.audioonly.reason, /no video stream found/);
    assert.match(q.novideo?.reason ?? '', /has no video file/);
    assert.equal(Object.keys(s.index.clips).length, 0);
  }
});
