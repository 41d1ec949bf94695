// The contrast of each variant's colours, shown beside its pickers while staff pick them.
// The same WCAG 2 formula as omnichannel/popups/contrast.py, whose check on saving is the
// one that holds; the translated words come in the list's data attributes.
document.addEventListener("DOMContentLoaded", () => {
  "use strict";
  const form = document.querySelector("form .oc-contrast")?.closest("form");
  if (!form) return;

  function luminance(colour) {
    const [red, green, blue] = [1, 3, 5].map((i) => {
      const channel = parseInt(colour.slice(i, i + 2), 16) / 255;
      return channel <= 0.04045 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue;
  }

  function ratio(first, second) {
    const [lighter, darker] = [luminance(first), luminance(second)].sort((a, b) => b - a);
    return (lighter + 0.05) / (darker + 0.05);
  }

  // Cut, not rounded, to one decimal: 4.48 never shows as a passing 4.5.
  const shown = (value) => `${(Math.trunc(value * 10) / 10).toFixed(1)}:1`;
  const VALID = /^#[0-9a-f]{6}$/i;

  function update(list) {
    const variant = list.closest(".inline-related");
    const colour = (name) => variant.querySelector(`[name$='-${name}']`)?.value || "";
    const aa = Number(list.dataset.aa);
    for (const item of list.children) {
      // A colour field of the variant, or a colour the popup's stylesheet fixes.
      const [fg, bg] = [item.dataset.fg, item.dataset.bg].map((c) => (c.startsWith("#") ? c : colour(c)));
      if (!VALID.test(fg) || !VALID.test(bg)) continue;
      const value = ratio(fg, bg);
      const low = value < aa;
      item.classList.toggle("oc-contrast-low", low);
      item.textContent = `${item.dataset.what}: ${shown(value)}, ${low ? list.dataset.low : list.dataset.ok}`;
    }
  }

  const all = () => form.querySelectorAll(".inline-related:not(.empty-form) .oc-contrast").forEach(update);
  form.addEventListener("input", (event) => {
    const list = event.target.closest(".inline-related")?.querySelector(".oc-contrast");
    if (list && /_colour$/.test(event.target.name)) update(list);
  });
  // A variant added with "Add another" arrives with its default colours.
  document.addEventListener("formset:added", all);
  all();
});
