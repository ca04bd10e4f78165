// Behaviour shared by every page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // The detail panel's poll redraws the failed-rows table too: it asks with the filters the
  // address bar holds now (the table's own paging and filtering push them there).
  var FAILURE_PARAMS = ["reason", "q", "rows_page"];
  document.addEventListener("htmx:configRequest", function (evt) {
    if (evt.detail.elt.id !== "action-panel") {
      return;
    }
    var here = new URLSearchParams(window.location.search);
    var url = new URL(evt.detail.path, window.location.href);
    FAILURE_PARAMS.forEach(function (name) {
      if (here.has(name)) {
        url.searchParams.set(name, here.get(name));
      } else {
        url.searchParams.delete(name);
      }
    });
    evt.detail.path = url.pathname + url.search;
  });

  // Polling pauses while the tab is hidden: cancel polls that fire then, and refresh
  // every polled element once when the tab is shown again.
  document.addEventListener("htmx:confirm", function (evt) {
    if (document.hidden && evt.detail.elt.matches("[data-poll]")) {
      evt.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && window.htmx) {
      document.querySelectorAll("[data-poll]").forEach(function (elt) {
        window.htmx.trigger(elt, "poll-resume");
      });
    }
  });

  // ---- Person's preferences (live controls, time format) --------------------------------
  // Kept in this browser per person (the controls carry the user's id), so two people
  // sharing a machine keep their own.
  function personKey(name) {
    var holder = document.querySelector("[data-person]");
    return "dashboard:" + (holder ? holder.getAttribute("data-person") : "") + ":" + name;
  }
  function preference(name, fallback) {
    try {
      var value = window.localStorage.getItem(personKey(name));
      return value === null ? fallback : value;
    } catch (err) {  // storage switched off: the choice lasts for this page only
      return fallback;
    }
  }
  function remember(name, value) {
    try {
      window.localStorage.setItem(personKey(name), value);
    } catch (err) { /* see preference() */ }
  }

  // ---- Times: relative ("3 min ago") or exact ("29 Nov 14:02"), and kept moving -----------
  // The server wrote the text and the exact moment (datetime); this redraws the text in the
  // same coarse units (see dashboard/formatting.relative_time) every second, and at once in
  // whatever a swap (also out of band) brought in, so "read 22 s ago" never stands still.
  // Countdowns (data-relative="until", e.g. when the dashboard asks Voucherify again) stay
  // relative in both modes.
  var exactTimes = false;
  function coarse(seconds) {
    var units = [[172800, 86400, "d"], [3600, 3600, "h"], [60, 60, "min"], [1, 1, "s"]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][0]) {
        return Math.floor(seconds / units[i][1]) + " " + units[i][2];
      }
    }
    return "0 s";
  }
  function relativeText(delta, countdown) {
    if (countdown && delta > -1) {
      return "now";
    }
    return Math.abs(delta) < 5 ? "just now"
      : delta > 0 ? coarse(delta) + " ago" : "in " + coarse(-delta);
  }
  function exactText(moment) {
    return moment.toLocaleString(undefined, {
      day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"
    });
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-relative][datetime]").forEach(function (elt) {
      var moment = new Date(elt.getAttribute("datetime"));
      if (isNaN(moment.getTime())) {
        return;
      }
      var countdown = elt.getAttribute("data-relative") === "until";
      var text = exactTimes && !countdown ? exactText(moment)
        : relativeText((now - moment.getTime()) / 1000, countdown);
      if (elt.textContent !== text) {
        elt.textContent = text;
      }
    });
  }
  window.setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("htmx:oobAfterSwap", tick);

  function showTimeFormat() {
    var button = document.getElementById("time-format");
    if (button) {
      button.setAttribute("aria-pressed", String(exactTimes));
      button.textContent = exactTimes ? "Times: exact" : "Times: relative";
    }
  }
  document.addEventListener("click", function (evt) {
    if (evt.target.closest("#time-format")) {
      exactTimes = !exactTimes;
      remember("times", exactTimes ? "exact" : "relative");
      showTimeFormat();
      tick();
    }
  });

  // Exact times are written in UTC by the server; the person reads them in their own time
  // zone, with the UTC text one hover away.
  function localize() {
    document.querySelectorAll("time[datetime]:not([data-relative]):not([data-local])")
      .forEach(function (elt) {
        var utc = elt.textContent.trim();
        var moment = new Date(elt.getAttribute("datetime"));
        if (!/UTC$/.test(utc) || isNaN(moment.getTime())) {
          return;
        }
        elt.setAttribute("data-local", "");
        elt.title = utc;
        elt.textContent = moment.toLocaleString(undefined, {
          year: "numeric", month: "short", day: "numeric", hour: "2-digit",
          minute: "2-digit", second: "2-digit", timeZoneName: "short"
        });
      });
  }
  localize();
  document.addEventListener("htmx:afterSettle", localize);

  // ---- Live controls: on/off and how often, per person ------------------------------------
  // Each poller's hx-trigger says "every Ns", the server's interval: it is a floor (the
  // upstream budget depends on it), so a person may only poll slower. Their choice rewrites
  // the trigger of every poller, also of pollers swapped in later (htmx:beforeProcessNode).
  // Off cancels every poll before it is sent, until switched on again.
  var live = true;
  var chosenSeconds = 0;  // 0: the server's pace
  var EVERY = /every\s+(\d+(?:\.\d+)?)(ms|s)\b/;
  // The server's early poll just after its next refresh (polling/align.py): at its pace only.
  var EARLY = /,\s*load delay:\d+ms/;
  function serverSeconds(elt) {
    if (!elt.hasAttribute("data-poll-floor")) {
      var found = EVERY.exec(elt.getAttribute("hx-trigger") || "");
      var seconds = found ? parseFloat(found[1]) / (found[2] === "ms" ? 1000 : 1) : 0;
      elt.setAttribute("data-poll-floor", String(seconds));
    }
    return parseFloat(elt.getAttribute("data-poll-floor")) || 0;
  }
  function retime(elt) {
    var floor = serverSeconds(elt);
    var trigger = elt.getAttribute("hx-trigger") || "";
    if (!floor || !EVERY.test(trigger)) {
      return false;
    }
    var every = "every " + Math.max(floor, chosenSeconds) + "s";
    var changed = trigger.replace(EVERY, every);
    if (chosenSeconds > floor) {
      changed = changed.replace(EARLY, "");
    }
    if (changed === trigger) {
      return false;
    }
    elt.setAttribute("hx-trigger", changed);
    return true;
  }
  function pollers(root) {
    var found = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll("[data-poll]") : []);
    if (root.matches && root.matches("[data-poll]")) {
      found.push(root);
    }
    return found;
  }
  document.addEventListener("htmx:beforeProcessNode", function (evt) {
    pollers(evt.target).forEach(retime);
  });
  document.addEventListener("htmx:confirm", function (evt) {
    if (!live && evt.detail.elt.matches("[data-poll]")) {
      evt.preventDefault();
    }
  });
  function showLiveState() {
    var toggle = document.getElementById("live-toggle");
    var state = document.getElementById("live-state");
    var select = document.getElementById("live-interval");
    if (!toggle) {
      return;
    }
    var floors = pollers(document).map(serverSeconds);
    var floor = floors.length ? Math.max.apply(null, floors) : 0;
    toggle.setAttribute("aria-pressed", String(live));
    toggle.textContent = "Live updates: " + (live ? "on" : "off");
    if (select) {
      select.disabled = !live;
      Array.prototype.forEach.call(select.options, function (option) {
        option.disabled = parseFloat(option.value) > 0 && parseFloat(option.value) < floor;
      });
      select.value = String(chosenSeconds);
    }
    document.body.classList.toggle("live-paused", !live);
    if (state) {
      var text = !live ? "Paused: nothing updates until you switch live updates on."
        : !floors.length ? "Nothing on this page is changing."
        : "Updating every " + Math.max(floor, chosenSeconds) + " s.";
      if (state.textContent !== text) {
        state.textContent = text;
      }
      state.classList.toggle("paused", !live);
    }
  }
  function resumeAll() {
    if (window.htmx) {
      pollers(document).forEach(function (elt) {
        window.htmx.trigger(elt, "poll-resume");
      });
    }
  }
  document.addEventListener("click", function (evt) {
    if (evt.target.closest("#live-toggle")) {
      live = !live;
      remember("live", live ? "on" : "off");
      showLiveState();
      if (live) {
        resumeAll();
      }
    }
  });
  document.addEventListener("change", function (evt) {
    if (evt.target.id !== "live-interval") {
      return;
    }
    chosenSeconds = parseFloat(evt.target.value) || 0;
    remember("interval", String(chosenSeconds));
    pollers(document).forEach(function (elt) {
      if (retime(elt) && window.htmx) {
        window.htmx.process(elt);  // htmx re-reads a changed trigger and restarts its timer
      }
    });
    showLiveState();
  });
  document.addEventListener("htmx:afterSettle", showLiveState);

  // ---- Title and favicon: a watched action finished -----------------------------------
  // The detail page's action and the list's rows are watched: when one that was running is
  // DONE or FAILED after a poll, the title gets "✓ Done · " or "✗ Failed · " and the
  // favicon changes, until the person comes back to the tab (focus).
  var LIVE_STATUSES = ["ENQUEUED", "IN_PROGRESS"];
  var seen = {};
  var finished = "";  // "", "done" or "failed": what the title shows until focus
  var baseTitle = document.title;
  var icon = document.querySelector("link[rel=icon]");
  var baseIcon = icon ? icon.getAttribute("href") : "";
  function watchedStatuses() {
    var found = {};
    var state = document.querySelector("#action-panel .detail-state .status");
    var match = state && /status-([A-Z_]+)/.exec(state.className);
    if (match) {
      found.detail = match[1];
    }
    document.querySelectorAll("tr[id^=row-][data-status]").forEach(function (row) {
      found[row.id] = row.getAttribute("data-status");
    });
    return found;
  }
  function showFinished() {
    var anyLive = false;
    var now = watchedStatuses();
    Object.keys(now).forEach(function (key) {
      var before = seen[key];
      if (LIVE_STATUSES.indexOf(now[key]) >= 0) {
        anyLive = true;
      } else if (before && LIVE_STATUSES.indexOf(before) >= 0) {
        if (now[key] === "FAILED") {
          finished = "failed";
        } else if (now[key] === "DONE" && finished !== "failed") {
          finished = "done";
        }
      }
    });
    seen = now;
    var prefix = finished === "failed" ? "✗ Failed · " : finished === "done" ? "✓ Done · " : "";
    if (document.title !== prefix + baseTitle) {
      document.title = prefix + baseTitle;
    }
    var name = finished || (anyLive ? "running" : "");
    var href = name ? baseIcon.replace(/favicon\.svg/, "favicon-" + name + ".svg") : baseIcon;
    if (icon && icon.getAttribute("href") !== href) {
      icon.setAttribute("href", href);
    }
  }
  function seenFinished() {
    if (finished) {
      finished = "";
      showFinished();
      showNewActions();  // held back while the title was marked
    }
  }
  document.addEventListener("htmx:afterSettle", showFinished);
  window.addEventListener("focus", seenFinished);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && document.hasFocus()) {
      seenFinished();
    }
  });

  // The person's choices, on every page that has the controls.
  (function start() {
    var controls = document.getElementById("live-controls");
    exactTimes = preference("times", "relative") === "exact";
    if (controls) {
      live = preference("live", "on") !== "off";
      // Only a pace the select offers: a stored "1e9" s overflows the browser's timer, which
      // then fires at once (a poll storm); "-5" or "banana" would leave the select blank.
      var stored = preference("interval", "0");
      var offered = Array.prototype.some.call(
        document.getElementById("live-interval").options,
        function (option) { return option.value === stored; });
      chosenSeconds = offered ? parseFloat(stored) : 0;
      controls.hidden = false;
    }
    showTimeFormat();
    showLiveState();
    showFinished();
    tick();
  })();

  document.addEventListener("click", function (evt) {
    if (evt.target.closest("#shortcuts-open")) {
      document.getElementById("shortcuts").showModal();
    }
  });

  // Keyboard shortcuts on the list: / search, j and k move between actions, Enter opens the
  // focused one (a link), ? shows the help. Never while typing in a field.
  document.addEventListener("keydown", function (evt) {
    var help = document.getElementById("shortcuts");
    if (!help || evt.ctrlKey || evt.metaKey || evt.altKey) {
      return;
    }
    if (evt.target.matches("input, select, textarea") || help.open) {
      return;
    }
    var links = Array.prototype.slice.call(document.querySelectorAll("tbody tr[id^=row-] td:first-child a"));
    var at = links.indexOf(document.activeElement);
    if (evt.key === "/") {
      evt.preventDefault();
      var search = document.getElementById("filter-q");
      var folded = search.closest("details");  // the phone's collapsed filters
      if (folded) {
        folded.open = true;
      }
      search.focus();
    } else if ((evt.key === "j" || evt.key === "k") && links.length) {
      evt.preventDefault();
      var next = evt.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
      links[next].focus();
    } else if (evt.key === "?") {
      evt.preventDefault();
      help.showModal();
    }
  });

  // Copy buttons beside ids: the whole id to the clipboard, and a word that it worked.
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("button[data-copy]");
    if (!button || !navigator.clipboard) {
      return;
    }
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);  // "Copy", or "Copy link" beside saved views
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      button.textContent = "Copied";
      button.classList.add("copied");
      window.setTimeout(function () {
        button.textContent = label;
        button.classList.remove("copied");
      }, 2000);
    });
  });

  // "N new actions" above the newest page: shown at once while the person is at the top and
  // not typing in a field; otherwise it waits for a click. It also waits while the title says
  // a watched row finished (a reload would drop that mark before the person saw it), and is
  // shown when they come back to the tab.
  function showNewActions() {
    var link = document.querySelector("#new-actions a[data-auto-show]");
    if (!link || finished) {  // only a check that found some puts the link there
      return;
    }
    var typing = document.activeElement && document.activeElement.matches("input, select, textarea");
    if (window.scrollY < 8 && !typing) {
      window.location.assign(link.href);
    }
  }
  document.addEventListener("htmx:afterSettle", showNewActions);

  // --- phone layout (issue 17, item 9) ---
  // The list's filters start collapsed on a phone, so the rows are on the first screen; the
  // page is rendered with them open, which is what desktops and pages without script get.
  var PHONE = window.matchMedia("(max-width: 640px)");
  function fitFilters() {
    document.querySelectorAll("details.filter-disclosure, details.fold-on-phone").forEach(function (box) {
      box.open = !PHONE.matches;
    });
  }
  fitFilters();
  PHONE.addEventListener("change", fitFilters);

  // An overview bar opens the list it counts (the numbers table has the same links).
  document.addEventListener("click", function (evt) {
    var mark = evt.target.closest && evt.target.closest("svg.chart [data-href]");
    if (mark) {
      window.location.assign(mark.getAttribute("data-href"));
    }
  });
})();
