/**
 * Audio players in notebook outputs: a clip as an HTML `<audio controls>` element with the sound
 * inline (16-bit PCM WAV, base64 data URI), so it plays in Jupyter, in the committed notebook and
 * offline. Kept short: at most `maxSeconds` (default 4 s) per clip, 16 kHz mono ≈ 170 kB of base64.
 */
import { notebookDisplay } from '../show/figures';

/** 16-bit PCM mono WAV bytes of a [-1, 1] signal (peak-normalised when it exceeds 1, e.g. unit-variance input). */
export function wavBytes(signal: Float32Array, sampleRate = 16000): Uint8Array {
  let peak = 0;
  for (const v of signal) peak = Math.max(peak, Math.abs(v));
  const scale = peak > 1 ? 1 / peak : 1;
  const n = signal.length;
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + 2 * n, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(sampleRate, 24); buf.writeUInt32LE(2 * sampleRate, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(signal[i] * scale * 32767))), 44 + 2 * i);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));

/** The `<audio>` element (with a caption) for one clip. */
export function audioPlayerHtml(signal: Float32Array, caption: string, opts: { sampleRate?: number; maxSeconds?: number } = {}): string {
  const sr = opts.sampleRate ?? 16000;
  const x = signal.subarray(0, Math.min(signal.length, Math.round((opts.maxSeconds ?? 4) * sr)));
  const b64 = Buffer.from(wavBytes(x, sr)).toString('base64');
  return `<figure style="margin:4px 0"><audio controls preload="none" src="data:audio/wav;base64,${b64}"></audio><figcaption style="font-size:12px">${esc(caption)}</figcaption></figure>`;
}

/** Show one player per clip in a notebook (no-op outside one); returns the HTML. */
export function showAudio(clips: { signal: Float32Array; caption: string }[], opts: { sampleRate?: number; maxSeconds?: number } = {}): string {
  const html = `<div style="display:flex;flex-wrap:wrap;gap:12px">${clips.map((c) => audioPlayerHtml(c.signal, c.caption, opts)).join('')}</div>`;
  notebookDisplay()?.html(html);
  return html;
}
