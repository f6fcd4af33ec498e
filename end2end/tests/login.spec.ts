import { expect, test } from "./guard";
import { PASSWORD, serverForTests } from "./server";

const server = serverForTests();

test("a head chef signs in and lands on the dashboard, then signs out", async ({ page }) => {
  await page.goto(`${server.url}/`);
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Demo accounts" })).toBeVisible();
  await page.getByLabel("Email").fill("gordon@miseos.dk");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(`${server.url}/`);
  await expect(page.getByText("Gordon Ramsay")).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(`${server.url}/login?ended=signed-out`);
  await expect(page.getByTestId("sign-in-notice")).toHaveText("You were signed out.");
  // The session ended on the server: the dashboard asks to sign in again.
  await page.goto(`${server.url}/`);
  await expect(page).toHaveURL(/\/login$/);
});

test("a wrong password is refused with a message", async ({ page }) => {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Email").fill("gordon@miseos.dk");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
  await expect(page).toHaveURL(/\/login$/);
});

test("before hydration the sign-in form is disabled, so nothing typed is lost and no password reaches a URL", async ({ browser }) => {
  // With JavaScript off the page stays exactly as the server rendered it, which is what a
  // visitor has in hand until the wasm bundle has loaded. Enabled, Enter would submit the
  // form as a plain GET (/login?email=…&password=…), and hydration would wipe typed text.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.url}/login`);
  await expect(page.getByLabel("Email")).toBeDisabled();
  await expect(page.getByLabel("Password")).toBeDisabled();
  await expect(page.getByRole("button", { name: "Sign in" })).toBeDisabled();
  await context.close();
});
