// Two kitchens in one deployment (API.md section 9), in a real Chromium: the demo kitchen's
// head chef and a second kitchen's, made from the command line, each on a live dashboard.
// Each sees only their own kitchen's items, counts and people.
import { Page } from "@playwright/test";
import { expect, test } from "./guard";
import { PASSWORD, serverForTests } from "./server";

const server = serverForTests("all");
const NOMA_PASSWORD = "noma-kitchen-passphrase";

/** Adds a user to kitchen `kitchen` from the command line and sets their own password. */
async function addUser(kitchen: string, email: string, firstName: string, role: string): Promise<void> {
  const added = server.cli("user", "add", "--kitchen", kitchen, "--email", email, "--first-name", firstName, "--last-name", "Redzepi", "--role", role);
  const temporary = /temporary password \(shown once\): (\S+)/.exec(added)?.[1];
  expect(temporary, added).toBeTruthy();
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: temporary }),
  });
  const { token, mustChangePassword } = await login.json();
  expect(mustChangePassword).toBe(true);
  await server.api("POST", "/api/v1/auth/password", token, { currentPassword: temporary, newPassword: NOMA_PASSWORD });
}

async function tokenOf(email: string, password: string): Promise<string> {
  const response = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  expect(response.ok).toBeTruthy();
  return (await response.json()).token;
}

const badge = (page: Page) => page.getByTestId("badge-ingredients").locator(".count");

test("two head chefs of two kitchens each see only their own kitchen", async ({ browser }) => {
  const kitchen = server.cli("kitchen", "add", "--name", "Noma", "--timezone", "Europe/Copenhagen").trim();
  expect(kitchen).toBe("2");
  await addUser(kitchen, "rene@noma.dk", "René", "HEAD_CHEF");
  await addUser(kitchen, "mette@noma.dk", "Mette", "LINE_COOK");

  const gordon = await server.openHome(await server.signedIn(browser, "gordon@miseos.dk", {}, PASSWORD));
  const rene = await server.openHome(await server.signedIn(browser, "rene@noma.dk", {}, NOMA_PASSWORD));
  await expect(badge(gordon)).toHaveText("0");
  await expect(badge(rene)).toHaveText("0");

  const item = { itemName: "Tang fra Lofoten", quantity: 2, unit: "kg", note: null };
  await server.api("POST", "/api/v1/ingredient-requests", await tokenOf("mette@noma.dk", NOMA_PASSWORD), item);
  await expect(rene.getByTestId("pending-card").filter({ hasText: "Tang fra Lofoten" })).toContainText("Mette Redzepi");
  await expect(badge(rene)).toHaveText("1");

  const alis = { itemName: "Frisk Dild", quantity: 1, unit: "bunch", note: null };
  await server.api("POST", "/api/v1/ingredient-requests", await server.token("ali@miseos.dk"), alis);
  await expect(gordon.getByTestId("pending-card").filter({ hasText: "Frisk Dild" })).toBeVisible();
  await expect(badge(gordon)).toHaveText("1");

  // Each dashboard has had the other kitchen's event by now (it came after its own), and shows none.
  await expect(gordon.getByTestId("pending-card")).toHaveCount(1);
  await expect(rene.getByTestId("pending-card")).toHaveCount(1);
  await expect(gordon.getByText("Tang fra Lofoten")).toHaveCount(0);
  await expect(rene.getByText("Frisk Dild")).toHaveCount(0);
  // A reload renders the same from the server.
  await rene.reload();
  await expect(rene.getByTestId("link-state")).toHaveText("Live");
  await expect(rene.getByTestId("pending-card")).toHaveCount(1);
  await expect(badge(rene)).toHaveText("1");

  // The team page is the kitchen's own.
  await rene.goto(`${server.url}/team`);
  await expect(rene.getByText("mette@noma.dk")).toBeVisible();
  await expect(rene.getByText("gordon@miseos.dk")).toHaveCount(0);
  await gordon.goto(`${server.url}/team`);
  await expect(gordon.getByText("ali@miseos.dk")).toBeVisible();
  await expect(gordon.getByText("rene@noma.dk")).toHaveCount(0);
});
