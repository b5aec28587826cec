"""Slow and greedy clients (issue 15, item 2): a body trickled under a large declared length, chunked
uploads that stall, headers sent a line a second, and more connections than the caps allow. Each
test is named after the defect it guards against; every loop is bounded and on 127.0.0.1.
"""

import json
import socket
import threading
import time

from otlp_builders import json_request, json_span

KIB = 1024
MIB = 1024 * KIB


def connect(server):
    s = socket.create_connection(("127.0.0.1", server.http_port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_answer(sock, timeout=15):
    """The status code and the body of the HTTP/1.1 answer on `sock` (None on a bare close)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if length and len(rest) >= length[0]:
                    break
    except (ConnectionResetError, socket.timeout):
        pass
    if not data:
        return None, None, {}
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), body, headers


def small_export():
    return json.dumps(json_request([json_span("ab" * 16, "01" * 8, "ok")])).encode()


def export(server, body):
    import requests
    return requests.post(server.url + "/v1/traces", data=body,
                         headers={"Content-Type": "application/json"}, timeout=30)


def test_a_body_trickled_under_a_large_declared_length_gets_408_and_holds_no_budget(make_server):
    # Before: each trickler reserved 4 x its declared 20 MiB of the in-flight budget and was held
    # forever, so four of them refused every large export.
    server = make_server("--max-http-body-bytes", str(20 * MIB),
                         env={"SIGHTLINE_INGEST__MAX_INFLIGHT_BYTES": str(64 * MIB)})
    tricklers = []
    for _ in range(4):
        s = connect(server)
        s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {20 * MIB}\r\n\r\n".encode() + b"{")
        tricklers.append(s)
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            for s in tricklers:
                try:
                    s.sendall(b" " * KIB)
                except OSError:
                    pass
            time.sleep(1)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        time.sleep(1)
        # A 3 MiB export (12 MiB of budget) goes through while the tricklers are connected.
        big = json.dumps(json_request([json_span("cd" * 16, f"{i:016x}", "x" * (3 * KIB))
                                       for i in range(1000)])).encode()
        assert len(big) > 3 * MIB
        ok = export(server, big)
        assert ok.status_code == 200, ok.text
        started = time.monotonic()
        answers = [read_answer(s, timeout=20) for s in tricklers]
        waited = time.monotonic() - started
    finally:
        stop.set()
        t.join(timeout=5)
        for s in tricklers:
            s.close()
    for status, body, _ in answers:
        assert status == 408, (status, body)
        rpc_status = json.loads(body)  # OTLP answers in google.rpc.Status
        assert rpc_status["code"] == 4, rpc_status  # DEADLINE_EXCEEDED
        assert "min_body_bytes_per_sec" in rpc_status["message"], rpc_status
    assert waited < 15, f"the tricklers were held {waited:.1f} s"
    assert export(server, small_export()).status_code == 200


def test_stalled_chunked_uploads_cannot_hold_more_memory_than_the_budget(make_server):
    # Before: chunked bodies reserved 64 KiB each but buffered up to 20 MiB: 8 stalled uploads
    # took RSS from 15 to 167 MiB.
    budget = 32 * MIB
    server = make_server("--max-http-body-bytes", str(20 * MIB),
                         env={"SIGHTLINE_INGEST__MAX_INFLIGHT_BYTES": str(budget)})
    rss_before, _ = server.rss_kib()
    socks, statuses = [], []
    chunk = b" " * (256 * KIB)
    for _ in range(8):
        s = connect(server)
        s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        sent = 0
        try:
            while sent < 12 * MIB:
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
        except OSError:
            pass  # refused mid-way: the server answered and closed
        socks.append(s)
    rss_peak_kib = server.rss_kib()[1]
    for s in socks:
        statuses.append(read_answer(s, timeout=20)[0])
        s.close()
    # Raw bytes held are a quarter of the budget (decoding takes ~4x); the rest was refused.
    assert statuses.count(503) >= 4, statuses
    assert all(st in (503, 408) for st in statuses), statuses
    grown_mib = (rss_peak_kib - rss_before) / KIB
    assert grown_mib < 60, f"RSS grew {grown_mib:.0f} MiB with 8 stalled 12 MiB uploads"
    assert export(server, small_export()).status_code == 200


def test_headers_sent_a_line_a_second_are_cut_off_at_the_header_timeout(make_server):
    # Before: a header line a second held the connection 30 s and more.
    server = make_server(env={"SIGHTLINE_SERVER__HEADER_READ_TIMEOUT_SECS": "2"})
    s = connect(server)
    s.sendall(b"POST /v1/traces HTTP/1.1\r\n")
    started = time.monotonic()
    closed_after = None
    for i in range(20):
        try:
            s.sendall(b"X-Slow-%d: 1\r\n" % i)
            s.settimeout(1)
            if s.recv(4096) == b"":
                closed_after = time.monotonic() - started
                break
        except socket.timeout:
            continue
        except OSError:
            closed_after = time.monotonic() - started
            break
        else:
            closed_after = time.monotonic() - started  # an answer (408): done
            break
    s.close()
    assert closed_after is not None and closed_after < 6, f"held {closed_after} s"


def test_connections_past_the_per_peer_cap_get_a_503_problem_and_are_closed(make_server):
    server = make_server(env={"SIGHTLINE_SERVER__MAX_CONNECTIONS_PER_PEER": "4"})
    held = [connect(server) for _ in range(4)]
    # An answer on each proves the server accepted and counted it (no sleep to guess when).
    for s in held:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_answer(s)[0] == 200
    extra = connect(server)
    status, body, headers = read_answer(extra, timeout=10)
    extra.close()
    assert status == 503, (status, body)
    problem = json.loads(body)
    assert problem["code"] == "overloaded"
    assert "max_connections_per_peer" in problem["message"], problem
    assert headers.get("retry-after", "").isdigit()
    # A held connection still works, and a freed place is taken again.
    held[0].sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_answer(held[0])[0] == 200
    for s in held:
        s.close()
    time.sleep(0.3)
    import requests
    assert requests.get(server.url + "/health", timeout=5).status_code == 200
