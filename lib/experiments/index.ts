/**
 * lib/experiments — one settings module per paper, with one typed object per profile (ci, cpu,
 * paper): every setting of an experiment in one place. It sits above the stages (it builds their
 * complete options objects) and below the commands and notebooks (which override it).
 *
 *   goncalves2022.ts  Goncalves & Busso, Interspeech 2022: pretext tasks + SER fine-tuning
 *   li2024.ts         Li et al., ICASSP 2024: HFLEA on HuBERT
 */
export * from './goncalves2022';
export * from './li2024';

/** One row per leaf setting under the given dotted prefixes (all when none), for a notebook's parameters cell. */
export function settingsRows(settings: object, prefixes: string[] = []): { setting: string; value: string }[] {
  const rows: { setting: string; value: string }[] = [];
  const walk = (v: unknown, path: string): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && path.split('.').length < 4) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, path ? `${path}.${k}` : k);
      return;
    }
    if (prefixes.length && !prefixes.some((p) => path === p || path.startsWith(`${p}.`))) return;
    rows.push({ setting: path, value: typeof v === 'string' ? v : JSON.stringify(v) });
  };
  walk(settings, '');
  return rows;
}
