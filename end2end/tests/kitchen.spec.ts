// The live kitchen in a real Chromium: a head chef's dashboard and a cook's view in two
// separate browser contexts (two people), against the real server binary.
import { Browser, Page } from "@playwright/test";
import { expect, test } from "./guard";
import { serverForTests } from "./server";

const server = serverForTests("each");

/** `email`'s home page, live, with the browser's clock under the test's control from the first script on. */
async function openHomeOnTestClock(browser: Browser, email: string): Promise<Page> {
  const page = await (await server.signedIn(browser, email)).newPage();
  await page.clock.install({ time: Date.now() });
  await page.goto(`${server.url}/`);
  await expect(page.getByTestId("link-state")).toHaveText("Live");
  return page;
}

const badge = (page: Page, name: "ingredients" | "dishes" | "total") => page.getByTestId(`badge-${name}`).locator(".count");

test("the chef's badge rises when a cook asks, and the cook is told when the chef approves", async ({ browser }) => {
  const chef = await server.openHome(await server.signedIn(browser, "gordon@miseos.dk"));
  const cook = await server.openHome(await server.signedIn(browser, "ali@miseos.dk"));
  await expect(badge(chef, "ingredients")).toHaveText("0");

  await cook.getByLabel("Ingredient", { exact: true }).fill("Frisk Dild");
  await cook.getByLabel("Quantity").fill("2");
  await cook.getByLabel("Unit").fill("bunch");
  await cook.getByLabel("Note", { exact: true }).fill("til gravlaksen");
  await cook.getByRole("button", { name: "Send request" }).click();
  await expect(cook.getByTestId("my-item").filter({ hasText: "Frisk Dild" })).toContainText("Pending");

  await expect(badge(chef, "ingredients")).toHaveText("1");
  await expect(badge(chef, "total")).toHaveText("1");
  // Said once, in one sentence, rather than by each of the three badges.
  await expect(chef.locator(".badges [aria-live]")).toHaveCount(0);
  await expect(chef.getByTestId("pending-announcement")).toHaveText("1 pending: 1 ingredient request, 0 dish suggestions");
  const card = chef.getByTestId("pending-card").filter({ hasText: "Frisk Dild" });
  await expect(card).toContainText("2 bunch");
  await expect(card).toContainText("Ali Hassan");
  await expect(card).toHaveClass(/fresh/);

  await card.getByLabel("Note for Frisk Dild").fill("Tak, Ali");
  await card.getByRole("button", { name: "Approve" }).click();
  await expect(badge(chef, "ingredients")).toHaveText("0");
  await expect(card).toHaveCount(0);

  const toast = cook.getByTestId("toast");
  await expect(toast).toContainText("Gordon Ramsay approved “Frisk Dild”. Note: Tak, Ali");
  await expect(cook.getByTestId("my-item").filter({ hasText: "Frisk Dild" })).toContainText("Approved");
  await toast.getByRole("button", { name: "Dismiss" }).click();
  await expect(toast).toHaveCount(0);
});

test("a rejected dish suggestion reaches the cook, and the server's validation shows inline", async ({ browser }) => {
  const chef = await server.openHome(await server.signedIn(browser, "monica@miseos.dk"));
  const cook = await server.openHome(await server.signedIn(browser, "sara@miseos.dk"));

  await cook.getByRole("button", { name: "Send request" }).click();
  // Told by the error's code and field in the cook's language, not as the server's message.
  await expect(cook.getByRole("alert").filter({ hasText: "Write the ingredient" })).toHaveText(
    "Write the ingredient: one line of at most 100 characters.",
  );

  await cook.getByLabel("Dish", { exact: true }).fill("Stegt flæsk 🥓");
  await cook.getByLabel("Description").fill("Med persillesovs");
  await cook.getByRole("button", { name: "Send suggestion" }).click();
  await expect(badge(chef, "dishes")).toHaveText("1");
  await chef.getByTestId("pending-card").filter({ hasText: "Stegt flæsk 🥓" }).getByRole("button", { name: "Reject" }).click();
  await expect(cook.getByTestId("toast")).toContainText("Monica Galetti rejected “Stegt flæsk 🥓”.");
  await expect(cook.getByTestId("my-item").filter({ hasText: "Stegt flæsk" })).toContainText("Rejected");
  await expect(badge(chef, "dishes")).toHaveText("0");
});

