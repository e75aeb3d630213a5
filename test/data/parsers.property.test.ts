import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EmolabError } from '../../lib/errors';
import {
  parseEmodbName, parseCremadName, parseRavdessName, parseMeadPath, EMODB_SPEAKERS, EMODB_TEXTS, EMODB_EMOTION_CODES,
  CREMAD_SENTENCES, CREMAD_EMOTION_CODES, CREMAD_LEVELS, MEAD_EMOTIONS, MEAD_VIEWS,
} from '../../lib/data';

const two = (n: number) => String(n).padStart(2, '0');

test('EmoDB names built from valid fields parse back to those fields', () => {
  fc.assert(fc.property(
    fc.constantFrom(...Object.keys(EMODB_SPEAKERS)), fc.constantFrom(...EMODB_TEXTS), fc.constantFrom(...Object.keys(EMODB_EMOTION_CODES)), fc.constantFrom(...'abcdefg'),
    (spk, text, code, ver) => {
      const p = parseEmodbName(`wav/${spk}${text}${code}${ver}.wav`);
      assert.deepEqual([p.speaker, p.textId, p.emotion, p.version], [spk, text, EMODB_EMOTION_CODES[code], ver]);
    }), { numRuns: 200 });
});

test('CREMA-D names built from valid fields parse back to those fields', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1001, max: 1091 }), fc.constantFrom(...Object.keys(CREMAD_SENTENCES)), fc.constantFrom(...Object.keys(CREMAD_EMOTION_CODES)), fc.constantFrom(...CREMAD_LEVELS),
    (actor, sent, emo, level) => {
      const p = parseCremadName(`${actor}_${sent}_${emo}_${level}.wav`);
      assert.deepEqual([p.actor, p.sentence, p.emotion, p.level], [String(actor), sent, CREMAD_EMOTION_CODES[emo], level]);
    }), { numRuns: 200 });
});

test('RAVDESS names built from valid fields parse back; sex follows the actor number', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 24 }),
    (mod, emo, inten, st, rep, actor) => {
      const intensity = emo === 1 ? 1 : inten; // no strong neutral
      const p = parseRavdessName(`${two(mod)}-01-${two(emo)}-${two(intensity)}-${two(st)}-${two(rep)}-${two(actor)}.wav`);
      assert.equal(p.actor, two(actor));
      assert.equal(p.sex, actor % 2 ? 'M' : 'F');
      assert.equal(p.recording, `01-${two(emo)}-${two(intensity)}-${two(st)}-${two(rep)}-${two(actor)}`);
    }), { numRuns: 200 });
});

test('MEAD tree paths built from valid fields parse back', () => {
  fc.assert(fc.property(
    fc.constantFrom('M', 'W'), fc.integer({ min: 1, max: 999 }), fc.constantFrom(...MEAD_VIEWS), fc.constantFrom(...Object.keys(MEAD_EMOTIONS)), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 999 }),
    (mw, n, view, word, lv, utt) => {
      const level = word === 'neutral' ? 1 : lv;
      const spk = `${mw}${String(n).padStart(3, '0')}`;
      const p = parseMeadPath(`${spk}/video/${view}/${word}/level_${level}/${String(utt).padStart(3, '0')}.mp4`);
      assert.deepEqual([p.speaker, p.view, p.emotion, p.level, p.sex], [spk, view, MEAD_EMOTIONS[word], level, mw === 'W' ? 'F' : 'M']);
    }), { numRuns: 200 });
});

test('any string: every parser either parses or throws an EmolabError (never another error)', () => {
  const parsers = [parseEmodbName, parseCremadName, parseRavdessName, parseMeadPath];
  fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
    for (const parse of parsers) {
      try { parse(s); } catch (e) { assert.ok(e instanceof EmolabError, `${parse.name}(${JSON.stringify(s)}) threw ${String(e)}`); }
    }
  }), { numRuns: 500 });
});
