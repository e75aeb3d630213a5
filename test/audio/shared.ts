/** Where the read-only shared data lives for tests: EMOLAB_FIXTURES / EMOLAB_DATA when set, else ../shared beside the checkout. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dataRoot, fixturesRoot, repoRoot } from '../../lib/paths';

export const fixturesDir = (): string => (process.env.EMOLAB_FIXTURES || process.env.EMOLAB_DATA ? fixturesRoot() : resolve(repoRoot, '..', 'shared', 'fixtures'));
export const datasetsDir = (): string => (process.env.EMOLAB_DATA ? dataRoot() : resolve(repoRoot, '..', 'shared', 'datasets'));
export const emodbWav = (name: string): string => join(datasetsDir(), 'emodb', 'wav', name);
export const haveEmodb = (): boolean => existsSync(join(datasetsDir(), 'emodb', 'wav'));

/** A WAV file in memory (test inputs with known content). */
export function encodeWav(channels: Float32Array[], sampleRate: number, format: 'pcm16' | 'pcm24' | 'float32' | 'pcm8' = 'pcm16'): Uint8Array {
  const n = channels[0].length, C = channels.length;
  const bps = format === 'pcm16' ? 2 : format === 'pcm24' ? 3 : format === 'pcm8' ? 1 : 4;
  const dataLen = n * C * bps;
  const buf = Buffer.alloc(44 + dataLen);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + dataLen, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(format === 'float32' ? 3 : 1, 20); buf.writeUInt16LE(C, 22);
  buf.writeUInt32LE(sampleRate, 24); buf.writeUInt32LE(sampleRate * C * bps, 28); buf.writeUInt16LE(C * bps, 32); buf.writeUInt16LE(bps * 8, 34);
  buf.write('data', 36); buf.writeUInt32LE(dataLen, 40);
  let o = 44;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < C; c++) {
      const v = channels[c][i];
      if (format === 'float32') buf.writeFloatLE(v, o);
      else if (format === 'pcm16') buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32768))), o);
      else if (format === 'pcm8') buf.writeUInt8(Math.max(0, Math.min(255, Math.round(v * 128 + 128))), o);
      else buf.writeIntLE(Math.max(-8388608, Math.min(8388607, Math.round(v * 8388608))), o, 3);
      o += bps;
    }
  }
  return buf;
}

export function tone(freqs: number[], amps: number[], seconds: number, sampleRate = 16000): Float32Array {
  const x = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < x.length; i++) {
    let v = 0;
    freqs.forEach((f, k) => { v += amps[k] * Math.sin((2 * Math.PI * f * i) / sampleRate + k); });
    x[i] = v;
  }
  return x;
}
