// The classroom page's error guard, inlined first in page.html's <head> by html.rs.
// First, so that any later mistake is caught: errors are shown on the page and counted in the
// body's data-errors attribute, which the browser test reads.
(function () {
  var errors = [];
  function record(text) {
    errors.push(String(text));
    var box = document.getElementById("errors");
    if (box) {
      box.hidden = false;
      box.textContent = errors.join("\n");
    }
    if (document.body) document.body.dataset.errors = String(errors.length);
  }
  window.addEventListener("error", function (e) {
    record((e.message || "error") + " (" + (e.filename || "page") + ":" + (e.lineno || 0) + ")");
  });
  window.addEventListener("unhandledrejection", function (e) {
    record("unhandled rejection: " + e.reason);
  });
  var consoleError = console.error;
  console.error = function () {
    record(Array.prototype.join.call(arguments, " "));
    consoleError.apply(console, arguments);
  };
  window.recordError = record;
})();
