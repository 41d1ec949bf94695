// A step's contents: each shows only the fields of its channel (the fieldsets carry
// oc-for-<channel> classes; omnichannel.css hides the others), and an SMS text counts its
// segments and cost while staff type. The count follows omnichannel/channels/sms_segments.py,
// whose alphabet comes in the counter's data attributes; a browser test compares the two.
document.addEventListener("DOMContentLoaded", () => {
  "use strict";
  const group = document.getElementById("contents-group");
  if (!group) return;
  const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, key) => values[key]);

  function segments(text, basic, extended) {
    if (!text) return { segments: 0, length: 0, gsm: true, odd: "" };
    const odd = [...text].find((char) => !basic.has(char) && !extended.has(char));
    if (odd === undefined) {
      const length = [...text].reduce((sum, char) => sum + (extended.has(char) ? 2 : 1), 0);
      return { segments: length <= 160 ? 1 : Math.ceil(length / 153), length, gsm: true, odd: "" };
    }
    // UCS-2 counts UTF-16 code units, as a JavaScript string's length does: an emoji takes two.
    const length = text.length;
    return { segments: length <= 70 ? 1 : Math.ceil(length / 67), length, gsm: false, odd };
  }

  function count(content) {
    const counter = content.querySelector(".oc-sms-counter");
    const text = content.querySelector("textarea[name$='-text']");
    if (!counter || !text) return;
    const data = counter.dataset;
    const basic = new Set(JSON.parse(data.gsmBasic));
    const extended = new Set(JSON.parse(data.gsmExtended));
    const found = segments(text.value, basic, extended);
    const lines = [
      fill(data.summary, {
        segments: found.segments,
        characters: found.length,
        encoding: found.gsm ? data.gsm : fill(data.ucs2, { char: found.odd }),
      }),
    ];
    const rates = JSON.parse(data.rates);
    if (rates.length && found.segments) {
      const language = document.documentElement.lang || "en";
      const costs = rates.map((rate) => {
        const money = new Intl.NumberFormat(language, {
          style: "currency", currency: rate.currency, minimumFractionDigits: 2, maximumFractionDigits: 4,
        }).format(Number(rate.amount) * found.segments);
        return `${money} (${rate.where})`;
      });
      lines.push(fill(data.cost, { costs: costs.join(", ") }));
    }
    const over = found.segments > Number(data.budget);
    if (over) lines.push(fill(data.overBudget, { budget: data.budget }));
    counter.classList.toggle("oc-sms-over", over);
    counter.dataset.segments = String(found.segments);
    counter.replaceChildren(...lines.flatMap((line, index) => (index ? [document.createElement("br"), line] : [line])));
  }

  function follow(content) {
    const channel = content.querySelector("select[name$='-channel']");
    if (!channel) return;
    content.dataset.channel = channel.value;
    count(content);
  }

  const contents = () => group.querySelectorAll(".inline-related:not(.empty-form)");
  group.addEventListener("change", (event) => {
    if (event.target.matches("select[name$='-channel']")) follow(event.target.closest(".inline-related"));
  });
  group.addEventListener("input", (event) => {
    if (event.target.matches("textarea[name$='-text']")) count(event.target.closest(".inline-related"));
  });
  document.addEventListener("formset:added", (event) => event.target.closest("#contents-group") && follow(event.target));
  contents().forEach(follow);
});
