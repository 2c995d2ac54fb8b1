// The dashboard's few lines of script: close the job panel, and say so when an action fails
// (htmx does not swap error responses, so without this a refused click would look ignored).
(function () {
  "use strict";

  function toast(text) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.hidden = true; }, 5000);
  }

  function refreshAll() {
    if (window.htmx) window.htmx.trigger(document.body, "jobs-changed");
  }

  // Pause or resume live updates; resuming (or coming back to the tab) refreshes at once.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-toggle-live]");
    if (!toggle) return;
    window.jobsPaused = !window.jobsPaused;
    toggle.textContent = window.jobsPaused ? "Resume updates" : "Pause updates";
    toggle.setAttribute("aria-pressed", String(!!window.jobsPaused));
    document.body.classList.toggle("paused", !!window.jobsPaused);
    if (!window.jobsPaused) refreshAll();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !window.jobsPaused) refreshAll();
  });

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-close-detail]");
    if (!close) return;
    var panel = document.getElementById("job-detail");
    var empty = document.createElement("aside");
    empty.id = "job-detail";
    empty.className = "drawer";
    empty.hidden = true;
    panel.replaceWith(empty); // a removed element stops polling
    history.replaceState(null, "", location.pathname);
  });

  document.addEventListener("htmx:afterSettle", function () {
    var panel = document.getElementById("job-detail");
    if (panel && !panel.hidden && panel.dataset.jobId) {
      history.replaceState(null, "", location.pathname + "?job=" + panel.dataset.jobId);
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var verb = (event.detail.requestConfig && event.detail.requestConfig.verb) || "get";
    if (xhr.status === 403) {
      toast("Not allowed: you do not have the permission for that.");
    } else if (verb !== "get") {
      toast("That did not work (" + xhr.status + "). Reload the page and try again.");
    }
  });

  document.addEventListener("htmx:sendError", function () {
    toast("The server cannot be reached; retrying…");
  });
})();
