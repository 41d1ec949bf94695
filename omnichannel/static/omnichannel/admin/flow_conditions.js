// Conditions on flow and step pages: each row shows the parameters of the condition it
// has chosen and hides the others. Without this script every parameter stays visible.
document.addEventListener("DOMContentLoaded", () => {
  "use strict";
  for (const row of document.querySelectorAll(".oc-condition-row")) {
    const pick = row.querySelector("select[data-oc-condition]");
    const show = () => {
      for (const param of row.querySelectorAll("[data-condition]")) {
        param.style.display = param.dataset.condition === pick.value ? "" : "none";
      }
    };
    pick.addEventListener("change", show);
    show();
  }
});
