"""Prints the RESULT lines of bench/compare.sh as one Markdown table, one column per store.

Usage: python3 bench/compare_table.py RESULTS.jsonl STORE...
The last ingest and the last query result of each store are used.
"""
import json
import sys


def load(path):
    ingest, query = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            store = r.get("store", "sqlite")
            (ingest if r.get("bench") == "ingest" else query)[store] = r
    return ingest, query


def num(v, fmt="{:,.0f}"):
    return "n/a" if v is None else fmt.format(v)


def main():
    path, stores = sys.argv[1], sys.argv[2:]
    ingest, query = load(path)
    rows = []
    i = {s: ingest.get(s, {}) for s in stores}
    q = {s: query.get(s, {}) for s in stores}
    rows.append(("ingest: spans acknowledged", [num(i[s].get("acked_spans")) for s in stores]))
    rows.append(("ingest: spans/s", [num(i[s].get("spans_per_s")) for s in stores]))
    rows.append(("ingest: ack latency p50 / p99 (ms)",
                 [f"{num(i[s].get('latency_ms', {}).get('p50'), '{:.1f}')} / "
                  f"{num(i[s].get('latency_ms', {}).get('p99'), '{:.1f}')}" for s in stores]))
    rows.append(("ingest: bytes/span stored", [num(i[s].get("bytes_per_span")) for s in stores]))
    rows.append(("ingest: server peak RSS (MiB)",
                 [num(None if i[s].get("peak_rss_kib") is None else i[s]["peak_rss_kib"] / 1024)
                  for s in stores]))
    rows.append(("ingest: server CPU (cores)",
                 [num(i[s].get("server_cpu_cores"), "{:.1f}") for s in stores]))
    rows.append(("query: spans / logs loaded",
                 [f"{num(q[s].get('loaded_spans'))} / {num(q[s].get('loaded_logs'))}" for s in stores]))
    rows.append(("query: load spans/s",
                 [num(None if not q[s].get("load_seconds") else
                      q[s]["loaded_spans"] / q[s]["load_seconds"]) for s in stores]))
    rows.append(("query: bytes/span stored (logs included)",
                 [num(q[s].get("bytes_per_span")) for s in stores]))
    names = []
    for s in stores:
        for case in q[s].get("queries", []):
            if case["query"] not in names:
                names.append(case["query"])
    for name in names:
        cells = []
        for s in stores:
            case = next((c for c in q[s].get("queries", []) if c["query"] == name), None)
            if case is None:
                cells.append("n/a")
            elif not case.get("requests"):
                cells.append(f"failed ({case.get('errors', 0)} errors)")
            else:
                errors = f" ({case['errors']} errors)" if case.get("errors") else ""
                cells.append(f"{case['p50_ms']:.2f} / {case['p99_ms']:.2f}{errors}")
        rows.append((f"{name}: p50 / p99 (ms)", cells))

    print("| what | " + " | ".join(stores) + " |")
    print("|---|" + "---|" * len(stores))
    for label, cells in rows:
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    for s in stores:
        for r in (i[s], q[s]):
            if r.get("stored"):
                print(f"{s} {r['bench']}: bytes on disk are {r['stored']['includes']}")
    for s in stores:
        for r in (i[s], q[s]):
            if r.get("script"):
                print(f"{s} {r['bench']}: {r['script']}")


if __name__ == "__main__":
    main()
