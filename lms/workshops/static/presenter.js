// The presenter. One page holds the whole deck; this script shows it as the audience view
// (one slide at a time, full screen) or the speaker view (the notes, the next slide, a clock)
// and keeps the two windows on the same slide inside the trainer's browser: a
// BroadcastChannel between pages of the same site, and postMessage between the window that
// opened the speaker view and that view (which also works for the deck saved as one file).
// Nothing goes to the server per slide, so a lost connection changes nothing.
// Without JavaScript the page stays a readable list of slides with their notes.
(function () {
  "use strict";
  var deck = document.querySelector("[data-deck]");
  if (!deck || !window.addEventListener) { return; }
  var slides = Array.prototype.slice.call(deck.querySelectorAll("[data-slide]"));
  var count = slides.length;
  if (!count) { return; }

  var root = document.documentElement;
  var channelName = deck.getAttribute("data-channel");
  var rtl = deck.getAttribute("dir") === "rtl";
  var view = deck.getAttribute("data-view");
  if (view === "file") {
    // The single-file deck is both views: the speaker window is the one opened by name.
    view = (window.name === "lms-speaker" || window.location.hash === "#speaker") ? "speaker" : "audience";
  }
  root.classList.add("js-presenter", "presenter--" + view);

  var position = document.querySelector("[data-position]");
  var positionTemplate = deck.getAttribute("data-position-template") || "{number} / {count}";
  var nextPanel = document.querySelector("[data-next]");
  var me = Math.random().toString(36).slice(2);
  var current = -1;
  // A window that has not yet moved or been told where the others are must not drag them
  // back to the first slide: it asks, and only a settled window answers.
  var settled = false;
  var speakerWindow = null;

  function reveal(selector) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), function (element) {
      element.hidden = false;
    });
  }

  // --- keeping the windows in step ---------------------------------------------------------

  var channel = null;
  if (window.BroadcastChannel && channelName) {
    try { channel = new window.BroadcastChannel(channelName); } catch (ignored) { channel = null; }
  }

  function peers() {
    var found = [];
    if (window.opener && !window.opener.closed) { found.push(window.opener); }
    if (speakerWindow && !speakerWindow.closed) { found.push(speakerWindow); }
    return found;
  }

  function send(message) {
    message.deck = channelName;
    message.from = me;
    if (channel) { try { channel.postMessage(message); } catch (ignored) { /* closing */ } }
    peers().forEach(function (peer) {
      // Only a slide number travels, so any origin may receive it (a saved file has none).
      try { peer.postMessage(message, "*"); } catch (ignored) { /* closed meanwhile */ }
    });
  }

  function receive(message) {
    if (!message || message.deck !== channelName || message.from === me) { return; }
    if (message.type === "go" && typeof message.number === "number") {
      settled = true;
      show(message.number, false);
    } else if (message.type === "hello" && settled) {
      send({ type: "go", number: current });
    }
  }

  if (channel) { channel.onmessage = function (event) { receive(event.data); }; }
  window.addEventListener("message", function (event) {
    if (peers().indexOf(event.source) !== -1) { receive(event.data); }
  });

  // --- showing a slide ---------------------------------------------------------------------

  function show(index, tell) {
    index = Math.max(0, Math.min(count - 1, index));
    if (index === current) { return; }
    current = index;
    slides.forEach(function (slide, i) {
      slide.classList.toggle("is-current", i === index);
      slide.setAttribute("aria-hidden", i === index ? "false" : "true");
    });
    if (position) {
      var heading = slides[index].querySelector("h2");
      position.textContent = positionTemplate.replace("{number}", index + 1).replace("{count}", count);
      if (heading) {
        // The title is in the deck's language, which may run the other way from the page's.
        var title = document.createElement("bdi");
        title.textContent = heading.textContent;
        title.setAttribute("lang", slides[index].getAttribute("lang") || deck.getAttribute("lang"));
        position.appendChild(document.createTextNode(" · "));
        position.appendChild(title);
      }
    }
    if (nextPanel) { showNext(index + 1); }
    if (window.history && window.history.replaceState && view === "audience") {
      window.history.replaceState(null, "", "#slide-" + (index + 1));
    }
    if (tell) { send({ type: "go", number: index }); }
  }

  function showNext(index) {
    while (nextPanel.firstChild) { nextPanel.removeChild(nextPanel.firstChild); }
    var end = document.querySelector("[data-end]");
    if (end) { end.hidden = index < count; }
    if (index >= count) { return; }
    var frame = slides[index].querySelector(".slide-frame");
    if (!frame) { return; }
    var copy = frame.cloneNode(true);
    Array.prototype.forEach.call(copy.querySelectorAll("[id]"), function (element) { element.removeAttribute("id"); });
    var language = slides[index].getAttribute("lang");
    if (language) { copy.setAttribute("lang", language); copy.setAttribute("dir", slides[index].getAttribute("dir")); }
    nextPanel.appendChild(copy);
  }

  function go(index) {
    settled = true;
    show(index, true);
  }

  // --- keys, clicks and swipes ---------------------------------------------------------------

  var forwardKey = rtl ? "ArrowLeft" : "ArrowRight";
  var backKey = rtl ? "ArrowRight" : "ArrowLeft";

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var tag = event.target && event.target.tagName;
    var onControl = tag === "BUTTON" || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || tag === "SUMMARY";
    var target;
    switch (event.key) {
      case forwardKey: case "ArrowDown": case "PageDown": target = current + 1; break;
      case backKey: case "ArrowUp": case "PageUp": target = current - 1; break;
      case " ": case "Spacebar":
        if (onControl) { return; }  // space presses a focused button
        target = event.shiftKey ? current - 1 : current + 1;
        break;
      case "Home": target = 0; break;
      case "End": target = count - 1; break;
      case "f": case "F":
        if (view !== "audience" || tag === "INPUT" || tag === "TEXTAREA") { return; }
        event.preventDefault();
        toggleFullScreen();
        return;
      default: return;
    }
    event.preventDefault();
    go(target);
  });

  var swipeStart = null;
  var swiped = false;
  deck.addEventListener("pointerdown", function (event) {
    swipeStart = { x: event.clientX, y: event.clientY };
    swiped = false;
  });
  deck.addEventListener("pointerup", function (event) {
    if (!swipeStart) { return; }
    var dx = event.clientX - swipeStart.x;
    var dy = event.clientY - swipeStart.y;
    swipeStart = null;
    if (Math.abs(dx) > 50 && Math.abs(dx) > 1.5 * Math.abs(dy)) {
      swiped = true;
      // A swipe drags the slide away: towards the reading start shows the next one.
      go(current + ((dx < 0) !== rtl ? 1 : -1));
    }
  });
  if (view === "audience") {
    deck.addEventListener("click", function (event) {
      if (swiped) { swiped = false; return; }
      if (event.target.closest && event.target.closest("a, button, summary")) { return; }
      // The third of the screen where reading starts goes back; the rest goes on.
      var box = deck.getBoundingClientRect();
      var along = (event.clientX - box.left) / (box.width || 1);
      go(current + ((rtl ? along > 2 / 3 : along < 1 / 3) ? -1 : 1));
    });
  }

  function toggleFullScreen() {
    if (document.fullscreenElement) {
      if (document.exitFullscreen) { document.exitFullscreen(); }
    } else if (root.requestFullscreen) {
      root.requestFullscreen().catch(function () { /* refused: the page still presents */ });
    }
  }

  function on(action, handler) {
    Array.prototype.forEach.call(document.querySelectorAll('[data-action="' + action + '"]'), function (element) {
      element.addEventListener("click", handler);
    });
  }
  on("next", function () { go(current + 1); });
  on("prev", function () { go(current - 1); });
  on("fullscreen", toggleFullScreen);
  on("speaker", function (event) {
    var address = event.currentTarget.getAttribute("href");
    if (view === "audience" && deck.getAttribute("data-view") === "file") {
      address = window.location.href.split("#")[0] + "#speaker";
    }
    // Opened by script, the speaker view keeps a handle on this window for postMessage.
    var opened = window.open(address, "lms-speaker", "popup,width=1100,height=720");
    if (opened) {
      event.preventDefault();
      speakerWindow = opened;
    }
  });

  // --- the speaker's clock ---------------------------------------------------------------------

  var clock = document.querySelector("[data-clock]");
  var elapsed = document.querySelector("[data-elapsed]");
  var timerKey = "lms-presenter-started:" + channelName;

  function storedStart() {
    try {
      var kept = Number(window.sessionStorage.getItem(timerKey));
      if (kept) { return kept; }
    } catch (ignored) { /* storage refused: the timer starts at load */ }
    return restartTimer();
  }

  function restartTimer() {
    started = Date.now();
    try { window.sessionStorage.setItem(timerKey, String(started)); } catch (ignored) { /* kept in memory */ }
    tick();
    return started;
  }

  function twoDigits(number) { return (number < 10 ? "0" : "") + number; }

  function tick() {
    if (clock) {
      var now = new Date();
      clock.textContent = twoDigits(now.getHours()) + ":" + twoDigits(now.getMinutes());
      clock.setAttribute("datetime", clock.textContent);
    }
    if (elapsed && started) {
      var seconds = Math.max(0, Math.floor((Date.now() - started) / 1000));
      var hours = Math.floor(seconds / 3600);
      var minutes = Math.floor(seconds / 60) % 60;
      elapsed.textContent = (hours ? hours + ":" + twoDigits(minutes) : minutes) + ":" + twoDigits(seconds % 60);
      elapsed.setAttribute("datetime", "PT" + seconds + "S");
    }
  }

  var started = 0;
  if (view === "speaker") {
    started = storedStart();
    on("restart-timer", restartTimer);
    window.setInterval(tick, 1000);
    reveal(".speaker-only");
  }

  // --- start ---------------------------------------------------------------------------------

  reveal('[data-action="prev"], [data-action="next"], [data-keys]');
  if (view === "audience" && root.requestFullscreen) { reveal('[data-action="fullscreen"]'); }
  var fromAddress = /^#slide-(\d+)$/.exec(window.location.hash);
  if (fromAddress) {
    settled = true;
    show(Number(fromAddress[1]) - 1, false);
  } else {
    show(0, false);
  }
  send({ type: "hello" });
}());
