import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFrames } from '../../lib/face/frames';
import { BLENDSHAPE_NAMES, createFaceLandmarker, N_LANDMARKS } from '../../lib/face/landmarker';
import { glStandInCalls, glStandInViolations } from '../../lib/face/glStandIn';
import { dataRoot, modelsRoot } from '../../lib/paths';

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
