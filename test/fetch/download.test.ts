/**
 * lib/fetch/download, the one downloader (datasets, face model, HuBERT), against a local HTTP server:
 * a connection cut midway leaves a .part that the next call resumes with a Range request; a server that
 * ignores Range rewrites it; size and sha256 are checked before the file appears (a mismatch leaves
 * nothing); a stalled server times out; offline, the error names what, the URL and what to do, and
 * nothing is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmolabError } from '../../lib/errors';
import { downloadResumable } from '../../lib/fetch/download';
import { sha256Hex } from '../../lib/hash';

const body = Buffer.from(Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7919) & 255));

/** Serves `body`; `cut` responses are cut after 50,000 bytes; `ignoreRange` answers 200 always; `stall` never sends the body. */
async function serve(o: { cut?: number; ignoreRange?: boolean; stall?: boolean; status?: number } = {}): Promise<{ url: string; server: Server; ranges: string[] }> {
  const ranges: string[] = [];
  let cuts = o.cut ?? 0;
  const server = createServer((req, res) => {
    if (o.status) { res.writeHead(o.status); res.end(); return; }
    const range = o.ignoreRange ? undefined : req.headers.range;
    ranges.push(req.headers.range ?? '');
    const start = range ? Number(/bytes=(\d+)-/.exec(range)![1]) : 0;
    const slice = body.subarray(start);
    res.writeHead(range ? 206 : 200, { 'content-length': String(slice.length) });
    if (o.stall) { res.flushHeaders(); return; }
    if (cuts-- > 0) { res.write(slice.subarray(0, 50_000), () => res.destroy()); return; }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/file.bin`, server, ranges };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'emolab-dl-'));

test('download: a cut connection keeps its .part; the next call resumes with Range and checks sha256', async () => {
  const { url, server, ranges } = await serve({ cut: 1 });
  const file = join(tmp(), 'sub', 'file.bin');
  try {
    await assert.rejects(downloadResumable(url, file, { quiet: true, sha256: sha256Hex(body), what: 'the test file' }), (e: unknown) => e instanceof EmolabError && /could not download the test file from http:\/\/127\.0\.0\.1:\d+\/file\.bin: .*after 50000 bytes \(run again to resume\)/.test(e.message));
    assert.equal(statSync(`${file}.part`).size, 50_000);
    assert.ok(!existsSync(file));
    const r = await downloadResumable(url, file, { quiet: true, sha256: sha256Hex(body), bytes: body.length });
    assert.deepEqual(r, { file, bytes: body.length, resumedFrom: 50_000 });
    assert.deepEqual(ranges, ['', 'bytes=50000-']);
    assert.ok(readFileSync(file).equals(body));
    assert.ok(!existsSync(`${file}.part`));
    // present: taken as complete, nothing requested
    assert.equal((await downloadResumable(url, file, { quiet: true })).resumedFrom, body.length);
    assert.equal(ranges.length, 2);
  } finally {
    server.close();
  }
});

test('download: a server that ignores Range rewrites the part; a wrong sha256 or size leaves nothing', async () => {
  const { url, server } = await serve({ ignoreRange: true });
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'a.bin.part'), Buffer.alloc(1234, 9));
    const r = await downloadResumable(url, join(dir, 'a.bin'), { quiet: true, sha256: sha256Hex(body) });
    assert.equal(r.resumedFrom, 0);
    assert.ok(readFileSync(join(dir, 'a.bin')).equals(body));
    await assert.rejects(downloadResumable(url, join(dir, 'b.bin'), { quiet: true, sha256: '0'.repeat(64), what: 'model "t"', stage: 'models' }), (e: unknown) => e instanceof EmolabError && e.stage === 'models' && /downloaded model "t" \(200000 bytes\) has sha256 [0-9a-f]{64}, expected 0{64}/.test(e.message));
    await assert.rejects(downloadResumable(url, join(dir, 'c.bin'), { quiet: true, bytes: 5 }), /has 200000 bytes, expected 5/);
    assert.deepEqual(readdirSync(dir), ['a.bin']);
  } finally {
    server.close();
  }
});

test('download: HTTP errors, a stalled server and no network are clear errors that name the URL; nothing is written', async () => {
  const dir = tmp();
  const e404 = await serve({ status: 404 });
  try {
    await assert.rejects(downloadResumable(e404.url, join(dir, 'x.bin'), { quiet: true }), /could not download x\.bin from http:\/\/127\.0\.0\.1:\d+\/file\.bin: HTTP 404/);
  } finally { e404.server.close(); }
  const stalled = await serve({ stall: true });
  const t0 = Date.now();
  try {
    await assert.rejects(downloadResumable(stalled.url, join(dir, 'y.bin'), { quiet: true, idleTimeoutMs: 500 }), /no data for 500 ms/);
    assert.ok(Date.now() - t0 < 4000, `took ${Date.now() - t0} ms`);
  } finally { stalled.server.closeAllConnections(); stalled.server.close(); }
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  await assert.rejects(downloadResumable(`http://127.0.0.1:${port}/z.bin`, join(dir, 'z.bin'), { quiet: true }), (e: unknown) => {
    assert.ok(e instanceof EmolabError);
    assert.match(e.message, new RegExp(`could not download z\\.bin from http://127\\.0\\.0\\.1:${port}/z\\.bin: ECONNREFUSED`));
    assert.match(e.message, /hint: run the command again .*or download .* by other means and place it at .*z\.bin/);
    return true;
  });
  assert.deepEqual(readdirSync(dir), []);
});
