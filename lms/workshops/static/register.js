// Keeps the trainer's register filling in as people check in, without a reload. Without
// JavaScript the page still works: the "Refresh the register" link reloads it.
(function () {
  "use strict";
  var rows = document.getElementById("register-rows");
  if (!rows || rows.hasAttribute("data-still") || !window.fetch) { return; }
  var every = 5000;
  function busy() {
    // Do not replace the rows under a keyboard or pointer that is using them.
    return rows.contains(document.activeElement) || rows.matches(":hover");
  }
  function refresh() {
    if (document.hidden || busy()) { return; }
    fetch(rows.getAttribute("data-refresh"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null && !busy()) { rows.innerHTML = html; } })
      .catch(function () { /* offline for a moment: try again at the next tick */ });
  }
  window.setInterval(refresh, every);
}());
