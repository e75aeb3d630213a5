/**
 * Duration and format of a WAV file from its RIFF header alone (reads the first 64 KiB at most;
 * no decoding, no ffprobe process), so a corpus of thousands of files is probed in well under a second.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { EmolabError } from '../errors';

export interface WavInfo {
  /** 1 = PCM integer, 3 = IEEE float, 0xfffe = extensible. */
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Sample frames (per channel) in the data chunk. */
  frames: number;
  durationS: number;
  /** Byte offset of the sample data in the file. */
  dataOffset: number;
}

/**
 * Parse a RIFF/WAVE header. `fileSize`, when given, bounds the data chunk (some writers leave the
 * data size at 0 or 0xffffffff when streaming). Throws a plain Error describing what is wrong.
 */
export function parseWavHeader(buf: Uint8Array, fileSize?: number): WavInfo {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (o: number): string => String.fromCharCode(buf[o], buf[o + 1], buf[o + 2], buf[o + 3]);
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let off = 12;
  let fmt: { format: number; channels: number; sampleRate: number; bitsPerSample: number; blockAlign: number } | undefined;
  while (off + 8 <= buf.length) {
    const id = tag(off);
    const size = dv.getUint32(off + 4, true);
    if (id === 'fmt ') {
      if (off + 24 > buf.length) throw new Error('truncated fmt chunk');
      fmt = {
        format: dv.getUint16(off + 8, true),
        channels: dv.getUint16(off + 10, true),
        sampleRate: dv.getUint32(off + 12, true),
        blockAlign: dv.getUint16(off + 20, true),
        bitsPerSample: dv.getUint16(off + 22, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('data chunk before fmt chunk');
      if (fmt.sampleRate === 0 || fmt.blockAlign === 0) throw new Error('fmt chunk has zero sample rate or block size');
      const dataOffset = off + 8;
      let bytes = size;
      if (fileSize !== undefined && (size === 0 || size === 0xffffffff || dataOffset + size > fileSize)) bytes = Math.max(0, fileSize - dataOffset);
      const frames = Math.floor(bytes / fmt.blockAlign);
      return { format: fmt.format, channels: fmt.channels, sampleRate: fmt.sampleRate, bitsPerSample: fmt.bitsPerSample, frames, durationS: frames / fmt.sampleRate, dataOffset };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error(fmt ? 'no data chunk in the first 64 KiB' : 'no fmt chunk');
}

/** Read a WAV file's header; an unreadable or malformed file is an EmolabError naming it. */
export function readWavInfo(file: string): WavInfo {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new EmolabError('data', `cannot open WAV: ${(e as Error).message}`, { file });
  }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, 65536));
    readSync(fd, buf, 0, buf.length, 0);
    return parseWavHeader(buf, size);
  } catch (e) {
    if (e instanceof EmolabError) throw e;
    throw new EmolabError('data', `bad WAV header: ${(e as Error).message}`, { file });
  } finally {
    closeSync(fd);
  }
}
