// Renders the README's screenshots into docs/screenshots/: the dashboard and the cook's view at
// desktop and phone size, the wall screen in light and dark, the cook's "while you were
// away", the history, the dashboard in Danish, and the cook's phone offline with its queue and
// with notifications on.
import { Browser, Page, expect, test } from "@playwright/test";
import { createECDH, randomBytes } from "node:crypto";
import path from "node:path";
import { MiseServer, PASSWORD } from "../tests/server";

const out = path.resolve(__dirname, "..", "..", "docs", "screenshots");
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

type Options = { viewport?: { width: number; height: number }; locale?: string; theme?: string; path?: string };

async function open(browser: Browser, server: MiseServer, email: string, options: Options = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: options.viewport ?? sizes.desktop, deviceScaleFactor: 1, locale: options.locale ?? "en-GB" });
  await context.addCookies([{ name: "miseos_theme", value: options.theme ?? "light", url: server.url }]);
  await context.request.post(`${server.url}/api/v1/auth/login`, { data: { email, password: PASSWORD } });
  const page = await context.newPage();
  await page.goto(`${server.url}${options.path ?? "/"}`);
  if ((options.path ?? "/") === "/") await expect(page.getByTestId("link-state")).toHaveText(/Live/);
  return page;
}

test("screenshots of every view", async ({ browser }) => {
  const server = new MiseServer();
  await server.start();
  try {
    const ali = await server.token("ali@miseos.dk");
    const sara = await server.token("sara@miseos.dk");
    const chef = await server.token("gordon@miseos.dk");
    // Ali's page is opened once, so the decisions below come while he is away.
    await (await open(browser, server, "ali@miseos.dk")).context().close();
    const dill = await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Frisk Dild", quantity: 2, unit: "bunch", note: "til gravlaksen" });
    await server.api("POST", "/api/v1/ingredient-requests", sara, { itemName: "Rødspættefilet", quantity: 3.5, unit: "kg" });
    await server.api("POST", "/api/v1/dish-suggestions", sara, { name: "Stjerneskud", description: "Rødspætte, rejer, asparges og kaviar" });
    const flæsk = await server.api("POST", "/api/v1/dish-suggestions", ali, { name: "Stegt flæsk", description: "Med persillesovs" });
    await server.api("POST", `/api/v1/ingredient-requests/${dill.id}/approve`, chef, { note: "Tak, Ali" });
    await server.api("POST", `/api/v1/dish-suggestions/${flæsk.id}/reject`, chef, { note: "Ikke i denne uge" });

    const away = await open(browser, server, "ali@miseos.dk", { viewport: sizes.phone });
    await expect(away.getByTestId("while-away")).toBeVisible();
    await away.screenshot({ path: path.join(out, "cook-while-away.png"), fullPage: true });
    await away.getByTestId("mark-seen").click();
    await away.context().close();

    for (const [size, viewport] of Object.entries(sizes)) {
      const dashboard = await open(browser, server, "gordon@miseos.dk", { viewport });
      await dashboard.screenshot({ path: path.join(out, `dashboard-${size}.png`), fullPage: true });
      const cook = await open(browser, server, "ali@miseos.dk", { viewport });
      await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: `Peberrod ${size}`, quantity: 1, unit: "stk" });
      const items = await server.api("GET", "/api/v1/ingredient-requests?status=PENDING", chef);
      await server.api("POST", `/api/v1/ingredient-requests/${items[0].id}/approve`, chef, { note: "Kommer i morgen" });
      await expect(cook.getByTestId("toast")).toBeVisible();
      await cook.screenshot({ path: path.join(out, `cook-${size}.png`), fullPage: true });
    }

    for (const theme of ["light", "dark"]) {
      const wall = await open(browser, server, "gordon@miseos.dk", { viewport: { width: 1920, height: 1080 }, theme });
      await wall.getByRole("button", { name: "Wall screen" }).click();
      await expect(wall.getByTestId("board")).toHaveClass(/wall/);
      await wall.screenshot({ path: path.join(out, `wall-screen-${theme}.png`) });
      await wall.getByRole("button", { name: "Wall screen" }).click();
    }

    const history = await open(browser, server, "gordon@miseos.dk", { path: "/history" });
    await expect(history.getByTestId("history-row").first()).toBeVisible();
    await history.screenshot({ path: path.join(out, "history.png"), fullPage: true });

    const danish = await open(browser, server, "gordon@miseos.dk", { locale: "da-DK" });
    await expect(danish.getByRole("heading", { name: "Varebestillinger" })).toBeVisible();
    await danish.screenshot({ path: path.join(out, "dashboard-danish.png"), fullPage: true });
    const danishCook = await open(browser, server, "sara@miseos.dk", { locale: "da-DK", viewport: sizes.phone });
    await danishCook.screenshot({ path: path.join(out, "cook-danish-phone.png"), fullPage: true });
  } finally {
    await server.dispose();
  }
});

test("screenshots of the cook's phone on bad Wi-Fi and with notifications on", async ({ browser }) => {
  // A kitchen where no chef has a dashboard open.
  const server = new MiseServer();
  await server.start();
  try {
    const offline = await open(browser, server, "ali@miseos.dk", { viewport: sizes.phone });
    await offline.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await offline.context().setOffline(true);
    for (const [name, unit] of [["Frisk Dild", "bunch"], ["Persille", "bunch"], ["Citroner", "kg"]]) {
      await offline.getByLabel("Ingredient", { exact: true }).fill(name);
      await offline.getByLabel("Unit").fill(unit);
      await offline.getByRole("button", { name: "Send request" }).click();
    }
    await expect(offline.getByTestId("queued-item")).toHaveCount(3);
    await expect(offline.getByTestId("no-chef")).toBeVisible();
    await offline.screenshot({ path: path.join(out, "cook-offline-queue.png"), fullPage: true });
    await offline.context().close();

    // Headless Chromium has no push service: the subscription is stubbed, as in tests/reach.spec.ts.
    const browserKey = createECDH("prime256v1");
    browserKey.generateKeys();
    const context = await browser.newContext({ viewport: sizes.phone, deviceScaleFactor: 1, locale: "en-GB" });
    await context.addCookies([{ name: "miseos_theme", value: "light", url: server.url }]);
    await context.grantPermissions(["notifications"], { origin: server.url });
    await context.addInitScript(
      ({ p256dh, auth }) => {
        const endpoint = "https://push.example.invalid/screenshot";
        let subscription: unknown = null;
        PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
          const key = options?.applicationServerKey as Uint8Array;
          const applicationServerKey = key.buffer.slice(key.byteOffset, key.byteOffset + key.byteLength);
          subscription = {
            endpoint,
            options: { userVisibleOnly: true, applicationServerKey },
            toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh, auth } }),
            unsubscribe: async () => true,
          };
          return subscription as PushSubscription;
        };
        PushManager.prototype.getSubscription = async () => subscription as PushSubscription | null;
      },
      { p256dh: browserKey.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") },
    );
    await context.request.post(`${server.url}/api/v1/auth/login`, { data: { email: "ali@miseos.dk", password: PASSWORD } });
    const cook = await context.newPage();
    await cook.goto(`${server.url}/`);
    await expect(cook.getByTestId("link-state")).toHaveText(/Live/);
    await cook.getByRole("button", { name: "Turn on notifications" }).click();
    await expect(cook.getByTestId("push-control")).toContainText("Notifications are on for this device.");
    await cook.screenshot({ path: path.join(out, "cook-notifications-on.png"), fullPage: true });
    await context.close();
  } finally {
    await server.dispose();
  }
});
