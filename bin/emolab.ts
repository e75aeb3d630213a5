/**
 * `emolab` — the command-line face of lib/: the process wrapper around lib/commands/emolab.ts (the
 * command table and dispatch). A user error (EmolabError) prints its message; anything else prints a
 * one-line internal error, with the stack only on request (EMOLAB_DEBUG=1).
 */
import { EmolabError } from '../lib/errors';
import { runEmolab } from '../lib/commands/emolab';

runEmolab(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    if (e instanceof EmolabError) console.error(e.message);
    // Not a user error: the message, and the stack only on request (EMOLAB_DEBUG=1).
    else if (process.env.EMOLAB_DEBUG) console.error(e);
    else console.error(`emolab: internal error: ${e instanceof Error ? e.message : String(e)}\n(EMOLAB_DEBUG=1 prints the stack; please report it)`);
    process.exitCode = 1;
  },
);
