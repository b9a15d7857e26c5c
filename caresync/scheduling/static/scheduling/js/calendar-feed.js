/* Calendar feed page: copy the once-shown feed URL to the clipboard.
 *
 * The Clipboard API needs a secure context (HTTPS or localhost); elsewhere the field's text
 * is selected so the user can copy it with the keyboard.
 */
(function () {
  "use strict";

  var status = document.querySelector("[data-copy-status]");

  function announce(text) {
    if (status) status.textContent = text;
  }

  function selectField(field) {
    field.focus();
    field.select();
  }

  document.querySelectorAll("[data-select-on-focus]").forEach(function (field) {
    field.addEventListener("focus", function () {
      field.select();
    });
  });

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copyTarget);
    var label = button.querySelector(".btn__label");
    if (!field || !label) return;
    var original = label.textContent;

    button.addEventListener("click", function () {
      var done = function () {
        label.textContent = button.dataset.copiedLabel || "Copied";
        button.dataset.copied = "true";
        announce("Feed URL copied to the clipboard.");
        window.setTimeout(function () {
          label.textContent = original;
        }, 2500);
      };
      var fallback = function () {
        selectField(field);
        announce("Press Ctrl+C (or Cmd+C) to copy the selected URL.");
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, fallback);
      } else {
        fallback();
      }
    });
  });
})();
