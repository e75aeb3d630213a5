import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cleanOutputs, outputReplacements } from '../../lib/report/notebooks';
import { progressLine } from '../../lib/show/progress';
import { repoRoot } from '../../lib/paths';

const nb = (cells: unknown[]): string => JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells });
const parse = (s: string): { cells: { cell_type: string; source: string | string[]; outputs?: { output_type: string; name?: string; text?: string | string[]; data?: Record<string, unknown> }[] }[] } => JSON.parse(s);
const text = (t: string | string[] | undefined): string => (Array.isArray(t) ? t.join('') : t ?? '');

function withEnv<T>(env: Record<string, string | undefined>, f: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  try { return f(); } finally { for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v; }
}

test('outputReplacements: longest path first; a runs/data/models folder inside the repository is named by its variable', () => {
  const reps = withEnv({ EMOLAB_RUNS: undefined, EMOLAB_DATA: 'data', EMOLAB_MODELS: undefined }, () => outputReplacements());
  const map = Object.fromEntries(reps.map(([path, placeholder]) => [placeholder, path]));
  assert.equal(map.$EMOLAB_RUNS, join(repoRoot, 'runs'));
  assert.equal(map.$EMOLAB_DATA, join(repoRoot, 'data'));
  assert.equal(map.$EMOLAB_MODELS, join(repoRoot, 'data', 'models'));
  assert.equal(map['.'], repoRoot);
  for (let i = 1; i < reps.length; i++) assert.ok(reps[i - 1][0].length >= reps[i][0].length, 'sorted longest first');
  const out = parse(cleanOutputs(nb([{
    cell_type: 'code', source: `load('${repoRoot}/runs/x')`, execution_count: 1, metadata: {},
    outputs: [{ output_type: 'stream', name: 'stdout', text: `${repoRoot}/runs/ser/a.json\n${repoRoot}/data/models/m.onnx\n${repoRoot}/data/emodb/wav\n${repoRoot}/lib/x.ts\n` }],
  }]), reps));
  assert.equal(text(out.cells[0].outputs![0].text), '$EMOLAB_RUNS/ser/a.json\n$EMOLAB_MODELS/m.onnx\n$EMOLAB_DATA/emodb/wav\n./lib/x.ts\n');
  assert.equal(out.cells[0].source, `load('${repoRoot}/runs/x')`, 'code cell sources untouched');
});

const REPS: [string, string][] = [['/home/u/emolab/runs', '$EMOLAB_RUNS'], ['/mnt/data', '$EMOLAB_DATA'], ['/home/u/emolab', '.']];

test('cleanOutputs: paths in stream text (string or list), text/html and text/plain are replaced; image/* and sources untouched', () => {
  const png = 'iVBORw0KGgo/home/u/emolab/runs==';
  const src = ['x = "/home/u/emolab/runs/a"\n', 'print(x)'];
  const out = parse(cleanOutputs(nb([
    { cell_type: 'markdown', source: 'see /home/u/emolab/runs', metadata: {} },
    {
      cell_type: 'code', source: src, execution_count: 1, metadata: {}, outputs: [
        { output_type: 'stream', name: 'stdout', text: ['wrote /home/u/emolab/runs/ser/a.json\n', 'read /mnt/data/emodb and /home/u/emolab/lib\n'] },
        { output_type: 'display_data', metadata: {}, data: { 'text/html': ['<a href="/home/u/emolab/runs/f.html">f</a>\n', '<b>/mnt/data</b>'], 'text/plain': '/home/u/emolab/results/t.csv', 'image/png': png, 'image/svg+xml': '<svg>/home/u/emolab/runs</svg>' } },
        { output_type: 'execute_result', execution_count: 1, metadata: {}, data: { 'text/plain': "'/home/u/emolab/runs/x'" } },
      ],
    },
  ]), REPS));
  assert.equal(out.cells[0].source, 'see /home/u/emolab/runs', 'markdown untouched');
  const c = out.cells[1];
  assert.deepEqual(c.source, src);
  assert.equal(text(c.outputs![0].text), 'wrote $EMOLAB_RUNS/ser/a.json\nread $EMOLAB_DATA/emodb and ./lib\n');
  assert.deepEqual(c.outputs![1].data!['text/html'], ['<a href="$EMOLAB_RUNS/f.html">f</a>\n', '<b>$EMOLAB_DATA</b>']);
  assert.equal(c.outputs![1].data!['text/plain'], './results/t.csv');
  assert.equal(c.outputs![1].data!['image/png'], png);
  assert.equal(c.outputs![1].data!['image/svg+xml'], '<svg>/home/u/emolab/runs</svg>');
  assert.equal(c.outputs![2].data!['text/plain'], "'$EMOLAB_RUNS/x'");
  // the order of the replacement list does not matter for nested paths when it is sorted longest first (outputReplacements does that)
  const shortFirst = parse(cleanOutputs(nb([{ cell_type: 'code', source: '', metadata: {}, outputs: [{ output_type: 'stream', name: 'stdout', text: '/home/u/emolab/runs/a\n' }] }]), [...REPS].reverse()));
  assert.equal(text(shortFirst.cells[0].outputs![0].text), './runs/a\n', 'documented: the caller must sort (it is a plain sequence of replacements)');
});

