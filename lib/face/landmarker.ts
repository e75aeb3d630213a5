/**
 * MediaPipe Face Landmarker (@mediapipe/tasks-vision, VIDEO running mode, CPU delegate) in plain
 * Node: 478 3-D landmarks and 52 blendshape scores per face per frame.
 *
 * How it runs without a browser: while the landmarker is created, four browser globals are put on
 * globalThis and taken away again afterwards (so no other library in the process sees a "browser"):
 * - `self` (= globalThis): tasks-vision reads `self.ModuleFactory` and `self.Module`;
 * - `importScripts(url)`: evaluates `wasm/vision_wasm_internal.js` (the emscripten glue) with Node's
 *   `require`, and sets `self.ModuleFactory` to what it exports;
 * - `navigator` (when Node has none, or one without userAgent): tasks-vision reads `navigator.userAgent`;
 * - `OffscreenCanvas`: the canvas tasks-vision creates for its WebGL context; ours returns the
 *   software WebGL2 stand-in of ./webgl2Shim (texture upload + readPixels, no drawing).
 * After creation the landmarker keeps its canvas, so nothing global is needed per frame.
 *
 * Landmark coordinates are MediaPipe's: x and y normalised to [0, 1] by the image width and height
 * (y down), z a relative depth on roughly the same scale as x (smaller = closer to the camera).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runInThisContext } from 'node:vm';
import type { FaceLandmarker as MpFaceLandmarker, FaceLandmarkerResult } from '@mediapipe/tasks-vision';
import { EmolabError, errorMessage } from '../errors';
import { repoRoot } from '../paths';
import { SoftOffscreenCanvas, GL_STAND_IN_FOR } from './webgl2Shim';
import { modelFile, MODEL_SPECS, verifyModelFile } from '../fetch/models';

export const N_LANDMARKS = 478;
export const N_BLENDSHAPES = 52;

/** The 52 blendshape names in the model's output order (index 0 is "_neutral"). */
export const BLENDSHAPE_NAMES: readonly string[] = [
  '_neutral', 'browDownLeft', 'browDownRight', 'browInnerUp', 'browOuterUpLeft', 'browOuterUpRight',
  'cheekPuff', 'cheekSquintLeft', 'cheekSquintRight', 'eyeBlinkLeft', 'eyeBlinkRight', 'eyeLookDownLeft',
  'eyeLookDownRight', 'eyeLookInLeft', 'eyeLookInRight', 'eyeLookOutLeft', 'eyeLookOutRight', 'eyeLookUpLeft',
  'eyeLookUpRight', 'eyeSquintLeft', 'eyeSquintRight', 'eyeWideLeft', 'eyeWideRight', 'jawForward', 'jawLeft',
  'jawOpen', 'jawRight', 'mouthClose', 'mouthDimpleLeft', 'mouthDimpleRight', 'mouthFrownLeft', 'mouthFrownRight',
  'mouthFunnel', 'mouthLeft', 'mouthLowerDownLeft', 'mouthLowerDownRight', 'mouthPressLeft', 'mouthPressRight',
  'mouthPucker', 'mouthRight', 'mouthRollLower', 'mouthRollUpper', 'mouthShrugLower', 'mouthShrugUpper',
  'mouthSmileLeft', 'mouthSmileRight', 'mouthStretchLeft', 'mouthStretchRight', 'mouthUpperUpLeft',
  'mouthUpperUpRight', 'noseSneerLeft', 'noseSneerRight',
];

const BLENDSHAPE_INDEX = new Map(BLENDSHAPE_NAMES.map((n, i) => [n, i]));

/** One face in one frame. */
export interface FaceObservation {
  /** [478 x 3] x, y, z (MediaPipe normalised coordinates), row-major. */
  landmarks: Float32Array;
  /** [52] blendshape scores in BLENDSHAPE_NAMES order. */
  blendshapes: Float32Array;
  /** Area of the landmarks' bounding box in pixels (used to pick the largest face). */
  areaPx: number;
}

/** An RGBA image: what decodeFrames yields. */
export interface RgbaImage { data: Uint8ClampedArray; width: number; height: number }

