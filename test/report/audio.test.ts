import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audioPlayerHtml, wavBytes } from '../../lib/report/audio';
import { confusionFigure, categoricalColorscale } from '../../lib/show/figures';

test('wavBytes: a 16-bit PCM mono WAV header and samples; peak-normalised above 1', () => {
  const b = Buffer.from(wavBytes(new Float32Array([0, 0.5, -1]), 16000));
  assert.equal(b.toString('ascii', 0, 4), 'RIFF');
  assert.equal(b.toString('ascii', 8, 12), 'WAVE');
  assert.equal(b.readUInt16LE(20), 1); // PCM
  assert.equal(b.readUInt16LE(22), 1); // mono
  assert.equal(b.readUInt32LE(24), 16000);
  assert.equal(b.readUInt16LE(34), 16);
  assert.equal(b.readUInt32LE(40), 6);
  assert.deepEqual([b.readInt16LE(44), b.readInt16LE(46), b.readInt16LE(48)], [0, 16384, -32767]);
  const c = Buffer.from(wavBytes(new Float32Array([2, -4])));
  assert.deepEqual([c.readInt16LE(44), c.readInt16LE(46)], [16384, -32767]);
});

test('audio player: an <audio> element with the clip inline, cut to maxSeconds', () => {
  const h = audioPlayerHtml(new Float32Array(16000 * 3), 'clip <1>', { maxSeconds: 1 });
  assert.match(h, /^<figure[^>]*><audio controls preload="none" src="data:audio\/wav;base64,/);
  assert.match(h, /clip &lt;1&gt;/);
  const b64 = /base64,([^"]+)"/.exec(h)![1];
  assert.equal(Buffer.from(b64, 'base64').length, 44 + 2 * 16000);
});

test('confusion figure: predicted-class x axis, true-class y axis, row shares in %', () => {
  const f = confusionFigure([[3, 1], [0, 2]], ['a', 'b']);
  const l = f.layout as { xaxis: { title: { text: string } }; yaxis: { title: { text: string } } };
  assert.equal(l.xaxis.title.text, 'predicted class');
  assert.equal(l.yaxis.title.text, 'true class');
  assert.deepEqual((f.data[0] as { z: number[][] }).z, [[75, 25], [0, 100]]);
  const cs = categoricalColorscale(3);
  assert.equal(cs.length, 6);
  assert.deepEqual(cs[0][0], 0);
  assert.deepEqual(cs[5][0], 1);
  assert.equal(cs[1][1], cs[0][1]);
  assert.notEqual(cs[2][1], cs[1][1]);
});