test("a cook's second tab takes over and the first stays disconnected", async ({ browser }) => {
  const context = await server.signedIn(browser, "noah@miseos.dk");
  const first = await server.openHome(context);
  const second = await server.openHome(context);
  await expect(first.getByRole("alert").filter({ hasText: "MiseOS was opened in another tab or device" })).toBeVisible();
  await expect(first.getByTestId("link-state")).toHaveText("Disconnected");
  // It does not reconnect by itself (which would in turn replace the second tab).
  await first.waitForTimeout(3_000);
  await expect(first.getByTestId("link-state")).toHaveText("Disconnected");
  await expect(second.getByTestId("link-state")).toHaveText("Live");
});

test("after a server restart the dashboard reconnects and shows the right counts", async ({ browser }) => {
  const chef = await server.openHome(await server.signedIn(browser, "gordon@miseos.dk"));
  const cookToken = await server.token("ali@miseos.dk");
  await server.api("POST", "/api/v1/ingredient-requests", cookToken, { itemName: "Smør", quantity: 1, unit: "kg" });
  await expect(badge(chef, "ingredients")).toHaveText("1");

  const port = server.port;
  await server.stop();
  await expect(chef.getByTestId("link-state")).not.toHaveText("Live");
  await server.start(port);
  await server.api("POST", "/api/v1/ingredient-requests", cookToken, { itemName: "Rugbrød", quantity: 2, unit: "stk" });
  await server.api("POST", "/api/v1/dish-suggestions", cookToken, { name: "Smørrebrød", description: "" });

  await expect(chef.getByTestId("link-state")).toHaveText("Live", { timeout: 20_000 });
  await expect(badge(chef, "ingredients")).toHaveText("2");
  await expect(badge(chef, "dishes")).toHaveText("1");
  await expect(badge(chef, "total")).toHaveText("3");
  await expect(chef.getByTestId("pending-card")).toHaveCount(3);
});

test("markup in a name is shown as text and never runs", async ({ browser }) => {
  const chef = await server.openHome(await server.signedIn(browser, "gordon@miseos.dk"));
  let dialogs = 0;
  chef.on("dialog", (dialog) => {
    dialogs += 1;
    void dialog.dismiss();
  });
  const cook = await server.openHome(await server.signedIn(browser, "ali@miseos.dk"));
  const hostile = "<img src=x onerror=alert(1)>";
  await cook.getByLabel("Ingredient", { exact: true }).fill(hostile);
  await cook.getByLabel("Unit").fill("kg");
  await cook.getByRole("button", { name: "Send request" }).click();

  const card = chef.getByTestId("pending-card").filter({ hasText: hostile });
  await expect(card.locator(".title")).toHaveText(hostile);
  await expect(card.locator("img")).toHaveCount(0);
  // Also after a full server render of the same data.
  await chef.reload();
  await expect(chef.getByTestId("pending-card").filter({ hasText: hostile }).locator(".title")).toHaveText(hostile);
  await expect(chef.locator(".card img")).toHaveCount(0);
  expect(dialogs).toBe(0);
});

test("a cook over the write limit is told so in words, next to the form", async ({ browser }) => {
  const context = await server.signedIn(browser, "sara@miseos.dk");
  // Thirty requests a minute are allowed; the session cookie authenticates these, so they
  // come from the kitchen's own origin as JSON, like the app's.
  for (let index = 0; index < 30; index++) {
    const response = await context.request.post(`${server.url}/api/v1/dish-suggestions`, {
      data: { name: `Ret ${index}`, description: "Dagens" },
      headers: { Origin: server.url },
    });
    expect(response.status()).toBe(201);
  }
  const cook = await server.openHome(context);
  await cook.getByLabel("Ingredient", { exact: true }).fill("Persille");
  await cook.getByLabel("Unit").fill("bundt");
  await cook.getByRole("button", { name: "Send request" }).click();
  await expect(cook.getByRole("alert").filter({ hasText: "Try again" })).toHaveText(
    /^You have sent as much as the kitchen allows for now\. Try again in \d+ s\.$/,
  );
});