export interface LandmarkerOptions {
  /** Model file; default `EMOLAB_MODELS/face_landmarker.task`, checked against its sha256. */
  modelPath?: string;
  /**
   * Faces looked for per frame (default 2). More than one lets the tracker keep the largest face
   * when a second person is in view — at a price: while fewer faces than this are tracked, MediaPipe
   * runs its face detector on every frame (measured at 640x480: 26 frames per CPU-second with 1,
   * 21 with 2). Use 1 for corpora with one face per clip.
   */
  numFaces?: number;
  /** Detector / presence / tracking confidences (MediaPipe defaults 0.5). */
  minFaceDetectionConfidence?: number;
  minFacePresenceConfidence?: number;
  minTrackingConfidence?: number;
}

export interface FaceLandmarkerSession {
  /**
   * Faces in one frame, largest first. `timestampMs` must increase across calls (VIDEO mode tracks
   * faces from frame to frame); call `reset()` before a new clip.
   */
  detect(image: RgbaImage, timestampMs: number): FaceObservation[];
  /**
   * Forget the tracked face before a new clip: one blank frame makes the landmarker lose the face,
   * so the next frame starts from the face detector (cheap: one inference).
   */
  reset(): void;
  /** Rebuild the underlying MediaPipe graph (slow, ~1 s; `reset()` is enough between clips). */
  recreate(): Promise<void>;
  close(): void;
  readonly modelPath: string;
  readonly tasksVisionVersion: string;
}

const req = createRequire(join(repoRoot, 'package.json'));

/** tasks-vision's image parameter type, named without the DOM's ImageData (absent in tslab's compiler setup). */
type MpImageSource = Parameters<MpFaceLandmarker['detectForVideo']>[0];

function tasksVisionDir(): string {
  // The package's "exports" hide package.json; its main entry sits at the package root.
  return dirname(req.resolve('@mediapipe/tasks-vision'));
}

export function tasksVisionVersion(): string {
  return (JSON.parse(readFileSync(join(tasksVisionDir(), 'package.json'), 'utf8')) as { version: string }).version;
}

let creation: Promise<unknown> = Promise.resolve();

/** Routine MediaPipe log lines: glog INFO/WARNING ("I1123 ...", "W1123 ...") and graph/XNNPACK notices. */
export const ROUTINE_MEDIAPIPE_LOG = /^(?:[IW]\d{4} |Graph (?:successfully started running|finished closing successfully)|INFO: Created TensorFlow Lite XNNPACK)/;

function mediapipeLog(isErr: boolean): (line: string) => void {
  return (line: string) => {
    if (process.env.EMOLAB_FACE_VERBOSE !== '1' && ROUTINE_MEDIAPIPE_LOG.test(line)) return;
    if (isErr) console.error(line); else console.log(line);
  };
}

/** Run `fn` with the browser globals in place; serialised, restored afterwards. */
async function withBrowserGlobals<T>(fn: () => Promise<T>): Promise<T> {
  const run = creation.then(async () => {
    const g = globalThis as Record<string, unknown>;
    const names = ['self', 'navigator', 'importScripts', 'OffscreenCanvas', 'ModuleFactory', 'Module'] as const;
    const saved = new Map<string, PropertyDescriptor | undefined>(names.map((n) => [n, Object.getOwnPropertyDescriptor(g, n)]));
    const define = (n: string, v: unknown) => Object.defineProperty(g, n, { value: v, configurable: true, writable: true, enumerable: false });
    define('self', globalThis);
    // The emscripten Module tasks-vision will use: its glog/INFO chatter is dropped unless
    // EMOLAB_FACE_VERBOSE=1; warnings of level E/F and anything unrecognised still reach stderr.
    define('Module', { print: mediapipeLog(false), printErr: mediapipeLog(true) });
    const nav = g.navigator as { userAgent?: string } | undefined;
    if (nav === undefined || typeof nav.userAgent !== 'string') {
      // Keep whatever else is there (navigator.gpu from lib/backend's webgpu start) while adding userAgent.
      define('navigator', { ...(nav ?? {}), gpu: (nav as { gpu?: unknown } | undefined)?.gpu, userAgent: `Node.js/${process.versions.node}` });
    }
    define('OffscreenCanvas', SoftOffscreenCanvas);
    define('importScripts', (...urls: string[]) => {
      for (const url of urls) {
        const code = readFileSync(url, 'utf8');
        const mod = { exports: {} as unknown };
        // `dbg` is where the glue sends glog warnings (custom_emscripten_dbgn) when it is defined.
        const wrapper = runInThisContext(`(function (require, module, exports, __filename, __dirname, dbg) {${code}\n})`, { filename: url }) as
          (r: NodeJS.Require, m: { exports: unknown }, e: unknown, f: string, d: string, dbg: (s: string) => void) => void;
        wrapper(createRequire(url), mod, mod.exports, url, dirname(url), mediapipeLog(true));
        define('ModuleFactory', mod.exports);
      }
    });
    try {
      return await fn();
    } finally {
      for (const [n, d] of saved) {
        if (d) Object.defineProperty(g, n, d);
        else delete g[n];
      }
    }
  });
  creation = run.catch(() => undefined);
  return run;
}

