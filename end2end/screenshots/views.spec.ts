// Renders the README's screenshots into docs/screenshots/: the dashboard and the cook's view at
// desktop and phone size, the wall screen in light and dark, the cook's "while you were
// away", the history, and the dashboard in Danish.
import { Browser, Page, expect, test } from "@playwright/test";
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
