/**
 * Checks of what a feature store was built from, made before work starts: `checkStoreFor` refuses to write a
 * set into a folder that holds another corpus, other settings or another part; `assertStoreFor` refuses to
 * read a store for a manifest it was not built for. Each names the folder and both fingerprints.
 */
import type { Manifest } from '../data/types';
import { EmolabError } from '../errors';
import { formatPart, type PartSpec } from './partition';
import {
  manifestRecord, readIndexIfAny, readPartIntent, settingsFingerprint, type FeatureSet, type FeatureStore, type FeatureStoreIndex,
} from './featureStoreFormat';

const storeSettingsFp = (i: FeatureStoreIndex): string => i.settings?.fingerprint ?? settingsFingerprint({ name: i.set, version: i.setVersion, params: i.params });

function paramDiff(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].filter((k) => JSON.stringify(a?.[k]) !== JSON.stringify(b?.[k]));
  return keys.slice(0, 4).map((k) => `${k}: ${JSON.stringify(a?.[k])} vs ${JSON.stringify(b?.[k])}`).join('; ');
}

/**
 * Refuse, before any work, to write `set` for `manifest` into a set folder that holds features of another
 * corpus, of other settings, or of another part of a sharded extraction. The same corpus and settings with
 * another clip list is allowed: the store is re-indexed for the new manifest and every shard whose inputs
 * are unchanged is kept (profiles that select different clips of one corpus share its store).
 */
export function checkStoreFor(setDir: string, manifest: Pick<Manifest, 'corpus' | 'clips'>, set: Pick<FeatureSet, 'name' | 'version' | 'params'>, part?: PartSpec, rebuild = false): void {
  const index = readIndexIfAny(setDir);
  const intent = readPartIntent(setDir);
  const want = manifestRecord(manifest);
  const wantSettings = settingsFingerprint(set);
  const hint = 'write to another --out folder, or delete this one to rebuild it (settings changed on purpose: --rebuild)';
  if (index) {
    const have = index.manifest ?? { corpus: index.corpus, fingerprint: '(not recorded)', clips: Object.keys(index.clips).length + index.quarantine.length };
    if (index.corpus !== manifest.corpus) {
      throw new EmolabError('store', `feature store ${setDir} holds corpus "${index.corpus}" (manifest ${have.fingerprint}, ${have.clips} clips), not "${manifest.corpus}" (manifest ${want.fingerprint}, ${want.clips} clips)`, { file: setDir, hint });
    }
    if (!rebuild && storeSettingsFp(index) !== wantSettings) {
      throw new EmolabError('store', `feature store ${setDir} was built with other "${set.name}" settings (${storeSettingsFp(index)}, version ${index.setVersion}) than these (${wantSettings}, version ${set.version})${index.setVersion === set.version ? `: ${paramDiff(index.params, set.params)}` : ''}`, { file: setDir, hint });
    }
  }
  const existingPart = index?.part ? { index: index.part.index, count: index.part.count } : intent?.part;
  const existingFp = index?.manifest?.fingerprint ?? intent?.manifest.fingerprint;
  if (existingPart && !part) throw new EmolabError('store', `${setDir} holds shard ${formatPart(existingPart)} of a sharded extraction, not a whole store`, { file: setDir, hint: 'merge the shards with `emolab store merge <parts...> --out <store>`, or write to another --out folder' });
  if (part && index && !index.part) throw new EmolabError('store', `${setDir} holds a whole store, not shard ${formatPart(part)}`, { file: setDir, hint: 'give each shard its own --out folder' });
  if (part && existingPart && (existingPart.index !== part.index || existingPart.count !== part.count)) {
    throw new EmolabError('store', `${setDir} holds shard ${formatPart(existingPart)}, not ${formatPart(part)}`, { file: setDir, hint: 'give each shard its own --out folder' });
  }
  if (part && existingFp && existingFp !== want.fingerprint) {
    throw new EmolabError('store', `shard folder ${setDir} was started for manifest ${existingFp}, not this one (${want.fingerprint}, corpus ${manifest.corpus})`, { file: setDir, hint });
  }
  if (part && intent && !rebuild && intent.settings.fingerprint !== wantSettings) {
    throw new EmolabError('store', `shard folder ${setDir} was started with other "${set.name}" settings (${intent.settings.fingerprint}) than these (${wantSettings})`, { file: setDir, hint });
  }
}

/**
 * Check that a store opened for reading belongs to `manifest`: every set was built for the same corpus, and
 * lists every clip of the manifest (computed or quarantined). Throws an EmolabError naming the store
 * folder, both corpora and both manifest fingerprints. (A store may hold more clips than the manifest.)
 */
export function assertStoreFor(store: FeatureStore, manifest: Pick<Manifest, 'corpus' | 'clips'>, sets: string[] = store.sets()): void {
  const want = manifestRecord(manifest);
  for (const name of sets) {
    const index = store.index(name);
    const have = index.manifest?.fingerprint ?? '(not recorded)';
    if (index.corpus !== manifest.corpus) {
      throw new EmolabError('store', `feature store ${store.dir} (set "${name}") was built for corpus "${index.corpus}" (manifest ${have}), not for "${manifest.corpus}" (manifest ${want.fingerprint})`, { file: store.dir, hint: `extract the features of ${manifest.corpus}: emolab features extract --corpus ${manifest.corpus} --out <dir>` });
    }
    const listed = new Set(index.shards.flatMap((s) => s.clips));
    const missing = manifest.clips.filter((c) => !listed.has(c.id));
    if (missing.length) {
      throw new EmolabError('store', `feature store ${store.dir} (set "${name}", manifest ${have}) lacks ${missing.length} of the ${manifest.clips.length} clips of this ${manifest.corpus} manifest (${want.fingerprint}), e.g. ${missing.slice(0, 3).map((c) => c.id).join(', ')}`, { file: store.dir, hint: `rerun the extraction with this manifest into that folder (it keeps the shards it has): emolab features extract --corpus ${manifest.corpus} --out ${store.dir}` });
    }
  }
}
