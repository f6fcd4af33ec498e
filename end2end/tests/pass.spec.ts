// The pass (API.md section 12): several chefs on the dashboard at once. A new card is made from
// its announcement, a card any chef reviews goes from every dashboard at once, and a chef's own
// request's decision reaches their dashboard as a toast.
import { Page, Request } from "@playwright/test";
import { expect, test } from "./guard";
import { serverForTests } from "./server";

const server = serverForTests("each");

/** Every GET of items (one item, or a list) the page makes from now on. */
function itemReads(page: Page): string[] {
  const reads: string[] = [];
  page.on("request", (request: Request) => {
    const url = new URL(request.url());
    if (request.method() === "GET" && /^\/api\/v1\/(ingredient-requests|dish-suggestions)/.test(url.pathname)) {
      reads.push(url.pathname + url.search);
    }
  });
  return reads;
}

test("two chefs: one approves, the other's card is gone within 200 ms, and neither page read an item", async ({ browser }) => {
  const head = await server.openHome(await server.signedIn(browser, "gordon@miseos.dk"));
  const sous = await server.openHome(await server.signedIn(browser, "monica@miseos.dk"));
  const [headReads, sousReads] = [itemReads(head), itemReads(sous)];

  const cook = await server.token("ali@miseos.dk");
  await server.api("POST", "/api/v1/ingredient-requests", cook, { itemName: "Frisk Dild", quantity: 2, unit: "bunch", note: "til gravlaksen" });
  for (const page of [head, sous]) {
    const card = page.getByTestId("pending-card").filter({ hasText: "Frisk Dild" });
    // Made from the frame alone: the amount, the note and the requester are all on it.
    await expect(card).toContainText("2 bunch");
    await expect(card).toContainText("til gravlaksen");
    await expect(card).toContainText("Ali Hassan");
  }

  // The sous chef's page notes the moment the card leaves it, by the same clock as the test.
  const gone = sous.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const present = () => [...document.querySelectorAll("[data-testid=pending-card]")].some((card) => card.textContent?.includes("Frisk Dild"));
        new MutationObserver(() => {
          if (!present()) resolve(Date.now());
        }).observe(document.body, { childList: true, subtree: true });
      }),
  );
  const approving = head.waitForRequest((request) => /\/approve$/.test(request.url()));
  await head.getByTestId("pending-card").filter({ hasText: "Frisk Dild" }).getByRole("button", { name: "Approve" }).click();
  // Playwright fills a request's timing in once its response has come.
  const approval = await approving;
  await approval.response();
  const approvedAt = approval.timing().startTime;
  expect(approvedAt, "the request's start, by the wall clock").toBeGreaterThan(0);
  const goneAt = await gone;
  expect(goneAt - approvedAt, "from the approve request to the card leaving the other dashboard, ms").toBeLessThan(200);
  await expect(sous.getByTestId("badge-ingredients").locator(".count")).toHaveText("0");
  await expect(sous.getByRole("status").filter({ hasText: "already" })).toHaveCount(0);

  // The reconcile a second after the count would read the list if cards and counts disagreed.
  await sous.waitForTimeout(1_500);
  expect(headReads, "the head chef's page read no item").toEqual([]);
  expect(sousReads, "the sous chef's page read no item").toEqual([]);
});

test("a sous chef's own request: the decision reaches their dashboard as a toast", async ({ browser }) => {
  const sous = await server.openHome(await server.signedIn(browser, "monica@miseos.dk"));
  const sousToken = await server.token("monica@miseos.dk");
  const created = await server.api("POST", "/api/v1/ingredient-requests", sousToken, { itemName: "Kaviar", quantity: 1, unit: "tin" });
  await expect(sous.getByTestId("pending-card").filter({ hasText: "Kaviar" })).toBeVisible();

  const head = await server.token("gordon@miseos.dk");
  await server.api("POST", `/api/v1/ingredient-requests/${created.id}/reject`, head, { note: "Ikke i dag" });
  await expect(sous.getByTestId("toast")).toContainText("Gordon Ramsay rejected “Kaviar”. Note: Ikke i dag");
  await expect(sous.getByTestId("pending-card")).toHaveCount(0);
});

