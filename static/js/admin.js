/* Small accessibility mends to Django's own admin widgets; every page works without them. */
(function () {
  "use strict";

  // Django's two-box chooser (filter_horizontal) labels its search and help icons with aria-label on a bare
  // <span>, which ARIA does not allow (axe: aria-prohibited-attr). It builds them on the window's load, before this
  // listener runs: name them as the images they are.
  window.addEventListener("load", function () {
    document.querySelectorAll(".selector span.help-tooltip[aria-label]").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  });
})();
