/**
 * A new user's own corpus, end to end through the CLI (`node bin/emolab.ts`, ci-sized settings):
 * a labelled folder corpus made at test time from EmoDB clips copied into nested `wav/` subfolders
 * (duplicate basenames in two subfolders, spaces and non-ASCII letters in the names, a `;`-separated
 * labels.csv, 2 speakers), then features -> pretrain (energy) -> finetune -> report on it, a
 * cross-corpus run between it and a second folder corpus (3 speakers) in both directions, and EmoDB
 * -> folder. Every experiment writes into its own folder under EMOLAB_RUNS; nothing goes to the
 * repository's results/ or figures/. Also: the errors a user meets before any work starts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { corpusRef, resolveCorpus } from '../../lib/data/corpora';
import { figuresDir, repoRoot, resultsDir } from '../../lib/paths';
import { acquireLock } from '../../lib/store/lock';
import { ENV, makeFolderCorpus } from './shared';

const work = mkdtempSync(join(tmpdir(), 'emolab-own-corpus-'));
after(() => rmSync(work, { recursive: true, force: true }));
const runs = join(work, 'runs');

function emolab(args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'bin', 'emolab.ts'), ...args], {
    cwd: repoRoot, encoding: 'utf8', timeout: 600_000,
    env: { ...process.env, ...ENV, EMOLAB_RUNS: runs, EMOLAB_PROFILE: 'ci', EMOLAB_BACKEND: 'wasm', ...env },
  });
  return { code: r.status ?? -1, out: `${r.stdout}\n${r.stderr}` };
}

const ok = (args: string[], env?: Record<string, string>): string => {
  const r = emolab(args, env);
  assert.equal(r.code, 0, `emolab ${args.join(' ')} failed:\n${r.out.slice(-3000)}`);
  return r.out;
};

/** Corpus A: speakers 03 and 08, one clip per emotion, nested subfolders with duplicate basenames and odd names. */
const A = makeFolderCorpus({
  speakers: ['03', '08'], perEmotion: 1, delimiter: ';',
  pathOf: (c, i) => `wav/${i % 2 ? 'a' : 'b b'}/${c.speaker === '03' ? 'clip' : 'Äußerung'} ${Math.floor(i / 2)}.wav`,
}, mkdtempSync(join(work, 'a-')));
/** Corpus B: speakers 09, 10, 11, plain EmoDB layout (wav/<name>.wav, comma-separated). */
const B = makeFolderCorpus({ speakers: ['09', '10', '11'], perEmotion: 1 }, mkdtempSync(join(work, 'b-')));

function listFiles(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) listFiles(p, out); else out.push(p);
  }
  return out;
}
// SER tables and figures (ser_*) in the repository's results/ and figures/ (other engineers' notebooks may write other files there meanwhile).
const repoOutputs = (): string[] => [...listFiles(resultsDir()).filter((f) => !f.includes(`${join(resultsDir(), 'reference')}`)), ...listFiles(figuresDir())]
  .filter((f) => /(^|\/)ser_[^/]*$/.test(f)).map((f) => `${f}:${statSync(f).mtimeMs}`).sort();
const before = repoOutputs();

function serDir(marker: string): string {
  const dirs = readdirSync(join(runs, 'ser')).filter((d) => d.includes(marker));
  assert.equal(dirs.length, 1, `one experiment folder with ${marker}: ${dirs.join(', ')}`);
  return join(runs, 'ser', dirs[0]);
}

function records(dir: string): { arm: string; fold: string; test: { ids: string[] }; config: Record<string, unknown>; protocol: string }[] {
  return listFiles(dir).filter((f) => f.endsWith('.json') && !/(failures|pretraining|run)\.json$/.test(f)).map((f) => JSON.parse(readFileSync(f, 'utf8')));
}

