/**
 * SHA-256, the one implementation for the project: of bytes or text (`sha256Hex`), of a file read in
 * 1 MiB blocks so a multi-GB checkpoint or archive needs no more memory (`sha256File`), and the
 * short fingerprint of a JSON-serialisable value that run folders and caches are named by
 * (`shortHash`).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';

/** A running SHA-256 (for streams: `update` per chunk, `digest('hex')` at the end). */
export function sha256(): Hash {
  return createHash('sha256');
}

/** SHA-256 (hex) of bytes or UTF-8 text. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 (hex) of a file, read in 1 MiB blocks. */
export function sha256File(file: string): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(1 << 20);
  const fd = openSync(file, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** The first `chars` hex digits of the SHA-256 of JSON.stringify(value) (or of a string as it is). */
export function shortHash(value: unknown, chars = 16): string {
  return sha256Hex(typeof value === 'string' ? value : JSON.stringify(value)).slice(0, chars);
}