test("bulk: cards chosen by tap and by keyboard, approved with one note; one reviewed meanwhile is marked on its card", async ({ browser }) => {
  const cook = await server.token("ali@miseos.dk");
  const ids: Record<string, number> = {};
  for (const name of ["Persille", "Purløg", "Kørvel"]) {
    ids[name] = (await server.api("POST", "/api/v1/ingredient-requests", cook, { itemName: name, quantity: 1, unit: "bunch" })).id;
  }
  // The head chef's link loses the news of one review (its ITEM_REVIEWED and count frames, as
  // bad Wi-Fi might), so that card stays up and the bulk review meets it already reviewed.
  let lost: number | undefined;
  let countToLose = false;
  const context = await server.signedIn(browser, "gordon@miseos.dk", { hasTouch: true });
  const head = await context.newPage();
  await head.routeWebSocket(/\/api\/v1\/notifications$/, (socket) => {
    const upstream = socket.connectToServer();
    upstream.onMessage((message) => {
      const frame = JSON.parse(message.toString());
      if (frame.notificationType === "ITEM_REVIEWED" && frame.requestId === lost) {
        countToLose = true;
        return;
      }
      if (frame.notificationType === "PENDING_COUNT_UPDATED" && countToLose) {
        countToLose = false;
        return;
      }
      socket.send(message);
    });
  });
  await head.goto(`${server.url}/`);
  await expect(head.getByTestId("link-state")).toHaveText("Live");
  await expect(head.getByTestId("pending-card")).toHaveCount(3);

  const card = (name: string) => head.getByTestId("pending-card").filter({ hasText: name });
  const select = (name: string) => card(name).getByRole("checkbox");
  // A thumb's target: the whole label, at least 48 px each way.
  const target = await card("Persille").locator("label.select").boundingBox();
  expect(target!.height).toBeGreaterThanOrEqual(48);
  expect(target!.width).toBeGreaterThanOrEqual(48);
  await card("Persille").locator("label.select").tap();
  await select("Purløg").focus();
  await head.keyboard.press("Space");
  await select("Kørvel").tap();
  await expect(head.getByTestId("bulk-count")).toHaveText("3 selected");

  lost = ids["Kørvel"];
  await server.api("POST", `/api/v1/ingredient-requests/${lost}/reject`, await server.token("monica@miseos.dk"), {});
  await head.getByLabel("Note for the selected items (optional)").fill("Bestilt hos grønthandleren");
  await head.getByRole("button", { name: "Approve selected" }).click();

  await expect(card("Kørvel").getByTestId("card-failure")).toHaveText("Someone has already reviewed this.");
  await expect(head.locator(".notice")).toHaveText("2 reviewed; 1 not: see the cards marked.");
  await expect(card("Persille")).toHaveCount(0);
  await expect(card("Purløg")).toHaveCount(0);
  // The counts disagree with the board, so it reads its list again: the stale card goes too.
  await expect(head.getByTestId("pending-card")).toHaveCount(0);
  await expect(head.getByTestId("bulk-bar")).toHaveCount(0);

  const approved = await server.api("GET", `/api/v1/ingredient-requests/${ids["Persille"]}`, cook);
  expect([approved.status, approved.reviewNote]).toEqual(["APPROVED", "Bestilt hos grønthandleren"]);
});

