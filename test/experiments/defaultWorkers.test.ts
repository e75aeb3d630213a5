import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultWorkers } from '../../lib/experiments/goncalves2022';

const GiB = 1024 ** 3;

test('defaultWorkers = min(cores, floor(memory / 3 GiB)), at least 1', () => {
  assert.equal(defaultWorkers(16, 128 * GiB), 16, 'cores bound');
  assert.equal(defaultWorkers(16, 12 * GiB), 4, 'memory bound: 12 GiB / 3 GiB');
  assert.equal(defaultWorkers(8, 24 * GiB), 8, 'both exactly 8');
  assert.equal(defaultWorkers(8, 24 * GiB - 1), 7, 'floor just below a multiple of 3 GiB');
  assert.equal(defaultWorkers(2, 6 * GiB), 2);
  assert.equal(defaultWorkers(4, 3 * GiB), 1);
  assert.equal(defaultWorkers(4, 2 * GiB), 1, 'less than 3 GiB still gives one worker');
  assert.equal(defaultWorkers(4, 0), 1);
  assert.equal(defaultWorkers(1, 1000 * GiB), 1);
  assert.equal(defaultWorkers(0, 64 * GiB), 1, 'no cores reported: one worker');
});

test('defaultWorkers without arguments uses this machine and is a positive integer', () => {
  const n = defaultWorkers();
  assert.ok(Number.isInteger(n) && n >= 1);
});
