// One node: trends, spectra with markers, alarm timeline, capture button; live through SSE.
"use strict";
const NODE = decodeURIComponent(location.pathname.split("/").pop());
const ZCOL = { A: "rgba(46,157,79,0.16)", B: "rgba(156,204,61,0.20)", C: "rgba(243,165,48,0.20)", D: "rgba(217,48,37,0.16)" };
const ACOL = { x: "#1f77b4", y: "#ff7f0e", z: "#2ca02c" };
const MCOL = { shaft: "#555", BPFO: "#d62728", BPFI: "#9467bd", BSF: "#8c564b", FTF: "#e377c2" };
const CFG = { displaylogo: false, responsive: true };
const S = { readings: [], bySeq: new Set(), alarms: [], spectrum: null, waveform: null, envelope: null, iso: null, markers: [] };
document.getElementById("title").textContent = NODE;
document.title = "vibenode " + NODE;

function base(xtitle, ytitle, extra) {
  return Object.assign({ margin: { l: 50, r: 10, t: 10, b: 40 }, xaxis: { title: { text: xtitle } },
    yaxis: { title: { text: ytitle } }, legend: { orientation: "h", y: 1.12 }, uirevision: "keep" }, extra || {});
}
function empty(id, text) {
  Plotly.react(id, [], base("", "", { xaxis: { visible: false }, yaxis: { visible: false },
    annotations: [{ text: text, showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { color: "#6b7480" } }] }), CFG);
}
function times() { return S.readings.map(r => new Date(r.t)); }

