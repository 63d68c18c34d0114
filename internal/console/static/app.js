// Firstmate console: progressive enhancement only. Every page works without
// this file; it adds live counters, confirmations, copy buttons and search.
(function () {
  "use strict";

  // Ask before destructive forms (data-confirm holds the question).
  document.addEventListener("submit", function (e) {
    var q = e.target.getAttribute("data-confirm");
    if (q && !window.confirm(q)) { e.preventDefault(); }
  });

  // Copy buttons: data-copy names the element whose text is copied.
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.classList.remove("hide");
    b.addEventListener("click", function () {
      var el = document.getElementById(b.getAttribute("data-copy"));
      if (el && navigator.clipboard) { navigator.clipboard.writeText(el.textContent.trim()); b.textContent = "Copied"; }
    });
  });

  // Filter lists as you type: data-filter names the items' selector.
  document.querySelectorAll("input[data-filter]").forEach(function (inp) {
    var items = document.querySelectorAll(inp.getAttribute("data-filter"));
    inp.addEventListener("input", function () {
      var q = inp.value.toLowerCase();
      items.forEach(function (it) { it.classList.toggle("hide", q !== "" && it.textContent.toLowerCase().indexOf(q) < 0); });
    });
  });

  // Live parts. The element with data-sse names a server-sent event
  // stream; data-poll names the JSON twin of the same view, polled with
  // back-off when EventSource is missing or the stream cannot be opened.
  // Elements with data-live="field" get that field's value. Both stop when
  // the view says terminal: true.
  var live = document.querySelector("[data-sse],[data-poll]");
  if (live) {
    var apply = function (v) {
      document.querySelectorAll("[data-live]").forEach(function (el) {
        var path = el.getAttribute("data-live").split("."), x = v;
        path.forEach(function (k) { x = (x == null) ? x : x[k]; });
        if (x == null) { x = ""; }
        if (typeof x === "object") { x = JSON.stringify(x); }
        x = String(x);
        if (el.textContent !== x) { el.textContent = x; }
        if (el.classList.contains("badge")) { el.className = "badge s-" + x; }
      });
      if (v.terminal === true) { live.setAttribute("data-done", "1"); }
      return v.terminal === true;
    };
    var poll = function () {
      var url = live.getAttribute("data-poll"), delay = 1000, last = "";
      if (!url) { return; }
      live.setAttribute("data-live-mode", "poll");
      var tick = function () {
        fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
          .then(function (t) {
            if (apply(JSON.parse(t))) { return; }
            delay = (t !== last) ? 1000 : Math.min(delay * 1.5, 10000);
            last = t;
            setTimeout(tick, delay);
          })
          .catch(function () { delay = Math.min(delay * 2, 30000); setTimeout(tick, delay); });
      };
      setTimeout(tick, delay);
    };
    var sse = live.getAttribute("data-sse");
    if (sse && window.EventSource) {
      var es = new EventSource(sse), opened = false;
      live.setAttribute("data-live-mode", "sse");
      es.onmessage = function (e) {
        opened = true;
        if (apply(JSON.parse(e.data))) { es.close(); }
      };
      es.addEventListener("done", function () { es.close(); });
      es.onerror = function () {
        // Never opened (a proxy that refuses streams): poll instead. A
        // stream that worked and dropped reconnects by itself.
        if (!opened || es.readyState === EventSource.CLOSED) { es.close(); if (live.getAttribute("data-done") !== "1") { poll(); } }
      };
    } else {
      poll();
    }
  }
})();
