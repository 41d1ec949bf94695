// The email blocks editor: a list of blocks over the JSON textarea that is posted (kept
// in sync on every change; without scripts staff edit the JSON itself). Each block is a
// fieldset with its fields and Move up / Move down / Remove buttons; a select and an Add
// button append one. The footer is always last, and there is at most one.
(() => {
  "use strict";
  const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, key) => values[key]);

  function editor(root) {
    if (root.dataset.ready || root.closest(".empty-form")) return;
    root.dataset.ready = "1";
    const strings = root.dataset;
    const schema = JSON.parse(strings.schema);
    const types = Object.fromEntries(schema.map((type) => [type.type, type]));
    const source = root.querySelector("textarea");
    const list = root.querySelector(".oc-blocks-editor");
    let blocks;
    try {
      blocks = JSON.parse(source.value || "[]");
    } catch (error) {
      return; // JSON staff typed by hand: left to them and to the form's error
    }
    if (!Array.isArray(blocks) || blocks.some((b) => !b || !types[b.type])) return;
    source.hidden = true;
    list.hidden = false;

    const save = () => { source.value = JSON.stringify(blocks, null, 1); };
    const footerAt = () => blocks.findIndex((block) => block.type === "footer");

    function button(label, action, disabled) {
      const element = document.createElement("button");
      element.type = "button";
      element.className = "button";
      element.textContent = label;
      element.disabled = disabled;
      element.addEventListener("click", action);
      return element;
    }

    function move(index, by, focusLabel) {
      const [block] = blocks.splice(index, 1);
      blocks.splice(index + by, 0, block);
      save();
      draw();
      // Keep the keyboard where it was: on the same button of the moved block.
      const moved = list.querySelectorAll("fieldset")[index + by];
      const again = [...moved.querySelectorAll("button")].find((b) => b.textContent === focusLabel);
      (again && !again.disabled ? again : moved.querySelector("input, textarea, button")).focus();
    }

    function draw() {
      const fieldsets = blocks.map((block, index) => {
        const type = types[block.type];
        const fieldset = document.createElement("fieldset");
        fieldset.className = "oc-block";
        fieldset.dataset.type = block.type;
        const legend = document.createElement("legend");
        legend.textContent = fill(strings.block, { number: index + 1, type: type.label });
        fieldset.append(legend);
        type.fields.forEach((field) => {
          const id = `${source.id}-${index}-${field.name}`;
          const label = document.createElement("label");
          label.htmlFor = id;
          label.textContent = field.label;
          if (field.required) label.className = "required";
          const input = document.createElement(field.multiline ? "textarea" : "input");
          input.id = id;
          if (field.multiline) input.rows = 3;
          else input.type = "text";
          input.className = "vLargeTextField";
          input.value = block[field.name] || "";
          input.dataset.field = field.name;
          input.addEventListener("input", () => {
            if (input.value) block[field.name] = input.value;
            else delete block[field.name];
            save();
          });
          const row = document.createElement("div");
          row.className = "oc-block-field";
          row.append(label, input);
          fieldset.append(row);
        });
        const footer = block.type === "footer";
        const lastMovable = footerAt() === -1 ? blocks.length - 1 : blocks.length - 2;
        const actions = document.createElement("div");
        actions.className = "oc-block-actions";
        actions.append(
          button(strings.up, () => move(index, -1, strings.up), footer || index === 0),
          button(strings.down, () => move(index, 1, strings.down), footer || index >= lastMovable),
          button(strings.remove, () => {
            blocks.splice(index, 1);
            save();
            draw();
            list.querySelector("select").focus();
          }, false),
        );
        fieldset.append(actions);
        return fieldset;
      });
      const adder = document.createElement("div");
      adder.className = "oc-block-adder";
      const select = document.createElement("select");
      select.setAttribute("aria-label", strings.add);
      schema
        .filter((type) => type.type !== "footer" || footerAt() === -1)
        .forEach((type) => select.append(new Option(type.label, type.type)));
      adder.append(select, button(strings.add, () => {
        const block = { type: select.value };
        const footer = footerAt();
        const at = block.type === "footer" || footer === -1 ? blocks.length : footer;
        blocks.splice(at, 0, block);
        save();
        draw();
        const added = list.querySelectorAll("fieldset")[at];
        (added.querySelector("input, textarea") || added.querySelector("button")).focus();
      }, false));
      const note = document.createElement("p");
      note.className = "help";
      note.textContent = blocks.length ? strings.footer : strings.empty;
      list.replaceChildren(...fieldsets, adder, note);
    }
    draw();
  }

  const start = (scope) => scope.querySelectorAll(".oc-blocks").forEach(editor);
  document.addEventListener("DOMContentLoaded", () => start(document));
  document.addEventListener("formset:added", (event) => start(event.target));
})();
