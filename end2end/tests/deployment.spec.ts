// Production's shape on one machine: Debian's Caddy running deploy/Caddyfile itself, with
// HTTPS from its own local CA, in front of two release processes that share one PostgreSQL
// database, set up as the README's "Production" says (MISEOS_SECURE_COOKIE,
// MISEOS_TRUSTED_PROXIES, MISEOS_ALLOWED_ORIGINS). A head chef and a cook use the kitchen
// through the proxy while their sockets sit on different processes, and sign-in throttling
// counts the client Caddy names, not Caddy.
//
// Caddy (/usr/bin/caddy) and PostgreSQL on 127.0.0.1:5432 (trust authentication) are
// required: scripts/setup.sh --test installs and starts them, so without them this spec fails
// rather than skips.
//
// The Caddyfile gets what a test needs through its own environment placeholders, whose
// defaults are production's: MISEOS_DOMAIN=localhost (Caddy's local CA issues the
// certificate), MISEOS_UPSTREAMS (the two processes' ports) and CADDY_GLOBAL_OPTIONS (free
// ports, no admin API, and `skip_install_trust`, so the CA never enters this machine's trust
// store). Its data (the CA, the certificate) goes to a temporary XDG_DATA_HOME.
import { Browser, Page, WebSocket } from "@playwright/test";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { expect, test } from "./guard";
import { MiseServer, PASSWORD } from "./server";

const root = path.resolve(__dirname, "..", "..");
const CADDY = "/usr/bin/caddy";
const POSTGRES = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"];
const database = `miseos_e2e_deploy_${randomBytes(4).toString("hex")}`;
const processes = [new MiseServer(), new MiseServer()];
const NAMES = ["A", "B"];

let caddy: ChildProcess | undefined;
let caddyLog = "";
let caddyDir: string | undefined;
let databaseMade = false;
let httpPort = 0;
let httpsPort = 0;
/** The public origin, as the browsers see it. */
let origin = "";
/** The root certificate of Caddy's local CA (PEM). */
let rootCa = "";

/** A TCP port that nothing listens on now (on every interface, as Caddy binds). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A request to Caddy over HTTPS, the certificate checked against Caddy's root (nothing is
 * ignored), from `localAddress`: another loopback address is another client to Caddy.
 */
