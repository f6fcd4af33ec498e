// Wall-screen mode (issue 13, point 1): a dashboard at the pass in large type that chimes once
// per new item once sound is on, keeps the screen awake, and is remembered on the device. The
// browser's Web Audio and Wake Lock are replaced by stubs that count what the page asks for.
import { BrowserContext } from "@playwright/test";
import { expect, test } from "./guard";
import { PASSWORD, serverForTests } from "./server";

const server = serverForTests("each");

declare global {
  interface Window {
    chimes: number;
    wakeLocks: string[];
    releasedLocks: number;
  }
}

/** Counts oscillators started (one per chime) and wake locks asked for and released. */
async function stubBrowserApis(context: BrowserContext) {
  await context.addInitScript(() => {
    window.chimes = 0;
    window.wakeLocks = [];
    window.releasedLocks = 0;
    const param = { value: 0, setValueAtTime() {}, exponentialRampToValueAtTime() {} };
    (window as any).AudioContext = class {
      currentTime = 0;
      destination = {};
      resume() {
        return Promise.resolve();
      }
      createOscillator() {
        return { frequency: { ...param }, connect() {}, start: () => (window.chimes += 1), stop() {} };
      }
      createGain() {
        return { gain: { ...param }, connect() {} };
      }
    };
    Object.defineProperty(navigator, "wakeLock", {
      value: {
        request: async (type: string) => {
          window.wakeLocks.push(type);
          return { release: async () => (window.releasedLocks += 1) };
        },
      },
    });
  });
}

test("the wall screen: large type, one chime per new item once sound is on, the screen kept awake, remembered", async ({ browser }) => {
  const context = await browser.newContext();
  await stubBrowserApis(context);
  const login = await context.request.post(`${server.url}/api/v1/auth/login`, { data: { email: "gordon@miseos.dk", password: PASSWORD } });
  expect(login.ok()).toBeTruthy();
  const chef = await context.newPage();
  await chef.goto(`${server.url}/`);
  await expect(chef.getByTestId("link-state")).toHaveText("Live");
  const toggle = chef.getByRole("button", { name: "Wall screen" });
  await expect(toggle).toHaveAttribute("aria-pressed", "false");

  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-pressed", "true");
  await expect(chef.getByTestId("board")).toHaveClass(/wall/);
  await expect.poll(() => chef.evaluate(() => window.wakeLocks)).toEqual(["screen"]);

  // No sound before the tap that allows it.
  const cook = await server.token("ali@miseos.dk");
  const ask = (itemName: string) =>
    server.api("POST", "/api/v1/ingredient-requests", cook, { itemName, quantity: 1, unit: "kg" });
  await ask("Dild");
  await expect(chef.getByTestId("pending-card").filter({ hasText: "Dild" })).toBeVisible();
  expect(await chef.evaluate(() => window.chimes)).toBe(0);

  await chef.getByRole("button", { name: "Enable sound" }).click();
  await expect(chef.getByRole("button", { name: "Enable sound" })).toHaveCount(0);
  await ask("Persille");
  await ask("Purløg");
  await expect(chef.getByTestId("pending-card")).toHaveCount(3);
  await expect.poll(() => chef.evaluate(() => window.chimes)).toBe(2);
  // Exactly once per item: nothing more arrives later.
  await chef.waitForTimeout(500);
  expect(await chef.evaluate(() => window.chimes)).toBe(2);

  // Remembered on this device: a reload comes back in wall-screen mode, awake again.
  await chef.reload();
  await expect(chef.getByTestId("link-state")).toHaveText("Live");
  await expect(chef.getByRole("button", { name: "Wall screen" })).toHaveAttribute("aria-pressed", "true");
  await expect.poll(() => chef.evaluate(() => window.wakeLocks)).toEqual(["screen"]);

  // Off: the lock is released and the board is back to desk size.
  await chef.getByRole("button", { name: "Wall screen" }).click();
  await expect(chef.getByTestId("board")).not.toHaveClass(/wall/);
  await expect.poll(() => chef.evaluate(() => window.releasedLocks)).toBe(1);
  await context.close();
});