/** Resolve and check the model file. A wrong sha256 for the default file is a clear error. */
function loadModel(opts: LandmarkerOptions): { path: string; bytes: Uint8Array } {
  const spec = MODEL_SPECS['face-landmarker'];
  const path = opts.modelPath ?? modelFile(spec);
  if (!opts.modelPath) verifyModelFile(spec, path);
  let bytes: Uint8Array;
  try { bytes = new Uint8Array(readFileSync(path)); } catch (e) {
    throw new EmolabError('face', `cannot read the face landmarker model: ${errorMessage(e)}`, { file: path, hint: `run: npx emolab models fetch face-landmarker` });
  }
  return { path, bytes };
}

function bboxAreaPx(lm: { x: number; y: number }[], width: number, height: number): number {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const p of lm) {
    if (p.x < x0) x0 = p.x; if (p.x > x1) x1 = p.x;
    if (p.y < y0) y0 = p.y; if (p.y > y1) y1 = p.y;
  }
  return Math.max(0, x1 - x0) * width * Math.max(0, y1 - y0) * height;
}

/** Faces of a MediaPipe result as typed arrays, largest first. Pure; exported for tests. */
export function observationsFromResult(result: FaceLandmarkerResult, width: number, height: number): FaceObservation[] {
  const faces: FaceObservation[] = [];
  result.faceLandmarks.forEach((lm, i) => {
    if (lm.length < N_LANDMARKS) return;
    const landmarks = new Float32Array(N_LANDMARKS * 3);
    for (let k = 0; k < N_LANDMARKS; k++) {
      landmarks[3 * k] = lm[k].x; landmarks[3 * k + 1] = lm[k].y; landmarks[3 * k + 2] = lm[k].z;
    }
    const blendshapes = new Float32Array(N_BLENDSHAPES);
    const cats = result.faceBlendshapes?.[i]?.categories ?? [];
    if (cats.length !== N_BLENDSHAPES) {
      throw new EmolabError('face', `the model returned ${cats.length} blendshapes, expected ${N_BLENDSHAPES} (is outputFaceBlendshapes on, and is this the v1 face_landmarker.task?)`);
    }
    for (const c of cats) {
      // Placed by name, so a model that reorders its outputs cannot shift columns silently.
      const k = BLENDSHAPE_INDEX.get(c.categoryName);
      if (k === undefined) throw new EmolabError('face', `the model returned an unknown blendshape "${c.categoryName}"`);
      blendshapes[k] = c.score;
    }
    faces.push({ landmarks, blendshapes, areaPx: bboxAreaPx(lm, width, height) });
  });
  return faces.sort((a, b) => b.areaPx - a.areaPx);
}

