// Sightline trace page: the waterfall. Rows come from the page's JSON (tree order); only the
// rows in view are in the DOM, so a trace of 10,000 spans scrolls like one of ten. Selecting a
// row loads its inspector from the server (escaped HTML) and puts ?span= in the URL.
"use strict";

(function () {
  const box = document.getElementById("waterfall");
  const data = document.getElementById("wf-data");
  if (!box || !data) return;
  const S = window.Sightline;
  const ROW = 24;
  const OVERSCAN = 12;
  const traceId = box.dataset.trace;
  const total = Math.max(1, Number(box.dataset.duration));

  // [span, depth, name, kind, start, duration, failed, tokens, cost, label, children, orphan, logs]
  const rows = JSON.parse(data.textContent || "[]").map((r, i) => ({
    i, span: r[0], depth: r[1], name: r[2], kind: r[3], start: r[4], dur: r[5], failed: r[6] === 1,
    tokens: r[7], cost: r[8], label: r[9], children: r[10], orphan: r[11] === 1, logs: r[12],
  }));
  const bySpan = new Map(rows.map((r) => [r.span, r]));
  // Parents from depths (tree order: a row's parent is the last row one level up).
  const stack = [];
  rows.forEach((r) => {
    stack.length = r.depth;
    r.parent = r.depth > 0 ? stack[r.depth - 1] : null;
    stack[r.depth] = r;
  });

  const collapsed = new Set();
  let visible = rows;
  let selected = box.dataset.selected ? bySpan.get(box.dataset.selected) || null : null;
  let matches = new Set();

  const head = document.createElement("div");
  head.className = "wf-head";
  const ticks = document.createElement("div");
  ticks.className = "wf-ticks";
  [["name"], [null], ["duration"], ["tokens"], ["cost"]].forEach(([label], k) => {
    const c = k === 1 ? ticks : document.createElement("div");
    if (label) { c.textContent = label; if (k > 1) c.className = "wf-num"; }
    head.appendChild(c);
  });
  for (let k = 0; k < 4; k++) {
    const t = document.createElement("span");
    t.textContent = k === 0 ? "0" : S.duration((total * k) / 4);
    t.style.left = k * 25 + "%";
    ticks.appendChild(t);
  }
  const body = document.createElement("div");
  body.className = "wf-body";
  box.appendChild(head);
  box.appendChild(body);

  function hidden(r) {
    for (let p = r.parent; p; p = p.parent) if (collapsed.has(p.i)) return true;
    return false;
  }

  function relayout() {
    visible = collapsed.size ? rows.filter((r) => !hidden(r)) : rows;
    visible.forEach((r, k) => { r.at = k; });
    body.style.height = visible.length * ROW + "px";
    const count = document.getElementById("wf-count");
    if (count) {
      count.textContent = rows.length + " observations" + (visible.length < rows.length ? " · " + visible.length + " shown" : "");
    }
    draw();
  }

  function money(nano) {
    if (nano === null || nano === undefined) return "";
    const usd = nano / 1e9;
    if (usd === 0) return "$0";
    if (usd < 0.0001) return "<$0.0001";
    if (usd >= 1) return "$" + usd.toFixed(2);
    return "$" + usd.toPrecision(3).replace(/0+$/, "");
  }

  function rowElement(r) {
    const d = document.createElement("div");
    d.className = "wf-row" + (r.failed ? " err" : "") + (selected === r ? " sel" : "") + (matches.has(r.i) ? " match" : "");
    d.style.top = r.at * ROW + "px";
    d.dataset.span = r.span;
    d.dataset.index = r.i;
    const name = document.createElement("div");
    name.className = "wf-name";
    name.style.paddingLeft = 4 + r.depth * 14 + "px";
    const caret = document.createElement("button");
    caret.type = "button";
    caret.className = "wf-caret";
    caret.tabIndex = -1;
    if (r.children > 0) {
      caret.textContent = collapsed.has(r.i) ? "▶" : "▼";
      caret.title = (collapsed.has(r.i) ? "Expand " : "Collapse ") + r.children + " children";
      caret.dataset.toggle = r.i;
    } else {
      caret.style.visibility = "hidden";
    }
    name.appendChild(caret);
    name.appendChild(S.kindIcon(r.kind));
    name.appendChild(S.el("span", "wf-label", r.name));
    if (r.label && !r.name.toLowerCase().includes(String(r.label).toLowerCase())) name.appendChild(S.el("span", "wf-sub", r.label));
    if (r.orphan) {
      const o = S.el("span", "wf-orphan", "⚠");
      o.title = "its parent span never arrived";
      name.appendChild(o);
    }
    d.title = r.name + " · " + r.kind + " · " + S.duration(r.dur) + (r.failed ? " · failed" : "") +
      (r.logs ? " · " + r.logs + " log" + (r.logs > 1 ? "s" : "") : "");
    const track = document.createElement("div");
    track.className = "wf-track";
    const bar = document.createElement("div");
    bar.className = "wf-bar k-" + r.kind + (r.failed ? " failed" : "");
    bar.style.left = Math.min(100, (100 * r.start) / total) + "%";
    bar.style.width = Math.max(0, Math.min(100 - (100 * r.start) / total, (100 * r.dur) / total)) + "%";
    track.appendChild(bar);
    d.appendChild(name);
    d.appendChild(track);
    d.appendChild(S.el("div", "wf-num", S.duration(r.dur)));
    d.appendChild(S.el("div", "wf-num", r.tokens === null || r.tokens === undefined ? "" : r.tokens.toLocaleString("en-US")));
    d.appendChild(S.el("div", "wf-num", money(r.cost)));
    return d;
  }

  function draw() {
    const top = Math.max(0, box.scrollTop - head.offsetHeight);
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(visible.length, Math.ceil((top + box.clientHeight) / ROW) + OVERSCAN);
    const frag = document.createDocumentFragment();
    for (let k = first; k < last; k++) frag.appendChild(rowElement(visible[k]));
    body.replaceChildren(frag);
  }

  let frame = 0;
  box.addEventListener("scroll", () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); });
  });
  window.addEventListener("resize", draw);

  function reveal(r) {
    let changed = false;
    for (let p = r.parent; p; p = p.parent) if (collapsed.delete(p.i)) changed = true;
    if (changed) relayout();
    const y = r.at * ROW;
    const view = box.clientHeight - head.offsetHeight;
    if (y < box.scrollTop || y + ROW > box.scrollTop + view) box.scrollTop = Math.max(0, y - view / 3);
    draw();
  }

  let loading = 0;
  async function inspect(r, push) {
    selected = r;
    reveal(r);
    if (push) {
      const url = new URL(location.href);
      url.searchParams.set("span", r.span);
      history.pushState({ span: r.span }, "", url);
    }
    const panel = document.getElementById("inspector");
    const mine = ++loading;
    panel.setAttribute("aria-busy", "true");
    try {
      const url = "/traces/" + encodeURIComponent(traceId) + "/spans/" + encodeURIComponent(r.span) + (r.logs ? "" : "?logs=0");
      const res = await fetch(url, { credentials: "same-origin" });
      if (res.redirected && new URL(res.url).pathname === "/login") { location.reload(); return; }
      const html = await res.text();
      if (mine !== loading) return;
      // The server's template escaped every value; this is its markup, not the data's.
      const doc = new DOMParser().parseFromString(html, "text/html");
      panel.replaceChildren(...Array.from(doc.body.childNodes));
      panel.scrollTop = 0;
    } catch (_) {
      if (mine === loading) panel.replaceChildren(S.el("p", "error-box", "Could not load this observation; try again."));
    } finally {
      if (mine === loading) panel.removeAttribute("aria-busy");
    }
  }

  function toggle(i) {
    if (collapsed.has(i)) collapsed.delete(i); else collapsed.add(i);
    relayout();
  }

  body.addEventListener("click", (e) => {
    const t = e.target.closest("[data-toggle]");
    if (t) { toggle(Number(t.dataset.toggle)); return; }
    const row = e.target.closest(".wf-row");
    if (row) { box.focus({ preventScroll: true }); inspect(rows[Number(row.dataset.index)], true); }
  });

  box.addEventListener("keydown", (e) => {
    const at = selected && !hidden(selected) ? selected.at : -1;
    let next = null;
    if (e.key === "ArrowDown") next = visible[Math.min(visible.length - 1, at + 1)];
    else if (e.key === "ArrowUp") next = visible[Math.max(0, at - 1)];
    else if (e.key === "Home") next = visible[0];
    else if (e.key === "End") next = visible[visible.length - 1];
    else if (e.key === "ArrowLeft" && selected) {
      if (selected.children && !collapsed.has(selected.i)) toggle(selected.i);
      else if (selected.parent) next = selected.parent;
    } else if (e.key === "ArrowRight" && selected && collapsed.has(selected.i)) toggle(selected.i);
    else return;
    e.preventDefault();
    if (next && next !== selected) inspect(next, true);
  });

  window.addEventListener("popstate", () => {
    const span = new URL(location.href).searchParams.get("span");
    const r = span && bySpan.get(span);
    if (r) inspect(r, false);
  });

  const find = document.getElementById("wf-find");
  if (find) {
    let cursor = -1;
    find.addEventListener("input", () => {
      const q = find.value.trim().toLowerCase();
      matches = new Set(q ? rows.filter((r) => r.name.toLowerCase().includes(q) || String(r.label).toLowerCase().includes(q)).map((r) => r.i) : []);
      cursor = -1;
      draw();
    });
    find.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || !matches.size) return;
      e.preventDefault();
      const list = Array.from(matches);
      cursor = (cursor + 1) % list.length;
      inspect(rows[list[cursor]], true);
    });
  }
  const collapseAll = document.getElementById("wf-collapse");
  if (collapseAll) collapseAll.addEventListener("click", () => {
    rows.forEach((r) => { if (r.children && r.depth >= 1) collapsed.add(r.i); });
    relayout();
  });
  const expandAll = document.getElementById("wf-expand");
  if (expandAll) expandAll.addEventListener("click", () => { collapsed.clear(); relayout(); });

  relayout();
  if (selected) reveal(selected);
  // Drawn and listening: the benchmark reads when (ms since navigation start).
  box.dataset.readyAt = String(performance.now());
  box.dataset.ready = "true";
})();
