import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { EmolabError } from '../../lib/errors';
import { emodbChecksums, verifyEmodb, fetchEmodb, fetchCremad, downloadResumable, listZip, readZipEntry, type ChecksumList } from '../../lib/data';
import { SHARED } from './shared';

const WAVDIR = join(SHARED, 'emodb/wav');
const NAMES = ['03a01Fa.wav', '08b01Fd.wav', '16b10Wb.wav'];

/** A store-only ZIP (hand-written for the test) of name -> bytes. */
function makeZip(files: [string, Buffer][]): Buffer {
  const locals: Buffer[] = [], centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const n = Buffer.from(name);
    const crc = crc32(data) >>> 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt32LE(crc, 14); lh.writeUInt32LE(data.length, 18); lh.writeUInt32LE(data.length, 22); lh.writeUInt16LE(n.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt32LE(crc, 16); ch.writeUInt32LE(data.length, 20); ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(n.length, 28); ch.writeUInt32LE(offset, 42);
    locals.push(lh, n, data); centrals.push(ch, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.length, 8); end.writeUInt16LE(files.length, 10); end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** Serves `body` with Range support; the first `cutFirst` responses are cut after `cutAt` bytes. */
async function serve(body: Buffer, cutFirst = 0, cutAt = 0): Promise<{ url: string; server: Server; ranges: string[] }> {
  const ranges: string[] = [];
  let served = 0;
  const server = createServer((req, res) => {
    const range = req.headers.range;
    ranges.push(range ?? '');
    let start = 0;
    if (range) start = Number(/bytes=(\d+)-/.exec(range)![1]);
    const slice = body.subarray(start);
    res.writeHead(range ? 206 : 200, { 'content-length': String(slice.length), ...(range ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
    if (served++ < cutFirst) { res.write(slice.subarray(0, cutAt), () => res.destroy()); return; }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/download.zip`, server, ranges };
}

function subsetList(names: string[]): ChecksumList {
  const all = emodbChecksums();
  return { source: 'test', files: Object.fromEntries(names.map((n) => [`wav/${n}`, all.files[`wav/${n}`]])) };
}

test('the shipped EmoDB checksum list covers 535 WAVs and matches the reference copy', () => {
  const list = emodbChecksums();
  assert.equal(Object.keys(list.files).filter((p) => p.startsWith('wav/')).length, 535);
  const v = verifyEmodb(join(SHARED, 'emodb'), list, { quiet: true });
  assert.deepEqual([v.ok, v.missing, v.mismatched, v.warnings], [537, [], [], []]);
});

test('EmoDB fetch offline: fails fast and says where to put the files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fetch-offline-'));
  await assert.rejects(fetchEmodb({ dataDir: dir, url: 'http://127.0.0.1:9/download.zip', idleTimeoutMs: 3000, quiet: true, log: () => {} }), (e: unknown) => {
    assert.ok(e instanceof EmolabError);
    assert.match(e.message, /could not download EmoDB from http:\/\/127\.0\.0\.1:9\/download\.zip/);
    assert.ok(e.message.includes(join(dir, 'emodb', 'wav', '03a01Fa.wav')), e.message);
    assert.ok(e.message.includes(join(dir, 'emodb-download.zip')), e.message);
    return true;
  });
});

test('EmoDB fetch: interrupted download resumes with a Range request, unpacks, verifies SHA-256', async () => {
  const zip = makeZip([['EmoDB/wav/', Buffer.alloc(0)], ...NAMES.map((n): [string, Buffer] => [`EmoDB/wav/${n}`, readFileSync(join(WAVDIR, n))]), ['EmoDB/erklaerung.txt', Buffer.from('x')]]);
  const { url, server, ranges } = await serve(zip, 1, 20000);
  try {
    const dir = mkdtempSync(join(tmpdir(), 'fetch-'));
    const opts = { dataDir: dir, url, expected: subsetList(NAMES), quiet: true, log: () => {}, idleTimeoutMs: 5000 };
    await assert.rejects(fetchEmodb(opts), (e: unknown) => e instanceof EmolabError && /could not download/.test(e.message));
    assert.equal(statSync(join(dir, 'emodb-download.zip.part')).size, 20000);
    const r = await fetchEmodb(opts);
    assert.deepEqual(ranges, ['', 'bytes=20000-']);
    assert.equal(r.files, NAMES.length);
    assert.equal(r.verified, NAMES.length);
    for (const n of NAMES) assert.deepEqual(readFileSync(join(dir, 'emodb', 'wav', n)), readFileSync(join(WAVDIR, n)));
    assert.ok(existsSync(join(dir, 'emodb', 'erklaerung.txt')));
    const again = await fetchEmodb(opts);
    assert.equal(again.alreadyPresent, true);
    assert.equal(ranges.length, 2, 'a verified copy is not downloaded again');
  } finally {
    server.close();
  }
});

test('EmoDB fetch: a WAV with the wrong SHA-256 fails verification and nothing is moved into place', async () => {
  const bad = Buffer.from(readFileSync(join(WAVDIR, NAMES[0])));
  bad[1000] ^= 0xff;
  const zip = makeZip([[`wav/${NAMES[0]}`, bad], ...NAMES.slice(1).map((n): [string, Buffer] => [`wav/${n}`, readFileSync(join(WAVDIR, n))])]);
  const { url, server } = await serve(zip);
  try {
    const dir = mkdtempSync(join(tmpdir(), 'fetch-bad-'));
    await assert.rejects(fetchEmodb({ dataDir: dir, url, expected: subsetList(NAMES), quiet: true, log: () => {} }), (e: unknown) =>
      e instanceof EmolabError && e.message.includes(`1 with a wrong SHA-256 [wav/${NAMES[0]}]`));
    assert.ok(!existsSync(join(dir, 'emodb')));
  } finally {
    server.close();
  }
});

test('zip reader: CRC mismatch is detected', () => {
  const zip = makeZip([['a.txt', Buffer.from('hello')]]);
  const file = join(mkdtempSync(join(tmpdir(), 'zip-')), 'a.zip');
  writeFileSync(file, zip);
  const [e] = listZip(file);
  assert.equal(readZipEntry(file, e).toString(), 'hello');
  zip[30 + 5] = 'j'.charCodeAt(0); // first data byte
  writeFileSync(file, zip);
  assert.throws(() => readZipEntry(file, e), /CRC/);
});

test('downloadResumable: HTTP errors are reported', async () => {
  const server = createServer((_req, res) => { res.writeHead(404); res.end(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const file = join(mkdtempSync(join(tmpdir(), 'dl-')), 'x.bin');
    await assert.rejects(downloadResumable(`http://127.0.0.1:${port}/x`, file, { quiet: true }), /HTTP 404/);
  } finally {
    server.close();
  }
});

test('CREMA-D fetch without git-lfs or network: clear error with the manual path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cremad-fetch-'));
  await assert.rejects(fetchCremad({ dataDir: dir, repo: 'http://127.0.0.1:9/CREMA-D.git', timeoutMs: 10000, log: () => {} }), (e: unknown) => {
    assert.ok(e instanceof EmolabError);
    assert.match(e.message, /git-lfs is not installed|could not fetch CREMA-D/);
    assert.ok(e.message.includes(join(dir, 'crema-d', 'AudioWAV', '1001_DFA_ANG_XX.wav')), e.message);
    return true;
  });
});

test('CREMA-D fetch refuses to clone over a metadata-only folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cremad-meta-'));
  mkdirSync(join(dir, 'crema-d'));
  await assert.rejects(fetchCremad({ dataDir: dir, repo: 'http://127.0.0.1:9/x.git', timeoutMs: 10000, log: () => {} }), EmolabError);
});
