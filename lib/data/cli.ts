/**
 * `emolab data` — fetch, verify, list and split corpora.
 *
 *   emolab data fetch emodb|crema-d [--data DIR] [--url URL]
 *   emolab data fetch grid [--speakers 1-34|1,2,5] [--jobs N] [--delete-archives] [--data DIR] [--url BASE]
 *   emolab data verify emodb|crema-d [--root DIR]
 *   emolab data manifest <corpus> [--root DIR] [--out FILE.csv] [--drop-boredom]
 *   emolab data splits <corpus> [--root DIR] [--partition N] [--seed N --dev N --test N] [--out FILE.json]
 */
import { EmolabError } from '../errors';
import { datasetDir } from '../paths';
import { flagFloat, flagInt, flagNumber, flagString, parseArgs } from '../args';
import { writeJsonAtomic } from '../atomic';
import { corpusManifest, CORPUS_CHOICES } from './corpora';
import { CREMAD_LAYOUT, CREMAD_PARTITIONS_LAYOUT, loadCremadPartition, mediaPresent } from './cremad';
import { EMODB_LAYOUT, emodbFolds } from './emodb';
import { fetchCremad, fetchEmodb, verifyEmodb } from './fetch';
import { fetchGrid } from './gridFetch';
import { saveManifestCsv } from './manifest-csv';
import { formatQuarantine } from './quarantine';
import { speakerIndependentSplit, speakerSets } from './splits';
import type { Manifest, Split } from './types';

export const USAGE = `emolab data fetch emodb|crema-d [--data DIR] [--url URL]
emolab data fetch grid [--speakers 1-34|1,2,5] [--jobs N] [--delete-archives] [--data DIR] [--url BASE]
emolab data verify emodb|crema-d [--root DIR]
emolab data manifest <corpus> [--root DIR] [--out FILE.csv] [--drop-boredom]
emolab data splits <corpus> [--root DIR] [--partition N] [--seed N] [--dev N] [--test N] [--out FILE.json]
<corpus>: ${CORPUS_CHOICES} (a folder holds labels.csv with file, speaker, emotion beside its media);
--root DIR: a named corpus's folder when it is not under EMOLAB_DATA`;

function summary(m: Manifest): string {
  const counts = new Map<string, number>();
  for (const c of m.clips) counts.set(c.emotion ?? '(none)', (counts.get(c.emotion ?? '(none)') ?? 0) + 1);
  const hours = m.clips.reduce((s, c) => s + (c.durationS ?? 0), 0) / 3600;
  return [
    `${m.corpus} at ${m.root}: ${m.clips.length} clips, ${new Set(m.clips.map((c) => c.speaker)).size} speakers, ${hours.toFixed(2)} h with known duration`,
    `emotions: ${[...counts].sort((a, b) => b[1] - a[1]).map(([e, n]) => `${e} ${n}`).join(', ')}`,
    `quarantined: ${m.quarantine.length}${m.quarantine.length ? '\n' + formatQuarantine(m.quarantine.slice(0, 20)) + (m.quarantine.length > 20 ? `\n... and ${m.quarantine.length - 20} more` : '') : ''}`,
  ].join('\n');
}

