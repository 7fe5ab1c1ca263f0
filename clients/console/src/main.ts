// The console's shell: sign-in, the session, navigation, routing, live
// updates and keyboard shortcuts. Views live in their own modules.
import { agentsView } from "./agents";
import { api, describe, ok, onUnauthorized, setToken, type AgcomEvent, type Message } from "./api";
import { auditView } from "./audit";
import { composeView } from "./compose";
import { contactsView } from "./contacts";
import { busy, field, h, replace } from "./dom";
import { Live, type LiveState } from "./live";
import { currentRoute, go, link, type Route } from "./router";
import { searchView } from "./search";
import { clearSession, loadSession, saveSession, type Session } from "./session";
import { forgetSamples, startSampling, statsView, stopSampling } from "./stats";
import { threadsView } from "./threads";
import type { Ctx, View } from "./view";

interface Section {
  name: string;
  label: string;
  key: string;
  admin?: boolean;
  make(ctx: Ctx, r: Route): View;
}

const SECTIONS: Section[] = [
  { name: "threads", label: "Threads", key: "t", make: threadsView },
  { name: "compose", label: "Compose", key: "c", make: composeView },
  { name: "search", label: "Search", key: "/", make: searchView },
  { name: "contacts", label: "Address book", key: "b", make: contactsView },
  { name: "audit", label: "Audit", key: "a", make: auditView },
  { name: "agents", label: "Agents", key: "g", admin: true, make: (ctx) => agentsView(ctx) },
  { name: "stats", label: "Stats", key: "s", admin: true, make: (ctx) => statsView(ctx) },
];

const app = document.getElementById("app")!;
let session: Session | null = null;
let current: View | undefined;
let expiry: ReturnType<typeof setTimeout> | undefined;
const live = new Live({
  event: (e) => onEvent(e),
  state: (s) => showLive(s),
  connected: () => void checkRole(),
  resync: () => renderRoute(true),
});

const toast = h("div", { class: "toast", role: "status", "aria-live": "polite" });
let toastTimer: ReturnType<typeof setTimeout> | undefined;
function announce(msg: string): void {
  toast.textContent = msg;
  toast.classList.add("shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toast.classList.remove("shown"), 5000);
}

// ---- signing in and out

function showSignIn(note = ""): void {
  current?.dispose?.();
  current = undefined;
  // Whatever the last session was told is not for whoever signs in next.
  clearTimeout(toastTimer);
  toast.classList.remove("shown");
  toast.textContent = "";
  document.title = "Sign in · AgCom console";
  const error = h("p", { class: "error", role: "alert" });
  const form: HTMLFormElement = h(
    "form",
    {
      class: "stack signin",
      "aria-labelledby": "signin-heading",
      onsubmit: (e: Event) => {
        e.preventDefault();
        error.textContent = "";
        void busy(form, async () => {
          try {
            await signIn(field(form, "handle").toLowerCase(), (form.elements.namedItem("secret") as HTMLInputElement).value);
          } catch (err) {
            error.textContent = describe(err);
            (form.elements.namedItem("secret") as HTMLInputElement).select();
          }
        });
      },
    },
    h("h2", { id: "signin-heading" }, "Sign in"),
    note ? h("p", { class: "note", role: "status" }, note) : null,
    h("label", null, "Handle", h("input", { name: "handle", required: true, autocomplete: "username", spellcheck: "false", autocapitalize: "none" })),
    h("label", null, "Secret", h("input", { name: "secret", type: "password", required: true, autocomplete: "current-password" })),
    error,
    h("button", { type: "submit" }, "Sign in"),
    h("p", { class: "hint" }, "Your token stays in this tab only and is forgotten when you sign out or close it."),
  );
  replace(
    app,
    h("header", { class: "top" }, h("h1", null, "AgCom console")),
    h("main", { id: "main", class: "signin-main" }, form),
    toast,
  );
  (form.elements.namedItem("handle") as HTMLInputElement).focus();
}

async function signIn(handle: string, secret: string): Promise<void> {
  const r = await ok(api.POST("/auth/token", { body: { agent_handle: handle, agent_secret: secret } }));
  setToken(r.access_token);
  const isAdmin = await probeAdmin();
  start({ handle, token: r.access_token, expiresAt: Date.now() + r.expires_in * 1000, isAdmin });
}

/** probeAdmin asks the API whether the caller is an admin now. */
async function probeAdmin(): Promise<boolean> {
  try {
    const r = await api.GET("/admin/stats");
    return r.response.ok;
  } catch {
    return session?.isAdmin ?? false;
  }
}

function start(s: Session): void {
  session = s;
  saveSession(s);
  setToken(s.token);
  scheduleExpiry(s.expiresAt);
  renderShell();
  live.start();
  if (s.isAdmin) startSampling();
  else stopSampling();
}

/** scheduleExpiry ends the session when the token expires. */
function scheduleExpiry(at: number): void {
  clearTimeout(expiry);
  // setTimeout holds at most 2^31-1 ms; a longer-lived token is looked at again then.
  expiry = setTimeout(() => {
    if (Date.now() >= at) endSession("Your session expired. Sign in again to continue.");
    else scheduleExpiry(at);
  }, Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1)));
}

function endSession(note: string, forget = false): void {
  if (!session) return;
  live.stop();
  clearTimeout(expiry);
  session = null;
  setToken(null);
  clearSession();
  if (forget) forgetSamples();
  else stopSampling();
  showSignIn(note);
}

onUnauthorized(() => endSession("Your session has ended: the token expired or was revoked, or the agent was disabled. Sign in again to continue."));

