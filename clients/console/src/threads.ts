// Threads by activity with unread counts, and one thread with its
// messages, metadata, read state and a reply form. Admins see every
// thread; anyone can narrow the list by participant and tag.
import { api, describe, ok, type AgcomEvent, type Message, type Thread } from "./api";
import { attachmentList, picker } from "./attachments";
import { ago, busy, field, h, handles, replace, time } from "./dom";
import { limits } from "./limits";
import { link, type Route } from "./router";
import { debounce, type Ctx, type View } from "./view";

const PAGE = 50;

interface Filters {
  participant?: string;
  tag?: string;
  archived?: string; // "true" | "false" | undefined (all)
}

function filtersOf(q: URLSearchParams): Filters {
  return {
    participant: q.get("participant") || undefined,
    tag: q.get("tag") || undefined,
    archived: q.get("archived") || undefined,
  };
}

export function threadsView(ctx: Ctx, route: Route): View {
  let filters = filtersOf(route.query);
  let openId = route.parts[1];
  let targetMessage = route.parts[2];
  let threads: Thread[] = [];
  let hasMore = false;
  let total = 0;

  const listStatus = h("p", { class: "status", role: "status" });
  const list = h("ul", { class: "thread-list", "aria-label": "Threads" });
  const more = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => void loadList(true) }, "Load more threads");
  const detail = h("div", { class: "pane detail-pane" });
  const filterForm = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter threads", onsubmit: (e: Event) => applyFilters(e) },
    h("label", null, "Participant", h("input", { name: "participant", value: filters.participant ?? "", autocomplete: "off", spellcheck: "false" })),
    h("label", null, "Tag", h("input", { name: "tag", value: filters.tag ?? "", autocomplete: "off", spellcheck: "false" })),
    h(
      "label",
      null,
      "Show",
      h(
        "select",
        { name: "archived" },
        h("option", { value: "", selected: !filters.archived }, "All"),
        h("option", { value: "false", selected: filters.archived === "false" }, "Not archived"),
        h("option", { value: "true", selected: filters.archived === "true" }, "Archived"),
      ),
    ),
    h("button", { type: "submit" }, "Filter"),
  );
  const listPane = h(
    "section",
    { class: "pane list-pane", "aria-labelledby": "threads-heading" },
    h("h2", { id: "threads-heading", tabindex: "-1" }, ctx.session.isAdmin ? "All threads" : "Threads"),
    filterForm,
    listStatus,
    list,
    more,
  );
  const el = h("div", { class: "split" }, listPane, detail);

  function applyFilters(e: Event): void {
    e.preventDefault();
    const f = e.currentTarget as HTMLFormElement;
    location.hash = link(openId ? ["threads", openId] : ["threads"], {
      participant: field(f, "participant").toLowerCase(),
      tag: field(f, "tag").toLowerCase(),
      archived: field(f, "archived"),
    });
  }

  function threadHref(id: string, messageId?: string): string {
    return link(messageId ? ["threads", id, messageId] : ["threads", id], {
      participant: filters.participant,
      tag: filters.tag,
      archived: filters.archived,
    });
  }

  const archivedParam = () => (filters.archived === undefined ? undefined : filters.archived === "true");

  async function loadList(append = false): Promise<void> {
    listStatus.textContent = "Loading threads…";
    try {
      const page = await ok(
        api.GET("/threads", {
          params: {
            query: {
              limit: PAGE,
              offset: append ? threads.length : 0,
              archived: archivedParam(),
              participant: filters.participant,
              tag: filters.tag,
            },
          },
        }),
      );
      threads = append ? threads.concat(page.threads) : page.threads;
      hasMore = page.pagination.has_more;
      total = page.pagination.total;
      renderList();
    } catch (err) {
      listStatus.textContent = describe(err);
    }
  }

  function renderList(): void {
    const active = [filters.participant && `participant ${filters.participant}`, filters.tag && `tag ${filters.tag}`].filter(Boolean);
    listStatus.textContent = `${total} thread${total === 1 ? "" : "s"}` + (active.length ? ` with ${active.join(" and ")}` : "");
    replace(
      list,
      threads.map((t) =>
        h(
          "li",
          null,
          h(
            "a",
            {
              href: threadHref(t.thread_id),
              class: `thread-row${t.unread_count ? " unread" : ""}`,
              "aria-current": t.thread_id === openId ? "true" : null,
              "data-nav": "",
            },
            h("span", { class: "subject" }, t.subject),
            t.unread_count ? h("span", { class: "badge", "aria-label": `${t.unread_count} unread` }, String(t.unread_count)) : null,
            t.metadata["archived"] === "true" ? h("span", { class: "chip" }, "archived") : null,
            h("span", { class: "who" }, t.participant_handles.join(", ")),
            h("span", { class: "when" }, ago(t.last_activity_at)),
          ),
        ),
      ),
    );
    more.hidden = !hasMore;
  }

  // The open thread.
  let thread: Thread | undefined;
  let messages: Message[] = [];
  let readAt = new Map<string, string | null>();
  let replyTo: Message | undefined;
  const detailStatus = h("p", { class: "status", role: "status" });
  const messageList = h("ol", { class: "messages", "aria-label": "Messages" });
  const head = h("header", { class: "thread-head" });
  const replyForm = buildReplyForm();

  async function loadDetail(): Promise<void> {
    if (!openId) {
      el.classList.remove("has-detail");
      replace(detail, h("p", { class: "empty" }, "Choose a thread, or press j and k to move through them and Enter to open one."));
      return;
    }
    el.classList.add("has-detail");
    const id = openId;
    if (!detail.contains(messageList)) {
      replace(detail, h("p", null, h("a", { href: link(["threads"], { ...filters }), class: "back" }, "← All threads")), head, detailStatus, messageList, replyForm);
    }
    detailStatus.textContent = "Loading thread…";
    try {
      const [t, ms, inbox] = await Promise.all([
        ok(api.GET("/threads/{thread_id}", { params: { path: { thread_id: id } } })),
        allMessages(id),
        ok(api.GET("/inbox", { params: { query: { thread_id: id, limit: limits.pageMax } } })),
      ]);
      if (id !== openId) return;
      thread = t;
      messages = ms;
      readAt = new Map(inbox.messages.map((m) => [m.message_id, m.read_at]));
      renderDetail();
      document.title = `${t.subject} · AgCom console`;
      detailStatus.textContent = "";
    } catch (err) {
      replace(head);
      replace(messageList);
      detailStatus.textContent = describe(err);
    }
  }

  async function allMessages(id: string): Promise<Message[]> {
    const out: Message[] = [];
    for (let offset = 0; offset < 1000; offset += limits.pageMax) {
      const page = await ok(api.GET("/threads/{thread_id}/messages", { params: { path: { thread_id: id }, query: { limit: limits.pageMax, offset } } }));
      out.push(...page.messages);
      if (!page.pagination.has_more) break;
    }
    return out;
  }

  function renderDetail(): void {
    if (!thread) return;
    const t = thread;
    const archived = t.metadata["archived"] === "true";
    const metaKeys = Object.keys(t.metadata).sort();
    replace(
      head,
      h("h2", { id: "thread-title", tabindex: "-1" }, t.subject),
      h(
        "dl",
        { class: "facts" },
        h("dt", null, "Participants"),
        h("dd", null, t.participant_handles.join(", ")),
        h("dt", null, "Started"),
        h("dd", null, time(t.created_at, false)),
        h("dt", null, "Last activity"),
        h("dd", null, time(t.last_activity_at)),
        h("dt", null, "Unread for you"),
        h("dd", null, String(t.unread_count)),
      ),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "secondary", disabled: t.unread_count === 0, onclick: () => void markThreadRead() }, "Mark thread read"),
        h("button", { type: "button", class: "secondary", onclick: () => void setArchived(!archived) }, archived ? "Unarchive" : "Archive"),
        h("a", { href: threadHref(t.thread_id), class: "permalink" }, "Link to this thread"),
      ),
      h(
        "details",
        { class: "metadata" },
        h("summary", null, `Metadata (${metaKeys.length})`),
        metaKeys.length
          ? h(
              "dl",
              { class: "facts" },
              metaKeys.map((k) => [
                h("dt", null, k),
                h(
                  "dd",
                  null,
                  t.metadata[k] ?? "",
                  " ",
                  h("button", { type: "button", class: "link", "aria-label": `Remove metadata ${k}`, onclick: () => void putMetadata(k, null) }, "remove"),
                ),
              ]),
            )
          : h("p", null, "No metadata."),
        h(
          "form",
          {
            class: "inline",
            "aria-label": "Set metadata",
            onsubmit: (e: Event) => {
              e.preventDefault();
              const f = e.currentTarget as HTMLFormElement;
              void busy(f, () => putMetadata(field(f, "key"), field(f, "value")));
            },
          },
          h("label", null, "Key", h("input", { name: "key", required: true, maxlength: String(limits.metadataKeyMax) })),
          h("label", null, "Value", h("input", { name: "value", maxlength: String(limits.metadataValueMax) })),
          h("button", { type: "submit" }, "Set"),
        ),
      ),
    );
    replace(
      messageList,
      messages.map((m) => {
        const mine = readAt.has(m.message_id);
        const read = readAt.get(m.message_id);
        return h(
          "li",
          null,
          h(
            "article",
            {
              id: `m-${m.message_id}`,
              class: `message${m.message_id === targetMessage ? " target" : ""}${mine && !read ? " unread" : ""}`,
              tabindex: "-1",
              "aria-label": `Message from ${m.from_handle}`,
              "data-nav": "",
            },
            h(
              "header",
              null,
              h("strong", null, m.from_handle),
              " → ",
              m.to_handles.join(", "),
              " · ",
              time(m.created_at),
              mine && !read ? h("span", { class: "chip unread-chip" }, "unread") : null,
              m.tags.map((tag) => h("span", { class: "chip" }, tag)),
            ),
            h("div", { class: "body" }, m.body),
            attachmentList(m.attachments, m.from_handle, (msg) => (detailStatus.textContent = msg)),
            h(
              "footer",
              { class: "actions" },
              h("button", { type: "button", class: "link", onclick: () => startReply(m) }, "Reply to this message"),
              mine
                ? h("button", { type: "button", class: "link", onclick: () => void markMessage(m.message_id, !read) }, read ? "Mark unread" : "Mark read")
                : null,
              h("a", { href: threadHref(m.thread_id, m.message_id), class: "permalink", "aria-label": `Link to message from ${m.from_handle}` }, "Link"),
            ),
          ),
        );
      }),
    );
    renderReplyTarget();
  }

  async function markThreadRead(): Promise<void> {
    if (!thread) return;
    try {
      const r = await ok(api.POST("/threads/{thread_id}/read", { params: { path: { thread_id: thread.thread_id } } }));
      ctx.announce(`Marked ${r.marked} message${r.marked === 1 ? "" : "s"} read`);
      await Promise.all([loadDetail(), loadList()]);
    } catch (err) {
      detailStatus.textContent = describe(err);
    }
  }

  async function markMessage(id: string, read: boolean): Promise<void> {
    try {
      await ok(read ? api.POST("/messages/{message_id}/read", { params: { path: { message_id: id } } }) : api.POST("/messages/{message_id}/unread", { params: { path: { message_id: id } } }));
      await Promise.all([loadDetail(), loadList()]);
    } catch (err) {
      detailStatus.textContent = describe(err);
    }
  }

  async function setArchived(archive: boolean): Promise<void> {
    if (!thread) return;
    const p = { params: { path: { thread_id: thread.thread_id } } };
    try {
      await ok(archive ? api.POST("/threads/{thread_id}/archive", p) : api.POST("/threads/{thread_id}/unarchive", p));
      ctx.announce(archive ? "Thread archived" : "Thread unarchived");
      await Promise.all([loadDetail(), loadList()]);
    } catch (err) {
      detailStatus.textContent = describe(err);
    }
  }

  async function putMetadata(key: string, value: string | null): Promise<void> {
    if (!thread) return;
    try {
      await ok(api.PUT("/threads/{thread_id}/metadata", { params: { path: { thread_id: thread.thread_id } }, body: { key, value } }));
      ctx.announce(value === null ? `Removed ${key}` : `Set ${key}`);
      await loadDetail();
    } catch (err) {
      detailStatus.textContent = describe(err);
    }
  }

  function buildReplyForm(): HTMLFormElement {
    let key = crypto.randomUUID();
    const submit = h("button", { type: "submit" }, "Send reply");
    const error = h("p", { class: "error", role: "alert" });
    const files = picker(
      "reply",
      () => {
        key = crypto.randomUUID();
        // Nothing is sent before every picked file is uploaded.
        submit.disabled = files.pending();
      },
      (msg) => (error.textContent = msg),
    );
    const f: HTMLFormElement = h(
      "form",
      {
        class: "reply",
        "aria-labelledby": "reply-heading",
        oninput: () => (key = crypto.randomUUID()),
        onsubmit: (e: Event) => {
          e.preventDefault();
          error.textContent = "";
          void busy(f, async () => {
            if (!thread) return;
            if (files.pending() || files.failed()) {
              error.textContent = files.pending() ? "Wait for the uploads to finish." : "Remove the files that were not uploaded, or pick them again.";
              return;
            }
            const ids = files.ids();
            const body = { body: field(f, "body"), tags: handles(field(f, "tags")), attachment_ids: ids.length ? ids : undefined };
            const headers = { "Idempotency-Key": key };
            try {
              const m = replyTo
                ? await ok(api.POST("/messages/{message_id}/reply", { params: { path: { message_id: replyTo.message_id }, header: headers }, body }))
                : await ok(api.POST("/threads/{thread_id}/reply", { params: { path: { thread_id: thread.thread_id }, header: headers }, body }));
              f.reset();
              key = crypto.randomUUID();
              replyTo = undefined;
              ctx.announce(`Reply sent to ${m.to_handles.join(", ")}`);
              await loadDetail();
            } catch (err) {
              error.textContent = describe(err);
            }
          });
        },
      },
      h("h3", { id: "reply-heading" }, "Reply"),
      h("p", { class: "reply-target" }),
      h("label", null, "Message", h("textarea", { name: "body", required: true, rows: "4", maxlength: String(limits.bodyMax), "aria-keyshortcuts": "r" })),
      h("label", null, "Tags", h("input", { name: "tags", autocomplete: "off", spellcheck: "false", "aria-describedby": "reply-tags-hint" })),
      h("p", { id: "reply-tags-hint", class: "hint" }, "Optional, separated by commas."),
      files.el,
      error,
      submit,
    );
    // Leaving the thread forgets what was picked for it.
    f.addEventListener("reset", () => files.clear());
    return f;
  }

  function startReply(m: Message): void {
    replyTo = m;
    renderReplyTarget();
    replyForm.querySelector("textarea")?.focus();
  }

  function renderReplyTarget(): void {
    const p = replyForm.querySelector(".reply-target") as HTMLElement;
    if (replyTo) {
      const target = replyTo;
      replace(
        p,
        `Replying to ${target.from_handle}'s message of `,
        time(target.created_at),
        ". ",
        h("button", { type: "button", class: "link", onclick: () => ((replyTo = undefined), renderReplyTarget()) }, "Reply to the latest message instead"),
      );
    } else {
      replace(p, "Replying to the thread's latest message.");
    }
  }

  function focusTarget(): void {
    if (targetMessage) {
      const m = document.getElementById(`m-${targetMessage}`);
      if (m) {
        m.scrollIntoView({ block: "center" });
        m.focus();
        return;
      }
    }
    (document.getElementById(openId ? "thread-title" : "threads-heading") as HTMLElement | null)?.focus();
  }

  const refreshList = debounce(() => void loadList());
  const refreshDetail = debounce(() => void loadDetail());

  void Promise.all([loadList(), loadDetail()]).then(focusTarget);

  return {
    el,
    get title() {
      return thread && openId ? thread.subject : "Threads";
    },
    onEvent(e: AgcomEvent) {
      refreshList();
      if (e.thread_id === openId) refreshDetail();
    },
    update(r: Route) {
      if (r.parts[0] !== "threads") return false;
      const f = filtersOf(r.query);
      const filtersChanged = f.participant !== filters.participant || f.tag !== filters.tag || f.archived !== filters.archived;
      filters = f;
      const changed = r.parts[1] !== openId;
      openId = r.parts[1];
      targetMessage = r.parts[2];
      if (changed) {
        thread = undefined;
        replyTo = undefined;
        replyForm.reset();
      }
      void Promise.all([filtersChanged ? loadList() : (renderList(), undefined), loadDetail()]).then(focusTarget);
      return true;
    },
  };
}
