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

  // Live polling with back-off: data-poll is a JSON URL; elements with
  // data-live="field" get that field's value. Stops when terminal is true.
  var live = document.querySelector("[data-poll]");
  if (live) {
    var url = live.getAttribute("data-poll"), delay = 1000;
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (v) {
          var changed = false;
          document.querySelectorAll("[data-live]").forEach(function (el) {
            var path = el.getAttribute("data-live").split("."), x = v;
            path.forEach(function (k) { x = (x == null) ? x : x[k]; });
            if (x == null) { x = ""; }
            if (typeof x === "object") { x = JSON.stringify(x); }
            x = String(x);
            if (el.textContent !== x) { el.textContent = x; changed = true; }
            if (el.classList.contains("badge")) { el.className = "badge s-" + x; }
          });
          if (v.terminal === true || v.pending === false) { live.setAttribute("data-done", "1"); return; }
          delay = changed ? 1000 : Math.min(delay * 1.5, 10000);
          setTimeout(tick, delay);
        })
        .catch(function () { delay = Math.min(delay * 2, 30000); setTimeout(tick, delay); });
    };
    setTimeout(tick, delay);
  }
})();
