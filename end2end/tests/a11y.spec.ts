// Accessibility and touch (issue 13, point 5): axe finds no serious or critical violation on any
// page in either language or theme, every control is at least 48 px high, and sign-in, review
// and sign-out work with the keyboard alone.
import AxeBuilder from "@axe-core/playwright";
import { Browser, Page } from "@playwright/test";
import { expect, test } from "./guard";
import { PASSWORD, serverForTests } from "./server";

const server = serverForTests("all");

test.beforeAll(async () => {
  const [ali, gordon] = await Promise.all([server.token("ali@miseos.dk"), server.token("gordon@miseos.dk")]);
  const dill = await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Frisk Dild", quantity: 2, unit: "bundt", note: "til gravlaksen" });
  await server.api("POST", `/api/v1/ingredient-requests/${dill.id}/approve`, gordon, { note: "Tak" });
  await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Kapers", quantity: 0.5, unit: "kg" });
  await server.api("POST", "/api/v1/dish-suggestions", ali, { name: "Stegt flæsk", description: "Med persillesovs" });
  // A webhook whose test was tried (its host does not resolve here, so the log shows it trying).
  const webhook = await server.api("POST", "/api/v1/webhooks", gordon, { url: "https://purchasing.example.com/miseos", events: ["item.approved"] });
  await server.api("POST", `/api/v1/webhooks/${webhook.id}/test`, gordon);
});

/** Every page, as whom it is seen (`undefined`: signed out), and what shows it is ready. */
const pages: { path: string; as?: string; ready: (page: Page) => Promise<void> }[] = [
  { path: "/login", ready: async (page) => expect(page.locator("#login-email")).toBeEnabled() },
  { path: "/", as: "gordon@miseos.dk", ready: async (page) => expect(page.getByTestId("pending-card").first()).toBeVisible() },
  { path: "/", as: "ali@miseos.dk", ready: async (page) => expect(page.getByTestId("my-item").first()).toBeVisible() },
  { path: "/history", as: "gordon@miseos.dk", ready: async (page) => expect(page.getByTestId("history-row").first()).toBeVisible() },
  { path: "/history", as: "ali@miseos.dk", ready: async (page) => expect(page.getByTestId("history-row").first()).toBeVisible() },
  { path: "/team", as: "gordon@miseos.dk", ready: async (page) => expect(page.getByTestId("team-member").first()).toBeVisible() },
  { path: "/settings", as: "gordon@miseos.dk", ready: async (page) => expect(page.locator("#kitchen-name")).toBeEnabled() },
  { path: "/webhooks", as: "gordon@miseos.dk", ready: async (page) => expect(page.getByTestId("deliveries")).toBeVisible() },
  { path: "/password", as: "ali@miseos.dk", ready: async (page) => expect(page.locator("#current-password")).toBeEnabled() },
];

async function open(browser: Browser, path: string, as: string | undefined, locale: string, theme: string): Promise<Page> {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 900 } });
  await context.addCookies([{ name: "miseos_theme", value: theme, url: server.url }]);
  if (as) {
    const response = await context.request.post(`${server.url}/api/v1/auth/login`, { data: { email: as, password: PASSWORD } });
    expect(response.ok()).toBeTruthy();
  }
  const page = await context.newPage();
  await page.goto(`${server.url}${path}`);
  return page;
}

for (const locale of ["en-GB", "da-DK"]) {
  for (const theme of ["light", "dark", "contrast"]) {
    test(`axe finds no serious or critical violation on any page (${locale}, ${theme})`, async ({ browser }) => {
      for (const { path, as, ready } of pages) {
        const page = await open(browser, path, as, locale, theme);
        await ready(page);
        await expect(page.locator("html")).toHaveAttribute("lang", locale.slice(0, 2));
        const results = await new AxeBuilder({ page }).analyze();
        const serious = results.violations
          .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
          .map((violation) => `${path} as ${as ?? "visitor"}: ${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
        expect(serious, `axe on ${path}`).toEqual([]);
        await page.context().close();
      }
    });
  }
}

test("every control on every page is at least 48 px high, on a phone too", async ({ browser }) => {
  for (const width of [1280, 390]) {
    for (const { path, as, ready } of pages) {
      const page = await open(browser, path, as, "en-GB", "light");
      await page.setViewportSize({ width, height: 900 });
      await ready(page);
      const small = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>("button, input, select, textarea, a[href]")]
          .filter((element) => {
            const box = element.getBoundingClientRect();
            // Not shown, or the 1-pixel field that lets password managers see the email.
            return box.width > 1 && box.height > 0 && getComputedStyle(element).visibility !== "hidden";
          })
          .filter((element) => element.getBoundingClientRect().height < 48)
          .map((element) => `${element.tagName.toLowerCase()} "${(element.textContent || element.getAttribute("aria-label") || element.id).trim()}" ${element.getBoundingClientRect().height}px`),
      );
      expect(small, `controls under 48 px on ${path} at ${width} px`).toEqual([]);
      await page.context().close();
    }
  }
});

test("sign in, review and sign out with the keyboard alone", async ({ browser }) => {
  const ali = await server.token("ali@miseos.dk");
  await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Tastatur-test", quantity: 1, unit: "kg" });
  const context = await browser.newContext({ locale: "en-GB" });
  const page = await context.newPage();
  await page.goto(`${server.url}/login`);
  await expect(page.locator("#login-email")).toBeEnabled();

  /** Presses Tab until the focused element matches `selector` (at most 40 times). */
  async function tabTo(selector: string) {
    for (let presses = 0; presses < 40; presses++) {
      await page.keyboard.press("Tab");
      if (await page.evaluate((wanted) => document.activeElement?.matches(wanted) ?? false, selector)) return;
    }
    throw new Error(`Tab never reached ${selector}`);
  }

  await tabTo("#login-email");
  await page.keyboard.type("gordon@miseos.dk");
  await page.keyboard.press("Tab");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("link-state")).toHaveText("Live");

  const card = page.getByTestId("pending-card").filter({ hasText: "Tastatur-test" });
  await tabTo("input.review-note");
  await page.keyboard.type("Klaret");
  await page.keyboard.press("Tab");
  await expect(card.getByRole("button", { name: "Approve" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(card).toHaveCount(0);
  const decided = await server.api("GET", "/api/v1/ingredient-requests?status=APPROVED", await server.token("gordon@miseos.dk"));
  expect(decided.find((item: any) => item.itemName === "Tastatur-test")?.reviewNote).toBe("Klaret");

  // Sign-out is reachable and the focus is always visible on the way.
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press("Shift+Tab");
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      return { text: element?.textContent?.trim() ?? "", outline: element ? getComputedStyle(element).outlineStyle : "none" };
    });
    expect(focused.outline, `focus ring on "${focused.text}"`).not.toBe("none");
    if (focused.text === "Sign out") break;
  }
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByTestId("sign-in-notice")).toHaveText("You were signed out.");
});
