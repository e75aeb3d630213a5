import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFrames } from '../../lib/face/frames';
import { BLENDSHAPE_NAMES, createFaceLandmarker, N_LANDMARKS } from '../../lib/face/landmarker';
import { glStandInCalls, glStandInViolations } from '../../lib/face/webgl2Shim';
import { dataRoot, modelsRoot } from '../../lib/paths';
import { spawnSync } from 'node:child_process';
import { trackFaces } from '../../lib/face/track';
import { faceFeatureSet, faceFeaturesFromTrack, writeFaceFeatures } from '../../lib/face/features';
import { extractFeatures, openFeatureStore } from '../../lib/store/featureStore';
import { AU_NAMES } from '../../lib/face/aus';
import { parseThresholds, runFeaturesFace } from '../../lib/face/cli';
import { readSafetensors } from '../../lib/store/safetensors';

const clip = join(dataRoot(), 'mead-samples', 'dreamtalk', 'W011_front_surprised_level3_001.mp4');

/** The GL functions tasks-vision 0.10.35 calls with the CPU delegate (logged while writing the stand-in). */
const EXPECTED_GL_CALLS = new Set([
  'getSupportedExtensions', 'getExtension', 'getParameter', 'getContextAttributes', 'getError',
  'activeTexture', 'createTexture', 'bindTexture', 'texParameteri', 'texImage2D', 'fenceSync', 'deleteSync',
  'createFramebuffer', 'bindFramebuffer', 'framebufferTexture2D', 'readPixels',
  // on close
  'deleteTexture', 'deleteFramebuffer',
]);

test('face landmarker in plain Node: 478 landmarks and 52 named blendshapes on a real clip', async () => {
  const frames = await readFrames(clip, { fps: 25, maxFrames: 4 });
  const lm = await createFaceLandmarker();
  const g = globalThis as Record<string, unknown>;
  assert.equal(g.importScripts, undefined, 'browser globals are removed after creation');
  assert.equal(g.OffscreenCanvas, undefined);
  assert.equal(g.self, undefined);
  try {
    for (const f of frames) {
      const faces = lm.detect(f, f.timeS * 1000);
      assert.equal(faces.length, 1, `one face in frame ${f.index}`);
      const { landmarks, blendshapes } = faces[0];
      assert.equal(landmarks.length, N_LANDMARKS * 3);
      assert.equal(blendshapes.length, 52);
      // Landmarks inside the 256x256 face crop, the nose tip (1) near the middle.
      for (let k = 0; k < N_LANDMARKS; k++) {
        assert.ok(landmarks[3 * k] > 0 && landmarks[3 * k] < 1 && landmarks[3 * k + 1] > 0 && landmarks[3 * k + 1] < 1);
      }
      assert.ok(Math.abs(landmarks[3] - 0.5) < 0.15 && Math.abs(landmarks[4] - 0.55) < 0.2, `nose tip at ${landmarks[3]},${landmarks[4]}`);
      for (const s of blendshapes) assert.ok(s >= 0 && s <= 1);
    }
    // A surprised face: brows up and eyes wide score well above frowning.
    const last = lm.detect(frames[3], 1000).at(0)!;
    const score = (n: string) => last.blendshapes[BLENDSHAPE_NAMES.indexOf(n)];
    assert.ok(score('browInnerUp') > score('browDownLeft'), `browInnerUp ${score('browInnerUp')} vs browDownLeft ${score('browDownLeft')}`);
    // reset(): a blank frame drops the face; the next real frame is found again.
    lm.reset();
    assert.equal(lm.detect(frames[0], 2000).length, 1);
    assert.equal(lm.detect({ data: new Uint8ClampedArray(64 * 64 * 4), width: 64, height: 64 }, 3000).length, 0);
  } finally {
    lm.close();
  }
  // The WebGL stand-in guard: no unimplemented GL access (even ones emscripten swallows), and only
  // the expected calls. A new tasks-vision that calls anything else fails here.
  assert.deepEqual(glStandInViolations(), []);
  const unexpected = [...glStandInCalls().keys()].filter((k) => !EXPECTED_GL_CALLS.has(k));
  assert.deepEqual(unexpected, [], `GL calls outside the tested slice: ${unexpected.join(', ')}`);
  assert.ok((glStandInCalls().get('readPixels') ?? 0) >= 4);
});

