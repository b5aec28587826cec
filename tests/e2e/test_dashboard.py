"""The dashboard in a real headless Chromium against a server fed by `sightline demo`: every page
loads with no console error and no request beyond 127.0.0.1; traces list -> trace -> inspector ->
session clicks through; the waterfall shows every span of a known trace in tree order; an export
made while the overview (or the trace list) is open shows up without a reload; filters in the URL
survive a reload and the back button; a 10,000-span trace opens with a small DOM and scrolls to its
last span; the log tail shows new logs and holds them while paused. Screenshots of each page go to
$SIGHTLINE_SCREENSHOTS (default: a temporary directory, printed)."""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests
from api_data import MS, hex_id, json_log, json_span, logs_body, post_json, running_server, traces_body
from dashboard_data import big_trace_body
from browser import Browser, available, wait_until
from conftest import BIN, clean_env

pytestmark = pytest.mark.skipif(not available(), reason="needs chromium and chromedriver")

BIG = 10_000


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    d = Path(os.environ.get("SIGHTLINE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    d.mkdir(parents=True, exist_ok=True)
    print(f"\ndashboard screenshots in {d}")
    return d


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    with running_server(tmp_path_factory) as server:
        out = subprocess.run([str(BIN), "demo", "--url", server.url, "--traces", "30", "--rate", "50",
                              "--seed", "11"], capture_output=True, text=True, timeout=120, env=clean_env())
        assert out.returncode == 0, out.stderr
        big = hex_id("big/trace", 16)
        post_json(server, "/v1/traces", big_trace_body(big, time.time_ns() - 120_000 * MS))
        server.big_trace = big
        yield server


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.quit()


def known_trace(server):
    """The demo trace with the most spans (several agents, llm and tool calls)."""
    listed = requests.get(server.url + "/api/v1/traces", params={"limit": 100, "service": "data-analyst"},
                          timeout=10).json()["data"] or \
        requests.get(server.url + "/api/v1/traces", params={"limit": 100}, timeout=10).json()["data"]
    listed = [t for t in listed if t["trace_id"] != server.big_trace]
    return max(listed, key=lambda t: (t["span_count"], t["trace_id"]))


def waterfall_ready(b, timeout=15):
    b.wait(lambda d: d.execute_script("return document.getElementById('waterfall')?.dataset.ready === 'true'"),
           timeout, "the waterfall never became ready")


def test_every_page_renders_without_errors_or_foreign_requests(demo_server, browser, shots):
    s = demo_server
    t = known_trace(s)
    session = requests.get(s.url + "/api/v1/sessions", params={"limit": 1}, timeout=10).json()["data"][0]
    pages = {
        "overview": ("/", ["#kpis", "#agents table", "#activity li", "svg.chart"]),
        "traces": ("/traces", ["table.traces tbody tr"]),
        "trace": (f"/traces/{t['trace_id']}", ["#waterfall .wf-row", "svg.agent-graph"]),
        "sessions": ("/sessions", ["table.data tbody tr"]),
        "session": (f"/sessions/{session['session_id']}", [".turn .msg"]),
        "costs": ("/costs", ["svg.chart rect", "table.data tbody tr"]),
        "logs": ("/logs", ["table.logs tbody tr", "#tail"]),
    }
    for name, (path, selectors) in pages.items():
        r = requests.get(s.url + path, timeout=10)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        assert "script-src 'self'" in r.headers["content-security-policy"]
        # One class attribute per element (a second one would be ignored by the browser).
        assert not re.search(r'<[^>]*\sclass="[^"]*"[^>]*\sclass="', r.text), path
        browser.get(s.url + path)
        for css in selectors:
            browser.wait_css(css)
        assert browser.find("header.top nav a.on") or name == "session"
        browser.screenshot(shots / f"{name}.png")
    assert browser.console_errors() == []
    assert browser.foreign_requests() == []
    # Every asset a page loads, together, stays under the budget.
    html = requests.get(s.url + "/traces/" + t["trace_id"], timeout=10).text
    assets = [part.split('"')[0] for part in html.split('src="/assets/')[1:] + html.split('href="/assets/')[1:]]
    size = sum(len(requests.get(f"{s.url}/assets/{a}", timeout=10).content) for a in assets if ".css" in a or ".js" in a)
    assert 0 < size < 200_000, size


def test_click_from_the_list_to_a_trace_its_inspector_and_its_session(demo_server, browser):
    s = demo_server
    t = known_trace(s)
    browser.get(s.url + "/traces?limit=100")
    link = browser.wait_css(f"tr[data-id='{t['trace_id']}'] td.name a")
    link.click()
    browser.wait(lambda d: f"/traces/{t['trace_id']}" in d.current_url)
    waterfall_ready(browser)
    tree = requests.get(f"{s.url}/api/v1/traces/{t['trace_id']}", timeout=10).json()
    llm = next(o for o in tree["observations"] if o["kind"] == "llm")
    browser.find(f".wf-row[data-span='{llm['span_id']}']").click()
    browser.wait(lambda d: f"span={llm['span_id']}" in d.current_url)
    panel = browser.wait_css(f"#inspector .inspector[data-span='{llm['span_id']}']")
    text = panel.text
    assert "input" in text.lower() and "output" in text.lower() and llm["model"] in text, text[:500]
    assert browser.find_all("#inspector .msg.role-user") and browser.find_all("#inspector .msg.role-assistant")
    assert "price" in text and "per 1M tokens" in text, text[:800]
    # The raw JSON toggle shows the observation as the API answers it.
    browser.find("#inspector details.raw summary").click()
    raw = browser.find("#inspector details.raw pre").text
    assert json.loads(raw)["span_id"] == llm["span_id"]
    # The back button returns to the trace without a span selected, then to the list.
    browser.driver.back()
    browser.wait(lambda d: "span=" not in d.current_url)
    browser.find("#session-link").click()
    browser.wait(lambda d: "/sessions/" in d.current_url)
    turns = browser.wait_css(".conversation .turn")
    assert turns and t["trace_id"] in browser.driver.page_source
    assert browser.console_errors() == []


def all_waterfall_rows(b):
    """Span ids of every waterfall row in order, scrolling the virtualized list to the end."""
    seen, order = set(), []
    b.js("document.getElementById('waterfall').scrollTop = 0")
    for _ in range(1000):
        rows = b.js("return Array.from(document.querySelectorAll('#waterfall .wf-row'))"
                    ".map(r => [Number(r.dataset.index), r.dataset.span])")
        for index, span in sorted(rows):
            if span not in seen:
                seen.add(span)
                order.append((index, span))
        at_end = b.js("const w = document.getElementById('waterfall');"
                      "const before = w.scrollTop; w.scrollTop += w.clientHeight - 48;"
                      "return w.scrollTop === before")
        if at_end:
            break
        time.sleep(0.02)
    return [span for _, span in sorted(order)]


def test_the_waterfall_shows_every_span_in_tree_order(demo_server, browser):
    s = demo_server
    t = known_trace(s)
    tree = requests.get(f"{s.url}/api/v1/traces/{t['trace_id']}", timeout=10).json()
    browser.get(f"{s.url}/traces/{t['trace_id']}")
    waterfall_ready(browser)
    assert all_waterfall_rows(browser) == [o["span_id"] for o in tree["observations"]]
    # Failed observations are drawn red; every row has a bar.
    failed = {o["span_id"] for o in tree["observations"] if o["is_error"]}
    drawn_failed = set(browser.js("return Array.from(document.querySelectorAll('#waterfall .wf-row.err'))"
                                  ".map(r => r.dataset.span)"))
    assert drawn_failed == failed
    # Collapsing the root hides every other row.
    root = tree["observations"][0]["span_id"]
    browser.find(f".wf-row[data-span='{root}'] .wf-caret").click()
    browser.wait(lambda d: len(d.find_elements("css selector", "#waterfall .wf-row")) == 1)


def post_marker_span(server, name):
    trace_id = hex_id(f"live/{name}", 16)
    now = time.time_ns()
    span = json_span(trace_id, hex_id(f"live/{name}/root", 8), name, now - 5 * MS, 5 * MS,
                     {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "live-probe"})
    post_json(server, "/v1/traces", traces_body([({"service.name": "live-probe"}, [span])]))
    return trace_id, time.monotonic()


def test_an_export_shows_up_on_the_open_overview_and_trace_list_without_reload(demo_server, browser):
    s = demo_server
    for path, where in [("/", "#activity"), ("/traces", "table.traces")]:
        browser.get(s.url + path)
        browser.wait(lambda d: d.execute_script("return !document.getElementById('live').hidden"), 10,
                     "the live stream did not connect")
        browser.js("window.__notReloaded = true")
        name = f"live probe {path} {time.time_ns()}"
        trace_id, acked = post_marker_span(s, name)
        # Read in the page: the list may be swapped for a fresh one between two calls.
        browser.wait(lambda d: d.execute_script(
            "return (document.querySelector(arguments[0])?.textContent || '').includes(arguments[1])",
            where, name), 5, f"{name!r} did not appear on {path}")
        seen = time.monotonic() - acked
        assert seen < 2.0, f"{path}: visible {seen:.2f}s after the 2xx"
        assert browser.js("return window.__notReloaded === true"), "the page reloaded"
    # On the list, the new trace is the first row.
    assert browser.js("return document.querySelector('table.traces tbody tr').dataset.id") == trace_id
    assert browser.console_errors() == []


def test_filters_live_in_the_url_and_survive_reload_and_back(demo_server, browser):
    s = demo_server
    url = f"{s.url}/traces?status=error&service=data-analyst&since=1h"
    browser.get(url)
    rows = browser.find_all("table.traces tbody tr")
    assert rows, "the demo has failed traces of data-analyst"
    assert all("failed" in (r.get_attribute("class") or "") for r in rows)
    assert browser.find("select[name=status]").get_attribute("value") == "error"
    assert browser.find("input[name=service]").get_attribute("value") == "data-analyst"
    browser.driver.refresh()
    assert browser.find("input[name=service]").get_attribute("value") == "data-analyst"
    assert len(browser.find_all("table.traces tbody tr")) == len(rows)
    # Sorting keeps the filters; back returns to the previous URL.
    browser.find("a.sort[href*='sort=duration']").click()
    browser.wait(lambda d: "sort=duration" in d.current_url)
    assert "status=error" in browser.driver.current_url and "service=data-analyst" in browser.driver.current_url
    browser.driver.back()
    browser.wait(lambda d: d.current_url == url)
    # A filter typed into the form lands in the URL, without the empty fields.
    browser.get(s.url + "/traces")
    browser.find("input[name=q]").send_keys("orchestrator")
    browser.find("form.filters button[type=submit]").click()
    browser.wait(lambda d: "q=orchestrator" in d.current_url)
    assert "model=" not in browser.driver.current_url and "tenant_id=" not in browser.driver.current_url
    # A bad filter is the API's own message, on the page.
    browser.get(s.url + "/traces?min_duration=soon")
    assert "min_duration" in browser.find(".error-box").text


def test_a_10000_span_trace_opens_with_a_small_dom_and_scrolls_to_its_end(demo_server, browser):
    s = demo_server
    started = time.monotonic()
    browser.get(f"{s.url}/traces/{s.big_trace}")
    waterfall_ready(browser, timeout=30)
    opened = time.monotonic() - started
    rows = len(browser.find_all("#waterfall .wf-row"))
    assert 0 < rows < 200, f"{rows} rows in the DOM"
    assert browser.find("#wf-count").text.startswith(f"{BIG} observations")
    browser.js("const w = document.getElementById('waterfall'); w.scrollTop = w.scrollHeight")
    last = hex_id("big/98/99", 8)
    browser.wait(lambda d: d.find_elements("css selector", f".wf-row[data-span='{last}']"), 5)
    assert len(browser.find_all("#waterfall .wf-row")) < 200
    # Finding a span expands its way to it and selects it.
    browser.find("#wf-collapse").click()
    find = browser.find("#wf-find")
    find.send_keys("step 042.17")
    find.send_keys("\n")
    target = hex_id("big/42/17", 8)
    browser.wait(lambda d: f"span={target}" in d.current_url)
    browser.wait_css(f"#inspector .inspector[data-span='{target}']")
    print(f"\n10,000-span trace ready in {opened:.2f}s (test timing, debug build)")
    assert browser.console_errors() == []


def test_the_log_tail_shows_new_logs_and_holds_them_while_paused(demo_server, browser):
    s = demo_server
    browser.get(s.url + "/logs?service=tail-probe")
    browser.wait(lambda d: "live" in d.find_element("css selector", "#tail-state").text, 10)

    def send(text):
        post_json(s, "/v1/logs", logs_body([({"service.name": "tail-probe"},
                                              [json_log(time.time_ns(), 13, "WARN", text)])]))

    send("tail one <b>bold?</b>")
    browser.wait(lambda d: "tail one <b>bold?</b>" in d.find_element("css selector", "#tail-rows").text, 5)
    browser.find("#tail-pause").click()
    send("tail two")
    browser.wait(lambda d: "1 new waiting" in d.find_element("css selector", "#tail-state").text, 5)
    assert "tail two" not in browser.find("#tail-rows").text
    browser.find("#tail-pause").click()
    assert "tail two" in browser.find("#tail-rows").text
    assert not browser.find_all("#tail-rows b"), "log bodies are text"
    assert browser.console_errors() == []
