// The mapping editor (map_mode: database): a form per database group to add a table (source table, target, mode)
// and, on every replicated table, its target and mode to change or the table to remove. Every change goes through
// the token-guarded /api/tbl endpoints and takes effect at once; the answer (or why it was refused) is announced.
import { send } from "./api.js"
import { el, num } from "./dom.js"

export const MODES = ["clone", "append", "history"]

let ids = 0

/** a control with a visible label */
export function field(text, control, hint) {
  const id = control.id || "f" + ++ids
  control.id = id
  const box = el("span", null, "field")
  box.appendChild(el("label", text, null, { for: id }))
  box.appendChild(control)
  if (hint) {
    const h = box.appendChild(el("span", hint, "hint", { id: id + "-hint" }))
    control.setAttribute("aria-describedby", h.id)
  }
  return box
}

export function modeSelect(value, attrs) {
  const s = el("select", null, null, attrs)
  for (const m of MODES) {
    const o = s.appendChild(el("option", m))
    o.value = m
    o.selected = m === value
  }
  return s
}

export function targetInput(value, attrs) {
  const i = el("input", null, null, {
    type: "text",
    required: "",
    maxlength: "63",
    autocomplete: "off",
    spellcheck: "false",
    ...attrs
  })
  i.value = value
  return i
}

const keyOf = (t) => t.schema + "." + t.name

/** the form adding one of the group's unreplicated tables */
export function addForm(group, ctx, done) {
  const free = group.tables.filter((t) => !t.replicated)
  if (free.length === 0) return el("p", "Every table of " + group.database + " is replicated.", "meta")
  const form = el("form", null, "editor", { "aria-label": "Add a table of " + group.database })
  const source = el("select", null, null, { "data-focus-key": "add-source:" + group.database })
  for (const t of free) {
    const label = keyOf(t) + " (~" + num(t.estimatedRows) + " rows" + (t.hasPrimaryKey ? "" : ", no key") + ")"
    const o = source.appendChild(el("option", label))
    o.value = keyOf(t)
  }
  const target = targetInput(free[0].name, { "data-focus-key": "add-target:" + group.database })
  const mode = modeSelect("clone", { "data-focus-key": "add-mode:" + group.database })
  source.addEventListener("change", () => {
    target.value = free.find((t) => keyOf(t) === source.value).name
  })
  const save = el("button", "Save", null, { type: "submit", "data-focus-key": "add-save:" + group.database })
  form.append(
    el("span", "Add a table", "form-title"),
    field("Source table", source),
    field("Target table", target),
    field("Mode", mode),
    save
  )
  form.addEventListener("submit", async (e) => {
    e.preventDefault()
    const t = free.find((x) => keyOf(x) === source.value)
    const to = target.value.trim()
    if (to === "") return ctx.say("Type the name of the target table.", true)
    save.disabled = true
    const r = await send("POST", "./api/tbl", "Adding " + keyOf(t), {
      db_id: group.dbId,
      schema: t.schema,
      name: t.name,
      type: mode.value,
      target: to
    })
    save.disabled = false
    if (!r.ok) return ctx.say(r.message, true)
    ctx.say("Added " + keyOf(t) + " \u2192 " + to + " (" + mode.value + "): it is copied now, then streams.", false)
    done()
  })
  return form
}

/** target, mode, Save and Remove of one replicated table (`stored`: its /api/tbl row) */
export function rowControls(group, t, stored, ctx, done) {
  const key = keyOf(t)
  const box = el("span", null, "row-edit")
  const target = targetInput(t.target, { "aria-label": "Target of " + key, "data-focus-key": "target:" + key })
  const mode = modeSelect(t.mode, { "aria-label": "Mode of " + key, "data-focus-key": "mode:" + key })
  const save = el("button", "Save", "small", {
    type: "button",
    "aria-label": "Save the changes to " + key,
    "data-focus-key": "save:" + key
  })
  const remove = el("button", "Remove", "small danger", {
    type: "button",
    "aria-label": "Remove " + key,
    "data-focus-key": "remove:" + key
  })
  save.addEventListener("click", async () => {
    const r = await send("PUT", "./api/tbl/" + stored.id, "Changing " + key, {
      db_id: group.dbId,
      schema: t.schema,
      name: t.name,
      type: mode.value,
      target: target.value.trim(),
      partitions_regex: stored.partitions_regex
    })
    ctx.say(r.ok ? key + " now goes to " + target.value.trim() + " (" + mode.value + ")." : r.message, !r.ok)
    if (r.ok) done()
  })
  remove.addEventListener("click", async () => {
    if (!window.confirm("Stop replicating " + key + "? Its destination table and rows stay.")) return
    const r = await send("DELETE", "./api/tbl/" + stored.id, "Removing " + key)
    ctx.say(r.ok ? key + " is no longer replicated (its destination table stays)." : r.message, !r.ok)
    if (r.ok) done()
  })
  box.append(target, mode, save, remove)
  return box
}
