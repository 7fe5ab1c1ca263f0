// Live updates from GET /events/stream. EventSource cannot send the bearer
// token, so the stream is read with fetch; after a dropped connection it
// reconnects with Last-Event-ID, the last cursor seen, and loses nothing.
import { BASE, bearer, notifyUnauthorized, type AgcomEvent } from "./api";

export type LiveState = "connecting" | "live" | "offline";

export interface LiveHandlers {
  event(e: AgcomEvent): void;
  state(s: LiveState): void;
  /** connected runs on every (re)connection: roles may have changed. */
  connected(): void;
  /** resync runs when the cursor expired: events were missed. */
  resync(): void;
}

export class Live {
  private cursor: string | undefined;
  private abort: AbortController | null = null;
  private retryMs = 2000;

  constructor(private readonly on: LiveHandlers) {}

  start(): void {
    this.stop();
    const abort = new AbortController();
    this.abort = abort;
    void this.run(abort.signal);
  }

  stop(): void {
    this.abort?.abort();
    this.abort = null;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const token = bearer();
      if (!token) return;
      this.on.state("connecting");
      try {
        const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "text/event-stream" };
        if (this.cursor) headers["Last-Event-ID"] = this.cursor;
        const res = await fetch(`${BASE}/events/stream`, { headers, signal, cache: "no-store" });
        if (res.status === 401) {
          notifyUnauthorized();
          return;
        }
        if (res.status === 410) {
          this.cursor = undefined;
          this.on.resync();
          continue;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        failures = 0;
        this.on.state("live");
        this.on.connected();
        await this.read(res.body, signal);
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        this.on.state("offline");
      }
      if (signal.aborted) return;
      // The server's advice after a clean end; backing off up to 30 s while
      // it cannot be reached.
      const wait = failures === 0 ? this.retryMs : Math.min(30_000, this.retryMs * 2 ** Math.min(failures, 4));
      await sleep(wait, signal);
    }
  }

  private async read(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    signal.addEventListener("abort", () => void reader.cancel().catch(() => {}), { once: true });
    let buf = "";
    let id: string | undefined;
    let data: string[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (data.length) this.dispatch(id, data.join("\n"));
          id = undefined;
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // keep-alive or a note that the stream ends
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        let val = colon < 0 ? "" : line.slice(colon + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (name === "id") id = val;
        else if (name === "data") data.push(val);
        else if (name === "retry" && /^\d+$/.test(val)) this.retryMs = Math.max(250, Number(val));
      }
    }
  }

  private dispatch(id: string | undefined, data: string): void {
    let e: AgcomEvent;
    try {
      e = JSON.parse(data) as AgcomEvent;
    } catch {
      return;
    }
    this.cursor = id ?? e.cursor ?? this.cursor;
    this.on.event(e);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    const t = setTimeout(res, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), res()), { once: true });
  });
}
