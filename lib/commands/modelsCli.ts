/**
 * `emolab models list | fetch [name ...] | verify [name ...]`: the model files of MODEL_SPECS
 * (lib/fetch/models) under EMOLAB_MODELS — listed with their state, downloaded from their official URL
 * with sha256 verification, or re-verified in place.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from '../args';
import { EmolabError, errorMessage } from '../errors';
import { modelsRoot } from '../paths';
import { fetchModel, HUBERT_BASE, MODEL_SPECS, modelSpec, verifyModelFile } from '../fetch/models';
import { fetchHubertBase, hubertBaseDir, validateHubertFiles } from '../models/hubertFetch';

/** Models made of several files, validated by structure (lib/models/hubertFetch), not by one sha256. */
const FOLDER_MODELS = [HUBERT_BASE.name] as const;
const isFolderModel = (n: string): boolean => (FOLDER_MODELS as readonly string[]).includes(n);

export const MODELS_USAGE = 'emolab models list | fetch [name ...] [--force] | verify [name ...]   (names: ' + [...Object.keys(MODEL_SPECS), ...FOLDER_MODELS].join(', ') + '; default: ' + Object.keys(MODEL_SPECS).join(', ') + ')';

async function folderModel(action: 'fetch' | 'verify', force: boolean): Promise<boolean> {
  const dir = hubertBaseDir();
  const [cfg, weights] = HUBERT_BASE.files.map((f) => join(dir, f));
  if (action === 'verify') {
    try {
      validateHubertFiles(cfg, weights);
      console.log(`ok      ${HUBERT_BASE.name} (${dir})`);
      return true;
    } catch (e) {
      console.log(`FAILED  ${HUBERT_BASE.name}: ${errorMessage(e)}`);
      return false;
    }
  }
  const r = await fetchHubertBase({ force });
  console.log(`${r.status === 'present' ? 'present ' : 'fetched '} ${HUBERT_BASE.name} -> ${r.dir} (structure checked against config.json)`);
  return true;
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('models', argv, { booleans: ['force'] });
  const [action = 'list', ...allNames] = a.positionals;
  const folderNames = allNames.filter(isFolderModel);
  const names = allNames.filter((n) => !isFolderModel(n));
  const specs = (names.length || folderNames.length ? names : Object.keys(MODEL_SPECS)).map(modelSpec);
  const dir = modelsRoot();
  if (action === 'list') {
    console.log(`models in ${dir} (EMOLAB_MODELS):`);
    for (const s of Object.values(MODEL_SPECS)) {
      const p = join(dir, s.file);
      const state = existsSync(p) ? `present, ${statSync(p).size} bytes` : 'missing';
      console.log(`  ${s.name.padEnd(20)} ${s.file.padEnd(28)} ${state}\n    ${s.description}\n    ${s.url}`);
    }
    const hb = hubertBaseDir();
    const hbState = HUBERT_BASE.files.every((f) => existsSync(join(hb, f))) ? 'present' : 'missing';
    console.log(`  ${HUBERT_BASE.name.padEnd(20)} ${(HUBERT_BASE.name + '/').padEnd(28)} ${hbState}\n    HuBERT Base (LibriSpeech 960 h): ${HUBERT_BASE.files.join(' + ')}\n    ${HUBERT_BASE.baseUrl}`);
    return 0;
  }
  if (action === 'verify') {
    let bad = 0;
    for (const _ of folderNames) if (!(await folderModel('verify', false))) bad++;
    for (const s of specs) {
      const p = join(dir, s.file);
      try {
        if (!existsSync(p)) throw new EmolabError('models', 'missing', { file: p });
        verifyModelFile(s, p);
        console.log(`ok      ${s.name} (${p})`);
      } catch (e) {
        bad++;
        console.log(`FAILED  ${s.name}: ${errorMessage(e)}`);
      }
    }
    return bad ? 1 : 0;
  }
  if (action === 'fetch') {
    for (const _ of folderNames) await folderModel('fetch', Boolean(a.flags.force));
    for (const s of specs) {
      let lastPct = -1;
      const r = await fetchModel(s, {
        dir,
        force: Boolean(a.flags.force),
        onProgress: (got, total) => {
          const pct = total ? Math.floor((100 * got) / total / 10) * 10 : -1;
          if (pct !== lastPct) { lastPct = pct; process.stderr.write(`  ${s.name}: ${(got / 1e6).toFixed(1)} MB${total ? ` (${pct}%)` : ''}\n`); }
        },
      });
      console.log(`${r.status === 'present' ? 'present ' : 'fetched '} ${s.name} -> ${r.file} (${r.bytes} bytes, sha256 ok)`);
    }
    return 0;
  }
  throw new EmolabError('cli', `unknown models action "${action}"`, { hint: `usage: ${MODELS_USAGE}` });
}
