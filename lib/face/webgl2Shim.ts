/**
 * A software stand-in for the slice of WebGL2 that MediaPipe tasks-vision 0.10.35 uses with the
 * CPU delegate — so the Face Landmarker runs in plain Node, without a browser or a GPU.
 *
 * Why it is needed: tasks-vision accepts images only as WebGL textures. Its JavaScript uploads each
 * frame with `texImage2D`; the wasm graph then attaches that texture to a framebuffer and calls
 * `readPixels` to get the bytes back onto the CPU, where XNNPACK runs the models. Nothing is drawn
 * and no shader runs with the CPU delegate. So a "GL" that keeps texture pixels in memory and
 * returns them from `readPixels` is all that is required (measured: results identical to the same
 * model in Chromium's CPU delegate; see shared/notes/verified-facts.md).
 *
 * Calls seen with tasks-vision 0.10.35 (logged while running the Face Landmarker):
 *   at creation: getSupportedExtensions, getExtension (all answered "not supported"), getParameter
 *     (MAX_VERTEX_ATTRIBS, VERSION, RENDERER), getContextAttributes, getError;
 *   per frame: activeTexture, createTexture, bindTexture, texParameteri, texImage2D (ImageData-like
 *     source), fenceSync/deleteSync, createFramebuffer, bindFramebuffer, framebufferTexture2D,
 *     readPixels (into the wasm heap at an offset).
 * A few neighbours of these (texSubImage2D, deleteTexture, deleteFramebuffer, pixelStorei with the
 * default values, viewport, flush/finish, checkFramebufferStatus, clientWaitSync) are implemented too.
 *
 * Everything else THROWS an EmolabError naming the GL function or constant: a future tasks-vision
 * that calls something new fails loudly (and test/face/webgl2Shim.test.ts guards this) instead of
 * silently returning wrong landmarks. Pinned to {@link GL_STAND_IN_FOR}.
 */
import { EmolabError } from '../errors';

/** The tasks-vision version this stand-in was written against and tested with. */
export const GL_STAND_IN_FOR = '0.10.35';

// WebGL enums used here (values from the WebGL 2 specification).
export const GL = {
  TEXTURE_2D: 3553,
  RGBA: 6408,
  UNSIGNED_BYTE: 5121,
  FRAMEBUFFER: 36160,
  READ_FRAMEBUFFER: 36008,
  DRAW_FRAMEBUFFER: 36009,
  COLOR_ATTACHMENT0: 36064,
  FRAMEBUFFER_COMPLETE: 36053,
  ALREADY_SIGNALED: 37146,
  NO_ERROR: 0,
  MAX_VERTEX_ATTRIBS: 34921,
  MAX_TEXTURE_SIZE: 3379,
  VERSION: 7938,
  RENDERER: 7937,
  VENDOR: 7936,
  SHADING_LANGUAGE_VERSION: 35724,
  UNPACK_ALIGNMENT: 3317,
  PACK_ALIGNMENT: 3333,
  UNPACK_FLIP_Y_WEBGL: 37440,
  UNPACK_PREMULTIPLY_ALPHA_WEBGL: 37441,
  TEXTURE0: 33984,
} as const;

const PARAMETERS: Record<number, number | string> = {
  [GL.MAX_VERTEX_ATTRIBS]: 16,
  [GL.MAX_TEXTURE_SIZE]: 16384,
  [GL.VERSION]: 'WebGL 2.0 (emolab software stand-in)',
  [GL.RENDERER]: 'emolab software stand-in (CPU delegate only)',
  [GL.VENDOR]: 'emolab',
  [GL.SHADING_LANGUAGE_VERSION]: 'WebGL GLSL ES 3.00',
};

/** A texture: RGBA bytes, row-major, first uploaded row first. */
export class SoftTexture {
  width = 0;
  height = 0;
  pixels = new Uint8Array(0);
  deleted = false;
}

export class SoftFramebuffer {
  color: SoftTexture | null = null;
  deleted = false;
}

export class SoftSync {}

/**
 * Every unimplemented access, in order. Emscripten's glue swallows exceptions in a few places
 * (glGetIntegerv catches errors from getParameter), so the throw alone could go unnoticed there;
 * this log cannot. Tests assert it stays empty.
 */
const violationLog: string[] = [];
/** GL calls made on all stand-in contexts in this process, by name. */
const callLog = new Map<string, number>();

export function glStandInViolations(): readonly string[] { return violationLog; }
export function glStandInCalls(): ReadonlyMap<string, number> { return callLog; }

function unsupported(what: string, detail = ''): never {
  violationLog.push(what);
  throw new EmolabError('face', `WebGL stand-in: ${what} is not implemented${detail ? ` (${detail})` : ''}`, {
    hint: `the stand-in covers what @mediapipe/tasks-vision ${GL_STAND_IN_FOR} calls with delegate 'CPU'; a different tasks-vision version or a GPU delegate needs more of WebGL (see lib/face/glStandIn.ts)`,
  });
}

