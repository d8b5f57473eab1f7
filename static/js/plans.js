/* Plan pages: confirm before irreversible transitions; show pilot fields only for process pilots. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  var kind = document.getElementById("id_kind");
  if (!kind) {
    return;
  }
  function togglePilotFields() {
    var isPilot = kind.value === "pilot";
    document.querySelectorAll(".pilot-only").forEach(function (element) {
      element.hidden = !isPilot;
    });
  }
  kind.addEventListener("change", togglePilotFields);
  togglePilotFields();
})();