async function createMp(bytes: Uint8Array, path: string, opts: LandmarkerOptions): Promise<MpFaceLandmarker> {
  const dir = tasksVisionDir();
  const wasmLoaderPath = join(dir, 'wasm', 'vision_wasm_internal.js');
  const wasmBinaryPath = join(dir, 'wasm', 'vision_wasm_internal.wasm');
  return withBrowserGlobals(async () => {
    // Loaded inside the globals: tasks-vision is ESM/CJS dual; `require` picks vision_bundle.cjs.
    const { FaceLandmarker } = req('@mediapipe/tasks-vision') as typeof import('@mediapipe/tasks-vision');
    try {
      return await FaceLandmarker.createFromOptions({ wasmLoaderPath, wasmBinaryPath }, {
        baseOptions: { modelAssetBuffer: bytes, delegate: 'CPU' },
        runningMode: 'VIDEO',
        outputFaceBlendshapes: true,
        outputFacialTransformationMatrixes: false,
        numFaces: opts.numFaces ?? 2,
        minFaceDetectionConfidence: opts.minFaceDetectionConfidence ?? 0.5,
        minFacePresenceConfidence: opts.minFacePresenceConfidence ?? 0.5,
        minTrackingConfidence: opts.minTrackingConfidence ?? 0.5,
      });
    } catch (e) {
      if (e instanceof EmolabError) throw e;
      throw new EmolabError('face', `MediaPipe could not load the face landmarker model: ${errorMessage(e).slice(0, 300)}`, {
        file: path, cause: e, hint: 'is this a MediaPipe face_landmarker.task file? run: npx emolab models fetch face-landmarker',
      });
    }
  });
}

/**
 * Create a Face Landmarker session (VIDEO mode, CPU delegate, blendshapes on). Creation takes a
 * fraction of a second; reuse the session for many clips, with `reset()` between clips.
 */
export async function createFaceLandmarker(opts: LandmarkerOptions = {}): Promise<FaceLandmarkerSession> {
  const version = tasksVisionVersion();
  if (version !== GL_STAND_IN_FOR) {
    throw new EmolabError('face', `@mediapipe/tasks-vision is ${version}, but the WebGL stand-in was written for ${GL_STAND_IN_FOR}`, {
      hint: 'reinstall the pinned dependencies (npm ci), or check lib/face/webgl2Shim.ts against the new version and update GL_STAND_IN_FOR',
    });
  }
  const { path, bytes } = loadModel(opts);
  let mp = await createMp(bytes, path, opts);
  let lastTs = -Infinity;
  // Added to a clip's timestamps after reset(), so that a clip keeps its real frame spacing (which
  // MediaPipe's landmark smoothing depends on) however many clips the session saw before it.
  let offset = 0;
  let closed = false;
  return {
    modelPath: path,
    tasksVisionVersion: version,
    detect(image: RgbaImage, timestampMs: number): FaceObservation[] {
      if (closed) throw new EmolabError('face', 'face landmarker used after close()');
      if (image.data.length !== image.width * image.height * 4) {
        throw new EmolabError('face', `frame has ${image.data.length} bytes, expected ${image.width}x${image.height}x4 RGBA`);
      }
      // VIDEO mode needs strictly increasing timestamps.
      const ts = offset + timestampMs > lastTs ? offset + timestampMs : lastTs + 1;
      lastTs = ts;
      const result = mp.detectForVideo(image as unknown as MpImageSource, ts);
      return observationsFromResult(result, image.width, image.height);
    },
    reset(): void {
      // Every clip starts from the same state, in a fresh session or after any number of clips: one
      // blank 64x64 frame (drops the tracked face), then the clip's own frame spacing. So a clip's
      // features do not depend on which clips a worker saw before it (worker pools and sharded
      // extraction give byte-identical stores).
      if (closed) return;
      if (lastTs === -Infinity) lastTs = 0;
      const w = 64, h = 64;
      const blank = { data: new Uint8ClampedArray(w * h * 4), width: w, height: h };
      lastTs += 1;
      const r = mp.detectForVideo(blank as unknown as MpImageSource, lastTs);
      if (r.faceLandmarks.length > 0) throw new EmolabError('face', 'face landmarker still reports a face on a blank frame after reset()');
      offset = lastTs + 1000;
    },
    async recreate(): Promise<void> {
      if (closed) return;
      mp.close();
      mp = await createMp(bytes, path, opts);
      lastTs = -Infinity;
      offset = 0;
    },
    close(): void {
      if (!closed) { closed = true; mp.close(); }
    },
  };
}
