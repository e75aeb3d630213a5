/**
 * Which matrix-product forms should the layers use on each wasm kernel set? (issue 17: "layers choose
 * their products by measurement")
 *
 *   npm run bench -- products [--preset tiny,base] [--steps N] [--warmup W] [--out file.json]
 *
 * For each kernel set (wasm's own; native OpenBLAS when built) and each of the 4 combinations of the
 * two workarounds in lib/models/layers (`untransposedGradient`: matMul2d's explicit-transpose gradient;
 * `blockDiagonalAttention`), one training step of the preset (bench/train's step) is timed, all 8
 * variants interleaved step by step on one model, so load changes hit them alike. Prints the median
 * process CPU time per variant and the best combination per kernel set, which is what
 * lib/accel PRODUCTS_BY_KERNELS should hold (the run says whether it does). Writes
 * bench/results/products-<date>.json.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../lib/backend';
import { ADDON_PATH, PRODUCTS_BY_KERNELS, overrideProducts, setKernels, type KernelSet, type ProductChoice } from '../lib/accel';
import { flagNumber, flagString, parseArgs } from '../lib/args';
import { EmolabError } from '../lib/errors';
import { repoRoot } from '../lib/paths';
import { runInfo } from '../lib/runinfo';
import { PRESET_DEFAULTS, caseSpec, runCaseVariants, type Variant } from './train';

const COMBOS: ProductChoice[] = [
  { untransposedGradient: true, blockDiagonalAttention: true },
  { untransposedGradient: true, blockDiagonalAttention: false },
  { untransposedGradient: false, blockDiagonalAttention: true },
  { untransposedGradient: false, blockDiagonalAttention: false },
];

export const comboLabel = (c: ProductChoice): string => `${c.untransposedGradient ? 'untransposed-grad' : 'plain-grad'}+${c.blockDiagonalAttention ? 'block-diag-attn' : 'batched-attn'}`;

export async function run(argv: string[]): Promise<void> {
  const a = parseArgs('bench products', argv, { values: ['preset', 'steps', 'warmup', 'out'] });
  await initBackend('wasm', 'wasm');
  const sets: KernelSet[] = existsSync(ADDON_PATH) ? ['wasm', 'native'] : ['wasm'];
  const presets = (flagString(a, 'preset') ?? 'tiny,base').split(',').map((x) => x.trim());
  for (const p of presets) if (p !== 'tiny' && p !== 'base') throw new EmolabError('bench', `--preset takes tiny and/or base (encoder presets), got "${p}"`);
  const results: Record<string, unknown>[] = [];
  const best: Record<string, Record<string, { choice: string; matches_table: boolean }>> = {};
  for (const preset of presets as ('tiny' | 'base')[]) {
    const d = PRESET_DEFAULTS[preset];
    const spec = caseSpec(preset, d.batch, d.frames);
    const steps = flagNumber(a, 'bench products', 'steps', d.steps)!;
    const warmup = flagNumber(a, 'bench products', 'warmup', 1)!;
    const variants: Variant[] = sets.flatMap((k) => COMBOS.map((c) => ({ kernels: k, label: comboLabel(c), apply: () => { setKernels(k); overrideProducts(c); } })));
    const rs = runCaseVariants(spec, steps, warmup, variants);
    overrideProducts(undefined);
    setKernels('wasm');
    console.log(`${preset} (${spec.batch} x ${'frames' in spec ? spec.frames : ''}), median process CPU ms per training step over ${steps} interleaved steps:`);
    for (const k of sets) {
      const mine = rs.filter((r) => r.kernels === k);
      const top = mine.reduce((x, y) => (y.cpu_ms_median < x.cpu_ms_median ? y : x));
      const table = comboLabel(PRODUCTS_BY_KERNELS[k]);
      (best[preset] ??= {})[k] = { choice: top.variant!, matches_table: top.variant === table };
      for (const r of mine) console.log(`  kernels=${k.padEnd(6)} ${r.variant!.padEnd(36)} cpu ${r.cpu_ms_median.toFixed(1).padStart(8)}  wall ${r.ms_median.toFixed(1).padStart(8)}${r.variant === top.variant ? '  <- fastest' : ''}${r.variant === table ? '  (lib/accel table)' : ''}`);
    }
    results.push(...rs.map((r) => ({ preset: r.preset, kernels: r.kernels, variant: r.variant, cpu_ms_median: r.cpu_ms_median, ms_median: r.ms_median, ms_all: r.ms_all, loss_first: r.loss_first, loss_last: r.loss_last, load_before: r.load_before, load_after: r.load_after })));
  }
  const date = new Date().toISOString();
  const out = { benchmark: 'products', date, table: PRODUCTS_BY_KERNELS, best, results, run: runInfo() };
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = flagString(a, 'out') ?? join(dir, `products-${date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`best per kernel set: ${JSON.stringify(best)}\n-> ${file}`);
}
