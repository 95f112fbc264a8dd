/*
 * NexusCore's few behaviours, without a framework. Loaded with `defer`, so the document is
 * parsed when this runs. Every page also works without it: the dropdowns are <details>, the
 * sidebar is shown in full when scripts are off, and toasts simply stay until the next page.
 *
 * - Toasts in #toasts close themselves after a few seconds (not errors: those wait to be
 *   closed) and have a close button. Toasts added later, for example by an htmx out-of-band
 *   swap, are picked up by a MutationObserver.
 * - The app sidebar opens and closes from its menu button on small screens.
 * - Open <details data-dropdown> menus close on a click elsewhere or on Escape.
 */
(function () {
  "use strict";

  var TOAST_SECONDS = 6;

  // ---- Toasts --------------------------------------------------------------------------

  function dismissToast(toast) {
    if (toast.classList.contains("is-leaving")) return;
    window.clearTimeout(toast._nexuscoreTimer);
    toast.classList.add("is-leaving");
    var removed = false;
    function remove() {
      if (removed) return;
      removed = true;
      toast.remove();
    }
    toast.addEventListener("transitionend", remove, { once: true });
    window.setTimeout(remove, 400); // in case no transition runs (reduced motion)
  }

  function scheduleToast(toast) {
    window.clearTimeout(toast._nexuscoreTimer);
    toast._nexuscoreTimer = window.setTimeout(function () {
      dismissToast(toast);
    }, TOAST_SECONDS * 1000);
  }

  function setUpToast(toast) {
    if (toast._nexuscoreReady) return;
    toast._nexuscoreReady = true;
    if (!toast.hasAttribute("data-toast-autodismiss")) return;
    scheduleToast(toast);
    // Reading takes longer than six seconds for some people: hovering or focusing keeps it.
    function pause() {
      window.clearTimeout(toast._nexuscoreTimer);
    }
    function resume() {
      if (!toast.matches(":hover, :focus-within")) scheduleToast(toast);
    }
    toast.addEventListener("mouseenter", pause);
    toast.addEventListener("focusin", pause);
    toast.addEventListener("mouseleave", resume);
    toast.addEventListener("focusout", resume);
  }

  function setUpToasts(root) {
    root.querySelectorAll("[data-toast]").forEach(setUpToast);
  }

  function watchToasts() {
    setUpToasts(document);
    // The whole body, not just #toasts: a boosted navigation replaces the region itself.
    new MutationObserver(function () {
      setUpToasts(document);
    }).observe(document.body, { childList: true, subtree: true });
  }

  // ---- Sidebar (app layout, small screens) ----------------------------------------------

  function setSidebar(button, open) {
    var sidebar = document.getElementById(button.getAttribute("aria-controls"));
    if (!sidebar) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    sidebar.classList.toggle("is-open", open);
  }

  // ---- Dropdowns --------------------------------------------------------------------------

  function closeDropdowns(except) {
    document.querySelectorAll("details[data-dropdown][open]").forEach(function (details) {
      if (details !== except && !details.contains(except)) details.removeAttribute("open");
    });
  }

  // ---- Wiring -----------------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;

    var close = target.closest("[data-toast-close]");
    if (close) {
      var toast = close.closest("[data-toast]");
      if (toast) dismissToast(toast);
      return;
    }

    var toggle = target.closest("[data-sidebar-toggle]");
    if (toggle) {
      setSidebar(toggle, toggle.getAttribute("aria-expanded") !== "true");
      return;
    }

    closeDropdowns(target.closest("details[data-dropdown]"));
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var openDropdown = event.target instanceof Element && event.target.closest("details[data-dropdown][open]");
    if (openDropdown) {
      openDropdown.removeAttribute("open");
      var summary = openDropdown.querySelector("summary");
      if (summary) summary.focus();
      return;
    }
    document.querySelectorAll("[data-sidebar-toggle][aria-expanded='true']").forEach(function (button) {
      setSidebar(button, false);
      button.focus();
    });
  });

  // Opening one dropdown closes the others (a click on a summary toggles only its own).
  document.addEventListener(
    "toggle",
    function (event) {
      var details = event.target;
      if (details instanceof HTMLDetailsElement && details.open && details.hasAttribute("data-dropdown")) {
        closeDropdowns(details);
      }
    },
    true
  );

  watchToasts();
})();
