// The official TypeScript MCP SDK (@modelcontextprotocol/sdk), a third-party
// MCP client, against a real agcomd's /mcp: it connects with a bearer token,
// lists the tools, alice sends to bob with send_message, bob sees it with
// list_inbox and wait_for_events (and is told through his inbox
// subscription), carol reads nothing of that thread through any tool, and
// no token is 401.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResourceUpdatedNotificationSchema, type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";
import { createAgcomClient, login, type Schemas } from "../src/client.js";
import { startAgcomd, type Agcomd } from "./agcomd.js";

const ADMIN_HANDLE = "root";
const ADMIN_SECRET = randomBytes(24).toString("base64url");

/** connect opens an MCP session at /mcp as the holder of token. */
async function connect(server: Agcomd, token: string, onInboxUpdated?: () => void): Promise<Client> {
  const client = new Client({ name: "agcom-ts-test", version: "1.0.0" });
  if (onInboxUpdated) {
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      if (n.params.uri === "agcom://inbox") onInboxUpdated();
    });
  }
  const transport = new StreamableHTTPClientTransport(new URL(`${server.origin}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

async function allTools(client: Client): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

/** call calls a tool and returns its result as the SDK typed it. */
async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** ok calls a tool that must succeed and returns its structured content. */
async function ok<T>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const res = await call(client, name, args);
  assert.ok(!res.isError, `${name}: ${JSON.stringify(res.content)}`);
  assert.ok(res.structuredContent, `${name} has structured content`);
  const text = res.content.find((c) => c.type === "text");
  assert.ok(text && text.type === "text");
  assert.deepEqual(JSON.parse(text.text), res.structuredContent, "the text is the same JSON");
  return res.structuredContent as T;
}

/** errorType is a tool error's envelope type. */
function errorType(res: CallToolResult): string | undefined {
  if (!res.isError) return undefined;
  const env = res.structuredContent as { error?: { type?: string } } | undefined;
  return env?.error?.type;
}

describe("the TypeScript MCP SDK against a real agcomd", () => {
  let server: Agcomd;
  const tokens: Record<string, string> = {};
  let alice: Client;
  let bob: Client;
  let carol: Client;
  let sent: Schemas["Message"];
  let bobCursor: string;
  let bobNotified = 0;
  const secret = `rendezvous-${randomBytes(4).toString("hex")}`;

  before(async () => {
    server = await startAgcomd({ ADMIN_HANDLE, ADMIN_SECRET });
    const root = await login(server.baseUrl, ADMIN_HANDLE, ADMIN_SECRET);
    tokens.root = root.token;
    for (const handle of ["alice", "bob", "carol"]) {
      const created = await root.client.POST("/admin/agents", { body: { handle } });
      assert.ok(created.data, `create ${handle}`);
      tokens[handle] = (await login(server.baseUrl, handle, created.data.agent_secret)).token;
    }
    alice = await connect(server, tokens.alice!);
    bob = await connect(server, tokens.bob!, () => bobNotified++);
    carol = await connect(server, tokens.carol!);
  });
  after(async () => {
    for (const c of [alice, bob, carol]) await c?.close();
    await server?.stop();
  });

  test("no token, or a bad one, is 401 with WWW-Authenticate: Bearer", async () => {
    for (const authorization of [undefined, "Bearer not-a-token"]) {
      const headers: Record<string, string> = {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      };
      if (authorization) headers.Authorization = authorization;
      const res = await fetch(`${server.origin}/mcp`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fetch", version: "1" } },
        }),
      });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("WWW-Authenticate"), "Bearer");
      const body = (await res.json()) as { error: { type: string; request_id: string } };
      assert.equal(body.error.type, "AuthenticationError");
      assert.equal(body.error.request_id, res.headers.get("X-Request-ID"));
    }
    await assert.rejects(connect(server, ""), "the SDK cannot connect without a token");
  });

  test("tools: every agent operation of openapi.yaml, admin ones to admins only", async () => {
    const names = new Set((await allTools(alice)).map((t) => t.name));
    for (const name of ["send_message", "list_inbox", "reply_to_message", "list_threads", "wait_for_events"]) {
      assert.ok(names.has(name), `alice has ${name}`);
    }
    for (const name of ["create_agent", "get_stats", "issue_token", "get_health", "stream_events"]) {
      assert.ok(!names.has(name), `alice has no ${name}`);
    }
    const root = await connect(server, tokens.root!);
    const adminNames = new Set((await allTools(root)).map((t) => t.name));
    assert.ok(adminNames.has("create_agent") && adminNames.has("get_stats"), "an admin has the admin tools");
    await root.close();

    const send = (await allTools(alice)).find((t) => t.name === "send_message");
    assert.ok(send);
    assert.equal(send.inputSchema.type, "object");
    assert.deepEqual([...(send.inputSchema.required ?? [])].sort(), ["body", "subject", "to_handles"]);
    assert.ok(send.inputSchema.properties?.idempotency_key, "the Idempotency-Key header is an argument");
  });

  test("alice sends to bob with send_message; bob sees it with list_inbox and wait_for_events", async () => {
    const head = await ok<Schemas["EventPage"]>(bob, "wait_for_events", { wait: 0 });
    bobCursor = head.next_cursor;
    await bob.subscribeResource({ uri: "agcom://inbox" });

    sent = await ok<Schemas["Message"]>(alice, "send_message", {
      to_handles: ["bob"],
      subject: `Meet ${secret}`,
      body: `The ${secret} is at noon.`,
    });
    assert.equal(sent.from_handle, "alice");
    assert.deepEqual(sent.to_handles, ["bob"]);

    const inbox = await ok<Schemas["InboxPage"]>(bob, "list_inbox");
    assert.equal(inbox.messages.length, 1);
    assert.equal(inbox.messages[0]!.message_id, sent.message_id);
    assert.equal(inbox.messages[0]!.read_at, null);

    const events = await ok<Schemas["EventPage"]>(bob, "wait_for_events", { after: bobCursor, wait: 10 });
    const created = events.events.find((e) => e.type === "message.created");
    assert.ok(created, `a message.created event: ${JSON.stringify(events)}`);
    assert.equal(created.thread_id, sent.thread_id);
    assert.notEqual(events.next_cursor, bobCursor);

    const resource = await bob.readResource({ uri: "agcom://inbox" });
    const first = resource.contents[0];
    assert.ok(first && "text" in first && first.text.includes(sent.message_id), "the inbox resource has the message");

    for (let i = 0; i < 100 && bobNotified === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(bobNotified > 0, "bob's inbox subscription told him");
  });

  test("carol reads nothing of alice and bob's thread through any tool", async () => {
    const fill: Record<string, unknown> = {
      thread_id: sent.thread_id,
      message_id: sent.message_id,
      query: "Meet", // matches the subject, and is no secret itself
      key: "status",
      value: "seen",
      body: "carol was here",
    };
    const tried: string[] = [];
    for (const tool of await allTools(carol)) {
      const props = Object.keys(tool.inputSchema.properties ?? {});
      const required = tool.inputSchema.required ?? [];
      let args: Record<string, unknown> = Object.fromEntries(props.filter((p) => p in fill).map((p) => [p, fill[p]]));
      if (tool.name === "wait_for_events" || tool.name === "list_events") args = { after: "0", wait: 0 };
      if (required.some((r) => !(r in args))) continue; // a create, or an operation on something else
      tried.push(tool.name);
      const res = await call(carol, tool.name, args);
      const seen = JSON.stringify(res.content) + JSON.stringify(res.structuredContent ?? {});
      assert.ok(!seen.includes(secret), `carol's ${tool.name} shows the thread: ${seen}`);
      if (required.includes("thread_id") || required.includes("message_id")) {
        assert.equal(errorType(res), "NotFound", `carol's ${tool.name}: ${seen}`);
      }
    }
    for (const name of ["get_thread", "list_thread_messages", "get_message", "reply_to_message", "list_threads", "search_messages", "list_inbox", "wait_for_events"]) {
      assert.ok(tried.includes(name), `carol tried ${name}`);
    }
    // Nothing of carol's reached the thread.
    const thread = await createAgcomClient(server.baseUrl, tokens.alice).GET("/threads/{thread_id}", {
      params: { path: { thread_id: sent.thread_id } },
    });
    assert.deepEqual(thread.data?.participant_handles, ["alice", "bob"]);
  });
});
