// A thin, typed AgCom client: openapi-fetch over the types openapi-typescript
// generates from the repository's openapi.yaml (src/schema.d.ts, regenerated
// by `npm run generate` before every typecheck and test run).
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
export type Schemas = components["schemas"];
export type ErrorEnvelope = Schemas["ErrorEnvelope"];
export type ErrorBody = Schemas["ErrorBody"];
/** Every error type the contract names, e.g. "VersionConflict". */
export type ErrorType = ErrorBody["type"];

export type AgcomClient = Client<paths, "application/json">;

/**
 * createAgcomClient returns a client for the API under baseUrl (for example
 * http://127.0.0.1:8000/api/v1). With a token, every request carries
 * `Authorization: Bearer <token>`.
 */
export function createAgcomClient(baseUrl: string, token?: string): AgcomClient {
  const client = createClient<paths>({ baseUrl });
  if (token !== undefined) {
    const auth: Middleware = {
      onRequest({ request }) {
        request.headers.set("Authorization", `Bearer ${token}`);
        return request;
      },
    };
    client.use(auth);
  }
  return client;
}

/**
 * login exchanges an agent's handle and secret for a bearer token and returns
 * a client that uses it.
 */
export async function login(
  baseUrl: string,
  agentHandle: string,
  agentSecret: string,
): Promise<{ client: AgcomClient; token: string; expiresIn: number }> {
  const { data, error, response } = await createAgcomClient(baseUrl).POST("/auth/token", {
    body: { agent_handle: agentHandle, agent_secret: agentSecret },
  });
  if (error !== undefined) {
    throw new AgcomError(response.status, error);
  }
  return { client: createAgcomClient(baseUrl, data.access_token), token: data.access_token, expiresIn: data.expires_in };
}

/** AgcomError carries a decoded error envelope. */
export class AgcomError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly requestId: string;
  readonly details: ErrorBody["details"];

  constructor(status: number, envelope: ErrorEnvelope) {
    super(`${status} ${envelope.error.type}: ${envelope.error.message} (request ${envelope.error.request_id})`);
    this.name = "AgcomError";
    this.status = status;
    this.type = envelope.error.type;
    this.requestId = envelope.error.request_id;
    this.details = envelope.error.details;
  }
}
