/* Waymark Web Push: subscribes this browser to the workspace's Web Push channel and registers it
 * as the signed-in user's push token. No dependencies.
 *
 *   <script src="https://waymark.example/sdk/waymark-push.js"
 *     data-key="wm_pk_…" data-user-id="u_42" data-user-hash="<hex HMAC-SHA256>"></script>
 *   <button onclick="WaymarkPush.subscribe()">Get notifications</button>
 *
 * The site serves /waymark-sw.js itself (a service worker must come from the page's origin):
 *   importScripts("https://waymark.example/sdk/waymark-sw.js");
 * data-service-worker="/path.js" names another file. Call subscribe() from a click: browsers
 * only show the permission prompt after a user gesture. It resolves to {status: "subscribed"},
 * {status: "denied"} (the person said no) or {status: "unsupported"}; it rejects when Waymark
 * or the push service refuse, with the reason. */
(function () {
  "use strict";

  var script = document.currentScript;
  var data = (script && script.dataset) || {};
  var defaults = {
    key: data.key || "",
    userId: data.userId || "",
    userHash: data.userHash || "",
    apiHost: (data.apiHost || (script ? new URL(script.src, location.href).origin : "")).replace(/\/+$/, ""),
    serviceWorker: data.serviceWorker || "/waymark-sw.js",
  };

  function base64UrlToBytes(text) {
    var padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function request(options, method, path, body) {
    var init = {
      method: method,
      credentials: "omit",
      headers: { Authorization: "Basic " + btoa(options.key + ":") },
    };
    if (body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(options.apiHost + path, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok) {
          throw new Error("waymark-push: " + method + " " + path + " answered " + response.status +
            (answer && answer.message ? ": " + answer.message : ""));
        }
        return answer;
      });
    });
  }

  function subscribe(overrides) {
    var options = Object.assign({}, defaults, overrides || {});
    if (!options.key || !options.userId || !options.userHash) {
      return Promise.reject(new Error("waymark-push: key, userId and userHash are required"));
    }
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      return Promise.resolve({ status: "unsupported" });
    }
    return Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") return { status: "denied" };
      return Promise.all([
        navigator.serviceWorker.register(options.serviceWorker).then(function () {
          return navigator.serviceWorker.ready;
        }),
        request(options, "GET", "/v1/push/settings"),
      ]).then(function (both) {
        var registration = both[0];
        var key = base64UrlToBytes(both[1].vapid_public_key);
        return registration.pushManager.getSubscription().then(function (existing) {
          return existing || registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
        });
      }).then(function (subscription) {
        return request(options, "POST", "/v1/push/subscriptions", {
          userId: options.userId,
          userHash: options.userHash,
          subscription: subscription.toJSON(),
        });
      }).then(function () {
        return { status: "subscribed" };
      });
    });
  }

  window.WaymarkPush = { subscribe: subscribe };
})();
