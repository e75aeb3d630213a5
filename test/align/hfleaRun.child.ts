/**
 * Child process of hfleaResume.test.ts: HFLEA (lib/align/experiment runHfleaEmodb) at a size below
 * the ci profile on EmoDB fold 1 (EMOLAB_DATA), every stage checkpointing each step, into the runs
 * root argv[2]; writes the numbers that must not depend on a kill to argv[3] (JSON).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../lib/backend';
import { runHfleaEmodb } from '../../lib/align/experiment';
import { li2024Settings } from '../../lib/experiments/li2024';

function resumeSettings(): ReturnType<typeof li2024Settings> {
  const s = li2024Settings('ci');
  const st = (o: typeof s.config.finetune) => ({ ...o, epochs: 2, batchSize: 4, cropSeconds: 0.5 });
  return { ...s, perClass: { train: 2, dev: 1, test: 1 }, folds: 1, config: { ...s.config, tapt: { ...s.config.tapt!, steps: 4, checkpointEvery: 2, batchSize: 4, cropSeconds: 0.5 }, finetune: st(s.config.finetune), pretrain: st(s.config.pretrain), finetuneAttention: st(s.config.finetuneAttention), maxEvalSeconds: 1 } };
}

async function main(): Promise<void> {
  const [root, out] = process.argv.slice(2);
  await initBackend('wasm');
  const ex = await runHfleaEmodb(resumeSettings(), undefined, { root, tablesDir: join(root, 'tables'), embed: false, quiet: true, checkpointEvery: 1 });
  const r = ex.runs[0].result;
  writeFileSync(out, JSON.stringify({
    runDir: ex.runs[0].runDir,
    tapt: r.tapt!.losses, ft: r.finetune.losses, ftDev: r.finetune.devUA, ftBest: r.finetune.bestEpoch, ftPred: r.finetune.test.pred,
    align: r.pretrain.losses, alignAcc: r.pretrain.maskedAccuracy, alignMasked: r.pretrain.maskedFraction,
    attention: r.aligned.losses, attentionDev: r.aligned.devUA, attentionPred: r.aligned.test.pred, attentionWeights: r.aligned.test.attention.map((a) => Array.from(a)),
    clusters: r.clusters, markdown: ex.markdown,
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
