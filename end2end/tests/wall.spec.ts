// Wall-screen mode (issue 13, point 1): a dashboard at the pass in large type that chimes once
// per new item once sound is on (and sounds an alarm, not the chime, for an item escalated for
// waiting too long: issue 25), keeps the screen awake, and is remembered on the device. The
// browser's Web Audio and Wake Lock are replaced by stubs that count what the page asks for.
import { Browser, BrowserContext } from "@playwright/test";
import { expect, test } from "./guard";
import { PASSWORD, serverForTests } from "./server";

const server = serverForTests("each");

declare global {
  interface Window {
    chimes: number;
    tones: number[];
    wakeLocks: string[];
    releasedLocks: number;
  }
}

/** Counts oscillators started (one per chime) and wake locks asked for and released. */
async function stubBrowserApis(context: BrowserContext) {
  await context.addInitScript(() => {
    window.chimes = 0;
    window.tones = [];
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
        const tone = {
          frequency: { ...param },
          connect() {},
          start: () => {
            window.chimes += 1;
            window.tones.push(Math.round(tone.frequency.value));
          },
          stop() {},
        };
        return tone;
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

/** The head chef's dashboard, live, in a context whose audio and wake lock are stubbed. */
async function headChefsDashboard(browser: Browser) {
  const context = await browser.newContext();
  await stubBrowserApis(context);
  const login = await context.request.post(`${server.url}/api/v1/auth/login`, { data: { email: "gordon@miseos.dk", password: PASSWORD } });
  expect(login.ok()).toBeTruthy();
  const chef = await context.newPage();
  await chef.goto(`${server.url}/`);
  await expect(chef.getByTestId("link-state")).toHaveText("Live");
  return { context, chef };
}

test("the wall screen: large type, one chime per new item once sound is on, the screen kept awake, remembered", async ({ browser }) => {
  const { context, chef } = await headChefsDashboard(browser);
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

test("an item nobody reviews in time: its card is marked, a toast says so, and the wall screen sounds the alarm, not the chime", async ({ browser }) => {
  // The kitchen escalates after one minute (the shortest setting): the test waits that minute
  // for real, with the server's escalator looking every 5 s.
  test.setTimeout(150_000);
  const chefToken = await server.token("gordon@miseos.dk");
  await server.api("PATCH", "/api/v1/kitchen", chefToken, { escalateAfterMinutes: 1 });
  const { context, chef } = await headChefsDashboard(browser);
  await chef.getByRole("button", { name: "Wall screen" }).click();
  await chef.getByRole("button", { name: "Enable sound" }).click();

  const cook = await server.token("ali@miseos.dk");
  await server.api("POST", "/api/v1/ingredient-requests", cook, { itemName: "Dild", quantity: 1, unit: "kg" });
  const card = chef.getByTestId("pending-card").filter({ hasText: "Dild" });
  await expect(card).toBeVisible();
  await expect.poll(() => chef.evaluate(() => window.tones)).toEqual([880]);
  await expect(card).not.toHaveClass(/escalated/);

  await expect(card).toHaveClass(/escalated/, { timeout: 90_000 });
  await expect(card.getByTestId("escalated")).toHaveText("Escalated");
  await expect(chef.getByTestId("toast")).toContainText("“Dild” has waited 1 min and nobody has reviewed it.");
  // The alarm: a falling E5–A4, twice; once.
  await expect.poll(() => chef.evaluate(() => window.tones)).toEqual([880, 659, 440, 659, 440]);
  await chef.waitForTimeout(6_000);
  expect(await chef.evaluate(() => window.tones)).toHaveLength(5);

  // A page opened later marks it too (the item says when it was escalated).
  await chef.reload();
  await expect(chef.getByTestId("pending-card").filter({ hasText: "Dild" })).toHaveClass(/escalated/);
  await context.close();
});
