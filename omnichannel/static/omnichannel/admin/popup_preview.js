// Live preview on the popup's admin page: the form as it is now (saved or not) is sent to
// the preview view on every change, and the answer is shown in a sandboxed frame, at a
// desktop or a phone's width, scaled down to fit its column.
// Admin media load in <head>: start once the form exists.
document.addEventListener("DOMContentLoaded", () => {
  "use strict";
  const frame = document.getElementById("oc-preview");
  if (!frame) return;
  const form = frame.closest("form");
  const pick = document.getElementById("oc-preview-variant");
  const stage = frame.parentElement;
  const devices = document.querySelectorAll(".oc-preview-devices [data-device]");
  // The window the popup is laid out in: a laptop, or a common phone (CSS pixels).
  const SIZES = { desktop: [1280, 800], mobile: [390, 760] };
  let device = "desktop";
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

  // The frame keeps the device's own width (the popup's CSS sees a real desktop or phone)
  // and is scaled to the column; a phone narrower than the column is centred, unscaled.
  function layout() {
    const [width, height] = SIZES[device];
    const scale = Math.min(1, stage.clientWidth / width);
    frame.style.width = `${width}px`;
    frame.style.height = `${height}px`;
    frame.style.transform = `scale(${scale})`;
    frame.style.marginLeft = `${Math.max(0, (stage.clientWidth - width) / 2)}px`;
    stage.style.height = `${Math.ceil(height * scale)}px`;
  }

  devices.forEach((button) =>
    button.addEventListener("click", () => {
      device = button.dataset.device;
      devices.forEach((other) => other.setAttribute("aria-pressed", String(other === button)));
      layout();
    })
  );
  new ResizeObserver(layout).observe(stage);

  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  };
  form.addEventListener("input", soon);
  form.addEventListener("change", (event) => event.target !== pick && soon());
  pick.addEventListener("change", refresh);
  layout();
  refresh();
});