test('cleanOutputs: every progress line goes, across stream outputs; other lines and display data stay; empty streams dropped; execution counts filled in', () => {
  const a = (d: number): string => progressLine('features audio', d, 10, d, 'clips');
  const b = (d: number): string => progressLine('train', d, 4, 2 * d, 'steps', 'loss 0.5');
  assert.match(a(3), /^features audio \[[#.]{20}\] 3\/10 \(30%\)/);
  const out = parse(cleanOutputs(nb([
    {
      cell_type: 'code', source: 'run()', execution_count: null, metadata: {}, outputs: [
        { output_type: 'stream', name: 'stderr', text: `${a(1)}\n${a(2)}\n` },
        { output_type: 'stream', name: 'stdout', text: `hello\n${b(1)}\n[not] a progress 1/2 line\n` },
        { output_type: 'stream', name: 'stderr', text: [`${a(5)}\n`, `${b(2)}\n`, `${a(10)}\n`, 'done\n'] },
        { output_type: 'stream', name: 'stderr', text: `${b(4)}\n` },
        { output_type: 'display_data', metadata: {}, data: { 'text/plain': a(1) } },
      ],
    },
    { cell_type: 'markdown', source: '# m', metadata: {} },
    { cell_type: 'code', source: 'again()', execution_count: null, metadata: {}, outputs: [{ output_type: 'stream', name: 'stderr', text: `${a(4)}\nok\n` }, { output_type: 'execute_result', metadata: {}, data: { 'text/plain': '3' }, execution_count: null }] },
    { cell_type: 'code', source: 'quiet()', execution_count: null, metadata: {}, outputs: [] },
  ]), REPS));
  const outs = out.cells[0].outputs!;
  assert.deepEqual(outs.map((o) => o.output_type), ['stream', 'stream', 'display_data']);
  assert.equal(text(outs[0].text), 'hello\n[not] a progress 1/2 line\n');
  assert.equal(text(outs[1].text), 'done\n');
  assert.equal(outs[2].data!['text/plain'], a(1), 'display data is not a progress stream');
  assert.equal(text(out.cells[2].outputs![0].text), 'ok\n');
  const streams = JSON.stringify(out.cells.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === 'stream')));
  assert.ok(!streams.includes('(100%)') && !streams.includes('[#'));
  const counts = out.cells.map((c) => (c as { execution_count?: number | null }).execution_count);
  assert.deepEqual(counts, [1, undefined, 2, 3]);
  assert.equal((out.cells[2].outputs![1] as { execution_count?: number }).execution_count, 2);
});

test('cleanOutputs: a whitespace-only stream is dropped; cleaning is idempotent', () => {
  const cells = [
    { cell_type: 'markdown', source: '# t', metadata: {} },
    { cell_type: 'code', source: '1', execution_count: 1, metadata: {}, outputs: [{ output_type: 'stream', name: 'stdout', text: '\n  \n' }, { output_type: 'stream', name: 'stdout', text: 'x\n' }] },
  ];
  const once = cleanOutputs(nb(cells), REPS);
  const c = parse(once).cells[1];
  assert.equal(c.outputs!.length, 1);
  assert.equal(text(c.outputs![0].text), 'x\n');
  assert.equal(cleanOutputs(once, REPS), once, 'idempotent');
  assert.ok(once.endsWith('\n'));
});