test('the folder corpus: manifest keeps every relative path as its clip id (subfolders, spaces, unicode, duplicate basenames)', () => {
  const m = resolveCorpus(A.root, { labelled: true });
  assert.equal(m.quarantine.length, 0, JSON.stringify(m.quarantine));
  assert.deepEqual(m.clips.map((c) => c.id).sort(), A.rows.map((r) => r.file.replace(/\.wav$/, '')).sort());
  assert.ok(m.clips.some((c) => c.id.startsWith('wav/a/')) && m.clips.some((c) => c.id.startsWith('wav/b b/')));
  const bases = m.clips.map((c) => c.id.split('/').pop());
  assert.ok(new Set(bases).size < bases.length, 'the corpus has duplicate basenames in different subfolders');
  assert.equal(new Set(m.clips.map((c) => c.speaker)).size, 2);
});

test('errors before any work: bad numbers, unknown corpus, a corpus too small for a held-out pretext split, a held experiment lock', async () => {
  for (const [args, re] of [
    [['finetune', '--corpus', A.root, '--epochs', '-3'], /--epochs must be a whole number >= 1, got -3/],
    [['finetune', '--corpus', A.root, '--arms', 'nosuch'], /--arms: unknown value "nosuch"[\s\S]*emolab finetune|--arms: unknown value "nosuch"[\s\S]*emolab pretrain --task energy\|/],
    [['finetune', '--corpus', A.root, '--classes', 'seven'], /--classes must be one of six, corpus/],
    [['features', '--corpus', join(work, 'no-such-folder')], /unknown corpus/],
    [['pretrain', '--task', 'energy', '--corpus', A.root], /cannot hold out speakers[\s\S]*--no-held-out/],
    [['finetune', '--train', A.root], /--train needs --test/],
    [['backend', 'wsam'], /the backend argument must be one of[\s\S]*did you mean: emolab backend wasm/],
  ] as [string[], RegExp][]) {
    const r = emolab(args);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    assert.match(r.out, re, args.join(' '));
    assert.doesNotMatch(r.out, /\n\s+at .*\.ts:\d+/, `no raw stack for ${args.join(' ')}`);
  }
  const r = emolab(['finetune', '--epochs', '1'], { EMOLAB_PROFILE: 'fulll' });
  assert.match(r.out, /EMOLAB_PROFILE must be one of ci, cpu, paper, got "fulll"/);
  // A read-only (here: impossible) runs folder is refused before anything is computed.
  const file = join(work, 'a-file');
  writeFileSync(file, '');
  const ro = emolab(['features', '--corpus', A.root], { EMOLAB_RUNS: join(file, 'runs') });
  assert.notEqual(ro.code, 0);
  assert.match(ro.out, /not writable \(ENOTDIR\); nothing was computed/);
});

