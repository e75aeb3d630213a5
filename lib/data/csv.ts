/**
 * Minimal RFC 4180 CSV reading and writing (quoted fields, doubled quotes, CRLF or LF, embedded
 * newlines). Hand-written rather than importing papaparse because papaparse is only a transitive
 * dependency of danfojs here (not pinned by this project) and corpus metadata files are small
 * (the largest, CREMA-D tabulatedVotes.csv, 22k rows, parses in ~50 ms).
 */
import { readFileSync } from 'node:fs';
import { EmolabError } from '../errors';

/** Delimiters a CSV file may use; `sniffDelimiter` picks one from the header line. */
export const CSV_DELIMITERS = [',', ';', '\t'] as const;
export type CsvDelimiter = (typeof CSV_DELIMITERS)[number];

/**
 * The delimiter of a CSV text: the one of `,` `;` tab that occurs most often, outside quotes, in
 * its first line (ties and none: `,`). Spreadsheets in many locales save `;`-separated "CSV".
 */
export function sniffDelimiter(text: string): CsvDelimiter {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const counts: Record<CsvDelimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  let best: CsvDelimiter = ',';
  for (const d of CSV_DELIMITERS) if (counts[d] > counts[best]) best = d;
  return best;
}

/** Parse CSV text into rows of fields. A trailing newline does not produce an empty row. */
export function parseCsv(text: string, delimiter: CsvDelimiter = ','): string[][] {
  const sep = delimiter.charCodeAt(0);
  const rows: string[][] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // BOM
  if (i >= n) return rows;
  let row: string[] = [];
  for (;;) {
    let field: string;
    if (text.charCodeAt(i) === 34 /* " */) {
      // quoted field: up to the next lone quote; doubled quotes are one quote
      let out = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) throw new Error('unterminated quoted field');
        out += text.slice(j, q);
        if (text.charCodeAt(q + 1) === 34) { out += '"'; j = q + 2; continue; }
        i = q + 1;
        break;
      }
      field = out;
    } else {
      let j = i;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === sep || c === 10 || c === 13) break;
        j++;
      }
      field = text.slice(i, j);
      i = j;
    }
    row.push(field);
    if (i >= n) { rows.push(row); break; }
    const c = text.charCodeAt(i);
    if (c === sep) { i++; if (i >= n) { row.push(''); rows.push(row); break; } continue; }
    if (c === 13 || c === 10) {
      i += c === 13 && text.charCodeAt(i + 1) === 10 ? 2 : 1;
      rows.push(row);
      row = [];
      if (i >= n) break;
      continue;
    }
    throw new Error(`unexpected character after quoted field at offset ${i}`);
  }
  return rows;
}

/** One CSV record keyed by header name. */
export type CsvRecord = Record<string, string>;

/** Rows as records keyed by the header row. Rows with a different number of fields are an error. */
export function csvRecords(text: string, file = '<text>', delimiter: CsvDelimiter = ','): CsvRecord[] {
  let rows: string[][];
  try {
    rows = parseCsv(text, delimiter);
  } catch (e) {
    throw new EmolabError('data', `cannot parse CSV: ${(e as Error).message}`, { file });
  }
  if (rows.length === 0) throw new EmolabError('data', 'CSV file is empty (no header row)', { file });
  const header = rows[0];
  const out: CsvRecord[] = [];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    if (row.length === 1 && row[0] === '') continue; // blank line
    if (row.length !== header.length) {
      throw new EmolabError('data', `CSV line ${r + 1} has ${row.length} fields, header has ${header.length} (header as parsed with delimiter ${JSON.stringify(delimiter)}: ${header.map((h) => JSON.stringify(h)).join(' | ')})`, { file });
    }
    const rec: CsvRecord = {};
    for (let c = 0; c < header.length; c++) rec[header[c]] = row[c];
    out.push(rec);
  }
  return out;
}

/** The header of a CSV text as parsed (for error messages: what the reader saw). */
export function csvHeader(text: string, delimiter: CsvDelimiter = sniffDelimiter(text)): string[] {
  try {
    return parseCsv(text.slice(0, text.search(/\r?\n|$/)), delimiter)[0] ?? [];
  } catch {
    return [];
  }
}

/**
 * Read a CSV file as records (delimiter `,` `;` or tab, sniffed from the header line); a missing
 * file or a missing required column is a clear error that shows the header as parsed.
 */
export function readCsvRecords(file: string, requiredColumns: string[] = []): CsvRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new EmolabError('data', `cannot read CSV: ${(e as Error).message}`, { file });
  }
  const delimiter = sniffDelimiter(text);
  const recs = csvRecords(text, file, delimiter);
  const header = csvHeader(text, delimiter);
  const missing = requiredColumns.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new EmolabError('data', `CSV lacks column(s) ${missing.join(', ')} (header as parsed with delimiter ${JSON.stringify(delimiter)}: ${header.map((h) => JSON.stringify(h)).join(' | ')})`, { file });
  }
  return recs;
}

function quoteField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Format rows (first row = header) as CSV text with LF line ends and a final newline. */
export function formatCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => r.map(quoteField).join(',')).join('\n') + '\n';
}
