/**
 * Model files: a small registry of specs (name, official URL, sha256, file name under
 * EMOLAB_MODELS) and `fetchModel(spec)`, which downloads to a temporary file beside the target,
 * checks the sha256 and only then renames it into place — so an interrupted or corrupt download
 * never leaves a file that looks valid. `npx emolab models fetch [name ...]` calls it.
 *
 * Other stages add their model to MODEL_SPECS (one entry each).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, openSync, closeSync, readSync, renameSync, rmSync, statSync, writeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EmolabError, errorMessage } from '../errors';
import { modelsRoot } from '../paths';

export interface ModelSpec {
  /** Registry name, used on the command line. */
  name: string;
  /** What it is, one line. */
  description: string;
  /** Official download URL. */
  url: string;
  /** Lower-case hex sha256 of the exact bytes. */
  sha256: string;
  /** File name under EMOLAB_MODELS. */
  file: string;
  /** Size in bytes, when known (checked before hashing, and shown in progress). */
  bytes?: number;
}

export const MODEL_SPECS: Record<string, ModelSpec> = {
  'face-landmarker': {
    name: 'face-landmarker',
    description: 'MediaPipe Face Landmarker v1 (float16) with blendshapes — 478 landmarks + 52 blendshapes',
    url: 'https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/face_landmarker.task',
    sha256: '64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff',
    file: 'face_landmarker.task',
    bytes: 3_758_596,
  },
};

export function modelSpec(name: string): ModelSpec {
  const spec = MODEL_SPECS[name];
  if (!spec) throw new EmolabError('models', `unknown model "${name}"`, { hint: `known models: ${Object.keys(MODEL_SPECS).join(', ')}` });
  return spec;
}

export const fetchCommand = (spec: ModelSpec): string => `npx emolab models fetch ${spec.name}`;

/** Absolute path of a model's file under EMOLAB_MODELS, or a clear error saying how to get it. */
export function modelFile(spec: ModelSpec, env: NodeJS.ProcessEnv = process.env): string {
  const p = join(modelsRoot(env), spec.file);
  if (!existsSync(p)) {
    throw new EmolabError('models', `model "${spec.name}" (${spec.file}) not found in ${modelsRoot(env)}`, {
      file: p,
      hint: `set EMOLAB_MODELS to the folder holding ${spec.file}, or run: ${fetchCommand(spec)}`,
    });
  }
  return p;
}

/** sha256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** sha256 of a file, synchronously (small models, where an await is inconvenient). */
export function sha256FileSync(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let n: number;
    while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** Throw a clear error when `file` is not the exact model of `spec` (size, then sha256). */
export function verifyModelFile(spec: ModelSpec, file: string): void {
  const size = statSync(file).size;
  const hint = `the file is damaged or a different version: delete it and run ${fetchCommand(spec)}`;
  if (spec.bytes !== undefined && size !== spec.bytes) {
    throw new EmolabError('models', `model "${spec.name}" has ${size} bytes, expected ${spec.bytes}`, { file, hint });
  }
  const got = sha256FileSync(file);
  if (got !== spec.sha256) {
    throw new EmolabError('models', `model "${spec.name}" has sha256 ${got}, expected ${spec.sha256}`, { file, hint });
  }
}

export interface FetchOptions {
  /** Target folder; default EMOLAB_MODELS. */
  dir?: string;
  /** Give up when no byte arrives for this long (default 30 s). */
  idleTimeoutMs?: number;
  /** Re-download even when a verified file is present. */
  force?: boolean;
  /** Called with bytes received so far. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** For tests: the fetch implementation. */
  fetchImpl?: typeof fetch;
}

export interface FetchResult { file: string; status: 'present' | 'downloaded'; bytes: number }

/**
 * Download `spec.url` to `dir/spec.file`, verifying sha256 before the file appears. A file already
 * present and verified is kept. Network failures, HTTP errors and checksum mismatches are
 * EmolabErrors that name the URL and say how to place the file by hand; no partial file is left.
 */
export async function fetchModel(spec: ModelSpec, opts: FetchOptions = {}): Promise<FetchResult> {
  const dir = opts.dir ?? modelsRoot();
  const target = join(dir, spec.file);
  if (!opts.force && existsSync(target)) {
    verifyModelFile(spec, target);
    return { file: target, status: 'present', bytes: statSync(target).size };
  }
  mkdirSync(dir, { recursive: true });
  const manual = `download ${spec.url} by other means and place it at ${target} (sha256 ${spec.sha256})`;
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
  const idle = opts.idleTimeoutMs ?? 30_000;
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), idle);
  const bump = () => { clearTimeout(timer); timer = setTimeout(() => controller.abort(), idle); };
  let fd: number | undefined;
  try {
    let res: Response;
    try {
      res = await (opts.fetchImpl ?? fetch)(spec.url, { signal: controller.signal, redirect: 'follow' });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = controller.signal.aborted ? `no response within ${idle} ms` : cause?.code ?? cause?.message ?? errorMessage(e);
      throw new EmolabError('models', `could not download model "${spec.name}" from ${spec.url}: ${why}`, { file: target, hint: `check the network, or ${manual}`, cause: e });
    }
    if (!res.ok || !res.body) {
      throw new EmolabError('models', `download of model "${spec.name}" failed: HTTP ${res.status} ${res.statusText} from ${spec.url}`, { file: target, hint: manual });
    }
    const total = Number(res.headers.get('content-length')) || spec.bytes;
    const hash = createHash('sha256');
    fd = openSync(tmp, 'w');
    let received = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bump();
        hash.update(chunk);
        let off = 0;
        while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
        received += chunk.byteLength;
        opts.onProgress?.(received, total);
      }
    } catch (e) {
      throw new EmolabError('models', `download of model "${spec.name}" broke off after ${received} bytes: ${controller.signal.aborted ? `stalled for ${idle} ms` : errorMessage(e)}`, { file: target, hint: `run the command again, or ${manual}`, cause: e });
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    const got = hash.digest('hex');
    if (got !== spec.sha256) {
      throw new EmolabError('models', `downloaded model "${spec.name}" (${received} bytes) has sha256 ${got}, expected ${spec.sha256}`, { file: target, hint: `the server sent different bytes (a proxy page, a new version?); ${manual}` });
    }
    renameSync(tmp, target);
    return { file: target, status: 'downloaded', bytes: received };
  } finally {
    clearTimeout(timer);
    if (fd !== undefined) try { closeSync(fd); } catch { /* already failing */ }
    rmSync(tmp, { force: true });
  }
}
