// What an operator does under a live kitchen: restoring the database from a backup while a
// head chef's dashboard stays open on the wall.
import path from "node:path";
import { expect, test } from "./guard";
import { PASSWORD, serverForTests } from "./server";

const server = serverForTests("each");

test("after a restore from a backup, an open dashboard is sent to sign in again and then shows the backup's counts", async ({ browser }) => {
  const context = await browser.newContext();
  const login = await context.request.post(`${server.url}/api/v1/auth/login`, { data: { email: "gordon@miseos.dk", password: PASSWORD } });
  expect(login.ok()).toBeTruthy();
  const chef = await context.newPage();
  await chef.goto(`${server.url}/`);
  await expect(chef.getByTestId("link-state")).toHaveText("Live");
  const ingredients = chef.getByTestId("badge-ingredients").locator(".count");

  let cook = await server.token("ali@miseos.dk");
  const ask = (itemName: string) =>
    server.api("POST", "/api/v1/ingredient-requests", cook, { itemName, quantity: 1, unit: "kg", note: null });
  await ask("Dild");
  await expect(ingredients).toHaveText("1");
  const backup = path.join(server.dataDir, "backup.db");
  expect(server.cli("backup", backup)).toContain("backed up the database");
  await ask("Persille");
  await ask("Purløg");
  await expect(ingredients).toHaveText("3");

  // Stopped, restored, and started again on the same port. The sessions the backup held are
  // not trusted again (API.md section 8): the dashboard's comes back revoked, and the page
  // says so on the sign-in page.
  const port = server.port;
  await server.stop();
  expect(server.cli("restore", backup)).toContain("its epoch is now");
  await server.start(port);
  await expect(chef).toHaveURL(`${server.url}/login?ended=session-revoked`, { timeout: 20_000 });

  // Signed in again, the dashboard shows the restored database: its seq (1) is lower than the
  // one the page held before (3).
  await chef.getByLabel("Email").fill("gordon@miseos.dk");
  await chef.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await chef.getByRole("button", { name: "Sign in" }).click();
  await expect(chef.getByTestId("link-state")).toHaveText("Live", { timeout: 20_000 });
  await expect(ingredients).toHaveText("1");
  await expect(chef.getByTestId("pending-card")).toHaveCount(1);
  await expect(chef.getByTestId("pending-card")).toContainText("Dild");

  // And it goes on living in the restored database's seq.
  cook = await server.token("ali@miseos.dk");
  await ask("Kørvel");
  await expect(ingredients).toHaveText("2");
  await context.close();
});
