/* Import job page: size the progress bar from its data-progress attribute (no style="" under the CSP),
 * on first load and whenever htmx swaps in a fresh bar. */
(function () {
  "use strict";

  function sizeBars(root) {
    var bars = (root || document).querySelectorAll(".progress-bar[data-progress]");
    Array.prototype.forEach.call(bars, function (bar) {
      var value = Math.max(0, Math.min(100, parseInt(bar.getAttribute("data-progress"), 10) || 0));
      bar.style.width = value + "%";
    });
  }

  if (window.htmx) {
    window.htmx.onLoad(sizeBars);
  } else {
    document.addEventListener("DOMContentLoaded", function () { sizeBars(document); });
  }
})();
