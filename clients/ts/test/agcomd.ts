// Starts a real agcomd for a test: a fresh temp directory with its own SQLite
// file, a random SECRET_KEY, rate limits off, PORT=0 (the kernel picks a free
// port; the address is read from the server's "agcomd listening" log line).
//
// The binary is $AGCOM_BIN when set (the Makefile builds it once), otherwise
// it is built here from the repository root as the Makefile builds it: the
// same Go release, tags and C flags.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface Agcomd {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  /** origin + /api/v1 */
  baseUrl: string;
  /** Every log line the server printed so far. */
  logs: string[];
  stop(): Promise<void>;
}

let built: string | undefined;

/** agcomdBinary returns $AGCOM_BIN, or builds agcomd once per process. */
export function agcomdBinary(): string {
  const fromEnv = process.env.AGCOM_BIN;
  if (fromEnv) return fromEnv;
  if (built) return built;
  const out = join(mkdtempSync(join(tmpdir(), "agcomd-bin-")), "agcomd");
  const r = spawnSync("go", ["build", "-tags", "sqlite_fts5", "-o", out, "./cmd/agcomd"], {
    cwd: repoRoot,
    env: {
      ...process.env,
      GOTOOLCHAIN: "go1.27.3",
      CGO_CFLAGS: "-O2 -g -DSQLITE_ENABLE_QPSG",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (r.status !== 0) throw new Error(`go build ./cmd/agcomd failed (status ${r.status})`);
  built = out;
  return out;
}

export async function startAgcomd(extraEnv: Record<string, string> = {}): Promise<Agcomd> {
  const bin = agcomdBinary();
  const dir = mkdtempSync(join(tmpdir(), "agcomd-run-"));
  // A minimal environment: nothing from the caller's shell (CORS_ORIGINS,
  // PORT, ...) leaks in, and the working directory has no .env file.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    DB_PATH: join(dir, "agcom.db"),
    SECRET_KEY: randomBytes(32).toString("hex"),
    HOST: "127.0.0.1",
    PORT: "0",
    // No metrics listener: servers started at once would share its port.
    METRICS_ADDR: "",
    RATE_LIMIT_ENABLED: "false",
    LOG_FORMAT: "json",
    LOG_LEVEL: "INFO",
    ...extraEnv,
  };
  const child: ChildProcess = spawn(bin, [], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  const logs: string[] = [];
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));

  const listening = new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`agcomd did not start in 30s; logs:\n${logs.join("\n")}`)), 30_000);
    const onLine = (line: string) => {
      logs.push(line);
      if (process.env.AGCOM_TEST_VERBOSE) process.stderr.write(`[agcomd] ${line}\n`);
      try {
        const rec = JSON.parse(line) as { msg?: string; addr?: string };
        if (rec.msg === "agcomd listening" && rec.addr) {
          clearTimeout(timer);
          res(rec.addr);
        }
      } catch {
        // not JSON: keep it in the logs
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on("line", onLine);
    }
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`agcomd exited with ${code} before listening; logs:\n${logs.join("\n")}`));
    });
  });

  let addr: string;
  try {
    addr = await listening;
  } catch (err) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const origin = `http://${addr}`;
  return {
    origin,
    baseUrl: `${origin}/api/v1`,
    logs,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
