"""The dashboard benchmark's driver (bench/dashboard.sh runs it against a loaded server): each
page's HTML answer time over --iterations sequential requests (p50, p99), a 10,000-span trace
until its waterfall is ready to interact with in headless Chromium (from navigation start, as
the page measures it), and how long after an export's 2xx a new span shows on the open overview
and trace list. Prints a table, the reproducing command and one `RESULT {json}` line."""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from api_data import MS, hex_id, json_span, post_json, traces_body  # noqa: E402
from dashboard_data import big_trace_body  # noqa: E402
from browser import Browser  # noqa: E402


class Node:
    """Just enough of the tests' Server for post_json."""

    def __init__(self, url):
        self.url = url

    def post(self, path, data, content_type="application/json", key=None):
        return requests.post(self.url + path, data=data, headers={"Content-Type": content_type}, timeout=60)


def big_trace(node):
    """One trace of 10,000 spans (tests/e2e/dashboard_data.py); its id."""
    tid = hex_id(f"bench/big/{time.time_ns()}", 16)
    post_json(node, "/v1/traces", big_trace_body(tid, time.time_ns() - 600_000 * MS, label=f"bench/{tid}"))
    return tid


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))]


def time_pages(url, pages, iterations):
    session = requests.Session()
    rows = []
    for name, path in pages:
        for _ in range(3):
            session.get(url + path, timeout=60)
        times, size = [], 0
        for _ in range(iterations):
            t = time.perf_counter()
            r = session.get(url + path, timeout=60)
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            size = len(r.content)
        rows.append({"page": name, "path": path, "p50_ms": round(statistics.median(times), 2),
                     "p99_ms": round(pct(times, 99), 2), "bytes": size})
        print(f"  {name:<28} p50 {statistics.median(times):8.2f} ms   p99 {pct(times, 99):8.2f} ms   "
              f"{size / 1024:8.1f} KiB", file=sys.stderr)
    return rows


def time_big_trace(url, tid, rounds):
    ready = []
    for _ in range(rounds):
        b = Browser()
        try:
            b.get(f"{url}/traces/{tid}")
            b.wait(lambda d: d.execute_script("return document.getElementById('waterfall')?.dataset.ready"), 60)
            ready.append(float(b.js("return document.getElementById('waterfall').dataset.readyAt")))
            rows = len(b.find_all("#waterfall .wf-row"))
            t = time.perf_counter()
            b.js("const w = document.getElementById('waterfall'); w.scrollTop = w.scrollHeight;")
            b.wait(lambda d: d.execute_script(
                "return document.querySelector('#waterfall .wf-row:last-child')?.dataset.index === '9999'"), 10)
            scrolled = (time.perf_counter() - t) * 1000
        finally:
            b.quit()
    print(f"  10,000-span trace ready     median {statistics.median(ready):8.1f} ms   max {max(ready):8.1f} ms"
          f"   ({rows} rows in the DOM; jump to the end drawn in {scrolled:.0f} ms)", file=sys.stderr)
    return {"ready_ms_median": round(statistics.median(ready), 1), "ready_ms_max": round(max(ready), 1),
            "dom_rows": rows, "samples": len(ready)}


def time_live(url, rounds):
    node = Node(url)
    out = {}
    b = Browser()
    try:
        for page, where in [("/", "#activity"), ("/traces", "table.traces")]:
            b.get(url + page)
            b.wait(lambda d: d.execute_script("return !document.getElementById('live').hidden"), 20)
            samples = []
            for i in range(rounds):
                name = f"live bench {page} {i} {time.time_ns()}"
                tid = hex_id(name, 16)
                now = time.time_ns()
                body = traces_body([({"service.name": "live-bench"}, [
                    json_span(tid, hex_id(name + "/r", 8), name, now - 5 * MS, 5 * MS,
                              {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "live-bench"})])])
                post_json(node, "/v1/traces", body)
                acked = time.perf_counter()
                b.wait(lambda d: d.execute_script(
                    "return (document.querySelector(arguments[0])?.textContent || '').includes(arguments[1])",
                    where, name), 10, f"{name} never showed")
                samples.append((time.perf_counter() - acked) * 1000)
                time.sleep(0.3)
            out[page] = {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}
            print(f"  live span on {page:<13} median {statistics.median(samples):8.1f} ms   max {max(samples):8.1f} ms",
                  file=sys.stderr)
    finally:
        b.quit()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reproduce", default="bench/dashboard.sh")
    args = ap.parse_args()
    url = args.url.rstrip("/")
    stored = requests.get(url + "/api/v1/traces", params={"limit": 1000}, timeout=60).json()["data"]
    typical = max(stored[:200], key=lambda t: t["span_count"])
    service = typical.get("service_name", "")
    session = requests.get(url + "/api/v1/sessions", params={"limit": 1}, timeout=60).json()["data"][0]["session_id"]
    tid = big_trace(Node(url))
    pages = [
        ("overview (1h)", "/"), ("overview (24h)", "/?since=24h"), ("overview (7d)", "/?since=7d"),
        ("traces", "/traces"), ("traces: service, errors", f"/traces?service={service}&status=error"),
        ("traces: by cost, 24h", "/traces?since=24h&sort=cost"),
        ("trace", f"/traces/{typical['trace_id']}"), ("trace of 10,000 spans", f"/traces/{tid}"),
        ("inspector", f"/traces/{typical['trace_id']}/spans/{typical['root_span_id']}"),
        ("sessions", "/sessions"), ("session", f"/sessions/{session}"),
        ("costs (7d, by model)", "/costs"), ("costs (30d, by user)", "/costs?since=30d&by=user"),
        ("logs", "/logs"), ("logs: search", "/logs?q=timeout"),
    ]
    print(f"dashboard benchmark against {url}", file=sys.stderr)
    rows = time_pages(url, pages, args.iterations)
    big = time_big_trace(url, tid, args.rounds)
    live = time_live(url, args.rounds)
    print(f"command: {args.reproduce}")
    print("RESULT " + json.dumps({"bench": "dashboard", "pages": rows, "big_trace": big, "live": live,
                                  "iterations": args.iterations, "reproduce": args.reproduce}))


if __name__ == "__main__":
    main()
