// The TypeScript client (openapi-typescript types + openapi-fetch) against a
// real agcomd: log in, send, reply, list threads, search, contacts with a
// version conflict, and the typed error envelope.
//
// Two kinds of check live here. At run time, each call's status and body.
// At compile time (`tsc --noEmit`, run before this file), the request bodies,
// the fields read from responses and the error types below must match the
// types generated from openapi.yaml: a contract change that breaks a
// third-party client breaks this build.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  AgcomError,
  createAgcomClient,
  login,
  withApiKey,
  type AgcomClient,
  type ErrorBody,
  type ErrorEnvelope,
  type ErrorType,
  type Schemas,
} from "../src/client.js";
import { startAgcomd, type Agcomd } from "./agcomd.js";

// ---- compile-time checks against the generated types ----------------------
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<_T extends true>(): void {}

// The status of every error type the contract names. A Record over ErrorType
// is exhaustive: the contract adding, renaming or removing an error type fails
// the typecheck here, and the run-time checks below compare real responses
// with this table.
const statusOf: Record<ErrorType, number> = {
  ValidationError: 400,
  AuthenticationError: 401,
  PermissionDenied: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  VersionConflict: 409,
  IdempotencyKeyReused: 409,
  CursorExpired: 410,
  RequestTimeout: 408,
  PayloadTooLarge: 413,
  RangeNotSatisfiable: 416,
  RateLimitExceeded: 429,
  InternalError: 500,
  DatabaseBusy: 503,
  ServiceUnavailable: 503,
};
assertType<Equal<ErrorBody["request_id"], string>>();
assertType<Equal<ErrorBody["message"], string>>();
assertType<Equal<ErrorEnvelope["error"], ErrorBody>>();
assertType<Equal<Schemas["TokenResponse"]["token_type"], "bearer">>();
assertType<Equal<Schemas["Message"]["in_reply_to"], string | null>>();
assertType<Equal<Schemas["Health"]["status"], "healthy">>();
assertType<Equal<Schemas["Message"]["attachments"], Schemas["Attachment"][] | undefined>>();

/** expectError asserts an openapi-fetch result is the given typed error. */
function expectError(
  res: { error?: ErrorEnvelope; response: Response },
  status: number,
  type: ErrorType,
): ErrorBody {
  assert.ok(res.error, `expected ${status} ${type}, got ${res.response.status}`);
  const body: ErrorBody = res.error.error;
  assert.equal(res.response.status, status);
  assert.equal(body.type, type);
  assert.equal(statusOf[body.type], res.response.status, "status matches the contract's table");
  assert.equal(typeof body.message, "string");
  assert.ok(body.message.length > 0);
  assert.match(body.request_id, /^[0-9A-Za-z-]{8,}$/);
  assert.equal(res.response.headers.get("X-Request-ID"), body.request_id, "X-Request-ID header is error.request_id");
  return body;
}

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const ADMIN_HANDLE = "root";
const ADMIN_SECRET = randomBytes(24).toString("base64url");

