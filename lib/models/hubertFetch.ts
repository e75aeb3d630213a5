/**
 * The released HuBERT Base checkpoint, facebook/hubert-base-ls960 (LibriSpeech 960 h, no fine-tuning),
 * as two files under `$EMOLAB_MODELS/hubert-base-ls960/`: `config.json` and `model.safetensors`, from
 * https://huggingface.co/facebook/hubert-base-ls960/resolve/main/.
 *
 * No sha256 is pinned for these files (they could not be fetched where this was written), so a
 * download is validated by structure instead, before it is moved into place: config.json must parse
 * as a HuBERT config, and the safetensors header must hold every tensor that config needs with the
 * right shape (checked from the header alone, before any weight is read). A partial or wrong file
 * therefore never lands at the final path.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { modelsRoot } from '../paths';
import { readSafetensorsHeader } from '../store/safetensors';
import { canonicalHubertName, hubertParamShapes } from './hubert';
import { loadHubertConfig } from './hubertConfig';

export const HUBERT_BASE = {
  name: 'hubert-base-ls960',
  baseUrl: 'https://huggingface.co/facebook/hubert-base-ls960/resolve/main/',
  files: ['config.json', 'model.safetensors'],
} as const;

export const hubertBaseFetchCommand = 'npx emolab hubert fetch';

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

async function download(url: string, target: string, finalPath: string): Promise<number> {
  let res: Response;
  try { res = await fetch(url, { redirect: 'follow' }); } catch (e) {
    throw new EmolabError('models', `cannot download ${url}: ${errorMessage(e)}`, { file: finalPath, hint: `offline? download it by other means and place it at ${finalPath}` });
  }
  if (!res.ok || !res.body) throw new EmolabError('models', `download of ${url} failed: HTTP ${res.status}`, { file: finalPath });
  const buf = Buffer.from(await res.arrayBuffer());
  writeFileSync(target, buf);
  return buf.byteLength;
}

/**
 * Download config.json and model.safetensors into `$EMOLAB_MODELS/hubert-base-ls960/` (to temporary
 * names, validated together, then renamed). Files already present and valid are kept unless `force`.
 */
export async function fetchHubertBase(opts: { force?: boolean; log?: (s: string) => void } = {}): Promise<{ dir: string; status: 'present' | 'downloaded' }> {
  const dir = hubertBaseDir();
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const final = HUBERT_BASE.files.map((f) => join(dir, f));
  if (!opts.force && final.every(existsSync)) {
    validateHubertFiles(final[0], final[1]);
    return { dir, status: 'present' };
  }
  mkdirSync(dir, { recursive: true });
  const tmp = final.map((f) => `${f}.part-${process.pid}`);
  try {
    for (let i = 0; i < final.length; i++) {
      log(`downloading ${HUBERT_BASE.baseUrl + HUBERT_BASE.files[i]} ...`);
      const n = await download(HUBERT_BASE.baseUrl + HUBERT_BASE.files[i], tmp[i], final[i]);
      log(`  ${(n / 1e6).toFixed(1)} MB`);
    }
    validateHubertFiles(tmp[0], tmp[1]);
    tmp.forEach((t, i) => renameSync(t, final[i]));
  } finally {
    for (const t of tmp) rmSync(t, { force: true });
  }
  return { dir, status: 'downloaded' };
}