/** checkRole notices a promotion or demotion (the stream restarts on one). */
async function checkRole(): Promise<void> {
  if (!session) return;
  const isAdmin = await probeAdmin();
  if (!session || isAdmin === session.isAdmin) return;
  session = { ...session, isAdmin };
  saveSession(session);
  if (isAdmin) startSampling();
  else stopSampling();
  announce(isAdmin ? "You are an admin now." : "You are no longer an admin.");
  renderShell();
}

// ---- the shell

const liveBadge = h("span", { class: "live", role: "status" });
function showLive(s: LiveState): void {
  liveBadge.dataset["state"] = s;
  liveBadge.textContent = s === "live" ? "Live" : s === "connecting" ? "Connecting…" : "Offline, retrying";
}

let nav: HTMLElement;
let main: HTMLElement;

function renderShell(): void {
  if (!session) return;
  const s = session;
  nav = h(
    "nav",
    { "aria-label": "Sections" },
    h(
      "ul",
      null,
      SECTIONS.filter((sec) => !sec.admin || s.isAdmin).map((sec) =>
        h("li", null, h("a", { href: link([sec.name]), "data-section": sec.name, "aria-keyshortcuts": sec.key }, sec.label)),
      ),
    ),
  );
  main = h("main", { id: "main", tabindex: "-1" });
  replace(
    app,
    h("button", { type: "button", class: "skip", onclick: () => main.focus() }, "Skip to content"),
    h(
      "header",
      { class: "top" },
      h("h1", null, h("a", { href: link(["threads"]) }, "AgCom console")),
      liveBadge,
      h("span", { class: "me" }, s.handle, s.isAdmin ? h("span", { class: "chip admin" }, "admin") : null),
      h("button", { type: "button", class: "secondary shortcuts", "aria-keyshortcuts": "?", onclick: () => toggleHelp() }, "Shortcuts"),
      h("button", { type: "button", class: "secondary", onclick: () => endSession("You signed out.", true) }, "Sign out"),
    ),
    nav,
    main,
    toast,
    help,
  );
  showLive(liveBadge.dataset["state"] as LiveState ?? "connecting");
  current = undefined;
  renderRoute(true);
}

function renderRoute(rebuild = false): void {
  if (!session) return;
  const r = currentRoute();
  const sec = SECTIONS.find((s) => s.name === r.parts[0]);
  for (const a of nav.querySelectorAll<HTMLAnchorElement>("a[data-section]")) {
    if (a.dataset["section"] === sec?.name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!rebuild && current?.update?.(r)) return;
  current?.dispose?.();
  const ctx: Ctx = { session, announce };
  if (!sec) current = { el: h("section", { class: "page" }, h("h2", { tabindex: "-1" }, "Not found"), h("p", null, "There is no such page. ", h("a", { href: link(["threads"]) }, "Go to your threads."))), title: "Not found" };
  else if (sec.admin && !session.isAdmin) current = { el: h("section", { class: "page" }, h("h2", { tabindex: "-1" }, sec.label), h("p", null, "Only admins see this page.")), title: sec.label };
  else current = sec.make(ctx, r);
  replace(main, current.el);
  document.title = `${current.title} · AgCom console`;
  main.querySelector<HTMLElement>("h2")?.focus({ preventScroll: true });
}

function onEvent(e: AgcomEvent): void {
  if (e.type === "message.created") {
    const m = (e.data as { message?: Message }).message;
    if (m && m.from_handle !== session?.handle) announce(`New message from ${m.from_handle}: ${m.subject}`);
  }
  current?.onEvent?.(e);
}

// ---- keyboard

const help = h(
  "dialog",
  { class: "help", "aria-labelledby": "help-heading" },
  h("h2", { id: "help-heading" }, "Keyboard shortcuts"),
  h(
    "dl",
    { class: "facts" },
    [
      ...SECTIONS.map((s) => [s.key, `${s.label}${s.admin ? " (admins)" : ""}`]),
      ["j / k", "Next / previous thread, message or result"],
      ["Enter", "Open the focused item"],
      ["r", "Reply in the open thread"],
      ["?", "This list"],
      ["Esc", "Close this list, or leave a field"],
    ].map(([k, v]) => [h("dt", null, h("kbd", null, k!)), h("dd", null, v!)]),
  ),
  h("form", { method: "dialog" }, h("button", { type: "submit" }, "Close")),
);

function toggleHelp(): void {
  if (help.open) help.close();
  else help.showModal();
}

document.addEventListener("keydown", (e) => {
  if (!session || e.ctrlKey || e.metaKey || e.altKey || help.open) return;
  const t = e.target as HTMLElement;
  if (t.closest("input, textarea, select, [contenteditable]")) {
    if (e.key === "Escape") t.blur();
    return;
  }
  if (e.key === "?") {
    e.preventDefault();
    toggleHelp();
    return;
  }
  if (e.key === "j" || e.key === "k") {
    const items = Array.from(main.querySelectorAll<HTMLElement>("[data-nav]"));
    if (!items.length) return;
    e.preventDefault();
    const i = items.indexOf(document.activeElement as HTMLElement);
    const next = items[e.key === "j" ? (i < 0 ? 0 : Math.min(items.length - 1, i + 1)) : i <= 0 ? 0 : i - 1]!;
    next.focus();
    next.scrollIntoView({ block: "nearest" });
    return;
  }
  if (e.key === "r") {
    const box = main.querySelector<HTMLTextAreaElement>("form.reply textarea");
    if (box) {
      e.preventDefault();
      box.focus();
    }
    return;
  }
  const sec = SECTIONS.find((s) => s.key === e.key && (!s.admin || session!.isAdmin));
  if (sec) {
    e.preventDefault();
    go(link([sec.name]));
  }
});

window.addEventListener("hashchange", () => renderRoute());

const saved = loadSession();
if (saved) start(saved);
else showSignIn();
