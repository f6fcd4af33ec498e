// The notification socket checked against its contract, docs/asyncapi.yaml, by validators
// nobody here wrote: the AsyncAPI Initiative's parser (@asyncapi/parser, which also checks the
// document itself against the AsyncAPI 3.0 JSON Schema and the Spectral rules of AsyncAPI) and
// Ajv for each frame's payload. A live session in Chromium (a cook's page, the head chef's
// dashboard) makes every kind of frame the document declares flow; each frame the pages
// receive must match a message of a `receive` operation (named by its `notificationType`),
// and each they send one of a `send` operation (the document has none: clients send only
// pongs, which are control frames).
import { DiagnosticSeverity, Parser } from "@asyncapi/parser";
import type { Browser, Page, WebSocket } from "@playwright/test";
import Ajv, { ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "./guard";
import { serverForTests } from "./server";

const server = serverForTests("each");

const documentPath = path.resolve(__dirname, "..", "..", "docs", "asyncapi.yaml");

type Direction = "receive" | "send";

/** What a validator says of one frame: nothing when it conforms. */
type Verdict = string[];

/** The document, parsed: what the parser said of it, and a frame validator per direction. */
interface Contract {
  diagnostics: { severity: DiagnosticSeverity; code: string | number; message: string; path: (string | number)[] }[];
  /** Message names per direction, as the operations declare them. */
  names: Record<Direction, string[]>;
  check(direction: Direction, payload: string | Buffer): Verdict;
}

/** Parses `text` with the AsyncAPI parser; the diagnostics and, when it parsed, the document. */
async function parse(text: string) {
  const parser = new Parser();
  return parser.parse(text, { source: documentPath });
}

/** Every `x-…` key in `schema` (the parser marks schemas with `x-parser-schema-id`). */
function extensionKeys(schema: unknown, found = new Set<string>(), seen = new Set<unknown>()): Set<string> {
  if (schema === null || typeof schema !== "object" || seen.has(schema)) return found;
  seen.add(schema);
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith("x-")) found.add(key);
    extensionKeys(value, found, seen);
  }
  return found;
}

async function loadContract(): Promise<Contract> {
  const { document, diagnostics } = await parse(readFileSync(documentPath, "utf8"));
  const said = diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
  const names: Record<Direction, string[]> = { receive: [], send: [] };
  // Per direction and message name, the payload validators of the messages of that name.
  const validators: Record<Direction, Map<string, ValidateFunction[]>> = { receive: new Map(), send: new Map() };
  if (document) {
    // AsyncAPI 3.0 payloads without a schemaFormat are AsyncAPI Schema objects: JSON Schema
    // draft 07 plus annotations; Ajv's default class is draft 07. Strict: a keyword Ajv
    // does not know is an error, except the `x-` extensions.
    const payloads = document.messages().all().map((message) => message.payload()?.json());
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv);
    ajv.addVocabulary([...extensionKeys(payloads)]);
    const compiled = new Map<string, ValidateFunction>();
    for (const operation of document.operations().all()) {
      const direction = operation.action() as Direction;
      for (const message of operation.messages().all()) {
        const name = message.name() ?? message.id();
        if (!names[direction].includes(name)) names[direction].push(name);
        const key = `${direction}/${message.id()}`;
        if (compiled.has(key)) continue;
        const schema = message.payload()?.json();
        const validate = ajv.compile(schema === undefined ? {} : schema);
        compiled.set(key, validate);
        validators[direction].set(name, [...(validators[direction].get(name) ?? []), validate]);
      }
    }
  }
  return {
    diagnostics: said,
    names,
    check(direction, payload) {
      if (typeof payload !== "string") return ["a binary frame: the document's messages are JSON text"];
      let frame: unknown;
      try {
        frame = JSON.parse(payload);
      } catch {
        return ["not JSON (the document's defaultContentType is application/json)"];
      }
      const type = (frame as { notificationType?: unknown } | null)?.notificationType;
      const candidates = typeof type === "string" ? validators[direction].get(type) : undefined;
      if (!candidates) {
        const known = names[direction].join(", ") || "none";
        return [`no message named ${JSON.stringify(type)} in a ${direction} operation (the document has: ${known})`];
      }
      const errors: string[] = [];
      for (const validate of candidates) {
        if (validate(frame)) return [];
        errors.push(ajvErrors(validate));
      }
      return errors;
    },
  };
}

