// The signed-in agent. The token lives in sessionStorage: it survives a
// reload of this tab (deep links keep working) but no other tab or site
// sees it, and no cookie carries it, so no other site can send it.

export interface Session {
  handle: string;
  token: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  isAdmin: boolean;
}

const KEY = "agcom.console.session";

export function loadSession(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Session | null;
    if (s && typeof s.token === "string" && s.expiresAt > Date.now()) return s;
  } catch {
    // unreadable: sign in again
  }
  sessionStorage.removeItem(KEY);
  return null;
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}
