#!/usr/bin/python3
"""End-to-end CloudWatch Logs tests with Debian's boto3 against a real
`airgap emulator` ($AIRGAP_BIN): log groups (retention, tags, KMS keys checked
against the emulator's KMS), streams, PutLogEvents' batch rules and
rejectedLogEventsInfo, GetLogEvents' tokens in both directions,
FilterLogEvents with every filter-pattern syntax and pagination, Logs
Insights queries, metric and subscription filters, destinations and resource
policies. Error codes and messages follow the CloudWatch Logs API reference."""

import json
import os
import sys
import time
import unittest
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402


def client(endpoint, service="logs", validate=True):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=validate))


def now_ms():
    return int(time.time() * 1000)


class LogsCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator()
        cls.logs = client(cls.emu.endpoint)
        cls.raw = client(cls.emu.endpoint, validate=False)
        cls.kms = client(cls.emu.endpoint, "kms")

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def error(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        err = cm.exception.response["Error"]
        return err["Code"], err.get("Message", "")

    def group(self, name, stream="s"):
        self.logs.create_log_group(logGroupName=name)
        if stream:
            self.logs.create_log_stream(logGroupName=name, logStreamName=stream)

    def put(self, group, stream, messages, start=None):
        t = start if start is not None else now_ms() - 60000
        events = [{"timestamp": t + i, "message": m} for i, m in enumerate(messages)]
        return self.logs.put_log_events(logGroupName=group, logStreamName=stream,
                                        logEvents=events)

    # ---- groups ----

    def test_groups_create_describe_delete(self):
        self.logs.create_log_group(logGroupName="/app/one", tags={"team": "a"})
        self.logs.create_log_group(logGroupName="/app/two")
        self.logs.create_log_group(logGroupName="/other")
        code, msg = self.error(self.logs.create_log_group, logGroupName="/app/one")
        self.assertEqual(code, "ResourceAlreadyExistsException")
        code, _ = self.error(self.raw.create_log_group, logGroupName="bad name!")
        self.assertEqual(code, "InvalidParameterException")
        got = self.logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"]
        self.assertEqual([g["logGroupName"] for g in got], ["/app/one", "/app/two"])
        g = got[0]
        self.assertEqual(g["arn"], "arn:aws:logs:us-east-1:000000000000:log-group:/app/one:*")
        self.assertEqual(g["storedBytes"], 0)
        self.assertEqual(g["metricFilterCount"], 0)
        self.assertNotIn("retentionInDays", g)
        self.assertAlmostEqual(g["creationTime"], now_ms(), delta=60000)
        by_pattern = self.logs.describe_log_groups(logGroupNamePattern="APP/T")["logGroups"]
        self.assertEqual([g["logGroupName"] for g in by_pattern], ["/app/two"])
        code, _ = self.error(self.logs.describe_log_groups, logGroupNamePrefix="/a",
                             logGroupNamePattern="x")
        self.assertEqual(code, "InvalidParameterException")
        self.logs.delete_log_group(logGroupName="/app/two")
        code, msg = self.error(self.logs.delete_log_group, logGroupName="/app/two")
        self.assertEqual((code, msg), ("ResourceNotFoundException",
                                       "The specified log group does not exist."))

    def test_groups_pagination(self):
        for i in range(7):
            self.logs.create_log_group(logGroupName="/page/g%02d" % i)
        names, token, pages = [], None, 0
        while True:
            kw = {"logGroupNamePrefix": "/page/", "limit": 3}
            if token:
                kw["nextToken"] = token
            out = self.logs.describe_log_groups(**kw)
            names += [g["logGroupName"] for g in out["logGroups"]]
            pages += 1
            token = out.get("nextToken")
            if not token:
                break
        self.assertEqual(names, ["/page/g%02d" % i for i in range(7)])
        self.assertEqual(pages, 3)
        paginated = [g["logGroupName"] for p in self.logs.get_paginator("describe_log_groups")
                     .paginate(logGroupNamePrefix="/page/", PaginationConfig={"PageSize": 2})
                     for g in p["logGroups"]]
        self.assertEqual(paginated, names)
        code, _ = self.error(self.logs.describe_log_groups, limit=51)
        self.assertEqual(code, "InvalidParameterException")
        code, _ = self.error(self.logs.describe_log_groups, nextToken="garbage")
        self.assertEqual(code, "InvalidParameterException")

    def test_retention_tags_kms(self):
        self.group("/ret", None)
        self.logs.put_retention_policy(logGroupName="/ret", retentionInDays=7)
        g = self.logs.describe_log_groups(logGroupNamePrefix="/ret")["logGroups"][0]
        self.assertEqual(g["retentionInDays"], 7)
        code, msg = self.error(self.logs.put_retention_policy, logGroupName="/ret",
                               retentionInDays=2)
        self.assertEqual(code, "InvalidParameterException")
        self.assertIn("enum value set", msg)
        code, _ = self.error(self.logs.put_retention_policy, logGroupName="/nope",
                             retentionInDays=1)
        self.assertEqual(code, "ResourceNotFoundException")
        self.logs.delete_retention_policy(logGroupName="/ret")
        g = self.logs.describe_log_groups(logGroupNamePrefix="/ret")["logGroups"][0]
        self.assertNotIn("retentionInDays", g)

        self.logs.tag_log_group(logGroupName="/ret", tags={"a": "1", "b": "2"})
        self.logs.untag_log_group(logGroupName="/ret", tags=["a"])
        self.assertEqual(self.logs.list_tags_log_group(logGroupName="/ret")["tags"], {"b": "2"})
        arn = "arn:aws:logs:us-east-1:000000000000:log-group:/ret"
        self.logs.tag_resource(resourceArn=arn, tags={"c": "3"})
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=arn)["tags"],
                         {"b": "2", "c": "3"})
        self.logs.untag_resource(resourceArn=arn, tagKeys=["b"])
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=arn + ":*")["tags"],
                         {"c": "3"})
        code, _ = self.error(self.logs.list_tags_for_resource,
                             resourceArn="arn:aws:logs:us-east-1:000000000000:log-group:/x")
        self.assertEqual(code, "ResourceNotFoundException")
        code, _ = self.error(self.logs.tag_log_group, logGroupName="/ret",
                             tags={"k%d" % i: "v" for i in range(50)})
        self.assertEqual(code, "InvalidParameterException")

        key = self.kms.create_key()["KeyMetadata"]["Arn"]
        self.logs.associate_kms_key(logGroupName="/ret", kmsKeyId=key)
        g = self.logs.describe_log_groups(logGroupNamePrefix="/ret")["logGroups"][0]
        self.assertEqual(g["kmsKeyId"], key)
        self.logs.disassociate_kms_key(logGroupName="/ret")
        g = self.logs.describe_log_groups(logGroupNamePrefix="/ret")["logGroups"][0]
        self.assertNotIn("kmsKeyId", g)
        missing = key[:-36] + "00000000-0000-0000-0000-000000000000"
        code, _ = self.error(self.logs.create_log_group, logGroupName="/enc", kmsKeyId=missing)
        self.assertEqual(code, "InvalidParameterException")
        self.logs.create_log_group(logGroupName="/enc", kmsKeyId=key)
        g = self.logs.describe_log_groups(logGroupNamePrefix="/enc")["logGroups"][0]
        self.assertEqual(g["kmsKeyId"], key)

    # ---- streams and events ----

    def test_streams(self):
        self.group("/streams", "b")
        for s in ("a", "c"):
            self.logs.create_log_stream(logGroupName="/streams", logStreamName=s)
        code, _ = self.error(self.logs.create_log_stream, logGroupName="/streams",
                             logStreamName="a")
        self.assertEqual(code, "ResourceAlreadyExistsException")
        code, _ = self.error(self.logs.create_log_stream, logGroupName="/none",
                             logStreamName="a")
        self.assertEqual(code, "ResourceNotFoundException")
        code, _ = self.error(self.raw.create_log_stream, logGroupName="/streams",
                             logStreamName="a:b")
        self.assertEqual(code, "InvalidParameterException")
        t = now_ms()
        self.put("/streams", "c", ["x"], t - 3000)
        self.put("/streams", "a", ["y"], t - 1000)
        out = self.logs.describe_log_streams(logGroupName="/streams")["logStreams"]
        self.assertEqual([s["logStreamName"] for s in out], ["a", "b", "c"])
        a = out[0]
        self.assertEqual(a["firstEventTimestamp"], t - 1000)
        self.assertEqual(a["lastEventTimestamp"], t - 1000)
        self.assertEqual(a["storedBytes"], 1)
        self.assertEqual(a["arn"], "arn:aws:logs:us-east-1:000000000000:log-group:/streams:"
                                   "log-stream:a")
        self.assertNotIn("firstEventTimestamp", out[1])
        by_time = self.logs.describe_log_streams(logGroupName="/streams",
                                                 orderBy="LastEventTime",
                                                 descending=True)["logStreams"]
        self.assertEqual([s["logStreamName"] for s in by_time], ["a", "c", "b"])
        code, msg = self.error(self.logs.describe_log_streams, logGroupName="/streams",
                               orderBy="LastEventTime", logStreamNamePrefix="a")
        self.assertEqual(code, "InvalidParameterException")
        first = self.logs.describe_log_streams(logGroupName="/streams", limit=2)
        self.assertEqual(len(first["logStreams"]), 2)
        rest = self.logs.describe_log_streams(logGroupName="/streams",
                                              nextToken=first["nextToken"])
        self.assertEqual([s["logStreamName"] for s in rest["logStreams"]], ["c"])
        self.assertNotIn("nextToken", rest)
        pre = self.logs.describe_log_streams(logGroupName="/streams", logStreamNamePrefix="b")
        self.assertEqual([s["logStreamName"] for s in pre["logStreams"]], ["b"])
        self.logs.delete_log_stream(logGroupName="/streams", logStreamName="b")
        code, msg = self.error(self.logs.delete_log_stream, logGroupName="/streams",
                               logStreamName="b")
        self.assertEqual((code, msg), ("ResourceNotFoundException",
                                       "The specified log stream does not exist."))
        g = self.logs.describe_log_groups(logGroupNamePrefix="/streams")["logGroups"][0]
        self.assertEqual(g["storedBytes"], 2)

    def test_put_rules(self):
        self.group("/put")
        t = now_ms()
        out = self.put("/put", "s", ["one"])
        self.assertIn("nextSequenceToken", out)
        self.assertNotIn("rejectedLogEventsInfo", out)
        # Any (or no) sequence token is accepted, as AWS does since 2023.
        self.logs.put_log_events(logGroupName="/put", logStreamName="s", sequenceToken="123",
                                 logEvents=[{"timestamp": t, "message": "two"}])
        code, msg = self.error(self.logs.put_log_events, logGroupName="/put",
                               logStreamName="s", logEvents=[
                                   {"timestamp": t, "message": "b"},
                                   {"timestamp": t - 1, "message": "a"}])
        self.assertEqual(code, "InvalidParameterException")
        self.assertIn("chronological order", msg)
        code, msg = self.error(self.logs.put_log_events, logGroupName="/put",
                               logStreamName="s", logEvents=[
                                   {"timestamp": t - 25 * 3600 * 1000, "message": "a"},
                                   {"timestamp": t, "message": "b"}])
        self.assertEqual(code, "InvalidParameterException")
        self.assertIn("24 hours", msg)
        code, _ = self.error(self.logs.put_log_events, logGroupName="/put", logStreamName="s",
                             logEvents=[{"timestamp": t, "message": "x"}] * 10001)
        self.assertEqual(code, "InvalidParameterException")
        big = "x" * 200000
        code, msg = self.error(self.logs.put_log_events, logGroupName="/put",
                               logStreamName="s",
                               logEvents=[{"timestamp": t, "message": big}] * 6)
        self.assertEqual(code, "InvalidParameterException")
        self.assertIn("1048576", msg)
        code, msg = self.error(self.logs.put_log_events, logGroupName="/put",
                               logStreamName="nope",
                               logEvents=[{"timestamp": t, "message": "x"}])
        self.assertEqual((code, msg), ("ResourceNotFoundException",
                                       "The specified log stream does not exist."))
        code, _ = self.error(self.logs.put_log_events, logGroupName="/nope",
                             logStreamName="s", logEvents=[{"timestamp": t, "message": "x"}])
        self.assertEqual(code, "ResourceNotFoundException")
        # Too old (15 days) and too new (3 hours ahead) are rejected one by
        # one; the rest are stored. The span rule forbids mixing both, so two
        # batches.
        old = t - 15 * 86400 * 1000
        out = self.logs.put_log_events(logGroupName="/put", logStreamName="s", logEvents=[
            {"timestamp": old, "message": "old1"}, {"timestamp": old + 1, "message": "old2"}])
        self.assertEqual(out["rejectedLogEventsInfo"], {"tooOldLogEventEndIndex": 1})
        out = self.logs.put_log_events(logGroupName="/put", logStreamName="s", logEvents=[
            {"timestamp": t + 1000, "message": "ok"},
            {"timestamp": t + 3 * 3600 * 1000, "message": "new1"},
            {"timestamp": t + 3 * 3600 * 1000 + 1, "message": "new2"}])
        self.assertEqual(out["rejectedLogEventsInfo"], {"tooNewLogEventStartIndex": 1})
        self.logs.put_retention_policy(logGroupName="/put", retentionInDays=1)
        out = self.logs.put_log_events(logGroupName="/put", logStreamName="s", logEvents=[
            {"timestamp": t - 25 * 3600 * 1000, "message": "expired"}])
        self.assertEqual(out["rejectedLogEventsInfo"], {"expiredLogEventEndIndex": 0})
        self.logs.put_log_events(logGroupName="/put", logStreamName="s",
                                 logEvents=[{"timestamp": t - 1, "message": "kept"}])
        got = self.logs.get_log_events(logGroupName="/put", logStreamName="s",
                                       startFromHead=True)["events"]
        self.assertEqual([e["message"] for e in got], ["one", "kept", "two", "ok"])
        for e in got:
            self.assertAlmostEqual(e["ingestionTime"], now_ms(), delta=60000)

    def test_get_tokens(self):
        self.group("/get")
        t = now_ms() - 100000
        self.put("/get", "s", ["m%d" % i for i in range(10)], t)
        head = self.logs.get_log_events(logGroupName="/get", logStreamName="s",
                                        startFromHead=True, limit=4)
        self.assertEqual([e["message"] for e in head["events"]], ["m0", "m1", "m2", "m3"])
        self.assertTrue(head["nextForwardToken"].startswith("f/"))
        self.assertTrue(head["nextBackwardToken"].startswith("b/"))
        nxt = self.logs.get_log_events(logGroupName="/get", logStreamName="s",
                                       nextToken=head["nextForwardToken"], limit=4)
        self.assertEqual([e["message"] for e in nxt["events"]], ["m4", "m5", "m6", "m7"])
        back = self.logs.get_log_events(logGroupName="/get", logStreamName="s",
                                        nextToken=nxt["nextBackwardToken"], limit=2)
        self.assertEqual([e["message"] for e in back["events"]], ["m2", "m3"])
        # Without startFromHead, the newest events.
        tail = self.logs.get_log_events(logGroupName="/get", logStreamName="s", limit=3)
        self.assertEqual([e["message"] for e in tail["events"]], ["m7", "m8", "m9"])
        end = self.logs.get_log_events(logGroupName="/get", logStreamName="s",
                                       nextToken=tail["nextForwardToken"])
        self.assertEqual(end["events"], [])
        self.assertEqual(end["nextForwardToken"], tail["nextForwardToken"])
        # Events added later show up from the same forward token.
        self.put("/get", "s", ["late"], t + 50)
        more = self.logs.get_log_events(logGroupName="/get", logStreamName="s",
                                        nextToken=tail["nextForwardToken"])
        self.assertEqual([e["message"] for e in more["events"]], ["late"])
        # Reading on until the token repeats (what SDK paginators do).
        msgs, token = [], None
        while True:
            kw = {"nextToken": token} if token else {"startFromHead": True}
            page = self.logs.get_log_events(logGroupName="/get", logStreamName="s", limit=3,
                                            **kw)
            msgs += [e["message"] for e in page["events"]]
            if page["nextForwardToken"] == token:
                break
            token = page["nextForwardToken"]
        self.assertEqual(msgs, ["m%d" % i for i in range(10)] + ["late"])
        window = self.logs.get_log_events(logGroupName="/get", logStreamName="s",
                                          startTime=t + 2, endTime=t + 5, startFromHead=True)
        self.assertEqual([e["message"] for e in window["events"]], ["m2", "m3", "m4"])
        code, _ = self.error(self.logs.get_log_events, logGroupName="/get", logStreamName="s",
                             nextToken="f/nope")
        self.assertEqual(code, "InvalidParameterException")
        code, _ = self.error(self.logs.get_log_events, logGroupName="/get",
                             logStreamName="none")
        self.assertEqual(code, "ResourceNotFoundException")

    # ---- FilterLogEvents and patterns ----

    def filter(self, group, pattern, **kw):
        return [e["message"] for e in self.logs.filter_log_events(
            logGroupName=group, filterPattern=pattern, **kw)["events"]]

    def test_filter_patterns(self):
        self.group("/filter", "a")
        self.logs.create_log_stream(logGroupName="/filter", logStreamName="b")
        t = now_ms() - 100000
        plain = ["ERROR disk full", "WARN disk almost full", "INFO all good",
                 "ERROR [main] Exiting"]
        self.put("/filter", "a", plain, t)
        js = [json.dumps({"level": "error", "latency": 700, "user": {"id": 7},
                          "tags": ["x", "y"], "ok": False, "none": None}),
              json.dumps({"level": "info", "latency": 20, "user": {"id": 8}, "ok": True})]
        self.put("/filter", "b", js, t + 10)
        apache = ['127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 404 2326',
                  '10.0.0.2 - - [10/Oct/2000:13:55:37 -0700] "GET /b.html HTTP/1.0" 200 512']
        self.put("/filter", "b", apache, t + 20)
        self.assertEqual(self.filter("/filter", "ERROR"),
                         ["ERROR disk full", "ERROR [main] Exiting"])
        self.assertEqual(self.filter("/filter", "ERROR disk"), ["ERROR disk full"])
        self.assertEqual(self.filter("/filter", '"disk full"'), ["ERROR disk full"])
        self.assertEqual(self.filter("/filter", "?WARN ?INFO"),
                         ["WARN disk almost full", "INFO all good"])
        self.assertEqual(self.filter("/filter", "ERROR -Exiting"), ["ERROR disk full"])
        self.assertEqual(self.filter("/filter", "%ful+%"),
                         ["ERROR disk full", "WARN disk almost full"])
        self.assertEqual(self.filter("/filter", '{ $.level = "error" }'), [js[0]])
        self.assertEqual(self.filter("/filter", "{ $.latency > 100 }"), [js[0]])
        self.assertEqual(self.filter("/filter", "{ $.latency <= 20 && $.ok IS TRUE }"), [js[1]])
        self.assertEqual(self.filter("/filter", '{ ($.user.id = 8) || ($.tags[1] = "y") }'), js)
        self.assertEqual(self.filter("/filter", '{ $.level = "err*" }'), [js[0]])
        self.assertEqual(self.filter("/filter", '{ $.level != "error" }'), [js[1]])
        self.assertEqual(self.filter("/filter", "{ $.none IS NULL }"), [js[0]])
        self.assertEqual(self.filter("/filter", "{ $.none NOT EXISTS }"), [js[1]])
        self.assertEqual(self.filter("/filter",
                                     "[ip, id, user, ts, request, status = 404, bytes]"),
                         [apache[0]])
        self.assertEqual(self.filter("/filter", "[..., status = 2* || status = 5*, bytes]"),
                         [apache[1]])
        self.assertEqual(self.filter("/filter", '[ip, ..., request = "*html*", status, bytes > 100]'),
                         [apache[1]])
        self.assertEqual(len(self.filter("/filter", "")), 8)
        self.assertEqual(self.filter("/filter", "ERROR", logStreamNames=["b"]), [])
        self.assertEqual(self.filter("/filter", "", logStreamNamePrefix="a"), plain)
        self.assertEqual(self.filter("/filter", "", startTime=t + 1, endTime=t + 3), plain[1:])
        for bad in ("{ $.a = ", "[a, b", '"open', "{ level = 1 }", "{ $.a > \"x\" }", "%(a)%"):
            code, _ = self.error(self.logs.filter_log_events, logGroupName="/filter",
                                 filterPattern=bad)
            self.assertEqual(code, "InvalidParameterException", bad)
        code, _ = self.error(self.logs.filter_log_events, logGroupName="/filter",
                             logStreamNames=["a"], logStreamNamePrefix="a")
        self.assertEqual(code, "InvalidParameterException")

    def test_filter_pagination_interleaved(self):
        self.group("/fpage", "a")
        self.logs.create_log_stream(logGroupName="/fpage", logStreamName="b")
        t = now_ms() - 100000
        self.put("/fpage", "a", ["a%d" % i for i in range(0, 10, 2)], t)
        self.logs.put_log_events(logGroupName="/fpage", logStreamName="b", logEvents=[
            {"timestamp": t + i, "message": "b%d" % i} for i in range(1, 10, 2)])
        out = self.logs.filter_log_events(logGroupName="/fpage", limit=4)
        self.assertIn("nextToken", out)
        msgs = [e["message"] for e in out["events"]]
        while "nextToken" in out:
            out = self.logs.filter_log_events(logGroupName="/fpage", limit=4,
                                              nextToken=out["nextToken"])
            msgs += [e["message"] for e in out["events"]]
        # The streams' events interleaved by timestamp: a0 b1 a1… (a at even
        # offsets of t, b at odd ones; put() spaces a's events 1 ms apart).
        expected = sorted(["a%d" % i for i in range(0, 10, 2)] +
                          ["b%d" % i for i in range(1, 10, 2)],
                          key=lambda m: (int(m[1:]) // 2 if m[0] == "a" else int(m[1:]), m))
        self.assertEqual(sorted(msgs), sorted(expected))
        self.assertEqual(len(msgs), 10)
        ts = [e["timestamp"] for p in self.logs.get_paginator("filter_log_events").paginate(
            logGroupName="/fpage", PaginationConfig={"PageSize": 3}) for e in p["events"]]
        self.assertEqual(ts, sorted(ts))
        self.assertEqual(len(ts), 10)
        ids = [e["eventId"] for e in self.logs.filter_log_events(logGroupName="/fpage")["events"]]
        self.assertEqual(len(set(ids)), 10)

    # ---- Logs Insights ----

    def query(self, group, text, **kw):
        qid = self.logs.start_query(logGroupName=group, startTime=int(time.time()) - 3600,
                                    endTime=int(time.time()) + 60, queryString=text,
                                    **kw)["queryId"]
        out = self.logs.get_query_results(queryId=qid)
        self.assertEqual(out["status"], "Complete")
        return qid, out

    def test_insights(self):
        self.group("/insights")
        t = now_ms() - 60000
        lines = [json.dumps({"level": lv, "ms": ms, "user": {"id": u}})
                 for lv, ms, u in (("error", 100, 1), ("info", 20, 2), ("error", 300, 1),
                                   ("info", 40, 3))]
        self.put("/insights", "s", lines + ["plain ERROR text"], t)
        _, out = self.query("/insights", 'fields level, ms | filter level = "error" '
                                         "| sort ms desc | limit 5")
        rows = [{c["field"]: c["value"] for c in r} for r in out["results"]]
        self.assertEqual([(r["level"], r["ms"]) for r in rows], [("error", "300"),
                                                                 ("error", "100")])
        self.assertIn("@ptr", rows[0])
        self.assertEqual(out["statistics"]["recordsScanned"], 5.0)
        self.assertEqual(out["statistics"]["recordsMatched"], 2.0)
        rec = self.logs.get_log_record(logRecordPointer=rows[0]["@ptr"])["logRecord"]
        self.assertEqual(json.loads(rec["@message"])["ms"], 300)
        _, out = self.query("/insights", "stats count(*) as n, sum(ms) by level | sort level")
        rows = [{c["field"]: c["value"] for c in r} for r in out["results"]]
        # The plain line has no level: its group comes last, without one.
        self.assertEqual(rows, [{"level": "error", "n": "2", "sum(ms)": "400"},
                                {"level": "info", "n": "2", "sum(ms)": "60"}, {"n": "1"}])
        _, out = self.query("/insights", "filter @message like /ERROR/ | fields @message")
        self.assertEqual([[c["value"] for c in r if c["field"] == "@message"]
                          for r in out["results"]], [["plain ERROR text"]])
        _, out = self.query("/insights", "filter user.id in [2, 3] and ms < 30")
        self.assertEqual(len(out["results"]), 1)
        stamp = [c["value"] for c in out["results"][0] if c["field"] == "@timestamp"][0]
        self.assertRegex(stamp, r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$")
        _, out = self.query("/insights", 'parse @message "plain * text" as word | '
                                         "filter ispresent(word) | fields word")
        self.assertEqual([[c["value"] for c in r if c["field"] == "word"]
                          for r in out["results"]], [["ERROR"]])
        _, out = self.query("/insights", 'parse @message /"ms": (?<took>[0-9]+)/ '
                                         "| filter took >= 100 | stats count(*) as n")
        self.assertEqual(out["results"], [[{"field": "n", "value": "2"}]])
        code, _ = self.error(self.logs.start_query, logGroupName="/insights", startTime=0,
                             endTime=10, queryString='parse @message "a * b * c" as one')
        self.assertEqual(code, "MalformedQueryException")
        qid, _ = self.query("/insights", "fields @message | limit 2")
        self.assertFalse(self.logs.stop_query(queryId=qid)["success"])
        listed = self.logs.describe_queries(logGroupName="/insights")["queries"]
        self.assertIn(qid, [q["queryId"] for q in listed])
        code, msg = self.error(self.logs.start_query, logGroupName="/insights", startTime=0,
                               endTime=10, queryString="fields a | bogus b")
        self.assertEqual(code, "MalformedQueryException")
        code, _ = self.error(self.logs.start_query, logGroupName="/none", startTime=0,
                             endTime=10, queryString="fields a")
        self.assertEqual(code, "ResourceNotFoundException")
        code, _ = self.error(self.logs.start_query, logGroupName="/insights", startTime=10,
                             endTime=0, queryString="fields a")
        self.assertEqual(code, "InvalidParameterException")
        code, _ = self.error(self.logs.get_query_results, queryId="nope")
        self.assertEqual(code, "ResourceNotFoundException")

    def test_query_definitions_and_fields(self):
        self.group("/defs")
        self.put("/defs", "s", [json.dumps({"a": 1, "b": {"c": 2}}), "plain"])
        fields = {f["name"]: f["percent"] for f in
                  self.logs.get_log_group_fields(logGroupName="/defs")["logGroupFields"]}
        self.assertEqual(fields["@message"], 100)
        self.assertEqual(fields["a"], 50)
        self.assertEqual(fields["b.c"], 50)
        old = self.logs.get_log_group_fields(logGroupName="/defs",
                                             time=int(time.time()) - 86400)["logGroupFields"]
        self.assertEqual(old, [])
        one = self.logs.put_query_definition(name="errors/by-level", queryString="fields a",
                                             logGroupNames=["/defs"])["queryDefinitionId"]
        two = self.logs.put_query_definition(name="all", queryString="fields @message")[
            "queryDefinitionId"]
        self.assertEqual(self.logs.put_query_definition(
            queryDefinitionId=one, name="errors/by-level", queryString="fields b")[
            "queryDefinitionId"], one)
        defs = self.logs.describe_query_definitions()["queryDefinitions"]
        self.assertEqual([(d["name"], d["queryString"]) for d in defs],
                         [("all", "fields @message"), ("errors/by-level", "fields b")])
        pre = self.logs.describe_query_definitions(queryDefinitionNamePrefix="err")
        self.assertEqual([d["queryDefinitionId"] for d in pre["queryDefinitions"]], [one])
        self.assertTrue(self.logs.delete_query_definition(queryDefinitionId=two)["success"])
        code, _ = self.error(self.logs.delete_query_definition, queryDefinitionId=two)
        self.assertEqual(code, "ResourceNotFoundException")
        code, _ = self.error(self.logs.put_query_definition, queryDefinitionId=two, name="x",
                             queryString="fields a")
        self.assertEqual(code, "ResourceNotFoundException")

    # ---- stored configuration ----

    def test_metric_and_subscription_filters(self):
        self.group("/mf", None)
        tr = [{"metricName": "Errors", "metricNamespace": "App", "metricValue": "1"}]
        self.logs.put_metric_filter(logGroupName="/mf", filterName="errors",
                                    filterPattern="ERROR", metricTransformations=tr)
        self.logs.put_metric_filter(logGroupName="/mf", filterName="latency",
                                    filterPattern="{ $.latency > 10 }",
                                    metricTransformations=[dict(tr[0], metricName="Slow")])
        code, _ = self.error(self.logs.put_metric_filter, logGroupName="/mf", filterName="bad",
                             filterPattern="{ $.a = ", metricTransformations=tr)
        self.assertEqual(code, "InvalidParameterException")
        got = self.logs.describe_metric_filters(logGroupName="/mf")["metricFilters"]
        self.assertEqual([f["filterName"] for f in got], ["errors", "latency"])
        self.assertEqual(got[0]["metricTransformations"][0]["metricName"], "Errors")
        by_metric = self.logs.describe_metric_filters(metricName="Slow",
                                                      metricNamespace="App")["metricFilters"]
        self.assertEqual([f["filterName"] for f in by_metric], ["latency"])
        g = self.logs.describe_log_groups(logGroupNamePrefix="/mf")["logGroups"][0]
        self.assertEqual(g["metricFilterCount"], 2)
        self.logs.delete_metric_filter(logGroupName="/mf", filterName="errors")
        code, _ = self.error(self.logs.delete_metric_filter, logGroupName="/mf",
                             filterName="errors")
        self.assertEqual(code, "ResourceNotFoundException")
        test = self.logs.test_metric_filter(
            filterPattern="[ip, user, status = 4*]",
            logEventMessages=["1.2.3.4 bob 404", "1.2.3.4 bob 200", "x y"])["matches"]
        self.assertEqual(len(test), 1)
        self.assertEqual(test[0]["eventNumber"], 1)
        self.assertEqual(test[0]["extractedValues"],
                         {"$ip": "1.2.3.4", "$user": "bob", "$status": "404"})

        dest = "arn:aws:lambda:us-east-1:000000000000:function:f"
        for i in range(2):
            self.logs.put_subscription_filter(logGroupName="/mf", filterName="s%d" % i,
                                              filterPattern="", destinationArn=dest)
        code, _ = self.error(self.logs.put_subscription_filter, logGroupName="/mf",
                             filterName="s2", filterPattern="", destinationArn=dest)
        self.assertEqual(code, "LimitExceededException")
        self.logs.put_subscription_filter(logGroupName="/mf", filterName="s1",
                                          filterPattern="ERROR", destinationArn=dest,
                                          distribution="Random")
        subs = self.logs.describe_subscription_filters(logGroupName="/mf")["subscriptionFilters"]
        self.assertEqual([(s["filterName"], s["filterPattern"], s["distribution"])
                          for s in subs], [("s0", "", "ByLogStream"), ("s1", "ERROR", "Random")])
        self.logs.delete_subscription_filter(logGroupName="/mf", filterName="s0")
        self.assertEqual(len(self.logs.describe_subscription_filters(
            logGroupName="/mf")["subscriptionFilters"]), 1)

    def test_destinations_and_policies(self):
        role = "arn:aws:iam::000000000000:role/r"
        d = self.logs.put_destination(destinationName="dest",
                                      targetArn="arn:aws:kinesis:us-east-1:000000000000:stream/k",
                                      roleArn=role, tags={"t": "1"})["destination"]
        self.assertEqual(d["arn"], "arn:aws:logs:us-east-1:000000000000:destination:dest")
        policy = json.dumps({"Version": "2012-10-17", "Statement": []})
        self.logs.put_destination_policy(destinationName="dest", accessPolicy=policy)
        got = self.logs.describe_destinations(DestinationNamePrefix="de")["destinations"]
        self.assertEqual(got[0]["accessPolicy"], policy)
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=d["arn"])["tags"],
                         {"t": "1"})
        code, _ = self.error(self.logs.put_destination_policy, destinationName="none",
                             accessPolicy=policy)
        self.assertEqual(code, "ResourceNotFoundException")
        self.logs.delete_destination(destinationName="dest")
        self.assertEqual(self.logs.describe_destinations()["destinations"], [])

        p = self.logs.put_resource_policy(policyName="p0", policyDocument=policy)
        self.assertEqual(p["resourcePolicy"]["policyDocument"], policy)
        code, _ = self.error(self.logs.put_resource_policy, policyName="bad",
                             policyDocument="{not json")
        self.assertEqual(code, "InvalidParameterException")
        for i in range(1, 10):
            self.logs.put_resource_policy(policyName="p%d" % i, policyDocument=policy)
        code, _ = self.error(self.logs.put_resource_policy, policyName="p10",
                             policyDocument=policy)
        self.assertEqual(code, "LimitExceededException")
        self.assertEqual(len(self.logs.describe_resource_policies()["resourcePolicies"]), 10)
        for i in range(10):
            self.logs.delete_resource_policy(policyName="p%d" % i)
        code, _ = self.error(self.logs.delete_resource_policy, policyName="p0")
        self.assertEqual(code, "ResourceNotFoundException")

    def test_reset_and_regions(self):
        self.group("/regional", None)
        other = boto3.client("logs", endpoint_url=self.emu.endpoint, region_name="eu-west-1",
                             aws_access_key_id="test", aws_secret_access_key="test")
        self.assertEqual(other.describe_log_groups(logGroupNamePrefix="/regional")["logGroups"],
                         [])
        other.create_log_group(logGroupName="/regional")
        self.assertEqual(len(other.describe_log_groups(
            logGroupNamePrefix="/regional")["logGroups"]), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
