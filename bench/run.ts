/**
 * `npm run bench -- <name> [args]`: run one benchmark. Each benchmark is a module exporting
 * `run(argv): Promise<void>` that prints a table and writes JSON to bench/results/.
 * To add one: one entry in BENCHMARKS.
 */
const BENCHMARKS: Record<string, { summary: string; load: () => Promise<{ run: (argv: string[]) => Promise<void> }> }> = {
  audio: { summary: 'EmoDB decode + fbank + energy + F0 real-time factor, 1 and 2 workers, vs torchaudio Kaldi fbank', load: () => import('./audio') },
  train: { summary: 'training step (fwd + bwd + AdamW) of encoder presets, HuBERT-base and the issue-11 model vs PyTorch: --backend --preset --batch --frames --steps', load: () => import('./train') },
  dp: { summary: 'data-parallel workers: train() step at 1 vs 2 replicas, and the grid as 2 processes x 1 worker vs 1 process x 2 workers (tiny, base): --preset --steps', load: () => import('./dataParallel') },
  e2e: { summary: 'the main job (runMainJob) reduced to --folds/--seeds, once per kernel set (wasm, native) on fresh runs folders with features/ copied from --from: wall + cpu per stage', load: () => import('./endToEnd') },
  units: { summary: 'two runs folders of the same main job compared unit by unit (pretraining runs, SER models): B/A wall per unit and as a ratio of sums, metrics checked equal: <runs A> <runs B> [--busy] [--models-wall-s]', load: () => import('./runUnits') },
  products: { summary: 'which product forms (untransposed-gradient matMul, block-diagonal attention) win on each wasm kernel set (wasm, native OpenBLAS): --preset tiny,base --steps N', load: () => import('./products') },
  'face-fps': { summary: 'tasks 2-3 targets from face tracks at 10 vs 25 fps on a spread subset of the AV clips: agreement, kappa, tracking time', load: () => import('./faceFps') },
  face: { summary: 'MediaPipe Face Landmarker in Node: frames/s per core with the decode share separate, on mead-samples + av-speech-unlabeled; feature-store worker pool 1..N', load: () => import('./face') },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const entry = name ? BENCHMARKS[name] : undefined;
  if (!entry) {
    console.error(`usage: npm run bench -- <name> [args]\n\nbenchmarks:\n${Object.entries(BENCHMARKS).map(([n, b]) => `  ${n.padEnd(8)} ${b.summary}`).join('\n')}`);
    return name ? 2 : 0;
  }
  await (await entry.load()).run(rest);
  return 0;
}

main(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exitCode = 1; });
