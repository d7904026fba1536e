#!/usr/bin/python3
"""End-to-end InvokeWithResponseStream with boto3 against `airgap emulator`:
a function whose runtime streams its response (the test image's runtime
client streams generator handlers: Lambda-Runtime-Function-Response-Mode:
streaming, chunked, error trailers) reaches the caller chunk by chunk — the
first PayloadChunk arrives while the function is still running — then
InvokeComplete; an error mid-stream, a timeout mid-stream and LogType=Tail
end it with ErrorCode/ErrorDetails/LogResult; a caller that walks away
mid-stream leaves the function and the emulator serving. A function URL with
InvokeMode RESPONSE_STREAM relays the same stream to a plain HTTP client as
it is written (the prelude of application/vnd.awslambda.http-integration-
response giving status, headers and cookies), and cuts it on an error.

Debian's boto3 predates InvokeWithResponseStream, so the test hands botocore
Debian's Lambda model with the operation added the way the emulator's own
model build adds it (emulator/protocol/models/gen_models.py's overlay):
the client code, its event-stream parser and HTTP/1.1 stack are boto3's."""

import base64
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import unittest
import warnings

import boto3
import botocore
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_support import (ROLE, SOURCE, Emulator, docker_available,  # noqa: E402
                            lambda_containers, lambda_model_dir, make_zip)

PY = '''
import time

def stream(event, context):
    yield b"first;"
    time.sleep(event.get("pause", 2))
    yield b"second;"
    if event.get("fail"):
        raise ValueError("broke mid-stream")
    yield "third"

def big(event, context):
    for i in range(event["n"]):
        yield bytes([65 + i % 26]) * 65536
'''

# A function URL's streamed response. AWS's streaming runtimes send the
# response's Content-Type (awslambda.HttpResponseStream.from sets
# application/vnd.awslambda.http-integration-response); the test image's
# runtime client sends none, so this module adds the one the function's
# STREAM_CONTENT_TYPE names to the streamed POST's head.
URL_PY = '''
import http.client
import json
import os
import time

_put = http.client.HTTPConnection.putheader


def _putheader(self, header, *values):
    _put(self, header, *values)
    if header == "Lambda-Runtime-Function-Response-Mode" and os.environ.get("STREAM_CONTENT_TYPE"):
        _put(self, "Content-Type", os.environ["STREAM_CONTENT_TYPE"])


http.client.HTTPConnection.putheader = _putheader


def url(event, context):
    if os.environ.get("STREAM_CONTENT_TYPE", "").endswith("http-integration-response"):
        prelude = {"statusCode": 201, "cookies": ["a=1"],
                   "headers": {"Content-Type": "text/plain", "X-Custom": "yes"}}
        head = json.dumps(prelude).encode() + bytes(8)
        if os.environ.get("SPLIT"):  # the prelude over three writes, the body in the last
            yield head[:10]
            yield head[10:-3]
            yield head[-3:] + b"first;"
        else:
            yield head
            yield b"first;"
    else:
        yield b"first;"
    time.sleep(2)
    yield b"second;"
    if event["rawPath"] == "/fail":
        raise ValueError("broke mid-stream")
    yield b"third"
'''


# An image of its own (tests/images/lambda-python-stream.recipe): the shared
# airgap-test/lambda-python may be rebuilt meanwhile from another checkout.
MAPPING = json.dumps({"python3.12": "airgap-test/lambda-python-stream"})


