#!/usr/bin/python3
"""End-to-end tests of what the web UI asks of `airgap queue`, over real HTTP:
the page itself (embedded, with its security headers), viewer tokens,
filtered listings and their validation, retries, the agent registry with
drain and resume, the queue's summary and the live-update stream. Error
paths as carefully as the happy ones. Shares the server helpers of
test_queue_e2e.py; the browser tests are in tests/web/.
"""
import http.client
import os
import sys
import json
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_queue_e2e import SPEC, Ctx, call  # noqa: E402  (run as a script)


def ui_ctx():
    c = Ctx("--max-wait", "5")
    c.viewer = c.srv.token("viewer")
    return c


def test_page_is_served_with_strict_headers():
    c = ui_ctx()
    try:
        st, h, body = call("GET", c.url + "/")
        assert st == 200, st
        assert h["Content-Type"].startswith("text/html"), h["Content-Type"]
        csp = h["Content-Security-Policy"]
        for part in ("default-src 'none'", "script-src 'self'", "style-src 'self'",
                     "connect-src 'self'", "frame-ancestors 'none'"):
            assert part in csp, csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
        assert h["X-Content-Type-Options"] == "nosniff"
        assert b"app.js" in body and b"<script>" not in body  # no inline script
        st, h2, js = call("GET", c.url + "/app.js")
        assert st == 200 and h2["Content-Type"].startswith("text/javascript"), (st, h2)
        assert len(js) > 1000
        st, _, _ = call("GET", c.url + "/index.html")
        assert st == 200
        # revalidation: the same ETag is a 304 with no body
        st, _, body = call("GET", c.url + "/app.js", headers={"If-None-Match": h2["ETag"]})
        assert st == 304 and not body, st
        st, _, body = call("GET", c.url + "/nope.js")
        assert st == 404, st
        st, _, body = call("POST", c.url + "/", body=b"")
        assert st == 405, st
        # the API still needs a token
        st, h, _ = call("GET", c.url + "/v1/jobs")
        assert st == 401 and "Bearer" in h["WWW-Authenticate"]
    finally:
        c.srv.stop()


def test_viewer_reads_but_cannot_act():
    c = ui_ctx()
    try:
        job = c.submit(dict(SPEC, secrets={"K": "v4lue"}))
        for path in ("/v1/jobs", "/v1/jobs/" + job, "/v1/jobs/%s/logs" % job, "/v1/agents",
                     "/v1/queue", "/v1/whoami"):
            st, _, body = call("GET", c.url + path, c.viewer)
            assert st == 200, (path, st, body)
            assert b"v4lue" not in (body if isinstance(body, bytes) else str(body).encode())
        for method, path, body in (("POST", "/v1/jobs", SPEC),
                                   ("POST", "/v1/jobs/%s/cancel" % job, {}),
                                   ("POST", "/v1/jobs/%s/retry" % job, {}),
                                   ("POST", "/v1/agents/a/drain", {}),
                                   ("POST", "/v1/leases", {"agent": "a", "wait": 0})):
            st, _, answer = call(method, c.url + path, c.viewer, body)
            assert st == 403, (path, st, answer)
            assert "token" in answer["error"], answer
        assert c.get(job)["state"] == "queued"
        for token, role in ((c.client, "client"), (c.viewer, "viewer"), (c.agent, "agent")):
            st, _, body = call("GET", c.url + "/v1/whoami", token)
            assert st == 200 and body == {"role": role}, (st, body)
        # an agent token reads nothing of the client's
        st, _, _ = call("GET", c.url + "/v1/jobs", c.agent)
        assert st == 403
    finally:
        c.srv.stop()


def listing(c, **q):
    st, _, body = call("GET", c.url + "/v1/jobs?" + urllib.parse.urlencode(q), c.viewer)
    assert st == 200, (q, st, body)
    return [j["id"] for j in body["jobs"]], body["next"]


