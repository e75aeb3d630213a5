/**
 * Just enough of the ZIP format to unpack a corpus archive (stored and deflated entries, ZIP64
 * sizes not needed for EmoDB's 40 MB): central directory -> local headers -> zlib raw inflate,
 * each entry's CRC-32 checked. No unzip binary or extra package needed.
 */
import { closeSync, mkdirSync, openSync, readSync, fstatSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { EmolabError } from '../errors';

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  const n = readSync(fd, b, 0, len, pos);
  return b.subarray(0, n);
}

/** The entries of a ZIP file's central directory. */
export function listZip(file: string): ZipEntry[] {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const tailLen = Math.min(size, 65557);
    const tail = readAt(fd, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) if (tail.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
    if (eocd < 0) throw new EmolabError('data', 'not a ZIP archive (no end-of-central-directory record); the download may be incomplete', { file });
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = readAt(fd, cdOffset, cdSize);
    const out: ZipEntry[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw new EmolabError('data', `corrupt ZIP central directory at entry ${i}`, { file });
      const nameLen = cd.readUInt16LE(p + 28), extraLen = cd.readUInt16LE(p + 30), commentLen = cd.readUInt16LE(p + 32);
      out.push({
        method: cd.readUInt16LE(p + 10),
        crc: cd.readUInt32LE(p + 16),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localHeaderOffset: cd.readUInt32LE(p + 42),
        name: cd.toString('utf8', p + 46, p + 46 + nameLen),
      });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** The uncompressed bytes of one entry (CRC-checked). */
export function readZipEntry(file: string, e: ZipEntry): Buffer {
  const fd = openSync(file, 'r');
  try {
    const lh = readAt(fd, e.localHeaderOffset, 30);
    if (lh.length < 30 || lh.readUInt32LE(0) !== 0x04034b50) throw new EmolabError('data', `corrupt ZIP local header for ${e.name}`, { file });
    const start = e.localHeaderOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
    const raw = readAt(fd, start, e.compressedSize);
    let data: Buffer;
    if (e.method === 0) data = raw;
    else if (e.method === 8) data = inflateRawSync(raw);
    else throw new EmolabError('data', `ZIP entry ${e.name} uses unsupported compression method ${e.method}`, { file });
    if (data.length !== e.size || (crc32(data) >>> 0) !== e.crc) throw new EmolabError('data', `ZIP entry ${e.name} fails its CRC/size check; the archive is corrupt`, { file });
    return data;
  } finally {
    closeSync(fd);
  }
}

/**
 * Extract the entries for which `pick(name)` returns a relative destination path (or undefined to
 * skip) into `dest`. Paths escaping `dest` are refused. Returns the written relative paths.
 */
export function extractZip(file: string, dest: string, pick: (name: string) => string | undefined = (n) => n): string[] {
  const written: string[] = [];
  for (const e of listZip(file)) {
    if (e.name.endsWith('/')) continue;
    const rel = pick(e.name);
    if (rel === undefined) continue;
    const target = normalize(join(dest, rel));
    if (!target.startsWith(normalize(dest) + sep)) throw new EmolabError('data', `ZIP entry ${e.name} would be written outside ${dest}`, { file });
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, readZipEntry(file, e)); // callers extract into a staging folder and move it into place
    written.push(rel);
  }
  return written;
}
