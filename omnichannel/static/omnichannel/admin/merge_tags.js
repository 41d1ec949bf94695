// The step page's merge-tag picker: a click on a variable inserts its tag at the cursor
// of the content field last focused (text, subject, HTML, title, body...).
(function () {
  "use strict";
  var picker = document.getElementById("oc-merge-tags");
  if (!picker) return;
  var target = null;
  var note = picker.querySelector(".oc-merge-tags-target");

  document.addEventListener("focusin", function (event) {
    var field = event.target;
    var editable = field.matches("textarea, input[type=text], input:not([type])");
    if (editable && field.closest(".inline-group")) {
      target = field;
      var label = document.querySelector('label[for="' + field.id + '"]');
      note.textContent = label ? label.textContent.replace(/:$/, "") : field.name;
    }
  });

  picker.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-tag]");
    if (!button) return;
    event.preventDefault();
    if (!target) {
      note.textContent = picker.dataset.noTarget;
      return;
    }
    var tag = button.dataset.tag;
    var start = target.selectionStart, end = target.selectionEnd;
    if (typeof start !== "number") start = end = target.value.length;
    target.value = target.value.slice(0, start) + tag + target.value.slice(end);
    target.focus();
    target.setSelectionRange(start + tag.length, start + tag.length);
    target.dispatchEvent(new Event("input", {bubbles: true}));
  });
})();
