/**
 * The web dashboard at `/` and `/dashboard`: one self-contained HTML page (inline style and script, no external
 * asset) that polls `/status` every two seconds and drives pause, resume, drain-stop and per-table resync with the
 * bearer token the operator types. The token stays in the page's memory (or, if asked, the tab's sessionStorage).
 * Every value from the API reaches the DOM through `textContent`; a Content-Security-Policy allows only this page's
 * own script and style (by hash) and requests to its own origin.
 */
import { createHash } from "node:crypto"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f4f6f9; }
header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 12px 20px; background: #1d2430; color: #fff; }
header h1 { font-size: 18px; margin: 0 12px 0 0; }
header .meta { color: #b8c2d3; }
main { padding: 8px 20px 24px; }
h2 { font-size: 15px; margin: 18px 0 6px; }
table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px #0002; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e3e7ee; vertical-align: top; }
th { background: #eef1f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.err { color: #a4161a; max-width: 420px; word-break: break-word; }
.state { display: inline-block; padding: 1px 8px; border-radius: 9px; background: #dde3ec; }
.state.streaming { background: #cdebd3; color: #14532d; }
.state.syncing, .state.starting { background: #d5e4fb; color: #1e3a8a; }
.state.paused, .state.retrying { background: #fbeec5; color: #713f12; }
.state.stopped { background: #f8d0d0; color: #7f1d1d; }
.state.elsewhere { background: #eceff3; color: #475569; }
.controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-left: auto; }
input[type=password] { padding: 4px 6px; width: 180px; }
button { padding: 4px 10px; cursor: pointer; }
button.danger { color: #a4161a; }
progress { width: 90px; vertical-align: middle; }
#message { margin: 10px 0 0; min-height: 1.4em; }
#message.bad, #conn.bad { color: #a4161a; }
`

const SCRIPT = `
"use strict";
var token = sessionStorage.getItem("walferry.token") || "";
var tokenInput = document.getElementById("token");
var remember = document.getElementById("remember");
tokenInput.value = token;
remember.checked = token !== "";
function keepToken() {
  token = tokenInput.value.trim();
  if (remember.checked && token !== "") sessionStorage.setItem("walferry.token", token);
  else sessionStorage.removeItem("walferry.token");
}
tokenInput.addEventListener("input", keepToken);
remember.addEventListener("change", keepToken);

function el(tag, text, cls) {
  var e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function dash(v) { return v === undefined || v === null || v === "" ? "\\u2014" : v; }
function num(v) { return typeof v === "number" ? v.toLocaleString() : dash(v); }
function bytes(v) {
  if (typeof v !== "number") return "\\u2014";
  var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v : v.toFixed(1)) + " " + units[i];
}
function seconds(v) {
  if (typeof v !== "number") return "\\u2014";
  return v < 1 ? Math.round(v * 1000) + " ms" : v.toFixed(1) + " s";
}
function stateCell(state) {
  var td = el("td"); td.appendChild(el("span", state, "state " + String(state).replace(/[^a-z]/g, ""))); return td;
}
function cell(row, text, cls) { row.appendChild(el("td", dash(text), text === null || text === undefined ? "" : cls)); }

function say(text, bad) {
  var m = document.getElementById("message");
  m.textContent = text; m.className = bad ? "bad" : "";
}
function post(path, label) {
  if (token === "") { say("Enter the API token (api.token) first.", true); tokenInput.focus(); return; }
  fetch(path, {
    method: "POST",
    headers: { "authorization": "Bearer " + token, "content-type": "application/json" },
    body: JSON.stringify({ reason: "dashboard" })
  }).then(function (res) {
    return res.json().catch(function () { return {}; }).then(function (body) {
      if (res.ok) say(label + ": done.", false);
      else say(label + " refused (HTTP " + res.status + "): " + (body.error || res.statusText), true);
      refresh();
    });
  }, function (e) { say(label + " failed: " + e, true); });
}
document.getElementById("pause").addEventListener("click", function () { post("./pause", "Pause"); });
document.getElementById("resume").addEventListener("click", function () { post("./resume", "Resume"); });
document.getElementById("drain").addEventListener("click", function () {
  if (confirm("Apply everything received, confirm it and stop the walferry process?")) post("./drain-stop", "Drain-stop");
});

function renderSources(sources) {
  var body = document.getElementById("sources");
  body.replaceChildren();
  sources.forEach(function (s) {
    var tr = el("tr");
    cell(tr, s.database); cell(tr, s.sid); tr.appendChild(stateCell(s.state));
    cell(tr, s.owner === undefined ? "\u2014" : s.owner === null ? "(moving)" : s.owner);
    cell(tr, s.confirmedLsn); cell(tr, s.receivedLsn);
    cell(tr, seconds(s.lagSeconds), "num"); cell(tr, bytes(s.retainedWalBytes), "num");
    cell(tr, s.restarts, "num"); cell(tr, s.error, "err");
    body.appendChild(tr);
  });
}
function renderTables(tables) {
  var body = document.getElementById("tables");
  body.replaceChildren();
  tables.forEach(function (t) {
    var tr = el("tr");
    cell(tr, t.target); cell(tr, t.mode); tr.appendChild(stateCell(t.state));
    cell(tr, num(t.rowsApplied), "num"); cell(tr, num(t.batches), "num"); cell(tr, num(t.mailboxDepth), "num");
    cell(tr, t.lastLsn);
    var sync = el("td");
    var p = t.syncProgress;
    if (p && p.chunksTotal > 0) {
      var bar = el("progress"); bar.max = p.chunksTotal; bar.value = p.chunksDone;
      sync.appendChild(bar);
      sync.appendChild(el("span", " " + p.chunksDone + "/" + p.chunksTotal + " chunks, " + num(p.rows) + " rows"));
    } else sync.textContent = "\\u2014";
    tr.appendChild(sync);
    cell(tr, t.error, "err");
    var act = el("td");
    var b = el("button", "resync");
    b.title = "copy " + t.target + " again while the rest streams";
    b.addEventListener("click", function () {
      if (confirm("Copy table " + t.target + " again?")) post("./tables/" + encodeURIComponent(t.target) + "/resync", "Resync of " + t.target);
    });
    act.appendChild(b); tr.appendChild(act);
    body.appendChild(tr);
  });
}
function refresh() {
  var conn = document.getElementById("conn");
  fetch("./status", { cache: "no-store" }).then(function (res) {
    if (!res.ok) throw new Error("HTTP " + res.status);
    return res.json();
  }).then(function (st) {
    document.getElementById("version").textContent = "v" + st.version + ", up " + st.uptimeSeconds + " s";
    document.getElementById("paused").textContent = st.paused ? "PAUSED" : "";
    document.getElementById("cluster").textContent = st.cluster
      ? "runner " + st.cluster.runner + " \u00b7 runners alive: " + st.cluster.runnersAlive.join(", ")
      : "";
    renderSources(st.sources || []);
    renderTables(st.tables || []);
    conn.textContent = "updated " + new Date().toLocaleTimeString(); conn.className = "meta";
  }).catch(function (e) {
    conn.textContent = "cannot read /status: " + e.message; conn.className = "bad";
  });
}
refresh();
setInterval(refresh, 2000);
`

/** header row; a trailing "#" marks a right-aligned (numeric) column */
const head = (cells: ReadonlyArray<string>) =>
  `<tr>${cells.map((c) => (c.endsWith("#") ? `<th class="num">${c.slice(0, -1)}</th>` : `<th>${c}</th>`)).join("")}</tr>`

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>walferry</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>walferry</h1>
  <span id="version" class="meta"></span>
  <strong id="paused"></strong>
  <span id="conn" class="meta">loading /status …</span>
  <div class="controls">
    <input id="token" type="password" placeholder="API token" autocomplete="off" aria-label="API token">
    <label class="meta"><input id="remember" type="checkbox"> remember in this tab</label>
    <button id="pause">pause</button>
    <button id="resume">resume</button>
    <button id="drain" class="danger">drain-stop</button>
  </div>
</header>
<main>
  <p id="message"></p>
  <p id="cluster" class="meta"></p>
  <h2>Sources</h2>
  <table>
    <thead>${head(["database", "sid", "state", "runner", "confirmed LSN", "received LSN", "lag#", "retained WAL#", "restarts#", "error"])}</thead>
    <tbody id="sources"></tbody>
  </table>
  <h2>Tables</h2>
  <table>
    <thead>${head(["target", "mode", "state", "rows#", "batches#", "mailbox#", "last LSN", "sync", "error", ""])}</thead>
    <tbody id="tables"></tbody>
  </table>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`

const hash = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`

/** only this page's script and style, requests to its own origin, no framing */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

export const dashboardHtml: string = PAGE

export const dashboardResponse = (): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(PAGE, {
    contentType: "text/html; charset=utf-8",
    headers: {
      "content-security-policy": DASHBOARD_CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-store"
    }
  })
