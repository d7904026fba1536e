#!/usr/bin/python3
"""A Lambda runtime client for Python, written for airgap's test image
(airgap-test/lambda-python): it speaks the Lambda Runtime API the way AWS's
awslambdaric does, so the emulator is tested against the protocol and not
against a client of its own making.

  GET  /2018-06-01/runtime/invocation/next        (waits, no timeout)
  POST /2018-06-01/runtime/invocation/<id>/response
  POST /2018-06-01/runtime/invocation/<id>/error   {errorMessage, errorType, stackTrace}
  POST /2018-06-01/runtime/init/error              when the handler cannot be loaded

A handler that is a generator function streams its response, as AWS's
streaming runtimes do: Lambda-Runtime-Function-Response-Mode: streaming, a
chunked body with each yielded bytes (or str) object sent as it is yielded,
and an exception raised mid-stream reported in the trailers
Lambda-Runtime-Function-Error-Type and Lambda-Runtime-Function-Error-Body
(the error's JSON, base64).

The handler ("module.function", from the argument or _HANDLER) is imported
from LAMBDA_TASK_ROOT (then /opt/python for layers) and called with the event
and a context object carrying AWS's attributes."""

import base64
import http.client
import importlib
import inspect
import json
import os
import socket
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
PREFIX = "/2018-06-01/runtime"


_conn = None


def request(method, path, body=None, headers=None):
    """One request on a kept-alive connection with TCP_NODELAY: http.client
    writes a request's head and body separately, and Nagle's algorithm would
    then hold the body until the server's delayed ACK (40 ms a call)."""
    global _conn
    for attempt in (0, 1):
        if _conn is None:
            host, _, port = API.partition(":")
            _conn = http.client.HTTPConnection(host, int(port or 80), timeout=None)
            _conn.connect()
            _conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            _conn.request(method, PREFIX + path, body=body, headers=headers or {})
            resp = _conn.getresponse()
            data = resp.read()
            return resp.status, dict(resp.getheaders()), data
        except (ConnectionError, http.client.HTTPException):
            _conn.close()
            _conn = None
            if attempt:
                raise


def stream_response(request_id, chunks):
    """POST /response with a chunked body written as the generator yields;
    an exception it raises goes into the trailers."""
    global _conn
    if _conn is None:
        host, _, port = API.partition(":")
        _conn = http.client.HTTPConnection(host, int(port or 80), timeout=None)
        _conn.connect()
        _conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _conn.putrequest("POST", PREFIX + "/invocation/%s/response" % request_id)
    _conn.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
    _conn.putheader("Transfer-Encoding", "chunked")
    _conn.putheader("Trailer",
                    "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body")
    _conn.endheaders()
    trailers = b""
    try:
        for chunk in chunks:
            if isinstance(chunk, str):
                chunk = chunk.encode()
            if chunk:
                _conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except Exception as exc:  # noqa: BLE001 - the function's error goes to the caller
        print("[ERROR] %s: %s" % (type(exc).__name__, exc), flush=True)
        trailers = (b"Lambda-Runtime-Function-Error-Type: %s\r\n"
                    b"Lambda-Runtime-Function-Error-Body: %s\r\n") % (
                        type(exc).__name__.encode(), base64.b64encode(error_body(exc)))
    _conn.send(b"0\r\n" + trailers + b"\r\n")
    resp = _conn.getresponse()
    resp.read()


def error_body(exc, error_type=None):
    return json.dumps({
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__)[1:],
    }).encode()


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        cc = headers.get("Lambda-Runtime-Client-Context")
        self.client_context = json.loads(cc) if cc else None
        ci = headers.get("Lambda-Runtime-Cognito-Identity")
        self.identity = json.loads(ci) if ci else None

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def load(handler):
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise ValueError("Bad handler '%s': not enough values to unpack" % handler)
    for path in (os.environ.get("LAMBDA_TASK_ROOT", "/var/task"), "/opt/python"):
        if path not in sys.path:
            sys.path.insert(0 if path.startswith("/var/task") else len(sys.path), path)
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:  # noqa: BLE001 - reported to the Runtime API as AWS's client does
        raise InitError("Runtime.ImportModuleError",
                        "Unable to import module '%s': %s" % (module_name, exc)) from exc
    fn = getattr(module, function_name, None)
    if fn is None:
        raise InitError("Runtime.HandlerNotFound",
                        "Handler '%s' missing on module '%s'" % (function_name, module_name))
    return fn


class InitError(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


def main():
    handler = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("_HANDLER", "")
    try:
        fn = load(handler)
    except InitError as exc:
        print("[ERROR] %s: %s" % (exc.error_type, exc), flush=True)
        request("POST", "/init/error", error_body(exc, exc.error_type),
                {"Lambda-Runtime-Function-Error-Type": exc.error_type})
        sys.exit(1)
    while True:
        status, headers, body = request("GET", "/invocation/next")
        if status != 200:
            sys.exit(0)  # the emulator retired this environment
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        os.environ["_X_AMZN_TRACE_ID"] = headers.get("Lambda-Runtime-Trace-Id", "")
        try:
            event = json.loads(body) if body else {}
            if inspect.isgeneratorfunction(fn):
                sys.stdout.flush()
                stream_response(request_id, fn(event, Context(headers)))
                continue
            result = fn(event, Context(headers))
            out = json.dumps(result).encode()
        except Exception as exc:  # noqa: BLE001 - the function's error goes to the caller
            print("[ERROR] %s: %s" % (type(exc).__name__, exc), flush=True)
            request("POST", "/invocation/%s/error" % request_id, error_body(exc),
                    {"Lambda-Runtime-Function-Error-Type": "Unhandled"})
            continue
        sys.stdout.flush()
        request("POST", "/invocation/%s/response" % request_id, out)


if __name__ == "__main__":
    main()
