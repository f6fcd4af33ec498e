// Time from navigation to a live head chef's dashboard (the badges hydrated and the socket
// welcomed) in Chromium with its CPU slowed 4x, as on a cheap kitchen tablet, over loopback and
// over a slow kitchen network (5 Mbit/s down, 1 Mbit/s up, 60 ms round trip). Prints one line
// per condition: the median of 7 cold loads (fresh browser context: nothing cached).
//
// Run against a release directory (MISEOS_E2E_RELEASE_DIR), with and without its
// precompressed files, by scripts/bench.sh site.
import { test } from "@playwright/test";
import { PASSWORD, serverForTests } from "../tests/server";

const server = serverForTests("all");
const RUNS = 7;

const networks = {
  loopback: undefined,
  "kitchen wifi": { offline: false, latency: 60, downloadThroughput: (5_000_000 / 8), uploadThroughput: (1_000_000 / 8) },
};

test("time to a live dashboard, CPU 4x slower", async ({ browser }) => {
  const label = process.env.MISEOS_MEASURE_LABEL ?? "site";
  for (const [network, conditions] of Object.entries(networks)) {
    const times: number[] = [];
    let transferred = 0;
    for (let run = 0; run < RUNS; run++) {
      const context = await browser.newContext();
      const login = await context.request.post(`${server.url}/api/v1/auth/login`, {
        data: { email: "gordon@miseos.dk", password: PASSWORD },
      });
      if (!login.ok()) throw new Error(`login: ${login.status()}`);
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
      await cdp.send("Network.enable");
      if (conditions) await cdp.send("Network.emulateNetworkConditions", conditions);
      let bytes = 0;
      cdp.on("Network.loadingFinished", (event: { encodedDataLength: number }) => (bytes += event.encodedDataLength));
      const started = Date.now();
      await page.goto(`${server.url}/`);
      await page.getByTestId("link-state").filter({ hasText: "Live" }).waitFor({ timeout: 120_000 });
      times.push(Date.now() - started);
      transferred = bytes;
      await context.close();
    }
    times.sort((a, b) => a - b);
    console.log(
      `time-to-live ${label} | ${network} | median ${times[Math.floor(RUNS / 2)]} ms | ` +
        `min ${times[0]} ms | max ${times[RUNS - 1]} ms | transferred ${(transferred / 1024).toFixed(0)} KiB`,
    );
  }
});