function describeSplit(s: Split, m: Manifest): string {
  const sets = speakerSets(s, m.clips);
  const by = (set: string) => [...sets].filter(([, v]) => v === set).map(([k]) => k).sort();
  return `${s.name}: train ${s.train.length} clips / ${by('train').length} speakers, dev ${s.dev.length} / ${by('dev').length} [${by('dev').join(' ')}], test ${s.test.length} / ${by('test').length} [${by('test').join(' ')}]`;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const a = parseArgs(`data ${sub ?? ''}`.trim(), rest, { values: ['data', 'url', 'root', 'out', 'partition', 'seed', 'dev', 'test', 'speakers', 'jobs'], booleans: ['drop-boredom', 'delete-archives'] });
  let corpus = a.positionals[0];
  let root = flagString(a, 'root');
  if (corpus === 'folder' && root !== undefined) {
    console.error(`emolab data ${sub}: "folder --root DIR" is deprecated: pass the folder itself (emolab data ${sub} ${root})`);
    corpus = root; root = undefined;
  }
  switch (sub) {
    case 'fetch': {
      const dataDir = flagString(a, 'data');
      if (corpus === 'emodb') await fetchEmodb({ dataDir, url: flagString(a, 'url') });
      else if (corpus === 'crema-d') await fetchCremad({ dataDir, repo: flagString(a, 'url') });
      else if (corpus === 'grid') {
        const jobs = flagNumber(a, 'data fetch', 'jobs');
        if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new EmolabError('cli', `emolab data fetch: --jobs must be a whole number >= 1, got ${jobs}`);
        await fetchGrid({ dataDir, url: flagString(a, 'url'), speakers: flagString(a, 'speakers'), jobs, deleteArchives: a.flags['delete-archives'] === true });
      } else throw new EmolabError('cli', `emolab data fetch: corpus must be grid, emodb or crema-d, got "${corpus ?? ''}"`, { hint: 'RAVDESS and MEAD need a manual download: see the RAVDESS_LAYOUT / MEAD_LAYOUT notes in lib/data' });
      return 0;
    }
    case 'verify': {
      if (corpus === 'emodb') {
        const dir = root ?? datasetDir(EMODB_LAYOUT);
        const v = verifyEmodb(dir);
        for (const w of v.warnings) console.log(`warning: ${w}`);
        console.log(`EmoDB at ${dir}: ${v.ok}/${v.expected} files match the shipped SHA-256 list; ${v.missing.length} WAV missing, ${v.mismatched.length} WAV differ`);
        if (v.missing.length || v.mismatched.length) {
          console.log([...v.missing.map((p) => `missing: ${p}`), ...v.mismatched.map((p) => `differs: ${p}`)].slice(0, 50).join('\n'));
          return 1;
        }
        return 0;
      }
      if (corpus === 'crema-d') {
        const m = corpusManifest('crema-d', { root: root ?? datasetDir(CREMAD_LAYOUT) });
        const media = mediaPresent(m);
        console.log(summary(m));
        console.log(`media present: ${media.audio}/${media.clips} audio, ${media.video}/${media.clips} video`);
        return media.audio === media.clips ? 0 : 1;
      }
      throw new EmolabError('cli', `emolab data verify: corpus must be emodb or crema-d, got "${corpus ?? ''}"`);
    }
    case 'manifest': {
      if (!corpus) throw new EmolabError('cli', 'emolab data manifest: which corpus?', { hint: USAGE });
      const m = corpusManifest(corpus, { root, boredom: a.flags['drop-boredom'] ? 'drop' : 'keep' });
      console.log(summary(m));
      const out = flagString(a, 'out');
      if (out) { saveManifestCsv(m, out); console.log(`wrote ${out} (and its .quarantine.csv)`); }
      return 0;
    }
    case 'splits': {
      if (!corpus) throw new EmolabError('cli', 'emolab data splits: which corpus?', { hint: USAGE });
      let splits: Split[];
      let m: Manifest;
      if (corpus === 'crema-d' && flagNumber(a, 'data splits', 'seed') === undefined) {
        const p = loadCremadPartition(flagNumber(a, 'data splits', 'partition', 1)!, root ?? datasetDir(CREMAD_PARTITIONS_LAYOUT));
        splits = [p.split]; m = p.manifest;
      } else if (corpus === 'emodb' && flagNumber(a, 'data splits', 'seed') === undefined) {
        m = corpusManifest('emodb', { root }); splits = emodbFolds(m);
      } else {
        m = corpusManifest(corpus, { root });
        splits = [speakerIndependentSplit(m.clips, { seed: flagInt(a, 'data splits', 'seed', { min: 0 }, 0), dev: flagFloat(a, 'data splits', 'dev', { min: 0 }), test: flagFloat(a, 'data splits', 'test', { min: 0 }) })];
      }
      for (const s of splits) console.log(describeSplit(s, m));
      const out = flagString(a, 'out');
      if (out) { writeJsonAtomic(out, splits); console.log(`wrote ${out}`); }
      return 0;
    }
    default:
      console.log(USAGE);
      return sub ? 2 : 0;
  }
}
