import { Page } from "@playwright/test";
import { expect, test } from "./guard";
import { PASSWORD, serverForTests } from "./server";

const server = serverForTests();

async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a head chef adds a cook, who must change the temporary password, asks for an ingredient, and is thrown out when disabled", async ({ browser }) => {
  const chefContext = await browser.newContext();
  const chef = await chefContext.newPage();
  await signIn(chef, "gordon@miseos.dk", PASSWORD);
  await expect(chef).toHaveURL(`${server.url}/`);
  await chef.getByRole("link", { name: "Team" }).click();
  await expect(chef).toHaveURL(`${server.url}/team`);
  await expect(chef.getByTestId("team-member")).toHaveCount(5);

  await chef.getByLabel("First name").fill("Freja");
  await chef.getByLabel("Last name").fill("Holm");
  await chef.getByLabel("Email").fill("freja@kitchen.dk");
  await chef.getByLabel("Role", { exact: true }).selectOption("PREP_COOK");
  await chef.getByRole("button", { name: "Add", exact: true }).click();
  const shown = chef.getByTestId("temporary-password");
  await expect(shown).toHaveText(/^\S{16,}$/);
  const temporary = (await shown.textContent())!.trim();
  const freja = chef.getByTestId("team-member").filter({ hasText: "freja@kitchen.dk" });
  await expect(freja).toContainText("Freja Holm");

  const cookContext = await browser.newContext();
  const cook = await cookContext.newPage();
  await signIn(cook, "freja@kitchen.dk", temporary);
  await expect(cook).toHaveURL(`${server.url}/password`);
  // Nothing else opens until the password is changed.
  await cook.goto(`${server.url}/`);
  await expect(cook).toHaveURL(`${server.url}/password`);
  await cook.getByLabel("Temporary password").fill(temporary);
  await cook.getByLabel("New password (12 to 128 characters)").fill("frejas own passphrase");
  await cook.getByLabel("New password again").fill("frejas own passphrase");
  await cook.getByRole("button", { name: "Change password" }).click();
  await expect(cook).toHaveURL(`${server.url}/`);

  await cook.getByLabel("Ingredient", { exact: true }).fill("Dild");
  await cook.getByLabel("Unit").fill("bundt");
  await cook.getByRole("button", { name: "Send request" }).click();
  await expect(cook.getByTestId("my-item").filter({ hasText: "Dild" })).toBeVisible();
  await expect(cook.getByTestId("link-state")).toHaveText("Live");

  chef.once("dialog", (dialog) => dialog.accept());
  await freja.getByRole("button", { name: "Disable" }).click();
  await expect(freja).toContainText("No");
  // The cook's open page learns it over the socket within seconds.
  await expect(cook).toHaveURL(`${server.url}/login?ended=account-disabled`, { timeout: 5_000 });
  await expect(cook.getByTestId("sign-in-notice")).toHaveText("Your account has been disabled. Ask your head chef.");
  await signIn(cook, "freja@kitchen.dk", "frejas own passphrase");
  await expect(cook.getByRole("alert")).toHaveText("Your account has been disabled. Ask your head chef.");

  await chefContext.close();
  await cookContext.close();
});

test("the sign-in page says how long to wait after too many attempts", async ({ page }) => {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Email").fill("noah@miseos.dk");
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.getByLabel("Password", { exact: true }).fill(`wrong password ${attempt}`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
    await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
  }
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText(/^Too many attempts\. Try again in \d+ s\.$/);
});
