// Preloaded into the pool's worker processes by test/finetune/pool.test.ts (NODE_OPTIONS=--import):
// the job whose id is EMOLAB_TEST_CRASH_JOB kills its worker process outright (as the kernel's OOM
// killer or a native abort would), before the worker can reply. It wraps process.emit instead of
// adding a 'message' listener: a listener added here would start reading the IPC channel before
// lib/finetune/jobWorker.ts has registered its own, and the first job of every worker would be lost.
const id = process.env.EMOLAB_TEST_CRASH_JOB;
if (process.env.EMOLAB_WORKER === '1' && id) {
  const emit = process.emit;
  process.emit = function (event, m, ...rest) {
    if (event === 'message' && m && m.type === 'job' && m.id === id) {
      process.stderr.write(`crash hook: killing the worker of job ${id}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
    return emit.call(this, event, m, ...rest);
  };
}
