// Attachments: a picker that uploads files as they are chosen, for the
// forms that send messages, and a list with download buttons for the
// views that show them. Content is never rendered: downloads go through
// fetch with the bearer token (never in a URL) and leave as files.
import { ApiError, api, describe, ok, type Attachment, type Schemas } from "./api";
import { h, replace } from "./dom";
import { limits } from "./limits";

const units = ["KiB", "MiB", "GiB", "TiB"];

/** humanSize says how big n bytes are, in binary units. */
export function humanSize(n: number): string {
  if (n < 1024) return `${n} B`;
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${new Intl.NumberFormat(undefined, { maximumFractionDigits: v < 100 ? 1 : 0 }).format(v)} ${units[i]}`;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** uploadError says why file was not uploaded, with the limit a 413 names. */
export function uploadError(file: File, err: unknown): string {
  const what = `${file.name} (${humanSize(file.size)}) was not uploaded`;
  if (!(err instanceof ApiError) || err.status !== 413) return `${what}: ${describe(err)}`;
  const d = err.details ?? {};
  const id = err.requestId ? `, request ${err.requestId}` : "";
  const max = num(d["max_bytes"]);
  if (d["limit"] === "max_attachment_bytes" && max !== undefined) {
    return `${what}: a file may hold at most ${humanSize(max)} (${err.type}${id})`;
  }
  const quota = num(d["quota_bytes"]);
  const left = num(d["remaining_bytes"]);
  if (d["limit"] === "attachment_quota_bytes" && quota !== undefined && left !== undefined) {
    return `${what}: it would pass your attachment quota of ${humanSize(quota)}; ${humanSize(left)} left (${err.type}${id})`;
  }
  return `${what}: ${describe(err)}`;
}

async function upload(file: File): Promise<Attachment> {
  const form = new FormData();
  form.append("file", file, file.name);
  return ok(
    api.POST("/attachments", {
      // The form goes as it is: fetch writes the multipart body and its boundary.
      body: form as unknown as Schemas["AttachmentUpload"],
      bodySerializer: (b) => b as unknown as FormData,
    }),
  );
}

interface Pick {
  file: File;
  state: "uploading" | "ready" | "failed";
  attachment?: Attachment;
}

/** Picker is a form's file input with the uploads it started. */
export interface Picker {
  el: HTMLElement;
  /** The ids of the finished uploads, in the order they were picked. */
  ids(): string[];
  /** Whether an upload is still running. */
  pending(): boolean;
  /** Whether an upload failed and is still listed. */
  failed(): boolean;
  /** clear forgets every file, after a send. */
  clear(): void;
}

/**
 * picker makes a multiple file input (and drop zone) that uploads each file
 * when it is chosen. onChange runs whenever the list or a state changes;
 * onError gets a sentence for each upload that fails.
 */
export function picker(id: string, onChange: () => void, onError: (msg: string) => void): Picker {
  let picks: Pick[] = [];
  const list = h("ul", { class: "picks", "aria-label": "Picked files", hidden: true });
  const input = h("input", {
    id: `${id}-files`,
    type: "file",
    name: "files",
    multiple: true,
    "aria-describedby": `${id}-files-hint`,
    onchange: () => {
      add(Array.from(input.files ?? []));
      // The same file can be picked again after it was removed.
      input.value = "";
    },
  });

  function add(files: File[]): void {
    const room = limits.attachmentsMax - picks.filter((p) => p.state !== "failed").length;
    if (files.length > room) onError(`A message carries at most ${limits.attachmentsMax} files: ${files.slice(Math.max(room, 0)).map((f) => f.name).join(", ")} not added.`);
    for (const file of files.slice(0, Math.max(room, 0))) {
      const p: Pick = { file, state: "uploading" };
      picks.push(p);
      upload(file).then(
        (a) => {
          p.state = "ready";
          p.attachment = a;
        },
        (err) => {
          p.state = "failed";
          if (picks.includes(p)) onError(uploadError(file, err));
        },
      ).finally(render);
    }
    render();
  }

  function remove(p: Pick): void {
    picks = picks.filter((x) => x !== p);
    render();
    input.focus();
  }

  function render(): void {
    list.hidden = picks.length === 0;
    replace(
      list,
      picks.map((p) =>
        h(
          "li",
          { class: `pick ${p.state}` },
          h("span", { class: "name" }, p.file.name),
          h("span", { class: "meta" }, humanSize(p.file.size)),
          h("span", { class: "state" }, p.state === "uploading" ? "uploading…" : p.state === "ready" ? "ready" : "failed"),
          h("button", { type: "button", class: "link", "aria-label": `Remove ${p.file.name}`, onclick: () => remove(p) }, "Remove"),
        ),
      ),
    );
    onChange();
  }

  const el = h(
    "div",
    {
      class: "attach",
      ondragover: (e: DragEvent) => {
        if (!e.dataTransfer?.types.includes("Files")) return;
        e.preventDefault();
        el.classList.add("dropping");
      },
      ondragleave: () => el.classList.remove("dropping"),
      ondrop: (e: DragEvent) => {
        el.classList.remove("dropping");
        if (!e.dataTransfer?.files.length || input.disabled) return;
        e.preventDefault();
        add(Array.from(e.dataTransfer.files));
      },
    },
    h("label", { for: input.id }, "Attachments"),
    input,
    h("p", { id: `${id}-files-hint`, class: "hint" }, `Optional: up to ${limits.attachmentsMax} files, uploaded as you pick them; or drop them here.`),
    list,
  );

  return {
    el,
    ids: () => picks.flatMap((p) => (p.state === "ready" && p.attachment ? [p.attachment.attachment_id] : [])),
    pending: () => picks.some((p) => p.state === "uploading"),
    failed: () => picks.some((p) => p.state === "failed"),
    clear() {
      picks = [];
      render();
    },
  };
}

/** download fetches an attachment with the token and saves it as a file. */
export async function download(a: Attachment): Promise<void> {
  // openapi-fetch answers an empty body with no data; the size says so.
  const body =
    a.size === 0 ? new Blob([]) : await ok(api.GET("/attachments/{attachment_id}", { params: { path: { attachment_id: a.attachment_id } }, parseAs: "blob" }));
  // Typed as bytes, so that a browser ignoring `download` still saves
  // the file instead of rendering it in this origin.
  const url = URL.createObjectURL(new Blob([body], { type: "application/octet-stream" }));
  const link = h("a", { href: url, download: a.filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** attachmentList lists a message's attachments with download buttons. */
export function attachmentList(atts: Attachment[] | undefined, owner: string, onError: (msg: string) => void): HTMLElement | null {
  if (!atts?.length) return null;
  return h(
    "ul",
    { class: "attachments", "aria-label": `Attachments from ${owner}` },
    atts.map((a) =>
      h(
        "li",
        null,
        h("span", { class: "name" }, a.filename),
        h("span", { class: "meta" }, `${humanSize(a.size)} · ${a.content_type}`),
        h(
          "button",
          {
            type: "button",
            class: "link",
            "aria-label": `Download ${a.filename}`,
            onclick: (e: Event) => {
              const b = e.currentTarget as HTMLButtonElement;
              b.disabled = true;
              download(a)
                .catch((err) => onError(`${a.filename} was not downloaded: ${describe(err)}`))
                .finally(() => (b.disabled = false));
            },
          },
          "Download",
        ),
      ),
    ),
  );
}
