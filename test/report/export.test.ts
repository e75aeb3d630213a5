import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { showFigure } from '../../lib/show/figures';
import { chromiumPath, closeFigureExporter, exportWanted, resetFigureExporter } from '../../lib/show/export';

const dir = mkdtempSync(join(tmpdir(), 'emolab-fig-'));
const fig = { data: [{ type: 'bar', x: ['anger', 'sadness'], y: [3, 5] }], layout: { width: 400, height: 300 } };
after(async () => { await closeFigureExporter(); rmSync(dir, { recursive: true, force: true }); });

test('export is off by default under node --test, on when EMOLAB_FIGURE_EXPORT=1', () => {
  assert.equal(exportWanted({ NODE_TEST_CONTEXT: 'child' }), false);
  assert.equal(exportWanted({ NODE_TEST_CONTEXT: 'child', EMOLAB_FIGURE_EXPORT: '1' }), true);
  assert.equal(exportWanted({ EMOLAB_FIGURE_EXPORT: '0' }), false);
  assert.equal(exportWanted({}), true);
});

test('without Chromium the HTML is still written and PNG/SVG are skipped with the reason', () => {
  const saved = { p: process.env.CHROMIUM_PATH, e: process.env.EMOLAB_FIGURE_EXPORT };
  process.env.CHROMIUM_PATH = join(dir, 'no-such-chromium');
  process.env.EMOLAB_FIGURE_EXPORT = '1';
  try {
    const r = showFigure(fig, 'absent', 'no browser', { dir });
    assert.ok(existsSync(r.html));
    assert.equal(r.png, undefined);
    assert.match(r.exportSkipped ?? '', /Chromium not found at .*no-such-chromium/);
    assert.ok(!existsSync(join(dir, 'absent.png')));
  } finally {
    if (saved.p === undefined) delete process.env.CHROMIUM_PATH; else process.env.CHROMIUM_PATH = saved.p;
    if (saved.e === undefined) delete process.env.EMOLAB_FIGURE_EXPORT; else process.env.EMOLAB_FIGURE_EXPORT = saved.e;
    resetFigureExporter();
  }
});

test('with Chromium, one browser writes PNG and SVG for several figures', { skip: !existsSync(chromiumPath()) && 'no Chromium here' }, () => {
  process.env.EMOLAB_FIGURE_EXPORT = '1';
  try {
    const a = showFigure(fig, 'first', 'first', { dir });
    const b = showFigure({ ...fig, data: [{ type: 'scatter', x: [1, 2, 3], y: [2, 1, 3] }] }, 'second', 'second', { dir });
    for (const r of [a, b]) {
      assert.equal(r.exportSkipped, undefined);
      const png = readFileSync(r.png!);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      // 400 x 300 at scale 2 -> IHDR width 800, height 600
      assert.equal(png.readUInt32BE(16), 800);
      assert.equal(png.readUInt32BE(20), 600);
      assert.match(readFileSync(r.svg!, 'utf8'), /^<svg[^>]*width="400"/);
    }
    assert.match(readFileSync(b.svg!, 'utf8'), /second/);
  } finally {
    delete process.env.EMOLAB_FIGURE_EXPORT;
  }
});
