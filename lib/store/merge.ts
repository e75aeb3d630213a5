/**
 * `emolab store merge <parts...> --out <store>`: join the partial stores of a sharded extraction
 * (`features extract --shard i/n --out <part>`, one per process or cluster task) into the store that one
 * process would have written for the same manifest and settings, byte for byte.
 *
 * Before anything is written, the parts are checked against each other: all come from the same manifest
 * (fingerprint and clip layout), the same feature-set settings and shard size, and the same shard count n;
 * every shard 0..n-1 is there exactly once and has finished (its index.json is written last); no clip is
 * in two shards and none is in no shard; every chunk file the part's index lists is on disk with the
 * fingerprint the index recorded. Anything else is refused with an error that names the shard and folder.
 *
 * Then each shard of the merged layout (`shardSize` consecutive clips of the manifest) is re-packed from
 * the parts' tensors with the metadata a single run writes, atomically, and the index is written last.
 * A killed merge resumes (finished output shards are kept by fingerprint). Parts may hold several
 * feature sets (audio, face): each set is merged on its own.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { progress } from '../show/progress';
import { writeFileAtomic, writeJsonAtomic } from '../atomic';
import {
  buildIndex, checkStoreFor, existingShard, readIndexIfAny, readPartIntent, settingsFingerprint, tensorName,
  type FeatureStoreIndex, type QuarantinedClip, type ShardJob, type ShardResult,
} from './featureStore';
import { acquireLock } from './lock';
import { formatPart } from './partition';
import { encodeSafetensors, readSafetensorsHeader } from './safetensors';

export interface MergeOptions {
  /** Part folders: store roots (`<part>/<set>/index.json`) or set folders (`<part>/index.json`). */
  parts: string[];
  /** Store root of the merged store (`<out>/<set>/`). */
  out: string;
  quiet?: boolean;
}

export interface MergedSet {
  set: string;
  dir: string;
  corpus: string;
  parts: number;
  shards: number;
  clips: number;
  quarantined: number;
  /** Output shards kept from an earlier, interrupted merge. */
  resumedShards: number;
}

export interface MergeSummary {
  sets: MergedSet[];
  seconds: number;
}

interface PartDir {
  dir: string;
  index: FeatureStoreIndex;
}

/** Set folders of one part argument, by set name; an unfinished part (part.json, no index.json) is refused here. */
function setFoldersOf(arg: string): Map<string, string> {
  const dir = resolve(arg);
  if (!existsSync(dir)) throw new EmolabError('store', `shard folder ${dir} does not exist`, { file: dir, hint: 'a shard that never ran (or ran elsewhere): run its `features extract ... --shard i/n --out` command, then merge again' });
  const candidates = existsSync(join(dir, 'index.json')) || existsSync(join(dir, 'part.json'))
    ? [dir]
    : readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(dir, d.name)).filter((d) => existsSync(join(d, 'index.json')) || existsSync(join(d, 'part.json')));
  if (candidates.length === 0) throw new EmolabError('store', `${dir} holds no shard of a sharded extraction (no index.json or part.json in it or its sub-folders)`, { file: dir, hint: 'pass the --out folders of `features extract --shard i/n`' });
  const out = new Map<string, string>();
  for (const setDir of candidates) {
    const index = readIndexIfAny(setDir);
    const intent = readPartIntent(setDir);
    if (!index) {
      const chunks = readdirSync(setDir).filter((f) => f.endsWith('.safetensors')).length;
      const which = intent ? `shard ${formatPart(intent.part)} (${intent.set} of ${intent.manifest.corpus})` : 'this shard';
      throw new EmolabError('store', `${which} at ${setDir} did not finish: no index.json (${chunks} chunk file(s) on disk)`, { file: setDir, hint: 'rerun that shard with the same command; it resumes from the chunks it has, then merge again' });
    }
    out.set(index.set, setDir);
  }
  return out;
}

