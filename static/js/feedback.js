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

  // The owner picker: a roster search result fills the owner, unit and project; typing again drops the choice.
  function pickOwner(event) {
    var button = event.target.closest(".owner-pick");
    if (!button) return;
    var set = function (id, value) { var el = document.getElementById(id); if (el) el.value = value; };
    set("id_owner", button.dataset.ownerId);
    set("id_owner_name", button.dataset.ownerName);
    set("id_unit", button.dataset.unit);
    set("id_project", button.dataset.project);
    var results = document.getElementById("owner-picker-results");
    if (results) results.textContent = "";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var picker = document.getElementById("owner-picker-results");
    if (picker) {
      picker.addEventListener("click", pickOwner);
      var name = document.getElementById("id_owner_name");
      var owner = document.getElementById("id_owner");
      if (name && owner) name.addEventListener("input", function () { owner.value = ""; });
    }
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
