/**
 * Tiny argument parser shared by every `emolab` command: positionals, `--flag value`, `--flag=value`
 * and boolean `--flag`. Unknown flags are an error naming the command, so a typo never runs a
 * different experiment than intended.
 */
import { EmolabError } from '../errors';

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
