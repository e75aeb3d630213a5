import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { listNotebooks } from '../../lib/report/notebooks';
import { repoRoot } from '../../lib/paths';

test('listNotebooks: a number prefix, a file name and a path to it pick the same notebook', () => {
  const all = listNotebooks();
  assert.ok(all.length >= 11);
  const want = all.find((p) => basename(p).startsWith('05'))!;
  for (const sel of ['05', basename(want), `notebooks/${basename(want)}`]) assert.deepEqual(listNotebooks([sel]), [want], sel);
  assert.deepEqual(listNotebooks(['99']), []);
});

test('emolab notebooks with a selector that matches nothing: a clear error listing the notebooks, no stack', () => {
  let out = '';
  try {
    execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'bin', 'emolab.ts'), 'notebooks', '99'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.fail('should exit non-zero');
  } catch (e) {
    out = String((e as { stderr?: string }).stderr ?? '');
  }
  assert.match(out, /no notebook matches 99/);
  assert.match(out, /05_pretext_energy\.ipynb/);
  assert.doesNotMatch(out, /internal error|at .*\.ts:\d+/);
});
