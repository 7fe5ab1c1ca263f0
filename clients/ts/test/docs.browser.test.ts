// The docs page in a real browser: agcomd serves Swagger UI at
// /api/v1/docs/; headless Debian Chromium, driven by playwright-core, opens it
// with every request to anything but this machine blocked, and checks that
// every tag and operation of openapi.yaml is listed and that "Try it out" on
// GET /health works against the live server. A full-page screenshot is saved
// under a temp dir (and copied to $AGCOM_ARTIFACTS_DIR when set).
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { parse } from "yaml";
import { repoRoot, startAgcomd, type Agcomd } from "./agcomd.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// The flags that work on this project's machines: no sandbox (CI runs as
// root), and none of Chromium's own background traffic (there is no network
// but the package registries).
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

interface SpecOperation {
  method: string; // upper case
  path: string;
  operationId: string;
  summary: string;
  tags: string[];
}

/** What openapi.yaml declares: its tags, in order, and every operation. */
function readSpec(): { tags: string[]; operations: SpecOperation[] } {
  const doc = parse(readFileSync(join(repoRoot, "openapi.yaml"), "utf8")) as {
    tags?: { name: string }[];
    paths: Record<string, Record<string, { operationId: string; summary?: string; tags?: string[] }>>;
  };
  const operations: SpecOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of HTTP_METHODS) {
      const op = item[m];
      if (!op) continue;
      operations.push({
        method: m.toUpperCase(),
        path,
        operationId: op.operationId,
        summary: op.summary ?? "",
        tags: op.tags ?? ["default"],
      });
    }
  }
  const tags = (doc.tags ?? []).map((t) => t.name);
  for (const op of operations) for (const t of op.tags) if (!tags.includes(t)) tags.push(t);
  return { tags, operations };
}

const isLocal = (url: string): boolean => {
  const u = new URL(url);
  if (u.protocol === "data:" || u.protocol === "blob:" || u.protocol === "about:") return true;
  return (u.protocol === "http:" || u.protocol === "https:") && ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
};

describe("API docs in headless Chromium", () => {
  let server: Agcomd;
  let browser: Browser;
  let page: Page;
  const blocked: string[] = [];
  let routed = 0;
  const pageErrors: string[] = [];
  const spec = readSpec();

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
    server = await startAgcomd();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // No CDN, no fonts from elsewhere: anything but this machine is refused.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      routed++;
      if (isLocal(url)) return route.continue();
      blocked.push(url);
      return route.abort("blockedbyclient");
    });
    page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(String(err)));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test("the page loads from this server alone and shows the API", async () => {
    const res = await page.goto(`${server.baseUrl}/docs/`, { waitUntil: "networkidle" });
    assert.equal(res?.status(), 200);
    await page.locator(".swagger-ui .info .title").filter({ hasText: "AgCom REST API" }).waitFor({ timeout: 20_000 });
    await page.locator(".opblock").first().waitFor();
    assert.ok(routed > 0, "every request passes the interception");
    assert.deepEqual(blocked, [], "the docs page asked for nothing outside this server");
    assert.deepEqual(pageErrors, [], "no script errors");
  });

  test("every tag and every operation of openapi.yaml is listed", async () => {
    const shownTags = await page.locator(".opblock-tag-section h3.opblock-tag").evaluateAll((els) =>
      els.map((e) => e.getAttribute("data-tag") ?? ""),
    );
    assert.deepEqual(shownTags, spec.tags, "tags, in the spec's order");

    // Every operation under each of its tags: "METHOD /path summary".
    const shown = await page.locator(".opblock-tag-section").evaluateAll((sections) =>
      sections.flatMap((s) => {
        const tag = s.querySelector("h3.opblock-tag")?.getAttribute("data-tag") ?? "";
        return Array.from(s.querySelectorAll(".opblock")).map((op) => ({
          tag,
          method: (op.querySelector(".opblock-summary-method")?.textContent ?? "").trim(),
          path: op.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? "",
          summary: (op.querySelector(".opblock-summary-description")?.textContent ?? "").trim(),
        }));
      }),
    );
    const key = (o: { tag: string; method: string; path: string; summary: string }) =>
      `${o.tag} ${o.method} ${o.path} — ${o.summary}`;
    const want = spec.operations.flatMap((op) => op.tags.map((tag) => key({ tag, ...op }))).sort();
    assert.deepEqual(shown.map(key).sort(), want);
    assert.ok(want.length >= 30, `the spec has ${want.length} operations`);
  });

  test('"Try it out" on GET /health answers 200 healthy from the live server', async () => {
    // Found by method and path, as a reader finds it. (Not by the element id,
    // which Swagger UI derives from the operationId in /openapi.json.)
    const op = page.locator('.opblock.opblock-get:has(.opblock-summary-path[data-path="/health"])');
    assert.equal(await op.count(), 1);
    await op.locator(".opblock-summary").first().click();
    await op.locator("button.try-out__btn").click();
    await op.locator("button.execute").click();

    const live = op.locator(".live-responses-table");
    await live.locator(".response-col_status").filter({ hasText: /^\s*200\s*$/ }).waitFor({ timeout: 15_000 });
    const body = live.locator(".response-col_description .microlight, .response-col_description pre").first();
    await body.waitFor();
    const text = (await body.textContent()) ?? "";
    assert.match(text, /"status":\s*"healthy"/);
    const requestUrl = (await op.locator(".request-url pre").textContent()) ?? "";
    assert.equal(requestUrl.trim(), `${server.baseUrl}/health`, "the request went to this server");

    const dir = mkdtempSync(join(tmpdir(), "agcom-docs-"));
    const shot = join(dir, "docs.png");
    await page.screenshot({ path: shot, fullPage: true });
    // Also one of the viewport around the executed call, easier to read.
    const shotHealth = join(dir, "docs-health.png");
    await op.scrollIntoViewIfNeeded();
    await op.screenshot({ path: shotHealth });
    console.log(`docs screenshots: ${shot} ${shotHealth}`);
    const artifacts = process.env.AGCOM_ARTIFACTS_DIR;
    if (artifacts) {
      mkdirSync(artifacts, { recursive: true });
      copyFileSync(shot, join(artifacts, "docs.png"));
      copyFileSync(shotHealth, join(artifacts, "docs-health.png"));
      console.log(`docs screenshots copied to ${artifacts}`);
    }
    assert.deepEqual(blocked, [], "still nothing outside this server");
    assert.deepEqual(pageErrors, [], "no script errors");
  });
});
