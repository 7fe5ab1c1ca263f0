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
 * Credential is what authenticates a client: a bearer token (AgCom's own
 * JWT, an API key `agk_…`, or an access token of the identity provider the
 * server trusts), or a function that returns the current one and is called
 * before every request, so that a provider's token can be renewed.
 */
export type Credential = string | (() => string | Promise<string>);

/**
 * createAgcomClient returns a client for the API under baseUrl (for example
 * http://127.0.0.1:8000/api/v1). With a credential, every request carries
 * `Authorization: Bearer <token>`.
 */
export function createAgcomClient(baseUrl: string, credential?: Credential): AgcomClient {
  const client = createClient<paths>({ baseUrl });
  if (credential !== undefined) {
    const auth: Middleware = {
      async onRequest({ request }) {
        const token = typeof credential === "string" ? credential : await credential();
        request.headers.set("Authorization", `Bearer ${token}`);
        return request;
      },
    };
    client.use(auth);
  }
  return client;
}

/**
 * withApiKey returns a client that sends an API key (`agk_…`, from
 * `POST /agents/me/api-keys`) in the `X-API-Key` header; a key given to
 * createAgcomClient goes as a bearer token instead, to the same effect.
 */
export function withApiKey(baseUrl: string, apiKey: string): AgcomClient {
  const client = createClient<paths>({ baseUrl });
  client.use({
    onRequest({ request }) {
      request.headers.set("X-API-Key", apiKey);
      return request;
    },
  });
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
