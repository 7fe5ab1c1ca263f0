// The console in a real browser: headless Debian Chromium, driven by
// playwright-core, against a real agcomd. An admin signs in and creates an
// agent; the agent signs in in a second browser context and writes to the
// admin, whose console shows the thread arrive live; the admin searches
// for it, and disables the agent, whose console returns to the sign-in.
// Files go both ways as attachments, and come back byte for byte.
// Every view is scanned with axe-core (no serious or critical violations)
// and photographed into test-artifacts/ (or $AGCOM_ARTIFACTS_DIR).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { load } from "js-yaml";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { startAgcomd, type Agcomd } from "../../ts/test/agcomd.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
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
const here = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = resolve(process.env.AGCOM_ARTIFACTS_DIR ?? join(here, "..", "test-artifacts"));
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'";

const ADMIN = "root";
const ADMIN_SECRET = randomBytes(18).toString("base64url");
const AGENT = "bob";
const WORD = `zebra${randomBytes(3).toString("hex")}`;
const SUBJECT = `Nightly run ${WORD}`;
// Small limits, so that the console's 413 messages can be seen: one file
// holds at most 16 KiB, an agent's uploads 24 KiB in all.
const MAX_ATTACHMENT_BYTES = 16384;
const ATTACHMENT_QUOTA_BYTES = 24576;
const LOG = { name: "nightly.log.gz", mimeType: "application/gzip", buffer: randomBytes(10_000) };
// Active content: it must arrive as a file, never run in the console.
const NOTES = {
  name: "notes.html",
  mimeType: "text/html",
  buffer: Buffer.from(`<!doctype html><p>Noted ${WORD}</p><script>parent.pwned = true</script>\n`),
};

// The contract, read here on its own, so that the console's limits are
// checked against it and not against what the build put in.
const CONTRACT = load(readFileSync(join(here, "..", "..", "..", "openapi.yaml"), "utf8"));

/** contractSchema is the schema at components.schemas.name.properties.prop, its $ref followed. */
function contractSchema(name: string, prop: string): Record<string, unknown> {
  const schemas = (CONTRACT as { components: { schemas: Record<string, { properties?: Record<string, { $ref?: string }> }> } }).components.schemas;
  let s: unknown = schemas[name]?.properties?.[prop];
  const ref = (s as { $ref?: string } | undefined)?.$ref;
  if (ref) s = schemas[ref.replace("#/components/schemas/", "")];
  assert.ok(s && typeof s === "object", `openapi.yaml has no ${name}.${prop}`);
  return s as Record<string, unknown>;
}

const isLocal = (url: string): boolean => {
  const u = new URL(url);
  if (["data:", "blob:", "about:"].includes(u.protocol)) return true;
  return (u.protocol === "http:" || u.protocol === "https:") && ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
};

interface Watch {
  blocked: string[];
  errors: string[];
}

async function newContext(browser: Browser, watch: Watch): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
  await ctx.route("**/*", (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    watch.blocked.push(url);
    return route.abort("blockedbyclient");
  });
  return ctx;
}

function watchPage(page: Page, watch: Watch, who: string): void {
  page.on("pageerror", (err) => watch.errors.push(`${who}: ${String(err)}`));
  page.on("console", (msg) => {
    // A refused script or style would say so here.
    if (msg.type() === "error" && /Content Security Policy|Refused to/.test(msg.text())) watch.errors.push(`${who}: ${msg.text()}`);
  });
}

const shots: string[] = [];
async function shoot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  shots.push(path);
}

/** axe scans the page and fails on serious or critical violations. */
async function axe(page: Page, view: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's CSP does not
  // govern: an injected <script> would (rightly) be refused.
  if (!(await page.evaluate("typeof window.axe !== 'undefined'"))) await page.evaluate(AXE);
  const violations = (await page.evaluate(`axe.run(document, { resultTypes: ["violations"] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) })))`)) as {
    id: string;
    impact: string;
    help: string;
    nodes: string[];
  }[];
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const minor = violations.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`axe (${view}), minor: ${minor.map((v) => `${v.id} (${v.impact})`).join(", ")}`);
  assert.deepEqual(bad, [], `axe found serious or critical violations in the ${view} view`);
}

