// The history (issue 13, point 3): a chef sees today's decisions with who, when and the note,
// filtered by status, kind and person, a page at a time; a cook sees all of their own items.
import { Browser, Page } from "@playwright/test";
import { expect, test } from "./guard";
import { PASSWORD, serverForTests } from "./server";

const server = serverForTests("each");

async function openHistory(browser: Browser, email: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const response = await context.request.post(`${server.url}/api/v1/auth/login`, { data: { email, password: PASSWORD } });
  expect(response.ok()).toBeTruthy();
  const page = await context.newPage();
  await page.goto(`${server.url}/history`);
  return page;
}

test("a chef's history: today's decisions, who decided and the note, filtered, and paged to the end", async ({ browser }) => {
  const [ali, sara, gordon, monica] = await Promise.all(
    ["ali", "sara", "gordon", "monica"].map((name) => server.token(`${name}@miseos.dk`)),
  );
  // First Monica rejects a dish suggestion, with a note.
  const dish = await server.api("POST", "/api/v1/dish-suggestions", sara, { name: "Stjerneskud", description: "" });
  await server.api("POST", `/api/v1/dish-suggestions/${dish.id}/reject`, monica, { note: "Ikke i denne uge" });
  // Then 30 ingredient requests (more than one page of 25); Gordon approves them all.
  for (let index = 1; index <= 30; index++) {
    const item = await server.api("POST", "/api/v1/ingredient-requests", index % 2 ? ali : sara, {
      itemName: `Vare ${index}`,
      quantity: index,
      unit: "kg",
    });
    await server.api("POST", `/api/v1/ingredient-requests/${item.id}/approve`, gordon, {});
  }
  // One stays pending: not a decision.
  await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Venter stadig", quantity: 1, unit: "kg" });

  const page = await openHistory(browser, "gordon@miseos.dk");
  await expect(page.getByRole("heading", { name: "Decided today" })).toBeVisible();
  const rows = page.getByTestId("history-row");
  // Requests are read 25 at a time. The suggestion is older than every request, so it waits
  // until the requests are read back that far: no older item above a newer one still to come.
  await expect(rows).toHaveCount(25);
  await expect(rows.filter({ hasText: "Stjerneskud" })).toHaveCount(0);
  await expect(rows.first()).toContainText("Vare 30");
  await page.getByTestId("load-more").click();
  await expect(rows).toHaveCount(31);
  await expect(rows.last()).toContainText("Stjerneskud");
  await expect(rows.filter({ hasText: "Venter stadig" })).toHaveCount(0);
  await expect(page.getByText("Everything is shown.")).toBeVisible();
  const rejected = rows.filter({ hasText: "Stjerneskud" });
  await expect(rejected).toContainText("Rejected");
  await expect(rejected).toContainText("reviewed by Monica Galetti");
  await expect(rejected).toContainText("Ikke i denne uge");
  await expect(rejected).toContainText("Sara Jensen");

  await page.getByTestId("filter-status").selectOption("REJECTED");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("Stjerneskud");
  await page.getByTestId("filter-status").selectOption("");
  await page.getByTestId("filter-kind").selectOption("dish-suggestions");
  await expect(rows).toHaveCount(1);
  await page.getByTestId("filter-kind").selectOption("");
  // By person: Sara asked for 15 requests and the suggestion.
  await page.getByTestId("filter-person").selectOption({ label: "Sara Jensen" });
  await expect(rows).toHaveCount(16);
  await expect(page.getByText("Everything is shown.")).toBeVisible();
  await page.getByTestId("filter-person").selectOption({ label: "Monica Galetti" });
  await expect(rows).toHaveCount(1);
});

test("a cook's history: every one of their own items with its outcome, and no one else's", async ({ browser }) => {
  const [ali, sara, gordon] = await Promise.all(["ali", "sara", "gordon"].map((name) => server.token(`${name}@miseos.dk`)));
  const dill = await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Frisk Dild", quantity: 2, unit: "bundt" });
  await server.api("POST", `/api/v1/ingredient-requests/${dill.id}/approve`, gordon, { note: "Tak, Ali" });
  await server.api("POST", "/api/v1/dish-suggestions", ali, { name: "Stegt flæsk", description: "" });
  await server.api("POST", "/api/v1/ingredient-requests", sara, { itemName: "Saras", quantity: 1, unit: "kg" });

  const page = await openHistory(browser, "ali@miseos.dk");
  await expect(page.getByRole("heading", { name: "All my items" })).toBeVisible();
  const rows = page.getByTestId("history-row");
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: "Frisk Dild" })).toContainText("Approved");
  await expect(rows.filter({ hasText: "Frisk Dild" })).toContainText("Tak, Ali");
  await expect(rows.filter({ hasText: "Stegt flæsk" })).toContainText("Pending");
  await expect(rows.filter({ hasText: "Saras" })).toHaveCount(0);
  await expect(page.getByTestId("filter-person")).toHaveCount(0);
  await page.getByTestId("filter-status").selectOption("PENDING");
  await expect(rows).toHaveCount(1);
});
