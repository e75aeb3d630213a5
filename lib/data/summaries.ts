/**
 * Corpus summaries as plain rows (for danfojs tables and plotly figures): clips per speaker x
 * emotion, duration statistics, the split each speaker belongs to, and how often CREMA-D raters
 * perceived the emotion the actor intended.
 */
import { parseCremadName, perceivedFromVotes, type CremadVotes, type VoteModality } from './cremad';
import { speakerSets } from './splits';
import { SIX_EMOTIONS, type Clip, type Emotion, type Split } from './types';

/** Emotions present in the clips, in SIX_EMOTIONS order then the others alphabetically. */
export function emotionsIn(clips: readonly Clip[]): Emotion[] {
  const have = new Set(clips.map((c) => c.emotion).filter((e): e is Emotion => e !== undefined));
  return [...SIX_EMOTIONS.filter((e) => have.has(e)), ...[...have].filter((e) => !SIX_EMOTIONS.includes(e)).sort()];
}

export function emotionCounts(clips: readonly Clip[], label: (c: Clip) => Emotion | undefined = (c) => c.emotion): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of clips) {
    const e = label(c) ?? '(none)';
    out[e] = (out[e] ?? 0) + 1;
  }
  return out;
}

export type Row = Record<string, string | number>;

/** One row per speaker: speaker, sex, age, a count column per emotion, total clips and minutes. */
export function speakerEmotionTable(clips: readonly Clip[]): Row[] {
  const emotions = emotionsIn(clips);
  const rows = new Map<string, Row>();
  for (const c of clips) {
    let r = rows.get(c.speaker);
    if (!r) {
      r = { speaker: c.speaker, sex: c.sex ?? '', age: c.age ?? '' };
      for (const e of emotions) r[e] = 0;
      r.total = 0; r.minutes = 0;
      rows.set(c.speaker, r);
    }
    if (c.emotion) r[c.emotion] = (r[c.emotion] as number) + 1;
    r.total = (r.total as number) + 1;
    r.minutes = (r.minutes as number) + (c.durationS ?? 0) / 60;
  }
  return [...rows.values()].sort((a, b) => String(a.speaker).localeCompare(String(b.speaker))).map((r) => ({ ...r, minutes: Math.round((r.minutes as number) * 100) / 100 }));
}

/** Duration statistics (seconds) per emotion and overall, over clips with a known duration. */
export function durationTable(clips: readonly Clip[]): Row[] {
  const groups = new Map<string, number[]>();
  for (const c of clips) {
    if (c.durationS === undefined) continue;
    for (const k of [c.emotion ?? '(none)', 'all']) {
      const g = groups.get(k) ?? [];
      g.push(c.durationS);
      groups.set(k, g);
    }
  }
  const order = [...emotionsIn(clips), '(none)', 'all'].filter((k) => groups.has(k));
  return order.map((k) => {
    const d = [...groups.get(k)!].sort((a, b) => a - b);
    const sum = d.reduce((s, x) => s + x, 0);
    const q = (p: number) => d[Math.min(d.length - 1, Math.floor(p * (d.length - 1) + 0.5))];
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    return { emotion: k, clips: d.length, mean_s: r3(sum / d.length), median_s: r3(q(0.5)), min_s: r3(d[0]), max_s: r3(d[d.length - 1]), total_min: r3(sum / 60) };
  });
}

/** One row per speaker of a split: speaker, sex, set, clips. */
export function splitSpeakerTable(split: Split, clips: readonly Clip[]): Row[] {
  const sets = speakerSets(split, clips);
  const n = new Map<string, number>();
  const sex = new Map<string, string>();
  const inSplit = new Set([...split.train, ...split.dev, ...split.test]);
  for (const c of clips) if (inSplit.has(c.id)) { n.set(c.speaker, (n.get(c.speaker) ?? 0) + 1); sex.set(c.speaker, c.sex ?? ''); }
  const order = { test: 0, dev: 1, train: 2 } as const;
  return [...sets].map(([speaker, set]) => ({ speaker, sex: sex.get(speaker) ?? '', set, clips: n.get(speaker) ?? 0 }))
    .sort((a, b) => order[a.set] - order[b.set] || a.speaker.localeCompare(b.speaker));
}

export interface AgreementMatrix {
  modality: VoteModality;
  /** Row = intended emotion, column = perceived plurality (SIX_EMOTIONS order) plus a last "tie" column. */
  emotions: readonly Emotion[];
  counts: number[][];
  /** Share of clips whose perceived plurality is the intended emotion. */
  clipAgreement: number;
  /** Share of all individual votes that name the intended emotion. */
  voteAgreement: number;
  clips: number;
}

/** Intended (file name) vs perceived (plurality of votes) emotion for CREMA-D, for one rating modality. */
export function intendedVsPerceived(votes: CremadVotes, modality: VoteModality): AgreementMatrix {
  const emotions = SIX_EMOTIONS;
  const counts = emotions.map(() => new Array<number>(emotions.length + 1).fill(0));
  let agree = 0, clips = 0, votesOk = 0, votesAll = 0;
  for (const [id, byMod] of votes) {
    const v = byMod[modality];
    if (!v) continue;
    const intended = parseCremadName(id).emotion;
    const p = perceivedFromVotes(v);
    if (!p.raters) continue;
    const row = emotions.indexOf(intended);
    const col = p.plurality ? emotions.indexOf(p.plurality) : emotions.length;
    counts[row][col]++;
    clips++;
    if (p.plurality === intended) agree++;
    votesOk += v[intended] ?? 0;
    votesAll += p.raters;
  }
  return { modality, emotions, counts, clipAgreement: agree / clips, voteAgreement: votesOk / votesAll, clips };
}