function drawVel() {
  if (!S.readings.length) return empty("p-vel", "waiting for readings");
  const x = times(), traces = [];
  ["x", "y", "z"].forEach((a, i) => traces.push({ x: x, y: S.readings.map(r => r.vel[i]), name: a, mode: "lines+markers",
    marker: { size: 4 }, line: { color: ACOL[a] }, type: "scatter" }));
  const lim = (S.iso && S.iso.limits) || [];
  const vmax = Math.max(...S.readings.flatMap(r => r.vel.filter(v => v !== null)), lim.length ? lim[lim.length - 1] * 1.15 : 1);
  const edges = [0].concat(lim, [Math.max(vmax * 1.1, (lim[2] || 0) * 1.3)]);
  const shapes = [], ann = [];
  "ABCD".split("").forEach((z, i) => {
    if (edges[i + 1] === undefined) return;
    shapes.push({ type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: edges[i], y1: edges[i + 1], fillcolor: ZCOL[z], line: { width: 0 }, layer: "below" });
    ann.push({ xref: "paper", x: 1, xanchor: "right", yref: "y", y: (edges[i] + edges[i + 1]) / 2, text: "zone " + z, showarrow: false, font: { size: 11, color: "#444" } });
  });
  Plotly.react("p-vel", traces, base("time", "mm/s RMS", { shapes: shapes, annotations: ann,
    yaxis: { title: { text: "mm/s RMS" }, range: [0, edges[edges.length - 1]] } }), CFG);
}
function drawTemp() {
  const r = S.readings.filter(r => r.temp_c !== null && r.temp_c !== undefined);
  if (!r.length) return empty("p-temp", "no temperature readings");
  Plotly.react("p-temp", [{ x: r.map(v => new Date(v.t)), y: r.map(v => v.temp_c), name: "temp", mode: "lines+markers",
    marker: { size: 4 }, line: { color: "#d62728" }, type: "scatter" }], base("time", "\u00b0C"), CFG);
}
function markerShapes(markers, fmax, only) {
  // a dashed line per marker; a label for each fundamental, staggered so neighbours stay readable
  const shapes = [], ann = [];
  for (const m of markers) {
    if (m.hz > fmax || (only && !only(m))) continue;
    const c = MCOL[m.kind] || "#555";
    shapes.push({ type: "line", xref: "x", x0: m.hz, x1: m.hz, yref: "paper", y0: 0, y1: 1, line: { color: c, width: 1, dash: m.kind === "shaft" ? "dot" : "dash" } });
    if (m.h === 1) ann.push({ xref: "x", x: m.hz, yref: "paper", y: 1 - 0.07 * (ann.length % 4), yanchor: "top", xanchor: "left",
      text: m.name + " " + m.hz.toFixed(1), showarrow: false, font: { size: 10, color: c }, bgcolor: "rgba(255,255,255,0.75)" });
  }
  return { shapes: shapes, annotations: ann };
}
function drawSpectrum(id, cap, what, only) {
  if (!cap) return empty(id, what);
  const traces = Object.keys(cap.axes).sort().map(a => ({ x: cap.axes[a].f, y: cap.axes[a].a, name: a, mode: "lines", line: { color: ACOL[a], width: 1 }, type: "scatter" }));
  const fmax = Math.max(...Object.values(cap.axes).map(v => v.f[v.f.length - 1] || 0));
  const m = markerShapes(S.markers, fmax, only);
  Plotly.react(id, traces, base("Hz", "g", Object.assign({ legend: { x: 1, xanchor: "right", y: 0.7, bgcolor: "rgba(255,255,255,0.6)" } }, m)), CFG);
}
function drawWave() {
  const w = S.waveform;
  if (!w) return empty("p-wave", "capture a waveform");
  const traces = Object.keys(w.axes).sort().map(a => ({ x: w.axes[a].t, y: w.axes[a].a, name: a, mode: "lines", line: { color: ACOL[a], width: 1 }, type: "scatter" }));
  Plotly.react("p-wave", traces, base("ms", "g"), CFG);
}
function timeRange(extra) {
  // the trends' time span (so the timeline lines up with them), widened to cover `extra`
  const t = S.readings.map(r => r.t).concat(extra.map(a => a.t));
  const lo = Math.min(...t), hi = Math.max(...t), pad = Math.max(1000, (hi - lo) * 0.03);
  return [new Date(lo - pad), new Date(hi + pad)];
}
function drawAlarms() {
  if (!S.alarms.length) return empty("p-alarm", "no alarms");
  const col = { ok: "#2e9d4f", A: "#2e9d4f", B: "#9ccc3d", warn: "#f3a530", C: "#f3a530", alarm: "#d93025", D: "#d93025" };
  Plotly.react("p-alarm", [{ x: S.alarms.map(a => new Date(a.t)), y: S.alarms.map(a => a.metric + " " + a.axis), mode: "markers+text", type: "scatter",
    text: S.alarms.map(a => a.state), textposition: "top center", marker: { size: 12, color: S.alarms.map(a => col[a.state] || "#888") },
    hovertext: S.alarms.map(a => a.prev + " \u2192 " + a.state + ": " + fmt(a.value, 3) + " (limit " + fmt(a.limit, 3) + ")"), name: "alarms" }],
    base("time", "", { yaxis: { type: "category" }, xaxis: { title: { text: "time" }, type: "date", range: timeRange(S.alarms) } }), CFG);
}
function drawInfo(n) {
  if (!n) return;
  const st = document.getElementById("state");
  st.className = n.state || ""; st.textContent = n.state || "";
  const iso = S.iso ? "ISO 10816-3 group " + S.iso.group + " " + S.iso.foundation + " (" + S.iso.source + "): " + S.iso.limits.join(" / ") + " mm/s" : "";
  document.getElementById("info").innerHTML = [
    "site " + esc(n.site), "last seen " + ago(n.last_seen), "zone " + zone(n.iso), "fw " + esc(n.fw || "-"), "board " + esc(n.board || "-"),
    "queued " + esc(n.queued === null || n.queued === undefined ? "-" : n.queued), "schema violations " + esc(n.invalid || 0),
    "lost " + esc(n.lost || 0), n.anomaly !== null && n.anomaly !== undefined ? "anomaly " + esc(JSON.stringify(n.anomaly)) : "", n.errors && Object.keys(n.errors).length ? '<span class="alarm">errors: ' + esc(JSON.stringify(n.errors)) + "</span>" : "", esc(iso)
  ].filter(Boolean).join(" &middot; ");
}
function apply(d) {
  if (d.health) { window.vnHealth = d.health; renderHealth(d.health); }
  if (d.iso) S.iso = d.iso;
  if (d.markers) S.markers = d.markers;
  let trend = !!d.iso;
  for (const r of d.readings || []) {
    if (S.bySeq.has(r.seq)) continue;
    S.bySeq.add(r.seq); S.readings.push(r); trend = true;
  }
  if (trend) { S.readings.sort((a, b) => a.t - b.t); while (S.readings.length > 2000) S.bySeq.delete(S.readings.shift().seq); drawVel(); drawTemp(); }
  if (d.alarms) S.alarms = d.alarms;
  if (d.alarms || (trend && S.alarms.length)) drawAlarms();   // (on the trends' time span)
  if (d.spectrum !== undefined || d.markers) { if (d.spectrum !== undefined) S.spectrum = d.spectrum; drawSpectrum("p-spec", S.spectrum, "capture a spectrum", m => m.kind === "shaft" || m.h === 1); }
  if (d.waveform !== undefined) { S.waveform = d.waveform; drawWave(); }
  if (d.envelope !== undefined || d.markers) {
    if (d.envelope !== undefined) S.envelope = d.envelope;
    const e = S.envelope, band = e && e.band ? ", band " + e.band.join("-") + " Hz" : "";
    document.getElementById("env-src").textContent = e && e.source === "node" ? "from the node's envelope capture" + band :
      "from the latest waveform" + band;
    drawSpectrum("p-env", S.envelope, "capture a waveform (the envelope spectrum is computed from it) or, on a wide-band node, an envelope", m => m.kind !== "shaft" || m.h === 1);
  }
  if (d.node) drawInfo(d.node);
  if (d.command) showCommand(d.command);
}
function showCommand(c) {
  const el = document.getElementById("cap-status");
  el.dataset.state = c.state;
  el.textContent = c.kind + " request " + c.id + ": " + c.state + (c.error ? " (" + c.error + ")" : "") +
    (c.chunks ? ", " + c.chunks : "");
  const busy = c.state === "sent" || c.state === "accepted";
  document.getElementById("cap-spectrum").disabled = busy;
  document.getElementById("cap-waveform").disabled = busy;
  document.getElementById("cap-envelope").disabled = busy;
}
function capture(kind) {
  const axis = document.getElementById("cap-axis").value;
  fetch("/api/node/" + encodeURIComponent(NODE) + "/capture", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ kind: kind, axis: axis }) }).then(r => r.json()).then(c => showCommand(c.command || { kind: kind, id: "-", state: "failed", error: c.error }));
}
document.getElementById("cap-spectrum").onclick = () => capture("spectrum");
document.getElementById("cap-waveform").onclick = () => capture("waveform");
document.getElementById("cap-envelope").onclick = () => capture("envelope");
["p-vel", "p-temp", "p-spec", "p-env", "p-wave", "p-alarm"].forEach(id => empty(id, "loading"));
fetch("/api/node/" + encodeURIComponent(NODE)).then(r => r.json()).then(d => {
  apply(Object.assign({ spectrum: null, waveform: null, envelope: null, alarms: [] }, d));
  liveStream("/api/stream?node=" + encodeURIComponent(NODE), { node: apply, fleet: f => { window.vnHealth = f.health; renderHealth(f.health); } });
});
