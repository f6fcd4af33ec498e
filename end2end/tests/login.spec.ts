import { expect, test } from "@playwright/test";
import { MiseServer, PASSWORD } from "./server";

let server: MiseServer;

test.beforeAll(async () => {
  server = new MiseServer();
  await server.start();
});

test.afterAll(async () => {
  await server.dispose();
});

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
  await expect(page).toHaveURL(/\/login$/);
});

test("a wrong password is refused with a message", async ({ page }) => {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Email").fill("gordon@miseos.dk");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("wrong email or password");
  await expect(page).toHaveURL(/\/login$/);
});
