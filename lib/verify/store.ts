/**
 * Structural check of a feature store (lib/store) behind `emolab verify <store dir>`: for each set,
 * every shard the index lists exists, has a valid safetensors header (offsets inside the file), carries
 * the fingerprint the index recorded, and holds `<clip>/<feature>` tensors of the recorded frame count
 * and dims for every clip the index places in it. A truncated, swapped or stale shard is reported.
 * (Flipped bytes inside tensor data are not detectable here: shards carry input fingerprints, not
 * content hashes.)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import type { FeatureStoreIndex } from '../store/featureStore';
import { readSafetensorsHeader } from '../store/safetensors';
import { tensorName } from '../store/featureStore';

export interface ShardCheck {
  set: string;
  file: string;
  problems: string[];
}

export interface StoreVerifyReport {
  dir: string;
  shards: ShardCheck[];
  ok: boolean;
}

/** Set folders of a store root (or the folder itself when it holds index.json). */
function setDirs(dir: string): string[] {
  if (existsSync(join(dir, 'index.json'))) return [dir];
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'index.json'))).map((d) => join(dir, d.name)).sort();
}

/** True when `dir` holds a feature store (index.json in it or in a sub-folder). */
export function isFeatureStore(dir: string): boolean {
  return setDirs(dir).length > 0;
}

function checkShard(setDir: string, index: FeatureStoreIndex, shard: number): string[] {
  const entry = index.shards[shard];
  const file = join(setDir, entry.file);
  if (!existsSync(file)) return ['missing'];
  let header: ReturnType<typeof readSafetensorsHeader>;
  try { header = readSafetensorsHeader(file); } catch (e) { return [errorMessage(e).replace(/^emolab store \[[^\]]*\]: /, '')]; }
  const problems: string[] = [];
  let meta: { fingerprint?: string } = {};
  try { meta = JSON.parse(header.metadata.emolab ?? '{}') as typeof meta; } catch { problems.push('shard metadata is not JSON'); }
  if (meta.fingerprint !== entry.fingerprint) problems.push(`fingerprint ${meta.fingerprint} differs from the index (${entry.fingerprint}): a stale or swapped shard`);
  for (const [clip, where] of Object.entries(index.clips)) {
    if (where.shard !== shard) continue;
    for (const [feature, spec] of Object.entries(index.features)) {
      const t = header.entries[tensorName(clip, feature)];
      if (!t) problems.push(`no tensor ${clip}/${feature}`);
      else if (t.shape[0] !== where.frames || t.shape[1] !== spec.dims) problems.push(`${clip}/${feature} is [${t.shape}], index says [${where.frames},${spec.dims}]`);
    }
  }
  return problems;
}

/** Check every shard of every set of a feature store against its index. */
export function verifyFeatureStore(dir: string): StoreVerifyReport {
  const sets = setDirs(dir);
  if (sets.length === 0) throw new EmolabError('store', 'no feature store here (no index.json in it or its sub-folders)', { file: dir });
  const shards: ShardCheck[] = [];
  for (const setDir of sets) {
    const file = join(setDir, 'index.json');
    let index: FeatureStoreIndex;
    try { index = JSON.parse(readFileSync(file, 'utf8')) as FeatureStoreIndex; } catch (e) { throw new EmolabError('store', `cannot read feature index: ${errorMessage(e)}`, { file }); }
    if (index === null || typeof index !== 'object' || index.format !== 'emolab-feature-store' || !Array.isArray(index.shards) || index.clips === null || typeof index.clips !== 'object' || index.features === null || typeof index.features !== 'object') {
      throw new EmolabError('store', 'not a complete emolab feature-store index', { file });
    }
    index.shards.forEach((s, i) => shards.push({ set: index.set, file: join(setDir, s.file), problems: checkShard(setDir, index, i) }));
  }
  return { dir, shards, ok: shards.every((s) => s.problems.length === 0) };
}

/** Human-readable lines for a store report. Pure. */
export function formatStoreReport(r: StoreVerifyReport): string {
  const bad = r.shards.filter((s) => s.problems.length);
  return [
    `${r.dir} (feature store)`,
    ...bad.flatMap((s) => [`  BAD  ${s.file}`, ...s.problems.slice(0, 5).map((p) => `         ${p}`)]),
    bad.length ? `${bad.length} of ${r.shards.length} shards do not match their index` : `all ${r.shards.length} shards match their index`,
  ].join('\n');
}