async function signIn(page: Page, handle: string, secret: string): Promise<void> {
  await page.getByLabel("Handle").fill(handle);
  await page.getByLabel("Secret").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Sections" }).waitFor();
  await page.locator(".live[data-state='live']").waitFor();
}

describe("the console in headless Chromium", () => {
  let server: Agcomd;
  let browser: Browser;
  let admin: Page;
  let agent: Page;
  let agentSecret = "";
  let threadUrl = "";
  const watch: Watch = { blocked: [], errors: [] };
  // The Last-Event-ID of each event stream the agent's console opens.
  const agentStreams: (string | undefined)[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
    server = await startAgcomd({
      ADMIN_HANDLE: ADMIN,
      ADMIN_SECRET,
      // A stream checks its caller at every keep-alive: a disabled agent's
      // console learns of it within half a second.
      EVENT_STREAM_KEEPALIVE: "500ms",
      MAX_ATTACHMENT_BYTES: String(MAX_ATTACHMENT_BYTES),
      ATTACHMENT_QUOTA_BYTES: String(ATTACHMENT_QUOTA_BYTES),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    admin = await (await newContext(browser, watch)).newPage();
    agent = await (await newContext(browser, watch)).newPage();
    watchPage(admin, watch, "admin");
    watchPage(agent, watch, "agent");
    agent.on("request", (r) => {
      if (new URL(r.url()).pathname === "/api/v1/events/stream") agentStreams.push(r.headers()["last-event-id"]);
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (shots.length) console.log(`console screenshots:\n  ${shots.join("\n  ")}`);
  });

  test("the sign-in page loads from this server alone, under a strict CSP", async () => {
    const res = await admin.goto(`${server.origin}/console/`);
    assert.equal(res?.status(), 200);
    assert.ok(res?.headers()["content-security-policy"]?.startsWith(CSP), `CSP: ${res?.headers()["content-security-policy"]}`);
    await admin.getByRole("heading", { name: "Sign in" }).waitFor();
    await axe(admin, "sign-in");
    await shoot(admin, "signin");
  });

  test("a wrong secret is refused on the page", async () => {
    await admin.getByLabel("Handle").fill(ADMIN);
    await admin.getByLabel("Secret").fill("not-the-secret");
    await admin.getByRole("button", { name: "Sign in" }).click();
    await admin.getByRole("alert").filter({ hasText: "AuthenticationError" }).waitFor();
  });

  test("the admin signs in and creates an agent, whose secret is shown once", async () => {
    await signIn(admin, ADMIN, ADMIN_SECRET);
    await admin.locator(".me .chip.admin").waitFor();
    await admin.keyboard.press("g"); // the Agents shortcut
    await admin.getByRole("heading", { name: "Agents", exact: true }).waitFor();
    assert.match(admin.url(), /#\/agents$/);
    await admin.getByLabel("Handle").fill(AGENT);
    await admin.getByLabel("Display name").fill("Bob the builder");
    await admin.getByRole("button", { name: "Create agent" }).click();
    const secret = admin.locator("#new-secret");
    await secret.waitFor();
    agentSecret = await secret.inputValue();
    assert.ok(agentSecret.length >= 16, `secret ${agentSecret}`);
    await admin.getByRole("row").filter({ hasText: "Bob the builder" }).waitFor();
    await axe(admin, "agents");
    await shoot(admin, "agents");
    await admin.getByRole("button", { name: "Done, hide it" }).click();
    assert.equal(await admin.locator("#new-secret").count(), 0, "the secret is gone once dismissed");
  });

  test("the agent signs in elsewhere and writes; the admin's list shows it live", async () => {
    await admin.keyboard.press("t");
    await admin.getByRole("heading", { name: "All threads" }).waitFor();

    await agent.goto(`${server.origin}/console/#/compose`);
    await signIn(agent, AGENT, agentSecret);
    assert.equal(await agent.getByRole("link", { name: "Agents" }).count(), 0, "an agent has no admin sections");
    await agent.getByRole("heading", { name: "Compose" }).waitFor();
    await agent.getByLabel("To").fill(ADMIN);
    // The form holds to the contract's limits.
    for (const [label, prop] of [["Subject", "subject"], ["Message", "body"]] as const) {
      const want = contractSchema("SendMessageRequest", prop)["maxLength"];
      assert.equal(typeof want, "number", `SendMessageRequest.${prop} has a maxLength`);
      assert.equal(await agent.getByLabel(label, { exact: true }).evaluate((el: HTMLInputElement | HTMLTextAreaElement) => el.maxLength), want, `${label}: maxLength is the contract's`);
    }
    await agent.getByLabel("Subject").fill(SUBJECT);
    await agent.getByLabel("Message", { exact: true }).fill(`The nightly ${WORD} job finished.\nAll green.`);
    await agent.getByLabel("Tags").fill("nightly, ci");

    // A file is uploaded as it is picked; one over the size limit, and one
    // over what is left of the quota, are refused with the limit named.
    const files = agent.getByLabel("Attachments", { exact: true });
    const picks = agent.getByRole("list", { name: "Picked files" });
    await files.setInputFiles({ name: "core.dump", mimeType: "application/octet-stream", buffer: randomBytes(20_000) });
    await agent.getByRole("alert").filter({ hasText: "core.dump (19.5 KiB) was not uploaded: a file may hold at most 16 KiB (PayloadTooLarge" }).waitFor();
    await picks.getByRole("listitem").filter({ hasText: "core.dump" }).filter({ hasText: "failed" }).waitFor();
    await axe(agent, "compose (upload refused)");
    await shoot(agent, "compose-too-large");
    await agent.getByRole("button", { name: "Remove core.dump" }).click();
    // While an upload runs (held here), the message cannot be sent.
    let release = (): void => {};
    const held = new Promise<void>((r) => (release = r));
    await agent.route("**/api/v1/attachments", async (route) => {
      await held;
      await route.continue();
    });
    const send = agent.getByRole("button", { name: "Send" });
    await files.setInputFiles(LOG);
    await picks.getByRole("listitem").filter({ hasText: LOG.name }).filter({ hasText: "uploading" }).waitFor();
    assert.equal(await send.isDisabled(), true, "Send waits for the upload");
    release();
    await picks.getByRole("listitem").filter({ hasText: LOG.name }).filter({ hasText: "ready" }).waitFor();
    assert.equal(await send.isEnabled(), true, "Send is back once the upload is done");
    await agent.unroute("**/api/v1/attachments");
    await files.setInputFiles({ name: "big.bin", mimeType: "application/octet-stream", buffer: randomBytes(16_000) });
    // 24 576 - 10 000 bytes are left: 14.2 KiB.
    await agent.getByRole("alert").filter({ hasText: `big.bin (15.6 KiB) was not uploaded: it would pass your attachment quota of 24 KiB; 14.2 KiB left (PayloadTooLarge` }).waitFor();
    // Failed uploads are not sent silently: the message waits for their removal.
    await send.click();
    await agent.getByRole("alert").filter({ hasText: "Remove the files that were not uploaded" }).waitFor();
    await agent.getByRole("button", { name: "Remove big.bin" }).click();
    assert.deepEqual(await picks.getByRole("listitem").allTextContents(), [`${LOG.name}9.8 KiBreadyRemove`]);
    await axe(agent, "compose");
    await shoot(agent, "compose");
    await send.click();
    await agent.getByRole("heading", { name: SUBJECT }).waitFor();
    threadUrl = agent.url();
    assert.match(threadUrl, /#\/threads\/[0-9A-Z]{26}\/[0-9A-Z]{26}$/);
    await agent.getByRole("list", { name: `Attachments from ${AGENT}` }).getByText(LOG.name).waitFor();

    // No reload: the event stream brings it.
    const row = admin.locator(".thread-row").filter({ hasText: SUBJECT });
    await row.waitFor({ timeout: 10_000 });
    await row.locator(".badge", { hasText: "1" }).waitFor();
    await admin.getByRole("status").filter({ hasText: `New message from ${AGENT}` }).first().waitFor();
    await axe(admin, "threads");
    await shoot(admin, "threads");
  });

  test("the admin opens the thread and replies; the agent sees the reply live", async () => {
    await admin.keyboard.press("j");
    assert.equal(await admin.evaluate("document.activeElement?.textContent ?? ''").then(String).then((t) => t.includes(SUBJECT)), true, "j focuses the first thread");
    await admin.keyboard.press("Enter");
    await admin.getByRole("heading", { name: SUBJECT }).waitFor();
    await admin.locator(".message .body", { hasText: `The nightly ${WORD} job finished.` }).waitFor();
    await admin.getByRole("button", { name: "Mark thread read" }).click();
    await admin.locator(".thread-row").filter({ hasText: SUBJECT }).locator(".badge").waitFor({ state: "detached" });
    // The agent's file, listed with its size and type, comes back as it went.
    const sent = admin.getByRole("list", { name: `Attachments from ${AGENT}` }).getByRole("listitem");
    await sent.filter({ hasText: `${LOG.name}9.8 KiB · ${LOG.mimeType}` }).waitFor();
    await downloadEquals(admin, `Download ${LOG.name}`, LOG);

    await admin.keyboard.press("r");
    await admin.keyboard.type("Thanks, noted.");
    const replyFiles = admin.getByRole("form", { name: "Reply" });
    await replyFiles.getByLabel("Attachments", { exact: true }).setInputFiles(NOTES);
    await replyFiles.getByRole("listitem").filter({ hasText: NOTES.name }).filter({ hasText: "ready" }).waitFor();
    await admin.getByRole("button", { name: "Send reply" }).click();
    await admin.locator(".message .body", { hasText: "Thanks, noted." }).waitFor();
    assert.equal(await replyFiles.getByRole("listitem").count(), 0, "a sent reply's files are cleared");
    await axe(admin, "thread");
    await shoot(admin, "thread");

    await agent.locator(".message .body", { hasText: "Thanks, noted." }).waitFor({ timeout: 10_000 });
    await agent.locator(".thread-row .badge", { hasText: "1" }).waitFor();
    await downloadEquals(agent, `Download ${NOTES.name}`, NOTES);
    assert.equal(await agent.evaluate("window.pwned"), undefined, "the HTML attachment did not run");
    assert.equal(await agent.locator("iframe, object, embed").count(), 0, "nothing is rendered inline");
  });

  test("a deep link to a message survives a reload", async () => {
    const id = threadUrl.split("/").pop()!;
    await admin.goto(threadUrl.replace(/^.*#/, `${server.origin}/console/#`));
    await admin.reload();
    await admin.locator(`#m-${id}.target`).waitFor();
    await admin.waitForFunction((mid) => document.activeElement?.id === `m-${mid}`, id);
  });

  test("the admin searches for the message", async () => {
    await admin.keyboard.press("/");
    await admin.getByRole("heading", { name: "Search" }).waitFor();
    await admin.getByLabel("Search for").fill(WORD);
    await admin.getByRole("button", { name: "Search" }).click();
    // The agent's message and the admin's reply share the subject.
    await admin.getByRole("status").filter({ hasText: `2 messages match` }).waitFor();
    const hit = admin.locator(".result-row").filter({ hasText: `The nightly ${WORD} job` });
    await hit.waitFor();
    assert.ok((await hit.locator("mark").count()) >= 1, "the match is highlighted");
    await admin.getByRole("list", { name: `Attachments from ${AGENT}` }).getByRole("button", { name: `Download ${LOG.name}` }).waitFor();
    assert.match(admin.url(), new RegExp(`#/search\\?q=${WORD}`));
    await axe(admin, "search");
    await shoot(admin, "search");
    await hit.click();
    await admin.getByRole("heading", { name: SUBJECT }).waitFor();
  });

  test("the address book, the audit log and the stats chart", async () => {
    await admin.keyboard.press("b");
    await admin.getByRole("heading", { name: "Address book" }).waitFor();
    await admin.getByLabel("Handle").fill(AGENT);
    await admin.getByLabel("Display name").fill("Bob the builder");
    await admin.getByLabel("Description").fill("Runs the nightly jobs");
    await admin.getByRole("button", { name: "Add contact" }).click();
    await admin.getByRole("row").filter({ hasText: "Runs the nightly jobs" }).waitFor();
    await axe(admin, "contacts");
    await shoot(admin, "contacts");

    await admin.keyboard.press("a");
    await admin.getByRole("heading", { name: "Audit log" }).waitFor();
    await admin.getByRole("row").filter({ hasText: "agent_create" }).first().waitFor();
    await admin.getByLabel("Actor").fill(AGENT);
    await admin.getByRole("button", { name: "Filter" }).click();
    await admin.getByRole("row").filter({ hasText: "message_send" }).first().waitFor();
    assert.equal(await admin.getByRole("row").filter({ hasText: "agent_create" }).count(), 0, "filtered by actor");
    await axe(admin, "audit");
    await shoot(admin, "audit");

    await admin.keyboard.press("s");
    await admin.getByRole("heading", { name: "Stats" }).waitFor();
    for (let i = 0; i < 3; i++) await admin.getByRole("button", { name: "Sample now" }).click();
    await admin.locator("#chart-messages-title").waitFor({ state: "attached" });
    await admin.locator(".chart polyline.line-messages").waitFor({ state: "attached" });
    assert.equal(await admin.locator(".chart").count(), 4);
    await axe(admin, "stats");
    await shoot(admin, "stats");

    // The same, in the dark.
    await admin.emulateMedia({ colorScheme: "dark" });
    await admin.keyboard.press("t");
    await admin.locator(".thread-row").filter({ hasText: SUBJECT }).waitFor();
    // Every thread, narrowed by tag and participant (kept in the link).
    const filter = admin.getByRole("search", { name: "Filter threads" });
    await filter.getByLabel("Tag").fill("nightly");
    await filter.getByRole("button", { name: "Filter" }).click();
    await admin.getByRole("status").filter({ hasText: "1 thread with tag nightly" }).waitFor();
    assert.match(admin.url(), /#\/threads\?tag=nightly$/);
    await filter.getByLabel("Tag").fill("");
    await filter.getByLabel("Participant").fill("nobody");
    await filter.getByRole("button", { name: "Filter" }).click();
    await admin.getByRole("status").filter({ hasText: "0 threads with participant nobody" }).waitFor();
    await admin.goto(`${server.origin}/console/#/threads`);
    await admin.locator(".thread-row").filter({ hasText: SUBJECT }).waitFor();
    await axe(admin, "threads (dark)");
    await shoot(admin, "threads-dark");
    await admin.emulateMedia({ colorScheme: "light" });
  });

  test("the agent's own views, and the console on a phone", async () => {
    await agent.keyboard.press("a");
    await agent.getByRole("heading", { name: "Your audit trail" }).waitFor();
    await agent.getByRole("row").filter({ hasText: "message_send" }).first().waitFor();
    await axe(agent, "own audit");
    await shoot(agent, "agent-audit");

    await agent.setViewportSize({ width: 390, height: 844 });
    await agent.goto(threadUrl);
    await agent.getByRole("heading", { name: SUBJECT }).waitFor();
    assert.equal(await agent.locator(".list-pane").isVisible(), false, "one pane at a time on a phone");
    await axe(agent, "thread (phone)");
    await shoot(agent, "phone-thread");
    await agent.getByRole("link", { name: "← All threads" }).click();
    await agent.locator(".thread-row").filter({ hasText: SUBJECT }).waitFor();
    await shoot(agent, "phone-threads");
    await agent.setViewportSize({ width: 1280, height: 860 });
  });

  test("promoting the agent ends its stream; it resumes from its cursor and shows the admin sections", async () => {
    const opened = agentStreams.length;
    assert.ok(opened >= 1, "the agent's console opened an event stream");
    await admin.keyboard.press("g");
    await admin.getByRole("button", { name: `Promote ${AGENT}` }).click();
    await admin.getByRole("button", { name: `Demote ${AGENT}` }).waitFor();
    // Written while the agent's console is between streams (the server
    // advises 2 s before reconnecting): it arrives through the cursor.
    await admin.keyboard.press("c");
    await admin.getByLabel("To").fill(AGENT);
    await admin.getByLabel("Subject").fill(`Resume check ${WORD}`);
    await admin.getByLabel("Message", { exact: true }).fill("Sent while your stream was down.");
    await admin.getByRole("button", { name: "Send" }).click();
    await admin.getByRole("heading", { name: `Resume check ${WORD}` }).waitFor();

    await agent.locator(".thread-row").filter({ hasText: `Resume check ${WORD}` }).waitFor({ timeout: 10_000 });
    await agent.getByRole("link", { name: "Agents" }).waitFor({ timeout: 10_000 });
    await agent.locator(".me .chip.admin").waitFor();
    const resumed = agentStreams.slice(opened);
    assert.ok(resumed.some((id) => id !== undefined && /^[0-9]+$/.test(id)), `a new stream resumed with Last-Event-ID: ${JSON.stringify(resumed)}`);
  });

  test("the shortcuts dialog", async () => {
    await admin.keyboard.press("?");
    const dialog = admin.getByRole("dialog", { name: "Keyboard shortcuts" });
    await dialog.waitFor();
    await axe(admin, "shortcuts");
    await shoot(admin, "shortcuts", false);
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "hidden" });
  });

  test("disabling the agent ends its session: its console asks it to sign in", async () => {
    await admin.keyboard.press("g");
    await admin.getByRole("button", { name: `Disable ${AGENT}` }).click();
    await admin.getByRole("button", { name: `Enable ${AGENT}` }).waitFor();

    await agent.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 15_000 });
    await agent.getByText("Your session has ended").waitFor();
    assert.equal(await agent.evaluate("sessionStorage.getItem('agcom.console.session')"), null, "the token is forgotten");
    await shoot(agent, "signin-ended");

    // Signing in again is refused while it is disabled.
    await signInFails(agent, AGENT, agentSecret);
  });

  test("signing out forgets the token", async () => {
    await admin.getByRole("button", { name: "Sign out" }).click();
    await admin.getByRole("heading", { name: "Sign in" }).waitFor();
    await admin.getByText("You signed out.").waitFor();
    assert.equal(await admin.evaluate("sessionStorage.getItem('agcom.console.session')"), null);
  });

  test("nothing came from elsewhere and nothing broke", () => {
    assert.deepEqual(watch.blocked, [], "requests outside this server");
    assert.deepEqual(watch.errors, [], "script errors or CSP refusals");
  });
});

/** downloadEquals clicks a download button and compares the saved file. */
async function downloadEquals(page: Page, button: string, file: { name: string; buffer: Buffer }): Promise<void> {
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: button }).click()]);
  assert.equal(download.suggestedFilename(), file.name);
  const path = await download.path();
  assert.ok(readFileSync(path).equals(file.buffer), `${file.name}: the downloaded bytes are the uploaded ones`);
  assert.doesNotMatch(download.url(), /token|Bearer/i, "no token in the download's URL");
}

async function signInFails(page: Page, handle: string, secret: string): Promise<void> {
  await page.getByLabel("Handle").fill(handle);
  await page.getByLabel("Secret").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "AuthenticationError" }).waitFor();
}
