// On the kitchen floor (issue 13): the interface in Danish and English, the count on the title
// and the favicon, the cook's buzz and "while you were away", and the themes.
import { expect, test } from "./guard";
import { serverForTests } from "./server";

const server = serverForTests("each");

declare global {
  interface Window {
    vibrations: number[];
  }
}

test("a Danish browser gets the whole interface in Danish, numbers and dates too, and the switch is remembered", async ({ browser }) => {
  const ali = await server.token("ali@miseos.dk");
  await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Rødspættefilet", quantity: 3.5, unit: "kg" });

  // The sign-in page, before anyone is known, from Accept-Language.
  const visitor = await browser.newContext({ locale: "da-DK" });
  const signIn = await visitor.newPage();
  await signIn.goto(`${server.url}/login`);
  await expect(signIn.locator("html")).toHaveAttribute("lang", "da");
  await expect(signIn.getByRole("button", { name: "Log ind" })).toBeVisible();
  await signIn.getByLabel("E-mail").fill("gordon@miseos.dk");
  await signIn.getByLabel("Adgangskode").fill("not the password");
  await signIn.getByRole("button", { name: "Log ind" }).click();
  await expect(signIn.getByRole("alert")).toHaveText("Forkert e-mail eller adgangskode.");

  const chef = await server.openHome(await server.signedIn(browser, "gordon@miseos.dk", { locale: "da-DK" }));
  await expect(chef.getByRole("heading", { name: "Varebestillinger" })).toBeVisible();
  await expect(chef.getByTestId("pending-announcement")).toHaveText("1 afventer: 1 varebestilling, 0 retforslag");
  const card = chef.getByTestId("pending-card").filter({ hasText: "Rødspættefilet" });
  await expect(card).toContainText("3,5 kg");
  await expect(card.locator("time")).toHaveText(/^\d{1,2}\. (jan\.|feb\.|mar\.|apr\.|maj|jun\.|jul\.|aug\.|sep\.|okt\.|nov\.|dec\.) \d{4} kl\. \d{2}\.\d{2}$/);
  await expect(card).toContainText("venter under et minut");
  await expect(card.getByRole("button", { name: "Godkend" })).toBeVisible();

  // The switch: English at once, and still English after a reload (a cookie the server reads).
  await chef.getByTestId("language-switch").click();
  await expect(chef.locator("html")).toHaveAttribute("lang", "en");
  await expect(chef.getByRole("heading", { name: "Ingredient requests" })).toBeVisible();
  await expect(card).toContainText("3.5 kg");
  await chef.reload();
  await expect(chef.getByTestId("link-state")).toHaveText("Live");
  await expect(chef.getByRole("button", { name: "Approve" })).toBeVisible();
  await expect(chef.getByTestId("language-switch")).toHaveText("Dansk");

  // A cook's validation error, told in Danish from its code and field.
  const cook = await server.openHome(await server.signedIn(browser, "sara@miseos.dk", { locale: "da" }), "Live");
  await cook.getByRole("button", { name: "Send bestilling" }).click();
  await expect(cook.getByRole("alert").filter({ hasText: "Skriv" })).toHaveText("Skriv varen: én linje på højst 100 tegn.");
  await cook.getByLabel("Vare", { exact: true }).fill("Persille");
  await cook.getByLabel("Mængde").fill("0,5");
  await cook.getByLabel("Enhed").fill("bundt");
  await cook.getByRole("button", { name: "Send bestilling" }).click();
  await expect(cook.getByTestId("my-item").filter({ hasText: "Persille" })).toContainText("0,5 bundt");
  await expect(cook.getByTestId("my-item").filter({ hasText: "Persille" })).toContainText("Afventer");
});

test("the title and the favicon count what is pending", async ({ browser }) => {
  const chef = await server.openHome(await server.signedIn(browser, "gordon@miseos.dk"));
  const icon = chef.locator("link[rel='icon']");
  await expect(chef).toHaveTitle("MiseOS Test Kitchen · MiseOS Live");
  await expect(icon).toHaveAttribute("href", "/icon.svg");
  const ali = await server.token("ali@miseos.dk");
  await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Kapers", quantity: 1, unit: "glas" });
  await server.api("POST", "/api/v1/dish-suggestions", ali, { name: "Tarteletter", description: "" });
  await expect(chef).toHaveTitle("(2) MiseOS Test Kitchen · MiseOS Live");
  await expect(icon).toHaveAttribute("data-count", "2");
  await expect(icon).toHaveAttribute("href", /^data:image\/svg\+xml,.*%3E2%3C\/text%3E/);
  // The icon is a real image the browser can draw.
  const drawn = await chef.evaluate(async (href) => {
    const image = new Image();
    image.src = href;
    await image.decode();
    return image.naturalWidth > 0;
  }, await icon.getAttribute("href"));
  expect(drawn).toBe(true);
});