const describePart = (p: PartDir): string => `shard ${formatPart(p.index.part!)} at ${p.dir}`;

/** All the cross-checks of one set's parts. Pure apart from reading shard headers. */
function checkParts(set: string, parts: PartDir[]): void {
  for (const p of parts) {
    if (!p.index.part) throw new EmolabError('store', `${p.dir} is a whole feature store, not a shard of a sharded extraction`, { file: p.dir, hint: 'merge only the --out folders of `features extract --shard i/n`' });
    if (!p.index.manifest) throw new EmolabError('store', `${p.dir} records no manifest fingerprint`, { file: p.dir });
  }
  const ref = parts[0];
  const r = ref.index;
  for (const p of parts.slice(1)) {
    const i = p.index;
    const foreign = (what: string, a: unknown, b: unknown): never => {
      throw new EmolabError('store', `${describePart(p)} is foreign to ${describePart(ref)}: ${what} ${JSON.stringify(b)} vs ${JSON.stringify(a)}`, { file: p.dir, hint: 'merge only the shards of one extraction (same corpus, manifest, settings and shard count)' });
    };
    if (i.corpus !== r.corpus) foreign('corpus', r.corpus, i.corpus);
    if (i.manifest!.fingerprint !== r.manifest!.fingerprint) foreign('manifest fingerprint', r.manifest!.fingerprint, i.manifest!.fingerprint);
    const sa = i.settings?.fingerprint ?? settingsFingerprint({ name: i.set, version: i.setVersion, params: i.params });
    const sb = r.settings?.fingerprint ?? settingsFingerprint({ name: r.set, version: r.setVersion, params: r.params });
    if (sa !== sb) foreign(`"${set}" settings fingerprint`, sb, sa);
    if (i.shardSize !== r.shardSize) foreign('shard size', r.shardSize, i.shardSize);
    if (i.part!.count !== r.part!.count) foreign('shard count', r.part!.count, i.part!.count);
    if (JSON.stringify(i.part!.layout) !== JSON.stringify(r.part!.layout)) foreign('clip layout (manifest order)', '(layout of the first)', '(another layout)');
  }
  const n = r.part!.count;
  const byIndex = new Map<number, PartDir>();
  for (const p of parts) {
    const k = p.index.part!.index;
    const other = byIndex.get(k);
    if (other) throw new EmolabError('store', `shard ${formatPart(p.index.part!)} is given twice: ${other.dir} and ${p.dir}`, { file: p.dir, hint: 'pass each shard folder once' });
    byIndex.set(k, p);
  }
  const missing = Array.from({ length: n }, (_, k) => k).filter((k) => !byIndex.has(k));
  if (missing.length) {
    throw new EmolabError('store', `shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${n}`).join(', ')} of ${set} (${r.corpus}) ${missing.length > 1 ? 'are' : 'is'} missing; given: ${[...byIndex.keys()].sort((a, b) => a - b).map((k) => `${k}/${n}`).join(', ')}`, {
      hint: 'run the missing shard(s) (features extract ... --shard i/n --out <folder>), then merge all n folders',
    });
  }
  // clip coverage: each clip of the layout in exactly one part
  const owner = new Map<string, PartDir>();
  for (const p of parts) {
    for (const s of p.index.shards) {
      for (const id of s.clips) {
        const o = owner.get(id);
        if (o) throw new EmolabError('store', `clip "${id}" is in both ${describePart(o)} and ${describePart(p)} (overlapping shards)`, { file: p.dir });
        owner.set(id, p);
      }
    }
  }
  const layoutClips = r.part!.layout.flatMap((s) => s.clips);
  const uncovered = layoutClips.filter((id) => !owner.has(id));
  if (uncovered.length) throw new EmolabError('store', `${uncovered.length} clip(s) of the manifest are in no shard, e.g. ${uncovered.slice(0, 3).join(', ')}`, { hint: 'the shards were not all run with the same manifest; rerun them' });
  if (owner.size !== layoutClips.length) {
    const extra = [...owner.keys()].filter((id) => !layoutClips.includes(id));
    throw new EmolabError('store', `shards hold ${extra.length} clip(s) that are not in the manifest layout, e.g. ${extra.slice(0, 3).join(', ')}`);
  }
  // every chunk a part lists is there, with its fingerprint
  for (const p of parts) {
    for (const s of p.index.shards) {
      const file = join(p.dir, s.file);
      if (!existsSync(file)) throw new EmolabError('store', `${describePart(p)} lacks its chunk ${s.file}`, { file, hint: 'rerun that shard with the same command (it recomputes what is missing), then merge again' });
      let fp: string | undefined;
      try { fp = (JSON.parse(readSafetensorsHeader(file).metadata.emolab ?? '{}') as { fingerprint?: string }).fingerprint; } catch (e) {
        throw new EmolabError('store', `${describePart(p)}: chunk ${s.file} is unreadable: ${errorMessage(e)}`, { file, hint: 'delete the chunk and rerun that shard with the same command' });
      }
      if (fp !== s.fingerprint) throw new EmolabError('store', `${describePart(p)}: chunk ${s.file} has fingerprint ${fp}, its index says ${s.fingerprint} (stale or swapped)`, { file, hint: 'rerun that shard with the same command, then merge again' });
    }
  }
}

type Header = ReturnType<typeof readSafetensorsHeader>;

/** Merge one feature set's parts into `<out>/<set>/`. */
async function mergeSet(set: string, parts: PartDir[], outRoot: string, quiet: boolean): Promise<MergedSet> {
  checkParts(set, parts);
  const r = parts[0].index;
  const setLike = { name: r.set, version: r.setVersion, params: r.params, features: r.features };
  const outDir = join(outRoot, set);
  // the output must not be foreign either (a store of another corpus or other settings, or a shard)
  const outIndex = readIndexIfAny(outDir);
  if (outIndex?.part || readPartIntent(outDir)) throw new EmolabError('store', `the merge output ${outDir} is itself a shard folder`, { file: outDir, hint: 'merge into a new folder' });
  if (outIndex) checkStoreFor(outDir, { corpus: r.corpus, clips: [] }, setLike);
  for (const p of parts) if (resolve(p.dir) === resolve(outDir)) throw new EmolabError('store', `the merge output ${outDir} is one of the shards`, { file: outDir });

  mkdirSync(outDir, { recursive: true });
  const lock = await acquireLock(outDir, { what: `store merge (${set}) of ${r.corpus}` });
  try {
    for (const f of readdirSync(outDir)) if (f.endsWith('.tmp')) rmSync(join(outDir, f), { force: true });
    // where each clip lives: part, chunk file, frames, or its quarantine entry
    const where = new Map<string, { part: PartDir; file: string; frames?: number; q?: QuarantinedClip }>();
    for (const p of parts) {
      const qOf = new Map(p.index.quarantine.map((q) => [q.clipId, q]));
      for (const s of p.index.shards) {
        for (const id of s.clips) where.set(id, { part: p, file: join(p.dir, s.file), frames: p.index.clips[id]?.frames, q: qOf.get(id) });
      }
    }
    const layout = r.part!.layout;
    const jobs: ShardJob[] = layout.map((s, k) => ({ shard: k, file: join(outDir, s.file), fingerprint: s.fingerprint, clips: s.clips.map((id) => ({ id, corpus: r.corpus, speaker: '' })) }));
    const results: ShardResult[] = [];
    const headers = new Map<string, Header>();
    const header = (file: string): Header => {
      let h = headers.get(file);
      if (!h) { h = readSafetensorsHeader(file); headers.set(file, h); }
      return h;
    };
    const features = Object.keys(r.features);
    const bar = progress(`store merge ${set}`, layout.length, { unit: 'shards', quiet });
    let resumed = 0;
    for (const job of jobs) {
      const kept = existingShard(job);
      if (kept) { results.push(kept); resumed++; bar.tick(); continue; }
      const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
      const frames: Record<string, number> = {};
      const quarantine: QuarantinedClip[] = [];
      for (const clip of job.clips) {
        const w = where.get(clip.id)!;
        if (w.frames === undefined) {
          if (!w.q) throw new EmolabError('store', `clip "${clip.id}" has neither features nor a quarantine entry in ${describePart(w.part)}`, { file: w.part.dir });
          quarantine.push(w.q);
          continue;
        }
        const h = header(w.file);
        const fd = openSync(w.file, 'r');
        try {
          for (const f of features) {
            const name = tensorName(clip.id, f);
            const e = h.entries[name];
            if (!e || e.dtype !== 'F32' || e.shape.length !== 2) throw new EmolabError('store', `${describePart(w.part)} lacks a float32 tensor "${name}"`, { file: w.file });
            const [begin, end] = e.data_offsets;
            const data = new Float32Array((end - begin) / 4);
            readSync(fd, new Uint8Array(data.buffer), 0, end - begin, h.dataStart + begin);
            tensors[name] = { data, shape: [e.shape[0], e.shape[1]] };
          }
        } finally {
          closeSync(fd);
        }
        frames[clip.id] = w.frames;
      }
      // the same metadata, in the same key order, as runShardJob writes
      const result: ShardResult = { shard: job.shard, clips: job.clips.map((c) => c.id), frames, quarantine };
      const metadata = { emolab: JSON.stringify({ fingerprint: job.fingerprint, set: r.set, version: r.setVersion, ...result }) };
      writeFileAtomic(job.file, encodeSafetensors(tensors, metadata));
      results.push(result);
      bar.tick();
    }
    bar.done();
    const index = buildIndex(setLike, r.corpus, r.shardSize, jobs, results, r.manifest);
    writeJsonAtomic(join(outDir, 'index.json'), index);
    return { set, dir: outDir, corpus: r.corpus, parts: parts.length, shards: layout.length, clips: Object.keys(index.clips).length, quarantined: index.quarantine.length, resumedShards: resumed };
  } finally {
    lock.release();
  }
}

/** Merge the shards of a sharded extraction. Refuses a missing, duplicated, unfinished or foreign shard before writing. */
export async function mergeFeatureStores(opts: MergeOptions): Promise<MergeSummary> {
  const t0 = Date.now();
  if (opts.parts.length === 0) throw new EmolabError('store', 'store merge: name the shard folders to merge');
  const bySet = new Map<string, PartDir[]>();
  for (const arg of opts.parts) {
    for (const [set, dir] of setFoldersOf(arg)) {
      const index = readIndexIfAny(dir)!;
      bySet.set(set, [...(bySet.get(set) ?? []), { dir, index }]);
    }
  }
  // every part folder must hold the same sets
  const sets = [...bySet.keys()].sort();
  for (const s of sets) {
    if (bySet.get(s)!.length !== opts.parts.length) {
      const have = new Set(bySet.get(s)!.map((p) => resolve(p.dir, '..')));
      const lacking = opts.parts.map((p) => resolve(p)).filter((p) => !have.has(p) && !bySet.get(s)!.some((x) => resolve(x.dir) === p));
      throw new EmolabError('store', `feature set "${s}" is in ${bySet.get(s)!.length} of the ${opts.parts.length} folders given${lacking.length ? `; not in ${lacking.slice(0, 3).join(', ')}` : ''}`, { hint: 'each folder given must be one shard of the same extraction(s)' });
    }
  }
  for (const s of sets) checkParts(s, bySet.get(s)!); // all checks before any output
  const merged: MergedSet[] = [];
  for (const s of sets) merged.push(await mergeSet(s, bySet.get(s)!, resolve(opts.out), opts.quiet ?? false));
  return { sets: merged, seconds: (Date.now() - t0) / 1000 };
}
