import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fetchModel, MODEL_SPECS, modelSpec, verifyModelFile, type ModelSpec } from '../../lib/fetch/models';

const root = join(import.meta.dirname, '..', '..');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function serve(body: Uint8Array, status = 200): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => { res.writeHead(status, { 'content-length': body.length }); res.end(body); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/model.bin`, server };
}

test('registry: the face landmarker spec is the official file', () => {
  const s = modelSpec('face-landmarker');
  assert.equal(s.sha256, '64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff');
  assert.match(s.url, /^https:\/\/storage\.googleapis\.com\/mediapipe-models\/face_landmarker\//);
  assert.throws(() => modelSpec('nope'), /unknown model "nope"[\s\S]*known models: face-landmarker/);
  assert.equal(MODEL_SPECS['face-landmarker'], s);
});

test('fetch: verified download lands atomically; wrong bytes and HTTP errors leave nothing', async () => {
  const body = new Uint8Array(100_000).map((_, i) => (i * 31) & 255);
  const { url, server } = await serve(body);
  const dir = mkdtempSync(join(tmpdir(), 'emolab-models-'));
  try {
    const spec: ModelSpec = { name: 't', description: 't', url, sha256: sha(body), file: 'm.bin', bytes: body.length };
    const r = await fetchModel(spec, { dir });
    assert.equal(r.status, 'downloaded');
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'm.bin'))), body);
    assert.equal((await fetchModel(spec, { dir })).status, 'present');
    const wrong: ModelSpec = { ...spec, file: 'w.bin', sha256: '0'.repeat(64) };
    await assert.rejects(fetchModel(wrong, { dir }), /downloaded model "t" \(100000 bytes\) has sha256 [0-9a-f]{64}, expected 0{64}/);
    assert.equal(existsSync(join(dir, 'w.bin')), false);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.part')), [], 'no partial file left');
    // A corrupt file in place is refused (size, then hash).
    writeFileSync(join(dir, 'm.bin'), body.subarray(1));
    assert.throws(() => verifyModelFile(spec, join(dir, 'm.bin')), /has 99999 bytes, expected 100000/);
  } finally {
    server.close();
  }
  const { url: url404, server: s404 } = await serve(new Uint8Array(3), 404);
  try {
    await assert.rejects(fetchModel({ name: 'x', description: '', url: url404, sha256: '1'.repeat(64), file: 'x.bin' }, { dir }), /HTTP 404/);
  } finally {
    s404.close();
  }
});

test('offline: fetch fails quickly and cleanly into a temp dir (connection refused)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-models-'));
  // A port nobody listens on (bound, then released): the same fast failure as no network.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  const spec: ModelSpec = { ...MODEL_SPECS['face-landmarker'], url: `http://127.0.0.1:${port}/face_landmarker.task` };
  await assert.rejects(fetchModel(spec, { dir }), (e: Error) => {
    assert.match(e.message, /emolab models .*could not download model "face-landmarker" from http:\/\/127\.0\.0\.1:\d+\/face_landmarker\.task: ECONNREFUSED/);
    assert.match(e.message, /place it at .*face_landmarker\.task \(sha256 64184e22/);
    return true;
  });
  assert.deepEqual(readdirSync(dir), []);
});

test('CLI: emolab models verify / fetch against a corrupt file in a temp EMOLAB_MODELS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-models-'));
  writeFileSync(join(dir, 'face_landmarker.task'), 'garbage');
  const r = spawnSync(join(root, 'bin', 'emolab'), ['models', 'verify', 'face-landmarker'], { encoding: 'utf8', env: { ...process.env, EMOLAB_MODELS: dir } });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAILED {2}face-landmarker: .*has 7 bytes, expected 3758596/);
  const f = spawnSync(join(root, 'bin', 'emolab'), ['models', 'fetch', 'face-landmarker'], { encoding: 'utf8', env: { ...process.env, EMOLAB_MODELS: dir } });
  assert.equal(f.status, 1);
  assert.match(f.stderr, /damaged or a different version: delete it and run npx emolab models fetch face-landmarker/);
});
