// Live preview on the popup's admin page: the form as it is now (saved or not) is sent to
// the preview view on every change, and the answer is shown in a sandboxed frame.
// Admin media load in <head>: start once the form exists.
document.addEventListener("DOMContentLoaded", () => {
  "use strict";
  const frame = document.getElementById("oc-preview");
  if (!frame) return;
  const form = frame.closest("form");
  const pick = document.getElementById("oc-preview-variant");
  let timer;

  // One option per variant form of the inline (added ones included).
  function listVariants() {
    const total = Number(form.querySelector("[name='variants-TOTAL_FORMS']").value);
    const chosen = pick.value || "0";
    pick.replaceChildren();
    for (let index = 0; index < total; index++) {
      const name = form.querySelector(`[name='variants-${index}-name']`);
      const locale = form.querySelector(`[name='variants-${index}-locale']`);
      if (!name) continue;
      const label = (name.value || `#${index + 1}`) + (locale && locale.value ? ` (${locale.value})` : "");
      pick.append(new Option(label, String(index), false, String(index) === chosen));
    }
  }

  async function refresh() {
    listVariants();
    const data = new FormData(form);
    data.set("_preview_variant", pick.value || "0");
    const response = await fetch(frame.dataset.url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken") },
    });
    if (response.ok) frame.srcdoc = await response.text();
  }

  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  };
  form.addEventListener("input", soon);
  form.addEventListener("change", (event) => event.target !== pick && soon());
  pick.addEventListener("change", refresh);
  refresh();
});
