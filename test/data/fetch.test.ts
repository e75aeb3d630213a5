import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { EmolabError } from '../../lib/errors';
import { emodbChecksums, verifyEmodb, fetchEmodb, fetchCremad, listZip, readZipEntry, type ChecksumList } from '../../lib/data';
import { fetchGrid, parseGridSpeakers, GRID_VIDEO_SPEAKERS, type GridChecksums } from '../../lib/data/gridFetch';
import { unlabeledAvManifest } from '../../lib/data/folder';
import { ffmpegBinaries } from '../../lib/media/ffmpeg';
import { createHash } from 'node:crypto';
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

// ---------------------------------------------------------------------------------------------
// GRID

test('GRID speakers: lists and ranges parse (ranges skip s21); s21, 0, 35, "abc" are refused clearly', () => {
  assert.equal(GRID_VIDEO_SPEAKERS.length, 33);
  assert.deepEqual(parseGridSpeakers(), GRID_VIDEO_SPEAKERS);
  assert.deepEqual(parseGridSpeakers('1-34'), GRID_VIDEO_SPEAKERS);
  assert.deepEqual(parseGridSpeakers('all'), GRID_VIDEO_SPEAKERS);
  assert.deepEqual(parseGridSpeakers('5, 1,s3 ,1'), [1, 3, 5]);
  assert.deepEqual(parseGridSpeakers('s19-s23'), [19, 20, 22, 23]);
  assert.deepEqual(parseGridSpeakers([2, 4]), [2, 4]);
  const refused = (spec: string, re: RegExp) => assert.throws(() => parseGridSpeakers(spec), (e: unknown) => e instanceof EmolabError && re.test(e.message) && /--speakers 1-34/.test(e.message));
  refused('s21', /speaker s21 has no video/);
  refused('1,21', /speaker s21 has no video/);
  refused('0', /there is no speaker s0 \(GRID has s1-s34\)/);
  refused('35', /there is no speaker s35/);
  refused('30-35', /there is no speaker s35/);
  refused('abc', /"abc" is not a speaker number or range/);
  refused('1,,2', /"" is not a speaker number/);
  refused('9-3', /runs backwards/);
  refused('21-21', /no speaker with video|s21 has no video/);
});

test('GRID fetch offline: fails within seconds naming the URL, where to put the archive and that local clip folders are used', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grid-offline-'));
  const t0 = Date.now();
  await assert.rejects(fetchGrid({ dataDir: dir, url: 'http://127.0.0.1:9/gridcorpus', speakers: '2', idleTimeoutMs: 3000, quiet: true, log: () => {} }), (e: unknown) => {
    assert.ok(e instanceof EmolabError);
    assert.match(e.message, /could not download GRID speaker s2 from http:\/\/127\.0\.0\.1:9\/gridcorpus\/s2\/video\/s2\.mpg_vcd\.zip/);
    assert.ok(e.message.includes(join(dir, 'grid-download', 's2.mpg_vcd.zip')), e.message);
    assert.ok(e.message.includes(join(dir, 'grid', 's2')), e.message);
    assert.match(e.message, /shared\/datasets\/grid\/s1.*used as they are/);
    assert.doesNotMatch(e.message, /\n\s+at /, 'no stack trace in the message');
    return true;
  });
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
});

test('GRID fetch: a folder that already holds clips (../shared grid/s1) is reported present and nothing is downloaded or written', async () => {
  const lines: string[] = [];
  const r = await fetchGrid({ dataDir: SHARED, url: 'http://127.0.0.1:9/gridcorpus', speakers: '1', quiet: true, log: (l) => lines.push(l) });
  assert.equal(r.alreadyPresent, true);
  assert.equal(r.speakers[0].clips, 1000);
  assert.match(lines.join('\n'), /GRID s1 already present at .*grid\/s1 \(1000 clips\): not downloaded/);
  assert.ok(!existsSync(join(SHARED, 'grid', 'checksums.json')) && !existsSync(join(SHARED, 'grid-download')));
});

/** A tiny GRID-like .mpg (MPEG-1 video + MP2 audio, as in the official archives). */
function makeMpg(file: string, freq: number): Buffer {
  execFileSync(ffmpegBinaries().ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=360x288:rate=25', '-f', 'lavfi', '-i', `sine=frequency=${freq}:sample_rate=16000`,
    '-t', '1', '-c:v', 'mpeg1video', '-c:a', 'mp2', file]);
  return readFileSync(file);
}

