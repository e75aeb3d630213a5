/**
 * Tiny argument parser shared by every `emolab` command: positionals, `--flag value`, `--flag=value`
 * and boolean `--flag`. Unknown flags are an error naming the command, so a typo never runs a
 * different experiment than intended.
 */
import { EmolabError } from './errors';

/** One command or subcommand of `emolab`: its name, one-line summary, usage line, and what runs it. */
export interface Subcommand {
  name: string;
  summary: string;
  usage: string;
  run: (argv: string[]) => Promise<number | void>;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | boolean>;
}

export interface FlagSpec {
  /** Flags that take a value. */
  values?: string[];
  /** Flags that are booleans. */
  booleans?: string[];
}

export function parseArgs(command: string, argv: string[], spec: FlagSpec = {}): ParsedArgs {
  const values = new Set(spec.values ?? []);
  const booleans = new Set([...(spec.booleans ?? []), 'help']);
  const out: ParsedArgs = { positionals: [], flags: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { out.positionals.push(...argv.slice(i + 1)); break; }
    if (a === '-h') { out.flags.help = true; continue; }
    if (!a.startsWith('--')) { out.positionals.push(a); continue; }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq > 0 ? eq : undefined);
    if (booleans.has(name)) {
      if (eq > 0) throw new EmolabError('cli', `emolab ${command}: --${name} takes no value`);
      out.flags[name] = true;
    } else if (values.has(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new EmolabError('cli', `emolab ${command}: --${name} needs a value`);
      out.flags[name] = v;
    } else {
      throw new EmolabError('cli', `emolab ${command}: unknown option --${name}`, { hint: `see: emolab ${command} --help` });
    }
  }
  return out;
}

export function flagString(a: ParsedArgs, name: string, fallback?: string): string | undefined {
  const v = a.flags[name];
  return typeof v === 'string' ? v : fallback;
}

export function flagNumber(a: ParsedArgs, command: string, name: string, fallback?: number): number | undefined {
  const v = a.flags[name];
  if (typeof v !== 'string') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new EmolabError('cli', `emolab ${command}: --${name} must be a number, got "${v}"`);
  return n;
}

/** Range of a numeric flag: inclusive bounds, or `gt` for an exclusive lower bound. */
export interface NumberRange { min?: number; max?: number; gt?: number }

function rangeText(r: NumberRange, integer: boolean): string {
  const parts: string[] = [];
  if (r.gt !== undefined) parts.push(`> ${r.gt}`);
  if (r.min !== undefined) parts.push(`>= ${r.min}`);
  if (r.max !== undefined) parts.push(`<= ${r.max}`);
  return `${integer ? 'a whole number' : 'a number'}${parts.length ? ' ' + parts.join(' and ') : ''}`;
}

/** Check a numeric value against a range; the error names the setting (a flag, a variable, a parameter). */
export function checkNumber(setting: string, v: number, range: NumberRange, integer: boolean, stage: 'cli' | 'settings' = 'cli'): number {
  const bad = !Number.isFinite(v) || (integer && !Number.isInteger(v)) || (range.gt !== undefined && !(v > range.gt)) || (range.min !== undefined && v < range.min) || (range.max !== undefined && v > range.max);
  if (bad) throw new EmolabError(stage, `${setting} must be ${rangeText(range, integer)}, got ${Number.isNaN(v) ? 'not a number' : String(v)}`);
  return v;
}

function numeric(a: ParsedArgs, command: string, name: string, range: NumberRange, integer: boolean, fallback?: number): number | undefined {
  const v = a.flags[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(Number(v))) {
    throw new EmolabError('cli', `emolab ${command}: --${name} must be ${rangeText(range, integer)}, got "${String(v)}"`);
  }
  return checkNumber(`emolab ${command}: --${name}`, Number(v), range, integer);
}

/** A whole-number flag within `range` (default: >= 1), checked before any work starts. */
export function flagInt(a: ParsedArgs, command: string, name: string, range: NumberRange = { min: 1 }, fallback?: number): number | undefined {
  return numeric(a, command, name, range, true, fallback);
}

/** A number flag within `range`, checked before any work starts. */
export function flagFloat(a: ParsedArgs, command: string, name: string, range: NumberRange = {}, fallback?: number): number | undefined {
  return numeric(a, command, name, range, false, fallback);
}

/** A flag whose value is one of `allowed`. */
export function flagChoice<T extends string>(a: ParsedArgs, command: string, name: string, allowed: readonly T[], fallback?: T): T | undefined {
  const v = flagString(a, name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    const near = allowed.find((x) => x.startsWith(v.slice(0, 2)));
    throw new EmolabError('cli', `emolab ${command}: --${name} must be one of ${allowed.join(', ')}, got "${v}"`, near ? { hint: `did you mean --${name} ${near}?` } : {});
  }
  return v as T;
}

/** A comma-separated list flag whose items are each one of `allowed`. */
export function flagList<T extends string>(a: ParsedArgs, command: string, name: string, allowed: readonly T[], hint?: (bad: string) => string | undefined): T[] | undefined {
  const v = flagString(a, name);
  if (v === undefined) return undefined;
  const items = v.split(',').map((x) => x.trim()).filter(Boolean);
  if (items.length === 0) throw new EmolabError('cli', `emolab ${command}: --${name} is empty (use one or more of ${allowed.join(', ')})`);
  for (const x of items) {
    if (!(allowed as readonly string[]).includes(x)) {
      const h = hint?.(x);
      throw new EmolabError('cli', `emolab ${command}: --${name}: unknown value "${x}" (use ${allowed.join(', ')})`, h ? { hint: h } : {});
    }
  }
  return items as T[];
}

/**
 * The corpus argument of a command (`--corpus`, see lib/data/corpora CORPUS_HELP). Older spellings
 * (`--data DIR`, `--root DIR`) are accepted as aliases with a deprecation line on stderr.
 */
export function corpusFlag(a: ParsedArgs, command: string, aliases: string[] = []): string | undefined {
  const main = flagString(a, 'corpus');
  for (const alias of aliases) {
    const v = flagString(a, alias);
    if (v === undefined) continue;
    if (main !== undefined && main !== v) throw new EmolabError('cli', `emolab ${command}: --corpus ${main} and --${alias} ${v} disagree; give --corpus only`);
    console.error(`emolab ${command}: --${alias} is deprecated: use --corpus ${v}`);
    return main ?? v;
  }
  return main;
}