def test_filters_and_pages():
    c = ui_ctx()
    try:
        a = dict(SPEC, repo="https://git.example/a.git", labels=["linux"], script="make TEST")
        b = dict(SPEC, repo="https://git.example/b.git", labels=["linux", "gpu"], script="lint",
                 secrets={"PASSWORD": "make"})
        ids = [c.submit(a), c.submit(b), c.submit(a), c.submit(b)]
        newest = ids[::-1]
        assert listing(c)[0] == newest
        assert listing(c, label="gpu")[0] == [ids[3], ids[1]]
        assert listing(c, repo="https://git.example/a.git")[0] == [ids[2], ids[0]]
        # text is case-insensitive and never looks at secrets ("make" is b's password)
        assert listing(c, q="test")[0] == [ids[2], ids[0]]
        assert listing(c, q=ids[1][:10])[0] == [ids[1]]
        assert listing(c, q="make", label="gpu")[0] == []
        # empty filters are no filters (a form with nothing typed)
        assert listing(c, state="", label="", repo="", q="")[0] == newest
        # keyset pages under a filter
        page1, cursor = listing(c, label="linux", limit=3)
        assert page1 == newest[:3] and cursor
        page2, cursor2 = listing(c, label="linux", limit=3, before=cursor)
        assert page2 == newest[3:] and cursor2 is None
        # what is refused, and how
        for q, word in ((dict(state="bogus"), "state"), (dict(label="bad label"), "label"),
                        (dict(label="x" * 65), "label"), (dict(limit="0"), "limit"),
                        (dict(limit="501"), "limit"), (dict(before="-1"), "before"),
                        (dict(q="x" * 257), "q must"), (dict(repo="r" * 1025), "repo")):
            st, _, body = call("GET", c.url + "/v1/jobs?" + urllib.parse.urlencode(q), c.viewer)
            assert st == 400 and word in body["error"], (q, st, body)
    finally:
        c.srv.stop()


def test_retry_links_both_ways():
    c = ui_ctx()
    try:
        spec = dict(SPEC, labels=["linux"], secrets={"TOKEN": "t0ken"})
        job = c.submit(spec)
        st, _, body = call("POST", "%s/v1/jobs/%s/retry" % (c.url, job), c.client, {})
        assert st == 409 and "has not ended" in body["error"], (st, body)
        st, _, body = call("POST", c.url + "/v1/jobs/0123456789abcdef/retry", c.client, {})
        assert st == 404, (st, body)
        st, _, body = call("POST", c.url + "/v1/jobs/not-an-id/retry", c.client, {})
        assert st == 404, (st, body)
        assert call("POST", "%s/v1/jobs/%s/cancel" % (c.url, job), c.client, {})[0] == 200
        st, _, new = call("POST", "%s/v1/jobs/%s/retry" % (c.url, job), c.client, {})
        assert st == 201, (st, new)
        assert new["state"] == "queued" and new["retry_of"] == job and new["id"] != job
        assert new["spec"]["secrets"] == {"TOKEN": "***"}
        assert c.get(job)["retried_by"] == new["id"]
        st, _, body = call("POST", "%s/v1/jobs/%s/retry" % (c.url, job), c.client, {})
        assert st == 409 and new["id"] in body["error"], (st, body)
        # the agent that runs the retry gets the original secrets
        leased = c.lease(labels=["linux"])
        assert leased["id"] == new["id"] and leased["spec"]["secrets"] == {"TOKEN": "t0ken"}
    finally:
        c.srv.stop()


def test_agent_registry_drain_and_resume():
    c = ui_ctx()
    try:
        def lease(body, timeout=30):
            return call("POST", c.url + "/v1/leases", c.agent, body, timeout=timeout)

        base = {"agent": "web@host:1", "labels": ["linux"], "wait": 0}
        for extra, word in (({"version": "bad version"}, "version"), ({"version": 7}, "version"),
                            ({"slots": 0}, "slots"), ({"slots": 5000}, "slots"),
                            ({"slots": "2"}, "slots")):
            st, _, body = lease(dict(base, **extra))
            assert st == 400 and word in body["error"], (extra, st, body)
        st, _, _ = lease(dict(base, version="1.2.3", slots=3))
        assert st == 204
        st, _, reg = call("GET", c.url + "/v1/agents", c.viewer)
        (agent,) = reg["agents"]
        assert agent["name"] == "web@host:1" and agent["labels"] == ["linux"], agent
        assert agent["version"] == "1.2.3" and agent["slots"] == 3 and agent["connected"], agent
        assert agent["drained"] is False and agent["running"] == []
        name = urllib.parse.quote(agent["name"], safe="")
        st, _, body = call("POST", "%s/v1/agents/%s/drain" % (c.url, name), c.client, {})
        assert st == 200 and body == {"name": "web@host:1", "drained": True}, (st, body)
        st, _, body = call("POST", c.url + "/v1/agents/nobody/drain", c.client, {})
        assert st == 404 and "nobody" in body["error"], (st, body)
        st, _, body = call("POST", c.url + "/v1/agents/bad%20name/drain", c.client, {})
        assert st == 404, (st, body)
        # drained: a parked lease request is not offered the new job, nor is a new one
        job = c.submit(dict(SPEC, labels=["linux"]))
        t0 = time.monotonic()
        st, _, _ = lease(dict(base, wait=2))
        assert st == 204 and time.monotonic() - t0 >= 1.5, st
        st, _, q = call("GET", c.url + "/v1/queue", c.viewer)
        assert q["status"] == "degraded" and any("drained" in p for p in q["problems"]), q
        assert q["groups"][0]["labels"] == ["linux"] and q["groups"][0]["runnable"] is False, q
        # resume answers a parked request at once
        parked = http.client.HTTPConnection(c.url.split("//")[1], timeout=30)
        parked.request("POST", "/v1/leases", body=json_body(dict(base, wait=5)),
                       headers={"Authorization": "Bearer " + c.agent,
                                "Content-Type": "application/json"})
        time.sleep(0.5)
        st, _, body = call("POST", "%s/v1/agents/%s/resume" % (c.url, name), c.client, {})
        assert st == 200 and body["drained"] is False, (st, body)
        t0 = time.monotonic()
        resp = parked.getresponse()
        got = json_load(resp.read())
        parked.close()
        assert resp.status == 200 and got["id"] == job and time.monotonic() - t0 < 3, resp.status
        st, _, reg = call("GET", c.url + "/v1/agents", c.viewer)
        assert reg["agents"][0]["running"][0]["id"] == job, reg
        # a heartbeat refreshes the agent's last contact
        before = reg["agents"][0]["last_seen"]
        time.sleep(0.05)
        st, _, _ = c.heartbeat(job, got["lease"])
        assert st == 200
        st, _, reg = call("GET", c.url + "/v1/agents", c.viewer)
        assert reg["agents"][0]["last_seen"] > before, reg
        st, _, q = call("GET", c.url + "/v1/queue", c.viewer)
        assert q["status"] == "ok" and q["counts"]["running"] == 1 and q["agents"]["slots"] == 3, q
    finally:
        c.srv.stop()


