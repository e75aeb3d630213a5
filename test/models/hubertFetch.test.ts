/**
 * lib/models/hubertFetch through the shared downloader (lib/fetch/download), against a local server
 * serving the hubert_tiny fixture as the two files of hubert-base-ls960: a download cut midway fails
 * naming the URL and resumes with a Range request on the next call; the pair is validated by structure
 * before it is renamed into place; a pair that does not fit is refused and nothing is kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmolabError } from '../../lib/errors';
import { fetchHubertBase } from '../../lib/models/hubertFetch';
import { fixturesRoot } from '../../lib/paths';

const fx = join(fixturesRoot(), 'hubert_tiny');

/** Serves config.json and model.safetensors (Range-aware); the first weights response is cut after 1000 bytes. */
async function serve(files: Record<string, Buffer>, cutFirst: boolean): Promise<{ base: string; server: Server; ranges: string[] }> {
  const ranges: string[] = [];
  let cut = cutFirst;
  const server = createServer((req, res) => {
    const body = files[(req.url ?? '').split('/').pop()!];
    if (!body) { res.writeHead(404); res.end(); return; }
    ranges.push(`${req.url} ${req.headers.range ?? ''}`);
    const start = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0;
    const slice = body.subarray(start);
    res.writeHead(req.headers.range ? 206 : 200, { 'content-length': String(slice.length) });
    if (cut && req.url!.endsWith('model.safetensors')) { cut = false; res.write(slice.subarray(0, 1000), () => res.destroy()); return; }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as { port: number }).port}/hubert/`, server, ranges };
}

async function withModels<T>(f: (models: string) => Promise<T>): Promise<T> {
  const models = mkdtempSync(join(tmpdir(), 'emolab-hubert-fetch-'));
  const saved = process.env.EMOLAB_MODELS;
  process.env.EMOLAB_MODELS = models;
  try { return await f(models); } finally { if (saved === undefined) delete process.env.EMOLAB_MODELS; else process.env.EMOLAB_MODELS = saved; }
}

test('HuBERT fetch: a cut download names the URL, the next call resumes it; the pair is validated before it appears', { skip: !existsSync(join(fx, 'model.safetensors')) && 'no hubert_tiny fixture' }, async () => {
  const config = readFileSync(join(fx, 'config.json')), weights = readFileSync(join(fx, 'model.safetensors'));
  const { base, server, ranges } = await serve({ 'config.json': config, 'model.safetensors': weights }, true);
  try {
    await withModels(async (models) => {
      const dir = join(models, 'hubert-base-ls960');
      await assert.rejects(fetchHubertBase({ baseUrl: base, log: () => {} }), (e: unknown) => e instanceof EmolabError && e.stage === 'models'
        && e.message.includes(`could not download HuBERT Base model.safetensors from ${base}model.safetensors`) && /run again to resume/.test(e.message));
      assert.ok(!existsSync(join(dir, 'model.safetensors')) && !existsSync(join(dir, 'config.json')), 'nothing in place before both files are checked');
      assert.deepEqual(await fetchHubertBase({ baseUrl: base, log: () => {} }), { dir, status: 'downloaded' });
      assert.ok(ranges.includes('/hubert/model.safetensors bytes=1000-'), ranges.join(' | '));
      assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(weights));
      assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors']);
      assert.deepEqual(await fetchHubertBase({ baseUrl: base, log: () => {} }), { dir, status: 'present' });
    });
  } finally { server.close(); }
  // weights that do not fit the config: refused, nothing kept (no half-valid pair for a later resume)
  const wrongConfig = Buffer.from(JSON.stringify({ ...JSON.parse(config.toString('utf8')), hidden_size: 32 }));
  const bad = await serve({ 'config.json': wrongConfig, 'model.safetensors': weights }, false);
  try {
    await withModels(async (models) => {
      await assert.rejects(fetchHubertBase({ baseUrl: bad.base, log: () => {} }), (e: unknown) => e instanceof EmolabError && /shape/.test(e.message));
      assert.deepEqual(readdirSync(join(models, 'hubert-base-ls960')), []);
    });
  } finally { bad.server.close(); }
});
