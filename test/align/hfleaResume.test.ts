/**
 * HFLEA runs resume after a kill (issue #20): a run on a few EmoDB clips is SIGKILLed while stage (2)
 * is training, rerun, and must end with exactly the numbers (losses, dev UA, test predictions,
 * attention weights, clusters, result table) of a run never interrupted: every stage checkpoints its
 * weights, AdamW moments and the position of its seeded stream, so the resumed updates are the same
 * float operations. The fold's run.json names the resumed stages and `verifyRun` accepts it.
 * Skipped when EmoDB is not under EMOLAB_DATA.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetDir, repoRoot } from '../../lib/paths';
import { EMODB_LAYOUT } from '../../lib/data/emodb';
import { verifyRun } from '../../lib/verify/hashes';
import { HFLEA_RUN_SCHEMA } from '../../lib/align/hfleaRun';

const tmp = mkdtempSync(join(tmpdir(), 'emolab-hflea-resume-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const child = join(repoRoot, 'test', 'align', 'hfleaRun.child.ts');

function emodbPresent(): boolean {
  try { return existsSync(join(datasetDir(EMODB_LAYOUT), 'wav')); } catch { return false; }
}

/** Run the child to its end (or, with `killWhen`, SIGKILL it as soon as that file exists). */
function runChild(root: string, out: string, killWhen?: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, root, out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => { stderr += String(d); });
    const poll = killWhen ? setInterval(() => { if (existsSync(killWhen)) { clearInterval(poll); p.kill('SIGKILL'); } }, 20) : undefined;
    p.on('error', reject);
    p.on('exit', (code, signal) => { if (poll) clearInterval(poll); resolve({ code, signal, stderr }); });
  });
}

test('HFLEA: a run SIGKILLed during stage (2) resumes from its checkpoints to the identical result', { skip: !emodbPresent() && 'EmoDB not under EMOLAB_DATA' }, async () => {
  const a = await runChild(join(tmp, 'a'), join(tmp, 'a.json'));
  assert.equal(a.code, 0, a.stderr);
  const ref = JSON.parse(readFileSync(join(tmp, 'a.json'), 'utf8'));
  const foldB = ref.runDir.replace(join(tmp, 'a'), join(tmp, 'b'));
  // killed as soon as stage (2) wrote its first checkpoint (step 1 of 4)
  const killed = await runChild(join(tmp, 'b'), join(tmp, 'b.json'), join(foldB, 'ft', 'last.safetensors'));
  assert.equal(killed.signal, 'SIGKILL', `the child ended before the kill: ${killed.stderr}`);
  assert.ok(!existsSync(join(foldB, 'run.json')), 'killed before the end');
  assert.ok(!existsSync(join(foldB, 'attention')), 'stage (5) had not started');
  const b = await runChild(join(tmp, 'b'), join(tmp, 'b.json'));
  assert.equal(b.code, 0, b.stderr);
  const res = JSON.parse(readFileSync(join(tmp, 'b.json'), 'utf8'));
  for (const k of Object.keys(ref)) if (k !== 'runDir') assert.deepEqual(res[k], ref[k], `${k} differs after the resume`);
  const manifest = JSON.parse(readFileSync(join(foldB, 'run.json'), 'utf8'));
  assert.equal(manifest.schema, HFLEA_RUN_SCHEMA);
  assert.equal(manifest.timing.stages.tapt.resumedFrom, 4, 'stage (1) had finished: loaded');
  assert.ok(manifest.timing.stages.ft.resumedFrom >= 1 && manifest.timing.stages.ft.resumedFrom < 4, `stage (2) resumed mid-run (from ${manifest.timing.stages.ft.resumedFrom})`);
  assert.equal(manifest.timing.stages.attention.resumedFrom, 0);
  assert.ok(typeof manifest.run.gitCommit === 'string' && manifest.backend, 'run info and backend recorded');
  const v = verifyRun(foldB);
  assert.ok(v.ok && v.checks.length >= 6, JSON.stringify(v.checks.map((c) => [c.file, c.status])));
});
