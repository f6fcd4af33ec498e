// Renders the dashboard and the cook's view at desktop and phone size for the README.
import { Browser, Page, expect, test } from "@playwright/test";
import path from "node:path";
import { MiseServer, PASSWORD } from "../tests/server";

const out = path.resolve(__dirname, "..", "..", "docs", "screenshots");
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

async function open(browser: Browser, server: MiseServer, email: string, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  await context.request.post(`${server.url}/api/v1/auth/login`, { data: { email, password: PASSWORD } });
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await expect(page.getByTestId("link-state")).toHaveText("Live");
  return page;
}

test("screenshots of both views", async ({ browser }) => {
  const server = new MiseServer();
  await server.start();
  try {
    const ali = await server.token("ali@miseos.dk");
    const sara = await server.token("sara@miseos.dk");
    const chef = await server.token("gordon@miseos.dk");
    const dill = await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Frisk Dild", quantity: 2, unit: "bunch", note: "til gravlaksen" });
    await server.api("POST", "/api/v1/ingredient-requests", sara, { itemName: "Rødspættefilet", quantity: 3.5, unit: "kg" });
    await server.api("POST", "/api/v1/dish-suggestions", sara, { name: "Stjerneskud", description: "Rødspætte, rejer, asparges og kaviar" });
    const flæsk = await server.api("POST", "/api/v1/dish-suggestions", ali, { name: "Stegt flæsk", description: "Med persillesovs" });
    await server.api("POST", `/api/v1/ingredient-requests/${dill.id}/approve`, chef, { note: "Tak, Ali" });
    await server.api("POST", `/api/v1/dish-suggestions/${flæsk.id}/reject`, chef, { note: "Ikke i denne uge" });
    for (const [size, viewport] of Object.entries(sizes)) {
      const dashboard = await open(browser, server, "gordon@miseos.dk", viewport);
      await dashboard.screenshot({ path: path.join(out, `dashboard-${size}.png`), fullPage: true });
      const cook = await open(browser, server, "ali@miseos.dk", viewport);
      await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: `Peberrod ${size}`, quantity: 1, unit: "stk" });
      const items = await server.api("GET", "/api/v1/ingredient-requests?status=PENDING", chef);
      await server.api("POST", `/api/v1/ingredient-requests/${items[0].id}/approve`, chef, { note: "Kommer i morgen" });
      await expect(cook.getByTestId("toast")).toBeVisible();
      await cook.screenshot({ path: path.join(out, `cook-${size}.png`), fullPage: true });
    }
  } finally {
    await server.dispose();
  }
});
