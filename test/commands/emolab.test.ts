import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from '../../lib/args';
import { progressLine, formatDuration } from '../../lib/show/progress';
import { firstFailure } from '../../lib/report/notebooks';
import { datasetDir } from '../../lib/paths';
import { parseProfile, profileName } from '../../lib/profile';

const root = join(import.meta.dirname, '..', '..');

test('emolab --help lists every command and exits 0', () => {
  const r = spawnSync(join(root, 'bin', 'emolab'), ['--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const c of ['start', 'doctor', 'backend', 'notebooks']) assert.match(r.stdout, new RegExp(`\\n  ${c} `));
  const bad = spawnSync(join(root, 'bin', 'emolab'), ['no-such-command'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown command "no-such-command"/);
});

test('argument parser: values, booleans, unknown flags', () => {
  const a = parseArgs('x', ['in.wav', '--out', 'o.st', '--workers=2', '--force'], { values: ['out', 'workers'], booleans: ['force'] });
  assert.deepEqual(a.positionals, ['in.wav']);
  assert.deepEqual(a.flags, { out: 'o.st', workers: '2', force: true });
  assert.throws(() => parseArgs('x', ['--ouy', '1'], { values: ['out'] }), /unknown option --ouy/);
  assert.throws(() => parseArgs('x', ['--out'], { values: ['out'] }), /needs a value/);
});

test('progress line shows rate and ETA', () => {
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(65), '1m05s');
  const line = progressLine('fbank', 50, 200, 10, 'clips');
  assert.match(line, /50\/200 \(25%\) 5\.00 clips\/s elapsed 10s ETA 30s/);
});

test('notebook failure is reported with the cell\'s own stderr message', () => {
  const nb = JSON.stringify({ cells: [
    { cell_type: 'markdown', source: '# hi' },
    { cell_type: 'code', source: 'ok()', outputs: [] },
    { cell_type: 'code', source: ['boom()'], outputs: [
      { output_type: 'stream', name: 'stderr', text: ['ReferenceError: boom is not defined\n'] },
      { output_type: 'error', ename: 'Error', evalue: '', traceback: [] },
    ] },
  ] });
  const f = firstFailure(nb)!;
  assert.equal(f.cell, 2);
  assert.equal(f.source, 'boom()');
  assert.match(f.message, /boom is not defined/);
  assert.equal(firstFailure(JSON.stringify({ cells: [] })), undefined);
});

test('a missing dataset names the variable, the layout and the fetch command', () => {
  assert.throws(
    () => datasetDir({ folder: 'nope', layout: 'wav/*.wav', required: ['wav'], fetch: 'npx emolab data fetch nope' }, { EMOLAB_DATA: '/nonexistent' }),
    (e: Error) => /EMOLAB_DATA/.test(e.message) && /wav\/\*\.wav/.test(e.message) && /npx emolab data fetch nope/.test(e.message),
  );
});

test('profile switch', () => {
  assert.equal(profileName({}), 'cpu');
  assert.equal(profileName({ EMOLAB_PROFILE: '  ' }), 'cpu');
  assert.equal(profileName({ EMOLAB_PROFILE: 'ci' }), 'ci');
  assert.equal(profileName({ EMOLAB_PROFILE: 'Paper' }), 'paper');
  assert.throws(() => profileName({ EMOLAB_PROFILE: 'fast' }), /EMOLAB_PROFILE must be one of ci, cpu, paper/);
  assert.throws(() => profileName({ EMOLAB_PROFILE: 'full' }), /EMOLAB_PROFILE=full was renamed: use "paper"/);
  assert.throws(() => parseProfile('full', '--profile'), /--profile=full was renamed/);
});

test('a failing cell is found from nbconvert\'s error and its stderr collected', async () => {
  const { failingCellSource, cellMessages } = await import('../../lib/report/notebooks');
  const stderr = 'Traceback...\nnbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:\n------------------\nimport { nope } from \'./x\';\nnope();\n------------------\n\n\n<Error>: \n';
  const src = failingCellSource(stderr)!;
  assert.equal(src, "import { nope } from './x';\nnope();");
  assert.equal(failingCellSource('some other failure'), undefined);
  const nb = JSON.stringify({ cells: [
    { cell_type: 'code', source: 'ok()', outputs: [{ output_type: 'stream', name: 'stdout', text: 'fine' }] },
    { cell_type: 'code', source: ["import { nope } from './x';\n", 'nope();'], outputs: [{ output_type: 'stream', name: 'stderr', text: "1:22 - Cannot find module './x'" }] },
  ] });
  assert.deepEqual(cellMessages(nb, src), { cell: 2, message: "1:22 - Cannot find module './x'" });
});
