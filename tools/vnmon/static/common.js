// Shared by both pages: number formatting, the health pills, the live event stream.
"use strict";
function fmt(v, d) { return (v === null || v === undefined || Number.isNaN(v)) ? "-" : Number(v).toFixed(d); }
function esc(s) { return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, c => "&#" + c.charCodeAt(0) + ";"); }
function ago(t) {
  if (!t) return "-";
  const s = Math.max(0, Date.now() / 1000 - t);
  return s < 90 ? s.toFixed(0) + " s ago" : s < 5400 ? (s / 60).toFixed(0) + " min ago" : (s / 3600).toFixed(1) + " h ago";
}
function zone(z) { return z ? '<span class="zone z' + esc(z) + '">' + esc(z) + "</span>" : "-"; }

// health: {broker: {ok, state, error, retry_s}, db: {ok, error, buffered, lost}, invalid, stream}
function renderHealth(h) {
  const el = document.getElementById("health");
  if (!el || !h) return;
  const p = [];
  const b = h.broker || {};
  p.push('<span class="pill ' + (b.ok ? "ok" : "bad") + '" id="h-broker">broker ' + esc(b.url || "") + ": " +
         esc(b.ok ? "connected" : "unreachable" + (b.error ? " (" + b.error + ")" : "") +
             (b.retry_s ? ", retrying every " + fmt(b.retry_s, 0) + " s" : "")) + "</span>");
  const d = h.db || {};
  p.push('<span class="pill ' + (d.ok ? "ok" : "bad") + '" id="h-db">database ' + esc(d.kind || "") + ": " +
         esc(d.ok ? "ok" : "failing" + (d.error ? " (" + d.error + ")" : "")) +
         (d.buffered ? ", " + d.buffered + " buffered" : "") + (d.lost ? ", " + d.lost + " lost" : "") + "</span>");
  p.push('<span class="pill ' + (h.invalid ? "warn" : "ok") + '" id="h-invalid">schema violations: ' +
         esc(h.invalid || 0) + (h.invalid_last ? " (last: " + esc(h.invalid_last) + ")" : "") + "</span>");
  p.push('<span class="pill" id="h-stored">messages stored: ' + esc(h.readings || 0) + "</span>");
  p.push('<span class="pill ' + (window.vnLive ? "ok" : "warn") + '" id="h-live">' + (window.vnLive ? "live" : "reconnecting") + "</span>");
  el.innerHTML = p.join("");
}

// Server-Sent Events: calls handlers[event](data); the browser reconnects by itself.
function liveStream(url, handlers) {
  const es = new EventSource(url);
  es.onopen = () => { window.vnLive = true; };
  es.onerror = () => { window.vnLive = false; if (window.vnHealth) renderHealth(window.vnHealth); };
  for (const name of Object.keys(handlers)) {
    es.addEventListener(name, ev => handlers[name](JSON.parse(ev.data)));
  }
  return es;
}