def test_log_times():
    c = ui_ctx()
    try:
        job = c.submit()
        leased = c.lease()
        t0 = int(time.time() * 1000)
        for off, chunk in ((0, b"one\n"), (4, b"two\n")):
            st, _, body = call("POST", "%s/v1/jobs/%s/logs?offset=%d" % (c.url, job, off), c.agent,
                               chunk, headers={"X-Airgap-Lease": leased["lease"]})
            assert st == 200, (st, body)
        st, _, body = call("GET", "%s/v1/jobs/%s/logs/times" % (c.url, job), c.viewer)
        assert st == 200 and body["next"] is None, (st, body)
        assert [s for s, _ in body["chunks"]] == [0, 4], body
        assert all(t0 - 1000 <= at <= time.time() * 1000 + 1000 for _, at in body["chunks"]), body
        st, _, body = call("GET", "%s/v1/jobs/%s/logs/times?offset=5" % (c.url, job), c.viewer)
        assert [s for s, _ in body["chunks"]] == [4], body
        for path, token, want in (("/v1/jobs/0123456789abcdef/logs/times", c.viewer, 404),
                                  ("/v1/jobs/%s/logs/times?offset=x" % job, c.viewer, 400),
                                  ("/v1/jobs/%s/logs/times" % job, c.agent, 403),
                                  ("/v1/jobs/%s/logs/times" % job, None, 401)):
            st, _, body = call("GET", c.url + path, token)
            assert st == want, (path, st, body)
    finally:
        c.srv.stop()


def json_body(o):
    return json.dumps(o).encode()


def json_load(raw):
    return json.loads(raw)


def read_event(resp):
    """The next event of a text/event-stream response (comments skipped)."""
    lines = []
    while True:
        line = resp.readline().decode()
        if line in ("\r\n", "\n", ""):
            if lines:
                return lines
            if line == "":
                raise AssertionError("event stream ended")
            continue
        if line.startswith(":"):
            continue
        lines.append(line.strip())


def test_events_say_when_lists_change():
    c = ui_ctx()
    try:
        conn = http.client.HTTPConnection(c.url.split("//")[1], timeout=20)
        conn.request("GET", "/v1/events", headers={"Authorization": "Bearer " + c.viewer})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream"
        first = read_event(resp)  # at once: the page is in sync
        assert first[0] == "event: change", first
        v0 = int(first[1].split(": ")[1])
        job = c.submit()
        ev = read_event(resp)
        assert ev[0] == "event: change" and int(ev[1].split(": ")[1]) > v0, ev
        call("POST", "%s/v1/jobs/%s/cancel" % (c.url, job), c.client, {})
        ev2 = read_event(resp)
        assert int(ev2[1].split(": ")[1]) > int(ev[1].split(": ")[1]), ev2
        conn.close()
        st, _, _ = call("GET", c.url + "/v1/events", "aq_0000000000000000_bad")
        assert st == 401
    finally:
        c.srv.stop()


def main():
    failures = 0
    only = sys.argv[1:]
    for name, fn in sorted(globals().items()):
        if not name.startswith("test_") or (only and name not in only):
            continue
        t0 = time.monotonic()
        try:
            fn()
            print("ok   %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
        except Exception:
            failures += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
