/**
 * Child process for the interruption tests (run through runChild in ./shared, with ./faultHook preloaded):
 *   child.ts pretrain <corpus dir> <run dir> <seed>   energy pretext task, tiny encoder, 3 epochs
 *   child.ts pseudo <corpus dir> <out dir> [flags]    `emolab pseudo energy` on the folder corpus
 * Prints "DONE ..." when the command completed.
 */
export {};

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'pretrain') {
  const { pretrain } = await import('../../lib/train/pretrain');
  const { faultPretrainSettings } = await import('./pretrainSettings');
  const [data, out, seed] = rest;
  const r = await pretrain(faultPretrainSettings(data, out, Number(seed)), { resume: true, quiet: true });
  process.stdout.write(`DONE steps=${r.training.steps} resumedFrom=${r.training.resumedFromStep}\n`);
} else if (mode === 'pseudo') {
  const { run } = await import('../../lib/pseudo/cli');
  const [data, out, ...flags] = rest;
  const code = await run(['energy', '--corpus', `folder:${data}`, '--out', out, ...flags]);
  process.stdout.write(`DONE code=${code}\n`);
} else {
  throw new Error(`child.ts: unknown mode ${mode}`);
}