def build_images():
    script = os.path.join(SOURCE, "tests", "images", "build")
    out = subprocess.run([script, "busybox", "python", "lambda-python-stream"],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
    return out.returncode == 0



class Stream(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        if not docker_available() or not build_images():
            raise unittest.SkipTest("no Docker engine or test images")
        cls.models = lambda_model_dir()
        session = boto3.session.Session()
        session._session.get_component("data_loader").search_paths.insert(0, cls.models)
        cls.emu = Emulator(extra_env={"LAMBDA_RUNTIME_IMAGE_MAPPING": MAPPING})
        cls.lam = session.client(
            "lambda", endpoint_url=cls.emu.endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=60))
        for name, handler, timeout in (("streamer", "app.stream", 20), ("big", "app.big", 20),
                                       ("short", "app.stream", 2)):
            cls.lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                                    Handler=handler, Timeout=timeout,
                                    Code={"ZipFile": make_zip({"app.py": PY})})
        cls.urls = {}
        for name, ctype, mode in (
                ("url-prelude", "application/vnd.awslambda.http-integration-response",
                 "RESPONSE_STREAM"),
                ("url-split", "application/vnd.awslambda.http-integration-response",
                 "RESPONSE_STREAM"),
                ("url-plain", "text/csv", "RESPONSE_STREAM"), ("url-buffered", "", "BUFFERED")):
            env = {"STREAM_CONTENT_TYPE": ctype}
            if name == "url-split":
                env["SPLIT"] = "1"
            cls.lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                                    Handler="urlapp.url", Timeout=20,
                                    Environment={"Variables": env},
                                    Code={"ZipFile": make_zip({"urlapp.py": URL_PY})})
            cls.urls[name] = cls.lam.create_function_url_config(
                FunctionName=name, AuthType="NONE", InvokeMode=mode)["FunctionUrl"]

    @classmethod
    def tearDownClass(cls):
        try:
            cls.emu.stop()
        finally:
            shutil.rmtree(cls.models, ignore_errors=True)
        if lambda_containers(cls.emu.proc.pid):
            raise AssertionError("function containers left behind")

    def invoke(self, name, event, **kw):
        return self.lam.invoke_with_response_stream(FunctionName=name,
                                                    Payload=json.dumps(event).encode(), **kw)

    def test_first_chunk_arrives_before_the_function_ends(self):
        self.invoke("streamer", {"pause": 0})  # a warm environment: no start in the timing
        start = time.monotonic()
        r = self.invoke("streamer", {"pause": 2})
        self.assertEqual(r["StatusCode"], 200)
        self.assertEqual(r["ExecutedVersion"], "$LATEST")
        self.assertEqual(r["ResponseStreamContentType"], "application/vnd.amazon.eventstream")
        seen = []
        for event in r["EventStream"]:
            seen.append((time.monotonic() - start, event))
        chunks = [(t, e["PayloadChunk"]["Payload"]) for t, e in seen if "PayloadChunk" in e]
        self.assertEqual(b"".join(c for _, c in chunks), b"first;second;third")
        first_at, first = chunks[0]
        self.assertEqual(first, b"first;")
        # The function sleeps 2 s after its first chunk: the chunk came before.
        self.assertLess(first_at + 1.0, seen[-1][0])
        self.assertGreaterEqual(seen[-1][0], 2.0)
        self.assertEqual(list(seen[-1][1]), ["InvokeComplete"])
        self.assertEqual(seen[-1][1]["InvokeComplete"], {})

    def test_error_mid_stream(self):
        r = self.invoke("streamer", {"pause": 0, "fail": True}, LogType="Tail")
        events = list(r["EventStream"])
        chunks = b"".join(e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e)
        self.assertEqual(chunks, b"first;second;")
        done = events[-1]["InvokeComplete"]
        self.assertEqual(done["ErrorCode"], "ValueError")
        self.assertEqual(done["ErrorDetails"], "broke mid-stream")
        log = base64.b64decode(done["LogResult"]).decode()
        self.assertIn("START RequestId:", log)
        self.assertIn("broke mid-stream", log)

    def test_timeout_mid_stream(self):
        r = self.invoke("short", {"pause": 5})
        events = list(r["EventStream"])
        chunks = b"".join(e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e)
        self.assertEqual(chunks, b"first;")
        done = events[-1]["InvokeComplete"]
        self.assertEqual(done["ErrorCode"], "Sandbox.Timedout")
        self.assertIn("Task timed out after 2.00 seconds", done["ErrorDetails"])

    def test_large_streamed_response(self):
        n = 160  # 10 MiB: past the 6 MB a buffered answer may have
        r = self.invoke("big", {"n": n})
        total = 0
        for event in r["EventStream"]:
            if "PayloadChunk" in event:
                total += len(event["PayloadChunk"]["Payload"])
            else:
                self.assertEqual(event["InvokeComplete"], {})
        self.assertEqual(total, n * 65536)

    def test_caller_that_walks_away(self):
        r = self.invoke("streamer", {"pause": 1})
        it = iter(r["EventStream"])
        self.assertEqual(next(it)["PayloadChunk"]["Payload"], b"first;")
        r["EventStream"].close()
        time.sleep(2)  # the function finishes into a closed connection
        r = self.invoke("streamer", {"pause": 0})
        chunks = b"".join(e["PayloadChunk"]["Payload"] for e in r["EventStream"]
                          if "PayloadChunk" in e)
        self.assertEqual(chunks, b"first;second;third")

    def url_stream(self, function, path="/"):
        """GET on the function's URL with a plain HTTP client: (status,
        headers, [(seconds since the request, bytes)], the error that cut
        the body or None)."""
        host = self.urls[function].split("//", 1)[1].rstrip("/")
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=60)
        start = time.monotonic()
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        pieces, error = [], None
        try:
            while True:
                data = resp.read1(65536)  # what has arrived, one chunk at most
                if not data:
                    break
                pieces.append((time.monotonic() - start, data))
        except (http.client.IncompleteRead, ConnectionError) as e:
            error = e
        conn.close()
        return resp.status, resp.headers, pieces, error

    def test_function_url_streams_as_the_function_writes(self):
        self.url_stream("url-prelude")  # a warm environment: no start in the timing
        status, headers, pieces, error = self.url_stream("url-prelude")
        self.assertIsNone(error)
        self.assertEqual(status, 201)
        self.assertEqual(headers["Content-Type"], "text/plain")
        self.assertEqual(headers["X-Custom"], "yes")
        self.assertEqual(headers.get_all("Set-Cookie"), ["a=1"])
        self.assertEqual(headers["Transfer-Encoding"], "chunked")
        self.assertEqual(b"".join(p for _, p in pieces), b"first;second;third")
        # The function sleeps 2 s after its first write: that write came before.
        first_at, first = pieces[0]
        self.assertEqual(first, b"first;")
        self.assertLess(first_at + 1.0, pieces[-1][0])
        self.assertGreaterEqual(pieces[-1][0], 2.0)

    def test_function_url_prelude_over_several_writes(self):
        status, headers, pieces, error = self.url_stream("url-split")
        self.assertIsNone(error)
        self.assertEqual(status, 201)
        self.assertEqual(headers["X-Custom"], "yes")
        self.assertEqual(b"".join(p for _, p in pieces), b"first;second;third")

    def test_function_url_stream_without_prelude(self):
        status, headers, pieces, error = self.url_stream("url-plain")
        self.assertIsNone(error)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/csv")
        self.assertEqual(b"".join(p for _, p in pieces), b"first;second;third")

    def test_function_url_stream_cut_by_an_error(self):
        status, _, pieces, error = self.url_stream("url-prelude", "/fail")
        self.assertEqual(status, 201)  # the head went with the prelude
        self.assertEqual(b"".join(p for _, p in pieces), b"first;second;")
        self.assertIsNotNone(error, "an error mid-stream must not end the body cleanly")

    def test_function_url_config_invoke_mode(self):
        c = self.lam.get_function_url_config(FunctionName="url-prelude")
        self.assertEqual(c["InvokeMode"], "RESPONSE_STREAM")
        self.assertEqual(self.lam.get_function_url_config(FunctionName="url-buffered")[
            "InvokeMode"], "BUFFERED")
        # BUFFERED: the same function answered after its end, as a whole.
        status, headers, pieces, error = self.url_stream("url-buffered")
        self.assertIsNone(error)
        self.assertEqual(status, 200)
        self.assertNotIn("Transfer-Encoding", headers)
        self.assertEqual(b"".join(p for _, p in pieces), b"first;second;third")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.lam.update_function_url_config(FunctionName="url-buffered",
                                                InvokeMode="STREAMING")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationException")

    def test_plain_invoke_of_a_streaming_function_is_buffered(self):
        r = self.lam.invoke(FunctionName="streamer", Payload=b'{"pause": 0}')
        self.assertEqual(r["Payload"].read(), b"first;second;third")


