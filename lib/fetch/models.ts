/**
 * The model registry and its downloads: every model emolab can fetch, with its official URL and where
 * it lives under EMOLAB_MODELS. `npx emolab models [list|verify|fetch]` (lib/commands/models) reads it.
 *
 * - A single-file model with a pinned sha256 (`MODEL_SPECS`: the MediaPipe Face Landmarker) is fetched
 *   by `fetchModel`: ./download (resumable), size and sha256 checked before the file appears.
 * - A model made of several files without pinned hashes (`MODEL_BUNDLES`: HuBERT Base, config.json +
 *   model.safetensors from the Hugging Face hub) is fetched by its owner, which validates the files by
 *   structure (lib/models/hubertFetch) through the same downloader.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EmolabError } from '../errors';
import { sha256File } from '../hash';
import { modelsRoot } from '../paths';
import { downloadResumable, type DownloadOptions } from './download';

export interface ModelSpec {
  /** Registry name, used on the command line. */
  name: string;
  /** What it is, one line. */
  description: string;
  /** Official download URL. */
  url: string;
  /** Lower-case hex sha256 of the exact bytes. */
  sha256: string;
  /** File name under EMOLAB_MODELS. */
  file: string;
  /** Size in bytes, when known (checked before hashing, and shown in progress). */
  bytes?: number;
}

/** A model of several files in one folder under EMOLAB_MODELS, fetched from `baseUrl + file`. */
export interface ModelBundleSpec {
  name: string;
  description: string;
  baseUrl: string;
  files: readonly string[];
  /** The command that fetches it. */
  fetchCommand: string;
}

export const MODEL_SPECS: Record<string, ModelSpec> = {
  'face-landmarker': {
    name: 'face-landmarker',
    description: 'MediaPipe Face Landmarker v1 (float16) with blendshapes — 478 landmarks + 52 blendshapes',
    url: 'https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/face_landmarker.task',
    sha256: '64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff',
    file: 'face_landmarker.task',
    bytes: 3_758_596,
  },
};

/** facebook/hubert-base-ls960 (LibriSpeech 960 h, no fine-tuning) in $EMOLAB_MODELS/hubert-base-ls960/. */
export const HUBERT_BASE = {
  name: 'hubert-base-ls960',
  description: 'HuBERT Base (facebook/hubert-base-ls960), 94 M parameters: config.json + model.safetensors',
  baseUrl: 'https://huggingface.co/facebook/hubert-base-ls960/resolve/main/',
  files: ['config.json', 'model.safetensors'],
  fetchCommand: 'npx emolab hubert fetch',
} as const satisfies ModelBundleSpec;

export const MODEL_BUNDLES: Record<string, ModelBundleSpec> = { [HUBERT_BASE.name]: HUBERT_BASE };

export function modelSpec(name: string): ModelSpec {
  const spec = MODEL_SPECS[name];
  if (!spec) throw new EmolabError('models', `unknown model "${name}"`, { hint: `known models: ${[...Object.keys(MODEL_SPECS), ...Object.keys(MODEL_BUNDLES)].join(', ')}` });
  return spec;
}

export const fetchCommand = (spec: ModelSpec): string => `npx emolab models fetch ${spec.name}`;

/** Absolute path of a model's file under EMOLAB_MODELS, or a clear error saying how to get it. */
export function modelFile(spec: ModelSpec, env: NodeJS.ProcessEnv = process.env): string {
  const p = join(modelsRoot(env), spec.file);
  if (!existsSync(p)) {
    throw new EmolabError('models', `model "${spec.name}" (${spec.file}) not found in ${modelsRoot(env)}`, {
      file: p,
      hint: `set EMOLAB_MODELS to the folder holding ${spec.file}, or run: ${fetchCommand(spec)}`,
    });
  }
  return p;
}

/** Throw a clear error when `file` is not the exact model of `spec` (size, then sha256). */
export function verifyModelFile(spec: ModelSpec, file: string): void {
  const size = statSync(file).size;
  const hint = `the file is damaged or a different version: delete it and run ${fetchCommand(spec)}`;
  if (spec.bytes !== undefined && size !== spec.bytes) {
    throw new EmolabError('models', `model "${spec.name}" has ${size} bytes, expected ${spec.bytes}`, { file, hint });
  }
  const got = sha256File(file);
  if (got !== spec.sha256) {
    throw new EmolabError('models', `model "${spec.name}" has sha256 ${got}, expected ${spec.sha256}`, { file, hint });
  }
}

export interface FetchModelOptions extends DownloadOptions {
  /** Target folder; default EMOLAB_MODELS. */
  dir?: string;
  /** Re-download even when a verified file is present (it is replaced only by a verified download). */
  force?: boolean;
}

export interface FetchModelResult { file: string; status: 'present' | 'downloaded'; bytes: number }

/**
 * Download `spec.url` to `dir/spec.file` (resumable), verifying size and sha256 before the file
 * appears. A file already present and verified is kept. Network failures, HTTP errors and checksum
 * mismatches are EmolabErrors that name the URL and say how to place the file by hand.
 */
export async function fetchModel(spec: ModelSpec, opts: FetchModelOptions = {}): Promise<FetchModelResult> {
  const dir = opts.dir ?? modelsRoot();
  const target = join(dir, spec.file);
  if (!opts.force && existsSync(target)) {
    verifyModelFile(spec, target);
    return { file: target, status: 'present', bytes: statSync(target).size };
  }
  const manual = `run the command again (a partial download is resumed), or download ${spec.url} by other means and place it at ${target} (sha256 ${spec.sha256})`;
  const into = opts.force ? `${target}.download` : target;
  if (into !== target) rmSync(into, { force: true }); // never taken as complete unverified
  const r = await downloadResumable(spec.url, into, { ...opts, sha256: spec.sha256, bytes: spec.bytes, what: `model "${spec.name}"`, stage: 'models', hint: manual });
  if (into !== target) renameSync(into, target);
  return { file: target, status: 'downloaded', bytes: r.bytes };
}
