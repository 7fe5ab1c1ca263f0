// A new message: one thread with the recipients, a group thread, or a
// broadcast (one thread per recipient).
import { api, describe, ok, type Message } from "./api";
import { picker } from "./attachments";
import { busy, field, h, handles, replace } from "./dom";
import { limits } from "./limits";
import { go, link, type Route } from "./router";
import type { Ctx, View } from "./view";

type Kind = "direct" | "group" | "broadcast";

const kinds: { kind: Kind; label: string; hint: string }[] = [
  { kind: "direct", label: "Message", hint: "One new thread with you and every recipient." },
  { kind: "group", label: "Group message", hint: "One group thread for several recipients." },
  { kind: "broadcast", label: "Broadcast", hint: "The same message in a separate thread for each recipient." },
];

export function composeView(ctx: Ctx, route: Route): View {
  // One key per message being written: a retry after a lost answer sends
  // it once; any edit starts a new message.
  let key = crypto.randomUUID();
  const initial = (route.query.get("kind") as Kind | null) ?? "direct";
  const result = h("div", { class: "result", role: "status" });
  const error = h("p", { class: "error", role: "alert" });
  const contacts = h("datalist", { id: "contact-handles" });
  const submit = h("button", { type: "submit" }, "Send");
  const files = picker(
    "compose",
    () => {
      key = crypto.randomUUID();
      // Nothing is sent before every picked file is uploaded.
      submit.disabled = files.pending();
    },
    (msg) => (error.textContent = msg),
  );

  const form: HTMLFormElement = h(
    "form",
    {
      class: "stack",
      "aria-labelledby": "compose-heading",
      oninput: () => (key = crypto.randomUUID()),
      onsubmit: (e: Event) => {
        e.preventDefault();
        error.textContent = "";
        void busy(form, send);
      },
    },
    h(
      "fieldset",
      null,
      h("legend", null, "Kind"),
      kinds.map((k) =>
        h(
          "label",
          { class: "choice" },
          h("input", { type: "radio", name: "kind", value: k.kind, checked: k.kind === initial }),
          h("span", null, h("strong", null, k.label), " — ", k.hint),
        ),
      ),
    ),
    h(
      "label",
      null,
      "To",
      h("input", { name: "to", required: true, list: "contact-handles", value: route.query.get("to") ?? "", autocomplete: "off", spellcheck: "false", "aria-describedby": "to-hint" }),
    ),
    h("p", { id: "to-hint", class: "hint" }, "Handles, separated by commas."),
    h("label", null, "Subject", h("input", { name: "subject", required: true, maxlength: String(limits.subjectMax) })),
    h("label", null, "Message", h("textarea", { name: "body", required: true, rows: "8", maxlength: String(limits.bodyMax) })),
    h("label", null, "Tags", h("input", { name: "tags", autocomplete: "off", spellcheck: "false", "aria-describedby": "tags-hint" })),
    h("p", { id: "tags-hint", class: "hint" }, `Optional: up to ${limits.tagsMax} of a-z 0-9 _ -, separated by commas.`),
    files.el,
    error,
    submit,
    contacts,
  );

  async function send(): Promise<void> {
    const kind = (field(form, "kind") || "direct") as Kind;
    if (files.pending() || files.failed()) {
      error.textContent = files.pending() ? "Wait for the uploads to finish." : "Remove the files that were not uploaded, or pick them again.";
      return;
    }
    const ids = files.ids();
    const body = {
      to_handles: handles(field(form, "to")),
      subject: field(form, "subject"),
      body: field(form, "body"),
      tags: handles(field(form, "tags")),
      attachment_ids: ids.length ? ids : undefined,
    };
    const params = { header: { "Idempotency-Key": key } };
    try {
      if (kind === "broadcast") {
        const r = await ok(api.POST("/messages/broadcast", { params, body }));
        ctx.announce(`Broadcast to ${r.count} recipient${r.count === 1 ? "" : "s"}`);
        form.reset();
        files.clear();
        key = crypto.randomUUID();
        replace(
          result,
          h("p", null, `Sent in ${r.count} threads:`),
          h("ul", null, r.messages.map((m: Message) => h("li", null, h("a", { href: link(["threads", m.thread_id, m.message_id]) }, `${m.subject} — ${m.to_handles.join(", ")}`)))),
        );
        return;
      }
      const m = await ok(kind === "group" ? api.POST("/messages/group", { params, body }) : api.POST("/messages", { params, body }));
      ctx.announce(`Sent to ${m.to_handles.join(", ")}`);
      go(link(["threads", m.thread_id, m.message_id]));
    } catch (err) {
      error.textContent = describe(err);
    }
  }

  // Suggestions for the To field from the address book.
  void ok(api.GET("/contacts", { params: { query: { limit: limits.pageMax, active_only: true } } }))
    .then((p) => replace(contacts, p.contacts.map((c) => h("option", { value: c.handle }, c.display_name ?? c.handle))))
    .catch(() => {});

  const el = h("section", { class: "page", "aria-labelledby": "compose-heading" }, h("h2", { id: "compose-heading", tabindex: "-1" }, "Compose"), form, result);
  queueMicrotask(() => (form.elements.namedItem("to") as HTMLInputElement | null)?.focus());
  return { el, title: "Compose" };
}
