/* CareSync web shell behaviour. Vanilla JS, loaded with `defer`; no inline scripts (strict CSP).
 *
 *  - sidebar: full/compact on desktop (persisted), off-canvas overlay on mobile
 *  - flash messages: dismiss buttons, success messages auto-dismiss
 *  - htmx: CSRF header on every request
 *  - real-time: WebSocket to /ws/notifications/ with backoff, ping and toasts;
 *    every message is re-dispatched as a `caresync:event` CustomEvent on document
 *  - <details data-menu> menus close on outside click and Escape
 *  - <time data-localize> values are shown in the viewer's locale
 */
(function () {
  "use strict";

  var root = document.documentElement;
  var body = document.body;
  var SIDEBAR_KEY = "caresync.sidebar";
  var MOBILE_QUERY = window.matchMedia("(max-width: 899.98px)");

  root.classList.remove("no-js");
  root.classList.add("js");

  function storageGet(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function storageSet(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (e) {
      /* private mode or storage disabled: state simply isn't remembered */
    }
  }

  /* ------------------------------------------------------------ Sidebar */
  var sidebar = document.getElementById("sidebar");
  var toggle = document.getElementById("sidebar-toggle");
  var opener = document.getElementById("sidebar-open");
  var backdrop = document.querySelector(".sidebar-backdrop");

  function isCompact() {
    return root.classList.contains("sidebar-compact");
  }

  function syncToggle() {
    if (!toggle) return;
    var compact = isCompact();
    toggle.setAttribute("aria-expanded", compact ? "false" : "true");
    toggle.setAttribute("data-tooltip", compact ? "Expand sidebar" : "Collapse sidebar");
    var label = toggle.querySelector(".sidebar__toggle-label");
    if (label) label.textContent = compact ? "Expand sidebar" : "Collapse sidebar";
  }

  function setCompact(compact, persist) {
    root.classList.toggle("sidebar-compact", compact);
    if (persist) storageSet(SIDEBAR_KEY, compact ? "compact" : "full");
    syncToggle();
  }

  function isMobileOpen() {
    return body.classList.contains("sidebar-open");
  }

  function openMobile() {
    if (!sidebar) return;
    body.classList.add("sidebar-open");
    if (backdrop) backdrop.hidden = false;
    if (opener) opener.setAttribute("aria-expanded", "true");
    sidebar.setAttribute("role", "dialog");
    sidebar.setAttribute("aria-modal", "true");
    var target = sidebar.querySelector(".nav-link[aria-current]") || sidebar.querySelector("a, button");
    window.setTimeout(function () {
      if (target) target.focus();
    }, 30);
  }

  function closeMobile(restoreFocus) {
    if (!isMobileOpen()) return;
    body.classList.remove("sidebar-open");
    if (backdrop) backdrop.hidden = true;
    if (opener) opener.setAttribute("aria-expanded", "false");
    if (sidebar) {
      sidebar.removeAttribute("role");
      sidebar.removeAttribute("aria-modal");
    }
    if (restoreFocus !== false && opener) opener.focus();
  }

  if (sidebar) {
    // Restore the saved desktop state without animating it in.
    root.classList.add("no-transitions");
    setCompact(storageGet(SIDEBAR_KEY) === "compact", false);
    window.requestAnimationFrame(function () {
      window.requestAnimationFrame(function () {
        root.classList.remove("no-transitions");
      });
    });

    if (toggle) {
      toggle.addEventListener("click", function () {
        setCompact(!isCompact(), true);
      });
    }
    if (opener) {
      opener.addEventListener("click", function () {
        if (isMobileOpen()) closeMobile();
        else openMobile();
      });
    }
    document.querySelectorAll("[data-sidebar-close]").forEach(function (el) {
      el.addEventListener("click", function () {
        closeMobile();
      });
    });

    // Keep keyboard focus inside the overlay while it is open.
    sidebar.addEventListener("keydown", function (event) {
      if (event.key !== "Tab" || !isMobileOpen()) return;
      var focusable = Array.prototype.filter.call(
        sidebar.querySelectorAll("a[href], button:not([disabled])"),
        function (el) {
          return el.offsetParent !== null;
        }
      );
      if (!focusable.length) return;
      var first = focusable[0];
      var last = focusable[focusable.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    });

    var onBreakpoint = function (event) {
      if (!event.matches) closeMobile(false);
    };
    if (MOBILE_QUERY.addEventListener) MOBILE_QUERY.addEventListener("change", onBreakpoint);
    else if (MOBILE_QUERY.addListener) MOBILE_QUERY.addListener(onBreakpoint);
  }

  /* ------------------------------------------------------------ Menus (<details data-menu>) */
  function openMenus() {
    return document.querySelectorAll("details[data-menu][open]");
  }

  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  // Opening one menu closes the others.
  document.querySelectorAll("details[data-menu]").forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      if (!menu.open) return;
      openMenus().forEach(function (other) {
        if (other !== menu) other.removeAttribute("open");
      });
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var handled = false;
    openMenus().forEach(function (menu) {
      var hadFocus = menu.contains(document.activeElement);
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (hadFocus && summary) summary.focus();
      handled = true;
    });
    if (!handled && isMobileOpen()) closeMobile();
  });

  /* ------------------------------------------------------------ Flash messages */
  var FLASH_AUTO_DISMISS_MS = 6000;

  function dismiss(el) {
    if (!el || el.classList.contains("is-leaving")) return;
    var reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    el.classList.add("is-leaving");
    window.setTimeout(function () {
      if (el.parentNode) el.parentNode.removeChild(el);
    }, reduced ? 0 : 220);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-dismiss]") : null;
    if (!button) return;
    var item = button.closest("[data-flash], .toast");
    if (!item) return;
    // Move focus somewhere sensible before the button disappears.
    var main = document.getElementById("main");
    if (main && item.contains(document.activeElement)) main.focus({ preventScroll: true });
    dismiss(item);
  });

  function scheduleAutoDismiss(el, ms) {
    var timer = window.setTimeout(function () {
      dismiss(el);
    }, ms);
    // Pause while the user is reading or interacting with it.
    el.addEventListener("mouseenter", function () {
      window.clearTimeout(timer);
    });
    el.addEventListener("focusin", function () {
      window.clearTimeout(timer);
    });
  }

  document.querySelectorAll("[data-flash][data-level='success']").forEach(function (el) {
    scheduleAutoDismiss(el, FLASH_AUTO_DISMISS_MS);
  });

  /* ------------------------------------------------------------ Localized times */
  function localizeTimes(scope) {
    if (!window.Intl || !Intl.DateTimeFormat) return;
    (scope || document).querySelectorAll("time[data-localize]").forEach(function (el) {
      var value = el.getAttribute("datetime");
      var date = value ? new Date(value) : null;
      if (!date || isNaN(date.getTime())) return;
      var kind = el.getAttribute("data-localize");
      var options =
        kind === "date"
          ? { dateStyle: "medium" }
          : kind === "time"
          ? { timeStyle: "short" }
          : { dateStyle: "medium", timeStyle: "medium" };
      try {
        el.textContent = new Intl.DateTimeFormat(undefined, options).format(date);
        el.title = value;
      } catch (e) {
        /* leave the ISO value */
      }
    });
  }
  localizeTimes(document);

  /* ------------------------------------------------------------ htmx */
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token && event.detail && event.detail.headers) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    localizeTimes(event.target);
  });

  /* ------------------------------------------------------------ Toasts */
  var toastRegion = document.getElementById("toast-region");
  var ICONS_URL = (function () {
    var use = document.querySelector("svg.icon use");
    if (!use) return null;
    var href = use.getAttribute("href") || "";
    return href.split("#")[0] || null;
  })();
  var SVG_NS = "http://www.w3.org/2000/svg";

  function iconEl(name) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    if (ICONS_URL) {
      var use = document.createElementNS(SVG_NS, "use");
      use.setAttribute("href", ICONS_URL + "#" + name);
      svg.appendChild(use);
    }
    return svg;
  }

  function showToast(title, text, options) {
    if (!toastRegion) return null;
    options = options || {};
    var toast = document.createElement("div");
    toast.className = "toast";

    var icon = document.createElement("span");
    icon.className = "toast__icon";
    icon.appendChild(iconEl(options.icon || "bell"));
    toast.appendChild(icon);

    var bodyEl = document.createElement("div");
    bodyEl.className = "toast__body";
    var titleEl = document.createElement("p");
    titleEl.className = "toast__title";
    titleEl.textContent = title || "Notification";
    bodyEl.appendChild(titleEl);
    if (text) {
      var textEl = document.createElement("p");
      textEl.className = "toast__text";
      textEl.textContent = text;
      bodyEl.appendChild(textEl);
    }
    toast.appendChild(bodyEl);

    var close = document.createElement("button");
    close.type = "button";
    close.className = "alert__dismiss";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss notification");
    close.appendChild(iconEl("x"));
    toast.appendChild(close);

    toastRegion.appendChild(toast);
    scheduleAutoDismiss(toast, options.timeout || 8000);
    while (toastRegion.children.length > 4) toastRegion.removeChild(toastRegion.firstChild);
    return toast;
  }

  /* ------------------------------------------------------------ Notification badge */
  var notifButton = document.getElementById("notifications-button");
  var unread = notifButton ? parseInt(notifButton.getAttribute("data-count"), 10) || 0 : 0;

  function setUnread(count) {
    unread = Math.max(0, count);
    if (!notifButton) return;
    var badge = notifButton.querySelector(".notif-btn__badge");
    notifButton.setAttribute("data-count", String(unread));
    notifButton.setAttribute(
      "aria-label",
      unread ? "Notifications, " + unread + " unread" : "Notifications, none unread"
    );
    if (badge) {
      badge.hidden = unread === 0;
      badge.textContent = unread > 9 ? "9+" : String(unread);
    }
  }

  if (notifButton) {
    notifButton.addEventListener("click", function () {
      setUnread(0);
    });
  }

  /* ------------------------------------------------------------ Real-time (WebSocket) */
  var liveStatus = document.getElementById("live-status");
  var LIVE_LABELS = { connecting: "Connecting…", connected: "Live", offline: "Offline" };

  function setLiveState(state) {
    if (!liveStatus) return;
    if (liveStatus.getAttribute("data-state") === state) return;
    liveStatus.setAttribute("data-state", state);
    var label = liveStatus.querySelector(".live-status__label");
    if (label) label.textContent = LIVE_LABELS[state] || state;
    liveStatus.title =
      state === "connected"
        ? "Real-time updates are on"
        : state === "offline"
        ? "Real-time updates are offline; reconnecting"
        : "Connecting to real-time updates";
  }

  function emit(payload) {
    var event;
    try {
      event = new CustomEvent("caresync:event", { detail: payload });
    } catch (e) {
      event = document.createEvent("CustomEvent");
      event.initCustomEvent("caresync:event", false, false, payload);
    }
    document.dispatchEvent(event);
  }

  var CLOSE_UNAUTHENTICATED = 4401;
  var PING_MS = 25000;
  var MAX_BACKOFF_MS = 30000;

  function startRealtime() {
    if (!("WebSocket" in window)) {
      setLiveState("offline");
      return;
    }
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/notifications/";
    var socket = null;
    var attempts = 0;
    var pingTimer = null;
    var retryTimer = null;
    var stopped = false;

    function clearTimers() {
      if (pingTimer) window.clearInterval(pingTimer);
      if (retryTimer) window.clearTimeout(retryTimer);
      pingTimer = null;
      retryTimer = null;
    }

    function send(message) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    }

    function scheduleReconnect() {
      if (stopped) return;
      var base = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, attempts));
      var delay = Math.round(base / 2 + Math.random() * (base / 2)); // jitter
      attempts += 1;
      retryTimer = window.setTimeout(connect, delay);
    }

    function connect() {
      clearTimers();
      if (stopped) return;
      if (attempts > 0) setLiveState("connecting");
      try {
        socket = new WebSocket(url);
      } catch (e) {
        setLiveState("offline");
        scheduleReconnect();
        return;
      }

      socket.addEventListener("open", function () {
        pingTimer = window.setInterval(function () {
          send({ type: "ping" });
        }, PING_MS);
      });

      socket.addEventListener("message", function (event) {
        var payload;
        try {
          payload = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (!payload || typeof payload !== "object") return;
        if (payload.type === "connection.ready") {
          attempts = 0;
          setLiveState("connected");
        } else if (payload.type === "notification") {
          showToast(payload.title, payload.body, { icon: payload.icon });
          setUnread(unread + 1);
        }
        emit(payload);
      });

      socket.addEventListener("close", function (event) {
        clearTimers();
        socket = null;
        setLiveState("offline");
        if (event.code === CLOSE_UNAUTHENTICATED) {
          stopped = true; // signed out: reconnecting would only be refused again
          return;
        }
        scheduleReconnect();
      });

      socket.addEventListener("error", function () {
        /* a close event always follows; reconnection is handled there */
      });
    }

    // Reconnect promptly when the network or the tab comes back.
    window.addEventListener("online", function () {
      if (!socket && !stopped) {
        attempts = 0;
        connect();
      }
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && !socket && !stopped) {
        attempts = 0;
        connect();
      }
    });
    window.addEventListener("pagehide", function () {
      stopped = true;
      clearTimers();
      if (socket) socket.close(1000);
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        stopped = false;
        attempts = 0;
        connect();
      }
    });

    connect();

    window.CareSync.realtime = {
      send: send,
      get state() {
        return liveStatus ? liveStatus.getAttribute("data-state") : null;
      },
    };
  }

  /* ------------------------------------------------------------ Public API for later pages */
  window.CareSync = window.CareSync || {};
  window.CareSync.toast = showToast;
  window.CareSync.csrfToken = csrfToken;
  window.CareSync.localizeTimes = localizeTimes;

  if (body && body.getAttribute("data-ws") === "on") {
    startRealtime();
  } else {
    setLiveState("offline");
  }
})();
