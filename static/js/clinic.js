/* Small progressive enhancements; every page works without them. */
(function () {
  "use strict";

  function onceForms() {
    return document.querySelectorAll("form[data-submit-once]");
  }

  function setSubmitting(form, submitting) {
    if (submitting) {
      form.dataset.submitting = "true";
    } else {
      delete form.dataset.submitting;
    }
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.classList.toggle("disabled", submitting);
      if (submitting) {
        button.setAttribute("aria-disabled", "true");
      } else {
        button.removeAttribute("aria-disabled");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    // After a failed submit, take keyboard and screen-reader users straight to the list of what to fix.
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }

    // A link in the summary focuses its field and brings the field's label into view with it.
    document.querySelectorAll("#error-summary a[href^='#']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var target = document.getElementById(link.getAttribute("href").slice(1));
        if (!target) {
          return;
        }
        event.preventDefault();
        var group = target.closest("fieldset, .mb-3") || target;
        group.scrollIntoView({ block: "start" });
        target.focus({ preventScroll: true });
      });
    });

    // One booking per click: a second press while the first is on its way would only be told "just taken".
    onceForms().forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.submitting) {
          event.preventDefault();
          return;
        }
        setSubmitting(form, true);
      });
    });
  });

  // Coming back with the browser's Back button shows the page as it was left: make its buttons work again.
  window.addEventListener("pageshow", function () {
    onceForms().forEach(function (form) {
      setSubmitting(form, false);
    });
  });
})();
