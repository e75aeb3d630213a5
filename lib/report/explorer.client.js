/* The results explorer's page script (inlined by lib/report/explorer.ts; plain ES5-style browser
 * JavaScript, no modules, no network). It re-implements, for the selected models, what lib/eval
 * computes: seed ensembling (lib/eval/ensemble.ts ensembleSeeds), metrics from the confusion matrix
 * (lib/eval/metrics.ts metricsFromConfusion), and a speaker bootstrap. test/report/explorer.test.ts
 * checks the page's numbers against lib/eval on the same records. */
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('emolab-data').textContent);
  var METRICS = ['precision', 'recall', 'f1', 'ua', 'wa'];
  var MLAB = { precision: 'Precision', recall: 'Recall', f1: 'F1', ua: 'UA', wa: 'WA' };
  // One colour per arm, the same as in every notebook figure (lib/show/figures.ts ARM_COLORS).
  var ARM_COLORS = D.armColors || {};
  var FALLBACK = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  var FILTER_KEYS = ['corpus', 'profile', 'arm', 'mode', 'fold', 'seed'];
  var B = 400;

  function colorOf(arm, i) { return ARM_COLORS[arm] || FALLBACK[i % FALLBACK.length]; }
  function uniq(xs) { var s = {}; var out = []; xs.forEach(function (x) { var k = String(x); if (!s[k]) { s[k] = 1; out.push(x); } }); return out; }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); }
  function pct(x) { return isFinite(x) ? (100 * x).toFixed(1) : 'n/a'; }
  function signed(x) { return !isFinite(x) ? '—' : (x >= 0 ? '+' : '') + (100 * x).toFixed(1); }

  // ---- filters
  var selected = {};
  function values(key) {
    var vs = uniq(D.models.map(function (m) { return m[key]; }));
    if (key === 'arm') {
      var order = [];
      D.groups.forEach(function (g) { g.armOrder.forEach(function (a) { if (order.indexOf(a) < 0) order.push(a); }); });
      return vs.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
    }
    return vs.sort(function (a, b) { return typeof a === 'number' ? a - b : String(a) < String(b) ? -1 : 1; });
  }
  function buildFilters() {
    var box = document.getElementById('filters');
    var html = '<div class="note">' + D.models.length + ' models in ' + D.groups.length + ' group(s)</div>';
    FILTER_KEYS.forEach(function (key) {
      selected[key] = {};
      html += '<fieldset><legend>' + key + '</legend>';
      values(key).forEach(function (v) {
        selected[key][String(v)] = true;
        var id = 'f-' + key + '-' + String(v).replace(/[^A-Za-z0-9_-]/g, '_');
        html += '<label><input type="checkbox" checked id="' + id + '" data-filter="' + key + '" data-value="' + esc(v) + '"> ' + esc(key === 'arm' ? armName(v) : v) + '</label>';
      });
      html += '</fieldset>';
    });
    box.innerHTML = html;
    box.addEventListener('change', function (e) {
      var t = e.target;
      if (!t || !t.getAttribute('data-filter')) return;
      selected[t.getAttribute('data-filter')][t.getAttribute('data-value')] = t.checked;
      render();
    });
  }
  function armName(arm) {
    for (var i = 0; i < D.groups.length; i++) if (D.groups[i].armLabels[arm]) return D.groups[i].armLabels[arm];
    return arm;
  }
  function isSelected(m) {
    return FILTER_KEYS.every(function (k) { return selected[k][String(m[k])]; });
  }

  // ---- lib/eval/ensemble.ts ensembleSeeds
  function ensemble(models, k) {
    var acc = {};
    var keys = [];
    models.forEach(function (r) {
      var withProbs = Array.isArray(r.probs) && r.probs.length === r.ids.length && r.probs.every(function (row) {
        return Array.isArray(row) && row.length === k && row.every(function (x) { return isFinite(x); });
      });
      r.ids.forEach(function (id, i) {
        var key = r.fold + '|' + id;
        var p = r.pred[i];
        var row = withProbs ? r.probs[i] : null;
        var a = acc[key];
        if (!a) {
          a = acc[key] = { truth: r.truth[i], sum: new Array(k).fill(0), n: 0, firstSeed: r.seed, firstPred: p, speaker: r.speakers[i] };
          keys.push(key);
        }
        if (r.seed < a.firstSeed) { a.firstSeed = r.seed; a.firstPred = p; }
        if (a.speaker === null || a.speaker === undefined) a.speaker = r.speakers[i];
        for (var j = 0; j < k; j++) a.sum[j] += row ? row[j] : (j === p ? 1 : 0);
        a.n++;
      });
    });
    keys.sort();
    var out = { keys: keys, truth: [], pred: [], speakers: [], index: {} };
    keys.forEach(function (key, u) {
      var a = acc[key];
      var mean = a.sum.map(function (x) { return x / a.n; });
      var top = Math.max.apply(null, mean);
      var tied = [];
      mean.forEach(function (x, j) { if (x >= top - 1e-12) tied.push(j); });
      out.truth.push(a.truth);
      out.pred.push(tied.indexOf(a.firstPred) >= 0 ? a.firstPred : tied[0]);
      out.speakers.push(a.speaker === null || a.speaker === undefined ? 'utterance:' + key : 'speaker:' + a.speaker);
      out.index[key] = u;
    });
    return out;
  }

  // ---- lib/eval/metrics.ts metricsFromConfusion
  function confusion(truth, pred, k, idx) {
    var cm = [];
    for (var i = 0; i < k; i++) cm.push(new Array(k).fill(0));
    if (idx) idx.forEach(function (u) { cm[truth[u]][pred[u]]++; });
    else for (var u = 0; u < truth.length; u++) cm[truth[u]][pred[u]]++;
    return cm;
  }
  function sdiv(a, b) { return b === 0 ? 0 : a / b; }
  function mean(xs) { return xs.length ? xs.reduce(function (s, x) { return s + x; }, 0) / xs.length : 0; }
  function metrics(cm) {
    var k = cm.length;
    var support = cm.map(function (row) { return row.reduce(function (s, x) { return s + x; }, 0); });
    var predicted = [];
    for (var j = 0; j < k; j++) predicted.push(cm.reduce(function (s, row) { return s + row[j]; }, 0));
    var n = support.reduce(function (s, x) { return s + x; }, 0);
    var tp = cm.map(function (row, i) { return row[i]; });
    var P = tp.map(function (t, i) { return sdiv(t, predicted[i]); });
    var R = tp.map(function (t, i) { return sdiv(t, support[i]); });
    var F = P.map(function (p, i) { return sdiv(2 * p * R[i], p + R[i]); });
    var active = support.map(function (s, i) { return s > 0 || predicted[i] > 0; });
    var present = support.map(function (s) { return s > 0; });
    var pick = function (xs, mask) { return xs.filter(function (_, i) { return mask[i]; }); };
    return {
      precision: mean(pick(P, active)), recall: mean(pick(R, active)), f1: mean(pick(F, active)),
      ua: mean(pick(R, present)), wa: sdiv(tp.reduce(function (s, x) { return s + x; }, 0), n),
      perClassRecall: R, support: support, n: n,
    };
  }

  // ---- speaker bootstrap (mulberry32, fixed seed: the page shows the same CIs every time)
  function rng(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  function clusters(speakers, idx) {
    var by = {}; var names = [];
    idx.forEach(function (u) { var s = speakers[u]; if (!by[s]) { by[s] = []; names.push(s); } by[s].push(u); });
    return names.map(function (s) { return by[s]; });
  }
  function quantile(sorted, q) {
    if (!sorted.length) return NaN;
    var pos = (sorted.length - 1) * q; var lo = Math.floor(pos); var hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }
  function interval(xs) { var s = xs.slice().sort(function (a, b) { return a - b; }); return [quantile(s, 0.025), quantile(s, 0.975)]; }
  /** Bootstrap of one ensembled arm: CI of each metric and of each class's recall. */
  function armBootstrap(e, k) {
    var all = e.truth.map(function (_, u) { return u; });
    var cl = clusters(e.speakers, all);
    var r = rng(20240101);
    var draws = {}; METRICS.forEach(function (m) { draws[m] = []; });
    var perClass = []; for (var c = 0; c < k; c++) perClass.push([]);
    for (var b = 0; b < B; b++) {
      var idx = [];
      for (var i = 0; i < cl.length; i++) idx = idx.concat(cl[Math.floor(r() * cl.length)]);
      var m = metrics(confusion(e.truth, e.pred, k, idx));
      METRICS.forEach(function (x) { draws[x].push(m[x]); });
      for (var c2 = 0; c2 < k; c2++) if (m.support[c2] > 0) perClass[c2].push(m.perClassRecall[c2]);
    }
    var ci = {}; METRICS.forEach(function (x) { ci[x] = interval(draws[x]); });
    return { ci: ci, perClass: perClass.map(interval) };
  }
  /** Paired speaker bootstrap of arm - baseline on the utterances both scored. */
  function pairedDelta(e, base, k, metric) {
    var ua = [], ub = [];
    e.keys.forEach(function (key, u) { if (key in base.index) { ua.push(u); ub.push(base.index[key]); } });
    if (!ua.length) return null;
    var spk = ub.map(function (u) { return base.speakers[u]; });
    var pos = ua.map(function (_, i) { return i; });
    var cl = clusters(spk, pos);
    var est = metrics(confusion(e.truth, e.pred, k, ua))[metric] - metrics(confusion(base.truth, base.pred, k, ub))[metric];
    var r = rng(20240102);
    var draws = [];
    for (var b = 0; b < B; b++) {
      var ia = [], ib = [];
      for (var i = 0; i < cl.length; i++) cl[Math.floor(r() * cl.length)].forEach(function (p) { ia.push(ua[p]); ib.push(ub[p]); });
      draws.push(metrics(confusion(e.truth, e.pred, k, ia))[metric] - metrics(confusion(base.truth, base.pred, k, ib))[metric]);
    }
    return { delta: est, ci: interval(draws), paired: ua.length };
  }

  // ---- what the selection gives, per group and arm
  function compute() {
    var metric = document.getElementById('metric').value;
    var chosen = D.models.filter(isSelected);
    return D.groups.map(function (g, gi) {
      var k = g.classes.length;
      var mine = chosen.filter(function (m) { return m.g === gi; });
      var arms = g.armOrder.filter(function (a) { return mine.some(function (m) { return m.arm === a; }); });
      var res = {};
      arms.forEach(function (a) {
        var ms = mine.filter(function (m) { return m.arm === a; });
        var e = ensemble(ms, k);
        var cm = confusion(e.truth, e.pred, k);
        res[a] = { models: ms.length, seeds: uniq(ms.map(function (m) { return m.seed; })).length, folds: uniq(ms.map(function (m) { return m.fold; })).length, e: e, cm: cm, m: metrics(cm), boot: armBootstrap(e, k) };
      });
      var base = res[g.baseline];
      arms.forEach(function (a) { if (a !== g.baseline && base) res[a].delta = pairedDelta(res[a].e, base.e, k, metric); });
      return { g: g, gi: gi, arms: arms, res: res, metric: metric };
    }).filter(function (x) { return x.arms.length; });
  }

  function renderTables(groups) {
    var html = '';
    if (!groups.length) html = '<p class="note" id="nothing">No model matches the filters.</p>';
    groups.forEach(function (x) {
      var g = x.g;
      html += '<h3>' + esc(g.experiment) + ' — ' + esc(g.source === 'hflea' ? 'HFLEA stages' : g.mode + ' fine-tuning') + ' <span class="note">(' + esc(g.corpus) + '; classes ' + esc(g.classes.join(', ')) + ')</span></h3>';
      html += '<table class="live" data-group="' + x.gi + '"><thead><tr><th>Arm</th><th>Models</th><th>Utterances</th>';
      METRICS.forEach(function (m) { html += '<th>' + MLAB[m] + '</th>'; });
      html += '<th>' + MLAB[x.metric] + ' 95% CI</th><th>Δ' + MLAB[x.metric] + ' vs ' + esc(g.armLabels[g.baseline] || g.baseline) + ' (pts)</th><th>95% CI of Δ</th></tr></thead><tbody>';
      x.arms.forEach(function (a) {
        var r = x.res[a];
        html += '<tr data-arm="' + esc(a) + '"><td><span style="color:' + colorOf(a, g.armOrder.indexOf(a)) + '">■</span> ' + esc(g.armLabels[a] || a) + '</td><td data-field="models">' + r.models + '</td><td data-field="utterances">' + r.e.truth.length + '</td>';
        METRICS.forEach(function (m) { html += '<td data-group="' + x.gi + '" data-arm="' + esc(a) + '" data-metric="' + m + '">' + pct(r.m[m]) + '</td>'; });
        var ci = r.boot.ci[x.metric];
        html += '<td>' + pct(ci[0]) + '–' + pct(ci[1]) + '</td>';
        if (r.delta) html += '<td data-delta="' + esc(a) + '">' + signed(r.delta.delta) + '</td><td>[' + signed(r.delta.ci[0]) + ', ' + signed(r.delta.ci[1]) + ']</td>';
        else html += '<td>—</td><td>—</td>';
        html += '</tr>';
      });
      html += '</tbody></table>';
    });
    document.getElementById('tables').innerHTML = html;
  }

  function renderGain(groups) {
    var traces = [];
    groups.forEach(function (x) {
      x.arms.forEach(function (a) {
        var r = x.res[a];
        if (!r.delta) return;
        traces.push({
          type: 'scatter', mode: 'markers', name: (groups.length > 1 ? x.g.experiment + ' ' + x.g.mode + ': ' : '') + (x.g.armLabels[a] || a),
          x: [100 * r.delta.delta], y: [(groups.length > 1 ? x.g.mode + ' · ' : '') + (x.g.armLabels[a] || a)],
          error_x: { type: 'data', symmetric: false, array: [100 * (r.delta.ci[1] - r.delta.delta)], arrayminus: [100 * (r.delta.delta - r.delta.ci[0])] },
          marker: { size: 11, color: colorOf(a, x.g.armOrder.indexOf(a)) },
        });
      });
    });
    var metric = document.getElementById('metric').value;
    Plotly.react('gain', traces, {
      margin: { l: 260, r: 20, t: 10, b: 50 }, height: Math.max(220, 90 + 34 * traces.length), showlegend: false,
      xaxis: { title: { text: 'Δ' + MLAB[metric] + ' vs baseline (points), 95% paired speaker-bootstrap CI' }, zeroline: true, zerolinecolor: '#888' },
      yaxis: { automargin: true, autorange: 'reversed' },
    }, { responsive: true, displaylogo: false });
  }

  function renderConfusion(groups) {
    var gs = document.getElementById('cm-group');
    var as = document.getElementById('cm-arm');
    var prevG = gs.value, prevA = as.value;
    gs.innerHTML = groups.map(function (x) { return '<option value="' + x.gi + '">' + esc(x.g.experiment + ' · ' + x.g.mode) + '</option>'; }).join('');
    if (groups.some(function (x) { return String(x.gi) === prevG; })) gs.value = prevG;
    var x = groups.filter(function (y) { return String(y.gi) === gs.value; })[0];
    if (!x) { Plotly.purge('confusion'); Plotly.purge('perclass'); as.innerHTML = ''; return; }
    as.innerHTML = x.arms.map(function (a) { return '<option value="' + esc(a) + '">' + esc(x.g.armLabels[a] || a) + '</option>'; }).join('');
    if (x.arms.indexOf(prevA) >= 0) as.value = prevA;
    var r = x.res[as.value];
    var cls = x.g.classes;
    var z = r.cm.map(function (row) { var s = row.reduce(function (p, q) { return p + q; }, 0) || 1; return row.map(function (v) { return 100 * v / s; }); });
    Plotly.react('confusion', [{
      type: 'heatmap', z: z, x: cls, y: cls, zmin: 0, zmax: 100, colorscale: 'Blues', reversescale: true, text: r.cm, texttemplate: '%{text}',
      hovertemplate: 'true %{y}, predicted %{x}: %{text} (%{z:.0f}% of the row)<extra></extra>', colorbar: { title: { text: '% of true class' } },
    }], {
      title: { text: (x.g.armLabels[as.value] || as.value) + ' (seed-ensembled, folds pooled)', font: { size: 13 } },
      xaxis: { title: { text: 'predicted class' } }, yaxis: { title: { text: 'true class' }, autorange: 'reversed' }, margin: { t: 40 },
    }, { responsive: true, displaylogo: false });
    var traces = x.arms.map(function (a) {
      var q = x.res[a];
      return {
        type: 'bar', name: x.g.armLabels[a] || a, x: cls, y: q.m.perClassRecall.map(function (v) { return 100 * v; }),
        error_y: { type: 'data', symmetric: false, array: q.boot.perClass.map(function (c, i) { return 100 * (c[1] - q.m.perClassRecall[i]); }), arrayminus: q.boot.perClass.map(function (c, i) { return 100 * (q.m.perClassRecall[i] - c[0]); }) },
        marker: { color: colorOf(a, x.g.armOrder.indexOf(a)) },
      };
    });
    Plotly.react('perclass', traces, {
      barmode: 'group', title: { text: 'Recall per class (%), 95% speaker-bootstrap CI', font: { size: 13 } },
      yaxis: { range: [0, 105], title: { text: 'recall (%)' } }, xaxis: { title: { text: 'true class' } }, legend: { orientation: 'h', y: -0.25 }, margin: { t: 40 },
    }, { responsive: true, displaylogo: false });
  }

  function renderPretext() {
    var rows = D.pretext.filter(function (p) {
      return (selected.profile[p.profile] !== false) && (selected.arm[p.task] !== false);
    });
    var labels = rows.map(function (p) { return p.run + ' · ' + p.head; });
    Plotly.react('pretext', [
      { type: 'bar', name: 'held-out accuracy', x: labels, y: rows.map(function (p) { return 100 * p.accuracy; }), marker: { color: rows.map(function (p) { return colorOf(p.head, 0); }) } },
      { type: 'scatter', mode: 'markers', name: 'majority-class rate', x: labels, y: rows.map(function (p) { return 100 * p.majorityRate; }), marker: { symbol: 'line-ew-open', size: 28, color: '#222', line: { width: 3 } } },
    ], { yaxis: { title: { text: 'accuracy on held-out speakers (%)' }, range: [0, 100] }, xaxis: { automargin: true, tickangle: -30 }, margin: { t: 10 }, legend: { orientation: 'h', y: 1.1 } }, { responsive: true, displaylogo: false });
    var html = '<table id="pretext-rows"><thead><tr><th>Run</th><th>Task head</th><th>Corpus</th><th>Profile</th><th>Held-out examples</th><th>Accuracy</th><th>Majority rate</th><th>Δ (pts)</th></tr></thead><tbody>';
    rows.forEach(function (p) {
      html += '<tr><td>' + esc(p.run) + '</td><td>' + esc(p.head) + '</td><td>' + esc(p.corpus) + '</td><td>' + esc(p.profile) + '</td><td>' + p.n + '</td><td>' + pct(p.accuracy) + '</td><td>' + pct(p.majorityRate) + '</td><td>' + signed(p.accuracy - p.majorityRate) + '</td></tr>';
    });
    document.getElementById('pretext-table').innerHTML = rows.length ? html + '</tbody></table>' : '<p class="note">No pretext run matches the filters.</p>';
  }

  function renderClaims(groups) {
    var G = D.claims.goncalves, L = D.claims.li;
    var html = '<p><b>' + esc(G.citation) + '</b> (' + esc(G.corpus) + '): ' + esc(G.statement) + '.</p>';
    var ser = groups.filter(function (x) { return x.g.source === 'ser'; });
    html += '<table id="claims-goncalves"><thead><tr><th>Metric</th><th>Paper: best relative gain</th>' + ser.map(function (x) { return '<th>Ours: ' + esc(x.g.experiment + ' · ' + x.g.mode) + '</th>'; }).join('') + '</tr></thead><tbody>';
    ['precision', 'recall', 'f1'].forEach(function (m) {
      html += '<tr><td>' + MLAB[m] + '</td><td>+' + G.relativeGainPct[m].toFixed(1) + '%</td>';
      ser.forEach(function (x) {
        var base = x.res[x.g.baseline];
        var best = null;
        x.arms.forEach(function (a) {
          if (a === x.g.baseline || a === 'functionals' || !base) return;
          var rel = 100 * (x.res[a].m[m] - base.m[m]) / base.m[m];
          if (best === null || rel > best.rel) best = { rel: rel, arm: a };
        });
        html += '<td>' + (best ? (best.rel >= 0 ? '+' : '') + best.rel.toFixed(1) + '% (' + esc(x.g.armLabels[best.arm]) + ')' : '—') + '</td>';
      });
      html += '</tr>';
    });
    html += '</tbody></table><p class="note">Ours: the best pretraining arm among the selected ones, pooled metric relative to the selected baseline (references excluded). See the gain plot for its CI.</p>';
    html += '<p><b>' + esc(L.citation) + '</b> (' + esc(L.corpus) + '): ' + esc(L.statement) + '.</p>';
    var hf = groups.filter(function (x) { return x.g.source === 'hflea'; });
    if (!hf.length) html += '<p class="note">No HFLEA records selected (notebook 09 / <code>emolab hubert hflea</code> write them under runs/hflea).</p>';
    hf.forEach(function (x) {
      html += '<table><thead><tr><th>' + esc(x.g.experiment) + '</th><th>UA</th><th>WA</th><th>ΔUA vs ' + esc(x.g.armLabels[x.g.baseline] || x.g.baseline) + '</th></tr></thead><tbody>';
      x.arms.forEach(function (a) {
        var r = x.res[a];
        var d = r.delta ? signed(r.m.ua - x.res[x.g.baseline].m.ua) + ' pts' : '—';
        html += '<tr><td>' + esc(x.g.armLabels[a] || a) + '</td><td>' + pct(r.m.ua) + '</td><td>' + pct(r.m.wa) + '</td><td>' + d + '</td></tr>';
      });
      html += '</tbody></table>';
    });
    document.getElementById('claims').innerHTML = html;
  }

  var last = null;
  function render() {
    last = compute();
    renderTables(last);
    renderGain(last);
    renderConfusion(last);
    renderPretext();
    renderClaims(last);
    document.body.setAttribute('data-rendered', String(Number(document.body.getAttribute('data-rendered') || 0) + 1));
  }

  buildFilters();
  document.getElementById('metric').addEventListener('change', render);
  document.getElementById('cm-group').addEventListener('change', function () { renderConfusion(last); });
  document.getElementById('cm-arm').addEventListener('change', function () { renderConfusion(last); });
  render();
})();
