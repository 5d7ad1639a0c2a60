// Time-series charts on uPlot (served by walferry at ./console/uplot.js). A chart is made once per view and fed
// new points on every poll; its size follows its container. Each chart is an image for assistive technology,
// labelled with its title and newest values (uPlot's legend shows the values under the cursor).

export const COLORS = ["#1d4ed8", "#b45309", "#047857", "#b91c1c", "#6d28d9", "#0e7490", "#be185d"]

/**
 * A chart in `container`. `lines` are { label, color?, dash? }; `format` turns a value into text for the axis
 * and legend. Returns { update(t, columns, lines?), destroy() }: `columns` holds one array per line, aligned with t.
 */
export function makeChart(container, title, format, lines) {
  const figure = document.createElement("figure")
  figure.className = "chart"
  figure.setAttribute("role", "img")
  const caption = document.createElement("figcaption")
  caption.textContent = title
  figure.appendChild(caption)
  const plotBox = document.createElement("div")
  figure.appendChild(plotBox)
  container.appendChild(figure)

  let plot
  let current = []
  const width = () => Math.max(260, Math.floor(plotBox.clientWidth || container.clientWidth || 400))

  const build = (defs) => {
    if (plot) plot.destroy()
    current = defs
    plot = new window.uPlot(
      {
        width: width(),
        height: 180,
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (u, min, max) => [Math.min(0, min ?? 0), max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: "#384152", grid: { stroke: "#e3e7ee" } },
          { stroke: "#384152", size: 72, grid: { stroke: "#e3e7ee" }, values: (u, vals) => vals.map(format) }
        ],
        series: [
          { label: "time" },
          ...defs.map((d, i) => ({
            label: d.label,
            stroke: d.color ?? COLORS[i % COLORS.length],
            width: 2,
            dash: d.dash ? [6, 4] : undefined,
            value: (u, v) => (v === null || v === undefined ? "\u2014" : format(v)),
            spanGaps: false,
            points: { show: false }
          }))
        ]
      },
      [[], ...defs.map(() => [])],
      plotBox
    )
  }
  build(lines)

  const resize = new ResizeObserver(() => plot && plot.setSize({ width: width(), height: 180 }))
  resize.observe(plotBox)

  return {
    element: figure,
    update(t, columns, defs) {
      if (defs && (defs.length !== current.length || defs.some((d, i) => d.label !== current[i].label))) build(defs)
      plot.setData([t, ...columns])
      const newest = columns.map((c, i) => {
        let v = null
        for (let k = c.length - 1; k >= 0 && v === null; k--) v = c[k]
        return current[i].label + " " + (v === null ? "no data" : format(v))
      })
      figure.setAttribute("aria-label", title + ", last " + Math.round(t.length) + " samples: " + newest.join(", "))
      figure.dataset.points = String(t.length)
    },
    destroy() {
      resize.disconnect()
      if (plot) plot.destroy()
      figure.remove()
    }
  }
}
