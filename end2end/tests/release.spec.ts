// The release as production serves it (scripts/release.sh): build output under content-hashed
// names, kept by browsers for a year, and sent precompressed to browsers that accept it.
import { expect, test } from "./guard";
import { isRelease, serverForTests } from "./server";

const server = serverForTests("all");

test("the page names hashed, immutable build output, served precompressed", async ({ page }) => {
  // The test command runs the suite against scripts/release.sh's directory; a development
  // build has nothing of this to check, so running this file against one is a mistake.
  expect(isRelease, "run against a release directory (MISEOS_E2E_RELEASE_DIR, as scripts/test.sh does)").toBe(true);
  await page.goto(`${server.url}/login`);
  const html = await page.content();
  const script = html.match(/\/pkg\/miseos\.([\w-]+)\.js/);
  const stylesheet = html.match(/\/pkg\/miseos\.([\w-]+)\.css/);
  expect(script, "a hashed script name").not.toBeNull();
  expect(stylesheet, "a hashed stylesheet name").not.toBeNull();

  const wasm = html.match(/\/pkg\/miseos\.([\w-]+)\.wasm/);
  expect(wasm, "a hashed WebAssembly name").not.toBeNull();
  // Each file in the encoding the browser asks for, and marked immutable.
  for (const [file, encoding] of [
    [script![0], "br"],
    [wasm![0], "br"],
    [stylesheet![0], "gzip"],
  ] as const) {
    const response = await fetch(`${server.url}${file}`, { headers: { "accept-encoding": encoding } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-encoding")).toBe(encoding);
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(0);
  }
  // A client that accepts no compression gets the plain file.
  const plain = await fetch(`${server.url}${script![0]}`, { headers: { "accept-encoding": "identity" } });
  expect(plain.headers.get("content-encoding")).toBeNull();
  // And the page is live with them.
  await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
});
