// The address book all agents share: list, search, add, edit (with the
// version it was read at) and deactivate.
import { api, describe, ok, type Contact } from "./api";
import { busy, checked, field, h, handles, replace, time } from "./dom";
import { limits } from "./limits";
import { link, type Route } from "./router";
import type { Ctx, View } from "./view";

export function contactsView(ctx: Ctx, route: Route): View {
  const q = route.query;
  const status = h("p", { class: "status", role: "status" });
  const body = h("tbody");
  const error = h("p", { class: "error", role: "alert" });
  let editing: string | undefined;
  let contacts: Contact[] = [];

  const searchForm: HTMLFormElement = h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Search contacts",
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = link(["contacts"], { q: field(searchForm, "q"), tag: field(searchForm, "tag").toLowerCase(), inactive: checked(searchForm, "inactive") ? "1" : undefined });
      },
    },
    h("label", { class: "grow" }, "Find", h("input", { name: "q", type: "search", value: q.get("q") ?? "" })),
    h("label", null, "Tag", h("input", { name: "tag", value: q.get("tag") ?? "", autocomplete: "off", spellcheck: "false" })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "inactive", checked: q.get("inactive") === "1" }), "Include inactive"),
    h("button", { type: "submit" }, "Show"),
  );

  const addForm: HTMLFormElement = h(
    "form",
    {
      class: "stack",
      "aria-labelledby": "add-contact-heading",
      onsubmit: (e: Event) => {
        e.preventDefault();
        void busy(addForm, async () => {
          error.textContent = "";
          try {
            const c = await ok(
              api.POST("/contacts", {
                params: { header: { "Idempotency-Key": crypto.randomUUID() } },
                body: {
                  handle: field(addForm, "handle").toLowerCase(),
                  display_name: field(addForm, "display_name") || undefined,
                  description: field(addForm, "description") || undefined,
                  tags: handles(field(addForm, "tags")),
                },
              }),
            );
            addForm.reset();
            ctx.announce(`Added ${c.handle}`);
            await load();
          } catch (err) {
            error.textContent = describe(err);
          }
        });
      },
    },
    h("h3", { id: "add-contact-heading" }, "Add a contact"),
    h("label", null, "Handle", h("input", { name: "handle", required: true, autocomplete: "off", spellcheck: "false" })),
    h("label", null, "Display name", h("input", { name: "display_name", maxlength: String(limits.displayNameMax) })),
    h("label", null, "Description", h("input", { name: "description", maxlength: String(limits.descriptionMax) })),
    h("label", null, "Tags", h("input", { name: "tags", autocomplete: "off", spellcheck: "false" })),
    error,
    h("button", { type: "submit" }, "Add contact"),
  );

  async function load(): Promise<void> {
    status.textContent = "Loading contacts…";
    const tags = q.get("tag") ? [q.get("tag")!] : undefined;
    try {
      if (q.get("q") || tags) {
        const r = await ok(api.GET("/contacts/search", { params: { query: { query: q.get("q") || undefined, tags, active_only: q.get("inactive") !== "1", limit: limits.pageMax } } }));
        contacts = r.contacts;
      } else {
        const r = await ok(api.GET("/contacts", { params: { query: { active_only: q.get("inactive") !== "1", limit: limits.pageMax } } }));
        contacts = r.contacts;
      }
      status.textContent = `${contacts.length} contact${contacts.length === 1 ? "" : "s"}`;
      render();
    } catch (err) {
      status.textContent = describe(err);
    }
  }

  function render(): void {
    replace(body, contacts.map((c) => (c.handle === editing ? editRow(c) : row(c))));
  }

  function row(c: Contact): HTMLTableRowElement {
    return h(
      "tr",
      { class: c.is_active ? "" : "inactive" },
      h("th", { scope: "row" }, c.handle),
      h("td", null, c.display_name ?? ""),
      h("td", null, c.description ?? ""),
      h("td", null, c.tags.map((t) => h("span", { class: "chip" }, t))),
      h("td", null, c.is_active ? "active" : "inactive"),
      h("td", null, time(c.updated_at), ` by ${c.updated_by}`),
      h(
        "td",
        { class: "actions" },
        h("a", { href: link(["compose"], { to: c.handle }), "aria-label": `Write to ${c.handle}` }, "Write"),
        h("button", { type: "button", class: "link", "aria-label": `Edit ${c.handle}`, onclick: () => ((editing = c.handle), render(), body.querySelector("input")?.focus()) }, "Edit"),
        c.is_active ? h("button", { type: "button", class: "link", "aria-label": `Deactivate ${c.handle}`, onclick: () => void deactivate(c) }, "Deactivate") : null,
      ),
    );
  }

  function editRow(c: Contact): HTMLTableRowElement {
    const formId = `edit-${c.handle}`;
    const save = async (f: HTMLFormElement) => {
      try {
        await ok(
          api.PUT("/contacts/{handle}", {
            params: { path: { handle: c.handle } },
            body: {
              display_name: field(f, "display_name") || undefined,
              description: field(f, "description") || undefined,
              tags: handles(field(f, "tags")),
              is_active: checked(f, "is_active"),
              expected_version: c.version,
            },
          }),
        );
        editing = undefined;
        ctx.announce(`Saved ${c.handle}`);
        await load();
      } catch (err) {
        error.textContent = describe(err);
      }
    };
    const form: HTMLFormElement = h("form", { id: formId, onsubmit: (e: Event) => (e.preventDefault(), void busy(form, () => save(form))) });
    return h(
      "tr",
      { class: "editing" },
      h("th", { scope: "row" }, c.handle, form),
      h("td", null, h("input", { form: formId, name: "display_name", value: c.display_name ?? "", "aria-label": "Display name", maxlength: String(limits.displayNameMax) })),
      h("td", null, h("input", { form: formId, name: "description", value: c.description ?? "", "aria-label": "Description", maxlength: String(limits.descriptionMax) })),
      h("td", null, h("input", { form: formId, name: "tags", value: c.tags.join(", "), "aria-label": "Tags" })),
      h("td", null, h("label", { class: "check" }, h("input", { form: formId, type: "checkbox", name: "is_active", checked: c.is_active }), "active")),
      h("td", null, `version ${c.version}`),
      h(
        "td",
        { class: "actions" },
        h("button", { type: "submit", form: formId }, "Save"),
        h("button", { type: "button", class: "link", onclick: () => ((editing = undefined), render()) }, "Cancel"),
      ),
    );
  }

  async function deactivate(c: Contact): Promise<void> {
    try {
      await ok(api.DELETE("/contacts/{handle}", { params: { path: { handle: c.handle } } }));
      ctx.announce(`Deactivated ${c.handle}`);
      await load();
    } catch (err) {
      error.textContent = describe(err);
    }
  }

  void load();
  const el = h(
    "section",
    { class: "page", "aria-labelledby": "contacts-heading" },
    h("h2", { id: "contacts-heading", tabindex: "-1" }, "Address book"),
    searchForm,
    status,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        null,
        h("caption", { class: "visually-hidden" }, "Contacts"),
        h("thead", null, h("tr", null, ["Handle", "Name", "Description", "Tags", "State", "Updated", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
        body,
      ),
    ),
    addForm,
  );
  return { el, title: "Address book" };
}
