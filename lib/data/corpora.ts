/**
 * The one corpus argument of every command and notebook that reads a corpus, and the one function
 * that resolves it (`resolveCorpus`): the CLI's `--corpus`, `emolab pseudo`, `emolab pretrain`,
 * `emolab finetune --corpus/--train/--test`, pretraining (lib/train), the face-derived targets
 * (lib/pseudo) and the notebooks all come here.
 *
 *   emodb | crema-d | ravdess | mead | av-speech-unlabeled (alias av) | grid | mead-dreamtalk
 *                     a corpus by name, in its folder under EMOLAB_DATA
 *   <folder>          a folder holding labels.csv (file, speaker, emotion, ...; `,` `;` or tab) beside
 *                     its media, or subfolders that each hold one (like av-speech-unlabeled)
 *   <manifest.csv>    a manifest saved by `emolab data manifest --out` (lib/data/manifest-csv)
 *   a+b               several corpora joined into one manifest (clip ids must not collide)
 *
 * `folder:<dir>` (the old `emolab pseudo` form) is accepted with a deprecation line.
 */
import { shortHash } from '../hash';
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { EmolabError } from '../errors';
import { dataRoot, datasetDir } from '../paths';
import { cremadManifest, CREMAD_LAYOUT } from './cremad';
import { emodbManifest, EMODB_LAYOUT } from './emodb';
import { AV_SPEECH_LAYOUT, folderManifest, unlabeledAvManifest } from './folder';
import { loadManifestCsv } from './manifest-csv';
import { meadManifest, MEAD_LAYOUT } from './mead';
import { ravdessManifest, RAVDESS_LAYOUT } from './ravdess';
import type { Clip, Manifest } from './types';

/** Corpora known by name (each has its folder under EMOLAB_DATA). */
export const NAMED_CORPORA = ['emodb', 'crema-d', 'ravdess', 'mead', 'av-speech-unlabeled', 'grid', 'mead-dreamtalk'] as const;
export type NamedCorpus = (typeof NAMED_CORPORA)[number];

/** Everything `--corpus` accepts, for usage lines and messages. */
export const CORPUS_CHOICES = 'emodb|crema-d|ravdess|mead|av-speech-unlabeled|grid|<folder>|<manifest.csv>';

/** The usage line of the corpus argument, shared by every command's help. */
export const CORPUS_HELP = `--corpus ${CORPUS_CHOICES}   (a folder holds labels.csv with file, speaker, emotion columns beside its media; several joined with "+")`;

/** @deprecated kept for older callers: the named corpora plus 'folder' (use resolveCorpus with a path instead). */
export const CORPORA = ['emodb', 'crema-d', 'ravdess', 'mead', 'av-speech-unlabeled', 'folder'] as const;
export type CorpusName = (typeof CORPORA)[number];

export function isCorpusName(s: string): s is CorpusName {
  return (CORPORA as readonly string[]).includes(s);
}

export const isNamedCorpus = (s: string): s is NamedCorpus => (NAMED_CORPORA as readonly string[]).includes(s) || s === 'av';

export interface CorpusOptions {
  /** Root folder of a named corpus (default: its folder under EMOLAB_DATA). Ignored for folders and CSVs. */
  root?: string;
  /** EmoDB: drop boredom. */
  boredom?: 'keep' | 'drop';
  /**
   * A folder corpus must have emotion labels (SER): a labels CSV without an emotion column is an
   * error and rows without one are quarantined. Default false (pretraining needs no labels).
   */
  labelled?: boolean;
}

/** What a corpus argument names, before anything is read. */
export interface CorpusRef {
  /** The argument as given (aliases resolved). */
  spec: string;
  kind: 'named' | 'folder' | 'manifest' | 'joined';
  /** Absolute path for folders and manifest CSVs. */
  path?: string;
  /**
   * A name safe for folder and experiment names, unique per corpus: the name for named corpora,
   * `<folder name>-<8 hex of its absolute path>` for folders and manifest CSVs, parts joined by "+".
   */
  key: string;
}

let warnedFolderPrefix = false;

const pathKey = (name: string, abs: string): string =>
  `${name.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[._]+/, '') || 'corpus'}-${shortHash(abs, 8)}`;

/** Parse a corpus argument (no data is read; a path that does not exist is a clear error). */
export function corpusRef(spec: string): CorpusRef {
  const raw = spec.trim();
  if (!raw) throw new EmolabError('data', 'empty corpus argument', { hint: `use ${CORPUS_HELP}` });
  if (raw.startsWith('folder:')) {
    if (!warnedFolderPrefix) { warnedFolderPrefix = true; console.error(`emolab: "folder:<dir>" is deprecated: pass the folder itself (--corpus ${raw.slice(7)})`); }
    return corpusRef(raw.slice(7));
  }
  if (raw.includes('+') && !existsSync(resolve(raw))) {
    const parts = raw.split('+').map((x) => x.trim()).filter(Boolean).map(corpusRef);
    return { spec: parts.map((p) => p.spec).join('+'), kind: 'joined', key: parts.map((p) => p.key).join('+') };
  }
  if (raw === 'av') return { spec: 'av-speech-unlabeled', kind: 'named', key: 'av-speech-unlabeled' };
  if (isNamedCorpus(raw) && !existsSync(resolve(raw))) return { spec: raw, kind: 'named', key: raw };
  if (raw === 'folder') throw new EmolabError('data', 'the corpus "folder" needs its path: pass the folder itself', { hint: 'e.g. --corpus /data/mycorpus (a folder holding labels.csv and the media)' });
  const abs = resolve(raw);
  if (!existsSync(abs)) {
    throw new EmolabError('data', `unknown corpus "${raw}": neither a known name (${NAMED_CORPORA.join(', ')}) nor an existing folder or manifest CSV`, { file: abs, hint: `use ${CORPUS_HELP}` });
  }
  if (statSync(abs).isDirectory()) return { spec: abs, kind: 'folder', path: abs, key: pathKey(basename(abs), abs) };
  if (/\.csv$/i.test(abs)) return { spec: abs, kind: 'manifest', path: abs, key: pathKey(basename(abs).replace(/\.csv$/i, ''), abs) };
  throw new EmolabError('data', `corpus "${raw}" is a file but not a manifest .csv`, { file: abs, hint: `use ${CORPUS_HELP}` });
}

