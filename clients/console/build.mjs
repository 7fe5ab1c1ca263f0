// Builds the console into ../../internal/console/assets (or --outdir DIR),
// which agcomd embeds. With --check it builds into a temp dir and fails
// when the committed assets differ: they must be what the sources build.
import { build } from "esbuild";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const committed = resolve(here, "../../internal/console/assets");
const args = process.argv.slice(2);
const check = args.includes("--check");
const i = args.indexOf("--outdir");
const outdir = check ? mkdtempSync(join(tmpdir(), "agcom-console-")) : i >= 0 ? resolve(args[i + 1]) : committed;

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: { console: join(here, "src/main.ts"), style: join(here, "src/style.css") },
  outdir,
  bundle: true,
  format: "iife",
  target: ["es2022", "chrome110", "firefox110", "safari16"],
  charset: "utf8",
  legalComments: "eof",
  logLevel: "warning",
});
for (const f of ["index.html", "icon.svg"]) cpSync(join(here, "src", f), join(outdir, f));

if (check) {
  const list = (d) => readdirSync(d).sort();
  const stale = [];
  const want = list(outdir);
  let have = [];
  try {
    have = list(committed);
  } catch {
    // no committed assets: everything is stale
  }
  for (const f of new Set([...want, ...have])) {
    if (!want.includes(f) || !have.includes(f) || !readFileSync(join(outdir, f)).equals(readFileSync(join(committed, f)))) stale.push(f);
  }
  rmSync(outdir, { recursive: true, force: true });
  if (stale.length) {
    console.error(`internal/console/assets is stale (${stale.join(", ")}): run 'make console' and commit it`);
    process.exit(1);
  }
  console.log("internal/console/assets is up to date");
}
