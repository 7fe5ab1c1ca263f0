// The audit trail: all of it for an admin, the caller's own (as actor or
// target) for anyone else, newest first, with the API's filters.
import { api, describe, ok, type AuditEvent, type Schemas } from "./api";
import { field, h, replace, time } from "./dom";
import { limits } from "./limits";
import { link, type Route } from "./router";
import type { Ctx, View } from "./view";

const TYPES: Schemas["AuditEventType"][] = [
  "thread_create",
  "message_send",
  "message_reply",
  "address_book_add",
  "address_book_update",
  "thread_metadata_update",
  "agent_create",
  "agent_update",
  "agent_secret_rotate",
  "agent_tokens_revoke",
  "token_issue_failure",
];

export function auditView(ctx: Ctx, route: Route): View {
  const q = route.query;
  const status = h("p", { class: "status", role: "status" });
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => void load(true) }, "Load more events");
  let events: AuditEvent[] = [];

  const form: HTMLFormElement = h(
    "form",
    {
      class: "filters",
      "aria-label": "Filter audit events",
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = link(["audit"], { type: field(form, "type"), actor: field(form, "actor").toLowerCase(), target: field(form, "target").toLowerCase() });
      },
    },
    h(
      "label",
      null,
      "Event type",
      h("select", { name: "type" }, h("option", { value: "" }, "Any"), TYPES.map((t) => h("option", { value: t, selected: q.get("type") === t }, t))),
    ),
    h("label", null, "Actor", h("input", { name: "actor", value: q.get("actor") ?? "", autocomplete: "off", spellcheck: "false" })),
    h("label", null, "Target", h("input", { name: "target", value: q.get("target") ?? "", autocomplete: "off", spellcheck: "false" })),
    h("button", { type: "submit" }, "Filter"),
  );

  async function load(append = false): Promise<void> {
    status.textContent = "Loading audit events…";
    try {
      const r = await ok(
        api.GET("/audit/events", {
          params: {
            query: {
              event_type: (q.get("type") as Schemas["AuditEventType"] | null) || undefined,
              actor_handle: q.get("actor") || undefined,
              target_handle: q.get("target") || undefined,
              limit: limits.pageMax,
              offset: append ? events.length : 0,
            },
          },
        }),
      );
      events = append ? events.concat(r.events) : r.events;
      status.textContent = `${events.length} of ${r.pagination.total} event${r.pagination.total === 1 ? "" : "s"}`;
      more.hidden = !r.pagination.has_more;
      replace(
        body,
        events.map((ev) =>
          h(
            "tr",
            null,
            h("td", null, time(ev.timestamp)),
            h("th", { scope: "row" }, ev.event_type),
            h("td", null, ev.actor_handle ?? "—"),
            h("td", null, ev.target_handles.length > 0 ? ev.target_handles.join(", ") : "—"),
            h("td", null, details(ev.details)),
          ),
        ),
      );
    } catch (err) {
      status.textContent = describe(err);
    }
  }

  void load();
  const el = h(
    "section",
    { class: "page", "aria-labelledby": "audit-heading" },
    h("h2", { id: "audit-heading", tabindex: "-1" }, ctx.session.isAdmin ? "Audit log" : "Your audit trail"),
    form,
    status,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        null,
        h("caption", { class: "visually-hidden" }, "Audit events, newest first"),
        h("thead", null, h("tr", null, ["When", "Event", "Actor", "Targets", "Details"].map((c) => h("th", { scope: "col" }, c)))),
        body,
      ),
    ),
    more,
  );
  return { el, title: "Audit" };
}

/** details shows an event's details, linking a thread or message it names. */
function details(d: Record<string, unknown>): (string | HTMLElement)[] {
  const out: (string | HTMLElement)[] = [];
  const thread = typeof d["thread_id"] === "string" ? (d["thread_id"] as string) : undefined;
  for (const [k, v] of Object.entries(d)) {
    if (out.length) out.push(" · ");
    const text = typeof v === "string" ? v : JSON.stringify(v);
    if (k === "thread_id" && thread) out.push(h("a", { href: link(["threads", thread]) }, `thread ${text}`));
    else if (k === "message_id" && thread && typeof v === "string") out.push(h("a", { href: link(["threads", thread, v]) }, `message ${text}`));
    else out.push(`${k}: ${text}`);
  }
  return out;
}
