// The counts of GET /admin/stats over time. While an admin is signed in
// they are sampled every few seconds, kept for this tab (sessionStorage),
// and drawn as small SVG line charts, one per count.
import { api, describe, ok, type Stats } from "./api";
import { h, replace, svg, time } from "./dom";
import type { Ctx, View } from "./view";

interface Sample {
  at: string; // RFC 3339
  stats: Stats;
}

const KEY = "agcom.console.stats";
const MAX_SAMPLES = 360;
const SERIES: (keyof Stats)[] = ["threads", "messages", "agents", "contacts"];

let samples: Sample[] = load();
let timer: ReturnType<typeof setInterval> | undefined;
let everyMs = 10_000;
let listener: (() => void) | undefined;
let lastError = "";

function load(): Sample[] {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? "[]") as Sample[];
    return Array.isArray(s) ? s : [];
  } catch {
    return [];
  }
}

/** sample reads the counts once and keeps them. */
export async function sample(): Promise<void> {
  try {
    const stats = await ok(api.GET("/admin/stats"));
    samples.push({ at: new Date().toISOString(), stats });
    if (samples.length > MAX_SAMPLES) samples = samples.slice(-MAX_SAMPLES);
    sessionStorage.setItem(KEY, JSON.stringify(samples));
    lastError = "";
  } catch (err) {
    lastError = describe(err);
  }
  listener?.();
}

/** startSampling samples now and every everyMs until stopSampling. */
export function startSampling(): void {
  stopSampling();
  void sample();
  timer = setInterval(() => void sample(), everyMs);
}

export function stopSampling(): void {
  clearInterval(timer);
  timer = undefined;
}

/** forgetSamples drops the history, at sign-out. */
export function forgetSamples(): void {
  stopSampling();
  samples = [];
  sessionStorage.removeItem(KEY);
}

export function statsView(_ctx: Ctx): View {
  const charts = h("div", { class: "charts" });
  const status = h("p", { class: "status", role: "status" });
  const table = h("tbody");
  const every = h(
    "select",
    {
      id: "stats-every",
      onchange: () => {
        everyMs = Number(every.value);
        startSampling();
      },
    },
    [2000, 10_000, 30_000, 60_000].map((ms) => h("option", { value: String(ms), selected: ms === everyMs }, `${ms / 1000} s`)),
  );

  function render(): void {
    const last = samples[samples.length - 1];
    status.textContent = lastError || (last ? `${samples.length} sample${samples.length === 1 ? "" : "s"}, the last one ${new Date(last.at).toLocaleTimeString()}` : "No samples yet.");
    replace(charts, SERIES.map((k) => chart(k, samples)));
    replace(
      table,
      samples
        .slice(-20)
        .reverse()
        .map((s) => h("tr", null, h("th", { scope: "row" }, time(s.at, false)), SERIES.map((k) => h("td", null, String(s.stats[k]))))),
    );
  }

  listener = render;
  render();
  const el = h(
    "section",
    { class: "page", "aria-labelledby": "stats-heading" },
    h("h2", { id: "stats-heading", tabindex: "-1" }, "Stats"),
    h(
      "div",
      { class: "filters" },
      h("label", { for: "stats-every" }, "Sample every"),
      every,
      h("button", { type: "button", class: "secondary", onclick: () => void sample() }, "Sample now"),
    ),
    status,
    charts,
    h(
      "details",
      null,
      h("summary", null, "The last 20 samples as a table"),
      h(
        "div",
        { class: "table-wrap" },
        h("table", null, h("thead", null, h("tr", null, h("th", { scope: "col" }, "When"), SERIES.map((k) => h("th", { scope: "col" }, k)))), table),
      ),
    ),
  );
  return {
    el,
    title: "Stats",
    dispose() {
      listener = undefined;
    },
  };
}

const W = 320;
const H = 120;
const PAD = 6;

/** chart draws one count over time, scaled to its own range. */
function chart(key: keyof Stats, data: Sample[]): HTMLElement {
  const values = data.map((s) => s.stats[key]);
  const last = values[values.length - 1];
  const min = Math.min(...values, last ?? 0);
  const max = Math.max(...values, min + 1);
  const t0 = data.length ? new Date(data[0]!.at).getTime() : 0;
  const t1 = data.length ? new Date(data[data.length - 1]!.at).getTime() : 1;
  const x = (t: number) => PAD + ((t - t0) / Math.max(1, t1 - t0)) * (W - 2 * PAD);
  const y = (v: number) => H - PAD - ((v - min) / (max - min)) * (H - 2 * PAD);
  const points = data.map((s) => `${x(new Date(s.at).getTime()).toFixed(1)},${y(s.stats[key]).toFixed(1)}`).join(" ");
  const id = `chart-${key}`;
  const desc = data.length
    ? `${key} from ${values[0]} to ${last} over ${data.length} samples; lowest ${Math.min(...values)}, highest ${Math.max(...values)}.`
    : `No samples of ${key} yet.`;
  return h(
    "figure",
    { class: "chart" },
    h("figcaption", { id: `${id}-caption` }, h("span", null, key), h("strong", { class: "big" }, last === undefined ? "—" : String(last))),
    svg(
      "svg",
      { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-title ${id}-desc`, preserveAspectRatio: "none" },
      svg("title", { id: `${id}-title` }, `${key} over time`),
      svg("desc", { id: `${id}-desc` }, desc),
      svg("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: "axis" }),
      svg("text", { x: PAD, y: 14, class: "tick" }, String(max)),
      svg("text", { x: PAD, y: H - PAD - 4, class: "tick" }, String(min)),
      data.length > 1 ? svg("polyline", { points, class: `line line-${key}` }) : null,
      data.map((s) => svg("circle", { cx: x(new Date(s.at).getTime()).toFixed(1), cy: y(s.stats[key]).toFixed(1), r: data.length > 60 ? 0 : 2.5, class: `dot line-${key}` })),
    ),
  );
}
