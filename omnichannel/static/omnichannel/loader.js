// omnichannel popup loader: the page's inline snippet ({% omnichannel_popup %}) fetches it
// when the browser is idle. It decides whether and when a popup shows; on the trigger it
// fetches the variant's markup, popup.js and popup.css, and popup.js shows it.
// Budget: 2 KB gzipped (tests/popups/test_budgets.py).
(function (w, d) {
const el = d.getElementById("omnichannel-popups")
if (!el || w.omnichannelLoaded) return
w.omnichannelLoaded = 1
const C = JSON.parse(el.textContent), nonce = d.currentScript && d.currentScript.nonce
const K = "omnichannel", start = Date.now(), day = new Date().toDateString()
const read = s => { try { return JSON.parse(w[s].getItem(K)) || {} } catch (e) { return {} } }
// L (localStorage) outlives the visit: variants given, closes, conversions, today's count.
// S (sessionStorage) is the visit: pages seen, popups shown, landing referrer and query.
const L = read("localStorage"), S = read("sessionStorage")
const save = () => { try { localStorage[K] = JSON.stringify(L); sessionStorage[K] = JSON.stringify(S) } catch (e) {} }
if (!S.pv) Object.assign(S, { pv: 0, ret: !!L.seen, ref: d.referrer, q: location.search }), L.seen = start
S.pv++
if (L.day != day) L.day = day, L.dn = 0
L.c = L.c || {}, L.x = L.x || {}, L.v = L.v || {}
save()
const capped = () => (S.n || 0) >= C.perSession || L.dn >= C.perDay
const utm = u => new URLSearchParams(S.q).getAll(u.split("=")[0]).includes(u.split("=")[1])
const eligible = p => p.variants.length && !L.x[p.id] && !(p.hideSubs && L.sub)
&& !(start - (L.c[p.id] || 0) < p.hideDays * 864e5) && S.pv >= (p.pages || 1)
&& !(p.visitors == "new" && S.ret) && !(p.visitors == "returning" && !S.ret)
&& (!p.referrer || (S.ref || "").includes(p.referrer)) && (!p.utm || p.utm.some(utm))
// The configuration lists the matching popups by priority: the first eligible one wins.
const p = C.popups.find(eligible)
if (!p || capped()) return
// A visitor keeps the variant drawn for them (weighted) on their first sight of the popup.
const vs = p.variants
let v = vs.find(x => x.id == L.v[p.id])
if (!v) {
let r = Math.random() * vs.reduce((a, x) => a + x.w, 0)
v = vs.find(x => (r -= x.w) < 0) || vs[0]
L.v[p.id] = v.id
save()
}
const on = p.on || {}, dwell = (p.dwell || 0) * 1000
const remember = k => { L[k][p.id] = Date.now(); if (k == "x") L.sub = 1; save() }
let fired = 0
// Show the popup: fetch its styles and script, open it once both are in.
const fire = force => {
if (fired || capped() || !(force || Date.now() - start >= dwell)) return 0
fired = S.n = (S.n || 0) + 1
L.dn++
save()
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
// Timers wait for the minimum time on the page too.
const later = s => setTimeout(fire, Math.max(s * 1000, start + dwell - Date.now()))
const listen = (t, e, f) => t.addEventListener(e, f, { passive: true })
const touch = matchMedia("(pointer: coarse)").matches
// Desktop exit intent: the pointer leaves through the top edge, no button held.
if (on.exit && !touch) listen(d, "mouseout", e => !e.relatedTarget && e.clientY <= 0 && !e.buttons && fire())
if (touch && on.scrollUp) {
// A flick back up: 200 px up within 300 ms, as when reaching for the address bar.
let a
listen(w, "scroll", () => {
const t = Date.now(), y = scrollY
if (!a || y > a[1] || t - a[0] > 300) a = [t, y]
else if (a[1] - y > 200) fire()
})
}
if (touch && on.tabReturn) {
let away
listen(d, "visibilitychange", () => d.hidden ? away = 1 : away && fire())
}
if (touch && on.back) {
// Browsers skip history entries added before the visitor touched the page, so wait.
const arm = () => {
history.pushState({ omnichannel: 1 }, "")
listen(w, "popstate", () => fire(1) || history.back())
}
d.addEventListener("click", arm, { once: true })
}
if (on.idle) {
let timer
const reset = () => { clearTimeout(timer); timer = later(on.idle) }
for (const e of ["mousemove", "keydown", "scroll", "touchstart"]) listen(d, e, reset)
reset()
}
if (on.delay != null) later(on.delay)
if (on.scroll) listen(d, "scroll", () => (scrollY + innerHeight) * 100 >= d.documentElement.scrollHeight * on.scroll && fire())
if (on.click) d.addEventListener("click", e => { try { e.target.closest(on.click) && fire(1) } catch (x) {} })
})(window, document)
