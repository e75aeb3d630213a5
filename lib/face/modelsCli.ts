/**
 * `emolab models list | fetch [name ...] | verify [name ...]`: the model files of MODEL_SPECS
 * (./modelFetch) under EMOLAB_MODELS — listed with their state, downloaded from their official URL
 * with sha256 verification, or re-verified in place.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from '../cli/args';
import { EmolabError, errorMessage } from '../errors';
import { modelsRoot } from '../paths';
import { fetchModel, MODEL_SPECS, modelSpec, verifyModelFile } from './modelFetch';

export const MODELS_USAGE = 'emolab models list | fetch [name ...] [--force] | verify [name ...]   (names: ' + Object.keys(MODEL_SPECS).join(', ') + '; default all)';

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('models', argv, { booleans: ['force'] });
  const [action = 'list', ...names] = a.positionals;
  const specs = (names.length ? names : Object.keys(MODEL_SPECS)).map(modelSpec);
  const dir = modelsRoot();
  if (action === 'list') {
    console.log(`models in ${dir} (EMOLAB_MODELS):`);
    for (const s of Object.values(MODEL_SPECS)) {
      const p = join(dir, s.file);
      const state = existsSync(p) ? `present, ${statSync(p).size} bytes` : 'missing';
      console.log(`  ${s.name.padEnd(20)} ${s.file.padEnd(28)} ${state}\n    ${s.description}\n    ${s.url}`);
    }
    return 0;
  }
  if (action === 'verify') {
    let bad = 0;
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
