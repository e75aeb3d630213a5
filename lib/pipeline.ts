/**
 * The main job (`npm start`): the whole Goncalves & Busso chain on EmoDB with one settings object
 * (lib/experiments/goncalves2022, profile EMOLAB_PROFILE, default `cpu`), each step a function of
 * lib/ whose output on disk is the next step's input; every step resumes from what is on disk, so a
 * second `npm start` after an interruption continues instead of starting over.
 *
 *   0. settings      resolved, memory checked on the backend (refused before any work if too big)
 *   1. features      EmoDB -> fbank / energy / F0 feature store              runs/features/emodb/audio/
 *   2. AV targets    audio-visual corpora (av-speech-unlabeled + GRID) -> their audio features, face
 *                    tracks (cached feature store) -> task 2 and task 3 label sets
 *   3. models        in worker processes (one per core): task 1 pretrained per SER fold without the
 *                    fold's test speakers, tasks 2, 3 and all on the AV corpora, then every SER model
 *                    (arm x mode x seed x fold) and the functionals reference   runs/ser/<experiment>/
 *   4. report        result table + figures          runs/ser/<experiment>/tables/, runs/ser/<experiment>/figures/
 *
 * A failing model is recorded as failed with its message and the others go on; the job then ends
 * with a non-zero status and a summary of what failed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { audioFeatureSet } from './audio/featureSet';
import { describeBackend, initBackend } from './backend';
import { emodbManifest } from './data/emodb';
import { resolveCorpus } from './data/corpora';
import { errorMessage } from './errors';
import {
  audioStoreDir, avAudioStoreDir, avCorpusName, checkMemory, faceLabelsDir, faceStoreDir, goncalves2022Settings, serExperimentSettings, type Goncalves2022Settings,
} from './experiments/goncalves2022';
import { runSerExperiment, type SerExperimentResult } from './finetune/experiment';
import { tableFailures, type ModelFailure } from './finetune/failures';
import { runsRoot } from './paths';
import { avTasksMissing } from './doctor';
import { ensureFaceLabelSets, selectClips } from './pseudo/faceLabels';
import { balanceShares, readLabelSet } from './pseudo/labelsets';
import { closeFigureExporter } from './show/export';
import { formatDuration } from './show/progress';
import { buildSerReports, reportSummary } from './report/ser';
import { runInfo } from './runinfo';
import { writeJsonAtomic } from './atomic';
import { extractFeatures } from './store/featureStore';
import type { MemoryBackend } from './models/memory';

const step = (n: number, what: string): void => console.log(`\n== ${n}. ${what}`);

function balanceLine(balance: Record<string, number>): string {
  const shares = balanceShares(balance);
  return Object.entries(balance).map(([k, v]) => `${k} ${v}${k in shares ? ` (${(100 * shares[k]).toFixed(0)}%)` : ''}`).join(', ');
}

/** Whether tasks 2 and 3 can run: the AV corpora and the face model are on disk (lib/doctor avTasksMissing, also the pre-flight's). */
export function avTasksAvailable(s: Goncalves2022Settings): { ok: boolean; why?: string } {
  const why = avTasksMissing(s.pretext.avCorpora);
  return why ? { ok: false, why } : { ok: true };
}

export interface MainJobResult {
  experiment: string;
  settings: Goncalves2022Settings;
  ser: SerExperimentResult;
  failures: ModelFailure[];
  tables: string[];
  figures: string[];
  /** Wall seconds per step. */
  timing: Record<string, number>;
}