describe("TypeScript client against a real agcomd", () => {
  let server: Agcomd;
  let admin: AgcomClient;
  let alice: AgcomClient;
  let bob: AgcomClient;
  let carol: AgcomClient;
  let firstMessage: Schemas["Message"];
  let bobReply: Schemas["Message"];
  const word = `zebra${randomBytes(4).toString("hex")}`;

  before(async () => {
    server = await startAgcomd({ ADMIN_HANDLE, ADMIN_SECRET });
  });
  after(async () => {
    await server?.stop();
  });

  test("health needs no token", async () => {
    const { data, response } = await createAgcomClient(server.baseUrl).GET("/health");
    assert.equal(response.status, 200);
    assert.equal(data?.status, "healthy");
  });

  test("token: the bootstrap admin logs in; a wrong secret is a typed 401", async () => {
    const res = await createAgcomClient(server.baseUrl).POST("/auth/token", {
      body: { agent_handle: ADMIN_HANDLE, agent_secret: ADMIN_SECRET },
    });
    assert.equal(res.response.status, 200);
    assert.ok(res.data);
    assert.equal(res.data.token_type, "bearer");
    assert.ok(res.data.expires_in > 0);
    assert.equal(res.data.access_token.split(".").length, 3, "a JWT");
    admin = createAgcomClient(server.baseUrl, res.data.access_token);

    const bad = await createAgcomClient(server.baseUrl).POST("/auth/token", {
      body: { agent_handle: ADMIN_HANDLE, agent_secret: "not-the-secret" },
    });
    expectError(bad, 401, "AuthenticationError");
    await assert.rejects(login(server.baseUrl, "nobody", "x"), (e: unknown) => {
      assert.ok(e instanceof AgcomError);
      assert.equal(e.status, 401);
      assert.equal(e.type, "AuthenticationError");
      return true;
    });
  });

  test("token: the admin creates agents, and each logs in with its secret", async () => {
    const clients: Record<string, AgcomClient> = {};
    for (const handle of ["alice", "bob", "carol"]) {
      const created = await admin.POST("/admin/agents", {
        body: { handle, display_name: handle[0]!.toUpperCase() + handle.slice(1) },
      });
      assert.equal(created.response.status, 201);
      assert.ok(created.data);
      assert.equal(created.data.agent.handle, handle);
      assert.equal(created.data.agent.is_admin, false);
      assert.equal(created.data.agent.disabled, false);
      assert.ok(created.data.agent_secret.length >= 16);
      const session = await login(server.baseUrl, handle, created.data.agent_secret);
      assert.ok(session.expiresIn > 0);
      clients[handle] = session.client;
    }
    alice = clients.alice!;
    bob = clients.bob!;
    carol = clients.carol!;

    // An ordinary agent is no admin: a typed 403.
    const denied = await alice.POST("/admin/agents", { body: { handle: "mallory" } });
    expectError(denied, 403, "PermissionDenied");
    // The same handle twice is a typed 409 Conflict.
    const dup = await admin.POST("/admin/agents", { body: { handle: "alice" } });
    expectError(dup, 409, "Conflict");
  });

  test("send: a message opens a thread", async () => {
    const res = await alice.POST("/messages", {
      body: { to_handles: ["bob"], subject: `Hello ${word}`, body: "Can we meet tomorrow?", tags: ["meeting", "urgent"] },
    });
    assert.equal(res.response.status, 201);
    assert.ok(res.data);
    firstMessage = res.data;
    assert.match(firstMessage.message_id, ULID_RE);
    assert.match(firstMessage.thread_id, ULID_RE);
    assert.equal(firstMessage.from_handle, "alice");
    assert.deepEqual(firstMessage.to_handles, ["bob"]);
    assert.equal(firstMessage.in_reply_to, null);
    assert.deepEqual(firstMessage.tags, ["meeting", "urgent"]);
    assert.ok(!Number.isNaN(Date.parse(firstMessage.created_at)));
  });

  test("reply: to a message, and to a thread", async () => {
    const res = await bob.POST("/messages/{message_id}/reply", {
      params: { path: { message_id: firstMessage.message_id } },
      body: { body: "Yes, 2pm works." },
    });
    assert.equal(res.response.status, 201);
    assert.ok(res.data);
    bobReply = res.data;
    assert.equal(bobReply.thread_id, firstMessage.thread_id);
    assert.equal(bobReply.in_reply_to, firstMessage.message_id);
    assert.equal(bobReply.from_handle, "bob");
    assert.deepEqual(bobReply.to_handles, ["alice"], "a reply goes to the original sender");
    assert.equal(bobReply.subject, firstMessage.subject);

    const again = await alice.POST("/threads/{thread_id}/reply", {
      params: { path: { thread_id: firstMessage.thread_id } },
      body: { body: "See you then.", tags: ["meeting"] },
    });
    assert.equal(again.response.status, 201);
    assert.equal(again.data?.in_reply_to, bobReply.message_id, "replies to the thread's latest message");
    assert.deepEqual(again.data?.to_handles, ["bob"]);

    // Someone who cannot see the thread cannot reply in it: 404, not 403.
    const hidden = await carol.POST("/messages/{message_id}/reply", {
      params: { path: { message_id: firstMessage.message_id } },
      body: { body: "let me in" },
    });
    expectError(hidden, 404, "NotFound");
  });

  test("thread list: newest activity first, with the thread's messages oldest first", async () => {
    // A second, newer thread for bob.
    const newer = await alice.POST("/messages", { body: { to_handles: ["bob"], subject: "Second topic", body: "Later." } });
    assert.equal(newer.response.status, 201);

    const list = await bob.GET("/threads", { params: { query: { limit: 10 } } });
    assert.equal(list.response.status, 200);
    assert.ok(list.data);
    const ids = list.data.threads.map((t) => t.thread_id);
    assert.deepEqual(ids, [newer.data!.thread_id, firstMessage.thread_id]);
    assert.deepEqual(list.data.pagination, { offset: 0, limit: 10, total: 2, has_more: false });
    const thread = list.data.threads[1]!;
    assert.deepEqual(thread.participant_handles, ["alice", "bob"]);
    assert.equal(thread.subject, firstMessage.subject);
    assert.ok(Date.parse(thread.last_activity_at) >= Date.parse(thread.created_at));

    const msgs = await bob.GET("/threads/{thread_id}/messages", {
      params: { path: { thread_id: firstMessage.thread_id } },
    });
    assert.equal(msgs.response.status, 200);
    assert.deepEqual(
      msgs.data?.messages.map((m) => m.from_handle),
      ["alice", "bob", "alice"],
    );

    // carol takes part in nothing.
    const none = await carol.GET("/threads");
    assert.equal(none.data?.pagination.total, 0);
  });

  test("search: case-insensitive, only what the caller can see", async () => {
    const found = await bob.GET("/messages/search", { params: { query: { query: word.toUpperCase() } } });
    assert.equal(found.response.status, 200);
    assert.ok(found.data);
    assert.equal(found.data.query, word.toUpperCase());
    assert.equal(found.data.count, found.data.messages.length);
    assert.ok(found.data.count >= 1);
    assert.ok(found.data.messages.every((m) => m.thread_id === firstMessage.thread_id));

    const bodyOnly = await alice.GET("/messages/search", {
      params: { query: { query: "2pm", in_subject: false, from_handle: "bob" } },
    });
    assert.deepEqual(bodyOnly.data?.messages.map((m) => m.message_id), [bobReply.message_id]);

    const outsider = await carol.GET("/messages/search", { params: { query: { query: word } } });
    assert.equal(outsider.response.status, 200);
    assert.equal(outsider.data?.count, 0);
  });

  test("contacts: create, update, and a stale expected_version is a typed 409 VersionConflict", async () => {
    const handle = `dave-${randomBytes(3).toString("hex")}`;
    const created = await alice.POST("/contacts", {
      body: { handle, display_name: "Dave", description: "Backend developer", tags: ["backend"] },
    });
    assert.equal(created.response.status, 201);
    assert.ok(created.data);
    assert.equal(created.data.version, 1);
    assert.equal(created.data.is_active, true);
    assert.equal(created.data.updated_by, "alice");

    const updated = await bob.PUT("/contacts/{handle}", {
      params: { path: { handle } },
      body: { display_name: "Dave Jones", description: "Senior backend developer", tags: ["backend", "senior"], expected_version: 1 },
    });
    assert.equal(updated.response.status, 200);
    assert.equal(updated.data?.version, 2);
    assert.equal(updated.data?.updated_by, "bob");

    // alice still holds version 1.
    const stale = await alice.PUT("/contacts/{handle}", {
      params: { path: { handle } },
      body: { display_name: "Dave J.", expected_version: 1 },
    });
    const err = expectError(stale, 409, "VersionConflict");
    assert.match(err.message, /version/i);

    const current = await alice.GET("/contacts/{handle}", { params: { path: { handle } } });
    assert.equal(current.data?.version, 2);
    assert.equal(current.data?.display_name, "Dave Jones", "the stale write changed nothing");

    const search = await carol.GET("/contacts/search", { params: { query: { query: "SENIOR", tags: ["senior"] } } });
    assert.deepEqual(search.data?.contacts.map((c) => c.handle), [handle]);
  });

  test("API keys: created once, used as bearer and X-API-Key, listed without secret, revoked", async () => {
    const created = await alice.POST("/agents/me/api-keys", { body: { name: "ts client" } });
    assert.equal(created.response.status, 201);
    const key = created.data!.key;
    assert.match(key, /^agk_/);
    assertType<Equal<Schemas["ApiKey"]["expires_at"], string | null>>();

    for (const client of [createAgcomClient(server.baseUrl, key), withApiKey(server.baseUrl, key)]) {
      const list = await client.GET("/agents/me/api-keys");
      assert.equal(list.response.status, 200);
      assert.deepEqual(list.data!.api_keys.map((k) => k.key_id), [created.data!.api_key.key_id]);
      assert.ok(!JSON.stringify(list.data).includes(key), "the list never shows the key");
    }
    // A credential function is asked before every request.
    let asked = 0;
    const renewing = createAgcomClient(server.baseUrl, async () => {
      asked++;
      return key;
    });
    assert.equal((await renewing.GET("/threads")).response.status, 200);
    assert.equal((await renewing.GET("/threads")).response.status, 200);
    assert.equal(asked, 2);

    const revoked = await alice.DELETE("/agents/me/api-keys/{key_id}", {
      params: { path: { key_id: created.data!.api_key.key_id } },
    });
    assert.equal(revoked.response.status, 204);
    expectError(await withApiKey(server.baseUrl, key).GET("/threads"), 401, "AuthenticationError");
  });

  test("typed error envelope: NotFound, ValidationError and AuthenticationError", async () => {
    const missing = await alice.GET("/messages/{message_id}", {
      params: { path: { message_id: "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K" } },
    });
    // Compile-time: the error is the contract's envelope, its type the enum.
    assertType<Equal<NonNullable<typeof missing.error>, ErrorEnvelope>>();
    const nf = expectError(missing, 404, "NotFound");
    const t: ErrorType = nf.type;
    assert.ok(t in statusOf);

    // A body the types would refuse, sent anyway (as a careless client
    // might): the server answers with the same typed envelope.
    const invalid = await alice.POST("/messages", {
      body: { to_handles: ["bob"], subject: "   ", body: "x" } satisfies Schemas["SendMessageRequest"],
    });
    const ve = expectError(invalid, 400, "ValidationError");
    assert.equal(ve.details?.field, "subject");

    const anonymous = await createAgcomClient(server.baseUrl).GET("/threads");
    expectError(anonymous, 401, "AuthenticationError");

    const forged = await createAgcomClient(server.baseUrl, "not.a.jwt").GET("/threads");
    const ae = expectError(forged, 401, "AuthenticationError");
    assert.throws(() => {
      throw new AgcomError(forged.response.status, forged.error!);
    }, (e: unknown) => e instanceof AgcomError && e.requestId === ae.request_id && e.type === "AuthenticationError");
  });

  // Last: it opens a thread, which the lists above do not expect.
  test("attachments: upload, attach, download with a range; 404 to an outsider", async () => {
    const bytes = new Uint8Array(4096).map((_, i) => i % 251);
    const form = new FormData();
    form.append("file", new Blob([bytes], { type: "application/x-test" }), "data.bin");
    const up = await alice.POST("/attachments", {
      // The form goes as it is: fetch writes the multipart body and its boundary.
      body: form as unknown as Schemas["AttachmentUpload"],
      bodySerializer: (b) => b as unknown as FormData,
    });
    assert.equal(up.response.status, 201);
    assert.ok(up.data);
    const attachment: Schemas["Attachment"] = up.data;
    assert.match(attachment.attachment_id, ULID_RE);
    assert.equal(attachment.filename, "data.bin");
    assert.equal(attachment.content_type, "application/x-test");
    assert.equal(attachment.size, bytes.length);
    const { createHash } = await import("node:crypto");
    assert.equal(attachment.sha256, createHash("sha256").update(bytes).digest("hex"));

    const sent = await alice.POST("/messages", {
      body: { to_handles: ["bob"], subject: "Data", body: "attached", attachment_ids: [attachment.attachment_id] },
    });
    assert.equal(sent.response.status, 201);
    assert.deepEqual(sent.data?.attachments, [attachment]);

    const got = await bob.GET("/attachments/{attachment_id}", {
      params: { path: { attachment_id: attachment.attachment_id } },
      parseAs: "arrayBuffer",
    });
    assert.equal(got.response.status, 200);
    assert.ok(got.data instanceof ArrayBuffer);
    assert.deepEqual(new Uint8Array(got.data), bytes);
    assert.equal(got.response.headers.get("ETag"), `"${attachment.sha256}"`);

    const part = await bob.GET("/attachments/{attachment_id}", {
      params: { path: { attachment_id: attachment.attachment_id }, header: { Range: "bytes=10-19" } },
      parseAs: "arrayBuffer",
    });
    assert.equal(part.response.status, 206);
    assert.ok(part.data instanceof ArrayBuffer);
    assert.deepEqual(new Uint8Array(part.data), bytes.slice(10, 20));

    const hidden = await carol.GET("/attachments/{attachment_id}", {
      params: { path: { attachment_id: attachment.attachment_id } },
    });
    expectError(hidden, 404, "NotFound");
  });
});