test('missing and corrupt model files are clear errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-face-'));
  const env = process.env.EMOLAB_MODELS;
  try {
    process.env.EMOLAB_MODELS = dir;
    await assert.rejects(createFaceLandmarker(), /model "face-landmarker" \(face_landmarker.task\) not found in .*emolab-face-.*\n\s+hint: set EMOLAB_MODELS .* or run: npx emolab models fetch face-landmarker/);
    const good = readFileSync(join(env ?? modelsRoot(), 'face_landmarker.task'));
    const bad = Buffer.from(good);
    bad[bad.length >> 1] ^= 0xff; // one flipped byte: same size, wrong sha256
    writeFileSync(join(dir, 'face_landmarker.task'), bad);
    await assert.rejects(createFaceLandmarker(), /has sha256 [0-9a-f]{64}, expected 64184e22.*\n\s+hint: the file is damaged/);
    writeFileSync(join(dir, 'face_landmarker.task'), 'not a model');
    await assert.rejects(createFaceLandmarker(), /has 11 bytes, expected 3758596/);
    // An explicit model path skips the checksum, and MediaPipe's refusal becomes a clear error.
    await assert.rejects(createFaceLandmarker({ modelPath: join(dir, 'face_landmarker.task') }), /MediaPipe could not load the face landmarker model/);
  } finally {
    process.env.EMOLAB_MODELS = env;
  }
});

