// DOM and formatting helpers of the walferry console. Every value from the API reaches the page through
// textContent, never as markup.

/** an element with optional text, class and attributes */
export function el(tag, text, cls, attrs) {
  const e = document.createElement(tag)
  if (text !== undefined && text !== null) e.textContent = String(text)
  if (cls) e.className = cls
  if (attrs) for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  return e
}

export const DASH = "\u2014"

export function dash(v) {
  return v === undefined || v === null || v === "" ? DASH : v
}

export function num(v) {
  return typeof v === "number" && Number.isFinite(v) ? v.toLocaleString("en-US") : DASH
}

export function rate(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return DASH
  if (v === 0) return "0/s"
  if (v >= 1000) return Math.round(v).toLocaleString("en-US") + "/s"
  return (v >= 10 ? v.toFixed(0) : v.toFixed(1)) + "/s"
}

export function bytes(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return DASH
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let i = 0
  let n = Math.abs(v)
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return (v < 0 ? "-" : "") + (i === 0 ? n : n.toFixed(1)) + " " + units[i]
}

export function seconds(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return DASH
  if (v < 1) return Math.round(v * 1000) + " ms"
  if (v < 120) return v.toFixed(1) + " s"
  return duration(v)
}

export function duration(s) {
  if (typeof s !== "number" || !Number.isFinite(s)) return DASH
  s = Math.round(s)
  if (s < 60) return s + " s"
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s"
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min"
}

/** the last non-null value of a series */
export function latest(points) {
  if (!points) return undefined
  for (let i = points.length - 1; i >= 0; i--) if (points[i] !== null) return points[i]
  return undefined
}

/** a state badge (streaming, syncing, paused, stopped, …) */
export function badge(state) {
  const s = String(state ?? "unknown")
  return el("span", s, "badge " + s.replace(/[^a-z]/g, ""))
}

/** a table with a caption and header cells; `cols` entries ending in "#" are numeric (right-aligned) */
export function table(caption, cols) {
  const t = el("table")
  if (caption) t.appendChild(el("caption", caption))
  const tr = el("tr")
  for (const c of cols) {
    const numeric = c.endsWith("#")
    tr.appendChild(el("th", numeric ? c.slice(0, -1) : c, numeric ? "num" : "", { scope: "col" }))
  }
  t.appendChild(el("thead")).appendChild(tr)
  const body = t.appendChild(el("tbody"))
  return { table: t, body }
}

/** a row of cells: strings or nodes; a [text, class] pair sets the cell's class */
export function row(cells) {
  const tr = el("tr")
  for (const c of cells) {
    const [v, cls] = Array.isArray(c) ? c : [c, ""]
    const td = el("td", null, cls)
    if (v instanceof Node) td.appendChild(v)
    else td.textContent = String(dash(v))
    tr.appendChild(td)
  }
  return tr
}

/** a labelled figure: big value with a caption */
export function stat(label, value, note) {
  const d = el("div", null, "stat")
  d.appendChild(el("span", label, "stat-label"))
  d.appendChild(el("span", value, "stat-value"))
  if (note) d.appendChild(el("span", note, "stat-note"))
  return d
}
