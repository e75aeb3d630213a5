/**
 * Which pretrained encoder an SER arm starts from, and the proof that it never heard the fold's
 * test speakers: a finished pretraining run found through its run.json (lib/train pretrainRun's
 * reader), checked against the fold's test speakers (same corpus only) and the fine-tuning
 * encoder's configuration, recorded as a `FoldPretraining` in every fold record and in
 * runs/ser/<experiment>/pretraining.json.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { EmolabError } from '../errors';
import type { EncoderConfig } from '../models/encoder';
import { pretrainModelFile, PRETRAIN_RUN_FILE, pretrainRunSpeakers, readPretrainRun } from '../train/pretrainRun';
import type { SerFold } from './protocols';

/** A pretrained encoder found under runs/: `runs/<name>/run.json` written by `pretrain()`. */
export interface PretrainedEncoder {
  arm: string;
  task: string;
  run: string;
  checkpoint: string;
  encoder: EncoderConfig;
  /** The corpus it was pretrained on (run.json dataset.corpus). */
  corpus: string;
  /** Every speaker whose audio the run read (train + dev + test of its own split). */
  speakers: string[];
  /** Speakers the run kept out of every step. */
  excludeSpeakers: string[];
  /** The SER fold it was pretrained for, when it was pretrained per fold. */
  fold?: string;
  /** The run.json it was read from. */
  manifest: string;
}

/** What an encoder lookup for one SER fold must respect: that fold's test speakers of `corpus`. */
export interface FoldSpeakers {
  name: string;
  corpus: string;
  test: string[];
}

/** Test speakers of `fold` whose audio the encoder heard (same corpus only: other corpora are other people). */
export function heardTestSpeakers(p: Pick<PretrainedEncoder, 'corpus' | 'speakers'>, fold: FoldSpeakers): string[] {
  if (p.corpus !== fold.corpus) return [];
  const heard = new Set(p.speakers);
  return fold.test.filter((s) => heard.has(s)).sort();
}

/** The encoder of one finished pretraining run (its run.json), for an arm. */
export function pretrainedEncoderAt(runDir: string, arm: string): PretrainedEncoder {
  const file = join(runDir, PRETRAIN_RUN_FILE);
  const run = readPretrainRun(runDir);
  if (!run) throw new EmolabError('train', `pretraining run ${runDir} has no run.json (not finished)`, { file });
  const checkpoint = pretrainModelFile(runDir, run);
  const encoder = run.config?.model?.encoder;
  if (!existsSync(checkpoint) || !encoder) throw new EmolabError('train', `pretraining run ${runDir} has no model or encoder config`, { file });
  return {
    arm, task: run.task ?? arm, run: basename(runDir), checkpoint, encoder, corpus: run.dataset?.corpus ?? '?', speakers: pretrainRunSpeakers(run),
    excludeSpeakers: [...(run.excludeSpeakers ?? [])].sort(), ...(run.fold ? { fold: run.fold } : {}), manifest: file,
  };
}

/** Refuse an encoder that heard a fold's test speakers (same corpus). */
export function assertDisjoint(p: PretrainedEncoder, fold: FoldSpeakers): void {
  const heard = heardTestSpeakers(p, fold);
  if (heard.length) {
    throw new EmolabError('train', `pretrained encoder ${p.run} (task ${p.task}) heard the audio of test speaker(s) ${heard.join(', ')} of SER fold ${fold.name}: test speakers must be kept out of pretraining too`, {
      file: p.manifest, hint: `pretrain it per fold without those speakers (excludeSpeakers: [${heard.map((s) => `'${s}'`).join(', ')}]), or move ${p.run} out of the runs folder`,
    });
  }
}

/** The speakers of an SER fold (all its clips, not a ci subset) as an encoder lookup needs them. */
export function foldSpeakers(fold: SerFold, corpus: string): FoldSpeakers {
  return { name: fold.name, corpus, test: [...new Set(fold.test.map((c) => c.speaker))].sort() };
}

/** Where an arm's encoder came from for one fold, and why it never heard that fold's test speakers. */
export interface FoldPretraining {
  arm: string;
  fold: string;
  run: string;
  corpus: string;
  /** The run's `fold` tag (per-fold encoder) or null (fold-independent encoder). */
  pretrainedForFold: string | null;
  excludeSpeakers: string[];
  serTestSpeakers: string[];
  /** Always empty: assertDisjoint refuses an encoder that heard one. */
  testSpeakersHeard: string[];
  relation: 'fold-specific: pretrained without this fold\'s test speakers' | 'disjoint corpus: other people than the SER test speakers' | 'same corpus, test speakers excluded';
}

/**
 * The encoder an arm starts from for one fold, refused (EmolabError) when it heard the fold's test
 * speakers or has another configuration than the fine-tuning encoder; else its record.
 */
export function checkedFoldPretraining(runDir: string, arm: string, fs: FoldSpeakers, encoder: EncoderConfig): FoldPretraining {
  const p = pretrainedEncoderAt(runDir, arm);
  assertDisjoint(p, fs);
  if (JSON.stringify(p.encoder) !== JSON.stringify(encoder)) {
    throw new EmolabError('train', `pretrained encoder ${p.run} has another configuration than the fine-tuning encoder`, { file: p.manifest, hint: 'every arm must share one encoder configuration (experiment settings: encoder)' });
  }
  return {
    arm, fold: fs.name, run: p.run, corpus: p.corpus, pretrainedForFold: p.fold ?? null, excludeSpeakers: p.excludeSpeakers, serTestSpeakers: fs.test, testSpeakersHeard: heardTestSpeakers(p, fs),
    relation: p.fold === fs.name ? 'fold-specific: pretrained without this fold\'s test speakers' : p.corpus !== fs.corpus ? 'disjoint corpus: other people than the SER test speakers' : 'same corpus, test speakers excluded',
  };
}
