import base from "./playwright.config";
import { defineConfig } from "@playwright/test";

// Measurements, not tests: `npx playwright test -c measure.config.ts` (scripts/bench.sh site).
export default defineConfig({ ...base, testDir: "./measure", timeout: 300_000 });
