// A few lines of DOM building instead of a framework: every view renders
// its elements with h() and replaces them when its data changes.

export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined | ((ev: any) => void);
export type Attrs = Record<string, AttrValue>;

function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

function setAttrs(el: Element, attrs: Attrs | null | undefined): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "value" && "value" in el) (el as HTMLInputElement).value = String(v);
    else if (k === "checked" && el instanceof HTMLInputElement) el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

/** h makes an HTML element with attributes (on* are listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** svg makes an SVG element; styling comes from classes, never inline style. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** replace swaps el's children for children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** ago says how long ago an RFC 3339 instant was, briefly. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.round((new Date(iso).getTime() - now) / 1000);
  const a = Math.abs(s);
  if (a < 45) return relative.format(s, "second");
  if (a < 2700) return relative.format(Math.round(s / 60), "minute");
  if (a < 79200) return relative.format(Math.round(s / 3600), "hour");
  if (a < 2160000) return relative.format(Math.round(s / 86400), "day");
  return dateTime.format(new Date(iso));
}

/** time renders an instant as a <time> with the full date in its title. */
export function time(iso: string, rel = true): HTMLTimeElement {
  const full = dateTime.format(new Date(iso));
  return h("time", { datetime: iso, title: full }, rel ? ago(iso) : full);
}

/** handles splits "bob, carol  dave" into handles. */
export function handles(text: string): string[] {
  return text.split(/[\s,;]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
}

/** field reads a named control of a form as a trimmed string. */
export function field(form: HTMLFormElement, name: string): string {
  const el = form.elements.namedItem(name);
  return el && "value" in el ? String((el as { value: unknown }).value).trim() : "";
}

export function checked(form: HTMLFormElement, name: string): boolean {
  const el = form.elements.namedItem(name);
  return el instanceof HTMLInputElement && el.checked;
}

/** busy disables a form's controls while work runs, and re-enables them. */
export async function busy<T>(form: HTMLFormElement, work: () => Promise<T>): Promise<T> {
  const controls = Array.from(form.elements).filter((e): e is HTMLButtonElement | HTMLInputElement =>
    "disabled" in e && !(e as HTMLButtonElement).disabled);
  controls.forEach((c) => (c.disabled = true));
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    controls.forEach((c) => (c.disabled = false));
    form.removeAttribute("aria-busy");
  }
}
