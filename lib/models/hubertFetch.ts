/**
 * The released HuBERT Base checkpoint, facebook/hubert-base-ls960 (LibriSpeech 960 h, no fine-tuning),
 * as two files under `$EMOLAB_MODELS/hubert-base-ls960/`: `config.json` and `model.safetensors`, from
 * https://huggingface.co/facebook/hubert-base-ls960/resolve/main/.
 *
 * The registry entry (URLs, file names) is lib/fetch/models HUBERT_BASE; the files download through
 * lib/fetch/download (resumable, timeouts, offline errors naming the URL). No sha256 is pinned for
 * these files (they could not be fetched where this was written), so a download is validated by
 * structure instead, before it is moved into place: config.json must parse
 * as a HuBERT config, and the safetensors header must hold every tensor that config needs with the
 * right shape (checked from the header alone, before any weight is read). A partial or wrong file
 * therefore never lands at the final path.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EmolabError } from '../errors';
import { downloadResumable } from '../fetch/download';
import { HUBERT_BASE } from '../fetch/models';
import { modelsRoot } from '../paths';
import { readSafetensorsHeader } from '../store/safetensors';
import { canonicalHubertName, hubertParamShapes } from './hubert';
import { loadHubertConfig } from './hubertConfig';

export const hubertBaseFetchCommand = HUBERT_BASE.fetchCommand;

/** Where the base checkpoint lives (whether or not it is there). */
export function hubertBaseDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(modelsRoot(env), HUBERT_BASE.name);
}

/** The base checkpoint folder, or an EmolabError saying exactly where to put which files. */
export function requireHubertBase(env: NodeJS.ProcessEnv = process.env): string {
  const dir = hubertBaseDir(env);
  const missing = HUBERT_BASE.files.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    throw new EmolabError('models', `HuBERT Base (${HUBERT_BASE.name}) not found: missing ${missing.join(', ')}`, {
      file: dir,
      hint: `run ${hubertBaseFetchCommand} (needs internet), or download ${HUBERT_BASE.files.map((f) => HUBERT_BASE.baseUrl + f).join(' and ')} and place them in ${dir}/ (EMOLAB_MODELS=${modelsRoot(env)})`,
    });
  }
  return dir;
}

/** Check that `configFile` + `weightsFile` form a loadable HuBERT checkpoint (header only). */
export function validateHubertFiles(configFile: string, weightsFile: string): void {
  const cfg = loadHubertConfig(configFile);
  const { entries } = readSafetensorsHeader(weightsFile);
  const shapes = hubertParamShapes(cfg);
  const have = new Map(Object.entries(entries).map(([n, e]) => [canonicalHubertName(n), e.shape]));
  for (const [n, want] of Object.entries(shapes)) {
    if (n === 'masked_spec_embed') continue;
    const got = have.get(n);
    if (!got) throw new EmolabError('models', `weights lack tensor ${n}`, { file: weightsFile });
    if (got.join(',') !== want.join(',')) throw new EmolabError('models', `tensor ${n} has shape [${got}], config needs [${want}]`, { file: weightsFile });
  }
}

/**
 * Download config.json and model.safetensors into `$EMOLAB_MODELS/hubert-base-ls960/` (to temporary
 * names, validated together, then renamed). Files already present and valid are kept unless `force`.
 */
export async function fetchHubertBase(opts: { force?: boolean; log?: (s: string) => void; baseUrl?: string; idleTimeoutMs?: number } = {}): Promise<{ dir: string; status: 'present' | 'downloaded' }> {
  const base = opts.baseUrl ?? HUBERT_BASE.baseUrl; // a mirror (or a local server in tests)
  const dir = hubertBaseDir();
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const final = HUBERT_BASE.files.map((f) => join(dir, f));
  if (!opts.force && final.every(existsSync)) {
    validateHubertFiles(final[0], final[1]);
    return { dir, status: 'present' };
  }
  mkdirSync(dir, { recursive: true });
  // each file downloads (resumably, lib/fetch) to <file>.download; both are validated together, then renamed
  const tmp = final.map((f) => `${f}.download`);
  if (opts.force) for (const t of tmp) rmSync(t, { force: true }); // never taken as complete unchecked
  for (let i = 0; i < final.length; i++) {
    const url = base + HUBERT_BASE.files[i];
    log(`downloading ${url} ...`);
    const r = await downloadResumable(url, tmp[i], { what: `HuBERT Base ${HUBERT_BASE.files[i]}`, stage: 'models', quiet: true, idleTimeoutMs: opts.idleTimeoutMs,
      hint: `run ${hubertBaseFetchCommand} again (a partial download is resumed); offline: download ${HUBERT_BASE.files.map((f) => base + f).join(' and ')} by other means and place them in ${dir}/` });
    log(`  ${(r.bytes / 1e6).toFixed(1)} MB${r.resumedFrom ? ` (resumed at ${(r.resumedFrom / 1e6).toFixed(1)} MB)` : ''}`);
  }
  try {
    validateHubertFiles(tmp[0], tmp[1]);
  } catch (e) {
    for (const t of tmp) rmSync(t, { force: true }); // a wrong pair is not kept for a resume
    throw e;
  }
  tmp.forEach((t, i) => renameSync(t, final[i]));
  return { dir, status: 'downloaded' };
}
