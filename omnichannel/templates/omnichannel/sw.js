/* omnichannel: shows web push notifications and reports their clicks.
   The push payload is JSON: {title, body, icon, url, message, token}. */
"use strict";

const CLICKED_URL = "{{ clicked_url|escapejs }}";

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    // Not ours or damaged: show nothing rather than garbage.
  }
  if (!data.title) return;
  event.waitUntil(
    self.registration.showNotification(data.title, {
      body: data.body || "",
      icon: data.icon || undefined,
      tag: data.message,
      data: { url: data.url || "/", token: data.token },
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const { url, token } = event.notification.data || {};
  const target = new URL(url || "/", self.location.origin).href;
  event.waitUntil(Promise.all([reportClick(token), focusOrOpen(target)]));
});

function reportClick(token) {
  if (!token) return Promise.resolve();
  // No cookies: the signed token is the credential (see omnichannel.api.push).
  return fetch(CLICKED_URL, {
    method: "POST",
    credentials: "omit",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: token }),
  }).catch(() => {});
}

function focusOrOpen(url) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
    const open = windows.find((client) => client.url === url && "focus" in client);
    return open ? open.focus() : self.clients.openWindow(url);
  });
}
