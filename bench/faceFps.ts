/**
 * `npm run bench -- face-fps [--clips N]`: does face tracking at 10 fps change the pretext targets
 * of tasks 2 and 3 against 25 fps (GRID's native rate)? Tracks a spread subset of the audio-visual
 * clips at 10 and at 25 fps (stores of its own, never the main job's), builds both
 * label sets on the same clips with the same rules, and reports segment/clip agreement, Cohen's
 * kappa, the correlation of the activation statistic, and the tracking time of each rate.
 * Writes bench/results/face-fps-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { avCorpusName, goncalves2022Settings } from '../lib/experiments/goncalves2022';
import { runsRoot, repoRoot } from '../lib/paths';
import { compareLabelSets } from '../lib/pseudo/compareSets';
import { ensureFaceLabelSets } from '../lib/pseudo/faceLabels';
import { readLabelSet } from '../lib/pseudo/labelsets';
import { resolveCorpus } from '../lib/data/corpora';

export async function run(argv: string[]): Promise<void> {
  const n = Number(argv[argv.indexOf('--clips') + 1]) || 60;
  const s = goncalves2022Settings('cpu');
  const m = resolveCorpus(avCorpusName(s));
  const sorted = [...m.clips].sort((a, b) => a.id.localeCompare(b.id));
  const step = Math.max(1, Math.floor(sorted.length / n));
  const clips = sorted.filter((_, i) => i % step === 0).slice(0, n);
  const out: Record<string, unknown> = { clips: clips.length, speakers: new Set(clips.map((c) => c.speaker)).size, seconds: clips.reduce((a, c) => a + (c.durationS ?? 0), 0) };
  const sets: Record<number, { activation: ReturnType<typeof readLabelSet>; au: ReturnType<typeof readLabelSet>; trackSeconds: number }> = {};
  for (const fps of [10, 25]) {
    const st = { ...s, pretext: { ...s.pretext, faceTrack: { ...s.pretext.faceTrack, fps } } };
    const labelsDir = join(runsRoot(), 'bench-face-fps', `fps${fps}`);
    const t0 = Date.now();
    // Own stores: a subset's shards must never be written over the main job's face store.
    await ensureFaceLabelSets(m, clips, { ...st.pretext.faceTrack, activation: s.pretext.activationTargets, au: s.pretext.auTargets, storeDir: join(runsRoot(), 'bench-face-fps', `store-fps${fps}`), labelsDir, workers: s.compute.workers, quiet: false });
    sets[fps] = { activation: readLabelSet(labelsDir, 'activation'), au: readLabelSet(labelsDir, 'au'), trackSeconds: (Date.now() - t0) / 1000 };
  }
  out.activation = compareLabelSets(sets[10].activation, sets[25].activation);
  out.au = compareLabelSets(sets[10].au, sets[25].au);
  out.auBalance = { fps10: sets[10].au.summary.balance, fps25: sets[25].au.summary.balance };
  out.wallSeconds = { fps10: sets[10].trackSeconds, fps25: sets[25].trackSeconds, note: 'tracking + labelling the subset; 0-ish when a previous bench run left the stores' };
  console.log(JSON.stringify(out, null, 2));
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `face-fps-${new Date().toISOString().slice(0, 10)}.json`), JSON.stringify(out, null, 2) + '\n');
}
