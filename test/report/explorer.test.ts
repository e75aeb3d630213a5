/**
 * The results explorer (`emolab report --html`): built from the committed reference records
 * (results/reference) and opened in headless Chromium (playwright-core; CHROMIUM_PATH or
 * /usr/bin/chromium). Checks that it renders with no console errors, that a filter changes the
 * shown numbers, and that the shown numbers are lib/eval's on the same records (seed-ensembled,
 * folds pooled), before and after filtering. Also the page builder on hand-made records.
 *
 * EMOLAB_EXPLORER_SCREENSHOT=<file.png> keeps a full-page screenshot for a look by eye.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumPath, CHROMIUM_FLAGS } from '../../lib/show/export';
import { explorerData, explorerHtml, markdownToHtml, writeExplorer, type HfleaFoldRecord } from '../../lib/report/explorer';
import { referenceRoot } from '../../lib/report/reference';
import { buildSerReports, evaluatedFromResult } from '../../lib/report/ser';
import { listFoldResults } from '../../lib/finetune/results';
import { ensembleSeeds } from '../../lib/eval/ensemble';
import { classificationMetrics, METRIC_NAMES, type MetricName } from '../../lib/eval/metrics';
import { repoRoot } from '../../lib/paths';

const dir = mkdtempSync(join(tmpdir(), 'emolab-explorer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const chromium = chromiumPath();
const noChromium = !existsSync(chromium) && `Chromium not found at ${chromium} (set CHROMIUM_PATH or apt-get install chromium): the results-page browser test is skipped`;
const noReference = !existsSync(join(referenceRoot(), 'ser')) && 'no reference records in results/reference/ser';

/** lib/eval's pooled metrics of the seed-ensembled predictions of the records passing `keep`. */
function expected(keep: (r: { arm: string; seed: number; fold: string }) => boolean): Map<string, Record<MetricName, number>> {
  const recs = listFoldResults({ root: referenceRoot() }).filter(keep).map(evaluatedFromResult);
  const out = new Map<string, Record<MetricName, number>>();
  for (const arm of new Set(recs.map((r) => r.arm))) {
    const e = ensembleSeeds(recs.filter((r) => r.arm === arm));
    const m = classificationMetrics(e.truth, e.pred, e.classes.length);
    out.set(arm, Object.fromEntries(METRIC_NAMES.map((k) => [k, m[k]])) as Record<MetricName, number>);
  }
  return out;
}

test('markdown tables and headings become HTML', () => {
  const h = markdownToHtml('# T\n\n| a | b |\n|---|---|\n| **1** | 2 |\n\ntext');
  assert.match(h, /<h3>T<\/h3>/);
  assert.match(h, /<table class="md"><thead><tr><th>a<\/th><th>b<\/th><\/tr><\/thead><tbody><tr><td><b>1<\/b><\/td><td>2<\/td><\/tr><\/tbody><\/table>/);
  assert.match(h, /<p>text<\/p>/);
});