function namedManifest(name: NamedCorpus, opts: CorpusOptions): Manifest {
  switch (name) {
    case 'emodb': return emodbManifest(opts.root ?? datasetDir(EMODB_LAYOUT), { boredom: opts.boredom });
    case 'crema-d': return cremadManifest(opts.root ?? datasetDir(CREMAD_LAYOUT));
    case 'ravdess': return ravdessManifest(opts.root ?? datasetDir(RAVDESS_LAYOUT));
    case 'mead': return meadManifest(opts.root ?? datasetDir(MEAD_LAYOUT));
    case 'av-speech-unlabeled': return unlabeledAvManifest(opts.root ?? datasetDir(AV_SPEECH_LAYOUT));
    case 'grid': {
      const dir = opts.root ?? join(dataRoot(), 'grid');
      if (!existsSync(dir)) throw new EmolabError('data', 'the GRID corpus is not on disk', { file: dir, hint: 'run: npx emolab data fetch grid   (or set EMOLAB_DATA to a folder holding grid/)' });
      return unlabeledAvManifest(dir, 'grid');
    }
    case 'mead-dreamtalk': {
      const dir = opts.root ?? MEAD_DREAMTALK_DIR();
      if (!existsSync(join(dir, 'labels.csv'))) {
        throw new EmolabError('data', 'MEAD dreamtalk clips not found', { file: dir, hint: 'set EMOLAB_DATA to the folder holding mead-samples/dreamtalk/ (24 mp4 + labels.csv)' });
      }
      return folderManifest(dir, { corpus: 'mead-dreamtalk' });
    }
  }
}

/** The 24 emotion-labelled MEAD face clips (no audio) used by notebook 04. */
export const MEAD_DREAMTALK_DIR = (): string => join(dataRoot(), 'mead-samples', 'dreamtalk');

function folderCorpus(dir: string, opts: CorpusOptions): Manifest {
  if (existsSync(join(dir, 'labels.csv'))) return folderManifest(dir, { allowUnlabeled: !opts.labelled });
  try {
    return unlabeledAvManifest(dir, basename(dir));
  } catch (e) {
    if (e instanceof EmolabError) {
      throw new EmolabError('data', 'this folder is not a corpus: it has no labels.csv, and no subfolder has one', {
        file: dir, hint: 'a corpus folder holds labels.csv (columns file, speaker, emotion; "," ";" or tab) and the media it names, e.g. wav/<name>.wav',
      });
    }
    throw e;
  }
}

/** Join manifests into one (corpus name = the joined spec); clip ids must not collide. */
export function joinManifests(spec: string, manifests: Manifest[]): Manifest {
  const seen = new Map<string, string>();
  const clips: Clip[] = [];
  for (const m of manifests) {
    for (const c of m.clips) {
      const prev = seen.get(c.id);
      if (prev) throw new EmolabError('data', `clip id "${c.id}" is in both ${prev} and ${m.corpus}; joined corpora need distinct ids`, { file: m.root });
      seen.set(c.id, m.corpus);
      clips.push({ ...c, corpus: spec, extra: { ...c.extra, sourceCorpus: m.corpus } });
    }
  }
  return { ...manifests[0], corpus: spec, root: manifests.map((m) => m.root).join('+'), clips, quarantine: manifests.flatMap((m) => m.quarantine) };
}

/** The manifest of a corpus argument (see the module comment); every corpus-reading stage calls this. */
export function resolveCorpus(spec: string, opts: CorpusOptions = {}): Manifest {
  const ref = corpusRef(spec);
  if (ref.kind === 'joined') return joinManifests(ref.spec, ref.spec.split('+').map((p) => resolveCorpus(p, { ...opts, root: undefined })));
  if (ref.kind === 'named') return namedManifest(ref.spec === 'av' ? 'av-speech-unlabeled' : (ref.spec as NamedCorpus), opts);
  if (ref.kind === 'manifest') return loadManifestCsv(ref.path!);
  return folderCorpus(ref.path!, opts);
}

/**
 * The manifest of a corpus by name (older signature of resolveCorpus): `corpusManifest('emodb')`,
 * `corpusManifest('<folder>')`; `corpusManifest('folder', { root })` is the deprecated form of the CLI's
 * `data manifest folder --root DIR`.
 */
export function corpusManifest(name: string, opts: CorpusOptions = {}): Manifest {
  if (name === 'folder') {
    if (!opts.root) throw new EmolabError('data', 'the folder corpus needs its path', { hint: 'pass the folder itself as the corpus (e.g. emolab data manifest /data/mycorpus)' });
    return resolveCorpus(opts.root, { ...opts, root: undefined });
  }
  return resolveCorpus(name, opts);
}
