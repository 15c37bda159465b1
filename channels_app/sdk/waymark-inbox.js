/* Waymark web inbox: a bell with the unread count that opens the signed-in user's in-app
 * messages. No dependencies; its markup and styles live in a shadow root, so a site's CSS and
 * this widget's never touch each other.
 *
 *   <script src="https://waymark.example/sdk/waymark-inbox.js" async
 *     data-key="wm_pk_…" data-user-id="u_42" data-user-hash="<hex HMAC-SHA256>"
 *     data-api-host="https://waymark.example"></script>
 *
 * The bell goes where the script tag is (or top right of the page when the tag is in <head>);
 * data-container="#css-selector" puts it into an element of the page instead. */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) return;
  var data = script.dataset;
  var key = data.key || "";
  var userId = data.userId || "";
  var userHash = data.userHash || "";
  var apiHost = (data.apiHost || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var REFRESH_MS = 60000; // how often the unread count is brought up to date while the page is open
  if (!key || !userId || !userHash) {
    console.error("waymark-inbox: data-key, data-user-id and data-user-hash are required");
    return;
  }

  var STYLE =
    ":host{all:initial;display:inline-block;position:relative;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2430}" +
    ":host(.wm-fixed){position:fixed;top:12px;right:12px;z-index:2147483000}" +
    ".bell{position:relative;display:inline-flex;align-items:center;justify-content:center;width:40px;height:40px;border-radius:50%;border:1px solid #d5d8de;background:#fff;color:inherit;cursor:pointer;padding:0}" +
    ".bell:hover{background:#f3f4f6}" +
    ".bell:focus-visible,.item:focus-visible{outline:2px solid #2563eb;outline-offset:2px}" +
    ".bell svg{width:20px;height:20px}" +
    ".badge{position:absolute;top:-4px;right:-4px;min-width:18px;height:18px;padding:0 5px;box-sizing:border-box;border-radius:9px;background:#dc2626;color:#fff;font-size:11px;font-weight:600;line-height:18px;text-align:center}" +
    ".badge[hidden],.panel[hidden]{display:none}" +
    ".panel{position:absolute;right:0;top:48px;width:320px;max-width:calc(100vw - 24px);max-height:420px;overflow:auto;background:#fff;border:1px solid #d5d8de;border-radius:8px;box-shadow:0 8px 24px rgba(0,0,0,.15);text-align:left}" +
    ".heading{margin:0;padding:10px 14px;font-size:14px;font-weight:600;border-bottom:1px solid #eceef1}" +
    "ul{list-style:none;margin:0;padding:0}" +
    "ul:focus{outline:none}" +
    "li+li{border-top:1px solid #eceef1}" +
    ".item{display:block;width:100%;padding:10px 14px;border:0;background:none;text-align:left;font:inherit;color:inherit;cursor:pointer}" +
    ".item:hover{background:#f6f7f9}" +
    ".item.unread .title::before{content:'';display:inline-block;width:8px;height:8px;margin-right:6px;border-radius:50%;background:#2563eb;vertical-align:middle}" +
    ".title{display:block;font-weight:600}" +
    ".body{display:block;color:#4b5260;margin-top:2px;white-space:pre-line}" +
    ".when{display:block;color:#8a909c;font-size:12px;margin-top:4px}" +
    ".empty{padding:14px;color:#6b7280}";

  var BELL_SVG =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true" focusable="false">' +
    '<path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9"/><path d="M13.73 21a2 2 0 0 1-3.46 0"/></svg>';

  var host = document.createElement("span");
  host.className = "waymark-inbox";
  var root = host.attachShadow({ mode: "open" });
  var panelId = "waymark-inbox-panel";
  root.innerHTML =
    "<style>" + STYLE + "</style>" +
    '<button type="button" class="bell" aria-haspopup="true" aria-expanded="false" aria-controls="' + panelId + '">' +
    BELL_SVG + '<span class="badge" hidden></span></button>' +
    '<div class="panel" id="' + panelId + '" role="region" aria-label="Notifications" hidden>' +
    '<h2 class="heading">Notifications</h2><ul tabindex="-1" aria-label="Messages"></ul></div>';
  var bell = root.querySelector(".bell");
  var badge = root.querySelector(".badge");
  var panel = root.querySelector(".panel");
  var list = root.querySelector("ul");
  var messages = [];
  // read_at of messages read here: a list fetched before the read was recorded must not undo it.
  var readHere = {};
  var loadError = false;

  function request(method, path, body) {
    var init = {
      method: method,
      credentials: "omit",
      headers: { Authorization: "Basic " + btoa(key + ":") },
    };
    if (body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(apiHost + path, init).then(function (response) {
      if (!response.ok) throw new Error("waymark-inbox: " + method + " " + path + " answered " + response.status);
      return response.json();
    });
  }

  function unreadCount() {
    return messages.filter(function (m) { return !m.read_at; }).length;
  }

  function safeLink(content) {
    var link = content && (content.link || content.url);
    if (typeof link !== "string" || !link) return null;
    try {
      var url = new URL(link, location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function text(tag, className, value) {
    var el = document.createElement(tag);
    el.className = className;
    el.textContent = value; // never markup: a message's text is shown as text
    return el;
  }

  function render() {
    // A refresh redraws the list: focus inside it stays on the same message (or the first).
    var focused = root.activeElement;
    var focusedId = focused && focused.dataset ? focused.dataset.id : null;
    var focusInList = focused === list || !!focusedId;
    drawList();
    if (isOpen() && focusInList) {
      var target = (focusedId && list.querySelector('[data-id="' + focusedId + '"]')) || list.querySelector(".item") || list;
      target.focus();
    }
  }

  function drawList() {
    var unread = unreadCount();
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.hidden = unread === 0;
    bell.setAttribute("aria-label", "Notifications, " + unread + " unread");
    list.textContent = "";
    if (!messages.length) {
      var empty = text("li", "empty", loadError ? "Messages could not be loaded." : "No messages yet.");
      list.appendChild(empty);
      return;
    }
    messages.forEach(function (message) {
      var content = message.content || {};
      var item = document.createElement("button");
      item.type = "button";
      item.className = "item" + (message.read_at ? "" : " unread");
      item.dataset.id = String(message.id);
      item.appendChild(text("span", "title", String(content.title || "")));
      if (content.body) item.appendChild(text("span", "body", String(content.body)));
      item.appendChild(text("span", "when", new Date(message.created_at).toLocaleString()));
      item.setAttribute("aria-label", (message.read_at ? "" : "Unread: ") + (content.title || "Message"));
      item.addEventListener("click", function () { openMessage(message); });
      var li = document.createElement("li");
      li.appendChild(item);
      list.appendChild(li);
    });
  }

  function load() {
    var query = "?userId=" + encodeURIComponent(userId) + "&userHash=" + encodeURIComponent(userHash);
    return request("GET", "/v1/inbox" + query).then(
      function (page) {
        messages = page.results;
        messages.forEach(function (m) { m.read_at = m.read_at || readHere[m.id] || null; });
        loadError = false;
        render();
      },
      function (error) {
        loadError = true;
        render();
        console.error(error);
      }
    );
  }

  function openMessage(message) {
    var link = safeLink(message.content);
    // Opened before the request so a popup blocker sees it as the click's own action.
    if (link) window.open(link, "_blank", "noopener");
    if (message.read_at) return;
    request("POST", "/v1/inbox/" + message.id + "/read", { userId: userId, userHash: userHash }).then(
      function (updated) {
        readHere[message.id] = updated.read_at;
        // The list may have been fetched again meanwhile: mark the message in the current one.
        messages.forEach(function (m) { if (m.id === message.id) m.read_at = updated.read_at; });
        render();
      },
      function (error) { console.error(error); }
    );
  }

  function isOpen() {
    return !panel.hidden;
  }

  function setOpen(open) {
    panel.hidden = !open;
    bell.setAttribute("aria-expanded", String(open));
    if (open) {
      var first = list.querySelector(".item");
      (first || list).focus();
      load();
    }
  }

  bell.addEventListener("click", function () { setOpen(!isOpen()); });
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) {
      event.stopPropagation();
      setOpen(false);
      bell.focus();
    } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && isOpen()) {
      var items = Array.prototype.slice.call(list.querySelectorAll(".item"));
      var at = items.indexOf(root.activeElement);
      var next = items[Math.max(0, Math.min(items.length - 1, at + (event.key === "ArrowDown" ? 1 : -1)))];
      if (next) {
        event.preventDefault();
        next.focus();
      }
    }
  });
  document.addEventListener("click", function (event) {
    if (isOpen() && event.composedPath().indexOf(host) === -1) setOpen(false);
  });

  var container = data.container ? document.querySelector(data.container) : null;
  function mount() {
    if (container) {
      container.appendChild(host);
    } else if (script.parentNode && script.parentNode !== document.head && document.body && document.body.contains(script)) {
      script.parentNode.insertBefore(host, script);
    } else {
      host.classList.add("wm-fixed");
      document.body.appendChild(host);
    }
    render();
    load();
    setInterval(function () {
      if (document.visibilityState === "visible" && !isOpen()) load();
    }, REFRESH_MS);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