function throughProxy(
  pathname: string,
  options: { method?: string; body?: unknown; headers?: Record<string, string>; localAddress?: string } = {},
): Promise<Answer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: "127.0.0.1",
        port: httpsPort,
        path: pathname,
        method: options.method ?? "GET",
        servername: "localhost",
        ca: rootCa,
        localAddress: options.localAddress ?? "127.0.0.1",
        agent: false,
        headers: {
          host: `localhost:${httpsPort}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...options.headers,
        },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/**
 * A GET straight to one process, from `localAddress`. The processes trust 127.0.0.1 as their
 * proxy, so what comes from there is taken to have passed the proxy.
 */
function direct(server: MiseServer, pathname: string, localAddress: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: "127.0.0.1", port: server.port, path: pathname, localAddress, agent: false }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    request.on("error", reject);
  });
}

/** The address metrics are read from: loopback, and not the proxy's. */
const SCRAPER = "127.0.0.9";

/** One process's metrics, read directly on its port. */
async function metrics(server: MiseServer): Promise<string> {
  const answer = await direct(server, "/metrics", SCRAPER);
  expect(answer.status).toBe(200);
  return answer.body;
}

/** The sum of the samples of `name` whose labels contain every one of `labels`. */
function sample(text: string, name: string, ...labels: string[]): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    // Label values are quoted and may hold braces (route="/…/{id}/approve").
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    if (labels.every((label) => (match[2] ?? "").includes(label))) sum += Number(match[3]);
  }
  return sum;
}

/** Per process: the sessions of this type open on it. */
async function socketsOpen(type: "admin" | "staff"): Promise<number[]> {
  return Promise.all(
    processes.map(async (server) => sample(await metrics(server), "miseos_ws_sessions_open", `session_type="${type}"`)),
  );
}

/** Which process holds the one session of this type (waits until there is exactly one). */
async function processHolding(type: "admin" | "staff"): Promise<number> {
  await expect.poll(async () => (await socketsOpen(type)).reduce((a, b) => a + b, 0), { timeout: 10_000 }).toBe(1);
  return (await socketsOpen(type)).indexOf(1);
}

/** Per process: requests answered whose labels contain all of `labels`. */
async function requestsAnswered(...labels: string[]): Promise<number[]> {
  return Promise.all(
    processes.map(async (server) => sample(await metrics(server), "miseos_http_request_duration_seconds_count", ...labels)),
  );
}

/** Which process answered one GET /healthz sent through Caddy. */
async function probe(): Promise<number> {
  const before = await requestsAnswered('route="/healthz"');
  expect((await throughProxy("/healthz")).status).toBe(200);
  const after = await requestsAnswered('route="/healthz"');
  const served = after.findIndex((count, index) => count === before[index] + 1);
  expect(served, `one process answered the probe (before ${before}, after ${after})`).toBeGreaterThanOrEqual(0);
  return served;
}

/** Requests the processes answered, but for Caddy's health checks and the test's scrapes. */
async function pageRequests(): Promise<number> {
  let sum = 0;
  for (const server of processes) {
    const text = await metrics(server);
    sum +=
      sample(text, "miseos_http_request_duration_seconds_count") -
      sample(text, "miseos_http_request_duration_seconds_count", 'route="/metrics"') -
      sample(text, "miseos_http_request_duration_seconds_count", 'route="/readyz"');
  }
  return sum;
}

/**
 * Makes the next request through Caddy go to process `target`. Round robin hands requests to
 * the processes in turn, so once a probe was answered by the other one, the next is this one's.
 * First the pages must be done with what they fetch by themselves (a card's details, a list):
 * no request for a second. The caller checks, by the metrics, where its request went.
 */
async function nextRequestTo(target: number): Promise<void> {
  let last = await pageRequests();
  const quietBy = Date.now() + 15_000;
  for (let quiet = 0; quiet < 4; ) {
    if (Date.now() > quietBy) throw new Error("the pages never stopped making requests for a second");
    await new Promise((done) => setTimeout(done, 250));
    const now = await pageRequests();
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
  for (let attempt = 0; attempt < 4; attempt++) {
    if ((await probe()) !== target) return;
  }
  throw new Error("round robin never moved on from one process");
}

/** A person's browser, signed in through the proxy's sign-in page; their home page, live. */
async function signInThroughProxy(browser: Browser, email: string, sockets: WebSocket[], frames: string[]): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on("websocket", (socket) => {
    sockets.push(socket);
    socket.on("framereceived", (frame) => frames.push(String(frame.payload)));
  });
  const navigation = await page.goto(`${origin}/`);
  expect(navigation!.headers()["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
  await expect(page).toHaveURL(`${origin}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  const signedIn = page.waitForResponse((answer) => answer.url() === `${origin}/api/v1/auth/login` && answer.request().method() === "POST");
  await page.getByRole("button", { name: "Sign in" }).click();
  const answer = await signedIn;
  expect(answer.status()).toBe(200);
  // The session cookie is Secure (MISEOS_SECURE_COOKIE=true), and HSTS comes with it.
  const setCookie = (await answer.headerValue("set-cookie")) ?? "";
  expect(setCookie).toMatch(/;\s*Secure/i);
  expect(setCookie).toMatch(/;\s*HttpOnly/i);
  expect((await answer.headerValue("strict-transport-security")) ?? "").toContain("max-age=31536000");
  const session = (await context.cookies(origin)).find((cookie) => cookie.name === "miseos_token");
  expect(session?.secure).toBe(true);
  expect(session?.httpOnly).toBe(true);
  await expect(page).toHaveURL(`${origin}/`);
  await expect(page.getByTestId("link-state")).toHaveText("Live");
  // Done loading (the service worker's script too): the page sends nothing more by itself.
  await page.waitForLoadState("networkidle");
  return page;
}

