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
import type { Clip } from './data/types';
import { errorMessage } from './errors';
import { runSerExperiment } from './finetune/experiment';
import { dataRoot, modelsRoot, runsRoot } from './paths';
import { pick, profileName } from './profile';
import { activationOnAudioGrid } from './pseudo/activationSource';
import { buildActivationLabelSet, buildAuLabelSet, buildEnergyLabelSet } from './pseudo/build';
import { defaultLabelDir } from './pseudo/corpora';
import { auEvidenceFromTrack } from './pseudo/face';
import { balanceShares, writeLabelSet } from './pseudo/labelsets';
import { energyCurvesFromStore, faceTracks, storedFaceFromTrack } from './pseudo/sources';
import { reportSummary } from './report/cli';
import { closeFigureExporter } from './report/export';
import { buildSerReports } from './report/ser';
import { runInfo } from './runinfo';
import { extractFeatures, openFeatureStore } from './store/featureStore';
import { disposePretrain, pretrain, type PretextTask } from './train/pretext';

const step = (n: number, what: string): void => console.log(`\n== ${n}. ${what}`);

function balanceLine(balance: Record<string, number>): string {
  const shares = balanceShares(balance);
  return Object.entries(balance).map(([k, v]) => `${k} ${v}${k in shares ? ` (${(100 * shares[k]).toFixed(0)}%)` : ''}`).join(', ');
}

/** Up to `n` of the shortest clips, at most one per speaker first (ci: a few seconds of video each). */
export function shortClipsSpread(clips: Clip[], n: number): Clip[] {
  if (clips.length <= n) return clips;
  const sorted = [...clips].sort((a, b) => (a.durationS ?? Infinity) - (b.durationS ?? Infinity) || a.id.localeCompare(b.id));
  const out: Clip[] = [];
  const seen = new Set<string>();
  for (const c of sorted) if (out.length < n && !seen.has(c.speaker)) { out.push(c); seen.add(c.speaker); }
  for (const c of sorted) if (out.length < n && !out.includes(c)) out.push(c);
  return out;
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
 * Tasks 2 and 3's targets on the talking-face clips: one face track per clip, from which both the
 * facial-activation segments and the AU-combination emotion are derived. Returns the label folder.
 */
async function avPseudoLabels(): Promise<string> {
  const avManifest = unlabeledAvManifest();
  const clips = shortClipsSpread(avManifest.clips, pick({ ci: 8, full: avManifest.clips.length }));
  const fps = pick({ ci: 10, full: 30 });
  console.log(`face tracks of ${clips.length} of ${avManifest.clips.length} talking-face clips at ${fps} fps (${clips.reduce((s, c) => s + (c.durationS ?? 0), 0).toFixed(0)} s of video)`);
  const tracks = await faceTracks(clips, { fps });
  const labelsDir = defaultLabelDir(avManifest.corpus);
  const faces = tracks.items.map(({ clip, track }) => ({ clip, face: storedFaceFromTrack(track) }));
  const act = buildActivationLabelSet(faces.map(({ clip, face }) => ({ clip, ...activationOnAudioGrid(face) })), {}, avManifest.corpus);
  const au = buildAuLabelSet(faces.map(({ clip, face }) => ({ clip, evidence: auEvidenceFromTrack(face) })), {}, avManifest.corpus);
  for (const set of [act, au]) {
    set.summary.quarantine.unshift(...tracks.quarantine);
    set.summary.run = runInfo() as unknown as Record<string, unknown>;
    const files = writeLabelSet(labelsDir, set.summary, set.tensors);
    console.log(`${set.summary.task}: ${set.summary.clips} clips: ${balanceLine(set.summary.balance)} -> ${files.tensors}`);
  }
  return labelsDir;
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

    // 2. pseudo-labels. The face tracker runs before the tfjs backend starts: the webgpu probe of
    // initBackend installs a `navigator` without `userAgent`, which MediaPipe's loader then trips on.
    step(2, 'pseudo-labels: task 1 energy variation (EmoDB, from the stored energy); tasks 2-3 from faces (talking-face clips)');
    const store = openFeatureStore(storeDir);
    const curves = energyCurvesFromStore(store, manifest.clips);
    const energySet = buildEnergyLabelSet(curves.items, {}, manifest.corpus);
    energySet.summary.quarantine.unshift(...curves.quarantine);
    energySet.summary.run = runInfo() as unknown as Record<string, unknown>;
    const energyFiles = writeLabelSet(defaultLabelDir(manifest.corpus), energySet.summary, energySet.tensors);
    console.log(`energy: ${energySet.summary.clips} clips: ${balanceLine(energySet.summary.balance)} -> ${energyFiles.tensors}`);
    const av = avTasksAvailable();
    let avLabels: string | undefined;
    if (!av.ok) console.log(`tasks 2 and 3 skipped: ${av.why}`);
    else {
      try {
        avLabels = await avPseudoLabels();
      } catch (e) {
        console.log(`tasks 2 and 3 skipped: ${errorMessage(e)}\n(the energy arm and the baseline go on)`);
      }
    }

    // 3. pretraining
    const backend = await initBackend();
    step(3, `pretraining the encoder on pretext tasks 2-3 (talking-face clips; ${describeBackend(backend)}); task 1 is pretrained per SER fold in step 4`);
    const pretrained: string[] = [];
    const runPretrain = async (task: PretextTask, data: string, labelsDir?: string): Promise<void> => {
      const r = await pretrain({ task, data, labelsDir, out: join(runsRoot(), `pretrain-${task}`) });
      const heads = Object.entries(r.test).map(([h, m]) => `${h} test acc ${(100 * m.accuracy).toFixed(1)}% (majority ${(100 * m.majorityRate).toFixed(1)}%)`).join('; ');
      console.log(`pretrain-${task}: ${heads || 'no test speakers'} -> ${r.modelFile}`);
      pretrained.push(task);
      disposePretrain(r);
    };
    // Task 1 pretrains on EmoDB audio, so it runs per fold inside runSerExperiment (step 4), each
    // encoder without its fold's test speakers; pretraining on all of EmoDB here would let the
    // encoder hear the SER test speakers.
    pretrained.push('energy');
    if (avLabels) {
      for (const task of ['activation', 'au', 'all'] as PretextTask[]) {
        try {
          await runPretrain(task, 'av-speech-unlabeled', avLabels);
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
