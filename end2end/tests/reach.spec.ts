// Reaching the cook wherever the phone is (issue 24): the service worker's notifications, the
// "Turn on notifications" flow end to end, the queue of submissions made offline, and whether
// a chef is at the pass.
import { CDPSession, Page } from "@playwright/test";
import { createECDH, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { createServer, IncomingMessage, Server } from "node:http";
import { AddressInfo } from "node:net";
import { expect, test } from "./guard";
import { serverForTests } from "./server";

const server = serverForTests("each");

/** The service worker's registration id for this server's origin, through the DevTools protocol. */
async function workerRegistration(page: Page): Promise<{ cdp: CDPSession; registrationId: string }> {
  const cdp = await page.context().newCDPSession(page);
  const registrations = new Map<string, string>();
  cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations: updated }) => {
    for (const registration of updated) {
      if (registration.isDeleted) registrations.delete(registration.scopeURL);
      else registrations.set(registration.scopeURL, registration.registrationId);
    }
  });
  await cdp.send("ServiceWorker.enable");
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await expect.poll(() => registrations.get(`${server.url}/`)).toBeTruthy();
  return { cdp, registrationId: registrations.get(`${server.url}/`)! };
}

/** The titles of the notifications the service worker is showing. */
async function notificationTitles(page: Page): Promise<string[]> {
  return page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((shown) => shown.title));
}

const decision = (itemName: string) =>
  JSON.stringify({
    notificationType: "REQUEST_APPROVED",
    category: "INGREDIENT_REQUEST",
    requestId: 7,
    itemName,
    reviewedBy: { id: 1, firstName: "Gordon", lastName: "Ramsay" },
    timestamp: "2026-12-06 20:40",
    note: "Tak",
    reviewedAtMillis: 1,
  });

test("the service worker shows a pushed decision only when no page of the app is visible", async ({ browser }) => {
  const context = await server.signedIn(browser, "ali@miseos.dk");
  await context.grantPermissions(["notifications"], { origin: server.url });
  const page = await server.openHome(context);
  const { cdp, registrationId } = await workerRegistration(page);
  const origin = server.url;

  // A page is visible: it shows its own toast from the socket; the worker shows nothing.
  await cdp.send("ServiceWorker.deliverPushMessage", { origin, registrationId, data: decision("Dild") });
  await page.waitForTimeout(1000);
  expect(await notificationTitles(page)).toEqual([]);

  // No page of the app: the worker shows it.
  await page.goto("about:blank");
  await cdp.send("ServiceWorker.deliverPushMessage", { origin, registrationId, data: decision("Persille") });
  await page.waitForTimeout(1000);
  await page.goto(`${server.url}/`);
  await expect.poll(() => notificationTitles(page)).toEqual(["Request approved: Persille"]);
  await context.close();
});

/** A push service on loopback that keeps what it is sent. */
async function pushService(): Promise<{ origin: string; received: { path: string; body: Buffer }[]; close: () => void }> {
  const received: { path: string; body: Buffer }[] = [];
  const service: Server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ path: request.url ?? "", body: Buffer.concat(chunks) });
      response.writeHead(201).end();
    });
  });
  await new Promise<void>((listening) => service.listen(0, "127.0.0.1", listening));
  const { port } = service.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, received, close: () => service.close() };
}