test("a pending item shows how long it has waited, amber after 10 minutes and red after 20, and the title counts", async ({ browser }) => {
  const chef = await openHomeOnTestClock(browser, "gordon@miseos.dk");
  await expect(chef).toHaveTitle("MiseOS Test Kitchen · MiseOS Live");

  const cook = await server.token("ali@miseos.dk");
  await server.api("POST", "/api/v1/ingredient-requests", cook, { itemName: "Kørvel", quantity: 1, unit: "bundt" });
  const card = chef.getByTestId("pending-card").filter({ hasText: "Kørvel" });
  const waiting = card.getByTestId("waiting");
  await expect(waiting).toHaveText("waiting under a minute");
  await expect(chef).toHaveTitle("(1) MiseOS Test Kitchen · MiseOS Live");

  await chef.clock.fastForward("10:30");
  await expect(waiting).toHaveText("waiting 10 min");
  await expect(waiting).toHaveClass(/amber/);
  await chef.clock.fastForward("10:00");
  await expect(waiting).toHaveText("waiting 20 min");
  await expect(waiting).toHaveClass(/red/);

  await card.getByRole("button", { name: "Approve" }).click();
  await expect(card).toHaveCount(0);
  await expect(chef).toHaveTitle("MiseOS Test Kitchen · MiseOS Live");
  await chef.context().close();
});

test("a toast waits while the cook's pointer or focus is on it, then goes", async ({ browser }) => {
  const cook = await openHomeOnTestClock(browser, "ali@miseos.dk");
  const [asker, chef] = [await server.token("ali@miseos.dk"), await server.token("gordon@miseos.dk")];
  const decide = async (itemName: string) => {
    const item = await server.api("POST", "/api/v1/ingredient-requests", asker, { itemName, quantity: 1, unit: "kg" });
    await server.api("POST", `/api/v1/ingredient-requests/${item.id}/approve`, chef, {});
  };

  await decide("Dild");
  const toast = cook.getByTestId("toast").filter({ hasText: "Dild" });
  await expect(toast).toBeVisible();
  await toast.hover();
  await cook.clock.runFor(30_000);
  await expect(toast).toBeVisible();
  await cook.mouse.move(0, 0);
  await cook.clock.runFor(16_000);
  await expect(toast).toHaveCount(0);

  await decide("Persille");
  const second = cook.getByTestId("toast").filter({ hasText: "Persille" });
  await second.getByRole("button", { name: "Dismiss" }).focus();
  await cook.clock.runFor(30_000);
  await expect(second).toBeVisible();
  await second.getByRole("button", { name: "Dismiss" }).blur();
  await cook.clock.runFor(16_000);
  await expect(second).toHaveCount(0);
  await cook.context().close();
});

test("a dropped dashboard reconnects as soon as the browser is back online or the page is visible again", async ({ browser }) => {
  const chef = await openHomeOnTestClock(browser, "gordon@miseos.dk");
  const link = chef.getByTestId("link-state");
  for (const chance of ["online", "visibilitychange"]) {
    const port = server.port;
    await server.stop();
    await expect(link).not.toHaveText("Live");
    // From here the page's time stands still: its backoff cannot run out, so only the event
    // can bring the socket back.
    await chef.clock.pauseAt(Date.now() + 2_000);
    await server.start(port);
    await chef.evaluate((name) => (name === "online" ? window : document).dispatchEvent(new Event(name)), chance);
    await expect(link).toHaveText("Live");
    await chef.clock.resume();
  }
  await chef.context().close();
});