function ajvErrors(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`).join("; ");
}

interface Frame {
  page: string;
  direction: Direction;
  payload: string | Buffer;
}

/** A new page of `email`'s browser whose socket frames are all recorded into `frames`, open on the home page and live. */
async function recordedPage(browser: Browser, email: string, label: string, frames: Frame[]): Promise<Page> {
  const page = await (await server.signedIn(browser, email)).newPage();
  page.on("websocket", (socket: WebSocket) => {
    if (!socket.url().endsWith("/api/v1/notifications")) return;
    socket.on("framereceived", ({ payload }) => frames.push({ page: label, direction: "receive", payload }));
    socket.on("framesent", ({ payload }) => frames.push({ page: label, direction: "send", payload }));
  });
  await page.goto(`${server.url}/`);
  await expect(page.getByTestId("link-state")).toHaveText("Live");
  return page;
}

const typeOf = (frame: Frame): string | undefined => {
  try {
    return JSON.parse(frame.payload.toString()).notificationType;
  } catch {
    return undefined;
  }
};

test("docs/asyncapi.yaml is valid AsyncAPI, and every frame of a live session matches its messages", async ({ browser }) => {
  // One item must wait the kitchen's shortest escalation (a minute) for ITEM_ESCALATED: the
  // rest of the session runs meanwhile.
  test.setTimeout(180_000);

  // The document: no error from the parser (its warnings and hints are printed).
  const contract = await loadContract();
  for (const d of contract.diagnostics) {
    console.log(`asyncapi parser: ${DiagnosticSeverity[d.severity]} ${d.code} at /${d.path.join("/")}: ${d.message}`);
  }
  expect(contract.diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error), "the parser's errors").toEqual([]);
  expect(contract.names.receive.length, "messages the clients receive").toBeGreaterThan(0);

  // The validators can fail: a document that is not AsyncAPI, and wrong frames, are refused.
  const broken = readFileSync(documentPath, "utf8").replace("action: receive", "action: listen");
  const brokenDiagnostics = (await parse(broken)).diagnostics;
  expect(brokenDiagnostics.some((d) => d.severity === DiagnosticSeverity.Error), "an operation with action: listen is an error").toBe(true);
  const timestamp = "2026-03-27 10:15";
  const count = { notificationType: "PENDING_COUNT_UPDATED", category: "INGREDIENT_REQUEST", count: 2, seq: 7, timestamp };
  expect(contract.check("receive", JSON.stringify(count)), "a right frame").toEqual([]);
  const wrong: [Direction, string][] = [
    ["receive", JSON.stringify({ ...count, count: -1 })],
    ["receive", JSON.stringify({ ...count, seq: undefined })],
    ["receive", JSON.stringify({ ...count, category: "COCKTAIL" })],
    ["receive", JSON.stringify({ ...count, notificationType: "COUNT_CHANGED" })],
    ["receive", JSON.stringify({ notificationType: "CONNECTED", message: "Connected to MiseOS notifications", sessionType: "GUEST", userId: 1, kitchenId: 1, timestamp })],
    ["receive", JSON.stringify({ notificationType: "KITCHEN_UPDATED", kitchen: { id: 1, name: "Noma", timeZone: "UTC", amberMinutes: 0, redMinutes: 2, escalateAfterMinutes: 1 } })],
    ["receive", "PENDING_COUNT_UPDATED"],
    ["send", JSON.stringify({ notificationType: "PING" })],
  ];
  for (const [direction, payload] of wrong) {
    expect(contract.check(direction, payload), `${direction} ${payload}: refused`).not.toEqual([]);
  }

  // The live session. The cook's page first, so it hears the chef's dashboard open.
  const frames: Frame[] = [];
  const seen = (page: string, type: string) => frames.some((f) => f.page === page && f.direction === "receive" && typeOf(f) === type);
  const cook = await recordedPage(browser, "ali@miseos.dk", "cook", frames);
  const chef = await recordedPage(browser, "gordon@miseos.dk", "chef", frames);
  await expect.poll(() => seen("cook", "CHEFS_ONLINE"), { message: "the cook hears the chef's dashboard open" }).toBe(true);

  const [chefToken, cookToken] = [await server.token("gordon@miseos.dk"), await server.token("ali@miseos.dk")];
  // KITCHEN_UPDATED on both pages; escalation after a minute, for the item made next.
  await server.api("PATCH", "/api/v1/kitchen", chefToken, { escalateAfterMinutes: 1 });
  await server.api("POST", "/api/v1/ingredient-requests", cookToken, { itemName: "Salvie", quantity: 1, unit: "bundt" });
  const card = (name: string) => chef.getByTestId("pending-card").filter({ hasText: name });
  await expect(card("Salvie")).toBeVisible();

  // A request from the cook's form, approved with a note on the dashboard.
  await cook.getByLabel("Ingredient", { exact: true }).fill("Frisk Dild");
  await cook.getByLabel("Quantity").fill("2");
  await cook.getByLabel("Unit").fill("bunch");
  await cook.getByLabel("Note", { exact: true }).fill("til gravlaksen");
  await cook.getByRole("button", { name: "Send request" }).click();
  await card("Frisk Dild").getByLabel("Note for Frisk Dild").fill("Tak, Ali");
  await card("Frisk Dild").getByRole("button", { name: "Approve" }).click();
  await expect(cook.getByTestId("toast")).toContainText("Gordon Ramsay approved “Frisk Dild”. Note: Tak, Ali");

  // A suggestion from the cook's form, rejected.
  await cook.getByLabel("Dish", { exact: true }).fill("Stegt flæsk 🥓");
  await cook.getByLabel("Description").fill("Med persillesovs");
  await cook.getByRole("button", { name: "Send suggestion" }).click();
  await card("Stegt flæsk").getByRole("button", { name: "Reject" }).click();
  await expect(cook.getByTestId("my-item").filter({ hasText: "Stegt flæsk" })).toContainText("Rejected");

  // A request and a suggestion approved together (bulk), and a request rejected.
  await server.api("POST", "/api/v1/ingredient-requests", cookToken, { itemName: "Kørvel", quantity: 1, unit: "bundt" });
  await server.api("POST", "/api/v1/dish-suggestions", cookToken, { name: "Smørrebrød", description: "Med æg og rejer" });
  await server.api("POST", "/api/v1/ingredient-requests", cookToken, { itemName: "Purløg", quantity: 3, unit: "bundt", note: "fint hakket" });
  for (const name of ["Kørvel", "Smørrebrød"]) await card(name).locator("label.select").click();
  await expect(chef.getByTestId("bulk-count")).toHaveText("2 selected");
  await chef.getByLabel("Note for the selected items (optional)").fill("Bestilt");
  await chef.getByRole("button", { name: "Approve selected" }).click();
  await expect(card("Kørvel")).toHaveCount(0);
  await expect(card("Smørrebrød")).toHaveCount(0);
  await card("Purløg").getByRole("button", { name: "Reject" }).click();
  await expect(card("Purløg")).toHaveCount(0);

  // The item nobody reviewed: escalated within 30 s of waiting a minute.
  await expect
    .poll(() => seen("chef", "ITEM_ESCALATED"), { message: "ITEM_ESCALATED on the chef's dashboard", timeout: 100_000, intervals: [1_000] })
    .toBe(true);
  await expect.poll(() => seen("cook", "SUGGESTION_APPROVED") && seen("cook", "REQUEST_REJECTED")).toBe(true);
  await cook.context().close();
  await chef.context().close();

  // Every frame, of both directions, against the document.
  const failures = frames
    .map((frame) => ({ frame, verdict: contract.check(frame.direction, frame.payload) }))
    .filter(({ verdict }) => verdict.length > 0)
    .map(({ frame, verdict }) => `${frame.page} ${frame.direction}: ${frame.payload.toString()}\n    ${verdict.join("\n    ")}`);
  expect(failures, "frames that do not match docs/asyncapi.yaml").toEqual([]);

  // And the session saw every message the document says clients receive.
  const received = new Set(frames.filter((f) => f.direction === "receive").map(typeOf));
  console.log(`asyncapi: ${frames.length} frames checked (${[...received].sort().join(", ")})`);
  expect(contract.names.receive.filter((name) => !received.has(name)), "declared messages never seen").toEqual([]);
});
