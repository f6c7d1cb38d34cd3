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

  // After htmx swaps new content in (a condition's fields, the caution panel), keyboard focus
  // stays where the user was: choosing from a list must not move them away from it (WCAG
  // 3.2.2), and the new content follows in tab order. Should the swap have removed the
  // focused element, focus goes back to the control that asked for the content, or else to
  // the first field of the new content, never to the top of the page.
  var FIELDS = 'input:not([type="hidden"]), select, textarea, button, a[href]';

  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || !document.contains(active);
  }

  // A swap target names its status region (data-status); the new content says in one line
  // what appeared (data-announce). Screen readers read that line, not the whole content.
  function announce(target) {
    var regionId = target.getAttribute("data-status");
    var region = regionId ? document.getElementById(regionId) : null;
    if (!region) {
      return;
    }
    var source = target.querySelector("[data-announce]");
    region.textContent = source ? source.getAttribute("data-announce") : "";
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target) {
      return;
    }
    if (focusLost()) {
      var trigger = event.detail.requestConfig ? event.detail.requestConfig.elt : null;
      var next =
        trigger && document.contains(trigger) ? trigger : target.querySelector(FIELDS);
      if (next) {
        next.focus();
      }
    }
    announce(target);
  });

  // A page shown again with errors: focus goes to its error summary, whose links lead to the
  // fields (the first summary on the page, so the one of the form that failed).
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
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
