/* Feedback and callback forms: keep fields consistent with the chosen status / outcome. No inline scripts (CSP). */
(function () {
  "use strict";

  function toggleClosedOn() {
    var status = document.getElementById("id_status");
    var closedOn = document.getElementById("id_closed_on");
    if (!status || !closedOn) return;
    var closed = status.value === "closed";
    closedOn.required = closed;
    closedOn.disabled = !closed;
    if (closed && !closedOn.value) {
      var d = new Date();
      closedOn.value = d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
    }
  }

  function toggleScores() {
    var outcome = document.getElementById("id_outcome");
    var box = document.getElementById("callback-scores");
    if (!outcome || !box) return;
    var reached = outcome.value === "reached";
    box.disabled = !reached;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var status = document.getElementById("id_status");
    if (status && document.getElementById("feedback-form")) {
      status.addEventListener("change", toggleClosedOn);
      toggleClosedOn();
    }
    var outcome = document.getElementById("id_outcome");
    if (outcome) {
      outcome.addEventListener("change", toggleScores);
      toggleScores();
    }
  });
})();