class StopMidStream(unittest.TestCase):
    def test_emulator_stops_with_a_stream_open(self):
        if not docker_available() or not build_images():
            self.skipTest("no Docker engine or test images")
        models = lambda_model_dir()
        emu = Emulator(extra_env={"LAMBDA_RUNTIME_IMAGE_MAPPING": MAPPING})
        try:
            session = boto3.session.Session()
            session._session.get_component("data_loader").search_paths.insert(0, models)
            lam = session.client(
                "lambda", endpoint_url=emu.endpoint, region_name="us-east-1",
                aws_access_key_id="test", aws_secret_access_key="test",
                config=Config(retries={"total_max_attempts": 1}, read_timeout=60))
            lam.create_function(FunctionName="s", Runtime="python3.12", Role=ROLE,
                                Handler="app.stream", Timeout=30,
                                Code={"ZipFile": make_zip({"app.py": PY})})
            r = lam.invoke_with_response_stream(FunctionName="s", Payload=b'{"pause": 20}')
            it = iter(r["EventStream"])
            self.assertEqual(next(it)["PayloadChunk"]["Payload"], b"first;")
            start = time.monotonic()
            emu.stop()  # a clean exit (status 0: no leak, no sanitizer report)
            self.assertLess(time.monotonic() - start, 15)
            # The stream was cut, not completed: no InvokeComplete.
            rest = []
            try:
                rest = list(it)
            except Exception:  # noqa: BLE001 - a cut stream may also raise
                pass
            self.assertFalse(any("InvokeComplete" in e for e in rest), rest)
        finally:
            emu.stop()
            shutil.rmtree(models, ignore_errors=True)
        self.assertEqual(lambda_containers(emu.proc.pid), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