interface ImageDataLike { data: ArrayLike<number> & { length: number; buffer?: ArrayBufferLike; byteOffset?: number }; width: number; height: number }

/**
 * The implemented part of WebGL2RenderingContext. Emscripten also stores its own bookkeeping on the
 * context object (currentArrayBufferBinding, disjointTimerQueryExt, ...): those fields are declared
 * here so that reading them before the first write is not mistaken for an unimplemented call.
 */
class SoftGl2 {
  readonly canvas: unknown;
  // Emscripten bookkeeping fields (read before written by its glue code).
  currentArrayBufferBinding: unknown = 0;
  currentElementArrayBufferBinding: unknown = 0;
  currentPixelPackBufferBinding: unknown = 0;
  currentPixelUnpackBufferBinding: unknown = 0;
  currentProgram: unknown = 0;
  disjointTimerQueryExt: unknown = null;
  multiDrawWebgl: unknown = null;
  drawBuffersIndexedExt: unknown = null;
  dibvbi: unknown = null;
  mdibvbi: unknown = null;
  extPolygonOffsetClamp: unknown = null;
  extClipControl: unknown = null;
  webglPolygonMode: unknown = null;

  readonly TEXTURE_2D = GL.TEXTURE_2D;
  readonly RGBA = GL.RGBA;
  readonly UNSIGNED_BYTE = GL.UNSIGNED_BYTE;
  readonly FRAMEBUFFER = GL.FRAMEBUFFER;
  readonly COLOR_ATTACHMENT0 = GL.COLOR_ATTACHMENT0;
  readonly TEXTURE0 = GL.TEXTURE0;

  /** Calls made, by name (for tests and diagnostics). */
  readonly calls = new Map<string, number>();

  private boundTexture: SoftTexture | null = null;
  private boundFramebuffer: SoftFramebuffer | null = null;

  constructor(canvas: unknown) {
    this.canvas = canvas;
  }

  private count(name: string): void {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
    callLog.set(name, (callLog.get(name) ?? 0) + 1);
  }

  // --- context queries -------------------------------------------------------------------------
  getSupportedExtensions(): string[] { this.count('getSupportedExtensions'); return []; }
  getExtension(_name: string): null { this.count('getExtension'); return null; }
  getContextAttributes(): Record<string, unknown> {
    this.count('getContextAttributes');
    return { alpha: true, depth: false, stencil: false, antialias: false, premultipliedAlpha: true, preserveDrawingBuffer: false, powerPreference: 'default', failIfMajorPerformanceCaveat: false, desynchronized: false };
  }
  getParameter(pname: number): number | string {
    this.count('getParameter');
    if (pname in PARAMETERS) return PARAMETERS[pname];
    return unsupported(`getParameter(${pname})`);
  }
  getError(): number { this.count('getError'); return GL.NO_ERROR; }
  isContextLost(): boolean { this.count('isContextLost'); return false; }

