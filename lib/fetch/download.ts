/**
 * The one downloader, for datasets (lib/data), the face model and HuBERT (./models): resumable, checked,
 * and clear when it cannot reach the network.
 *
 * - Resume: bytes go to `<file>.part`; a later call asks only for the rest (HTTP Range) and appends
 *   (a server that ignores Range sends 200 and the part is rewritten). The finished file is renamed
 *   into place, so a file at the final path is complete; an existing one is taken as such.
 * - Checks: with `sha256` (and `bytes`) the whole part is hashed before the rename; a mismatch deletes
 *   it, so a wrong file never appears. A connection that closes before Content-Length is an error.
 * - Timeouts: no byte (or no response) for `idleTimeoutMs` (default 30 s) aborts.
 * - Errors: an EmolabError of the caller's stage naming what and the URL, with a hint saying what to
 *   do (the caller's, e.g. where to put the files by hand; by default: run again to resume, or place
 *   the file there yourself). Nothing is created on disk until the first byte arrives.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { EmolabError, errorMessage, type Stage } from '../errors';
import { sha256File } from '../hash';
import { progress } from '../show/progress';

export interface DownloadOptions {
  /** Abort when no byte arrives for this long (default 30 s). */
  idleTimeoutMs?: number;
  quiet?: boolean;
  /** Called with bytes on disk so far and the total when known. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** The fetch implementation (tests). */
  fetchImpl?: typeof fetch;
}

export interface DownloadCheck {
  /** Lower-case hex SHA-256 the finished file must have. */
  sha256?: string;
  /** Size in bytes the finished file must have. */
  bytes?: number;
  /** Named in errors: 'EmoDB', 'model "face-landmarker"' (default: the file name). */
  what?: string;
  /** Stage of the errors (default 'data'). */
  stage?: Stage;
  /** What the user should do when the download fails (default: run again / place the file by hand). */
  hint?: string;
}

export interface DownloadResult {
  file: string;
  bytes: number;
  /** Bytes that were already on disk from an earlier, interrupted run. */
  resumedFrom: number;
}

/** A network failure as one line: the error code when there is one, then its message. */
function networkReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.message && cause.message !== cause.code ? `${cause.code} (${cause.message})` : cause.code;
  return cause?.message ? `${errorMessage(e)} (${cause.message})` : errorMessage(e);
}

/**
 * Download `url` to `file`, resumably and checked (see the module comment). Throws an EmolabError
 * naming `check.what` and the URL.
 */
export async function downloadResumable(url: string, file: string, opts: DownloadOptions & DownloadCheck = {}): Promise<DownloadResult> {
  if (existsSync(file)) return { file, bytes: statSync(file).size, resumedFrom: statSync(file).size };
  const what = opts.what ?? basename(file);
  const stage = opts.stage ?? 'data';
  const part = `${file}.part`;
  const hint = opts.hint ?? `run the command again (a partial ${part} is resumed), or download ${url} by other means and place it at ${file}${opts.sha256 ? ` (sha256 ${opts.sha256})` : ''}`;
  const fail = (msg: string, cause?: unknown): never => { throw new EmolabError(stage, `could not download ${what} from ${url}: ${msg}`, { file, hint, cause }); };
  const have = existsSync(part) ? statSync(part).size : 0;
  const idle = opts.idleTimeoutMs ?? 30_000;
  const ctrl = new AbortController();
  let timer = setTimeout(() => ctrl.abort(), idle);
  const poke = (): void => { clearTimeout(timer); timer = setTimeout(() => ctrl.abort(), idle); };
  let fd: number | undefined;
  try {
    let res: Response;
    try {
      res = await (opts.fetchImpl ?? fetch)(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: ctrl.signal, redirect: 'follow' });
    } catch (e) {
      return fail(ctrl.signal.aborted ? `no response within ${idle} ms` : networkReason(e), e);
    }
    let got: number;
    let start = 0;
    if (res.status === 416 && have > 0) { // the part file already holds everything
      await res.body?.cancel();
      got = have;
      start = have;
    } else {
      if (res.status !== 200 && res.status !== 206) { await res.body?.cancel(); return fail(`HTTP ${res.status} ${res.statusText}`); }
      if (!res.body) return fail('empty response body');
      const append = res.status === 206;
      start = append ? have : 0;
      const len = Number(res.headers.get('content-length'));
      const total = Number.isFinite(len) && len > 0 ? start + len : opts.bytes;
      got = start;
      const bar = progress(`download ${what}`, total ?? 0, { unit: 'bytes', quiet: opts.quiet });
      if (start) bar.tick(start, 'resumed');
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          poke();
          if (fd === undefined) { mkdirSync(dirname(file), { recursive: true }); fd = openSync(part, append ? 'a' : 'w'); }
          let off = 0;
          while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
          got += chunk.byteLength;
          bar.tick(chunk.byteLength);
          opts.onProgress?.(got, total);
        }
      } catch (e) {
        return fail(`${ctrl.signal.aborted ? `no data for ${idle} ms` : networkReason(e)} after ${got} bytes (run again to resume)`, e);
      } finally {
        bar.done();
        if (fd !== undefined) { closeSync(fd); fd = undefined; }
      }
      if (total !== undefined && Number.isFinite(len) && len > 0 && got !== total) return fail(`connection closed after ${got} of ${total} bytes (run again to resume)`);
      if (got === 0) return fail('the server sent no bytes');
    }
    if (opts.bytes !== undefined && got !== opts.bytes) {
      rmSync(part, { force: true });
      throw new EmolabError(stage, `downloaded ${what} has ${got} bytes, expected ${opts.bytes}`, { file, hint: `the server sent a different file (a proxy page, a new version?); ${hint}` });
    }
    if (opts.sha256) {
      const sha = sha256File(part);
      if (sha !== opts.sha256) {
        rmSync(part, { force: true });
        throw new EmolabError(stage, `downloaded ${what} (${got} bytes) has sha256 ${sha}, expected ${opts.sha256}`, { file, hint: `the server sent different bytes (a proxy page, a new version?); ${hint}` });
      }
    }
    renameSync(part, file);
    return { file, bytes: got, resumedFrom: start };
  } finally {
    clearTimeout(timer);
    if (fd !== undefined) try { closeSync(fd); } catch { /* already failing */ }
  }
}
