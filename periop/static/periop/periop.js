/* Periop pages: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Lets the stylesheet hide the buttons that only browsers without JavaScript need.
  document.documentElement.classList.add("js");

  // htmx requests carry the CSRF token in a header, read from the page's meta tag.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.headers["X-CSRFToken"] = meta.getAttribute("content");
    }
  });

  // The print view's button (no inline handlers: the content security policy forbids them).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) {
      event.preventDefault();
      window.print();
    }
  });
})();
