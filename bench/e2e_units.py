"""Unit-by-unit comparison of two runs folders of the same main job (issue 17, bench/NOTES.md attempt 17.7).

    python3 bench/e2e_units.py <runs A> <runs B> [--busy ISO/ISO ...] [--models-wall-s S] [--out file.json]

Matches every pretraining run (runs/pretrain-*/run.json: wallS) and every SER model record
(runs/ser/<experiment>/<mode>/<arm>/<seed>/<fold>.json: wallSeconds) that B finished with the same
unit in A, checks that both give the same metrics (every number within METRIC_RTOL relative), and reports B / A wall time per unit and as a ratio
of sums. Units of B that ran (even partly) inside a --busy window (start/end, UTC ISO times) are listed but left
out of the ratio: another job shared the cores then. With --models-wall-s (A's whole models stage, wall s) it
also prints B's models stage extrapolated as A's x the ratio (an estimate, not a measurement).
Reads JSON only; stdlib only.
"""
import argparse, datetime as dt, glob, json, os, sys


def iso(s):
    return dt.datetime.fromisoformat(s.replace('Z', '+00:00')).timestamp()


def max_rel_diff(a, b):
    """Largest relative difference between two metric trees of the same shape; inf when their shapes or non-numbers differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return float('inf')
        return max([max_rel_diff(a[k], b[k]) for k in a] or [0.0])
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return float('inf')
        return max([max_rel_diff(x, y) for x, y in zip(a, b)] or [0.0])
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))
    return 0.0 if a == b else float('inf')


# Metrics agree when every number is within this relative difference: the wasm and native kernels sum in a
# different order, so a test loss may differ in its 7th digit; counts, accuracies and F1 must not.
METRIC_RTOL = 1e-5


def units(root):
    out = {}
    for f in glob.glob(os.path.join(root, 'pretrain-*', 'run.json')):
        r = json.load(open(f))
        end = os.path.getmtime(f)
        out[os.path.relpath(f, root)] = {'kind': 'pretrain', 'wallS': r['wallS'], 'start': end - r['wallS'], 'end': end,
                                         'metrics': r['metrics']['test'], 'steps': r['metrics']['steps'], 'kernels': r['run'].get('kernels')}
    for f in glob.glob(os.path.join(root, 'ser', '*', '*', '*', '*', '*.json')):
        r = json.load(open(f))
        if 'wallSeconds' not in r:
            continue
        end = iso(r['createdAt'])
        out[os.path.relpath(f, root)] = {'kind': 'ser', 'wallS': r['wallSeconds'], 'start': end - r['wallSeconds'], 'end': end,
                                         'metrics': r['metrics'], 'steps': len(r['history']), 'kernels': r['runInfo'].get('kernels') if isinstance(r.get('runInfo'), dict) else None}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('a'); ap.add_argument('b')
    ap.add_argument('--busy', action='append', default=[])
    ap.add_argument('--models-wall-s', type=float)
    ap.add_argument('--out')
    o = ap.parse_args()
    A, B = units(o.a), units(o.b)
    busy = [tuple(iso(t) for t in w.split('/')) for w in o.busy]
    rows = []
    for k in sorted(B):
        if k not in A:
            continue
        a, b = A[k], B[k]
        rows.append({'unit': k, 'kind': b['kind'], 'aWallS': round(a['wallS'], 1), 'bWallS': round(b['wallS'], 1), 'ratio': round(b['wallS'] / a['wallS'], 2),
                     'metricsMaxRelDiff': max_rel_diff(a['metrics'], b['metrics']),
                     'sameSteps': a['steps'] == b['steps'], 'quiet': all(b['end'] <= lo or b['start'] >= hi for lo, hi in busy),
                     'bStart': dt.datetime.utcfromtimestamp(b['start']).strftime('%H:%M:%S'), 'bEnd': dt.datetime.utcfromtimestamp(b['end']).strftime('%H:%M:%S')})
    for r in rows:
        r['sameMetrics'] = r['metricsMaxRelDiff'] <= METRIC_RTOL
    if not rows:
        sys.exit('no unit of B is finished in A too')
    for r in rows:
        print(f"{r['unit']:<62} {r['aWallS']:>7} {r['bWallS']:>8} {r['ratio']:>6}x  {'same' if r['sameMetrics'] else 'DIFF'}  {r['bStart']}-{r['bEnd']}{'' if r['quiet'] else '  (shared cores: left out)'}")
    summary = {}
    for kind in ('pretrain', 'ser', 'all'):
        q = [r for r in rows if r['quiet'] and (kind == 'all' or r['kind'] == kind)]
        if q:
            summary[kind] = {'units': len(q), 'aWallS': round(sum(r['aWallS'] for r in q), 1), 'bWallS': round(sum(r['bWallS'] for r in q), 1),
                             'ratioOfSums': round(sum(r['bWallS'] for r in q) / sum(r['aWallS'] for r in q), 2),
                             'ratioRange': [min(r['ratio'] for r in q), max(r['ratio'] for r in q)]}
            print(f"quiet {kind}: {len(q)} units, B/A = {summary[kind]['ratioOfSums']}x (per unit {summary[kind]['ratioRange'][0]}-{summary[kind]['ratioRange'][1]}x)")
    worst = max(r['metricsMaxRelDiff'] for r in rows)
    print(f"same metrics (every number within {METRIC_RTOL:g} relative) in {sum(r['sameMetrics'] for r in rows)} of {len(rows)} matched units"
          f" (largest relative difference {worst:.2g}); same epochs/steps in {sum(r['sameSteps'] for r in rows)}")
    est = None
    if o.models_wall_s and 'all' in summary:
        est = round(o.models_wall_s * summary['all']['ratioOfSums'], 1)
        print(f"B's models stage, extrapolated: {o.models_wall_s:.0f} s x {summary['all']['ratioOfSums']} = {est} s")
    if o.out:
        json.dump({'benchmark': 'e2e-units', 'a': o.a, 'b': o.b, 'aKernels': next(iter(A.values()))['kernels'], 'bKernels': next(iter(B.values()))['kernels'],
                   'busy': o.busy, 'rows': rows, 'summary': summary,
                   'modelsWallS': o.models_wall_s, 'bModelsWallSExtrapolated': est}, open(o.out, 'w'), indent=2)


if __name__ == '__main__':
    main()
