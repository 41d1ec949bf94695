// omnichannel popup: fetched by the loader when a trigger fires (budget: 10 KB gzipped).
// It opens the variant's markup as an accessible dialog and talks to the popup API.
// A modal popup holds the focus until it closes; a slide-in or a bar sits beside the
// page and leaves the focus where the visitor puts it.
// The admin preview opens it with `preview: true`: then it never calls the API.
(function (w, d) {
  "use strict";

  const post = (url, body, keepalive) =>
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      keepalive: !!keepalive,
    });

  const FOCUSABLE = "a[href], button, input:not([tabindex='-1']), select, textarea, [tabindex='0']";

  function open(ctx) {
    const cfg = ctx.cfg || {};
    const preview = !!ctx.preview;
    const ids = { popup: ctx.popup.id, variant: ctx.variant };
    const template = d.createElement("template");
    template.innerHTML = ctx.markup;
    const root = template.content.firstElementChild;
    const dialog = root.querySelector("[data-oc-dialog]");
    const modal = dialog.getAttribute("aria-modal") === "true";
    const form = root.querySelector("[data-oc-form]");
    const returnFocus = d.activeElement;
    let converted = false;

    // The impression answers with the token the form must carry: it proves the form was
    // shown, and when (a form sent too fast is a robot's).
    const token = preview
      ? Promise.resolve("")
      : post(cfg.api.event, Object.assign({ kind: "impression" }, ids))
          .then((r) => r.json())
          .then((j) => j.token || "")
          .catch(() => "");

    const visible = (el) => !el.hidden && el.getClientRects().length > 0;
    const focusables = () => Array.from(dialog.querySelectorAll(FOCUSABLE)).filter(visible);

    function close() {
      // Focus goes back only when the popup held it: a slide-in closed by a click leaves
      // the focus wherever the visitor has moved it since.
      const hadFocus = modal || root.contains(d.activeElement);
      root.remove();
      d.removeEventListener("keydown", onKey, true);
      d.removeEventListener("focusin", onFocusIn, true);
      if (!converted) {
        ctx.remember && ctx.remember("c");
        if (!preview) post(cfg.api.event, Object.assign({ kind: "close" }, ids), true).catch(() => {});
      }
      if (hadFocus && returnFocus && returnFocus.focus) returnFocus.focus();
    }

    // Escape closes a modal from anywhere, a slide-in only from inside it (in a page's
    // field, Escape belongs to the page). Tab stays inside a modal only.
    function onKey(event) {
      if (event.key === "Escape" && (modal || root.contains(d.activeElement))) {
        event.preventDefault();
        close();
      } else if (event.key === "Tab" && modal) {
        const items = focusables();
        if (!items.length) return;
        const first = items[0];
        const last = items[items.length - 1];
        const inside = dialog.contains(d.activeElement);
        if (event.shiftKey && (d.activeElement === first || !inside)) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && (d.activeElement === last || !inside)) {
          event.preventDefault();
          first.focus();
        }
      }
    }

    // Focus that escapes a modal (a click on the page behind) is brought back.
    function onFocusIn(event) {
      if (modal && !root.contains(event.target)) (focusables()[0] || dialog).focus();
    }

    function step(name) {
      root.querySelectorAll("[data-oc-step]").forEach((section) => {
        section.hidden = section.dataset.ocStep !== name;
      });
      const heading = root.querySelector("[data-oc-step='" + name + "'] h2");
      dialog.setAttribute("aria-labelledby", heading.id);
      dialog.removeAttribute("aria-describedby");
      heading.focus();
    }

    function succeed(answer) {
      converted = true;
      ctx.remember && ctx.remember("x");
      if (answer.status === "confirm") return step("confirm");
      const code = root.querySelector("[data-oc-code]");
      if (answer.gift && answer.gift.code) {
        code.textContent = answer.gift.code;
        code.hidden = false;
      }
      step("done");
    }

    function clearErrors() {
      root.querySelectorAll("[data-oc-error]").forEach((el) => (el.textContent = ""));
      root.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    }

    // DRF's errors: {"email": ["..."], "extra": {"birth_year": ["..."]}, "detail": "..."}.
    function showErrors(errors, prefix) {
      let firstInvalid = null;
      for (const key of Object.keys(errors)) {
        const value = errors[key];
        const name = key === "detail" ? "non_field_errors" : (prefix || "") + key;
        if (value && typeof value === "object" && !Array.isArray(value)) {
          firstInvalid = showErrors(value, name + ".") || firstInvalid;
          continue;
        }
        const slot =
          root.querySelector("[data-oc-error='" + name + "']") ||
          root.querySelector("[data-oc-error='non_field_errors']");
        if (slot) slot.textContent = [].concat(value).join(" ");
        const input = form && form.querySelector("[name='" + name + "']");
        if (input) {
          input.setAttribute("aria-invalid", "true");
          firstInvalid = firstInvalid || input;
        }
      }
      return firstInvalid;
    }

    function formBody() {
      const body = Object.assign({ consents: [], extra: {} }, ids);
      for (const [name, value] of new FormData(form)) {
        if (name === "consents") body.consents.push(value);
        else if (value === "") continue;
        else if (name.startsWith("extra.")) body.extra[name.slice(6)] = value;
        else body[name] = value;
      }
      return body;
    }

    async function submit(event) {
      event.preventDefault();
      clearErrors();
      if (preview) return succeed({ gift: { code: "PREVIEW-CODE" } });
      const button = form.querySelector("[type=submit]");
      const body = formBody();
      button.disabled = true;
      try {
        body.token = await token;
        const response = await post(cfg.api.subscribe, body);
        const answer = await response.json().catch(() => ({}));
        if (response.ok) return succeed(answer);
        // 400: field errors; 403, 415, 429: {"detail": ...}; anything else: try later.
        const errors = response.status === 400 || answer.detail ? answer : {};
        if (!Object.keys(errors).length) errors.detail = form.dataset.ocOffline;
        const invalid = showErrors(errors);
        if (invalid) invalid.focus();
      } catch (error) {
        showErrors({ detail: form.dataset.ocOffline });
      } finally {
        button.disabled = false;
      }
    }

    // Web push: the browser asks for permission only after this click.
    async function subscribePush() {
      if (preview) return succeed({});
      if ((await Notification.requestPermission()) !== "granted") return;
      const registration = await navigator.serviceWorker.register(cfg.sw);
      const worker = registration.installing || registration.waiting;
      if (worker && !registration.active) {
        await new Promise((resolve) =>
          worker.addEventListener("statechange", () => worker.state === "activated" && resolve())
        );
      }
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: cfg.vapid,
      });
      const response = await post(
        cfg.api.push,
        Object.assign({ subscription: subscription.toJSON() }, ids)
      );
      if (response.ok) succeed(await response.json());
    }

    const pushButton = root.querySelector("[data-oc-push]");
    if (pushButton && (preview || (cfg.vapid && "PushManager" in w && navigator.serviceWorker))) {
      pushButton.hidden = false;
      pushButton.addEventListener("click", () => subscribePush().catch(() => {}));
    }
    if (form) form.addEventListener("submit", submit);
    root.addEventListener("click", (event) => {
      if (event.target.closest("[data-oc-close]")) close();
    });
    d.addEventListener("keydown", onKey, true);
    d.addEventListener("focusin", onFocusIn, true);
    d.body.appendChild(root);
    // A modal takes the focus; a slide-in waits for the visitor. The admin's live preview
    // must not take the focus from the field being typed in.
    if (modal && !preview) (form ? form.querySelector(FOCUSABLE) : focusables()[0] || dialog).focus();
  }

  w.omnichannelPopup = { open: open };
})(window, document);