test('tracking with no face, short gaps and a second run through the CLI writer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-face-'));
  // Frames 4-5 blacked out (a 2-frame gap), and a clip with no face at all.
  const gappy = join(dir, 'gappy.mp4');
  const blank = join(dir, 'blank.mp4');
  const ff = (args: string[]) => { const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]); assert.equal(r.status, 0, String(r.stderr)); };
  ff(['-i', clip, '-frames:v', '10', '-vf', "drawbox=c=black:t=fill:enable='between(n,4,5)'", '-an', gappy]);
  ff(['-f', 'lavfi', '-i', 'color=c=gray:s=128x128:d=0.3:r=10', blank]);
  const session = await createFaceLandmarker();
  try {
    const t = await trackFaces(gappy, { fps: 25, session });
    assert.equal(t.nFrames, 10);
    assert.deepEqual([...t.faceFound], [1, 1, 1, 1, 0, 0, 1, 1, 1, 1]);
    assert.deepEqual([...t.interpolated], [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
    assert.deepEqual({ ...t.stats, decodeS: 0, detectS: 0 }, { frames: 10, detected: 8, interpolated: 2, missing: 0, multiFace: 0, decodeS: 0, detectS: 0 });
    assert.ok(Number.isFinite(t.landmarks[4 * 478 * 3]), 'gap filled');
    const noGap = await trackFaces(gappy, { fps: 25, session, maxGapFrames: 1 });
    assert.equal(noGap.stats.missing, 2);
    assert.ok(Number.isNaN(noGap.landmarks[4 * 478 * 3]), 'long gap left missing');
    // Two faces side by side (a 256 px face and a 176 px one): both seen, the larger (left) kept.
    const two = join(dir, 'two.mp4');
    ff(['-i', clip, '-i', join(dataRoot(), 'mead-samples', 'dreamtalk', 'M030_front_angry_level3_001.mp4'), '-filter_complex', '[1:v]scale=176:176,pad=256:256:40:40[b];[0:v][b]hstack', '-frames:v', '3', '-an', two]);
    const both = await trackFaces(two, { fps: 25, session });
    assert.deepEqual([...both.faceCount], [2, 2, 2]);
    assert.equal(both.stats.multiFace, 3);
    for (let i = 0; i < 3; i++) assert.ok(both.landmarks[i * 478 * 3 + 3] < 0.5, 'nose tip of the kept face in the left half');
    // Features of a very short clip (one frame) and of a clip without any face: no crash, NaN, counted.
    const one = faceFeaturesFromTrack(await trackFaces(clip, { fps: 25, maxFrames: 1, session }));
    assert.equal(one.track.nFrames, 1);
    assert.ok(Number.isNaN(one.activation.activation[0]), 'no motion from a single frame');
    const none = faceFeaturesFromTrack(await trackFaces(blank, { fps: 10, session }));
    assert.equal(none.track.stats.detected, 0);
    assert.equal(none.track.stats.missing, none.track.nFrames);
    assert.ok(none.aus.every(Number.isNaN) && none.activation.activation.every(Number.isNaN));
    // The per-video file: shapes and provenance.
    const f = faceFeaturesFromTrack(t);
    const out = join(dir, 'f.safetensors');
    writeFaceFeatures(out, f);
    const { tensors, metadata } = readSafetensors(out);
    assert.deepEqual(tensors.landmarks.shape, [10, 478, 3]);
    assert.deepEqual(tensors.blendshapes.shape, [10, 52]);
    assert.deepEqual(tensors.aus.shape, [10, AU_NAMES.length]);
    assert.deepEqual(tensors.activation.shape, [10]);
    assert.deepEqual([...tensors.face_found.data], [...t.faceFound]);
    assert.deepEqual([...tensors.times.data].map((x) => Number(Number(x).toFixed(6))), [0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.24, 0.28, 0.32, 0.36]);
    assert.deepEqual(JSON.parse(metadata.au_names), [...AU_NAMES]);
    assert.equal(JSON.parse(metadata.blendshape_names)[25], 'jawOpen');
    assert.ok(f.activation.activation.slice(1, 9).every(Number.isFinite));
    // The corpus path: the "face" set in the shared feature store; a clip without a face is quarantined.
    const store = join(dir, 'store');
    const manifest = { corpus: 't', root: dir, quarantine: [], clips: [
      { id: 'gappy', corpus: 't', speaker: 's', videoPath: gappy },
      { id: 'blank', corpus: 't', speaker: 's', videoPath: blank },
    ] };
    const sum = await extractFeatures({ manifest, dir: store, set: faceFeatureSet({ fps: 25, maxFrames: 4 }), workers: 1, quiet: true });
    assert.deepEqual(Object.keys(sum.index.clips), ['gappy']);
    assert.match(sum.index.quarantine[0].reason, /no face found in any of the 4 frames/);
    const fs = openFeatureStore(store);
    assert.deepEqual([fs.get('gappy', 'landmarks').frames, fs.get('gappy', 'landmarks').dims], [4, 1434]);
    assert.deepEqual([...fs.get('gappy', 'face_found').data], [1, 1, 1, 1]);
    assert.equal(fs.get('gappy', 'aus').dims, AU_NAMES.length);
  } finally {
    session.close();
  }
});

test('features face CLI: argument errors are clear', async () => {
  await assert.rejects(runFeaturesFace([clip]), /features face needs one video and --out/);
  await assert.rejects(runFeaturesFace(['/no/video.mp4', '--out', '/tmp/x.safetensors']), /video file not found/);
  await assert.rejects(runFeaturesFace([clip, '--out', clip]), /exists[\s\S]*--force/);
  await assert.rejects(runFeaturesFace([clip, '--out', '/tmp/x.st', '--thresholds', 'AU99=1']), /bad --thresholds entry "AU99=1"/);
  assert.deepEqual(parseThresholds('AU12=0.3, AU4=0.25'), { AU12: 0.3, AU4: 0.25 });
});
