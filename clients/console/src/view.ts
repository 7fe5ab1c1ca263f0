import type { AgcomEvent } from "./api";
import type { Route } from "./router";
import type { Session } from "./session";

/** View is what a route renders into the main area. */
export interface View {
  el: HTMLElement;
  /** The document title's first part. */
  title: string;
  /** onEvent receives every live event while the view is shown. */
  onEvent?(e: AgcomEvent): void;
  /** update takes a new route of the same view without rebuilding it. */
  update?(route: Route): boolean;
  dispose?(): void;
}

export interface Ctx {
  session: Session;
  /** announce says something to screen readers and shows it briefly. */
  announce(msg: string): void;
}

/** debounce runs f once after calls stop for ms. */
export function debounce(f: () => void, ms = 150): () => void {
  let t: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(t);
    t = setTimeout(f, ms);
  };
}
