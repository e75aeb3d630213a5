import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmolabError } from '../../lib/errors';
import { run } from '../../lib/data/cli';
import { loadManifestCsv } from '../../lib/data';
import { SHARED } from './shared';

async function capture(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try {
    const code = await run(argv);
    return { code, out: lines.join('\n') };
  } finally {
    console.log = orig;
  }
}

test('emolab data manifest emodb --out writes a loadable CSV', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'cli-')), 'emodb.csv');
  const r = await capture(['manifest', 'emodb', '--root', join(SHARED, 'emodb'), '--out', out]);
  assert.equal(r.code, 0);
  assert.match(r.out, /535 clips, 10 speakers/);
  assert.match(r.out, /anger 127, boredom 81, neutral 79, happiness 71, fear 69, sadness 62, disgust 46/);
  assert.equal(loadManifestCsv(out).clips.length, 535);
});

test('emolab data splits crema-d --partition 1 and emodb folds; --out JSON', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'cli-')), 'splits.json');
  const r = await capture(['splits', 'crema-d', '--root', join(SHARED, 'crema-d'), '--partition', '1', '--out', out]);
  assert.match(r.out, /crema-d-partition-1: train 4043 clips \/ 63 speakers, dev 878 \/ 14 .*test 899 \/ 14/);
  assert.equal(JSON.parse(readFileSync(out, 'utf8'))[0].test.length, 899);
  const e = await capture(['splits', 'emodb', '--root', join(SHARED, 'emodb')]);
  assert.equal(e.out.split('\n').length, 5);
});

test('emolab data: unknown corpus and bad fetch target are clear errors', async () => {
  await assert.rejects(run(['manifest', 'iemocap']), (e: unknown) => e instanceof EmolabError && /unknown corpus "iemocap"/.test(e.message));
  await assert.rejects(run(['fetch', 'ravdess']), (e: unknown) => e instanceof EmolabError && /emodb or crema-d/.test(e.message));
  await assert.rejects(run(['manifest', 'emodb', '--bogus']), (e: unknown) => e instanceof EmolabError && /unknown option --bogus/.test(e.message));
});
