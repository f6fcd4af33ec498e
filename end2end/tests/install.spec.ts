// Installable (issue 13, point 6): a tablet at the pass can add the dashboard to its home
// screen and open it full-screen.
import { expect, test } from "./guard";
import { PASSWORD, serverForTests } from "./server";

const server = serverForTests("all");

/** The width and height a PNG's header declares. */
function pngSize(bytes: Uint8Array): [number, number] {
  expect(Array.from(bytes.slice(1, 4))).toEqual([0x50, 0x4e, 0x47]); // "PNG"
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return [view.getUint32(16), view.getUint32(20)];
}

test("the dashboard has a manifest and icons, and Chromium finds nothing missing to install it", async ({ page, context }) => {
  const login = await context.request.post(`${server.url}/api/v1/auth/login`, { data: { email: "gordon@miseos.dk", password: PASSWORD } });
  expect(login.ok()).toBeTruthy();
  await page.goto(`${server.url}/`);
  await expect(page.getByTestId("link-state")).toHaveText("Live");

  const href = await page.locator('link[rel="manifest"]').getAttribute("href");
  const response = await fetch(`${server.url}${href}`);
  expect(response.headers.get("content-type")).toContain("manifest+json");
  const manifest = await response.json();
  expect(manifest).toMatchObject({ name: "MiseOS Live", start_url: "/", display: "fullscreen" });
  const pngs = manifest.icons.filter((icon: { type: string }) => icon.type === "image/png");
  expect(pngs.map((icon: { sizes: string }) => icon.sizes)).toEqual(expect.arrayContaining(["192x192", "512x512"]));
  for (const icon of pngs) {
    const image = await fetch(`${server.url}${icon.src}`);
    expect(image.status).toBe(200);
    const [width, height] = pngSize(new Uint8Array(await image.arrayBuffer()));
    expect(`${width}x${height}`).toBe(icon.sizes);
  }

  const cdp = await context.newCDPSession(page);
  const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
  // Playwright's browser contexts are incognito, where Chromium installs nothing; that is
  // the only complaint allowed: none about the page or its manifest.
  const aboutThePage = installabilityErrors.filter((error: { errorId: string }) => error.errorId !== "in-incognito");
  expect(aboutThePage).toEqual([]);
});
