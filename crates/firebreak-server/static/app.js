// Firebreak progressive enhancement. Pages work without this file; with it, an incident
// page refreshes its live parts (status, roles, timeline) when anyone changes the incident.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  // Every live part of the page (the head, the timeline) is fetched again on each change.
  var parts = document.querySelectorAll("[data-live]");
  var source = null;
  var pending = false;
  function fetchPart(el) {
    return fetch(el.getAttribute("data-live"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.text();
      })
      .then(function (html) {
        el.innerHTML = html;
        el.setAttribute("data-updated", String(Date.now()));
      })
      .catch(function () { /* keep the current view; the next event retries */ });
  }
  function refresh() {
    if (pending) return;
    pending = true;
    Promise.all(Array.prototype.map.call(parts, fetchPart)).then(function () { pending = false; });
  }
  function connect() {
    source = new EventSource(live.getAttribute("data-events"));
    source.addEventListener("changed", refresh);
    source.addEventListener("open", function () { live.setAttribute("data-connected", "true"); });
  }
  connect();
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();

// Keyboard: `n` focuses the note box (outside other fields), Ctrl+Enter (or Cmd+Enter) posts it.
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    var target = e.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (!typing && e.key === "n" && !e.ctrlKey && !e.metaKey && !e.altKey) {
      var form = document.querySelector("form[data-shortcut='n']");
      var box = form && form.querySelector("textarea");
      if (box) { e.preventDefault(); box.focus(); }
      return;
    }
    if (typing && target.getAttribute("data-submit-on") === "ctrl-enter" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (target.value.trim() !== "" && target.form) target.form.requestSubmit();
    }
  });
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

// A Markdown box with data-preview shows its safe server-rendered preview as one types
// (the same renderer as notes: raw HTML is shown as text). Without this script the form's
// Preview button does the same with a page load.
(function () {
  "use strict";
  var boxes = document.querySelectorAll("textarea[data-preview]");
  Array.prototype.forEach.call(boxes, function (box) {
    var target = document.getElementById(box.getAttribute("data-preview-target"));
    var csrf = box.form && box.form.querySelector("input[name=csrf]");
    if (!target || !csrf) return;
    var timer = null;
    var seq = 0;
    function update() {
      var mine = ++seq;
      var body = new URLSearchParams();
      body.set("csrf", csrf.value);
      body.set("body", box.value);
      fetch(box.getAttribute("data-preview"), { method: "POST", credentials: "same-origin", body: body })
        .then(function (res) { if (!res.ok) throw new Error("HTTP " + res.status); return res.text(); })
        .then(function (html) {
          if (mine !== seq) return;
          target.innerHTML = html;
          target.setAttribute("data-updated", String(Date.now()));
        })
        .catch(function () { /* keep the last preview */ });
    }
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, 250);
    });
  });
})();
