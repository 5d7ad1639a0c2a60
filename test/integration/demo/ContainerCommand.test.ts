/**
 * Docker does not run here, so the container's command line is run outside it: the Dockerfile's
 * ENTRYPOINT + CMD, from the image's working directory (the repository root), with a config file shaped
 * like docker/walferry.yaml + docker/map.yaml whose URLs point at embedded servers, the source holding
 * docker/source-init.sql. The Dockerfile's HEALTHCHECK command is run against it too.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import YAML from "yaml"
import { freePort } from "../../support/PgServer.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const DOCKER = join(ROOT, "docker")
const CONFIG_IN_IMAGE = "/etc/walferry/walferry.yaml"
const read = (file: string) => readFileSync(join(DOCKER, file), "utf8")

/** the JSON array (exec form) of the last `instruction` of a Dockerfile (HEALTHCHECK: its CMD), lines joined */
const execForm = (dockerfile: string, instruction: string): Array<string> => {
  const lines = dockerfile.replace(/\\\r?\n/g, " ").split(/\r?\n/)
  const line = lines.filter((l) => l.trim().toUpperCase().startsWith(`${instruction} `)).pop()
  if (line === undefined) throw new Error(`no ${instruction} in the Dockerfile`)
  const json = line.slice(line.indexOf("["))
  return JSON.parse(json) as Array<string>
}

const dockerfile = read("Dockerfile")
const containerArgv = [...execForm(dockerfile, "ENTRYPOINT"), ...execForm(dockerfile, "CMD")]
/** what the test runs: the container's argv with the config file at a local path */
const localArgv = (configFile: string) => containerArgv.map((a) => (a === CONFIG_IN_IMAGE ? configFile : a))

describe("container command line (docker/)", () => {
  it("is node bin/walferry.js run --config /etc/walferry/walferry.yaml", () => {
    expect(containerArgv).toEqual(["node", "bin/walferry.js", "run", "--config", CONFIG_IN_IMAGE])
    expect(dockerfile).toMatch(/^WORKDIR \/app$/m)
    expect(dockerfile).toMatch(/^COPY bin \.\/bin$/m)
    expect(dockerfile).toMatch(/^USER walferry$/m)
    expect(dockerfile).toMatch(/npm ci --omit=dev --omit=optional/)
  })

  it("is wired consistently in compose.yaml and walferry.yaml", () => {
    const compose = YAML.parse(read("compose.yaml"))
    const walferry = compose.services.walferry
    expect(walferry.init).toBe(true)
    expect(walferry.volumes).toContain(`./walferry.yaml:${CONFIG_IN_IMAGE}:ro`)
    const config = YAML.parse(read("walferry.yaml"))
    expect(config.api.listen).toBe("0.0.0.0:8000")
    expect(execForm(dockerfile, "HEALTHCHECK").join(" ")).toContain("http://127.0.0.1:8000/healthz")
    expect(Number.parseInt(walferry.stop_grace_period, 10) * 1000).toBeGreaterThan(config.tuning.shutdown_timeout_ms)
  })
})

describe("the container command, run outside the container", () => {
  let source: TestPg
  let dest: TestPg
  let dir: string
  let port: number
  let child: ChildProcess | undefined
  let output = ""
  let exit: Promise<number | null>

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    const sourceUrl = await source.createDatabase("shop")
    const destUrl = await dest.createDatabase("warehouse")
    await source.query(read("source-init.sql"), [], "shop")
    port = await freePort()
    dir = mkdtempSync(join(tmpdir(), "walferry-container-"))
    const config = YAML.parse(read("walferry.yaml"))
    config.destination.url = destUrl
    config.api.listen = `127.0.0.1:${port}`
    const map = YAML.parse(read("map.yaml")) as Array<{ urls: Array<{ url: string }> }>
    for (const group of map) for (const u of group.urls) u.url = sourceUrl
    writeFileSync(join(dir, "walferry.yaml"), YAML.stringify(config))
    writeFileSync(join(dir, "map.yaml"), YAML.stringify(map))

    const [command, ...args] = localArgv(join(dir, "walferry.yaml"))
    expect(command).toBe("node")
    const env: NodeJS.ProcessEnv = { WALFERRY_API__TOKEN: "container-test" }
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("WALFERRY_")) env[k] = v
    child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
    child.stdout!.on("data", (d) => (output += d))
    child.stderr!.on("data", (d) => (output += d))
    exit = new Promise((resolve) => child!.once("exit", (code) => resolve(code)))
  })

  afterAll(async () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, "SIGKILL")
      await exit
    }
    if (dir) rmSync(dir, { recursive: true, force: true })
    await Promise.all([source?.stop(), dest?.stop()])
  })

  const poll = async (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) => {
    const until = Date.now() + timeoutMs
    while (!(await check().catch(() => false))) {
      if (child?.exitCode !== null) throw new Error(`walferry exited (${child?.exitCode}):\n${output}`)
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}:\n${output}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  it("answers /healthz, and the Dockerfile's HEALTHCHECK command passes", async () => {
    await poll("/healthz", async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok)
    const check = execForm(dockerfile, "HEALTHCHECK")
    const probe = check.map((a) => a.replace("127.0.0.1:8000", `127.0.0.1:${port}`))
    expect(probe[0]).toBe("node")
    expect(spawnSync(process.execPath, probe.slice(1), { timeout: 10_000 }).status).toBe(0)
  })

  it("streams the quickstart mapping into auto-created tables", async () => {
    await poll("both sources streaming", async () => {
      const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
        sources: ReadonlyArray<{ state: string }>
      }
      return status.sources.length === 2 && status.sources.every((s) => s.state === "streaming")
    })
    await source.query(
      `insert into orders (customer_id) values (1), (2);
       insert into order_items (order_id, sku, quantity, unit_price) select id, 'SKU-1', 1, 9.99 from orders;
       update customers set tier = 'gold' where id = 1`,
      [],
      "shop"
    )
    const n = (table: string) => dest.query(`select count(*)::int n from ${table}`, [], "warehouse").then((r) => r[0].n)
    await poll("rows in the destination", async () => (await n("order_items")) === 2)
    expect(await n("customers")).toBe(100)
    expect(await n("orders")).toBe(2)
    await poll("a second version of customer 1", async () => (await n("customers_history where id = 1")) === 2)
  })

  it("drains and exits 0 on SIGTERM (docker stop)", async () => {
    child!.kill("SIGTERM")
    expect(await exit).toBe(0)
  })
})
