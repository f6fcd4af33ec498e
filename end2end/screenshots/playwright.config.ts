import base from "../playwright.config";
import { defineConfig } from "@playwright/test";

// Not part of the test suite: `npx playwright test -c screenshots` renders the README's
// screenshots into docs/screenshots/.
export default defineConfig({ ...base, testDir: "." });