/** One line per settings block, so the log says what ran. */
export function describeSettings(s: Goncalves2022Settings): string {
  const f = s.finetune, p = s.pretext;
  return [
    `profile ${s.profile}, experiment ${s.experiment}`,
    `features: kaldi fbank ${s.features.numMelBins}, ${s.features.normalization} CMVN; encoder ${s.encoder.preset} (conv ${s.encoder.config.convChannels.join('/')}, ${s.encoder.config.numLayers} x d${s.encoder.config.dModel})`,
    `pretext: energy on ${p.energyCorpus} per fold (${p.budget.energy.epochs} epochs); activation/au/all on ${p.avCorpora.join('+')} at ${p.faceTrack.fps} fps (${p.budget.activation.epochs}/${p.budget.au.epochs}/${p.budget.all.epochs} epochs)`,
    `finetune: ${f.arms.join(', ')} x ${f.modes.join('/')} x seeds ${f.seeds.join(',')} x ${f.folds} folds; ${f.hyper.epochs} epochs (patience ${f.hyper.patience}, best on dev ${f.hyper.monitor}), batch ${f.hyper.batchSize}, lr ${f.hyper.lr}`,
    `compute: ${s.compute.workers} worker process(es)`,
  ].join('\n  ');
}

/** Tasks 2-3 targets: AV manifest -> audio features + cached face tracks -> label sets. Returns false when unavailable. */
async function avTargets(s: Goncalves2022Settings): Promise<boolean> {
  const av = avTasksAvailable(s);
  if (!av.ok) { console.log(`tasks 2 and 3 skipped: ${av.why}`); return false; }
  const manifest = resolveCorpus(avCorpusName(s));
  const clips = selectClips(manifest.clips, s.pretext.clipSelection);
  const seconds = clips.reduce((a, c) => a + (c.durationS ?? 0), 0);
  console.log(`${clips.length} of ${manifest.clips.length} audio-visual clips (${(seconds / 60).toFixed(1)} min, ${new Set(clips.map((c) => c.speaker)).size} speakers) from ${s.pretext.avCorpora.join(' + ')}`);
  const fx = await extractFeatures({ manifest: { ...manifest, clips }, dir: avAudioStoreDir(s), set: audioFeatureSet(), workers: s.compute.workers });
  console.log(`audio features: ${Object.keys(fx.index.clips).length} clips (${fx.computedShards} shards computed, ${fx.resumedShards} kept, ${fx.seconds.toFixed(0)} s)`);
  const t0 = Date.now();
  const r = await ensureFaceLabelSets(manifest, clips, {
    ...s.pretext.faceTrack, activation: s.pretext.activationTargets, au: s.pretext.auTargets,
    storeDir: faceStoreDir(s), labelsDir: faceLabelsDir(s), workers: s.compute.workers, quiet: false,
  });
  console.log(`face tracks at ${s.pretext.faceTrack.fps} fps: ${r.tracked ? `${r.tracked} clips tracked now, the others from the cache, in ${formatDuration(r.trackSeconds)}` : "all from the cache"} -> ${faceStoreDir(s)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  for (const task of ['activation', 'au'] as const) {
    const set = readLabelSet(faceLabelsDir(s), task);
    console.log(`${task}: ${set.summary.clips} clips: ${balanceLine(set.summary.balance)}${r.built.includes(task) ? '' : ' (reused)'}`);
  }
  return true;
}

export async function runMainJob(s: Goncalves2022Settings = goncalves2022Settings()): Promise<MainJobResult> {
  const t0 = Date.now();
  const timing: Record<string, number> = {};
  const lap = (name: string, since: number) => { timing[name] = (Date.now() - since) / 1000; };
  console.log(`\nemolab main job (Goncalves & Busso 2022 on EmoDB)\n  ${describeSettings(s)}`);
  if (s.profile === 'ci') console.log('(ci profile: tiny model, few clips and epochs — a smoke test of the chain, not a reproduction)');
  const root = runsRoot();
  try {
    step(0, 'backend and memory check');
    const backend = await initBackend();
    console.log(describeBackend(backend));
    checkMemory(s, backend.name as MemoryBackend);
    console.log('memory: every training step fits the backend (lib/models/memory estimate)');

    let t = Date.now();
    step(1, 'features: EmoDB -> Kaldi fbank (80), energy, F0 feature store');
    const fx = await extractFeatures({ manifest: emodbManifest(), dir: audioStoreDir(root), set: audioFeatureSet(), workers: s.compute.workers });
    console.log(`${Object.keys(fx.index.clips).length} clips in ${fx.dir} (${fx.computedShards} shards computed, ${fx.resumedShards} kept, ${fx.seconds.toFixed(1)} s, ${fx.index.quarantine.length} quarantined)`);
    lap('features', t);

    t = Date.now();
    step(2, `pretext targets of tasks 2 and 3 from the faces of ${s.pretext.avCorpora.join(' + ')} (task 1's are computed from the audio inside each pretraining run)`);
    let avOk = false;
    try {
      avOk = await avTargets(s);
    } catch (e) {
      console.log(`tasks 2 and 3 skipped: ${errorMessage(e)}\n(the energy arm and the baseline go on)`);
    }
    lap('avTargets', t);
    const arms = s.finetune.arms.filter((a) => avOk || !['activation', 'au', 'all'].includes(a));
    const run = { ...s, finetune: { ...s.finetune, arms } };

    t = Date.now();
    step(3, `models: pretraining + SER fine-tuning of ${arms.join(', ')} (${s.compute.workers} worker processes)`);
    const ser = await runSerExperiment(serExperimentSettings(run, root), {
      root, quiet: false, force: false,
      onPretrain: (p) => {
        if (p.reused) return;
        const heads = Object.entries(p.test ?? {}).map(([h, m]) => `${h} held-out acc ${(100 * m.accuracy).toFixed(1)}% (majority of train ${(100 * m.majorityRate).toFixed(1)}%)`).join('; ');
        console.log(`pretrained ${p.arm}${p.fold ? ` for ${p.fold}` : ''} in ${formatDuration(p.seconds)}: ${heads}`);
      },
      onResult: (r, _f, reused) => { if (!reused) console.log(`trained ${r.arm.padEnd(11)} ${r.mode} seed ${r.seed} ${r.fold}: F1 ${(100 * r.metrics.f1).toFixed(1)}  UA ${(100 * r.metrics.ua).toFixed(1)}  WA ${(100 * r.metrics.wa).toFixed(1)}`); },
      onFailure: (f) => console.log(`FAILED ${f.arm} ${f.mode}${f.seed !== null ? ` seed ${f.seed}` : ''}${f.fold ? ` ${f.fold}` : ''}: ${f.message}`),
    });
    console.log(`${ser.trained} trained, ${ser.reused} kept from earlier runs, ${ser.failures.length} failed`);
    lap('models', t);

    t = Date.now();
    step(4, 'results');
    const reports = buildSerReports({ experiment: ser.experiment, root }, tableFailures(ser.experiment, ser.failures));
    for (const rep of reports) console.log(`\n${reportSummary(rep)}`);
    lap('report', t);
    timing.total = (Date.now() - t0) / 1000;
    writeJsonAtomic(join(root, 'ser', ser.experiment, 'run.json'), {
      command: 'start', paper: 'goncalves2022', settings: run, timing, serTiming: ser.timing, failures: ser.failures, run: runInfo(), createdAt: new Date().toISOString(),
    });
    console.log(`\nmain job done in ${formatDuration(timing.total)} (${Object.entries(timing).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${formatDuration(v)}`).join(', ')})`);
    if (ser.failures.length) {
      console.log(`\n${ser.failures.length} model(s) FAILED (recorded in runs/ser/${ser.experiment}/failures.json; the table counts them):`);
      for (const f of ser.failures) console.log(`  ${f.arm} ${f.mode}${f.seed !== null ? ` seed ${f.seed}` : ''}${f.fold ? ` ${f.fold}` : ''}: ${f.message}`);
    }
    return {
      experiment: ser.experiment, settings: run, ser, failures: ser.failures,
      tables: reports.flatMap((r) => [r.files.csv, r.files.markdown]),
      figures: reports.flatMap((r) => r.figures.flatMap((f) => [f.html, f.png, f.svg].filter((p): p is string => Boolean(p)))),
      timing,
    };
  } finally {
    await closeFigureExporter();
  }
}
