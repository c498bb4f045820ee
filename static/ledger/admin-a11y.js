// Accessible names for the admin's autocomplete fields. select2 names its combobox only by the
// option shown, so an empty field has no name at all (axe-core: aria-input-field-name); the
// field's own label is added to it. A static file: the CSP allows no inline script.
"use strict";
(function () {
  function nameComboboxes(root) {
    root.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      if (!select.id || select.id.indexOf("__prefix__") !== -1) {
        return;
      }
      var label = document.querySelector('label[for="' + select.id + '"]');
      var container = select.nextElementSibling;
      var box = container && container.querySelector('.select2-selection[role="combobox"]');
      if (!label || !box) {
        return;
      }
      if (!label.id) {
        label.id = select.id + "-label";
      }
      // The text shown inside is a read-only textbox of its own: named by the label too.
      var rendered = box.querySelector(".select2-selection__rendered");
      if (rendered) {
        rendered.setAttribute("aria-labelledby", label.id);
      }
      var shown = box.getAttribute("aria-labelledby") || "";
      if (shown.split(" ").indexOf(label.id) === -1) {
        box.setAttribute("aria-labelledby", (label.id + " " + shown).trim());
      }
    });
  }
  // After the admin's own ready handler (autocomplete.js, registered before this deferred
  // script runs) has turned the selects into select2 boxes: jQuery runs them in order.
  if (window.django && window.django.jQuery) {
    window.django.jQuery(function () {
      nameComboboxes(document);
    });
  }
  document.addEventListener("formset:added", function (event) {
    nameComboboxes(event.target);
  });
})();