test('GRID fetch: resumes a .part with a Range request, transcodes to the shared layout, loads as a grid corpus, re-runs resume and check the recorded SHA-256', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grid-fetch-'));
  const zip = makeZip([['s1/', Buffer.alloc(0)], ['s1/bbaf2n.mpg', makeMpg(join(dir, 'a.mpg'), 300)], ['s1/lgaz8p.mpg', makeMpg(join(dir, 'b.mpg'), 500)], ['__MACOSX/s1/._bbaf2n.mpg', Buffer.from('x')]]);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.url} ${req.headers.range ?? ''}`.trim());
    if (req.url !== '/gridcorpus/s1/video/s1.mpg_vcd.zip') { res.writeHead(404); res.end(); return; }
    const start = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0;
    res.writeHead(start ? 206 : 200, { 'content-length': String(zip.length - start) });
    res.end(zip.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const data = join(dir, 'data');
    const archive = join(data, 'grid-download', 's1.mpg_vcd.zip');
    mkdirSync(join(data, 'grid-download'), { recursive: true });
    const half = Math.floor(zip.length / 2);
    writeFileSync(`${archive}.part`, zip.subarray(0, half)); // what an interrupted first run leaves
    const opts = { dataDir: data, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/gridcorpus`, speakers: 's1', quiet: true, log: () => {} };
    const r = await fetchGrid(opts);
    assert.deepEqual(requests, [`/gridcorpus/s1/video/s1.mpg_vcd.zip bytes=${half}-`]);
    assert.deepEqual(readFileSync(archive), zip);
    assert.deepEqual([r.speakers[0].clips, r.speakers[0].transcoded, r.speakers[0].failed, r.warnings], [2, 2, [], []]);
    const sums = JSON.parse(readFileSync(join(data, 'grid', 'checksums.json'), 'utf8')) as GridChecksums;
    assert.equal(sums.archives['s1.mpg_vcd.zip'].sha256, createHash('sha256').update(zip).digest('hex'));
    assert.equal(sums.archives['s1.mpg_vcd.zip'].size, zip.length);
    assert.match(sums.note, /trust on first use/i);

    const m = unlabeledAvManifest(join(data, 'grid'), 'grid');
    assert.deepEqual(m.quarantine, []);
    assert.deepEqual(m.clips.map((c) => [c.id, c.speaker, c.emotion, c.extra?.source]), [['s1/bbaf2n', 's1', undefined, 's1'], ['s1/lgaz8p', 's1', undefined, 's1']]);
    for (const c of m.clips) {
      assert.equal(c.videoPath, join(data, 'grid', 's1', `${c.id.slice(3)}.mp4`));
      assert.equal(c.audioPath, c.videoPath);
      assert.ok(Math.abs(c.durationS! - 1) < 0.1, `duration ${c.durationS}`);
      assert.deepEqual([c.extra?.width, c.extra?.height, c.extra?.vcodec, c.extra?.audio_sr], ['360', '288', 'h264', '16000']);
    }
    const [header, row] = readFileSync(join(data, 'grid', 's1', 'labels.csv'), 'utf8').split('\n');
    const shared = 'file,speaker,emotion,duration,width,height,vcodec,acodec,audio_sr';
    assert.ok(readFileSync(join(SHARED, 'grid', 's1', 'labels.csv'), 'utf8').startsWith(shared) && header.startsWith(shared), header);
    assert.match(row, /^bbaf2n\.mp4,s1,,1\.\d*,360,288,h264,aac,16000,\d+,[0-9a-f]{32},s1\.mpg_vcd\.zip:s1\/bbaf2n\.mpg$/);

    const again = await fetchGrid(opts);
    assert.equal(again.alreadyPresent, true);
    assert.equal(requests.length, 1, 'a complete speaker folder is not downloaded again');

    // an interrupted transcode: one clip done, no labels.csv yet -> only the other clip is transcoded, the kept archive is re-checked
    rmSync(join(data, 'grid', 's1', 'labels.csv'));
    rmSync(join(data, 'grid', 's1', 'lgaz8p.mp4'));
    const resumed = await fetchGrid(opts);
    assert.deepEqual([resumed.speakers[0].clips, resumed.speakers[0].transcoded, requests.length], [2, 1, 1]);

    // a copy that differs from the recorded one is refused
    rmSync(join(data, 'grid', 's1', 'labels.csv'));
    sums.archives['s1.mpg_vcd.zip'].sha256 = '0'.repeat(64);
    writeFileSync(join(data, 'grid', 'checksums.json'), JSON.stringify(sums));
    await assert.rejects(fetchGrid(opts), (e: unknown) => e instanceof EmolabError && /s1\.mpg_vcd\.zip differs from the copy recorded at its first download/.test(e.message) && e.message.includes(`delete ${archive}`));
  } finally {
    server.close();
  }
});
