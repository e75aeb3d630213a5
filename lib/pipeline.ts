/**
 * The main job (`npm start`): the whole chain on the default dataset (EmoDB), each step a function
 * of lib/ whose output on disk is the next step's input; every step resumes from what is already on
 * disk, so a second `npm start` after an interruption continues instead of starting over.
 *
 *   1. features      EmoDB -> fbank / energy / F0 feature store        runs/features/emodb/audio/
 *   2. pseudo-labels task 1 (energy variation) from the stored energy  runs/features/emodb/pseudo/energy.*
 *   3. pretrain      tasks 2, 3 and all three on the unlabeled talking-face clips   runs/pretrain-<task>/
 *                    (../shared av-speech-unlabeled, other people than EmoDB's) when those clips and
 *                    the face model are present
 *   4. fine-tune     task 1 (energy, EmoDB audio) pretrained once per fold WITHOUT the fold's test
 *                    speakers (runs/pretrain-energy-<fold>/), then SER baseline vs each pretrained
 *                    encoder on the EmoDB folds, each fold from its own encoder  runs/ser/emodb-<profile>/
 *   5. report        result table + figures                              results/, figures/
 *
 * EMOLAB_PROFILE=ci runs everything small (minutes on 2 cores); full is the real experiment.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { audioFeatureSet } from './audio/featureSet';
import { describeBackend, initBackend } from './backend';
import { emodbManifest } from './data/emodb';
import { AV_SPEECH_LAYOUT, unlabeledAvManifest } from './data/folder';
import { errorMessage } from './errors';
import { runSerExperiment } from './finetune/experiment';
import { dataRoot, modelsRoot, runsRoot } from './paths';
import { profileName } from './profile';
import { buildEnergyLabelSet } from './pseudo/build';
import { defaultLabelDir } from './pseudo/corpora';
import { balanceShares, readLabelSet, writeLabelSet } from './pseudo/labelsets';
import { energyCurvesFromStore } from './pseudo/sources';
import { reportSummary } from './report/cli';
import { closeFigureExporter } from './report/export';
import { buildSerReports } from './report/ser';
import { runInfo } from './runinfo';
import { extractFeatures, openFeatureStore } from './store/featureStore';
import { avPretrainOptions, disposePretrain, ensureFaceLabelSets, faceClipsForProfile, faceLabelsDir, faceTrackFps, finishedPretrainRun, pretrain } from './train/pretext';

const step = (n: number, what: string): void => console.log(`\n== ${n}. ${what}`);

function balanceLine(balance: Record<string, number>): string {
  const shares = balanceShares(balance);
  return Object.entries(balance).map(([k, v]) => `${k} ${v}${k in shares ? ` (${(100 * shares[k]).toFixed(0)}%)` : ''}`).join(', ');
}

/** Whether tasks 2 and 3 can run: the talking-face clips and the face model are on disk. */
export function avTasksAvailable(): { ok: boolean; why?: string } {
  const av = join(dataRoot(), AV_SPEECH_LAYOUT.folder);
  if (!existsSync(av)) return { ok: false, why: `no ${av} (set EMOLAB_DATA to the folder holding av-speech-unlabeled/)` };
  const model = join(modelsRoot(), 'face_landmarker.task');
  if (!existsSync(model)) return { ok: false, why: `no face model ${model} (run: npx emolab models fetch face-landmarker)` };
  return { ok: true };
}

export interface MainJobResult {
  experiment: string;
  pretrained: string[];
  tables: string[];
  figures: string[];
}

/**
 * Tasks 2 and 3's targets on the talking-face clips, with the same clips, frame rate and label
 * folder as notebooks 06/07 (lib/train `ensureFaceLabelSets`): one face track per clip gives both
 * the facial-activation segments and the AU-combination emotion. Returns the corpus name.
 */
async function avPseudoLabels(): Promise<string> {
  const avManifest = unlabeledAvManifest();
  const clips = faceClipsForProfile(avManifest.clips);
  const dir = faceLabelsDir(avManifest.corpus);
  console.log(`face tracks of ${clips.length} of ${avManifest.clips.length} talking-face clips at ${faceTrackFps()} fps (${clips.reduce((s, c) => s + (c.durationS ?? 0), 0).toFixed(0)} s of video)`);
  const built = await ensureFaceLabelSets(clips, dir, { fps: faceTrackFps() });
  for (const task of ['activation', 'au'] as const) {
    const set = readLabelSet(dir, task);
    console.log(`${task}: ${set.summary.clips} clips: ${balanceLine(set.summary.balance)}${built.includes(task) ? '' : ' (reused)'} -> ${dir}`);
  }
  return avManifest.corpus;
}

