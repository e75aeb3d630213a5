/**
 * The scheduler examples in deploy/ (issue #21), checked as far as one machine allows: the SLURM scripts
 * parse (bash -n) and carry the array/dependency settings, and the array task script itself runs for 2
 * shards with SLURM's variables set; the Kubernetes manifests parse as YAML with the fields an Indexed Job
 * needs, and the container commands of the Job and the merge Job run here with JOB_COMPLETION_INDEX set;
 * the GNU parallel form runs for real on 2 shards when parallel is installed. Each merged store must be
 * byte-identical to one `features extract` process, and pass `emolab verify`.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../lib/paths';
import { haveEmodb } from '../audio/shared';

const run = promisify(execFile);
const deploy = join(repoRoot, 'deploy');
const emolab = join(repoRoot, 'bin', 'emolab');
const tmp = mkdtempSync(join(tmpdir(), 'emolab-deploy-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const EXTRA = '--limit 6 --shard-size 2';
const read = (rel: string): string => readFileSync(join(deploy, rel), 'utf8');

function sameBytes(a: string, b: string): void {
  assert.deepEqual(readdirSync(b).sort(), readdirSync(a).sort());
  for (const f of readdirSync(a)) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs`);
}

let single: string | undefined;
async function singleStore(): Promise<string> {
  if (!single) {
    single = join(tmp, 'single');
    await run(emolab, ['features', 'extract', '--corpus', 'emodb', '--workers', '1', '--out', single, ...EXTRA.split(' ')], { cwd: repoRoot, env: process.env });
  }
  return join(single, 'audio');
}
async function expectMergedLikeSingle(store: string): Promise<void> {
  sameBytes(await singleStore(), join(store, 'audio'));
  const v = spawnSync(emolab, ['verify', store], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(v.status, 0, v.stdout + v.stderr);
}

test('deploy: every shell script parses (bash -n)', () => {
  for (const f of ['slurm/extract-array.sbatch', 'slurm/merge.sbatch', 'slurm/submit.sh', 'slurm/train-array.sbatch', 'slurm/finetune.sbatch', 'slurm/submit-train.sh', 'kubernetes/run.sh', 'parallel/extract.sh', 'measure-overhead.sh']) {
    execFileSync('bash', ['-n', join(deploy, f)]);
  }
});

const sbatch = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('#SBATCH ')).map((l) => l.slice(8).trim());

test('deploy/slurm: a job array (one shard per task, --shard from SLURM_ARRAY_TASK_ID) and a merge job that depends on it', () => {
  const ex = read('slurm/extract-array.sbatch');
  assert.ok(ex.startsWith('#!/bin/bash\n'));
  assert.ok(sbatch(ex).some((d) => /^--array=0-\d+$/.test(d)), 'array directive');
  assert.ok(sbatch(ex).includes('--requeue'));
  assert.match(ex, /--shard "\$SLURM_ARRAY_TASK_ID\/\$shards"/);
  assert.match(ex, /for attempt in 1 2 3/, 'retried with the same command');
  const submit = read('slurm/submit.sh');
  assert.match(submit, /sbatch --parsable .*--array=0-\$\(\(shards - 1\)\) .*extract-array\.sbatch/);
  assert.match(submit, /--dependency=afterok:"\$array" .*merge\.sbatch/);
  assert.match(read('slurm/merge.sbatch'), /store merge "\$\{parts\[@\]\}" --out "\$work\/store"/);
  const train = read('slurm/submit-train.sh');
  assert.match(train, /--array=0-\$\(\(n - 1\)\) .*train-array\.sbatch/);
  assert.match(train, /--dependency=afterok:"\$array" .*finetune\.sbatch/);
  // every grid line is an emolab command that exists
  const lines = read('slurm/train-grid.txt').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  assert.ok(lines.length >= 2);
  for (const l of lines) assert.match(l, /^(pretrain|finetune) /);
});

test('deploy/slurm: the array task script, run with SLURM_ARRAY_TASK_ID 0 and 1 of 2, then the merge job: the store of one process', { skip: !haveEmodb() }, async () => {
  const work = join(tmp, 'slurm');
  const env = { ...process.env, EMOLAB: emolab, EMOLAB_WORK: work, EMOLAB_SHARDS: '2', EMOLAB_CORPUS: 'emodb', EMOLAB_ARGS: EXTRA };
  await Promise.all([0, 1].map((i) => run('bash', [join(deploy, 'slurm', 'extract-array.sbatch')], { cwd: repoRoot, env: { ...env, SLURM_ARRAY_TASK_ID: String(i) } })));
  await run('bash', [join(deploy, 'slurm', 'merge.sbatch')], { cwd: repoRoot, env });
  await expectMergedLikeSingle(join(work, 'store'));
});

interface K8sDoc { apiVersion?: string; kind?: string; metadata?: { name?: string }; spec?: any }
const yamlDocs = (rel: string): K8sDoc[] => {
  const docs = parseAllDocuments(read(rel));
  for (const d of docs) assert.deepEqual(d.errors, [], `${rel}: ${d.errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJS() as K8sDoc);
};
const envOf = (c: { env?: { name: string; value: string }[] }): Record<string, string> => Object.fromEntries((c.env ?? []).map((e) => [e.name, String(e.value)]));

test('deploy/kubernetes: YAML parses; an Indexed Job with JOB_COMPLETION_INDEX as the shard, per-index retries, a shared volume, and a merge Job', () => {
  const [job] = yamlDocs('kubernetes/extract-job.yaml');
  assert.equal(job.apiVersion, 'batch/v1');
  assert.equal(job.kind, 'Job');
  assert.equal(job.spec.completionMode, 'Indexed');
  assert.ok(Number.isInteger(job.spec.completions) && job.spec.completions > 0);
  assert.ok(job.spec.parallelism >= 1);
  assert.ok(job.spec.backoffLimitPerIndex >= 1, 'a failed shard is retried');
  assert.equal(job.spec.template.spec.restartPolicy, 'Never', 'backoffLimitPerIndex needs restartPolicy Never');
  const c = job.spec.template.spec.containers[0];
  const env = envOf(c);
  assert.equal(Number(env.EMOLAB_SHARDS), job.spec.completions, 'the shard count is the completion count');
  assert.match(c.args.join(' '), /--shard "\$JOB_COMPLETION_INDEX\/\$EMOLAB_SHARDS"/);
  assert.match(c.args.join(' '), /--out "\$EMOLAB_WORK\/parts\/\$JOB_COMPLETION_INDEX"/);
  const mounts = new Map(c.volumeMounts.map((m: { name: string; mountPath: string }) => [m.name, m.mountPath]));
  assert.equal(mounts.get('work'), env.EMOLAB_WORK);
  const claims = yamlDocs('kubernetes/volumes.yaml');
  const work = claims.find((d) => d.metadata?.name === 'emolab-work')!;
  assert.equal(work.kind, 'PersistentVolumeClaim');
  assert.deepEqual(work.spec.accessModes, ['ReadWriteMany'], 'every pod writes to the same volume');
  const claimOf = (spec: any, vol: string): string => spec.template.spec.volumes.find((v: { name: string }) => v.name === vol).persistentVolumeClaim.claimName;
  assert.equal(claimOf(job.spec, 'work'), 'emolab-work');
  assert.ok(claims.some((d) => d.metadata?.name === claimOf(job.spec, 'data')));
  const [merge] = yamlDocs('kubernetes/merge-job.yaml');
  assert.equal(merge.kind, 'Job');
  assert.equal(claimOf(merge.spec, 'work'), 'emolab-work');
  const mc = merge.spec.template.spec.containers[0];
  assert.equal(envOf(mc).EMOLAB_SHARDS, env.EMOLAB_SHARDS);
  assert.match(mc.args.join(' '), /store merge \$parts --out "\$EMOLAB_WORK\/store"/);
  assert.match(read('kubernetes/run.sh'), /kubectl wait --for=condition=complete .*job\/emolab-extract[\s\S]*merge-job\.yaml/);
});

test('deploy/kubernetes: the Job container command, run here for indexes 0 and 1 of 2, and the merge Job command: the store of one process', { skip: !haveEmodb() }, async () => {
  const [job] = yamlDocs('kubernetes/extract-job.yaml');
  const [merge] = yamlDocs('kubernetes/merge-job.yaml');
  const c = job.spec.template.spec.containers[0];
  const mc = merge.spec.template.spec.containers[0];
  const work = join(tmp, 'k8s');
  const over = { EMOLAB_SHARDS: '2', EMOLAB_WORK: work, EMOLAB_ARGS: EXTRA, EMOLAB_WORKERS: '1' };
  const { EMOLAB_DATA: _d, ...podEnv } = envOf(c); // the corpus stays where this machine has it
  assert.deepEqual(c.command, ['/bin/sh', '-c']);
  await Promise.all([0, 1].map((i) => run('/bin/sh', ['-c', c.args[0]], { cwd: repoRoot, env: { ...process.env, ...podEnv, ...over, JOB_COMPLETION_INDEX: String(i) } })));
  await run('/bin/sh', ['-c', mc.args[0]], { cwd: repoRoot, env: { ...process.env, ...envOf(mc), ...over } });
  await expectMergedLikeSingle(join(work, 'store'));
});

const haveParallel = spawnSync('parallel', ['--version'], { stdio: 'ignore' }).status === 0;

test('deploy/parallel: the GNU parallel form on 2 shards, for real: the store of one process', { skip: (!haveEmodb() && 'needs EmoDB') || (!haveParallel && 'GNU parallel is not installed (apt-get install parallel)') }, async () => {
  const work = join(tmp, 'parallel');
  await run('bash', [join(deploy, 'parallel', 'extract.sh')], { cwd: repoRoot, env: { ...process.env, EMOLAB: emolab, EMOLAB_SHARDS: '2', EMOLAB_CORPUS: 'emodb', EMOLAB_WORK: work, EMOLAB_ARGS: EXTRA } });
  assert.match(readFileSync(join(work, 'parallel.log'), 'utf8'), /Seq/);
  await expectMergedLikeSingle(join(work, 'store'));
});
