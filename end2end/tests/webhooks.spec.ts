// The Webhooks page (issue 26, point 3): the head chef adds a webhook to a receiver on
// loopback, sees its secret once, an approval reaches the receiver signed (checked here with
// Node's crypto: an implementation the server does not use), the log shows it delivered, a
// test sends a ping, and the webhook is deleted. In Danish too; a sous chef is sent home.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, IncomingMessage, Server } from "node:http";
import { AddressInfo } from "node:net";
import { expect, test } from "./guard";
import { serverForTests } from "./server";

const server = serverForTests("each");

type Delivery = { eventId: string; signature: string; body: Buffer };

/** A purchasing system's receiver on loopback that keeps what it is sent. */
async function receiver(): Promise<{ origin: string; received: Delivery[]; close: () => void }> {
  const received: Delivery[] = [];
  const service: Server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        eventId: String(request.headers["x-miseos-event-id"] ?? ""),
        signature: String(request.headers["x-miseos-signature"] ?? ""),
        body: Buffer.concat(chunks),
      });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((listening) => service.listen(0, "127.0.0.1", listening));
  const { port } = service.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, received, close: () => service.close() };
}

/** The README's check: `t=…,v1=…` is the hex HMAC-SHA256 of "<t>.<raw body>". */
function signedWith(secret: string, delivery: Delivery): boolean {
  const fields = Object.fromEntries(delivery.signature.split(",").map((field) => field.split("=", 2)));
  const expected = createHmac("sha256", secret).update(`${fields.t}.`).update(delivery.body).digest();
  const given = Buffer.from(fields.v1 ?? "", "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

test("the head chef adds a webhook, sees its secret once, and its log shows an approval and a test delivered", async ({ browser }) => {
  const purchasing = await receiver();
  await server.stop();
  server.extraEnv = { MISEOS_WEBHOOK_EXTRA_ORIGINS: purchasing.origin };
  await server.start();
  const context = await server.signedIn(browser, "gordon@miseos.dk");
  const page = await context.newPage();
  await page.goto(`${server.url}/webhooks`);
  await expect(page.getByRole("heading", { name: "Webhooks", level: 1 })).toBeVisible();
  await expect(page.getByText("No webhooks yet.")).toBeVisible();

  await page.locator("#webhook-url").fill(`${purchasing.origin}/miseos`);
  // Approvals are chosen already; escalations too.
  await page.getByLabel("Escalated").check();
  await page.getByRole("button", { name: "Add webhook" }).click();
  const secret = (await page.locator(".secret-value").textContent()) ?? "";
  expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByTestId("webhook-secret")).toHaveCount(0);
  await expect(page.getByTestId("webhook")).toContainText("Approved · Escalated");

  const [cook, chef] = await Promise.all([server.token("ali@miseos.dk"), server.token("gordon@miseos.dk")]);
  const dill = await server.api("POST", "/api/v1/ingredient-requests", cook, { itemName: "Frisk Dild", quantity: 2, unit: "bundt" });
  await server.api("POST", `/api/v1/ingredient-requests/${dill.id}/approve`, chef, { note: "Bestil hos Grønt" });
  await expect.poll(() => purchasing.received.length).toBe(1);
  const approval = purchasing.received[0];
  expect(signedWith(secret, approval)).toBe(true);
  const body = JSON.parse(approval.body.toString("utf8"));
  expect(body).toMatchObject({ id: approval.eventId, type: "item.approved", kitchenId: 1 });
  expect(body.data.item).toMatchObject({ id: dill.id, itemName: "Frisk Dild", status: "APPROVED", reviewNote: "Bestil hos Grønt" });

  const webhook = page.getByTestId("webhook");
  await webhook.getByRole("button", { name: "Refresh" }).click();
  await expect(webhook.getByTestId("delivery-status")).toHaveText(["Delivered"]);
  await webhook.getByRole("button", { name: "Send a test" }).click();
  await expect.poll(() => purchasing.received.length).toBe(2);
  expect(JSON.parse(purchasing.received[1].body.toString("utf8")).type).toBe("ping");
  expect(signedWith(secret, purchasing.received[1])).toBe(true);
  await expect(webhook.getByTestId("delivery-status")).toHaveText(["Delivered", "Delivered"]);
  await expect(webhook.getByTestId("deliveries")).toContainText("ping");

  // A reload lists the webhook without its secret.
  await page.reload();
  await expect(page.getByTestId("webhook")).toHaveCount(1);
  expect(await page.content()).not.toContain(secret);
  await page.getByTestId("webhook").getByRole("button", { name: "Delete" }).click();
  await expect(page.getByText("No webhooks yet.")).toBeVisible();
  purchasing.close();
  await context.close();
});

test("in Danish, and for the head chef alone", async ({ browser }) => {
  const context = await server.signedIn(browser, "gordon@miseos.dk", { locale: "da-DK" });
  const page = await context.newPage();
  await page.goto(`${server.url}/webhooks`);
  await expect(page.getByRole("heading", { name: "Tilføj en webhook" })).toBeVisible();
  await page.locator("#webhook-url").fill("http://purchasing.example.com/miseos");
  await page.getByRole("button", { name: "Tilføj webhook" }).click();
  await expect(page.getByRole("alert")).toHaveText("Skriv modtagerens adresse: https:// og en offentlig vært.");
  await context.close();

  const sous = await server.signedIn(browser, "monica@miseos.dk");
  const sousPage = await sous.newPage();
  await sousPage.goto(`${server.url}/webhooks`);
  await expect(sousPage).toHaveURL(`${server.url}/`);
  await sous.close();
});
