/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors, format: 8-byte LE
 * header length N, N bytes of JSON `{name: {dtype, shape, data_offsets:[begin,end]}}` with offsets
 * relative to the end of the header, then raw little-endian data). Files written here load in Python
 * with `safetensors.numpy.load_file`. The header is validated before any tensor is allocated: offsets
 * beyond the file, overlapping or unsorted ranges, shapes that do not match byte counts and unknown
 * dtypes are refused with an error naming the file.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { EmolabError } from '../errors';
import { writeFileAtomic } from '../atomic';

export type DType = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
export type TypedArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array | Uint16Array;

export interface Tensor {
  dtype: DType;
  shape: number[];
  /** F16/BF16 are returned as Float32Array (decoded); everything else as its own typed array. */
  data: TypedArray;
}

export type TensorMap = Record<string, Tensor>;

const BYTES: Record<DType, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
/** Largest header accepted (the reference implementation uses 100 MB). */
const MAX_HEADER = 100_000_000;

interface Entry { dtype: DType; shape: number[]; data_offsets: [number, number] }

function fail(file: string, msg: string): never {
  throw new EmolabError('store', `invalid safetensors file: ${msg}`, { file });
}

/** Parse and validate a header against the data length. Pure; exported for tests. */
export function parseHeader(json: string, dataLength: number, file = '<buffer>'): { entries: Record<string, Entry>; metadata: Record<string, string> } {
  let raw: unknown;
  try { raw = JSON.parse(json); } catch (e) { fail(file, `header is not JSON (${(e as Error).message})`); }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(file, 'header is not a JSON object');
  const entries: Record<string, Entry> = {};
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(file, '__metadata__ must be an object');
      metadata = Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, String(x)]));
      continue;
    }
    const e = v as Partial<Entry>;
    if (!e || typeof e !== 'object') fail(file, `entry "${name}" is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in BYTES)) fail(file, `entry "${name}" has unknown dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(file, `entry "${name}" has a bad shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[0] > off[1]) {
      fail(file, `entry "${name}" has bad data_offsets`);
    }
    if (off[1] > dataLength) fail(file, `entry "${name}" claims bytes ${off[0]}..${off[1]} but the data section has ${dataLength}`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (count * BYTES[e.dtype as DType] !== off[1] - off[0]) fail(file, `entry "${name}" shape [${e.shape}] x ${e.dtype} does not match its ${off[1] - off[0]} bytes`);
    entries[name] = { dtype: e.dtype as DType, shape: e.shape, data_offsets: [off[0], off[1]] };
    ranges.push([off[0], off[1], name]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) fail(file, `entries "${ranges[i - 1][2]}" and "${ranges[i][2]}" overlap`);
  }
  return { entries, metadata };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function decode(dtype: DType, bytes: Uint8Array): TypedArray {
  // Copy into a fresh, aligned buffer (the source slice may start at any byte).
  // (Buffer#slice is a view, not a copy: copy through Uint8Array.prototype.slice.)
  const buf = Uint8Array.prototype.slice.call(bytes).buffer;
  switch (dtype) {
    case 'F32': return new Float32Array(buf);
    case 'F64': return new Float64Array(buf);
    case 'I32': return new Int32Array(buf);
    case 'I16': return new Int16Array(buf);
    case 'I8': return new Int8Array(buf);
    case 'U8': case 'BOOL': return new Uint8Array(buf);
    case 'I64': return new BigInt64Array(buf);
    case 'F16': { const u = new Uint16Array(buf); const out = new Float32Array(u.length); for (let i = 0; i < u.length; i++) out[i] = halfToFloat(u[i]); return out; }
    case 'BF16': { const u = new Uint16Array(buf); const out = new Float32Array(u.length); const v = new DataView(out.buffer); for (let i = 0; i < u.length; i++) v.setUint32(i * 4, u[i] << 16, true); return out; }
  }
}

/** Read a header only (cheap: reads 8 + N bytes). */
export function readSafetensorsHeader(file: string): { entries: Record<string, Entry>; metadata: Record<string, string>; dataStart: number } {
  let fd: number;
  try { fd = openSync(file, 'r'); } catch (e) { throw new EmolabError('store', `cannot open safetensors file: ${(e as Error).message}`, { file }); }
  try {
    const size = fstatSync(fd).size;
    if (size < 8) fail(file, `file has ${size} bytes, fewer than the 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const n = lenBuf.readBigUInt64LE(0);
    if (n > BigInt(MAX_HEADER) || Number(n) > size - 8) fail(file, `header length ${n} exceeds the file (${size} bytes) or the ${MAX_HEADER}-byte limit`);
    const hdr = Buffer.alloc(Number(n));
    readSync(fd, hdr, 0, hdr.length, 8);
    const parsed = parseHeader(hdr.toString('utf8'), size - 8 - Number(n), file);
    return { ...parsed, dataStart: 8 + Number(n) };
  } finally {
    closeSync(fd);
  }
}

/** Read all (or the named) tensors of a file. */
export function readSafetensors(file: string, names?: string[]): { tensors: TensorMap; metadata: Record<string, string> } {
  const { entries, metadata, dataStart } = readSafetensorsHeader(file);
  const want = names ?? Object.keys(entries);
  const missing = want.filter((n) => !(n in entries));
  if (missing.length) throw new EmolabError('store', `tensor(s) ${missing.join(', ')} not in file (has: ${Object.keys(entries).join(', ')})`, { file });
  const bytes = readFileSync(file);
  const tensors: TensorMap = {};
  for (const name of want) {
    const e = entries[name];
    tensors[name] = { dtype: e.dtype, shape: e.shape, data: decode(e.dtype, bytes.subarray(dataStart + e.data_offsets[0], dataStart + e.data_offsets[1])) };
  }
  return { tensors, metadata };
}

const DTYPE_OF = (a: TypedArray): DType => {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Float64Array) return 'F64';
  if (a instanceof Int32Array) return 'I32';
  if (a instanceof Int16Array) return 'I16';
  if (a instanceof Int8Array) return 'I8';
  if (a instanceof Uint8Array) return 'U8';
  if (a instanceof BigInt64Array) return 'I64';
  throw new EmolabError('store', 'unsupported typed array for safetensors');
};

export interface TensorInput { data: TypedArray; shape: number[]; dtype?: DType }

/**
 * Serialise tensors to safetensors bytes. Deterministic: names sorted, header padded with spaces
 * to a multiple of 8, so identical inputs give byte-identical files.
 */
export function encodeSafetensors(tensors: Record<string, TensorInput>, metadata: Record<string, string> = {}): Uint8Array[] {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = Object.fromEntries(Object.keys(metadata).sort().map((k) => [k, metadata[k]]));
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const name of names) {
    const t = tensors[name];
    const dtype = t.dtype ?? DTYPE_OF(t.data);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new EmolabError('store', `tensor "${name}": shape [${t.shape}] holds ${count} values but data has ${t.data.length}`);
    if (BYTES[dtype] !== t.data.BYTES_PER_ELEMENT) throw new EmolabError('store', `tensor "${name}": dtype ${dtype} does not match its ${t.data.constructor.name}`);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    chunks.push(bytes);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const hbytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hbytes.length));
  return [len, hbytes, ...chunks];
}

/** Write tensors atomically (temp file + rename). */
export function writeSafetensors(file: string, tensors: Record<string, TensorInput>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}
