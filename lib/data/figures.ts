/**
 * Plotly figure specs for corpus exploration (shown and saved with lib/show/figures showFigure):
 * class balance, duration histograms, intended-vs-perceived agreement, and a split per speaker.
 */
import type { Figure } from '../show/figures';
import { type AgreementMatrix, emotionCounts, emotionsIn, splitSpeakerTable } from './summaries';
import type { Clip, Emotion, Split } from './types';

export interface NamedClips {
  name: string;
  clips: readonly Clip[];
  /** Which label to count (default the intended emotion). */
  label?: (c: Clip) => Emotion | undefined;
}

/** Grouped bars: share of clips per emotion, one bar group per corpus/labelling. */
export function classBalanceFigure(sets: NamedClips[]): Figure {
  const emotions = emotionsIn(sets.flatMap((s) => s.clips.map((c) => ({ ...c, emotion: (s.label ?? ((x: Clip) => x.emotion))(c) }))));
  return {
    data: sets.map((s) => {
      const counts = emotionCounts(s.clips, s.label);
      const total = s.clips.length;
      return {
        type: 'bar', name: `${s.name} (n=${total})`, x: emotions, y: emotions.map((e) => (100 * (counts[e] ?? 0)) / total),
        text: emotions.map((e) => String(counts[e] ?? 0)), hovertemplate: '%{x}: %{y:.1f}% (%{text} clips)<extra></extra>',
      };
    }),
    layout: { barmode: 'group', xaxis: { title: { text: 'emotion' } }, yaxis: { title: { text: '% of clips' } } },
  };
}

/** Overlaid histograms of clip duration (seconds). */
export function durationHistogramFigure(sets: NamedClips[], binSizeS = 0.25): Figure {
  return {
    data: sets.map((s) => ({
      type: 'histogram', name: s.name, x: s.clips.map((c) => c.durationS).filter((d) => d !== undefined),
      opacity: 0.6, xbins: { size: binSizeS }, histnorm: 'percent',
    })),
    layout: { barmode: 'overlay', xaxis: { title: { text: 'duration (s)' } }, yaxis: { title: { text: '% of clips' } } },
  };
}

/** Heatmap: row = intended emotion, column = perceived plurality, cell = % of the row. */
export function agreementFigure(m: AgreementMatrix): Figure {
  const cols = [...m.emotions, 'tie'];
  const z = m.counts.map((row) => {
    const n = row.reduce((s, x) => s + x, 0);
    return row.map((x) => Math.round((1000 * x) / Math.max(n, 1)) / 10);
  });
  return {
    data: [{
      type: 'heatmap', x: cols, y: [...m.emotions], z, colorscale: [[0, '#f7fbff'], [0.5, '#6baed6'], [1, '#08306b']], zmin: 0, zmax: 100,
      text: z.map((r) => r.map((v) => `${v}%`)), texttemplate: '%{text}', hovertemplate: 'intended %{y}, perceived %{x}: %{z}%<extra></extra>',
    }],
    layout: {
      xaxis: { title: { text: `perceived (plurality of ${m.modality} votes)` } },
      yaxis: { title: { text: 'intended (actor)' }, autorange: 'reversed', automargin: true },
    },
  };
}

/** Clips per speaker, coloured by the set the speaker belongs to (test, dev, train). */
export function splitFigure(split: Split, clips: readonly Clip[]): Figure {
  const rows = splitSpeakerTable(split, clips);
  const colors = { test: '#d62728', dev: '#ff7f0e', train: '#1f77b4' } as const;
  return {
    data: (['test', 'dev', 'train'] as const).map((set) => {
      const r = rows.filter((x) => x.set === set);
      return { type: 'bar', name: set, x: r.map((x) => `${x.speaker}${x.sex ? ' ' + x.sex : ''}`), y: r.map((x) => x.clips), marker: { color: colors[set] } };
    }),
    layout: { xaxis: { title: { text: 'speaker' }, type: 'category' }, yaxis: { title: { text: 'clips' } }, barmode: 'stack' },
  };
}
