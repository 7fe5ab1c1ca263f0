// Agent administration (admins only): create with the secret shown once,
// disable, promote, rotate the secret, revoke tokens.
import { api, describe, ok, type Agent } from "./api";
import { busy, checked, field, h, replace, time } from "./dom";
import { limits } from "./limits";
import { link } from "./router";
import type { Ctx, View } from "./view";

export function agentsView(ctx: Ctx): View {
  const status = h("p", { class: "status", role: "status" });
  const error = h("p", { class: "error", role: "alert" });
  const secretBox = h("div", { class: "secret-box", hidden: true });
  const body = h("tbody");
  let agents: Agent[] = [];
  // Actions that cannot be undone ask for a second click.
  let confirming: string | undefined;

  const form: HTMLFormElement = h(
    "form",
    {
      class: "stack",
      "aria-labelledby": "new-agent-heading",
      onsubmit: (e: Event) => {
        e.preventDefault();
        void busy(form, async () => {
          error.textContent = "";
          try {
            const r = await ok(
              api.POST("/admin/agents", {
                body: { handle: field(form, "handle").toLowerCase(), display_name: field(form, "display_name") || undefined, is_admin: checked(form, "is_admin") },
              }),
            );
            form.reset();
            showSecret(r.agent.handle, r.agent_secret, "created");
            await load();
          } catch (err) {
            error.textContent = describe(err);
          }
        });
      },
    },
    h("h3", { id: "new-agent-heading" }, "New agent"),
    h("label", null, "Handle", h("input", { name: "handle", required: true, autocomplete: "off", spellcheck: "false", "aria-describedby": "handle-hint" })),
    h("p", { id: "handle-hint", class: "hint" }, `${limits.handleMin}–${limits.handleMax} characters of a-z 0-9 . _ -`),
    h("label", null, "Display name", h("input", { name: "display_name", maxlength: String(limits.displayNameMax) })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "is_admin" }), "Admin"),
    error,
    h("button", { type: "submit" }, "Create agent"),
  );

  function showSecret(handle: string, secret: string, what: string): void {
    const input = h("input", { id: "new-secret", readonly: true, value: secret, class: "mono", spellcheck: "false", autocomplete: "off" });
    const copied = h("span", { role: "status", class: "hint" });
    replace(
      secretBox,
      h("h3", { id: "secret-heading" }, `Secret for ${handle}`),
      h("p", null, `The agent was ${what}. This is the only time its secret is shown: store it now.`),
      h("label", { for: "new-secret" }, "Secret"),
      h(
        "div",
        { class: "row" },
        input,
        h(
          "button",
          {
            type: "button",
            onclick: async () => {
              input.select();
              try {
                await navigator.clipboard.writeText(secret);
                copied.textContent = "Copied.";
              } catch {
                copied.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
              }
            },
          },
          "Copy",
        ),
        copied,
      ),
      h("button", { type: "button", class: "secondary", onclick: () => ((secretBox.hidden = true), replace(secretBox)) }, "Done, hide it"),
    );
    secretBox.hidden = false;
    input.focus();
    input.select();
  }

  async function load(): Promise<void> {
    status.textContent = "Loading agents…";
    try {
      const all: Agent[] = [];
      for (let offset = 0; offset < 10000; offset += limits.pageMax) {
        const r = await ok(api.GET("/admin/agents", { params: { query: { limit: limits.pageMax, offset } } }));
        all.push(...r.agents);
        if (!r.pagination.has_more) break;
      }
      agents = all;
      status.textContent = `${agents.length} registered agent${agents.length === 1 ? "" : "s"}`;
      render();
    } catch (err) {
      status.textContent = describe(err);
    }
  }

  async function act(label: string, work: () => Promise<unknown>): Promise<void> {
    error.textContent = "";
    confirming = undefined;
    try {
      await work();
      ctx.announce(label);
      await load();
    } catch (err) {
      error.textContent = describe(err);
    }
  }

  function confirmButton(key: string, label: string, confirmLabel: string, run: () => void): HTMLButtonElement {
    const waiting = confirming === key;
    return h(
      "button",
      {
        type: "button",
        class: waiting ? "danger" : "link",
        onclick: () => {
          if (confirming === key) run();
          else {
            confirming = key;
            render();
            (body.querySelector(`[data-key="${key}"]`) as HTMLElement | null)?.focus();
          }
        },
        "data-key": key,
      },
      waiting ? confirmLabel : label,
    );
  }

  function render(): void {
    const me = ctx.session.handle;
    replace(
      body,
      agents.map((a) => {
        const p = { params: { path: { handle: a.handle } } };
        return h(
          "tr",
          { class: a.disabled ? "inactive" : "" },
          h("th", { scope: "row" }, a.handle),
          h("td", null, a.display_name ?? ""),
          h("td", null, a.is_admin ? h("span", { class: "chip admin" }, "admin") : "agent"),
          h("td", null, a.disabled ? h("span", { class: "chip danger-chip" }, "disabled") : "enabled"),
          h("td", null, time(a.created_at)),
          h(
            "td",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                class: "link",
                disabled: a.handle === me,
                "aria-label": `${a.disabled ? "Enable" : "Disable"} ${a.handle}`,
                onclick: () => void act(`${a.disabled ? "Enabled" : "Disabled"} ${a.handle}`, () => ok(api.PATCH("/admin/agents/{handle}", { ...p, body: { disabled: !a.disabled } }))),
              },
              a.disabled ? "Enable" : "Disable",
            ),
            h(
              "button",
              {
                type: "button",
                class: "link",
                disabled: a.handle === me,
                "aria-label": `${a.is_admin ? "Demote" : "Promote"} ${a.handle}`,
                onclick: () => void act(`${a.is_admin ? "Demoted" : "Promoted"} ${a.handle}`, () => ok(api.PATCH("/admin/agents/{handle}", { ...p, body: { is_admin: !a.is_admin } }))),
              },
              a.is_admin ? "Demote" : "Promote",
            ),
            confirmButton(`rotate-${a.handle}`, "Rotate secret", `Confirm: new secret for ${a.handle}`, () =>
              void act(`Rotated the secret of ${a.handle}`, async () => {
                const r = await ok(api.POST("/admin/agents/{handle}/rotate-secret", p));
                showSecret(a.handle, r.agent_secret, "given a new secret; its old secret and tokens no longer work");
              }),
            ),
            confirmButton(`revoke-${a.handle}`, "Revoke tokens", `Confirm: end ${a.handle}'s tokens`, () =>
              void act(`Revoked the tokens of ${a.handle}`, () => ok(api.POST("/admin/agents/{handle}/revoke-tokens", p))),
            ),
            h("a", { href: link(["audit"], { actor: a.handle }), "aria-label": `Audit events by ${a.handle}` }, "Audit"),
          ),
        );
      }),
    );
  }

  void load();
  const el = h(
    "section",
    { class: "page", "aria-labelledby": "agents-heading" },
    h("h2", { id: "agents-heading", tabindex: "-1" }, "Agents"),
    secretBox,
    status,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        null,
        h("caption", { class: "visually-hidden" }, "Registered agents"),
        h("thead", null, h("tr", null, ["Handle", "Name", "Role", "State", "Created", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
        body,
      ),
    ),
    form,
  );
  return { el, title: "Agents" };
}