/** RFC 8291 decryption with Node's crypto: a third implementation, beside the server's and the tests' `ece`. */
function decrypt(body: Buffer, browserKey: ReturnType<typeof createECDH>, auth: Buffer): string {
  const salt = body.subarray(0, 16);
  const keyLength = body[20];
  const senderKey = body.subarray(21, 21 + keyLength);
  const record = body.subarray(21 + keyLength);
  const shared = browserKey.computeSecret(senderKey);
  const info = Buffer.concat([Buffer.from("WebPush: info\0"), browserKey.getPublicKey(), senderKey]);
  const ikm = Buffer.from(hkdfSync("sha256", shared, auth, info, 32));
  const key = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const decipher = createDecipheriv("aes-128-gcm", key, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  // The last record: the text, then a 0x02 delimiter and any zero padding.
  return padded.subarray(0, padded.lastIndexOf(2)).toString("utf8");
}

test("a cook turns notifications on; a chef's decision is pushed, and shown by the service worker", async ({ browser }) => {
  const service = await pushService();
  await server.stop();
  server.extraEnv = { MISEOS_PUSH_EXTRA_ORIGINS: service.origin };
  await server.start();
  // Headless Chromium here has no push service to subscribe with: the page's
  // `pushManager.subscribe` is stubbed with a subscription to the loopback service, whose keys
  // the test holds (everything after it, the server's push included, is real).
  const browserKey = createECDH("prime256v1");
  browserKey.generateKeys();
  const auth = randomBytes(16);
  const context = await server.signedIn(browser, "ali@miseos.dk");
  await context.grantPermissions(["notifications"], { origin: server.url });
  await context.addInitScript(
    ({ endpoint, p256dh, auth }) => {
      let subscription: unknown = null;
      const make = (applicationServerKey: ArrayBuffer) => ({
        endpoint,
        expirationTime: null,
        options: { userVisibleOnly: true, applicationServerKey },
        toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh, auth } }),
        unsubscribe: async () => {
          subscription = null;
          return true;
        },
      });
      PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
        const key = options?.applicationServerKey as Uint8Array;
        subscription = make(key.buffer.slice(key.byteOffset, key.byteOffset + key.byteLength) as ArrayBuffer);
        return subscription as PushSubscription;
      };
      PushManager.prototype.getSubscription = async () => subscription as PushSubscription | null;
    },
    {
      endpoint: `${service.origin}/push/ali`,
      p256dh: browserKey.getPublicKey().toString("base64url"),
      auth: auth.toString("base64url"),
    },
  );
  const page = await server.openHome(context);
  const control = page.getByTestId("push-control");
  await control.getByRole("button", { name: "Turn on notifications" }).click();
  await expect(control).toContainText("Notifications are on for this device.");
  const mine = await page.request.get(`${server.url}/api/v1/push/subscriptions`);
  expect((await mine.json()).map((subscription: { endpoint: string }) => subscription.endpoint)).toEqual([`${service.origin}/push/ali`]);

  // The cook's phone goes into a pocket (no page of the app); the chef approves.
  const { cdp, registrationId } = await workerRegistration(page);
  await page.goto("about:blank");
  const ali = await server.token("ali@miseos.dk");
  const item = await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Dild", quantity: 2, unit: "bundt", note: null });
  const chef = await server.token("gordon@miseos.dk");
  await server.api("POST", `/api/v1/ingredient-requests/${item.id}/approve`, chef, { note: "Tak" });
  await expect.poll(() => service.received.length, { timeout: 5_000 }).toBe(1);
  expect(service.received[0].path).toBe("/push/ali");
  const pushed = decrypt(service.received[0].body, browserKey, auth);
  expect(JSON.parse(pushed)).toMatchObject({ notificationType: "REQUEST_APPROVED", itemName: "Dild", note: "Tak" });
  // What the push service would hand the phone: the plaintext, to the worker.
  await cdp.send("ServiceWorker.deliverPushMessage", { origin: server.url, registrationId, data: pushed });
  await page.waitForTimeout(1000);
  await page.goto(`${server.url}/`);
  await expect.poll(() => notificationTitles(page)).toEqual(["Request approved: Dild"]);

  // Remembered on the device: after a reload it is still on. Signing out turns it off.
  await page.reload();
  await expect(page.getByTestId("push-control")).toContainText("Notifications are on for this device.");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  const left = await fetch(`${server.url}/api/v1/push/subscriptions`, { headers: { authorization: `Bearer ${ali}` } });
  expect(await left.json()).toEqual([]);
  expect(await page.evaluate(() => localStorage.getItem("miseos-push"))).toBeNull();
  service.close();
  await context.close();
});

test("three submissions made offline survive a reload and are sent once each when the network is back", async ({ browser }) => {
  const chefContext = await server.signedIn(browser, "gordon@miseos.dk");
  const chef = await server.openHome(chefContext);
  const cookContext = await server.signedIn(browser, "ali@miseos.dk");
  const cook = await server.openHome(cookContext);
  // The page and its files were loaded once online: the service worker keeps their copy.
  await cook.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await cook.reload();
  await expect(cook.getByTestId("link-state")).toHaveText("Live");

  // Offline as the page sees it (navigator.onLine, the `offline` event), and for certain at
  // the network: a submission that raced the emulation's start must not reach the server.
  const disconnected = "**/api/v1/ingredient-requests";
  await cookContext.route(disconnected, (route) => route.abort("internetdisconnected"));
  await cookContext.setOffline(true);
  for (const name of ["Dild", "Persille", "Kørvel"]) {
    await cook.getByLabel("Ingredient", { exact: true }).fill(name);
    await cook.getByLabel("Unit").fill("bundt");
    await cook.getByRole("button", { name: "Send request" }).click();
    await expect(cook.getByTestId("queued-item").filter({ hasText: name })).toBeVisible();
  }
  await expect(cook.getByTestId("queued-item")).toHaveCount(3);
  await cook.reload();
  await expect(cook.getByTestId("queued-item")).toHaveCount(3);
  await expect(chef.getByTestId("pending-card")).toHaveCount(0);

  await cookContext.unroute(disconnected);
  await cookContext.setOffline(false);
  await expect(cook.getByTestId("queued-item")).toHaveCount(0, { timeout: 20_000 });
  await expect(chef.getByTestId("pending-card")).toHaveCount(3);
  await expect(chef.getByTestId("badge-ingredients").locator(".count")).toHaveText("3");
  for (const name of ["Dild", "Persille", "Kørvel"]) {
    await expect(chef.getByTestId("pending-card").filter({ hasText: name })).toHaveCount(1);
    await expect(cook.getByTestId("my-item").filter({ hasText: name })).toHaveCount(1);
  }
  const ali = await server.token("ali@miseos.dk");
  const items = await server.api("GET", "/api/v1/ingredient-requests", ali);
  expect(items.map((item: { itemName: string }) => item.itemName).sort()).toEqual(["Dild", "Kørvel", "Persille"]);
  await chefContext.close();
  await cookContext.close();
});

test("a cook is told when no chef is online, and not once a chef opens the dashboard", async ({ browser }) => {
  const cookContext = await server.signedIn(browser, "ali@miseos.dk");
  const cook = await server.openHome(cookContext);
  const notice = cook.getByTestId("no-chef");
  await expect(notice).toHaveText("No chef online: your request will wait.");
  const chefContext = await server.signedIn(browser, "gordon@miseos.dk");
  const chef = await server.openHome(chefContext);
  await expect(notice).toBeHidden({ timeout: 2_000 });
  await chef.close();
  await expect(notice).toBeVisible({ timeout: 5_000 });
  await chefContext.close();
  await cookContext.close();
});
