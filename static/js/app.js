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

  // Relative times ("3 min ago") keep counting while a page stays open and nothing polls: the
  // server wrote the text and the exact moment (datetime); this only redraws the text in the
  // same coarse units (see dashboard/formatting.relative_time).
  function coarse(seconds) {
    var units = [[172800, 86400, "d"], [3600, 3600, "h"], [60, 60, "min"], [1, 1, "s"]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][0]) {
        return Math.floor(seconds / units[i][1]) + " " + units[i][2];
      }
    }
    return "0 s";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-relative][datetime]").forEach(function (elt) {
      var moment = Date.parse(elt.getAttribute("datetime"));
      if (isNaN(moment)) {
        return;
      }
      var delta = (now - moment) / 1000;
      elt.textContent = Math.abs(delta) < 5 ? "just now"
        : delta > 0 ? coarse(delta) + " ago" : "in " + coarse(-delta);
    });
  }
  window.setInterval(tick, 15000);

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

  // The list's live updates can be paused: polls are cancelled until they are switched on.
  var live = true;
  document.addEventListener("htmx:confirm", function (evt) {
    if (!live && evt.detail.elt.matches("[data-poll]")) {
      evt.preventDefault();
    }
  });
  document.addEventListener("click", function (evt) {
    var toggle = evt.target.closest("#live-toggle");
    if (toggle) {
      live = !live;
      toggle.setAttribute("aria-pressed", String(live));
      toggle.textContent = "Live updates: " + (live ? "on" : "off");
      if (live && window.htmx) {
        document.querySelectorAll("[data-poll]").forEach(function (elt) {
          window.htmx.trigger(elt, "poll-resume");
        });
      }
    }
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
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      button.textContent = "Copied";
      button.classList.add("copied");
      window.setTimeout(function () {
        button.textContent = "Copy";
        button.classList.remove("copied");
      }, 2000);
    });
  });

  // "N new actions" above the newest page: shown at once while the person is at the top and
  // not typing in a field; otherwise it waits for a click.
  document.addEventListener("htmx:afterSettle", function () {
    var link = document.querySelector("#new-actions a[data-auto-show]");
    if (!link) {  // only a check that found some puts the link there
      return;
    }
    var typing = document.activeElement && document.activeElement.matches("input, select, textarea");
    if (window.scrollY < 8 && !typing) {
      window.location.assign(link.href);
    }
  });

  // --- phone layout (issue 17, item 9) ---
  // The list's filters start collapsed on a phone, so the rows are on the first screen; the
  // page is rendered with them open, which is what desktops and pages without script get.
  var PHONE = window.matchMedia("(max-width: 640px)");
  function fitFilters() {
    document.querySelectorAll("details.filter-disclosure").forEach(function (box) {
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
