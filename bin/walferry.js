#!/usr/bin/env -S node --max-semi-space-size=8
// Runs the bundled CLI when present (`npm run build`: dist/bundle/, see README), else the compiled modules, else the
// TypeScript source through tsx (a checkout before its first build).
import { existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import v8 from "node:v8"

// Young generation: every launcher (this file's #! line, `npm start`, the image through NODE_OPTIONS, the systemd unit) runs node
// with --max-semi-space-size=8 (MB; Node 20's default lets it grow to 16). A change lives for one batch, so a
// smaller young generation keeps less resident (16: bench:oltp live 180-190 MB against 162-171 at 4). At 4 a
// saturated stream scavenged so often that its in-flight changes were copied again and again; 8 against 4, five
// alternating pairs of `bench:oltp --tx 60000 --seconds 10`: catch-up +10 % (median; ahead in 4 of 5), live CPU per
// transaction -10 %, the source's live rate ahead in 5 of 5, steady RSS 121-125 MB against 114-117; at
// 300 tx/s the same CPU for 8 MB more RSS. V8 reads it only at start-up.
//
// Heap growth: after each full GC V8 lets the old generation grow to up to 4x what survived before it
// collects again. walferry's live heap is small (~45 MB, most of it loaded code) but a backlog promotes every
// buffered change, so draining one peaked at 350+ MB of mostly garbage. Growing by at most 1.5x
// (--heap-growing-percent=50) keeps the old generation near 1.5x the live heap at the cost of more frequent
// (short, mostly concurrent) full GCs: bench:oltp live steady RSS 142-145 MB against 160-172 MB at 2x, CPU per
// transaction within the noise. It is not a cap: the heap still grows to whatever a huge row needs. An explicit
// `node --heap-growing-percent=N` wins.
if (!process.execArgv.some((a) => a.startsWith("--heap-growing-percent") || a.startsWith("--heap_growing_percent")))
  v8.setFlagsFromString("--heap-growing-percent=50")

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const built = [join(root, "dist", "bundle", "main.js"), join(root, "dist", "main.js")].find((f) => existsSync(f))
if (built !== undefined) {
  await import(pathToFileURL(built).href)
} else {
  const { register } = await import("tsx/esm/api")
  register()
  await import(pathToFileURL(join(root, "src", "main.ts")).href)
}
