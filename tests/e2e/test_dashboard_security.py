"""The dashboard's two promises about other people's data, in a real headless Chromium:
- escaping: span names, attributes, payloads, errors, sessions and logs holding HTML and script
  (`<script>`, `"><img onerror>`, a `</script>` that would end the waterfall's JSON) show as text
  on every page, and no script of theirs runs;
- isolation: with keys, every page redirects to the key prompt; a session made with project A's key
  shows A's data only, on the pages, in the browser's own API calls and on the live stream; after
  logging out the cookie is worthless."""

import json
import time
from urllib.parse import quote

import pytest
import requests
from api_data import MS, hex_id, json_log, json_span, logs_body, post_json, running_server, traces_body
from browser import Browser, available, wait_until

pytestmark = pytest.mark.skipif(not available(), reason="needs chromium and chromedriver")

SCRIPT = "<script>window.__pwned = 1</script>"
IMG = '"><img src=x onerror="window.__pwned = 2">'
END = "</script><script>window.__pwned = 3</script>"
HOSTILE = SCRIPT + IMG + END


def hostile_data(server):
    trace_id = hex_id("xss/trace", 16)
    root, chat, tool = hex_id("xss/root", 8), hex_id("xss/chat", 8), hex_id("xss/tool", 8)
    now = time.time_ns() - 60_000 * MS
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "question " + HOSTILE}]}])
    answer = json.dumps([{"role": "assistant", "parts": [
        {"type": "text", "content": "answer " + IMG},
        {"type": "tool_call", "id": "call-1", "name": "lookup" + SCRIPT, "arguments": {"q": END}}]}])
    spans = [
        json_span(trace_id, root, "root " + HOSTILE, now, 900 * MS,
                  {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "agent " + IMG,
                   "session.id": "session " + IMG, "user.id": "user " + SCRIPT, "tenant.id": "t" + END,
                   "input.value": "in " + HOSTILE, "output.value": "out " + HOSTILE, "evil.attr": HOSTILE}),
        json_span(trace_id, chat, "chat " + HOSTILE, now + MS, 300 * MS,
                  {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o" + IMG,
                   "gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": 10,
                   "gen_ai.usage.output_tokens": 5, "gen_ai.input.messages": messages,
                   "gen_ai.output.messages": answer, "evil.attr": HOSTILE},
                  root, error="failed " + IMG,
                  events=[(now + 2 * MS, "exception", {"exception.type": "Boom" + SCRIPT,
                                                        "exception.message": "message " + IMG,
                                                        "exception.stacktrace": "stack " + END})]),
        json_span(trace_id, tool, "tool " + SCRIPT, now + 400 * MS, 10 * MS,
                  {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search" + IMG,
                   "gen_ai.tool.call.arguments": json.dumps({"q": HOSTILE})}, root),
    ]
    post_json(server, "/v1/traces", traces_body([({"service.name": "svc " + IMG}, spans)]))
    post_json(server, "/v1/logs", logs_body([({"service.name": "svc " + IMG},
                                              [json_log(now + 3 * MS, 17, "ERROR" + SCRIPT, "log " + HOSTILE,
                                                        trace_id, chat)])]))
    return trace_id, chat, "session " + IMG


def assert_inert(b, where):
    assert b.js("return window.__pwned === undefined"), f"a script from the data ran on {where}"
    assert not b.find_all("img"), f"markup from the data became an element on {where}"
    scripts = b.js("return Array.from(document.scripts).map(s => s.src ? 'src' : s.type)")
    assert set(scripts) <= {"src", "application/json"}, f"{where}: {scripts}"


def test_html_and_script_in_the_data_render_as_text(tmp_path_factory):
    with running_server(tmp_path_factory) as server:
        trace_id, chat, session = hostile_data(server)
        b = Browser()
        try:
            pages = ["/", "/?since=24h", "/traces", f"/traces?q={quote('root <script>')}",
                     f"/traces/{trace_id}", f"/traces/{trace_id}?span={chat}", "/sessions",
                     f"/sessions/{quote(session, safe='')}", "/costs?by=model", "/costs?by=agent",
                     "/logs", "/logs?q=" + quote("<script>")]
            for path in pages:
                b.get(server.url + path)
                time.sleep(0.2)
                assert_inert(b, path)
            # The texts are there, as text.
            b.get(f"{server.url}/traces/{trace_id}?span={chat}")
            b.wait_css("#waterfall .wf-row")
            text = b.find("body").text
            for needle in ["root " + SCRIPT, "chat " + SCRIPT, "message " + IMG, "stack " + END, "answer " + IMG]:
                assert needle in text or needle.replace('"', "'") in text, (needle, text[:2000])
            # The inspector loaded by the script is escaped too.
            tool_row = b.find(f".wf-row[data-span='{hex_id('xss/tool', 8)}']")
            tool_row.click()
            b.wait_css(f"#inspector .inspector[data-span='{hex_id('xss/tool', 8)}']")
            assert_inert(b, "the tool's inspector")
            shown = b.find("#inspector").text
            assert SCRIPT in shown and END in shown, shown[:1000]
            b.get(f"{server.url}/logs")
            assert "log " + SCRIPT in b.find(".card:not(.tail) table.logs").text
            assert_inert(b, "/logs")
            # No console error: a CSP violation would be one.
            assert b.console_errors() == []
        finally:
            b.quit()