test("the head chef's settings reach every open page at once: the name in the top bar and the title, the waiting colours", async ({ browser }) => {
  const cookToken = await server.token("ali@miseos.dk");
  await server.api("POST", "/api/v1/ingredient-requests", cookToken, { itemName: "Skalotteløg", quantity: 2, unit: "kg" });
  // The sous chef's dashboard, on a clock the test moves: the card has waited two minutes.
  const sous = await (await server.signedIn(browser, "monica@miseos.dk")).newPage();
  await sous.clock.install({ time: Date.now() });
  await sous.goto(`${server.url}/`);
  await expect(sous.getByTestId("link-state")).toHaveText("Live");
  await expect(sous.getByTestId("kitchen-name")).toHaveText("MiseOS Test Kitchen");
  await expect(sous).toHaveTitle("(1) MiseOS Test Kitchen · MiseOS Live");
  await sous.clock.fastForward("02:00");
  const waiting = sous.getByTestId("pending-card").getByTestId("waiting");
  await expect(waiting).toHaveText("waiting 2 min");
  await expect(waiting).toHaveClass("waiting");
  const cook = await server.openHome(await server.signedIn(browser, "ali@miseos.dk"));

  const head = await (await server.signedIn(browser, "gordon@miseos.dk")).newPage();
  await head.goto(`${server.url}/settings`);
  await head.getByLabel("Kitchen name").fill("Noma");
  await head.getByLabel("A waiting card turns amber after (minutes)").fill("1");
  await head.getByLabel("…and red after (minutes)").fill("2");
  await head.getByRole("button", { name: "Save" }).click();
  await expect(head.getByRole("status").filter({ hasText: "Saved" })).toBeVisible();
  await expect(head.getByTestId("kitchen-name")).toHaveText("Noma");

  // No reload anywhere: the socket's KITCHEN_UPDATED.
  await expect(waiting).toHaveClass("waiting red");
  await expect(sous.getByTestId("kitchen-name")).toHaveText("Noma");
  await expect(sous).toHaveTitle("(1) Noma · MiseOS Live");
  await expect(cook.getByTestId("kitchen-name")).toHaveText("Noma");

  // A rule broken (red before amber: the server checks them together) is said in the form's
  // own words, and nothing changes.
  await head.getByLabel("…and red after (minutes)").fill("3");
  await head.getByLabel("A waiting card turns amber after (minutes)").fill("5");
  await head.getByRole("button", { name: "Save" }).click();
  await expect(head.getByRole("alert").filter({ hasText: "Red:" })).toHaveText("Red: a whole number of minutes from the amber one to 1440.");
  const kitchen = await server.api("GET", "/api/v1/kitchen", cookToken);
  expect([kitchen.name, kitchen.amberMinutes, kitchen.redMinutes]).toEqual(["Noma", 1, 2]);
});

test("the settings page is the head chef's: a sous chef is sent home", async ({ browser }) => {
  const sous = await (await server.signedIn(browser, "monica@miseos.dk")).newPage();
  await sous.goto(`${server.url}/settings`);
  await expect(sous).toHaveURL(`${server.url}/`);
  await expect(sous.getByRole("link", { name: "Settings" })).toHaveCount(0);
});

test("on a phone the top bar is one row, and the rest opens from its menu button", async ({ browser }) => {
  const cook = await server.openHome(await server.signedIn(browser, "ali@miseos.dk", { viewport: { width: 390, height: 844 }, hasTouch: true }));
  const bar = cook.locator("header.top-bar");
  await expect(cook.getByTestId("kitchen-name")).toHaveText("MiseOS Test Kitchen");
  // One row of 48 px controls and its padding.
  expect((await bar.boundingBox())!.height).toBeLessThan(72);
  await expect(cook.getByRole("button", { name: "Sign out" })).toBeHidden();
  const menu = cook.getByRole("button", { name: "Menu" });
  await expect(menu).toHaveAttribute("aria-expanded", "false");
  await menu.tap();
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await expect(cook.getByRole("link", { name: "History" })).toBeVisible();
  await cook.getByRole("button", { name: "Sign out" }).tap();
  await expect(cook).toHaveURL(/\/login/);
});