test.beforeAll(async () => {
  test.setTimeout(120_000);
  if (!existsSync(CADDY)) {
    throw new Error(`${CADDY} is missing: the deployment test needs Debian's caddy (scripts/setup.sh --test installs it)`);
  }
  try {
    execFileSync("pg_isready", ["-q", "-h", "127.0.0.1", "-p", "5432"]);
  } catch {
    throw new Error("PostgreSQL is not running on 127.0.0.1:5432: the deployment test needs it (scripts/setup.sh --test starts it)");
  }
  execFileSync("createdb", [...POSTGRES, database]);
  databaseMade = true;

  [httpPort, httpsPort] = [await freePort(), await freePort()];
  origin = `https://localhost:${httpsPort}`;
  // One after the other: the first makes the schema and the demo users.
  for (const server of processes) {
    server.extraEnv = {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
      MISEOS_SECURE_COOKIE: "true",
      MISEOS_TRUSTED_PROXIES: "127.0.0.1",
      MISEOS_ALLOWED_ORIGINS: origin,
    };
    await server.start();
  }

  caddyDir = mkdtempSync(path.join(tmpdir(), "miseos-e2e-caddy-"));
  const child = spawn(CADDY, ["run", "--config", path.join(root, "deploy", "Caddyfile"), "--adapter", "caddyfile"], {
    cwd: caddyDir,
    env: {
      PATH: process.env.PATH,
      HOME: caddyDir,
      XDG_DATA_HOME: path.join(caddyDir, "data"),
      XDG_CONFIG_HOME: path.join(caddyDir, "config"),
      MISEOS_DOMAIN: "localhost",
      MISEOS_UPSTREAMS: processes.map((server) => `127.0.0.1:${server.port}`).join(" "),
      CADDY_GLOBAL_OPTIONS: [`http_port ${httpPort}`, `https_port ${httpsPort}`, "admin off", "skip_install_trust"].join("\n"),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  caddy = child;
  child.stdout!.on("data", (chunk: Buffer) => (caddyLog += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (caddyLog += chunk.toString()));

  // Ready once the local CA's root is written and /readyz answers through the proxy.
  const rootFile = path.join(caddyDir, "data", "caddy", "pki", "authorities", "local", "root.crt");
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`caddy exited with ${child.exitCode}:\n${caddyLog}`);
    if (Date.now() > deadline) throw new Error(`caddy did not answer /readyz in time:\n${caddyLog}`);
    if (existsSync(rootFile)) {
      rootCa = readFileSync(rootFile, "utf8");
      try {
        if ((await throughProxy("/readyz")).status === 200) break;
      } catch {
        // not listening yet, or its certificate not issued yet
      }
    }
    await new Promise((done) => setTimeout(done, 200));
  }
});

test.afterAll(async () => {
  const child = caddy;
  if (child && child.exitCode === null) {
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    const stopped = await Promise.race([exited.then(() => true), new Promise((done) => setTimeout(() => done(false), 10_000))]);
    if (!stopped) child.kill("SIGKILL");
  }
  for (const server of processes) await server.dispose();
  if (caddyDir) rmSync(caddyDir, { recursive: true, force: true });
  if (databaseMade) execFileSync("dropdb", [...POSTGRES, "--if-exists", "--force", database]);
});

test("Caddy serves its local CA's certificate, redirects HTTP to HTTPS, and keeps /metrics off the proxy", async () => {
  // The certificate chains to the root in Caddy's storage, and only to it.
  const check = (ca?: string) =>
    new Promise<tls.TLSSocket>((resolve, reject) => {
      const socket = tls.connect({ host: "127.0.0.1", port: httpsPort, servername: "localhost", ca, rejectUnauthorized: false }, () =>
        resolve(socket),
      );
      socket.on("error", reject);
    });
  const trusted = await check(rootCa);
  expect(trusted.authorized, String(trusted.authorizationError)).toBe(true);
  expect(trusted.getPeerCertificate().subjectaltname).toContain("DNS:localhost");
  trusted.end();
  const untrusted = await check(undefined);
  expect(untrusted.authorized).toBe(false);
  untrusted.end();

  const redirect = await fetch(`http://localhost:${httpPort}/login`, { redirect: "manual" });
  expect(redirect.status).toBe(308);
  // (Caddy 2.6 leaves a non-standard HTTPS port out of the redirect; production's is 443.)
  expect(redirect.headers.get("location")).toMatch(/^https:\/\/localhost(:\d+)?\/login$/);

  // Refused by the Caddyfile. Each process serves its own to a local scraper, but not to one
  // on the trusted proxy's address (127.0.0.1), which it takes for the proxy itself.
  expect((await throughProxy("/metrics")).status).toBe(404);
  for (const server of processes) {
    expect((await direct(server, "/metrics", SCRAPER)).status).toBe(200);
    expect((await direct(server, "/metrics", "127.0.0.1")).status).toBe(404);
  }
  // Both processes are up and ready behind the one name.
  for (const server of processes) expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
});

test("through the proxy, a cook's request reaches the chef and the chef's answer the cook, across the two processes", async ({ browser }) => {
  const [chefSockets, chefFrames, cookSockets, cookFrames] = [[], [], [], []] as [WebSocket[], string[], WebSocket[], string[]];
  const chef = await signInThroughProxy(browser, "gordon@miseos.dk", chefSockets, chefFrames);
  const chefProcess = await processHolding("admin");

  const cook = await signInThroughProxy(browser, "ali@miseos.dk", cookSockets, cookFrames);
  // The cook's socket must sit on the other process. Round robin gives each page's requests
  // to the processes in turn; a reload, with an extra request every other time (the number
  // of requests a reload makes may be even or odd), moves it.
  let cookProcess = await processHolding("staff");
  for (let attempt = 0; cookProcess === chefProcess; attempt++) {
    expect(attempt, "the cook's socket never landed on the other process").toBeLessThan(8);
    if (attempt % 2 === 1) await throughProxy("/healthz");
    await cook.reload();
    await expect(cook.getByTestId("link-state")).toHaveText("Live");
    await cook.waitForLoadState("networkidle");
    cookProcess = await processHolding("staff");
  }
  expect(cookProcess).not.toBe(chefProcess);

  // The sockets are wss:// on the public origin, and carry frames.
  for (const sockets of [chefSockets, cookSockets]) {
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets.at(-1)!.url()).toBe(`wss://localhost:${httpsPort}/api/v1/notifications`);
  }
  expect(chefFrames.some((frame) => frame.includes('"notificationType":"CONNECTED"'))).toBeTruthy();
  expect(cookFrames.some((frame) => frame.includes('"notificationType":"CONNECTED"'))).toBeTruthy();

  // The cook's request is answered by the cook's process, not the chef's: the chef learns of
  // it only through PostgreSQL.
  const create = ['method="POST"', 'route="/api/v1/ingredient-requests"'];
  const createsBefore = await requestsAnswered(...create);
  await cook.getByLabel("Ingredient", { exact: true }).fill("Frisk Dild");
  await cook.getByLabel("Quantity").fill("2");
  await cook.getByLabel("Unit").fill("bunch");
  await nextRequestTo(cookProcess);
  await cook.getByRole("button", { name: "Send request" }).click();
  await expect(cook.getByTestId("my-item").filter({ hasText: "Frisk Dild" })).toContainText("Pending");
  const createsAfter = await requestsAnswered(...create);
  expect(createsAfter[cookProcess] - createsBefore[cookProcess], "the cook's process took the request").toBe(1);
  expect(createsAfter[chefProcess] - createsBefore[chefProcess]).toBe(0);

  const card = chef.getByTestId("pending-card").filter({ hasText: "Frisk Dild" });
  await expect(card).toContainText("2 bunch");
  await expect(chef.getByTestId("badge-ingredients").locator(".count")).toHaveText("1");
  expect(chefFrames.some((frame) => frame.includes("Frisk Dild"))).toBeTruthy();

  // The approval is answered by the chef's process; the cook hears of it on the other.
  const approve = ['method="POST"', "/approve"];
  const approvalsBefore = await requestsAnswered(...approve);
  await card.getByLabel("Note for Frisk Dild").fill("Tak, Ali");
  await nextRequestTo(chefProcess);
  await card.getByRole("button", { name: "Approve" }).click();
  await expect(card).toHaveCount(0);
  const approvalsAfter = await requestsAnswered(...approve);
  expect(approvalsAfter[chefProcess] - approvalsBefore[chefProcess], "the chef's process took the approval").toBe(1);
  expect(approvalsAfter[cookProcess] - approvalsBefore[cookProcess]).toBe(0);

  const toast = cook.getByTestId("toast");
  await expect(toast).toContainText("Gordon Ramsay approved “Frisk Dild”. Note: Tak, Ali");
  await expect(cook.getByTestId("my-item").filter({ hasText: "Frisk Dild" })).toContainText("Approved");
  expect(cookFrames.filter((frame) => frame.includes("Frisk Dild")).length).toBeGreaterThan(0);

  console.log(
    `deployment: chef's socket on process ${NAMES[chefProcess]}, cook's on ${NAMES[cookProcess]}; ` +
      `request taken by ${NAMES[cookProcess]}, approval by ${NAMES[chefProcess]}`,
  );
  await chef.context().close();
  await cook.context().close();
});

test("sign-in throttling counts the client Caddy names, ignores what the client forwards, and is shared by both processes", async () => {
  // 30 failed sign-ins within a minute from one client address (127.0.0.2), each claiming to
  // be someone else in its own X-Forwarded-For. Caddy trusts no proxy, so it replaces that
  // header with the address it sees; the servers trust Caddy (127.0.0.1) and so count
  // 127.0.0.2. Had the forged entries counted, no address would reach the limit.
  const refusalsBefore = await Promise.all(
    processes.map(async (server) => sample(await metrics(server), "miseos_sign_in_refusals_total", 'outcome="bad_credentials"')),
  );
  const signIn = (localAddress: string, email: string, password: string, forwardedFor: string) =>
    throughProxy("/api/v1/auth/login", {
      method: "POST",
      body: { email, password },
      headers: { "x-forwarded-for": forwardedFor },
      localAddress,
    });
  for (let index = 0; index < 30; index++) {
    const answer = await signIn("127.0.0.2", `nobody-${index}@example.com`, "not-the-password", `203.0.113.${index + 1}`);
    expect(answer.status, answer.body).toBe(401);
  }
  const throttled = await signIn("127.0.0.2", "nobody-30@example.com", "not-the-password", "198.51.100.30");
  expect(throttled.status, throttled.body).toBe(429);
  expect(throttled.body).toContain("too_many_attempts");
  expect(Number(throttled.headers["retry-after"])).toBeGreaterThan(0);
  // Right password or not.
  expect((await signIn("127.0.0.2", "monica@miseos.dk", PASSWORD, "198.51.100.31")).status).toBe(429);

  // Another client through the same proxy is not throttled: the servers count the client,
  // not the proxy (for both, the peer is Caddy at 127.0.0.1).
  const other = await signIn("127.0.0.3", "monica@miseos.dk", PASSWORD, "127.0.0.2");
  expect(other.status, other.body).toBe(200);
  expect(String(other.headers["set-cookie"])).toMatch(/;\s*Secure/i);
  expect(String(other.headers["strict-transport-security"])).toContain("max-age=31536000");

  // Round robin gave each process about half of the 30 failures, yet the limit of 30 held:
  // the failures are counted in the shared database.
  const refusalsAfter = await Promise.all(
    processes.map(async (server) => sample(await metrics(server), "miseos_sign_in_refusals_total", 'outcome="bad_credentials"')),
  );
  const perProcess = refusalsAfter.map((count, index) => count - refusalsBefore[index]);
  expect(perProcess.reduce((a, b) => a + b, 0)).toBe(30);
  for (const count of perProcess) expect(count).toBeGreaterThan(0);
  for (const count of perProcess) expect(count).toBeLessThan(30);

  // The servers' logs name the real client, never a forged address.
  const logs = processes.map((server) => server.log).join("\n");
  const failures = logs.split("\n").filter((line) => /failed sign-in(?!s)/.test(line));
  expect(failures.length).toBe(30);
  expect(failures.every((line) => line.includes("address=127.0.0.2"))).toBeTruthy();
  expect(logs).not.toContain("203.0.113.");
  expect(logs).not.toContain("198.51.100.");
  expect(logs).toMatch(/sign-in throttled.*address=127\.0\.0\.2|address=127\.0\.0\.2.*sign-in throttled/);
  console.log(`deployment: failed sign-ins per process ${perProcess.join(" + ")}, the 31st throttled`);
});
