// Hash routes, so that every view, thread and message has a link that
// survives a reload and needs nothing from the server but index.html.

export interface Route {
  /** The path's segments: ["threads", id, messageId]. */
  parts: string[];
  query: URLSearchParams;
}

export function currentRoute(): Route {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path = "", q = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts: parts.length ? parts : ["threads"], query: new URLSearchParams(q) };
}

/** link builds a hash link from path segments and query values. */
export function link(parts: string[], query?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
  const qs = q.toString();
  return `#/${parts.map(encodeURIComponent).join("/")}${qs ? `?${qs}` : ""}`;
}

export function go(href: string): void {
  if (location.hash === href) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = href;
}
