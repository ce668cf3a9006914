// The playground page: one state object from the server (GET /api/state,
// POST /api/edit), rendered with preact + htm; charts with Plotly.
import { h, render } from 'preact';
import { useState, useEffect, useRef } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const METHODS = ['minmax', 'entropy', 'percentile', 'mse'];

async function api(path, body) {
  const res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(json.error || res.statusText);
  return json;
}

const fmt = (x, digits = 1) => (x === null || x === undefined ? '–' : Number(x).toFixed(digits));
// SQNR colour: red below 10 dB, green above 35 dB.
function sqnrColour(db) {
  const t = Math.max(0, Math.min(1, (db - 10) / 25));
  return `hsl(${Math.round(120 * t)}, 70%, 72%)`;
}

function plot(el, data, layout) {
  if (el) Plotly.react(el, data, Object.assign({ margin: { l: 40, r: 10, t: 28, b: 30 }, height: 240, width: 380 }, layout), { displayModeBar: false });
}

function Thumb({ index, label, classes, chosen, onClick }) {
  const canvas = useRef();
  useEffect(() => {
    fetch(`/api/image?index=${index}`).then((r) => r.arrayBuffer()).then((buf) => {
      const px = new Uint8Array(buf), ctx = canvas.current.getContext('2d'), img = ctx.createImageData(32, 32);
      for (let i = 0; i < 1024; i++) {
        img.data[4 * i] = px[i]; img.data[4 * i + 1] = px[1024 + i]; img.data[4 * i + 2] = px[2048 + i]; img.data[4 * i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
    });
  }, [index]);
  return html`<div class=${'thumb' + (chosen ? ' chosen' : '')} onClick=${onClick} data-image=${index}>
    <canvas ref=${canvas} width="32" height="32"></canvas>${label}</div>`;
}

function Graph({ model, state, selected, onSelect }) {
  const box = useRef();
  const [svg, setSvg] = useState('');
  useEffect(() => { fetch('/api/graph.svg').then((r) => r.text()).then(setSvg); }, []);
  useEffect(() => {
    if (!box.current || !svg) return;
    box.current.innerHTML = svg;
    const stats = Object.fromEntries(state.layers.map((l) => [l.layer, l]));
    for (const g of box.current.querySelectorAll('g.node')) {
      const id = g.querySelector('title')?.textContent || '';
      const name = id.startsWith('n') ? model.graph_nodes[Number(id.slice(1))] : undefined;
      const l = stats[name];
      if (!l) continue;
      g.setAttribute('data-layer', name);
      const shape = g.querySelector('path, polygon');
      if (shape) {
        shape.setAttribute('fill', l.kept_float ? '#9fc5e8' : sqnrColour(l.sqnr_accumulated_db));
        if (name === selected) { shape.setAttribute('stroke', '#f57c00'); shape.setAttribute('stroke-width', '3'); }
      }
      g.querySelector('title').textContent = `${name}: SQNR ${fmt(l.sqnr_accumulated_db)} dB accumulated, ${fmt(l.sqnr_alone_db)} dB alone`;
      g.onclick = () => onSelect(name);
    }
  }, [svg, state, selected]);
  return html`<section><h2>Graph <span class="muted">(colour: accumulated SQNR, red 10 dB … green 35 dB; blue: float)</span></h2><div id="graph" ref=${box}></div></section>`;
}

function LayerTable({ state, selected, onSelect }) {
  const [sort, setSort] = useState({ key: null, down: false });
  const cols = [
    ['layer', 'layer'], ['op_type', 'op'], ['bits', 'bits'], ['weight_bits', 'w bits'], ['sqnr_alone_db', 'SQNR alone dB'],
    ['sqnr_accumulated_db', 'SQNR accum. dB'], ['cosine', 'cosine'], ['saturated', 'saturated %'], ['weight_sqnr_db', 'weight SQNR dB'],
  ];
  let rows = state.layers.slice();
  if (sort.key) rows.sort((a, b) => (a[sort.key] > b[sort.key] ? 1 : a[sort.key] < b[sort.key] ? -1 : 0) * (sort.down ? -1 : 1));
  return html`<section><h2>Layers <span class="muted">(SQNR on ${state.statistics_images} images; alone: the float tensor through this layer's
    QuantizeLinear/DequantizeLinear; accumulated: the integer model against the float model, as ONNX Runtime's qdq_loss_debug separates them)</span></h2>
    <table id="layer-table"><thead><tr>${cols.map(([k, t]) => html`<th data-sort=${k} onClick=${() => setSort({ key: k, down: sort.key === k ? !sort.down : false })}>${t}${sort.key === k ? (sort.down ? ' ▼' : ' ▲') : ''}</th>`)}</tr></thead>
    <tbody>${rows.map((l) => html`<tr data-layer=${l.layer} class=${l.layer === selected ? 'selected' : ''} onClick=${() => onSelect(l.layer)}>
      <td>${l.layer}${l.kept_float ? ' (float)' : ''}</td><td>${l.op_type}</td><td class="bits">${l.bits}</td><td>${l.weight_sqnr_db === null ? '–' : l.weight_bits}</td>
      <td class="sqnr-alone">${fmt(l.sqnr_alone_db)}</td><td class="sqnr-acc" style=${{ background: sqnrColour(l.sqnr_accumulated_db) }}>${fmt(l.sqnr_accumulated_db)}</td>
      <td>${fmt(l.cosine, 4)}</td><td>${fmt(100 * l.saturated, 3)}</td><td>${fmt(l.weight_sqnr_db)}</td></tr>`)}</tbody></table></section>`;
}

function GlobalControls({ state, edit }) {
  const s = state.settings;
  const set = (k, v) => edit({ settings: { [k]: v } });
  return html`<section class="controls" id="global-controls"><h2>Scheme</h2>
    <label>method <select id="global-method" value=${s.method} onChange=${(e) => set('method', e.target.value)}>${METHODS.map((m) => html`<option>${m}</option>`)}</select></label>
    <label><input type="checkbox" id="global-per-channel" checked=${s.per_channel} onChange=${(e) => set('per_channel', e.target.checked)}/> per-channel weights</label>
    <label>activations <select id="global-activation" value=${s.activation} onChange=${(e) => set('activation', e.target.value)}><option>u8</option><option>s8</option></select></label>
    <label><input type="checkbox" id="global-reduce-range" checked=${s.reduce_range} onChange=${(e) => set('reduce_range', e.target.checked)}/> 7-bit activations (reduce range)</label>
    <label><input type="checkbox" id="global-symmetric" checked=${s.symmetric} onChange=${(e) => set('symmetric', e.target.checked)}/> symmetric activations</label>
    <label>requantization <select id="global-requant" value=${s.requant} onChange=${(e) => set('requant', e.target.value)}><option value="float">float (ONNX Runtime)</option><option value="fixed">fixed-point multiplier + shift</option></select></label>
    <button id="reset-edits" onClick=${() => edit({ overrides: { layers: {}, tensors: {} } })}
      disabled=${!Object.keys(state.overrides.layers || {}).length && !Object.keys(state.overrides.tensors || {}).length}>undo every layer edit</button>
    <label>evaluation images <select id="global-eval-count" value=${s.eval_count} onChange=${(e) => set('eval_count', Number(e.target.value))}>${[200, 500, 1000, 2000, 5000, 10000].map((n) => html`<option value=${n}>${n}</option>`)}</select></label>
  </section>`;
}

function LayerControls({ state, layer, edit }) {
  const o = (state.overrides.layers || {})[layer] || {};
  const stats = state.layers.find((l) => l.layer === layer);
  const change = (patch) => {
    const layers = Object.assign({}, state.overrides.layers);
    const next = Object.assign({}, o, patch);
    for (const k of Object.keys(next)) if (next[k] === undefined || next[k] === '') delete next[k];
    if (Object.keys(next).length) layers[layer] = next; else delete layers[layer];
    edit({ overrides: { layers, tensors: state.overrides.tensors || {} } });
  };
  const bits = o.activation_bits ?? 8;
  // A layer kept in float has no quantization of its own: its output is
  // quantized by its readers with the scheme's settings.
  const off = !!o.keep_float;
  return html`<div class="controls" id="layer-controls">
    ${off && html`<div class="muted">kept in float: bits, method and range do not apply (its readers quantize its output with the scheme's settings)</div>`}
    <label>bits (weights and output) <select id="layer-bits" disabled=${off} value=${bits} onChange=${(e) => { const b = Number(e.target.value); change({ activation_bits: b === 8 ? undefined : b, weight_bits: stats.weight_sqnr_db === null || b === 8 ? undefined : b }); }}>
      ${[8, 7, 6, 5, 4, 3, 2].map((b) => html`<option value=${b}>${b}</option>`)}</select></label>
    <label>method <select id="layer-method" disabled=${off} value=${o.method || ''} onChange=${(e) => change({ method: e.target.value || undefined })}>
      <option value="">(scheme: ${state.settings.method})</option>${METHODS.map((m) => html`<option>${m}</option>`)}</select></label>
    <label>range × <input id="layer-range-scale" disabled=${off} type="range" min="0.1" max="2" step="0.05" value=${o.range_scale ?? 1}
      onChange=${(e) => change({ range_scale: Number(e.target.value) === 1 ? undefined : Number(e.target.value) })}/> ${fmt(o.range_scale ?? 1, 2)}</label>
    ${stats && stats.weight_sqnr_db !== null && html`<label>per-channel <select id="layer-per-channel" disabled=${off} value=${o.per_channel === undefined ? '' : String(o.per_channel)}
      onChange=${(e) => change({ per_channel: e.target.value === '' ? undefined : e.target.value === 'true' })}>
      <option value="">(scheme)</option><option value="true">on</option><option value="false">off</option></select></label>`}
    <label><input type="checkbox" id="layer-keep-float" checked=${!!o.keep_float} onChange=${(e) => change({ keep_float: e.target.checked || undefined })}/> keep in float</label>
  </div>`;
}

function LayerPanel({ state, layer, image, edit }) {
  const [detail, setDetail] = useState(null);
  const [activation, setActivation] = useState(null);
  const [channel, setChannel] = useState(0);
  const refs = { scales: useRef(), wf: useRef(), wq: useRef(), we: useRef(), hist: useRef(), act: useRef(), acterr: useRef() };
  useEffect(() => { setDetail(null); api(`/api/layer?name=${encodeURIComponent(layer)}`).then(setDetail); }, [layer, state.version]);
  useEffect(() => { if (image !== null) api(`/api/activation?layer=${encodeURIComponent(layer)}&image=${image}`).then(setActivation); }, [layer, image, state.version]);
  useEffect(() => {
    if (!detail) return;
    if (detail.weights) {
      plot(refs.scales.current, [{ type: 'bar', y: detail.weight_scales }], { title: 'weight scale per output channel' });
      for (const [k, ref, title] of [['float', refs.wf, 'weights (float)'], ['dequantized', refs.wq, 'weights (dequantized int)'], ['error', refs.we, 'error']])
        plot(ref.current, [{ type: 'heatmap', z: detail.weights[k], colorscale: k === 'error' ? 'RdBu' : 'Viridis' }], { title, yaxis: { title: 'output channel' } });
    }
    const hst = detail.histogram, x = hst.counts.map((_, i) => hst.min + (i + 0.5) * hst.width);
    const shapes = [];
    if (hst.grid) {
      for (const v of [hst.grid.rmin, hst.grid.rmax]) shapes.push({ type: 'line', x0: v, x1: v, y0: 0, y1: 1, yref: 'paper', line: { color: 'red', width: 2 } });
      const levels = hst.grid.qmax - hst.grid.qmin;
      if (levels <= 64) for (let q = hst.grid.qmin; q <= hst.grid.qmax; q++) {
        const v = hst.grid.scale * (q - hst.grid.zero_point);
        shapes.push({ type: 'line', x0: v, x1: v, y0: 0, y1: 1, yref: 'paper', line: { color: 'rgba(0,0,0,0.25)', width: 1 } });
      }
    }
    plot(refs.hist.current, [{ type: 'bar', x, y: hst.counts }], { title: 'output values (float) · clipping range · grid', yaxis: { type: 'log' }, shapes, width: 500 });
  }, [detail]);
  useEffect(() => {
    if (!activation) return;
    const [, c, hgt, w] = activation.shape.length === 4 ? activation.shape : [1, activation.shape[1], 1, 1];
    const ch = Math.min(channel, c - 1), plane = (arr) => Array.from({ length: hgt }, (_, y) => arr.slice(ch * hgt * w + y * w, ch * hgt * w + (y + 1) * w));
    plot(refs.act.current, [{ type: 'heatmap', z: plane(activation.float), colorscale: 'Viridis' }], { title: `image ${activation.image}, channel ${ch}: float`, yaxis: { autorange: 'reversed' }, width: 300 });
    const err = activation.int8_dequantized.map((v, i) => v - activation.float[i]);
    plot(refs.acterr.current, [{ type: 'heatmap', z: plane(err), colorscale: 'RdBu' }], { title: 'int8 − float', yaxis: { autorange: 'reversed' }, width: 300 });
  }, [activation, channel]);
  const q = detail?.operation?.quantization;
  return html`<section id="layer-panel"><h2>Layer ${layer}</h2>
    <${LayerControls} state=${state} layer=${layer} edit=${edit} />
    ${detail && html`<table class="kv"><tbody>
      ${detail.tensors.map((t) => html`<tr><td>${t.role} ${t.tensor}</td><td>scale ${t.scale.toPrecision(6)}, zero point ${t.zero_point}, ${t.bits} bits${t.chosen ? `, range [${fmt(t.chosen[0], 3)}, ${fmt(t.chosen[1], 3)}] of observed [${fmt(t.observed[0], 3)}, ${fmt(t.observed[1], 3)}]` : ''}</td></tr>`)}
      ${q && q.multiplier && html`<tr><td>multiplier</td><td>float ${q.multiplier.slice(0, 4).map((m) => m.toPrecision(6)).join(', ')}${q.multiplier.length > 4 ? ' …' : ''}</td></tr>`}
      ${q && q.multiplier_fixed && html`<tr><td>fixed point</td><td>${q.multiplier_fixed.slice(0, 4).map((m) => `${m.m0} · 2^-${m.shift}`).join(', ')}${q.multiplier_fixed.length > 4 ? ' …' : ''}</td></tr>`}
      ${q && q.accumulator && html`<tr><td>accumulator</td><td>${q.accumulator.bits} bits (worst case |acc| ${q.accumulator.worst_case_abs}, ${q.accumulator.terms_per_output} terms)</td></tr>`}
      ${detail.kept_float && html`<tr><td colspan="2">runs in float (kept)</td></tr>`}
    </tbody></table>
    <div class="plots"><div ref=${refs.hist}></div>${detail.weights && html`<div ref=${refs.scales}></div><div ref=${refs.wf}></div><div ref=${refs.wq}></div><div ref=${refs.we}></div>`}</div>
    ${image !== null && html`<div>activation channel <input type="number" min="0" value=${channel} onInput=${(e) => setChannel(Number(e.target.value) || 0)}/></div>
      <div class="plots"><div ref=${refs.act}></div><div ref=${refs.acterr}></div></div>`}
    ${image !== null && !detail.kept_float && html`<a id="export-golden" href=${`/api/export/golden?layer=${encodeURIComponent(layer)}&image=${image}`}>golden vectors of this layer for image ${image} (.tar.gz)</a>`}`}
  </section>`;
}

function Changes({ model, state, image, setImage }) {
  const cm = useRef();
  useEffect(() => {
    plot(cm.current, [{ type: 'heatmap', z: state.confusion_difference, x: model.classes, y: model.classes, colorscale: 'RdBu', zmid: 0 }],
      { title: 'confusion matrix: int8 − fp32 (rows: true class)', width: 420, height: 340, margin: { l: 80, b: 70, t: 28, r: 10 } });
  }, [state]);
  return html`<section id="changes"><h2>${state.changed_count} of ${state.eval_count} predictions changed by quantization</h2>
    <div class="strip">${state.changed.map((c) => html`<${Thumb} index=${c.index} chosen=${c.index === image} onClick=${() => setImage(c.index)}
      label=${html`<span>${model.classes[c.label]}<br/>fp32 ${model.classes[c.fp32]}<br/>int8 ${model.classes[c.int8]}</span>`} />`)}</div>
    <div ref=${cm}></div></section>`;
}

function Divergence({ state, image }) {
  const [d, setD] = useState(null);
  const chart = useRef();
  useEffect(() => { if (image !== null) api(`/api/divergence?image=${image}`).then(setD); }, [image, state.version]);
  useEffect(() => {
    if (!d) return;
    plot(chart.current, [
      { type: 'scatter', mode: 'lines+markers', name: 'this image', x: d.layers.map((l) => l.layer), y: d.layers.map((l) => l.sqnr_db) },
      { type: 'scatter', mode: 'lines', name: 'average', x: d.layers.map((l) => l.layer), y: d.layers.map((l) => l.average_sqnr_db) },
    ], { title: 'accumulated SQNR (dB) per layer', width: 600 });
  }, [d]);
  if (image === null) return html`<section><h2>Divergence</h2><span class="muted">choose an image above</span></section>`;
  return html`<section id="divergence"><h2>Image ${image}: first divergent layer <b id="first-divergent">${d ? d.first_divergent_layer || 'none' : '…'}</b></h2>
    <div class="muted">${d && d.rule}</div><div ref=${chart}></div></section>`;
}

function Sensitivity({ model, state }) {
  const [run, setRun] = useState(null);
  const start = async () => {
    const results = [];
    const base = state.int8_accuracy;
    for (let i = 0; i < model.layers.length; i++) {
      setRun({ done: i, total: model.layers.length, results: results.slice() });
      const name = model.layers[i].name, layers = Object.assign({}, state.overrides.layers);
      layers[name] = Object.assign({}, layers[name], { keep_float: true });
      const t = await api('/api/trial', { overrides: { layers, tensors: state.overrides.tensors || {} } });
      results.push({ layer: name, accuracy: t.int8_accuracy, gain: t.int8_accuracy - base });
    }
    results.sort((a, b) => b.gain - a.gain);
    setRun({ done: model.layers.length, total: model.layers.length, results });
  };
  return html`<section id="sensitivity"><h2>Sensitivity: keep each layer in float, one at a time</h2>
    <button id="sensitivity-run" onClick=${start} disabled=${run && run.done < run.total}>rank layers</button>
    ${run && html`<div class="progress"><div style=${{ width: `${(100 * run.done) / run.total}%` }}></div></div>
      <table><thead><tr><th>layer in float</th><th>int8 accuracy %</th><th>change</th></tr></thead>
      <tbody>${run.results.map((r) => html`<tr><td>${r.layer}</td><td>${fmt(r.accuracy, 2)}</td><td>${r.gain >= 0 ? '+' : ''}${fmt(r.gain, 2)}</td></tr>`)}</tbody></table>`}
  </section>`;
}

function App() {
  const [model, setModel] = useState(null);
  const [state, setState] = useState(null);
  const [selected, setSelected] = useState(null);
  const [image, setImage] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  useEffect(() => { Promise.all([api('/api/model'), api('/api/state')]).then(([m, s]) => { setModel(m); setState(s); }).catch((e) => setError(e.message)); }, []);
  const edit = async (body) => {
    setBusy(true); setError('');
    const t0 = performance.now();
    try {
      const s = await api('/api/edit', body);
      s.round_trip_ms = performance.now() - t0;
      setState(s);
    } catch (e) { setError(e.message); }
    setBusy(false);
  };
  if (error && !state) return html`<div class="error">${error}</div>`;
  if (!model || !state) return html`<div>loading…</div>`;
  state.statistics_images = model.statistics_images;
  const delta = state.previous_int8_accuracy === null ? null : state.int8_accuracy - state.previous_int8_accuracy;
  const t = state.timing_ms;
  return html`
    <header>
      <h1>tinyq playground · ${model.model}</h1>
      <span class="metric">fp32 <b id="fp32-accuracy">${fmt(state.fp32_accuracy, 2)}</b>%</span>
      <span class="metric">int8 <b id="int8-accuracy">${fmt(state.int8_accuracy, 2)}</b>%
        ${delta !== null && html` <span id="accuracy-change" class=${delta >= 0 ? 'delta-up' : 'delta-down'}>(${delta >= 0 ? '+' : ''}${fmt(delta, 2)})</span>`}</span>
      <span class="metric">on ${state.eval_count} test images</span>
      <span id="timing">re-evaluated in ${fmt(t.build + t.evaluate, 0)} ms (build ${fmt(t.build, 0)} + evaluate ${fmt(t.evaluate, 0)}; layer statistics ${fmt(t.layer_statistics, 0)} ms${state.round_trip_ms ? `; round trip ${fmt(state.round_trip_ms, 0)} ms` : ''})</span>
      <span id="status" data-version=${state.version} class=${busy ? 'busy' : ''}>${busy ? 'evaluating…' : `version ${state.version}`}</span>
      <span>export: <a id="export-qdq" href="/api/export/qdq.onnx">QDQ .onnx</a> · <a id="export-qop" href="/api/export/qop.onnx">QOperator .onnx</a> ·
        <a id="export-ops" href="/api/export/ops.json">ops JSON</a> · <a id="export-overrides" href="/api/export/overrides.json">overrides JSON</a></span>
    </header>
    ${error && html`<div class="error" id="error">${error}</div>`}
    <main>
      <div>
        <${GlobalControls} state=${state} edit=${edit} />
        <${Graph} model=${model} state=${state} selected=${selected} onSelect=${setSelected} />
      </div>
      <div>
        <${LayerTable} state=${state} selected=${selected} onSelect=${setSelected} />
        ${selected && html`<${LayerPanel} state=${state} layer=${selected} image=${image} edit=${edit} />`}
        <${Changes} model=${model} state=${state} image=${image} setImage=${setImage} />
        <${Divergence} state=${state} image=${image} />
        <${Sensitivity} model=${model} state=${state} />
      </div>
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