export async function runMainJob(): Promise<MainJobResult> {
  const t0 = Date.now();
  const profile = profileName();
  console.log(`\nemolab main job  profile=${profile}`);
  if (profile === 'ci') console.log('(ci profile: tiny model, few clips and epochs — a smoke test of the chain, not a reproduction)');
  try {
    // 1. features
    step(1, 'features: EmoDB -> Kaldi fbank (80), energy, F0 feature store');
    const manifest = emodbManifest();
    const storeDir = join(runsRoot(), 'features', 'emodb');
    const fx = await extractFeatures({ manifest, dir: storeDir, set: audioFeatureSet() });
    console.log(`${Object.keys(fx.index.clips).length} clips in ${fx.dir} (${fx.computedShards} shards computed, ${fx.resumedShards} kept, ${fx.seconds.toFixed(1)} s, ${fx.index.quarantine.length} quarantined)`);

    // 2. pseudo-labels
    step(2, 'pseudo-labels: task 1 energy variation (EmoDB, from the stored energy); tasks 2-3 from faces (talking-face clips)');
    const store = openFeatureStore(storeDir);
    const curves = energyCurvesFromStore(store, manifest.clips);
    const energySet = buildEnergyLabelSet(curves.items, {}, manifest.corpus);
    energySet.summary.quarantine.unshift(...curves.quarantine);
    energySet.summary.run = runInfo() as unknown as Record<string, unknown>;
    const energyFiles = writeLabelSet(defaultLabelDir(manifest.corpus), energySet.summary, energySet.tensors);
    console.log(`energy: ${energySet.summary.clips} clips: ${balanceLine(energySet.summary.balance)} -> ${energyFiles.tensors}`);
    const av = avTasksAvailable();
    let avCorpus: string | undefined;
    if (!av.ok) console.log(`tasks 2 and 3 skipped: ${av.why}`);
    else {
      try {
        avCorpus = await avPseudoLabels();
      } catch (e) {
        console.log(`tasks 2 and 3 skipped: ${errorMessage(e)}\n(the energy arm and the baseline go on)`);
      }
    }

    // 3. pretraining
    const backend = await initBackend();
    step(3, `pretraining the encoder on pretext tasks 2-3 (talking-face clips; ${describeBackend(backend)}); task 1 is pretrained per SER fold in step 4`);
    const pretrained: string[] = [];
    const runPretrain = async (task: 'activation' | 'au' | 'all', corpus: string): Promise<void> => {
      const opts = avPretrainOptions(task, corpus);
      const done = finishedPretrainRun(opts.out!, opts);
      if (done) {
        console.log(`pretrain-${task}: finished run with the same settings reused -> ${done.modelFile}`);
      } else {
        const r = await pretrain(opts);
        const heads = Object.entries(r.test).map(([h, m]) => `${h} test acc ${(100 * m.accuracy).toFixed(1)}% (majority ${(100 * m.majorityRate).toFixed(1)}%)`).join('; ');
        console.log(`pretrain-${task}: ${heads || 'no test speakers'} -> ${r.modelFile}`);
        disposePretrain(r);
      }
      pretrained.push(task);
    };
    // Task 1 pretrains on EmoDB audio, so it runs per fold inside runSerExperiment (step 4), each
    // encoder without its fold's test speakers; pretraining on all of EmoDB here would let the
    // encoder hear the SER test speakers.
    pretrained.push('energy');
    if (avCorpus) {
      for (const task of ['activation', 'au', 'all'] as const) {
        try {
          await runPretrain(task, avCorpus);
        } catch (e) {
          console.log(`pretrain-${task} failed: ${errorMessage(e)}\n(the other arms go on)`);
        }
      }
    }

    // 4. fine-tuning
    step(4, `SER fine-tuning: baseline vs ${pretrained.join(', ')} (EmoDB speaker-independent folds; energy pretrained per fold without its test speakers)`);
    const ser = await runSerExperiment({
      featureStore: storeDir,
      onResult: (r, _f, reused) => console.log(`${reused ? 'kept   ' : 'trained'} ${r.arm.padEnd(10)} ${r.mode} seed ${r.seed} ${r.fold}: F1 ${(100 * r.metrics.f1).toFixed(1)}  UA ${(100 * r.metrics.ua).toFixed(1)}  WA ${(100 * r.metrics.wa).toFixed(1)}`),
    });

    // 5. report
    step(5, 'results');
    const reports = buildSerReports({ experiment: ser.experiment });
    for (const rep of reports) console.log(`\n${reportSummary(rep)}`);
    console.log(`\nmain job done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return {
      experiment: ser.experiment, pretrained,
      tables: reports.flatMap((r) => [r.files.csv, r.files.markdown]),
      figures: reports.flatMap((r) => r.figures.flatMap((f) => [f.html, f.png, f.svg].filter((p): p is string => Boolean(p)))),
    };
  } finally {
    await closeFigureExporter();
  }
}
