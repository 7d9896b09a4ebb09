// Fleet overview: one row per node, refreshed by the "fleet" event of the live stream.
"use strict";
function row(n) {
  const st = n.state || "unknown";
  const defect = n.env_dom ? (n.env_alarm ? '<span class="alarm">' + esc(n.env_dom) + " (alarm)</span>" : esc(n.env_dom)) : "-";
  return '<tr data-node="' + esc(n.node) + '">' +
    '<td class="l"><a href="/node/' + encodeURIComponent(n.node) + '">' + esc(n.node) + "</a></td>" +
    '<td class="l">' + esc(n.site) + "</td>" +
    '<td class="l ' + esc(st) + '">' + esc(st) + "</td>" +
    "<td>" + ago(n.last_seen) + "</td>" +
    '<td class="iso">' + zone(n.iso) + "</td>" +
    '<td class="vel">' + fmt(n.vel, 2) + "</td>" +
    "<td>" + fmt(n.rms, 3) + "</td>" +
    "<td>" + fmt(n.temp_c, 1) + "</td>" +
    '<td class="l">' + defect + "</td>" +
    "<td>" + fmt(n.env_a, 4) + (n.env_r ? " (x" + fmt(n.env_r, 1) + ")" : "") + "</td>" +
    '<td class="l">' + (n.anomaly === null || n.anomaly === undefined ? "-" : esc(typeof n.anomaly === "object" ? JSON.stringify(n.anomaly) : n.anomaly)) + "</td>" +
    "<td>" + (n.queued === null || n.queued === undefined ? "-" : esc(n.queued)) + "</td>" +
    '<td class="invalid">' + esc(n.invalid || 0) + "</td>" +
    "<td>" + esc(n.readings || 0) + "</td>" +
    "<td>" + esc(n.lost || 0) + "</td></tr>";
}
function renderFleet(f) {
  window.vnHealth = f.health;
  renderHealth(f.health);
  document.querySelector("#fleet tbody").innerHTML = f.nodes.map(row).join("");
  document.getElementById("nonodes").style.display = f.nodes.length ? "none" : "";
  document.getElementById("clock").textContent = new Date().toLocaleTimeString();
}
fetch("/api/fleet").then(r => r.json()).then(renderFleet);
liveStream("/api/stream", { fleet: renderFleet });
