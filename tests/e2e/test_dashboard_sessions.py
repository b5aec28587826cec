"""Dashboard sessions over plain HTTP: the login form sets an HttpOnly, SameSite=Strict,
expiring cookie, only for a valid key; the cookie stands in for the key on pages and on the API;
an open loopback server (no keys) never asks; and with several nodes on one ClickHouse a session
made on one node works on the others, and logging out on one ends it on all."""

import re
import time

import requests
from api_data import MS, hex_id, json_span, post_json, traces_body
from clickhouse_fixture import clickhouse, clickhouse_db, clickhouse_node, create_key  # noqa: F401
from browser import wait_until


def login(node, key, next_path="/traces"):
    """POSTs the login form; returns the response (not followed)."""
    return requests.post(node.url + "/login", data={"key": key, "next": next_path},
                         allow_redirects=False, timeout=10)


def session_cookie(response):
    header = response.headers.get("set-cookie", "")
    m = re.match(r"sightline_session=([0-9a-f]{64});", header)
    assert m, header
    return m.group(1), header


def export(node, key, name):
    tid = hex_id(f"sessions/{name}/{time.time_ns()}", 16)
    post_json(node, "/v1/traces", traces_body([({"service.name": "s"}, [
        json_span(tid, hex_id(f"{tid}/root", 8), name, time.time_ns() - 10 * MS, 5 * MS)])]), key)
    return tid


def test_an_open_loopback_server_shows_the_dashboard_without_a_key(server):
    r = requests.get(server.url + "/", allow_redirects=False, timeout=10)
    assert r.status_code == 200 and "Overview" in r.text
    assert "Welcome to Sightline" in r.text and "sightline demo --url" in r.text, "the empty state says what to do"
    assert requests.get(server.url + "/login", allow_redirects=False, timeout=10).status_code == 303
    # Logging in is a no-op there: straight on to the page.
    r = login(server, "", "/costs")
    assert r.status_code == 303 and r.headers["location"] == "/costs" and "set-cookie" not in r.headers


def test_the_login_form_sets_a_strict_expiring_cookie_only_for_a_valid_key(make_server):
    s = make_server()
    key = s.create_key("team")
    r = login(s, "sk-sl-wrong")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?failed=1")
    assert "set-cookie" not in r.headers
    for credential in [key["secret_key"], f"{key['public_key']}:{key['secret_key']}"]:
        r = login(s, credential, "/traces?status=error")
        assert r.status_code == 303 and r.headers["location"] == "/traces?status=error"
        token, header = session_cookie(r)
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"]:
            assert attribute in header, header
    # `next` never leaves the server.
    r = login(s, key["secret_key"], "https://elsewhere.example/")
    assert r.headers["location"] == "/"
    r = login(s, key["secret_key"], "//elsewhere.example/")
    assert r.headers["location"] == "/"
    # The cookie opens pages and the API of the key's project; an unknown one opens nothing.
    tid = export(s, key["secret_key"], "team trace")
    jar = {"sightline_session": token}
    assert requests.get(s.url + "/traces", cookies=jar, timeout=10).status_code == 200
    listed = requests.get(s.url + "/api/v1/traces", cookies=jar, timeout=10).json()["data"]
    assert [t["trace_id"] for t in listed] == [tid]
    bad = {"sightline_session": "0" * 64}
    assert requests.get(s.url + "/traces", cookies=bad, allow_redirects=False, timeout=10).status_code == 303
    assert requests.get(s.url + "/api/v1/traces", cookies=bad, timeout=10).status_code == 401
    # A header still wins over the cookie.
    other = s.create_key("other")
    r = requests.get(s.url + "/api/v1/traces", cookies=jar,
                     headers={"Authorization": f"Bearer {other['secret_key']}"}, timeout=10)
    assert r.json()["data"] == []


def test_a_session_works_on_every_node_and_ends_on_all(clickhouse, clickhouse_db, clickhouse_node):
    url = clickhouse.database_url(clickhouse_db)
    key = create_key(url, "shared-team")
    node1, node2 = clickhouse_node(url), clickhouse_node(url)
    tid = export(node1, key["secret_key"], "across nodes")
    token, _ = session_cookie(login(node1, key["secret_key"]))
    jar = {"sightline_session": token}
    r = requests.get(node2.url + f"/traces/{tid}", cookies=jar, timeout=10)
    assert r.status_code == 200 and "across nodes" in r.text
    assert requests.post(node1.url + "/logout", cookies=jar, allow_redirects=False, timeout=10).status_code == 303
    # At once on the node that logged out; within the cache's 10 s on the other.
    assert requests.get(node1.url + "/traces", cookies=jar, allow_redirects=False, timeout=10).status_code == 303
    ended = wait_until(lambda: requests.get(node2.url + "/traces", cookies=jar, allow_redirects=False,
                                            timeout=10).status_code == 303, timeout=15, interval=0.5)
    assert ended, "node 2 still accepts a session ended on node 1"
    rows = clickhouse.rows("SELECT deleted FROM logins ORDER BY version", clickhouse_db)
    assert [r[0] for r in rows] == ["0", "1"], rows
