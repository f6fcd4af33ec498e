// The `test` every spec uses: Playwright's, plus a guard that fails a test when any page of it
// (the `page` fixture's, or one in a context the test makes itself) reports a Content
// Security Policy violation. The policy must let the app hydrate and run, not just load.
import { test as base, expect, Page } from "@playwright/test";

export const test = base.extend<{ cspViolations: string[] }>({
  cspViolations: [
    async ({ browser, context }, use) => {
      const violations: string[] = [];
      const watch = (page: Page) =>
        page.on("console", (message) => {
          if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
        });
      // The browser logs a violation to the console; the page's own event is reported too,
      // in case a violation is not logged (the init script is not subject to the policy).
      const report = () =>
        document.addEventListener("securitypolicyviolation", (event) =>
          console.error(`Content Security Policy violation: ${event.violatedDirective} ${event.blockedURI}`),
        );
      await context.addInitScript(report);
      context.pages().forEach(watch);
      context.on("page", watch);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (...options) => {
        const created = await newContext(...options);
        await created.addInitScript(report);
        created.on("page", watch);
        return created;
      };
      await use(violations);
      browser.newContext = newContext;
      expect(violations, "Content Security Policy violations").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