  // --- textures --------------------------------------------------------------------------------
  activeTexture(unit: number): void {
    this.count('activeTexture');
    // One texture unit is enough: the CPU delegate never samples textures.
    if (unit < GL.TEXTURE0 || unit > GL.TEXTURE0 + 31) unsupported(`activeTexture(${unit})`);
  }
  createTexture(): SoftTexture { this.count('createTexture'); return new SoftTexture(); }
  deleteTexture(t: SoftTexture | null): void { this.count('deleteTexture'); if (t) { t.deleted = true; t.pixels = new Uint8Array(0); } }
  bindTexture(target: number, t: SoftTexture | null): void {
    this.count('bindTexture');
    if (target !== GL.TEXTURE_2D) unsupported(`bindTexture(target ${target})`, 'only TEXTURE_2D');
    this.boundTexture = t;
  }
  texParameteri(target: number, _pname: number, _param: number): void {
    this.count('texParameteri');
    if (target !== GL.TEXTURE_2D) unsupported(`texParameteri(target ${target})`);
    // Filtering and wrapping only matter when sampling, which the CPU delegate never does.
  }
  pixelStorei(pname: number, param: number): void {
    this.count('pixelStorei');
    // Only the defaults are supported (flipping or premultiplying would change the pixels).
    const ok = (pname === GL.UNPACK_ALIGNMENT || pname === GL.PACK_ALIGNMENT) ? param === 4 || param === 1
      : (pname === GL.UNPACK_FLIP_Y_WEBGL || pname === GL.UNPACK_PREMULTIPLY_ALPHA_WEBGL) ? !param : false;
    if (!ok) unsupported(`pixelStorei(${pname}, ${param})`);
  }
  private target(fn: string): SoftTexture {
    if (!this.boundTexture) return unsupported(`${fn} with no texture bound`);
    return this.boundTexture;
  }
  /**
   * Two WebGL forms are supported: `(target, level, internalformat, format, type, source)` with an
   * ImageData-like source (what tasks-vision passes), and `(target, level, internalformat, width,
   * height, border, format, type, pixels[, srcOffset])` with RGBA/UNSIGNED_BYTE bytes or null.
   */
  texImage2D(...args: unknown[]): void {
    this.count('texImage2D');
    const tex = this.target('texImage2D');
    if (args.length === 6) {
      const [target, level, ifmt, fmt, type, src] = args as [number, number, number, number, number, ImageDataLike];
      this.checkRgba('texImage2D', target, level, ifmt, fmt, type);
      if (!src || typeof src.width !== 'number' || typeof src.height !== 'number' || !src.data) {
        unsupported('texImage2D with this source', 'only {data: RGBA bytes, width, height} (ImageData-like) sources');
      }
      const n = src.width * src.height * 4;
      if (src.data.length !== n) unsupported('texImage2D', `source has ${src.data.length} bytes, expected ${src.width}x${src.height}x4 = ${n}`);
      tex.width = src.width;
      tex.height = src.height;
      // Copy: the caller may reuse its buffer for the next frame.
      const d = src.data;
      tex.pixels = ArrayBuffer.isView(d)
        ? new Uint8Array(d.buffer, d.byteOffset, n).slice()
        : Uint8Array.from(d as ArrayLike<number>);
      return;
    }
    if (args.length === 9 || args.length === 10) {
      const [target, level, ifmt, width, height, border, fmt, type, pixels, srcOffset] = args as [number, number, number, number, number, number, number, number, ArrayBufferView | null, number | undefined];
      this.checkRgba('texImage2D', target, level, ifmt, fmt, type);
      if (border !== 0) unsupported(`texImage2D(border ${border})`);
      const n = width * height * 4;
      tex.width = width;
      tex.height = height;
      if (pixels === null || pixels === undefined) { tex.pixels = new Uint8Array(n); return; }
      const bytes = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
      const start = srcOffset ?? 0;
      if (start + n > bytes.length) unsupported('texImage2D', `pixel source too short: needs ${n} bytes from offset ${start}`);
      tex.pixels = bytes.slice(start, start + n);
      return;
    }
    unsupported(`texImage2D with ${args.length} arguments`);
  }
  texSubImage2D(...args: unknown[]): void {
    this.count('texSubImage2D');
    const tex = this.target('texSubImage2D');
    if (args.length !== 9 && args.length !== 10) unsupported(`texSubImage2D with ${args.length} arguments`);
    const [target, level, x, y, width, height, fmt, type, pixels, srcOffset] = args as [number, number, number, number, number, number, number, number, ArrayBufferView, number | undefined];
    this.checkRgba('texSubImage2D', target, level, GL.RGBA, fmt, type);
    if (x < 0 || y < 0 || x + width > tex.width || y + height > tex.height) unsupported('texSubImage2D', 'region outside the texture');
    const bytes = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength).subarray(srcOffset ?? 0);
    for (let r = 0; r < height; r++) tex.pixels.set(bytes.subarray(r * width * 4, (r + 1) * width * 4), ((y + r) * tex.width + x) * 4);
  }
  private checkRgba(fn: string, target: number, level: number, ifmt: number, fmt: number, type: number): void {
    if (target !== GL.TEXTURE_2D) unsupported(`${fn}(target ${target})`);
    if (level !== 0) unsupported(`${fn}(level ${level})`, 'no mipmaps');
    if (ifmt !== GL.RGBA || fmt !== GL.RGBA || type !== GL.UNSIGNED_BYTE) unsupported(`${fn}(internalformat ${ifmt}, format ${fmt}, type ${type})`, 'only RGBA / UNSIGNED_BYTE');
  }

  // --- framebuffers ----------------------------------------------------------------------------
  createFramebuffer(): SoftFramebuffer { this.count('createFramebuffer'); return new SoftFramebuffer(); }
  deleteFramebuffer(fb: SoftFramebuffer | null): void { this.count('deleteFramebuffer'); if (fb) fb.deleted = true; }
  bindFramebuffer(target: number, fb: SoftFramebuffer | null): void {
    this.count('bindFramebuffer');
    if (target !== GL.FRAMEBUFFER && target !== GL.READ_FRAMEBUFFER && target !== GL.DRAW_FRAMEBUFFER) unsupported(`bindFramebuffer(target ${target})`);
    this.boundFramebuffer = fb;
  }
  framebufferTexture2D(target: number, attachment: number, textarget: number, tex: SoftTexture | null, level: number): void {
    this.count('framebufferTexture2D');
    if (!this.boundFramebuffer) unsupported('framebufferTexture2D on the default framebuffer');
    if (attachment !== GL.COLOR_ATTACHMENT0) unsupported(`framebufferTexture2D(attachment ${attachment})`, 'only COLOR_ATTACHMENT0');
    if (textarget !== GL.TEXTURE_2D || level !== 0) unsupported(`framebufferTexture2D(textarget ${textarget}, level ${level})`);
    void target;
    this.boundFramebuffer.color = tex;
  }
  checkFramebufferStatus(_target: number): number { this.count('checkFramebufferStatus'); return GL.FRAMEBUFFER_COMPLETE; }
  /** Copies the attached texture's pixels (rows from y, as uploaded) into `dst` at `dstOffset`. */
  readPixels(x: number, y: number, width: number, height: number, format: number, type: number, dst: ArrayBufferView, dstOffset = 0): void {
    this.count('readPixels');
    if (format !== GL.RGBA || type !== GL.UNSIGNED_BYTE) unsupported(`readPixels(format ${format}, type ${type})`, 'only RGBA / UNSIGNED_BYTE');
    const tex = this.boundFramebuffer?.color;
    if (!tex) return unsupported('readPixels from the default framebuffer', 'nothing is ever drawn with the CPU delegate');
    if (x < 0 || y < 0 || x + width > tex.width || y + height > tex.height) unsupported('readPixels', `region ${x},${y} ${width}x${height} outside the ${tex.width}x${tex.height} texture`);
    const out = new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength);
    const base = dstOffset * ((dst as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1);
    if (base + width * height * 4 > out.length) unsupported('readPixels', 'destination too small');
    if (x === 0 && width === tex.width) {
      out.set(tex.pixels.subarray(y * tex.width * 4, (y + height) * tex.width * 4), base);
    } else {
      for (let r = 0; r < height; r++) {
        const s = ((y + r) * tex.width + x) * 4;
        out.set(tex.pixels.subarray(s, s + width * 4), base + r * width * 4);
      }
    }
  }

  // --- synchronisation and no-ops --------------------------------------------------------------
  fenceSync(_condition: number, _flags: number): SoftSync { this.count('fenceSync'); return new SoftSync(); }
  deleteSync(_s: SoftSync | null): void { this.count('deleteSync'); }
  clientWaitSync(_s: SoftSync, _flags: number, _timeout: number): number { this.count('clientWaitSync'); return GL.ALREADY_SIGNALED; }
  flush(): void { this.count('flush'); }
  finish(): void { this.count('finish'); }
  viewport(_x: number, _y: number, _w: number, _h: number): void { this.count('viewport'); }
}