test('own corpus end to end: features -> pretrain energy -> finetune -> report, then cross-corpus both ways and EmoDB -> folder', async () => {
  // features: `features --corpus <root>` (no subcommand), into $EMOLAB_RUNS/features/<corpus key>
  const fx = ok(['features', '--corpus', A.root, '--workers', '1']);
  assert.match(fx, new RegExp(`features audio: ${A.rows.length} clips`));
  // pretraining on the 2-speaker corpus needs --no-held-out; run.json says so
  const pre = ok(['pretrain', '--task', 'energy', '--corpus', A.root, '--no-held-out', '--epochs', '1']);
  const manifest = pre.match(/run manifest: (.*run\.json)/)![1];
  const run = JSON.parse(readFileSync(manifest, 'utf8'));
  assert.equal(run.split.heldOut, false);
  assert.deepEqual(run.settings.split, { devSpeakers: 0, testSpeakers: 0 });
  assert.equal(run.dataset.clipsUsed, A.rows.length);

  // SER on the corpus: leave-one-speaker-out, no dev speaker -> fixed epoch budget, stated in the table
  ok(['finetune', '--corpus', A.root, '--arms', 'baseline,energy,functionals', '--epochs', '2', '--workers', '1', '--no-report']);
  const dirA = serDir('-ci-');
  const recA = records(dirA);
  assert.equal(recA.filter((r) => r.arm === 'baseline').length, 2, 'two LOSO folds');
  assert.equal(recA.filter((r) => r.arm === 'energy').length, 2, 'energy pretrained per fold, without held-out speakers');
  const ids = new Set(resolveCorpus(A.root).clips.map((c) => c.id));
  for (const r of recA) {
    assert.match(r.protocol, /^corpus:corpus-[0-9a-f]{8}$/);
    for (const id of r.test.ids) assert.ok(ids.has(id), `test id "${id}" is a clip id of the corpus, intact`);
  }
  assert.deepEqual(new Set(recA.filter((r) => r.arm === 'baseline').flatMap((r) => r.test.ids)), ids, 'every clip tested once over the folds');
  assert.ok(recA.filter((r) => r.arm !== 'functionals').every((r) => typeof r.config.modelSelection === 'string'));

  // cross-corpus, both directions, and EmoDB -> folder
  ok(['finetune', '--train', A.root, '--test', B.root, '--arms', 'baseline,functionals', '--epochs', '1', '--workers', '1', '--no-report']);
  ok(['finetune', '--train', B.root, '--test', A.root, '--arms', 'baseline', '--epochs', '1', '--workers', '1', '--no-report']);
  ok(['finetune', '--train', 'emodb', '--test', A.root, '--arms', 'baseline', '--epochs', '1', '--workers', '1', '--no-report']);
  const bIds = new Set(resolveCorpus(B.root).clips.map((c) => c.id));
  const exps = readdirSync(join(runs, 'ser')).sort();
  const cross = exps.filter((e) => e.includes('-to-'));
  assert.equal(cross.length, 3, exps.join(', '));
  const keyA = corpusRef(A.root).key, keyB = corpusRef(B.root).key;
  for (const e of cross) {
    const recs = records(join(runs, 'ser', e));
    assert.ok(recs.length > 0, e);
    const testKey = e.split('-to-')[1].replace(/-ci(-[0-9a-f]{8})?$/, '');
    assert.ok(testKey === keyA || testKey === keyB, `${e}: test corpus key ${testKey}`);
    for (const r of recs) {
      assert.match(r.protocol, new RegExp(`^cross:.*->${testKey}$`));
      assert.deepEqual(new Set(r.test.ids), testKey === keyB ? bIds : ids, `${e}: every labelled clip of the test corpus is tested`);
    }
  }

  // report: every experiment's tables and figures into its own folder, in the same layout
  const rep = ok(['report', '--no-figures']);
  for (const e of exps) {
    const tables = join(runs, 'ser', e, 'tables');
    assert.ok(existsSync(join(tables, `ser_${e}_full.md`)), `${e}: table in its own folder`);
    assert.ok(existsSync(join(tables, `ser_${e}_full.csv`)) && existsSync(join(tables, `ser_${e}_full_per_class.csv`)));
    assert.match(rep, new RegExp(`# SER results: ${e.replace(/[.+]/g, '\\$&')}, full fine-tuning`));
  }
  const mdA = readFileSync(join(dirA, 'tables', `ser_${dirA.split('/').pop()}_full.md`), 'utf8');
  assert.match(mdA, /leave-one-speaker-out, 2 folds/);
  assert.match(mdA, /fixed epoch budget\*\* \(2 epochs, last epoch kept\) for every fold/);
  const mdCross = readFileSync(join(runs, 'ser', cross.find((e) => e.startsWith('emodb'))!, 'tables', `ser_${cross.find((e) => e.startsWith('emodb'))}_full.md`), 'utf8');
  assert.match(mdCross, /cross-corpus: trained on emodb/);
  assert.match(mdCross, /best epoch on the dev speakers' ua/);
  assert.deepEqual(repoOutputs(), before, "no SER table or figure written to the repository's results/ or figures/");

  // a second process on a locked experiment folder is refused, naming the holder's PID
  const lock = await acquireLock(dirA, { what: 'test holder' });
  try {
    const r = emolab(['finetune', '--corpus', A.root, '--arms', 'baseline,energy,functionals', '--epochs', '2', '--workers', '1', '--no-report']);
    assert.notEqual(r.code, 0);
    assert.match(r.out, new RegExp(`locked by[^\\n]*${process.pid}`));
  } finally {
    lock.release();
  }
  // the same command resumes everything from its records once the lock is free
  assert.match(ok(['finetune', '--corpus', A.root, '--arms', 'baseline,energy,functionals', '--epochs', '2', '--workers', '1', '--no-report']), /0 models trained, 6 kept/);
});
