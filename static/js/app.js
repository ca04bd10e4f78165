// Behaviour shared by every page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // Django's CSRF check for htmx POSTs: the token comes from <meta name="csrf-token">.
  document.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      evt.detail.headers["X-CSRFToken"] = meta.content;
    }
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
})();