test("a cook's phone buzzes once per decision, counts it in the title, and catches up on what came while away", async ({ browser }) => {
  const context = await server.signedIn(browser, "ali@miseos.dk");
  await context.addInitScript(() => {
    window.vibrations = [];
    Object.defineProperty(Navigator.prototype, "vibrate", {
      value: (pattern: number) => {
        window.vibrations.push(pattern);
        return true;
      },
    });
  });
  const ali = await server.token("ali@miseos.dk");
  const chef = await server.token("gordon@miseos.dk");
  const cook = await server.openHome(context);
  await expect(cook.getByTestId("while-away")).toHaveCount(0);

  // Live: a toast, one buzz, and the title counts the unread toast.
  const dill = await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Frisk Dild", quantity: 2, unit: "bundt" });
  await server.api("POST", `/api/v1/ingredient-requests/${dill.id}/approve`, chef, {});
  await expect(cook.getByTestId("toast")).toContainText("Gordon Ramsay approved “Frisk Dild”.");
  expect(await cook.evaluate(() => window.vibrations)).toEqual([200]);
  await expect(cook).toHaveTitle("(1) MiseOS Test Kitchen · MiseOS Live");
  await cook.getByTestId("toast").getByRole("button", { name: "Dismiss" }).click();
  await expect(cook).toHaveTitle("MiseOS Test Kitchen · MiseOS Live");

  // Away: the page is gone while two decisions are made. (Leaving it first: a closing page's
  // socket can still hear the next decision, which then counts as seen, rightly.)
  await cook.goto("about:blank");
  await cook.close();
  const capers = await server.api("POST", "/api/v1/ingredient-requests", ali, { itemName: "Kapers", quantity: 1, unit: "glas" });
  const tart = await server.api("POST", "/api/v1/dish-suggestions", ali, { name: "Tarteletter", description: "Med høns i asparges" });
  await server.api("POST", `/api/v1/ingredient-requests/${capers.id}/reject`, chef, { note: "Vi har nok" });
  await server.api("POST", `/api/v1/dish-suggestions/${tart.id}/approve`, chef, {});

  const back = await server.openHome(context);
  const away = back.getByTestId("while-away");
  await expect(away).toBeVisible();
  await expect(away).toContainText("2 decisions on your items while you were away:");
  await expect(away.getByTestId("away-decision")).toHaveCount(2);
  await expect(away.getByTestId("away-decision").first()).toContainText("Tarteletter");
  await expect(away).toContainText("Vi har nok");
  // The dill was toasted live, so it is not news.
  await expect(away).not.toContainText("Frisk Dild");
  await expect(back).toHaveTitle("(2) MiseOS Test Kitchen · MiseOS Live");
  expect(await back.evaluate(() => window.vibrations)).toEqual([]);

  await away.getByTestId("mark-seen").click();
  await expect(away).toHaveCount(0);
  await expect(back).toHaveTitle("MiseOS Test Kitchen · MiseOS Live");
  // Seen is seen: a new visit does not show them again.
  await back.reload();
  await expect(back.getByTestId("link-state")).toHaveText("Live");
  await expect(back.getByTestId("while-away")).toHaveCount(0);
});

test("themes: the system's dark and high-contrast choices, and a manual one that is remembered", async ({ browser }) => {
  const context = await server.signedIn(browser, "gordon@miseos.dk");
  const chef = await server.openHome(context);
  const paper = () => chef.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await expect(chef.locator("html")).toHaveAttribute("data-theme", "auto");
  expect(await paper()).toBe("rgb(246, 244, 238)");
  await chef.emulateMedia({ colorScheme: "dark" });
  expect(await paper()).toBe("rgb(17, 22, 20)");
  await chef.emulateMedia({ colorScheme: "light", contrast: "more" } as any);
  expect(await paper()).toBe("rgb(255, 255, 255)");
  await chef.emulateMedia({ colorScheme: "light", contrast: "no-preference" } as any);

  await chef.getByTestId("theme-choice").selectOption("dark");
  await expect(chef.locator("html")).toHaveAttribute("data-theme", "dark");
  expect(await paper()).toBe("rgb(17, 22, 20)");
  await chef.reload();
  await expect(chef.getByTestId("link-state")).toHaveText("Live");
  // Rendered dark by the server, before any script ran.
  await expect(chef.locator("html")).toHaveAttribute("data-theme", "dark");
  await expect(chef.getByTestId("theme-choice")).toHaveValue("dark");
  await chef.getByTestId("theme-choice").selectOption("contrast");
  expect(await paper()).toBe("rgb(255, 255, 255)");
  const ink = await chef.evaluate(() => getComputedStyle(document.body).color);
  expect(ink).toBe("rgb(0, 0, 0)");
});