def project_data(server, key, project):
    trace_id = hex_id(f"iso/{project}", 16)
    now = time.time_ns() - 60_000 * MS
    spans = [json_span(trace_id, hex_id(f"iso/{project}/root", 8), f"{project} secret trace", now, 50 * MS,
                       {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": f"{project}-agent",
                        "session.id": f"{project}-session", "user.id": f"{project}-user"}),
             json_span(trace_id, hex_id(f"iso/{project}/chat", 8), f"{project} chat", now + MS, 20 * MS,
                       {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                        "gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": 10,
                        "gen_ai.usage.output_tokens": 5}, hex_id(f"iso/{project}/root", 8))]
    post_json(server, "/v1/traces", traces_body([({"service.name": f"{project}-svc"}, spans)]), key)
    post_json(server, "/v1/logs", logs_body([({"service.name": f"{project}-svc"},
                                              [json_log(now, 9, "INFO", f"{project} log line", trace_id)])]), key)
    return trace_id


PAGES = ["/", "/traces", "/sessions", "/costs", "/costs?by=agent", "/logs", "/?since=30d"]


def test_a_session_with_one_projects_key_never_shows_another_projects_data(tmp_path_factory):
    with running_server(tmp_path_factory) as server:
        alpha = server.create_key("alpha")["secret_key"]
        beta = server.create_key("beta")["secret_key"]
        a_trace = project_data(server, alpha, "alpha")
        b_trace = project_data(server, beta, "beta")
        # Without a session every page goes to the key prompt, and comes back after it.
        for path in PAGES + [f"/traces/{a_trace}", f"/sessions/alpha-session"]:
            r = requests.get(server.url + path, allow_redirects=False, timeout=10)
            assert r.status_code == 303, (path, r.status_code)
            assert r.headers["location"].startswith("/login?next="), r.headers["location"]
        b = Browser()
        try:
            b.get(server.url + "/traces?since=1h")
            b.wait(lambda d: "/login" in d.current_url)
            b.find("input[name=key]").send_keys("sk-sl-not-a-key")
            b.find("form button[type=submit]").click()
            b.wait(lambda d: "failed=1" in d.current_url)
            assert "not accepted" in b.find(".error-box").text
            b.find("input[name=key]").send_keys(alpha)
            b.find("form button[type=submit]").click()
            b.wait(lambda d: d.current_url == server.url + "/traces?since=1h")
            cookie = next(c for c in b.driver.get_cookies() if c["name"] == "sightline_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert 11 * 3600 < cookie["expiry"] - time.time() <= 12 * 3600
            assert "sightline_session" not in b.js("return document.cookie")
            assert "alpha secret trace" in b.find("table.traces").text
            for path in PAGES + [f"/traces/{a_trace}", "/sessions/alpha-session"]:
                b.get(server.url + path)
                time.sleep(0.2)
                assert "beta" not in b.driver.page_source, f"project beta's data on {path}"
            for path in [f"/traces/{b_trace}", "/sessions/beta-session",
                         f"/traces/{b_trace}/spans/{hex_id('iso/beta/chat', 8)}"]:
                assert requests.get(server.url + path, cookies={"sightline_session": cookie["value"]},
                                    timeout=10).status_code == 404, path
            # The browser's own API calls carry the session and see alpha only.
            listed = b.driver.execute_async_script(
                "const done = arguments[0]; fetch('/api/v1/traces').then(r => r.json()).then(done)")
            assert [t["trace_id"] for t in listed["data"]] == [a_trace]
            # The live stream is alpha's too: beta's export never shows, alpha's does.
            b.get(server.url + "/")
            b.wait(lambda d: d.execute_script("return !document.getElementById('live').hidden"), 10)
            project_data(server, beta, "beta-late")
            project_data(server, alpha, "alpha-late")
            b.wait(lambda d: "alpha-late secret trace" in d.execute_script(
                "return document.getElementById('activity').textContent"), 5)
            time.sleep(0.5)
            assert "beta" not in b.find("#activity").text
            # Logging out ends the session in the store: the old cookie opens nothing.
            b.find("form.logout button").click()
            b.wait(lambda d: "/login" in d.current_url and "logged_out=1" in d.current_url)
            assert "logged out" in b.find(".notice").text
            r = requests.get(server.url + "/traces", cookies={"sightline_session": cookie["value"]},
                             allow_redirects=False, timeout=10)
            assert r.status_code == 303 and r.headers["location"].startswith("/login")
            api = requests.get(server.url + "/api/v1/traces", cookies={"sightline_session": cookie["value"]},
                               timeout=10)
            assert api.status_code == 401 and "log in again" in api.json()["message"]
            b.get(server.url + "/costs")
            b.wait(lambda d: "/login" in d.current_url)
            assert b.console_errors() == [] or all("401" in e["message"] or "login" in e["message"]
                                                   for e in b.console_errors())
        finally:
            b.quit()
