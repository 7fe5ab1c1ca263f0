// Message search: a case-insensitive substring of subject and/or body,
// over what the caller can see (everything, for an admin).
import { api, describe, ok, type Message } from "./api";
import { attachmentList } from "./attachments";
import { field, h, replace, time, checked } from "./dom";
import { limits } from "./limits";
import { go, link, type Route } from "./router";
import type { Ctx, View } from "./view";

export function searchView(_ctx: Ctx, route: Route): View {
  const results = h("ol", { class: "results", "aria-label": "Search results" });
  const status = h("p", { class: "status", role: "status" });
  const q = route.query;

  const form: HTMLFormElement = h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Search messages",
      onsubmit: (e: Event) => {
        e.preventDefault();
        go(
          link(["search"], {
            q: field(form, "q"),
            in_subject: checked(form, "in_subject") ? undefined : "false",
            in_body: checked(form, "in_body") ? undefined : "false",
            from: field(form, "from").toLowerCase(),
            to: field(form, "to").toLowerCase(),
          }),
        );
      },
    },
    h("label", { class: "grow" }, "Search for", h("input", { name: "q", type: "search", required: true, maxlength: String(limits.searchQueryMax), value: q.get("q") ?? "", "aria-keyshortcuts": "/" })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "in_subject", checked: q.get("in_subject") !== "false" }), "Subject"),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "in_body", checked: q.get("in_body") !== "false" }), "Body"),
    h("label", null, "From", h("input", { name: "from", value: q.get("from") ?? "", autocomplete: "off", spellcheck: "false" })),
    h("label", null, "To", h("input", { name: "to", value: q.get("to") ?? "", autocomplete: "off", spellcheck: "false" })),
    h("button", { type: "submit" }, "Search"),
  );

  async function run(): Promise<void> {
    const query = q.get("q");
    if (!query) return;
    status.textContent = "Searching…";
    try {
      const r = await ok(
        api.GET("/messages/search", {
          params: {
            query: {
              query,
              in_subject: q.get("in_subject") !== "false",
              in_body: q.get("in_body") !== "false",
              from_handle: q.get("from") || undefined,
              to_handle: q.get("to") || undefined,
              limit: limits.pageMax,
            },
          },
        }),
      );
      status.textContent = `${r.count} message${r.count === 1 ? "" : "s"} match “${r.query}”` + (r.truncated ? "; the search stopped at the server's limit, older messages may match too" : "");
      replace(results, r.messages.map((m) => result(m, query, (msg) => (status.textContent = msg))));
    } catch (err) {
      status.textContent = describe(err);
    }
  }

  void run();
  const el = h("section", { class: "page", "aria-labelledby": "search-heading" }, h("h2", { id: "search-heading", tabindex: "-1" }, "Search"), form, status, results);
  queueMicrotask(() => {
    const input = form.elements.namedItem("q") as HTMLInputElement | null;
    if (input && !q.get("q")) input.focus();
  });
  return { el, title: q.get("q") ? `Search: ${q.get("q")}` : "Search" };
}

function result(m: Message, query: string, onError: (msg: string) => void): HTMLElement {
  return h(
    "li",
    null,
    h(
      "a",
      { href: link(["threads", m.thread_id, m.message_id]), class: "result-row", "data-nav": "" },
      h("span", { class: "subject" }, highlight(m.subject, query)),
      h("span", { class: "who" }, `${m.from_handle} → ${m.to_handles.join(", ")}`),
      h("span", { class: "when" }, time(m.created_at)),
      h("span", { class: "snippet" }, highlight(snippet(m.body, query), query)),
    ),
    // Beside the link, not in it: a button inside a link is not operable.
    attachmentList(m.attachments, m.from_handle, onError),
  );
}

function snippet(body: string, query: string): string {
  const i = body.toLowerCase().indexOf(query.toLowerCase());
  if (i < 0 || body.length <= 160) return body.slice(0, 160);
  const start = Math.max(0, i - 60);
  return (start > 0 ? "…" : "") + body.slice(start, start + 160) + (start + 160 < body.length ? "…" : "");
}

/** highlight marks each occurrence of query in text, as text nodes and <mark>. */
function highlight(text: string, query: string): (string | HTMLElement)[] {
  const out: (string | HTMLElement)[] = [];
  const lower = text.toLowerCase();
  const ql = query.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(ql); ql && i >= 0; i = lower.indexOf(ql, i + ql.length)) {
    out.push(text.slice(at, i), h("mark", null, text.slice(i, i + ql.length)));
    at = i + ql.length;
  }
  out.push(text.slice(at));
  return out;
}