/** Property names that tooling reads on any object (inspection, promises, JSON); never GL calls. */
const PASS_THROUGH = new Set(['then', 'toJSON', 'constructor', 'inspect', 'nodeType', '$$typeof', 'asymmetricMatch']);

export type SoftWebGl2 = SoftGl2;

/**
 * A WebGL2-like context for `canvas`. Any property that the stand-in does not define — a WebGL
 * function or constant it does not implement — throws an EmolabError naming it, on first access.
 */
export function createSoftWebGl2(canvas: unknown): SoftWebGl2 {
  const gl = new SoftGl2(canvas);
  return new Proxy(gl, {
    get(target, key, receiver) {
      if (typeof key === 'symbol' || key in target || PASS_THROUGH.has(key)) return Reflect.get(target, key, receiver);
      return unsupported(`gl.${key}`);
    },
  });
}

/**
 * Minimal OffscreenCanvas: `getContext('webgl2')` returns the stand-in (one per canvas); every
 * other context kind ('webgl', '2d', 'webgpu') is refused with null, as a browser without it would.
 */
export class SoftOffscreenCanvas {
  width: number;
  height: number;
  private gl: SoftWebGl2 | undefined;
  /**
   * Emscripten wraps `getContext` to work around a Safari bug, and the wrapper needs the global
   * `WebGLRenderingContext` at every frame. Declaring the wrapper as already installed keeps that
   * global (and its side effects on other libraries) out of the process.
   */
  readonly getContextSafariWebGL2Fixed: (kind: string) => SoftWebGl2 | null;
  constructor(width = 1, height = 1) {
    this.width = width;
    this.height = height;
    this.getContextSafariWebGL2Fixed = (kind: string) => this.getContext(kind);
  }
  getContext(kind: string): SoftWebGl2 | null {
    if (kind !== 'webgl2') return null;
    this.gl ??= createSoftWebGl2(this);
    return this.gl;
  }
  /** The context created so far (for diagnostics). */
  get context(): SoftWebGl2 | undefined { return this.gl; }
}
