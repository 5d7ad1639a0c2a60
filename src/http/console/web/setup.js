// The setup wizard (#/setup), for map_mode: database with an empty mapping: 1. the source (URL, password typed
// apart, sid) and walferry's own destination; 2. the preflight (walferry check's findings, each with its fix);
// 3. the tables (estimate, key, mode, target); start, then the live dashboard shows the initial copy. The password
// stays in its field: the API never answers it and the page never shows it.
import { getJson, send } from "./api.js"
import { el } from "./dom.js"
import { field } from "./mapedit.js"
import { findingsView, tablePicker } from "./setupparts.js"

export function mountSetup(view, ctx) {
  view.appendChild(el("h2", "Set up walferry", null, { id: "view-title" }))
  const intro = view.appendChild(el("p", "Reading walferry's state\u2026", "meta"))
  const body = view.appendChild(el("div"))
  let picker
  let lastCheck

  const url = el("input", null, null, {
    type: "text",
    required: "",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "postgres://user@host:5432/database",
    size: "44"
  })
  const password = el("input", null, null, { type: "password", autocomplete: "new-password" })
  const sid = el("input", null, null, { type: "text", autocomplete: "off", spellcheck: "false", size: "10" })
  const checkButton = el("button", "Run preflight", null, { type: "submit" })
  const sourceForm = el("form", null, "editor", { "aria-label": "Source" })
  const results = el("div")
  const tablesForm = el("form", null, "wizard-tables", { "aria-label": "Tables to replicate", hidden: "" })

  const source = () => ({ url: url.value.trim(), password: password.value, sid: sid.value.trim() })

  async function preflight(withTables) {
    checkButton.disabled = true
    ctx.say("Running the preflight\u2026", false)
    const tables = withTables && picker ? picker.picked() : []
    const r = await send("POST", "./api/setup/check", "Preflight", { ...source(), tables })
    checkButton.disabled = false
    if (!r.ok) return ctx.say(r.message, true)
    lastCheck = r.body
    ctx.say("Preflight done: " + r.body.findings.length + " finding(s).", false)
    const previous = picker ? picker.state() : undefined
    picker = tablePicker(r.body.tables, previous)
    const findings = findingsView(r.body)
    results.replaceChildren(findings)
    renderTables()
    document.getElementById("preflight-title").focus()
  }

  function renderTables() {
    const again = el("button", "Check the picked tables", null, { type: "button" })
    again.addEventListener("click", () => void preflight(true))
    const start = el("button", "Start replication", "primary", { type: "submit" })
    tablesForm.replaceChildren(
      el("h3", "Tables"),
      el("p", "Pick the tables to replicate, their mode and the name of their table in the destination.", "meta"),
      picker.node,
      el("div", null, "actions")
    )
    tablesForm.lastChild.append(again, start)
    tablesForm.hidden = lastCheck.tables.length === 0
  }

  sourceForm.addEventListener("submit", (e) => {
    e.preventDefault()
    void preflight(false)
  })
  tablesForm.addEventListener("submit", async (e) => {
    e.preventDefault()
    const tables = picker.picked()
    if (tables.length === 0) return ctx.say("Pick at least one table to replicate.", true)
    const button = e.submitter
    if (button) button.disabled = true
    const r = await send("POST", "./api/setup/start", "Start", { ...source(), tables })
    if (button) button.disabled = false
    if (!r.ok) return ctx.say(r.message, true)
    password.value = ""
    ctx.say("Started: " + r.body.tables + " table(s) of " + r.body.database + " are copied now, then stream.", false)
    ctx.setupDone()
    window.location.hash = "#/"
  })

  async function load() {
    let state
    try {
      state = await getJson("./api/setup")
    } catch (e) {
      intro.textContent = "Cannot read walferry's state: " + e.message
      intro.className = "bad"
      return
    }
    if (state.mapMode !== "database") {
      intro.textContent =
        "The mapping comes from the configuration file (map_mode: yaml): set it up there. This wizard is for map_mode: database."
      return
    }
    if (!state.needed) {
      intro.textContent =
        "The mapping is set up already (" + state.tables + " table(s)): change it on the Mapping page."
      return
    }
    intro.textContent =
      "walferry runs without a mapping. Give it a source database, check it, pick the tables and start. The changes need the API token (in the header)."
    const dest = el("input", null, null, { type: "text", readonly: "", value: state.destination, size: "44" })
    sourceForm.append(
      field("Source URL", url, "without the password"),
      field("Password", password, "never shown again"),
      field("Source id (sid, optional)", sid),
      field("Destination (walferry's own)", dest),
      checkButton
    )
    body.replaceChildren(el("h3", "Source"), sourceForm, results, tablesForm)
  }

  void load()
  return { update() {}, destroy() {} }
}
