/**
 * One error type for the whole pipeline. Every failure that a user can cause (a missing
 * dataset, a corrupt file, a bad label code) is an EmolabError that names the stage and,
 * where there is one, the file — so a message read at clip 6,000 says what to fix.
 */
export type Stage =
  | 'setup' | 'backend' | 'data' | 'audio' | 'face' | 'pseudo' | 'models' | 'train'
  | 'eval' | 'report' | 'store' | 'cli' | 'bench' | 'settings';

export class EmolabError extends Error {
  readonly stage: Stage;
  readonly file?: string;
  readonly hint?: string;
  constructor(stage: Stage, message: string, opts: { file?: string; hint?: string; cause?: unknown } = {}) {
    const where = opts.file ? ` [${opts.file}]` : '';
    const hint = opts.hint ? `\n  hint: ${opts.hint}` : '';
    super(`emolab ${stage}${where}: ${message}${hint}`, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'EmolabError';
    this.stage = stage;
    this.file = opts.file;
    this.hint = opts.hint;
  }
}

/** Message of any thrown value, for reports and quarantine lists. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
