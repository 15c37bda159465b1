/* Waymark Web Push, the service worker's part. A site's own /waymark-sw.js loads it:
 *   importScripts("https://waymark.example/sdk/waymark-sw.js");
 * A push carries the JSON {title, body, url?, image?, data?}; it is shown as a notification, and
 * a click opens (or focuses) its url. */
(function () {
  "use strict";

  self.addEventListener("push", function (event) {
    var message = {};
    try {
      message = event.data ? event.data.json() : {};
    } catch (e) {
      message = { body: event.data ? event.data.text() : "" };
    }
    var options = {
      body: message.body || "",
      data: { url: message.url || null, data: message.data || null },
    };
    if (message.image) {
      options.image = message.image;
      options.icon = message.image;
    }
    event.waitUntil(self.registration.showNotification(message.title || "", options));
  });

  self.addEventListener("notificationclick", function (event) {
    event.notification.close();
    var url = event.notification.data && event.notification.data.url;
    if (!url) return;
    event.waitUntil(
      self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
        for (var i = 0; i < windows.length; i++) {
          if (windows[i].url === url && "focus" in windows[i]) return windows[i].focus();
        }
        return self.clients.openWindow(url);
      })
    );
  });
})();
