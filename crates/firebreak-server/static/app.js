// Firebreak progressive enhancement. Pages work without this file; with it, an incident
// page refreshes its live region (status, roles, timeline) when anyone changes the incident.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  var source = null;
  var pending = false;
  function refresh() {
    if (pending) return;
    pending = true;
    fetch(live.getAttribute("data-live"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.text();
      })
      .then(function (html) {
        live.innerHTML = html;
        live.setAttribute("data-updated", String(Date.now()));
      })
      .catch(function () { /* keep the current view; the next event retries */ })
      .then(function () { pending = false; });
  }
  function connect() {
    source = new EventSource(live.getAttribute("data-events"));
    source.addEventListener("changed", refresh);
    source.addEventListener("open", function () { live.setAttribute("data-connected", "true"); });
  }
  connect();
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();

// Forms with data-confirm ask before they submit (rotating a key, say). Without this
// script they submit straight away.
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  });
})();

// Top-bar menus: one open at a time; a click elsewhere or Escape closes them.
document.addEventListener("click", (e) => {
  for (const menu of document.querySelectorAll("details.menu[open]")) {
    if (!menu.contains(e.target)) menu.removeAttribute("open");
  }
});
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  for (const menu of document.querySelectorAll("details.menu[open]")) {
    menu.removeAttribute("open");
    menu.querySelector("summary")?.focus();
  }
});
