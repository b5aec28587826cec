// Sightline dashboard, every page: live refresh over the API's event stream, the log tail,
// and tidy filter URLs. Pages are rendered on the server; this script only asks the server for
// fresh HTML and builds rows from stream events with textContent (never as markup).
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function kindIcon(kind) {
    const span = el("span", "kind k-" + kind);
    span.title = kind;
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", "#k-" + kind);
    svg.appendChild(use);
    span.appendChild(svg);
    return span;
  }

  function duration(ns) {
    if (ns < 1e6) return Math.round(ns / 1e3) + "µs";
    if (ns < 1e9) return (ns < 1e7 ? (ns / 1e6).toFixed(1) : Math.round(ns / 1e6)) + "ms";
    if (ns < 6e10) return (ns / 1e9).toFixed(2) + "s";
    const s = Math.floor(ns / 1e9);
    return Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
  }

  function clock(ns) {
    return new Date(ns / 1e6).toISOString().slice(11, 19);
  }

  // Empty form fields are no filter: leave them out of the URL.
  $$("form.filters").forEach((form) => {
    form.addEventListener("submit", () => {
      $$("input, select", form).forEach((i) => {
        if (i.name && i.value.trim() === "") i.disabled = true;
      });
    });
  });

  // "/" focuses the page's search box.
  document.addEventListener("keydown", (e) => {
    if (e.key !== "/" || /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName)) return;
    const s = $("input[type=search]");
    if (s) { e.preventDefault(); s.focus(); }
  });

  const indicator = $("#live");

  // Live pages: [data-live] subscribes to the stream; [data-refresh] regions (with ids) are
  // fetched again from the server when something is stored, at most every second or so.
  const live = $("[data-live]");
  if (live) {
    let timer = null;
    let busy = false;
    let pending = false;
    let last = 0;
    let gap = 1000;

    async function refresh() {
      if (busy) { pending = true; return; }
      busy = true;
      pending = false;
      const started = performance.now();
      try {
        const r = await fetch(location.href, { headers: { "X-Sightline-Refresh": "1" }, credentials: "same-origin" });
        if (r.redirected && new URL(r.url).pathname === "/login") { location.reload(); return; }
        if (r.ok) {
          const doc = new DOMParser().parseFromString(await r.text(), "text/html");
          $$("[data-refresh]").forEach((old) => {
            const fresh = old.id && doc.getElementById(old.id);
            if (!fresh) return;
            const before = new Set($$("[data-id]", old).map((x) => x.dataset.id));
            old.replaceWith(fresh);
            if (before.size) {
              $$("[data-id]", fresh).forEach((x) => { if (!before.has(x.dataset.id)) x.classList.add("new"); });
            }
          });
        }
      } catch (_) {
        // The next event tries again.
      } finally {
        busy = false;
        last = performance.now();
        // At least a second apart, and never more than a fifth of the time spent refreshing.
        gap = Math.max(1000, 5 * (last - started));
        if (pending) schedule();
      }
    }

    function schedule() {
      if (timer || document.hidden) { pending = true; return; }
      const wait = Math.max(0, last + gap - performance.now());
      timer = setTimeout(() => { timer = null; refresh(); }, wait);
    }

    const activity = $("[data-activity]");
    function addActivity(o) {
      const list = $("[data-activity]") || activity;
      if (!list) return;
      const li = el("li", "new");
      const a = el("a");
      a.href = "/traces/" + encodeURIComponent(o.trace_id) + "?span=" + encodeURIComponent(o.span_id);
      a.appendChild(kindIcon(o.kind || "span"));
      a.appendChild(el("span", "name", o.name));
      li.appendChild(a);
      li.appendChild(el("span", "muted", o.agent_name || o.service_name || ""));
      li.appendChild(el("span", o.is_error ? "err-text" : "", (o.is_error ? "failed · " : "") + duration(o.duration_ns || 0)));
      const t = el("time", "muted", clock(o.end_ns || o.start_ns || 0));
      li.appendChild(t);
      list.insertBefore(li, list.firstChild);
      while (list.children.length > 15) list.removeChild(list.lastChild);
    }

    const stream = new EventSource("/api/v1/stream?types=observations");
    stream.onopen = () => { if (indicator) indicator.hidden = false; };
    stream.onerror = () => { if (indicator) indicator.hidden = true; };
    stream.addEventListener("observation", (e) => {
      try { addActivity(JSON.parse(e.data)); } catch (_) { /* not ours to fail on */ }
      schedule();
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && pending) schedule();
    });
  }

  // The log tail: rows from the stream, newest first; Pause keeps them aside.
  const tail = $("#tail[data-stream]");
  if (tail) {
    const rows = $("#tail-rows");
    const state = $("#tail-state");
    const button = $("#tail-pause");
    let paused = false;
    let held = [];
    let seen = 0;

    function row(l) {
      const tr = el("tr", "new sev-" + severity(l.severity_number));
      const time = el("td", "nowrap");
      time.appendChild(el("time", "", clock(l.time_ns)));
      tr.appendChild(time);
      const level = el("td");
      level.appendChild(el("span", "level", l.severity_text || severity(l.severity_number)));
      tr.appendChild(level);
      tr.appendChild(el("td", "", l.service_name || ""));
      const body = typeof l.body === "string" ? l.body : l.body === undefined ? (l.event_name || "") : JSON.stringify(l.body);
      tr.appendChild(el("td", "body", body));
      const trace = el("td", "nowrap");
      if (l.trace_id) {
        const a = el("a", "mono", l.trace_id.slice(0, 8));
        a.href = "/traces/" + encodeURIComponent(l.trace_id) + (l.span_id ? "?span=" + encodeURIComponent(l.span_id) : "");
        trace.appendChild(a);
      }
      tr.appendChild(trace);
      return tr;
    }

    function show(l) {
      rows.insertBefore(row(l), rows.firstChild);
      while (rows.children.length > 300) rows.removeChild(rows.lastChild);
    }

    function status() {
      if (paused) state.textContent = "paused · " + held.length + " new waiting";
      else state.textContent = "live · " + seen + " received";
    }

    button.addEventListener("click", () => {
      paused = !paused;
      button.textContent = paused ? "Resume" : "Pause";
      if (!paused) { held.forEach(show); held = []; }
      status();
    });

    const stream = new EventSource(tail.dataset.stream);
    stream.onopen = () => { if (indicator) indicator.hidden = false; status(); };
    stream.onerror = () => { if (indicator) indicator.hidden = true; state.textContent = "reconnecting…"; };
    stream.addEventListener("log", (e) => {
      let l;
      try { l = JSON.parse(e.data); } catch (_) { return; }
      seen++;
      if (paused) { held.push(l); if (held.length > 1000) held.shift(); } else show(l);
      status();
    });
  }

  function severity(n) {
    if (n >= 21) return "fatal";
    if (n >= 17) return "error";
    if (n >= 13) return "warn";
    if (n >= 9) return "info";
    if (n >= 5) return "debug";
    if (n >= 1) return "trace";
    return "unset";
  }

  window.Sightline = { el, kindIcon, duration };
})();
