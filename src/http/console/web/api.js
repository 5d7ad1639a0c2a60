// Talking to walferry: reads (no token) and operator actions (bearer token typed in the header), with a clear
// sentence for every way a request can fail: 401 (token), 409 (conflict), other HTTP errors, and the network.

const tokenInput = () => document.getElementById("token")
const remember = () => document.getElementById("remember")
const KEY = "walferry.token"

let token = ""

/** the token field and the "remember" box (kept in the tab's sessionStorage only) */
export function setupToken() {
  token = sessionStorage.getItem(KEY) || ""
  tokenInput().value = token
  remember().checked = token !== ""
  const keep = () => {
    token = tokenInput().value.trim()
    if (remember().checked && token !== "") sessionStorage.setItem(KEY, token)
    else sessionStorage.removeItem(KEY)
  }
  tokenInput().addEventListener("input", keep)
  remember().addEventListener("change", keep)
}

export class RequestFailed extends Error {
  constructor(message, status) {
    super(message)
    this.status = status
  }
}

const origin = () => window.location.host

/** GET a JSON document; RequestFailed with a readable message otherwise */
export async function getJson(path) {
  let res
  try {
    res = await fetch(path, { cache: "no-store", headers: { accept: "application/json" } })
  } catch {
    throw new RequestFailed("cannot reach walferry at " + origin() + " (network error: stopped or restarting?)", 0)
  }
  const body = await res.json().catch(() => ({}))
  if (!res.ok)
    throw new RequestFailed(path + ": HTTP " + res.status + (body.error ? " \u2013 " + body.error : ""), res.status)
  return body
}

/** the sentence shown when `label` was refused */
export function refusal(label, status, error) {
  const detail = error ? ": " + error : ""
  switch (status) {
    case 401:
      return token === ""
        ? label + " needs the API token: type api.token from walferry's configuration into the API token field."
        : label +
            " refused: the API token was not accepted (HTTP 401" +
            detail +
            "). Check api.token in walferry's configuration."
    case 409:
      return label + " not possible right now (HTTP 409 conflict" + detail + ")."
    case 405:
      return label + " refused: the mapping is read-only (map_mode: yaml)" + detail + "."
    case 404:
      return label + " failed: not found (HTTP 404" + detail + ")."
    default:
      return label + " failed (HTTP " + status + detail + ")."
  }
}

/**
 * POST an operator action. Resolves { ok, message }; never rejects. A missing token is reported before any
 * request is made.
 */
export async function act(path, label, body) {
  return send("POST", path, label, body ?? { reason: "console" })
}

/**
 * A token-guarded request (POST, PUT, DELETE) with a JSON body. Resolves { ok, message, body, status }; never
 * rejects. A missing token is reported before any request is made.
 */
export async function send(method, path, label, body) {
  if (token === "") {
    tokenInput().focus()
    return {
      ok: false,
      status: 401,
      message: label + " needs the API token: type api.token from walferry's configuration first."
    }
  }
  let res
  try {
    res = await fetch(path, {
      method,
      headers: { authorization: "Bearer " + token, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
  } catch {
    return {
      ok: false,
      status: 0,
      message: label + " failed: cannot reach walferry at " + origin() + " (network error)."
    }
  }
  const answer = await res.json().catch(() => ({}))
  if (res.ok) return { ok: true, status: res.status, message: label + ": done.", body: answer }
  return { ok: false, status: res.status, message: refusal(label, res.status, answer.error), body: answer }
}
