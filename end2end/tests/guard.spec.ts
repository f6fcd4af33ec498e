import { expect, test } from "./guard";
import { serverForTests } from "./server";

const server = serverForTests();

test("the pages hydrate under their Content Security Policy, which names a fresh nonce", async ({ page }) => {
  const response = await page.goto(`${server.url}/login`);
  const policy = response!.headers()["content-security-policy"];
  expect(policy).toContain("frame-ancestors 'none'");
  const nonce = /'nonce-([^']+)'/.exec(policy)![1];
  // Hydrated: the controls enable only once the wasm bundle runs.
  await expect(page.getByLabel("Email")).toBeEnabled();
  await expect(page.locator(`script[nonce]`).first()).toBeAttached();
  const again = await page.goto(`${server.url}/login`);
  expect(again!.headers()["content-security-policy"]).not.toContain(nonce);
});

// The guard itself must be able to fail: an inline script without the nonce is refused by
// the browser, and the guard fails the test that caused it (expected here).
test("a script without the nonce is refused and fails its test", async ({ page }) => {
  test.fail();
  await page.goto(`${server.url}/login`);
  await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.injected = true";
    document.body.appendChild(script);
  });
  // Nothing else fails here: only the guard can make this test fail, as it must.
  await page.waitForTimeout(300);
});