test('the page data holds every reference model, HFLEA records, and no machine path', { skip: noReference }, () => {
  const root = join(dir, 'runs');
  // a hand-made HFLEA record beside copies of nothing else: its group, arms and labels
  const rec: HfleaFoldRecord = {
    schema: 'emolab.hflea-fold.v1', experiment: 'hflea-emodb-cpu', corpus: 'emodb', profile: 'cpu', fold: 'fold1-test-08+03', seed: 0,
    classes: ['anger', 'sadness'], ids: ['03a01Wa', '08a01Ta', '03a02Wb', '08a02Tc'], speakers: ['03', '08', '03', '08'], truth: [0, 1, 0, 1],
    arms: { ft: { label: 'TAPT + FT', pred: [0, 0, 0, 1] }, hflea: { label: 'HFLEA', pred: [0, 1, 0, 1] } }, baseline: 'ft',
  };
  mkdirSync(join(root, 'hflea', rec.experiment), { recursive: true });
  writeFileSync(join(root, 'hflea', rec.experiment, `${rec.fold}.json`), JSON.stringify(rec));
  const d = explorerData(root);
  assert.equal(d.groups.length, 1);
  assert.deepEqual(d.groups[0], { key: 'hflea|hflea-emodb-cpu', source: 'hflea', experiment: 'hflea-emodb-cpu', corpus: 'emodb', mode: 'hflea', classes: ['anger', 'sadness'], baseline: 'ft', armLabels: { ft: 'TAPT + FT', hflea: 'HFLEA' }, armOrder: ['ft', 'hflea'] });
  assert.deepEqual(d.models.map((m) => m.pred), [[0, 0, 0, 1], [0, 1, 0, 1]]);
  const ref = explorerData(referenceRoot());
  assert.equal(ref.models.length, listFoldResults({ root: referenceRoot() }).length);
  assert.ok(ref.pretext.length > 0 && ref.pretext.every((p) => p.majorityRate > 0 && p.majorityRate <= 1));
  const html = explorerHtml(ref);
  assert.doesNotMatch(html, /\/work\/|\/tmp\/|\/home\//);
  const plotly = readFileSync(createRequire(join(repoRoot, 'package.json')).resolve('plotly.js-dist-min/plotly.min.js'), 'utf8');
  assert.ok(html.includes(plotly.slice(0, 2000)), 'plotly is inlined');
  const shell = html.replace(plotly, '');
  assert.doesNotMatch(shell, /<script[^>]+src=|<link[^>]+href=|https?:\/\//i, 'no external resources besides plotly\'s own (unused) defaults');
});

test('the results page renders in Chromium, filters change the numbers, and the numbers match the records', { skip: noChromium || noReference, timeout: 180_000 }, async () => {
  const file = join(dir, 'explorer.html');
  const { data } = writeExplorer(referenceRoot(), file);
  const req = createRequire(join(repoRoot, 'package.json'));
  const { chromium: pw } = req('playwright-core') as typeof import('playwright-core');
  const browser = await pw.launch({ executablePath: chromium, args: [...CHROMIUM_FLAGS], headless: true, timeout: 60_000 });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-rendered="1"]', { timeout: 60_000 });
    assert.deepEqual(errors, [], 'no console errors');
    assert.deepEqual(requests, [], 'no network requests');
    assert.ok(await page.locator('#gain .main-svg').count() > 0, 'the gain plot is drawn');
    assert.ok(await page.locator('#confusion .main-svg').count() > 0, 'the confusion matrix is drawn');
    assert.match(await page.locator('#confusion').innerText(), /predicted class/);

    const serGroup = data.groups.findIndex((g) => g.source === 'ser');
    assert.ok(serGroup >= 0);
    const shown = async (): Promise<Map<string, Record<string, string>>> => {
      const cells = await page.locator(`table.live[data-group="${serGroup}"] td[data-metric]`).evaluateAll((els) => els.map((e) => [e.getAttribute('data-arm'), e.getAttribute('data-metric'), e.textContent]));
      const m = new Map<string, Record<string, string>>();
      for (const [arm, metric, text] of cells as [string, string, string][]) m.set(arm, { ...(m.get(arm) ?? {}), [metric]: text });
      return m;
    };
    const check = (got: Map<string, Record<string, string>>, want: Map<string, Record<MetricName, number>>): void => {
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [arm, w] of want) for (const k of METRIC_NAMES) assert.equal(got.get(arm)![k], (100 * w[k]).toFixed(1), `${arm} ${k}`);
    };
    const all = await shown();
    check(all, expected(() => true));
    // with every model selected, the page's numbers are the committed table's pooled column
    const rep = buildSerReports({ root: referenceRoot(), write: false, figures: false, bootstrap: 50, permutations: 50 })[0];
    for (const row of rep.rows) assert.equal(all.get(row.arm)!.f1, (100 * row.pooled.f1).toFixed(1), `table ${row.arm}`);

    // filter: seed 1 only, and drop fold 5
    const seeds = [...new Set(data.models.map((m) => m.seed))].filter((s) => s !== 1);
    assert.ok(seeds.length > 0, 'the reference has more than one seed');
    for (const s of seeds) await page.locator(`#f-seed-${s}`).uncheck();
    const fold5 = data.models.map((m) => m.fold).find((f) => f.startsWith('fold5'))!;
    await page.locator(`#f-fold-${fold5.replace(/[^A-Za-z0-9_-]/g, '_')}`).uncheck();
    await page.waitForSelector(`body[data-rendered="${seeds.length + 2}"]`);
    const filtered = await shown();
    check(filtered, expected((r) => r.seed === 1 && r.fold !== fold5));
    assert.ok([...filtered].some(([arm, v]) => v.f1 !== all.get(arm)!.f1), 'the filter changed the F1 shown');
    assert.equal(await page.locator(`table.live[data-group="${serGroup}"] tr[data-arm="baseline"] td[data-field="models"]`).textContent(), '4');
    // the pretext table follows the arm filter
    const before = await page.locator('#pretext-rows tbody tr').count();
    await page.locator('#f-arm-energy').uncheck();
    assert.ok(await page.locator('#pretext-rows tbody tr').count() < before);
    assert.equal(await page.locator('tr[data-arm="energy"]').count(), 0);
    assert.deepEqual(errors, [], 'no console errors after filtering');
    const shot = process.env.EMOLAB_EXPLORER_SCREENSHOT;
    if (shot) {
      await page.locator('#f-arm-energy').check();
      for (const s of seeds) await page.locator(`#f-seed-${s}`).check();
      await page.screenshot({ path: shot, fullPage: true });
    }
  } finally {
    await browser.close();
  }
  assert.ok(readFileSync(file, 'utf8').length > 1_000_000, 'plotly is inlined');
});
