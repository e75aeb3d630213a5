/**
 * The worker process of lib/finetune/pool: receives one job at a time over IPC (a pretraining run or
 * one SER model), runs it with the same library functions the main process would call, writes its
 * output to disk (run folder / per-model record) and replies with a summary. Started with
 * `fork(..., { execArgv: ['--import', 'tsx'] })`; it exits when the parent disconnects.
 */
import { initBackend } from '../backend';
import { errorMessage } from '../errors';
import { openFeatureStore, type FeatureStore } from '../store/featureStore';
import { featureNormalizer, type Example, type FeatureNormalization } from '../train/batches';
import { disposePretrain, pretrain } from '../train/pretrain';
import type { PretrainSettings } from '../train/pretrainRun';
import { finetuneFold, SER_HEAD, type FinetuneFoldArgs } from './finetuneFold';
import { writeFoldResult } from './results';

/** One clip of an SER job: its id, speaker and label index; `store`: its feature store when not the job's (cross-corpus test clips). */
export interface JobClip { id: string; speaker: string; label: number; emotion: string; store?: string }

/** One SER model as a worker receives it: finetuneFold's arguments with clip references instead of examples. */
export interface FinetuneJob extends Omit<FinetuneFoldArgs, 'fold' | 'classes' | 'configNote' | 'quiet' | 'onEpoch'> {
  fold: { name: string; train: JobClip[]; dev: JobClip[]; test: JobClip[] };
  classes: string[];
  configNote: Record<string, unknown>;
  normalization: FeatureNormalization;
  /** Feature store holding set "audio" with "fbank". */
  featureStore: string;
  /** runs/ root the record goes under. */
  root: string;
}

export type JobRequest = { kind: 'pretrain'; settings: PretrainSettings } | { kind: 'finetune'; job: FinetuneJob };
export type JobReply =
  | { kind: 'pretrain'; runDir: string; test: Record<string, { accuracy: number; majorityRate: number; n: number }>; seconds: number }
  | { kind: 'finetune'; file: string; metrics: { f1: number; ua: number; wa: number }; bestEpoch: number; seconds: number };

const stores = new Map<string, FeatureStore>();
const fbankCache = new Map<string, { data: Float32Array; frames: number }>();

function fbankOf(storeDir: string, id: string): { data: Float32Array; frames: number } {
  const key = `${storeDir}\0${id}`;
  let v = fbankCache.get(key);
  if (!v) {
    let s = stores.get(storeDir);
    if (!s) { s = openFeatureStore(storeDir); stores.set(storeDir, s); }
    const m = s.get(id, 'fbank');
    v = { data: m.data, frames: m.frames };
    fbankCache.set(key, v);
  }
  return v;
}

/**
 * Train one SER model from a job description; the record is written under job.root. `onModel` gets the
 * trained model before it is disposed (an in-process caller, e.g. lib/finetune/serAttention).
 */
export async function runFinetuneJob(job: FinetuneJob, onEpoch?: (r: unknown) => void, onModel?: FinetuneFoldArgs['onModel']): Promise<JobReply> {
  const t0 = Date.now();
  const raw = (cs: JobClip[]) => cs.map((c) => ({ c, ...fbankOf(c.store ?? job.featureStore, c.id) }));
  const train = raw(job.fold.train);
  const norm = featureNormalizer(job.normalization, train.map((x) => ({ features: x.data, frames: x.frames })), 80);
  const ex = (xs: ReturnType<typeof raw>): Example[] => xs.map(({ c, data, frames }) => ({
    id: c.id, speaker: c.speaker, features: norm.normalize(data, frames), frames, dim: 80, labels: { [SER_HEAD]: c.label }, meta: { emotion: c.emotion },
  }));
  const r = await finetuneFold({
    experiment: job.experiment, protocol: job.protocol, arm: job.arm, init: job.init, mode: job.mode, seed: job.seed,
    fold: { name: job.fold.name, train: ex(train), dev: ex(raw(job.fold.dev)), test: ex(raw(job.fold.test)) },
    classes: job.classes, encoder: job.encoder, hyper: job.hyper,
    configNote: { ...job.configNote, normalization: { mode: job.normalization, stats: norm.stats } },
    runInfo: job.runInfo, quiet: true, workers: job.workers,
    onEpoch: onEpoch ? (rec) => onEpoch(rec) : undefined,
    onModel,
  });
  const file = writeFoldResult(r, job.root);
  return { kind: 'finetune', file, metrics: { f1: r.metrics.f1, ua: r.metrics.ua, wa: r.metrics.wa }, bestEpoch: r.bestEpoch, seconds: (Date.now() - t0) / 1000 };
}

export async function runPretrainJob(settings: PretrainSettings, onEpoch?: (r: unknown) => void): Promise<JobReply> {
  const t0 = Date.now();
  const r = await pretrain(settings, { resume: true, quiet: true, onEpoch: onEpoch ? (rec) => onEpoch(rec) : undefined });
  const test = Object.fromEntries(Object.entries(r.test).map(([h, m]) => [h, { accuracy: m.accuracy, majorityRate: m.majorityRate, n: m.n }]));
  disposePretrain(r);
  return { kind: 'pretrain', runDir: r.runDir, test, seconds: (Date.now() - t0) / 1000 };
}

if (process.env.EMOLAB_WORKER === '1' && process.send) {
  const ready = initBackend();
  process.on('message', async (m: { type: string; id: string; request: JobRequest }) => {
    if (m.type !== 'job') return;
    const progress = (p: unknown) => process.send!({ type: 'progress', id: m.id, progress: p });
    try {
      await ready;
      const reply = m.request.kind === 'pretrain' ? await runPretrainJob(m.request.settings, progress) : await runFinetuneJob(m.request.job, progress);
      process.send!({ type: 'result', id: m.id, ok: true, reply });
    } catch (e) {
      process.send!({ type: 'result', id: m.id, ok: false, message: errorMessage(e) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
