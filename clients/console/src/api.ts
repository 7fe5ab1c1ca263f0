// The API client, generated from openapi.yaml (openapi-typescript types,
// openapi-fetch calls): the console uses the public contract and nothing else.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Thread = Schemas["Thread"];
export type Message = Schemas["Message"];
export type Contact = Schemas["Contact"];
export type Agent = Schemas["Agent"];
export type AuditEvent = Schemas["AuditEvent"];
export type AgcomEvent = Schemas["Event"];
export type Stats = Schemas["Stats"];
export type Attachment = Schemas["Attachment"];

export const BASE = "/api/v1";

let token: string | null = null;
let unauthorized: (() => void) | null = null;

/** setToken sets the bearer token every call sends (null: none). */
export function setToken(t: string | null): void {
  token = t;
}

/** onUnauthorized runs when a call made with a token is answered 401. */
export function onUnauthorized(f: () => void): void {
  unauthorized = f;
}

export function bearer(): string | null {
  return token;
}

export function notifyUnauthorized(): void {
  unauthorized?.();
}

export const api = createClient<paths>({ baseUrl: BASE });
api.use({
  onRequest({ request }) {
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && request.headers.has("Authorization")) notifyUnauthorized();
    return response;
  },
});

/** ApiError is an answer in the error envelope, or a failed request. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
    readonly requestId?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** ok returns the data of a call, or throws its error envelope as ApiError. */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await call;
  } catch (err) {
    throw new ApiError(`The server cannot be reached (${String(err)})`, 0, "NetworkError");
  }
  if (r.response.ok && r.data !== undefined) return r.data;
  const env = (r.error as { error?: Schemas["ErrorBody"] } | undefined)?.error;
  if (env) throw new ApiError(env.message, r.response.status, env.type, env.request_id, env.details);
  throw new ApiError(`HTTP ${r.response.status}`, r.response.status, "HTTPError");
}

/** describe turns any error into a sentence for the page. */
export function describe(err: unknown): string {
  if (err instanceof ApiError) {
    const id = err.requestId ? ` (request ${err.requestId})` : "";
    return `${err.type}: ${err.message}${id}`;
  }
  return String(err);
}
