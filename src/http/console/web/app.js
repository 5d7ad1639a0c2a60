// The walferry console: a hash router (#/, #/table/<name>, #/mapping), the operator controls in the header, and a
// poll of /status (every 2 s) and /api/series (every 5 s) that keeps going through network errors and walferry
// restarts: the banner says what is wrong, and the page picks up again by itself once walferry answers.
import { act, getJson, setupToken } from "./api.js"
import { mountMapping } from "./mapping.js"
import { mountOverview } from "./overview.js"
import { mountSetup } from "./setup.js"
import { mountTable } from "./table.js"

const $ = (id) => document.getElementById(id)
const state = { status: undefined, series: undefined, down: false, uptime: undefined, failures: 0 }
let current

function say(text, bad) {
  const m = $("message")
  m.textContent = text
  m.className = bad ? "bad" : "ok"
}

async function run(path, label, confirmText) {
  if (confirmText && !window.confirm(confirmText)) return
  const r = await act(path, label)
  say(r.message, !r.ok)
  void poll()
}

const ctx = {
  say,
  setupDone: () => {
    $("setup-link").hidden = true
  },
  resync: (target) =>
    run(
      "./tables/" + encodeURIComponent(target) + "/resync",
      "Resync of " + target,
      "Copy table " + target + " again while the rest streams?"
    )
}

function route() {
  const hash = window.location.hash || "#/"
  if (current) current.destroy()
  const view = $("view")
  view.replaceChildren()
  let name = "overview"
  const m = /^#\/table\/(.+)$/.exec(hash)
  if (m) {
    name = "table"
    current = mountTable(view, ctx, decodeURIComponent(m[1]))
  } else if (hash === "#/setup") {
    name = "setup"
    current = mountSetup(view, ctx)
  } else if (hash === "#/mapping") {
    name = "mapping"
    current = mountMapping(view, ctx)
  } else current = mountOverview(view, ctx)
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page")
    else a.removeAttribute("aria-current")
  }
  document.title = "walferry \u2013 " + (m ? decodeURIComponent(m[1]) : name)
  render()
}

function render() {
  if (!current) return
  const key =
    document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.focusKey : undefined
  current.update(state)
  if (key) {
    const again = document.querySelector('[data-focus-key="' + CSS.escape(key) + '"]')
    if (again) again.focus()
  }
}

function banner(text) {
  const b = $("banner")
  b.hidden = text === ""
  b.textContent = text
}

async function poll(withSeries) {
  try {
    const [status, series] = await Promise.all([
      getJson("./status"),
      withSeries || !state.series ? getJson("./api/series") : Promise.resolve(state.series)
    ])
    const restarted = state.uptime !== undefined && status.uptimeSeconds + 5 < state.uptime
    if (state.down || restarted) {
      banner("")
      void offerSetup()
      say(
        restarted
          ? "walferry restarted (uptime " + status.uptimeSeconds + " s): reconnected."
          : "Reconnected to walferry.",
        false
      )
    }
    Object.assign(state, { status, series, down: false, uptime: status.uptimeSeconds, failures: 0 })
    $("version").textContent = "v" + status.version + " \u00b7 up " + status.uptimeSeconds + " s"
    $("paused-badge").hidden = !status.paused
    $("conn").textContent = "updated " + new Date().toLocaleTimeString()
    $("conn").className = "meta"
    render()
  } catch (e) {
    state.failures++
    if (e.status === 0) {
      state.down = true
      banner("walferry is not reachable (" + e.message + "). The page keeps trying every 2 s and reconnects by itself.")
    }
    $("conn").textContent = "cannot update: " + e.message
    $("conn").className = "bad"
  }
}

/** with map_mode: database and no table mapped yet, the setup wizard is where the console opens */
async function offerSetup() {
  try {
    const setup = await getJson("./api/setup")
    $("setup-link").hidden = !setup.needed
    if (setup.needed && (window.location.hash === "" || window.location.hash === "#/")) window.location.hash = "#/setup"
  } catch {
    // walferry not reachable yet: the poll reports it
  }
}

setupToken()
$("pause").addEventListener("click", () => run("./pause", "Pause"))
$("resume").addEventListener("click", () => run("./resume", "Resume"))
$("drain").addEventListener("click", () =>
  run("./drain-stop", "Drain-stop", "Apply everything received, confirm it and stop the walferry process?")
)
window.addEventListener("hashchange", () => {
  route()
  const title = document.getElementById("view-title")
  if (title) {
    title.setAttribute("tabindex", "-1")
    title.focus()
  }
})
route()
void offerSetup()
let ticks = 0
void poll(true)
setInterval(() => void poll(++ticks % 2 === 0 || !state.series), 2500)
