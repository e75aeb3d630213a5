/**
 * The layer rule of lib/README.md over lib/'s import graph: every import (static, `export … from`,
 * `import type`, dynamic `import()`, `require`) of every lib file goes to its own layer or one below,
 * and a stage's command front end (`<stage>/cli.ts`) imports no other command. The layers are read from
 * the README's block, so the drawing and the check cannot drift apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '..');
const SOURCE = /\.(ts|mts|mjs|js)$/;

export interface Layer { rank: number; name: string; patterns: string[] }

/** The ```text block under "## Layers" in lib/README.md: `<rank>  <name>  <pattern> ...`, top layer first. */
export function parseLayers(readme: string): Layer[] {
  const section = readme.split(/^## Layers\s*$/m)[1];
  const block = section?.match(/```text\n([\s\S]*?)```/)?.[1];
  if (!block) throw new Error('lib/README.md: no ```text block under "## Layers"');
  const layers = block.split('\n').filter((l) => l.trim()).map((l) => {
    const [rank, name, ...patterns] = l.trim().split(/\s+/);
    if (!/^\d+$/.test(rank) || !name || !patterns.length) throw new Error(`lib/README.md layers: bad line "${l}"`);
    return { rank: Number(rank), name, patterns };
  });
  layers.sort((a, b) => a.rank - b.rank);
  layers.forEach((l, i) => { if (l.rank !== i + 1) throw new Error(`lib/README.md layers: ranks must run 1..${layers.length}, found ${l.rank} at position ${i + 1}`); });
  return layers;
}

/**
 * The layer of a lib-relative file (e.g. 'data/emodb.ts'): an exact file pattern first, then a
 * `*\/name` pattern, then the folder; undefined when none matches.
 */
export function layerOf(file: string, layers: Layer[]): Layer | undefined {
  const exact = layers.find((l) => l.patterns.includes(file));
  if (exact) return exact;
  const glob = layers.find((l) => l.patterns.some((p) => p.startsWith('*/') && file.includes('/') && basename(file) === p.slice(2)));
  if (glob) return glob;
  return layers.find((l) => l.patterns.some((p) => p.endsWith('/') && file.startsWith(p)));
}

/** The module specifiers a source text imports (comments and strings that only mention a path do not count). */
export function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** lib-relative path of a relative specifier from `file` ('../report/ser' from 'align/x.ts' -> 'report/ser.ts'). */
export function resolveSpecifier(file: string, spec: string, exists: (libRel: string) => boolean): string | undefined {
  if (!spec.startsWith('.')) return undefined; // node: builtins and packages
  const base = posix.normalize(posix.join(posix.dirname(file), spec));
  const stem = base.replace(/\.(ts|mts|mjs|js)$/, '');
  for (const c of [base, `${stem}.ts`, `${stem}.mts`, `${stem}.mjs`, `${stem}.js`, `${base}/index.ts`]) if (exists(c)) return c;
  return base; // unresolved: still checked by its path (tsc reports the missing file)
}

/** Each violation as `lib/<file> -> lib/<import>  (<layer> imports <layer>)`. */
export function violations(graph: Map<string, string[]>, layers: Layer[]): string[] {
  const commands = layers[layers.length - 1];
  const out: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file, layers);
    if (!from) { out.push(`lib/${file}: in no layer (add its folder or file to the layers block of lib/README.md)`); continue; }
    const isFront = from === commands && !file.startsWith('commands/');
    for (const imp of imports) {
      if (imp.startsWith('../')) { out.push(`lib/${file} -> ${posix.join('lib', imp)}  (lib imports outside lib/)`); continue; }
      const to = layerOf(imp, layers);
      if (!to) { out.push(`lib/${file} -> lib/${imp}  (the import is in no layer)`); continue; }
      if (to.rank > from.rank) out.push(`lib/${file} -> lib/${imp}  (${from.name} imports ${to.name}, a higher layer)`);
      else if (isFront && to === commands) out.push(`lib/${file} -> lib/${imp}  (a stage's front end imports another command; joining commands is lib/commands/'s job)`);
    }
  }
  return out.sort();
}

function libFiles(dir = join(root, 'lib')): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? libFiles(p) : SOURCE.test(n) ? [relative(join(root, 'lib'), p).split('\\').join('/')] : [];
  });
}

/** lib/'s import graph: lib-relative file -> the lib-relative files it imports. */
export function libGraph(): Map<string, string[]> {
  const exists = (f: string) => existsSync(join(root, 'lib', f)) && statSync(join(root, 'lib', f)).isFile();
  const g = new Map<string, string[]>();
  for (const f of libFiles()) {
    const specs = importsOf(readFileSync(join(root, 'lib', f), 'utf8'));
    g.set(f, [...new Set(specs.map((s) => resolveSpecifier(f, s, exists)).filter((s): s is string => s !== undefined))]);
  }
  return g;
}

const layers = parseLayers(readFileSync(join(root, 'lib', 'README.md'), 'utf8'));

