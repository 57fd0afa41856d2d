// A quiz answered without a connection is sent once the connection is back. Without
// JavaScript, or with a connection, the form posts as usual. Waiting answers are kept in this
// browser's storage, so closing the page loses nothing; the server accepts one submission per
// attempt, and this script submits at most once per page.
(function () {
  "use strict";
  var form = document.getElementById("quiz-form");
  var notice = document.getElementById("quiz-offline");
  if (!form || !notice || !window.fetch || !window.localStorage) { return; }
  var key = "quiz-waiting:" + form.getAttribute("action");
  var sending = false;

  function waiting() { return localStorage.getItem(key) !== null; }
  function keep() {
    var chosen = [];
    form.querySelectorAll("input[name^='q-']:checked").forEach(function (input) { chosen.push(input.id); });
    localStorage.setItem(key, JSON.stringify(chosen));
  }
  function restore() {
    JSON.parse(localStorage.getItem(key)).forEach(function (id) {
      var input = document.getElementById(id);
      if (input) { input.checked = true; }
    });
  }
  function show() {
    notice.hidden = false;
    notice.focus();
  }
  function send() {
    if (sending || !waiting() || navigator.onLine === false) { return; }
    // Back online, says the browser: make sure the site answers before leaving this page.
    fetch(form.getAttribute("data-probe"), { method: "HEAD", cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok || sending) { return; }
        sending = true;
        localStorage.removeItem(key);
        HTMLFormElement.prototype.submit.call(form);
      }, function () { /* still cut off: try again later */ });
  }

  form.addEventListener("submit", function (event) {
    if (sending) { event.preventDefault(); return; }
    if (navigator.onLine === false) {
      event.preventDefault();
      keep();
      show();
    }
  });
  form.addEventListener("change", function () { if (waiting()) { keep(); } });
  window.addEventListener("online", send);
  // Some networks come back without an "online" event: look again now and then.
  window.setInterval(send, 15000);
  if (waiting()) { restore(); show(); send(); }
}());
