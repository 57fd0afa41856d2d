/* The SCO's runtime: finds the SCORM 1.2 API of the LMS that launched the package, shows one
   lesson at a time, draws and scores the quiz, and reports lesson_location, lesson_status and
   score. Written for old browsers too: no modules, no build step. */
(function () {
  "use strict";

  function findAPI(win) {
    for (var tries = 0; win && tries < 10; tries++) {
      if (win.API) { return win.API; }
      if (win.parent === win) { break; }
      win = win.parent;
    }
    return null;
  }

  var api = findAPI(window) || (window.opener ? findAPI(window.opener) : null);
  var connected = false;
  if (api && String(api.LMSInitialize("")) === "true") {
    connected = true;
  } else {
    document.getElementById("connection").hidden = false;
  }

  function get(name) { return connected ? String(api.LMSGetValue(name)) : ""; }
  function set(name, value) { if (connected) { api.LMSSetValue(name, String(value)); } }
  function commit() { if (connected) { api.LMSCommit(""); } }

  var finished = false;
  function finish() {
    if (connected && !finished) { finished = true; commit(); api.LMSFinish(""); }
  }
  window.addEventListener("pagehide", finish);
  window.addEventListener("beforeunload", finish);

  var status = get("cmi.core.lesson_status");
  if (status === "" || status === "not attempted") { set("cmi.core.lesson_status", "incomplete"); commit(); }

  // --- one step at a time: each lesson, then the quiz -----------------------------------
  var steps = document.querySelectorAll(".step");
  function show(index, moved) {
    index = Math.max(0, Math.min(steps.length - 1, index));
    for (var i = 0; i < steps.length; i++) { steps[i].hidden = i !== index; }
    set("cmi.core.lesson_location", index);
    commit();
    // After a button press, a screen reader goes on from the new step's heading.
    var heading = steps[index].querySelector("h2");
    if (heading && moved) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    window.scrollTo(0, 0);
  }
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-go], .contents a") : null;
    if (!target) { return; }
    event.preventDefault();
    show(parseInt(target.getAttribute("data-go") || target.getAttribute("data-step"), 10), true);
  });
  var resumeAt = parseInt(get("cmi.core.lesson_location"), 10);
  show(isNaN(resumeAt) ? 0 : resumeAt, false);

  // --- the quiz: drawn at random from the whole bank, options shuffled -------------------
  var quiz = JSON.parse(document.getElementById("quiz-data").textContent);
  var words = JSON.parse(document.getElementById("words").textContent);
  var form = document.getElementById("quiz-form");
  var holder = document.getElementById("questions");
  var drawn = [];

  function randomBelow(n) {
    if (window.crypto && window.crypto.getRandomValues) {
      var value = new Uint32Array(1);
      window.crypto.getRandomValues(value);
      return value[0] % n;
    }
    return Math.floor(Math.random() * n);
  }
  function shuffled(items) {
    var copy = items.slice();
    for (var i = copy.length - 1; i > 0; i--) {
      var j = randomBelow(i + 1), swap = copy[i];
      copy[i] = copy[j]; copy[j] = swap;
    }
    return copy;
  }
  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    for (var name in attributes) { node.setAttribute(name, attributes[name]); }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function draw() {
    drawn = shuffled(quiz.questions).slice(0, quiz.per_attempt);
    holder.innerHTML = "";
    drawn.forEach(function (question, number) {
      var fieldset = element("fieldset", {"class": "question", "data-question": question.id});
      fieldset.appendChild(element("legend", {}, words.question.replace("{number}", number + 1) + ": " + question.stem));
      if (question.multiple) { fieldset.appendChild(element("p", {"class": "hint"}, words.choose_all)); }
      shuffled(question.options).forEach(function (option) {
        var id = "q-" + question.id + "-" + option.id;
        var row = element("div", {"class": "choice"});
        row.appendChild(element("input", {type: question.multiple ? "checkbox" : "radio", id: id,
                                          name: "q-" + question.id, value: option.id}));
        row.appendChild(element("label", {"for": id}, option.text));
        fieldset.appendChild(row);
      });
      holder.appendChild(fieldset);
    });
    form.hidden = false;
    document.getElementById("result").hidden = true;
  }

  function chosen(question) {
    var picked = [];
    var inputs = form.querySelectorAll('input[name="q-' + question.id + '"]');
    for (var i = 0; i < inputs.length; i++) { if (inputs[i].checked) { picked.push(inputs[i].value); } }
    return picked.sort();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var answers = drawn.map(chosen);
    var problem = document.getElementById("quiz-problem");
    if (answers.some(function (picked) { return picked.length === 0; })) {
      problem.hidden = false;
      problem.focus && problem.setAttribute("tabindex", "-1");
      problem.focus();
      return;
    }
    problem.hidden = true;
    var correct = 0;
    var review = document.getElementById("review");
    review.innerHTML = "";
    drawn.forEach(function (question, index) {
      var right = answers[index].join(" ") === question.answers.slice().sort().join(" ");
      if (right) { correct++; }
      var block = element("div", {"class": "review " + (right ? "review--right" : "review--wrong")});
      block.appendChild(element("h3", {}, (right ? words.correct : words.wrong) + ": " + question.stem));
      question.options.forEach(function (option) {
        if (answers[index].indexOf(option.id) >= 0 && option.explanation) {
          block.appendChild(element("p", {}, option.text + " — " + option.explanation));
        }
      });
      review.appendChild(block);
    });
    var percent = Math.round(100 * correct / drawn.length);
    var passed = 100 * correct >= quiz.pass_mark * drawn.length;
    set("cmi.core.score.min", 0);
    set("cmi.core.score.max", 100);
    set("cmi.core.score.raw", percent);
    set("cmi.core.lesson_status", passed ? "passed" : "failed");
    commit();
    var score = document.getElementById("result-score");
    score.textContent = score.getAttribute("data-template").replace("{correct}", correct)
      .replace("{total}", drawn.length).replace("{percent}", percent);
    document.getElementById("result-passed").hidden = !passed;
    document.getElementById("result-failed").hidden = passed;
    document.getElementById("result-recorded").hidden = !connected;
    document.getElementById("again").hidden = passed;
    form.hidden = true;
    var result = document.getElementById("result");
    result.hidden = false;
    result.focus();
  });
  document.getElementById("again").addEventListener("click", draw);
  draw();
}());
