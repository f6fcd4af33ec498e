// Starts and stops the real MiseOS server binary for the browser tests: a fresh data
// directory (so a fresh SQLite database with the demo users) on a port of its own.
import { Browser, BrowserContext, BrowserContextOptions, expect, Page } from "@playwright/test";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "./guard";

const root = path.resolve(__dirname, "..", "..");
// A release directory made by scripts/release.sh (what production runs), or else the
// development build in target/.
const releaseDir = process.env.MISEOS_E2E_RELEASE_DIR ? path.resolve(root, process.env.MISEOS_E2E_RELEASE_DIR) : undefined;
const binary = releaseDir ? path.join(releaseDir, "server") : path.join(root, "target", "debug", "server");
export const isRelease = releaseDir !== undefined;

export const PASSWORD = "mise-en-place";

/**
 * A server for a spec's tests, started before them and removed after: one for all of the
 * spec's tests, or a fresh one (a fresh database) for each.
 */
export function serverForTests(scope: "all" | "each" = "all"): MiseServer {
  const server = new MiseServer();
  if (scope === "all") {
    test.beforeAll(async () => server.start());
    test.afterAll(async () => server.dispose());
  } else {
    test.beforeEach(async () => server.start());
    test.afterEach(async () => server.dispose());
  }
  return server;
}

export class MiseServer {
  private process?: ChildProcess;
  private dir?: string;
  port = 0;
  /** More environment for the next start (e.g. `MISEOS_PUSH_EXTRA_ORIGINS`). */
  extraEnv: NodeJS.ProcessEnv = {};
  /** What the server has written to stdout and stderr since it was last started. */
  log = "";

  /** The data directory, made on first use and again after `dispose`. */
  get dataDir(): string {
    this.dir ??= mkdtempSync(path.join(tmpdir(), "miseos-e2e-"));
    return this.dir;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The server's environment: its data directory, a fixed secret, demo users. */
  private environment(portFile: string, port: number): NodeJS.ProcessEnv {
    return {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: String(port),
      MISEOS_DATA_DIR: this.dataDir,
      MISEOS_PORT_FILE: portFile,
      MISEOS_JWT_SECRET: "end-to-end-secret-that-is-at-least-32-bytes-long",
      MISEOS_DEMO: "true",
      // Each test stops its server: at once (the grace has a test of its own).
      MISEOS_SHUTDOWN_GRACE_SECONDS: "0",
      LEPTOS_OUTPUT_NAME: "miseos",
      LEPTOS_SITE_ROOT: releaseDir ? path.join(releaseDir, "site") : "target/site",
      LEPTOS_SITE_PKG_DIR: "pkg",
      LEPTOS_HASH_FILES: String(isRelease),
      LEPTOS_ENV: isRelease ? "PROD" : "DEV",
      RUST_LOG: "warn,server=info",
      NO_COLOR: "1",
      ...this.extraEnv,
    };
  }

  /** Runs `server <args>` (a command-line subcommand) on this server's database; its output. */
  cli(...args: string[]): string {
    return execFileSync(binary, args, { cwd: root, env: this.environment(path.join(this.dataDir, "cli-port"), 0) }).toString();
  }

  /** Starts the server (on `port`, or a free one) and resolves once it answers /healthz. */
  async start(port = 0): Promise<void> {
    // The server writes the port it bound to this file once it listens (`MISEOS_PORT_FILE`).
    const portFile = path.join(this.dataDir, "port");
    rmSync(portFile, { force: true });
    const child = spawn(binary, [], { cwd: root, env: this.environment(portFile, port), stdio: ["ignore", "pipe", "pipe"] });
    this.process = child;
    // Read (and so drain) the log; it is shown if the server fails to start.
    this.log = "";
    const keep = (chunk: Buffer) => (this.log += chunk.toString());
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    let exitCode: number | null = null;
    child.on("exit", (code) => (exitCode = code));
    const deadline = Date.now() + 30_000;
    while (!existsSync(portFile)) {
      if (exitCode !== null) throw new Error(`server exited with ${exitCode}: ${this.log}`);
      if (Date.now() > deadline) throw new Error(`server did not start in time: ${this.log}`);
      await new Promise((done) => setTimeout(done, 50));
    }
    this.port = Number(readFileSync(portFile, "utf8").trim());
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error("server never became healthy");
  }

  /** Stops the server with SIGTERM (sessions get 1001) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await exited;
    this.process = undefined;
  }

  /** Stops the server and removes its data; the next start begins afresh. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  /** A browser context (a person's browser) signed in as `email`: the login call sets the
   * session cookie. */
  async signedIn(
    browser: Browser,
    email: string,
    options: BrowserContextOptions = {},
    password = PASSWORD,
  ): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    const response = await context.request.post(`${this.url}/api/v1/auth/login`, { data: { email, password } });
    expect(response.ok()).toBeTruthy();
    return context;
  }

  /** `context`'s home page, once its socket shows `live` ("Live"). */
  async openHome(context: BrowserContext, live = "Live"): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${this.url}/`);
    await expect(page.getByTestId("link-state")).toHaveText(live);
    return page;
  }

  /** Signs in through the REST API and returns the token. */
  async token(email: string): Promise<string> {
    const response = await fetch(`${this.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    if (!response.ok) throw new Error(`login failed: ${response.status}`);
    return (await response.json()).token;
  }

  /** A REST call with a Bearer token. */
  async api(method: string, pathname: string, token: string, body?: unknown): Promise<any> {
    const response = await fetch(`${this.url}${pathname}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${pathname}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? undefined : response.json();
  }
}
