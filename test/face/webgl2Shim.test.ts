import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSoftWebGl2, GL, SoftOffscreenCanvas, glStandInViolations } from '../../lib/face/webgl2Shim';
import { EmolabError } from '../../lib/errors';

test('texture upload, framebuffer attach and readPixels round-trip the bytes', () => {
  const gl = createSoftWebGl2(null);
  const tex = gl.createTexture();
  gl.bindTexture(GL.TEXTURE_2D, tex);
  const w = 3, h = 2;
  const src = new Uint8ClampedArray(w * h * 4).map((_, i) => i * 7);
  gl.texImage2D(GL.TEXTURE_2D, 0, GL.RGBA, GL.RGBA, GL.UNSIGNED_BYTE, { data: src, width: w, height: h });
  src[0] = 99; // the stand-in keeps its own copy
  const fb = gl.createFramebuffer();
  gl.bindFramebuffer(GL.FRAMEBUFFER, fb);
  gl.framebufferTexture2D(GL.FRAMEBUFFER, GL.COLOR_ATTACHMENT0, GL.TEXTURE_2D, tex, 0);
  // Into a "heap" at an offset, as emscripten does.
  const heap = new Uint8Array(100);
  gl.readPixels(0, 0, w, h, GL.RGBA, GL.UNSIGNED_BYTE, heap, 10);
  assert.deepEqual([...heap.subarray(10, 10 + w * h * 4)], [...new Uint8Array(w * h * 4).map((_, i) => i * 7)]);
  assert.equal(heap[9], 0);
  assert.equal(heap[10 + w * h * 4], 0);
  // A sub-rectangle: row 1, columns 1..2.
  const sub = new Uint8Array(8);
  gl.readPixels(1, 1, 2, 1, GL.RGBA, GL.UNSIGNED_BYTE, sub);
  assert.deepEqual([...sub], [...new Uint8Array(8).map((_, i) => ((1 * w + 1) * 4 + i) * 7)]);
  // The 9/10-argument form with a heap offset.
  gl.texImage2D(GL.TEXTURE_2D, 0, GL.RGBA, 1, 1, 0, GL.RGBA, GL.UNSIGNED_BYTE, new Uint8Array([0, 0, 1, 2, 3, 4]), 2);
  const px = new Uint8Array(4);
  gl.readPixels(0, 0, 1, 1, GL.RGBA, GL.UNSIGNED_BYTE, px);
  assert.deepEqual([...px], [1, 2, 3, 4]);
});

test('anything not implemented throws, naming the GL function, and is logged', () => {
  const gl = createSoftWebGl2(null) as unknown as Record<string, unknown>;
  const before = glStandInViolations().length;
  assert.throws(() => gl.drawArrays, (e: unknown) => e instanceof EmolabError && /WebGL stand-in: gl\.drawArrays is not implemented/.test(e.message));
  assert.throws(() => gl.SAMPLER_2D, /gl\.SAMPLER_2D is not implemented/);
  const real = createSoftWebGl2(null);
  assert.throws(() => real.getParameter(0x8b4c), /getParameter\(35660\)/);
  assert.throws(() => real.pixelStorei(GL.UNPACK_FLIP_Y_WEBGL, 1), /pixelStorei/);
  real.bindTexture(GL.TEXTURE_2D, real.createTexture());
  assert.throws(() => real.texImage2D(GL.TEXTURE_2D, 0, GL.RGBA, GL.RGBA, 5126, { data: new Uint8ClampedArray(4), width: 1, height: 1 }), /only RGBA \/ UNSIGNED_BYTE/);
  assert.throws(() => real.readPixels(0, 0, 1, 1, GL.RGBA, GL.UNSIGNED_BYTE, new Uint8Array(4)), /default framebuffer/);
  assert.equal(glStandInViolations().length - before, 6);
  // Emscripten's own bookkeeping fields read as unset, not as errors.
  assert.equal(real.currentPixelPackBufferBinding, 0);
});

test('OffscreenCanvas hands out one webgl2 stand-in and refuses other context kinds', () => {
  const c = new SoftOffscreenCanvas(4, 4);
  assert.equal(c.getContext('webgl2'), c.getContext('webgl2'));
  assert.equal(c.getContext('webgl'), null);
  assert.equal(c.getContext('2d'), null);
});
