// MiseOS Live's service worker (registered by every signed-in page as /sw.js?lang=<en|da>).
//
// - Web Push (API.md section 10): a pushed message is the socket frame's JSON. It is shown
//   as a notification only when no page of the app is visible; a visible page shows its own
//   toast from the socket. A tap focuses an open page of the app, or opens one.
// - Offline: pages and their files are fetched from the network first and the last good copy
//   is kept, so a cook's page still opens on bad Wi-Fi and its queued submissions (kept by
//   the page on the device) are sent once the network is back. A release's content-hashed
//   files never change, so they come from the copy when it has them. The API is never cached.
//   Signing out empties the copy (the page asks by message).

const COPY = "miseos-offline-v1";
const language = new URL(self.location.href).searchParams.get("lang") === "da" ? "da" : "en";

const TEXT = {
  en: {
    REQUEST_APPROVED: "Request approved",
    REQUEST_REJECTED: "Request rejected",
    SUGGESTION_APPROVED: "Suggestion approved",
    SUGGESTION_REJECTED: "Suggestion rejected",
    ITEM_ESCALATED: "Still waiting",
    by: (name) => `by ${name}`,
    waited: (minutes) => `waiting ${minutes} min`,
    note: "Note",
    fallback: "MiseOS Live",
  },
  da: {
    REQUEST_APPROVED: "Bestilling godkendt",
    REQUEST_REJECTED: "Bestilling afvist",
    SUGGESTION_APPROVED: "Forslag godkendt",
    SUGGESTION_REJECTED: "Forslag afvist",
    ITEM_ESCALATED: "Venter stadig",
    by: (name) => `af ${name}`,
    waited: (minutes) => `venter ${minutes} min.`,
    note: "Note",
    fallback: "MiseOS Live",
  },
};

/** The notification for a pushed message: title, body and a tag per item (a newer message
 * about the same item replaces the older). */
function describe(message) {
  const text = TEXT[language];
  const kind = message && message.notificationType;
  const title = (text[kind] || text.fallback) + (message && message.itemName ? `: ${message.itemName}` : "");
  const person = (p) => (p ? `${p.firstName} ${p.lastName}` : "");
  const lines = [];
  if (message && message.reviewedBy) lines.push(text.by(person(message.reviewedBy)));
  if (message && message.requestedBy) lines.push(person(message.requestedBy));
  if (message && typeof message.waitedMinutes === "number") lines.push(text.waited(message.waitedMinutes));
  if (message && message.note) lines.push(`${text.note}: ${message.note}`);
  const tag = message && message.category && message.requestId ? `${message.category}-${message.requestId}` : "miseos";
  return { title, body: lines.join("\n"), tag };
}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  event.waitUntil(
    (async () => {
      let message = null;
      try {
        message = event.data ? event.data.json() : null;
      } catch {
        message = null;
      }
      const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      if (pages.some((page) => page.visibilityState === "visible")) return;
      const { title, body, tag } = describe(message);
      await self.registration.showNotification(title, {
        body,
        tag,
        lang: language,
        icon: "/icon-192.png",
        badge: "/icon-192.png",
        data: { url: "/" },
      });
    })(),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    (async () => {
      const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = pages.find((page) => new URL(page.url).origin === self.location.origin);
      if (open) return open.focus();
      return self.clients.openWindow("/");
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "signed-out") event.waitUntil(caches.delete(COPY));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const keep =
    request.method === "GET" &&
    url.origin === self.location.origin &&
    !url.pathname.startsWith("/api/") &&
    url.pathname !== "/login" &&
    !url.pathname.startsWith("/metrics");
  if (!keep) return;
  // `/pkg/miseos.<hash>.wasm` in a release; `/pkg/miseos.wasm` in development, which changes.
  const immutable = url.pathname.startsWith("/pkg/") && /\.[0-9A-Za-z_-]{8,}\.[a-z0-9]+$/.test(url.pathname);
  event.respondWith(
    (async () => {
      if (immutable) {
        const kept = await caches.match(request, { cacheName: COPY });
        if (kept) return kept;
      }
      try {
        const answer = await fetch(request);
        if (answer.ok && !answer.redirected) {
          const copy = answer.clone();
          event.waitUntil(caches.open(COPY).then((cache) => cache.put(request, copy)));
        }
        return answer;
      } catch (unreachable) {
        const kept = await caches.match(request, { cacheName: COPY });
        if (kept) return kept;
        throw unreachable;
      }
    })(),
  );
});