test('no lib file imports a layer above its own (lib/README.md "Layers")', () => {
  const g = libGraph();
  assert.ok(g.size > 100, `only ${g.size} lib files found`);
  const edges = [...g.values()].reduce((n, v) => n + v.length, 0);
  assert.ok(edges > 300, `only ${edges} imports found: the parser missed some`);
  const bad = violations(g, layers);
  assert.deepEqual(bad, [], `imports that go up the layers:\n  ${bad.join('\n  ')}`);
});

test('every lib folder and top-level file is in a layer; every pattern matches a file', () => {
  const files = libFiles();
  assert.deepEqual(files.filter((f) => !layerOf(f, layers)), []);
  for (const l of layers) for (const p of l.patterns) {
    const hit = p.endsWith('/') ? files.some((f) => f.startsWith(p)) : p.startsWith('*/') ? files.some((f) => basename(f) === p.slice(2) && dirname(f) !== '.') : files.includes(p);
    assert.ok(hit, `lib/README.md layer ${l.name}: pattern ${p} matches no lib file`);
  }
});

// The checker on hand-made graphs: it must catch what it is for.
const mini = parseLayers(['## Layers', '```text', '4  commands  commands/  */cli.ts', '3  report  report/', '2  data  data/  doctor.ts', '1  base  errors.ts', '```'].join('\n'));

test('checker: a planted up-import, a front end importing another, and an unplaced file are named', () => {
  const g = new Map<string, string[]>([
    ['data/emodb.ts', ['errors.ts', 'data/types.ts']], // fine: down, and within the layer
    ['data/fetch.ts', ['report/progress.ts']], // planted: data -> report
    ['errors.ts', ['data/types.ts']], // planted: base -> data
    ['report/ser.ts', ['data/cli.ts']], // planted: a stage importing a command front end
    ['data/cli.ts', ['report/ser.ts', 'data/emodb.ts', 'errors.ts']], // fine: a front end imports stages
    ['report/cli.ts', ['data/cli.ts']], // planted: front end -> front end
    ['commands/all.ts', ['data/cli.ts', 'report/cli.ts']], // fine: the commands layer joins them
    ['newstage/x.ts', ['errors.ts']], // planted: in no layer
  ]);
  assert.deepEqual(violations(g, mini), [
    'lib/data/fetch.ts -> lib/report/progress.ts  (data imports report, a higher layer)',
    'lib/errors.ts -> lib/data/types.ts  (base imports data, a higher layer)',
    'lib/newstage/x.ts: in no layer (add its folder or file to the layers block of lib/README.md)',
    "lib/report/cli.ts -> lib/data/cli.ts  (a stage's front end imports another command; joining commands is lib/commands/'s job)",
    'lib/report/ser.ts -> lib/data/cli.ts  (report imports commands, a higher layer)',
  ]);
  assert.deepEqual(violations(new Map([['data/emodb.ts', ['errors.ts']]]), mini), []);
  assert.equal(layerOf('doctor.ts', mini)?.name, 'data');
  assert.equal(layerOf('data/cli.ts', mini)?.name, 'commands');
  assert.equal(layerOf('cli.ts', mini), undefined, '*/cli.ts matches a cli.ts inside a folder only');
});

test('checker: imports are parsed from source — dynamic, type-only, re-exports, multi-line; not comments or strings', () => {
  const src = [
    "import { a } from '../data/emodb';",
    "import type { Clip } from '../data/types';",
    "export * from './figures';",
    'import {',
    '  b,',
    "} from '../report/ser';",
    "const m = await import('../report/explorer');",
    "// import { x } from '../report/cli';",
    "const s = \"import { y } from '../report/tables'\";",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf(src).sort(), ['../data/emodb', '../data/types', '../report/explorer', '../report/ser', './figures', 'node:fs'].sort());
  const exists = (f: string) => ['data/emodb.ts', 'report/index.ts'].includes(f);
  assert.equal(resolveSpecifier('align/x.ts', '../data/emodb', exists), 'data/emodb.ts');
  assert.equal(resolveSpecifier('align/x.ts', '../report', exists), 'report/index.ts');
  assert.equal(resolveSpecifier('align/x.ts', 'node:fs', exists), undefined);
  assert.equal(resolveSpecifier('x.ts', '../bin/emolab', exists), '../bin/emolab');
  // A planted violation in source text is found end to end (parse, resolve, check).
  const g = new Map([['data/fetch.ts', importsOf("const { progress } = await import('../report/progress');").map((s) => resolveSpecifier('data/fetch.ts', s, () => false)!)]]);
  assert.deepEqual(violations(g, mini), ['lib/data/fetch.ts -> lib/report/progress  (data imports report, a higher layer)']);
});

test('checker: the README block is validated (ranks 1..n, one line per layer)', () => {
  assert.throws(() => parseLayers('# x'), /no ```text block/);
  assert.throws(() => parseLayers('## Layers\n```text\n2  a  a/\n3  b  b/\n```'), /ranks must run 1\.\.2/);
  assert.throws(() => parseLayers('## Layers\n```text\n1  a\n```'), /bad line/);
  assert.deepEqual(layers.map((l) => l.name).slice(0, 2), ['base', 'show']);
  assert.equal(layers[layers.length - 1].name, 'commands');
});
