#!/usr/bin/python3
"""e2e_protocol_conformance.py — the protocol layer against botocore itself.

For every operation of every embedded model (sts, sqs — over both the query and
the JSON protocol —, s3, lambda, dynamodb) this builds a sample input from the
operation's input shape, lets botocore's own serializer turn it into an HTTP
request, and checks that the emulator's parser (through protocol_probe) finds
the same operation and recovers exactly the same input. In the other
direction it builds a sample output, has the emulator serialize it and
botocore's own parser read it back, and checks nothing was lost or changed.
Error shapes go the same way: every modelled error must come back to botocore
with its code. Usage: e2e_protocol_conformance.py <protocol_probe binary>
"""
import base64
import copy
import datetime
import json
import os
import subprocess
import sys
import unittest
import urllib.parse

import botocore.awsrequest
import botocore.loaders
import botocore.model
import botocore.parsers
import botocore.serialize
import botocore.session

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "emulator",
                                "protocol", "models"))
import gen_models  # noqa: E402  (the overlay the embedded models carry)

PROBE = sys.argv[1] if len(sys.argv) > 1 else "emulator_protocol_probe"
SERVICES = ["sts", "sqs", "s3", "lambda", "dynamodb", "kinesis"]
TS = datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc)


class Probe:
    def __init__(self, path):
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def ask(self, request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        self.proc.stdout.close()
        return code


class Sample:
    """Deterministic sample values for a shape: every member present, lists
    and maps with two entries, recursion cut where a structure repeats."""

    def __init__(self, location_ok):
        self.location_ok = location_ok

    def value(self, shape, name, stack, ref_ser=None):
        t = shape.type_name
        if t == "structure":
            if shape.name in stack:
                return None
            out = {}
            for member, mshape in shape.members.items():
                if not self.location_ok(mshape):
                    continue
                v = self.value(mshape, member, stack + [shape.name])
                if v is not None:
                    out[member] = v
            return out
        if t == "list":
            items = [self.value(shape.member, name, stack) for _ in range(2)]
            items = [i for i in items if i is not None]
            if shape.member.type_name == "string" and not shape.member.enum:
                items = ["%s-%d" % (i, n) for n, i in enumerate(items)]
            return items or None
        if t == "map":
            v1 = self.value(shape.value, name, stack)
            v2 = self.value(shape.value, name, stack)
            if v1 is None:
                return None
            key = shape.key.enum[0] if shape.key.enum else "k1"
            key2 = shape.key.enum[1] if len(shape.key.enum or []) > 1 else "k2"
            return {key: v1, key2: v2} if key != key2 else {key: v1}
        if t == "string":
            if shape.enum:
                return shape.enum[0]
            location = shape.serialization.get("location")
            if location == "uri":
                return "v-%s" % name
            if location in ("header", "headers"):
                return "v-%s <&>" % name
            return "v-%s <&> \u00e9\u2713" % name
        if t in ("integer", "long", "short", "byte"):
            # A member bound to the HTTP status needs a real one.
            return 202 if shape.serialization.get("location") == "statusCode" else 7
        if t in ("float", "double"):
            return 1.5
        if t == "boolean":
            return True
        if t == "timestamp":
            return TS
        if t == "blob":
            return b"blob\x00bytes"
        return None


def neutral(v):
    """Python values → the emulator's neutral JSON form."""
    if isinstance(v, dict):
        return {k: neutral(x) for k, x in v.items()}
    if isinstance(v, list):
        return [neutral(x) for x in v]
    if isinstance(v, datetime.datetime):
        return int(v.timestamp())
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if hasattr(v, "read"):
        return base64.b64encode(v.read()).decode()
    return v


def normalize_parsed(v):
    if isinstance(v, dict):
        return {k: normalize_parsed(x) for k, x in v.items() if k != "ResponseMetadata"}
    if isinstance(v, list):
        return [normalize_parsed(x) for x in v]
    if isinstance(v, datetime.datetime):
        return int(v.timestamp())
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if hasattr(v, "read"):
        return base64.b64encode(v.read()).decode()
    return v


def skip_member(shape):
    ser = shape.serialization
    # jsonvalue headers carry base64 JSON documents the handlers see as strings;
    # hostPrefix labels live in the host name.
    return ser.get("jsonvalue") or ser.get("hostLabel") or shape.type_name == "document"


def json_model(service_model):
    """SQS served over JSON from its query model, as the emulator does."""
    raw = copy.deepcopy(service_model._service_description)
    raw["metadata"].update({"protocol": "json", "jsonVersion": "1.0",
                            "targetPrefix": "AmazonSQS"})
    for shape in raw["shapes"].values():  # JSON keys are member names there
        for member in shape.get("members", {}).values():
            member.pop("locationName", None)
        shape.pop("locationName", None)
        for sub in ("member", "key", "value"):
            if sub in shape:
                shape[sub].pop("locationName", None)
    return botocore.model.ServiceModel(raw, service_model.service_name)


def to_probe_request(service, req):
    body = req["body"]
    if isinstance(body, dict):
        body = urllib.parse.urlencode(body, doseq=True)
    if isinstance(body, str):
        body = body.encode()
    if hasattr(body, "read"):
        body = body.read()
    query = urllib.parse.urlencode(req["query_string"], doseq=True) \
        if isinstance(req["query_string"], dict) else (req["query_string"] or "")
    path = req["url_path"]
    if "?" in path:
        path, extra = path.split("?", 1)
        query = "&".join(q for q in (extra, query) if q)
    headers = {k: (v.decode() if isinstance(v, bytes) else str(v))
               for k, v in req["headers"].items()}
    if isinstance(req["body"], dict) and "Content-Type" not in headers:
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    return {"parse": {"service": service, "method": req["method"], "path": path,
                      "query": query, "headers": headers,
                      "body_b64": base64.b64encode(body or b"").decode()}}


class ConformanceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.probe = Probe(PROBE)
        cls.session = botocore.session.get_session()

    @classmethod
    def tearDownClass(cls):
        if cls.probe.close() != 0:
            raise AssertionError("protocol_probe exited with an error")

    def overlaid(self, name):
        """Debian's model of name with the emulator's overlay applied (raw JSON)."""
        cache = self.__class__.__dict__.get("_overlaid")
        if cache is None:
            cache = {}
            setattr(self.__class__, "_overlaid", cache)
        if name not in cache:
            raw = botocore.loaders.create_loader().load_service_model(name, "service-2")
            cache[name] = gen_models.overlay(name, copy.deepcopy(raw))
        return cache[name]

    def models(self):
        for name in SERVICES:
            model = self.session.get_service_model(name)
            yield name, model.metadata["protocol"], model
            if name == "sqs":
                yield name, "json", json_model(model)

    def test_requests_parse_like_botocore_serializes_them(self):
        failures, checked = [], 0
        for service, protocol, model in self.models():
            sample = Sample(lambda s: not skip_member(s))
            serializer = botocore.serialize.create_serializer(protocol, include_validation=False)
            for op_name in model.operation_names:
                op = model.operation_model(op_name)
                # Deprecated operations share URIs with their successors (and
                # PutBucketNotification's XML is ambiguous: Event vs Events).
                if op.endpoint or op.has_event_stream_input or op.deprecated:
                    continue
                params = sample.value(op.input_shape, "", []) if op.input_shape else {}
                req = serializer.serialize_to_request(copy.deepcopy(params or {}), op)
                got = self.probe.ask(to_probe_request(service, req))
                checked += 1
                where = "%s/%s %s" % (service, protocol, op_name)
                if "error" in got:
                    failures.append("%s: %s" % (where, got["error"]))
                    continue
                if got["operation"] != op_name:
                    failures.append("%s: routed to %s" % (where, got["operation"]))
                    continue
                want = neutral(params or {})
                # A streaming payload (S3 PutObject/UploadPart Body) is left in
                # the request for the handler to read, not put in the input.
                payload = op.input_shape.serialization.get("payload") if op.input_shape else None
                if payload and op.input_shape.members[payload].serialization.get("streaming"):
                    want.pop(payload, None)
                if got["input"] != want:
                    failures.append("%s:\n  want %s\n  got  %s" % (
                        where, json.dumps(want, sort_keys=True)[:1500],
                        json.dumps(got["input"], sort_keys=True)[:1500]))
        self.assertGreater(checked, 240)
        self.assertEqual(failures, [], "\n%d of %d operations differ:\n%s" % (
            len(failures), checked, "\n".join(failures[:25])))

    def test_responses_parse_back_in_botocore(self):
        failures, checked = [], 0
        for service, protocol, model in self.models():
            sample = Sample(lambda s: not skip_member(s))
            parser = botocore.parsers.create_parser(protocol)
            for op_name in model.operation_names:
                op = model.operation_model(op_name)
                if not op.output_shape or op.has_event_stream_output or op.deprecated:
                    continue
                output = sample.value(op.output_shape, "", []) or {}
                got = self.probe.ask({"serialize": {"service": service, "protocol": protocol,
                                                    "operation": op_name,
                                                    "output": neutral(output)}})
                checked += 1
                where = "%s/%s %s" % (service, protocol, op_name)
                if "error" in got:
                    failures.append("%s: %s" % (where, got["error"]))
                    continue
                headers = botocore.awsrequest.HeadersDict(got["headers"])
                body = base64.b64decode(got["body_b64"])
                try:
                    parsed = parser.parse({"status_code": got["status"], "headers": headers,
                                           "body": body}, op.output_shape)
                except Exception as e:  # a parse failure is a conformance failure
                    failures.append("%s: botocore cannot parse: %r\n  body %s" % (
                        where, e, body[:300]))
                    continue
                # botocore hands a blob payload over as the raw body it was given.
                payload = op.output_shape.serialization.get("payload")
                if payload and isinstance(parsed.get(payload), str) and \
                        op.output_shape.members[payload].type_name == "blob":
                    parsed[payload] = parsed[payload].encode("latin-1")
                parsed = normalize_parsed(parsed)
                want = neutral(output)
                if parsed != want:
                    failures.append("%s:\n  want %s\n  got  %s\n  body %s" % (
                        where, json.dumps(want, sort_keys=True)[:1200],
                        json.dumps(parsed, sort_keys=True, default=str)[:1200], body[:400]))
        self.assertEqual(failures, [], "\n%d of %d operations differ:\n%s" % (
            len(failures), checked, "\n".join(failures[:25])))
        self.assertGreater(checked, 180)

    def test_modelled_errors_reach_botocore_with_their_code(self):
        failures, checked = [], 0
        for service, protocol, model in self.models():
            parser = botocore.parsers.create_parser(protocol)
            for shape_name in model.shape_names:
                shape = model.shape_for(shape_name)
                if not shape.metadata.get("exception"):
                    continue
                got = self.probe.ask({"error": {"service": service, "protocol": protocol,
                                                "code": shape_name, "message": "it <broke>",
                                                "status": 0}})
                checked += 1
                want_status = shape.metadata.get("error", {}).get("httpStatusCode", 400)
                # The embedded model's overlay (gen_models.py) follows AWS's newer
                # models where Debian's botocore is older: its status counts.
                raw = self.overlaid(service)["shapes"].get(shape_name, {})
                want_status = raw.get("error", {}).get("httpStatusCode", want_status)
                want_code = shape_name
                # Query models served over JSON (SQS) send the query code in
                # x-amzn-query-error, which botocore prefers.
                if protocol == "query" or model.metadata.get("awsQueryCompatible") is not None \
                        or service == "sqs":
                    want_code = shape.metadata.get("error", {}).get("code", shape_name)
                parsed = parser.parse({"status_code": got["status"],
                                       "headers": botocore.awsrequest.HeadersDict(got["headers"]),
                                       "body": base64.b64decode(got["body_b64"])}, None)
                error = parsed.get("Error", {})
                if (got["status"] != want_status or error.get("Code") != want_code or
                        error.get("Message") != "it <broke>"):
                    failures.append("%s/%s %s: status %d code %r message %r" % (
                        service, protocol, shape_name, got["status"], error.get("Code"),
                        error.get("Message")))
        self.assertGreater(checked, 50)
        self.assertEqual(failures, [], "\n".join(failures[:25]))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
