// omnichannel popup loader: the page's inline snippet ({% omnichannel_popup %}) fetches it
// when the browser is idle. It arms the triggers of the page's popups; when one fires it
// decides whether that popup may show, then fetches the variant's markup, popup.js and
// popup.css, and popup.js shows it.
// Nothing here touches localStorage or sessionStorage until a trigger fires or the page is
// left: their first read is a synchronous round trip to the browser process, which cost
// more than the rest of the loader together on a slow phone.
// Budget: 3 KB gzipped (tests/popups/test_budgets.py).
(function (w, d) {
const el = d.getElementById("omnichannel-popups")
if (!el || w.omnichannelLoaded) return
w.omnichannelLoaded = 1
const C = JSON.parse(el.textContent), nonce = d.currentScript && d.currentScript.nonce
const K = "omnichannel", start = Date.now()
// L (localStorage) outlives the visit: variants given, closes, conversions, today's count.
// S (sessionStorage) is the visit: pages seen, popups shown, landing referrer and query.
let L, S
const save = () => { try { localStorage[K] = JSON.stringify(L); sessionStorage[K] = JSON.stringify(S) } catch (e) {} }
// This page view, counted once: on the first trigger, else when the visitor leaves.
const visit = () => {
if (L) return
const read = s => { try { return JSON.parse(w[s].getItem(K)) || {} } catch (e) { return {} } }
const day = new Date(start).toDateString()
L = read("localStorage"), S = read("sessionStorage")
if (!S.pv) Object.assign(S, { pv: 0, ret: !!L.seen, ref: d.referrer, q: location.search }), L.seen = start
S.pv++
if (L.day != day) L.day = day, L.dn = 0
L.c = L.c || {}, L.x = L.x || {}, L.v = L.v || {}
save()
}
w.addEventListener("pagehide", visit)
const capped = () => (S.n || 0) >= C.perSession || L.dn >= C.perDay
const utm = u => new URLSearchParams(S.q).getAll(u.split("=")[0]).includes(u.split("=")[1])
const eligible = p => p.variants.length && !L.x[p.id] && !(p.hideSubs && L.sub)
&& !(start - (L.c[p.id] || 0) < p.hideDays * 864e5) && S.pv >= (p.pages || 1)
&& !(p.visitors == "new" && S.ret) && !(p.visitors == "returning" && !S.ret)
&& (!p.referrer || (S.ref || "").includes(p.referrer)) && (!p.utm || p.utm.some(utm))
let fired = 0
// Show popup p if it is the one this visitor may see: the configuration lists the
// matching popups by priority, and the first eligible one wins (only its triggers count).
const fire = (p, force) => {
if (fired || !(force || Date.now() - start >= (p.dwell || 0) * 1000)) return 0
visit()
if (capped() || C.popups.find(eligible) != p) return 0
// A visitor keeps the variant drawn for them (weighted) on their first sight of the popup.
const vs = p.variants
let v = vs.find(x => x.id == L.v[p.id])
if (!v) {
let r = Math.random() * vs.reduce((a, x) => a + x.w, 0)
v = vs.find(x => (r -= x.w) < 0) || vs[0]
L.v[p.id] = v.id
}
fired = S.n = (S.n || 0) + 1
L.dn++
save()
const remember = k => { L[k][p.id] = Date.now(); if (k == "x") L.sub = 1; save() }
// The markup answer also carries what popup.js needs: the API's URLs, the push key.
let n = 3, content
const go = () => --n || w.omnichannelPopup.open({ popup: p, variant: v.id, cfg: content, markup: content.markup, remember })
fetch(C.content.replace("VARIANT", v.id), { credentials: "same-origin" })
.then(r => r.ok && r.json()).then(j => j && (content = j, go()), () => {})
const css = d.createElement("link")
css.rel = "stylesheet", css.href = C.css, css.onload = go
const js = d.createElement("script")
js.src = C.js, js.nonce = nonce, js.onload = go
d.head.append(css, js)
return 1
}
const listen = (t, e, f) => t.addEventListener(e, f, { passive: true })
const touch = matchMedia("(pointer: coarse)").matches, backs = []
for (const p of C.popups) {
const on = p.on || {}, go = force => fire(p, force)
// Timers wait for the minimum time on the page too.
const later = s => setTimeout(go, Math.max(s * 1000, start + (p.dwell || 0) * 1000 - Date.now()))
// Desktop exit intent: the pointer leaves through the top edge, no button held.
if (on.exit && !touch) listen(d, "mouseout", e => !e.relatedTarget && e.clientY <= 0 && !e.buttons && go())
if (touch && on.scrollUp) {
// A flick back up: 200 px up within 300 ms, as when reaching for the address bar.
let a
listen(w, "scroll", () => {
const t = Date.now(), y = scrollY
if (!a || y > a[1] || t - a[0] > 300) a = [t, y]
else if (a[1] - y > 200) go()
})
}
if (touch && on.tabReturn) {
let away
listen(d, "visibilitychange", () => d.hidden ? away = 1 : away && go())
}
if (touch && on.back) backs.push(p)
if (on.idle) {
let timer
const reset = () => { clearTimeout(timer); timer = later(on.idle) }
for (const e of ["mousemove", "keydown", "scroll", "touchstart"]) listen(d, e, reset)
reset()
}
if (on.delay != null) later(on.delay)
if (on.scroll) listen(d, "scroll", () => (scrollY + innerHeight) * 100 >= d.documentElement.scrollHeight * on.scroll && go())
if (on.click) d.addEventListener("click", e => { try { e.target.closest(on.click) && go(1) } catch (x) {} })
}
// The back button: one history entry for all popups; when none may show, back it goes.
// Browsers skip history entries added before the visitor touched the page, so wait.
if (backs.length) {
const arm = () => {
history.pushState({ omnichannel: 1 }, "")
listen(w, "popstate", () => backs.some(p => fire(p, 1)) || history.back())
}
d.addEventListener("click", arm, { once: true })
}
})(window, document)
