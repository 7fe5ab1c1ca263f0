// Builds the console into ../../internal/console/assets (or --outdir DIR),
// which agcomd embeds. With --check it builds into a temp dir and fails
// when the committed assets differ: they must be what the sources build.
// The limits the forms state (maxlength, hints) are read from the contract,
// openapi.yaml, and put in place of LIMITS (src/limits.ts).
import { build } from "esbuild";
import { load } from "js-yaml";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const contract = load(readFileSync(resolve(here, "../../openapi.yaml"), "utf8"));
const schema = (name, prop, key) => ["components", "schemas", name, "properties", prop, key];
// Each limit's places in the contract; where it has several, the forms share
// one value, so they must agree.
const places = {
  handleMin: [schema("AgentCreate", "handle", "minLength")],
  handleMax: [schema("AgentCreate", "handle", "maxLength")],
  subjectMax: [schema("SendMessageRequest", "subject", "maxLength")],
  bodyMax: [schema("SendMessageRequest", "body", "maxLength"), schema("ReplyRequest", "body", "maxLength")],
  tagsMax: [schema("SendMessageRequest", "tags", "maxItems"), schema("ReplyRequest", "tags", "maxItems")],
  attachmentsMax: [schema("SendMessageRequest", "attachment_ids", "maxItems"), schema("ReplyRequest", "attachment_ids", "maxItems")],
  displayNameMax: [
    schema("ContactCreate", "display_name", "maxLength"),
    schema("ContactUpdate", "display_name", "maxLength"),
    schema("AgentCreate", "display_name", "maxLength"),
  ],
  descriptionMax: [schema("ContactCreate", "description", "maxLength"), schema("ContactUpdate", "description", "maxLength")],
  metadataKeyMax: [schema("MetadataUpdate", "key", "maxLength")],
  metadataValueMax: [schema("MetadataUpdate", "value", "maxLength")],
  searchQueryMax: [["paths", "/messages/search", "get", "parameters", "query", "schema", "maxLength"]],
  pageMax: [["components", "parameters", "Limit", "schema", "maximum"]],
};
const limits = Object.fromEntries(Object.entries(places).map(([name, at]) => [name, limit(name, at)]));

/** limit reads the number at each place (following $refs) and fails the build unless they agree. */
function limit(name, at) {
  const found = at.map((path) => [path, lookup(path)]);
  for (const [path, v] of found) {
    if (!Number.isInteger(v)) fail(`${name}: openapi.yaml has no number at ${path.join(" → ")}`);
  }
  const values = new Set(found.map(([, v]) => v));
  if (values.size > 1) fail(`${name}: openapi.yaml disagrees with itself (${found.map(([p, v]) => `${v} at ${p.join(" → ")}`).join("; ")}); the console uses one value`);
  return found[0][1];
}

/** lookup walks path from the contract's root; in a list of parameters a step is a parameter's name. */
function lookup(path) {
  let node = contract;
  for (const step of path) {
    node = deref(node);
    if (Array.isArray(node)) node = node.map(deref).find((p) => p?.name === step);
    else node = node?.[step];
    if (node === undefined) return undefined;
  }
  return deref(node);
}

function deref(node) {
  while (node && typeof node === "object" && typeof node.$ref === "string") {
    if (!node.$ref.startsWith("#/")) fail(`openapi.yaml: cannot follow ${node.$ref}`);
    node = node.$ref.slice(2).split("/").reduce((n, k) => n?.[k.replaceAll("~1", "/").replaceAll("~0", "~")], contract);
  }
  return node;
}

function fail(msg) {
  console.error(`build.mjs: ${msg}`);
  process.exit(1);
}

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
  define: { LIMITS: JSON.stringify(limits) },
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
