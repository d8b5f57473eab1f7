/* 录入问卷: keyboard-only entry.
 * Owner search: ↓ / Enter in the search box go to the results, ↑ ↓ move among them, Esc returns, Enter opens.
 * Score items: digits 1–5 answer the focused item and move to the next, 0 = 不适用, Enter saves.
 * Header fields (number, date, channel): Enter saves too, unless a required item is still unanswered —
 * then it goes to that item, so that typing the number and pressing Enter starts the scoring.
 */
(function () {
  "use strict";

  function resultLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#owner-results a.owner-result"));
  }

  function scoreItems(form) {
    return Array.prototype.slice.call(form.querySelectorAll(".score-item"));
  }

  function focusItem(item) {
    var radio = item.querySelector("input[type=radio]:checked") || item.querySelector("input[type=radio]");
    if (radio) {
      radio.focus();
    }
  }

  function focusNext(item) {
    var form = item.closest("form");
    var items = scoreItems(form);
    var next = items[items.indexOf(item) + 1];
    if (next) {
      focusItem(next);
    } else {
      var save = form.querySelector("[type=submit]");
      if (save) {
        save.focus();
      }
    }
  }

  function onSearchKey(event) {
    var links = resultLinks();
    if ((event.key === "ArrowDown" || event.key === "Enter") && links.length) {
      event.preventDefault();
      links[0].focus();
    }
  }

  function onResultKey(event, link) {
    var links = resultLinks();
    var index = links.indexOf(link);
    var search = document.getElementById("owner-search");
    if (event.key === "ArrowDown" && index < links.length - 1) {
      event.preventDefault();
      links[index + 1].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (index > 0) {
        links[index - 1].focus();
      } else if (search) {
        search.focus();
      }
    } else if (event.key === "Escape" && search) {
      event.preventDefault();
      search.focus();
    }
  }

  function onScoreKey(event, radio, item) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (/^[0-5]$/.test(event.key)) {
      event.preventDefault();
      var value = event.key === "0" ? "na" : event.key;
      var choice = item.querySelector('input[type=radio][value="' + value + '"]');
      if (!choice) {
        return; // a required item has no 不适用
      }
      choice.checked = true;
      choice.dispatchEvent(new Event("change", { bubbles: true }));
      item.classList.remove("is-invalid");
      focusNext(item);
    } else if (event.key === "Enter") {
      event.preventDefault();
      radio.form.requestSubmit();
    }
  }

  function firstUnansweredRequired(form) {
    var items = scoreItems(form);
    for (var i = 0; i < items.length; i++) {
      var required = !items[i].querySelector('input[type=radio][value="na"]');
      if (required && !items[i].querySelector("input[type=radio]:checked")) {
        return items[i];
      }
    }
    return null;
  }

  function onHeaderKey(event, field) {
    if (event.key !== "Enter" || event.isComposing) {
      return;
    }
    event.preventDefault();
    var missing = firstUnansweredRequired(field.form);
    if (missing) {
      focusItem(missing);
    } else {
      field.form.requestSubmit();
    }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) {
      return;
    }
    if (target.id === "owner-search") {
      onSearchKey(event);
      return;
    }
    if (target.classList.contains("owner-result")) {
      onResultKey(event, target);
      return;
    }
    var item = target.closest(".score-item");
    if (item && target.type === "radio") {
      onScoreKey(event, target, item);
    } else if (target.form && target.form.id === "entry-form" && target.matches("input, select")) {
      onHeaderKey(event, target);
    }
  });

  // After a refused save, start where the first problem is (entry form, owner form).
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector("#entry-form .is-invalid, form [aria-invalid=true]");
    if (!invalid) {
      return;
    }
    if (invalid.classList.contains("score-item")) {
      focusItem(invalid);
    } else {
      invalid.focus();
    }
  });
})();
