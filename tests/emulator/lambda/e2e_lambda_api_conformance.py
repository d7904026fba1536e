#!/usr/bin/python3
"""Lambda's control plane against answers recorded from AWS itself.

Each expectation below is an answer AWS gave (error code, exact message,
HTTP status, or the fields of a reply), as LocalStack's AWS-validated
snapshots of its Lambda API tests record them
(tests/aws/services/lambda_/test_lambda_api.snapshot.json in
localstack/localstack); the account and region are ours. The requests are
made with Debian's boto3 (parameter validation off where AWS's own
validation is what is checked) against `airgap emulator` with no Docker
engine: the control plane must not need one.

Every expectation is counted; the run prints "N passed, N failed" and lists
each difference, so one run shows all of them rather than the first."""

import io
import json
import os
import re
import shutil
import sys
import unittest
import warnings
import zipfile

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_support import ROLE, Emulator, lambda_model_dir, make_zip  # noqa: E402

ACCOUNT = "000000000000"
REGION = "us-east-1"
CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})
PRECONDITION = ("The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id")
DERIVED = "The derived qualifier from the function name does not match the specified qualifier."
NO_RESOURCE = "The resource you requested does not exist."
URL_QUALIFIER = ("1 validation error detected: Value '%s' at 'qualifier' failed to satisfy "
                 "constraint: Member must satisfy regular expression pattern: "
                 "((?!^\\d+$)^[0-9a-zA-Z-_]+$)")



def arn(name, qualifier=None, region=REGION):
    base = "arn:aws:lambda:%s:%s:function:%s" % (region, ACCOUNT, name)
    return base + ":" + qualifier if qualifier else base


class Conformance(unittest.TestCase):
    checked = 0
    differences = []
    known = []  # same code and status, AWS's words not (yet) ours: listed, not failed

    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.models = lambda_model_dir()
        cls.emu = Emulator(extra_env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
        session = boto3.session.Session()
        session._session.get_component("data_loader").search_paths.insert(0, cls.models)
        cls.lam = session.client(
            "lambda", endpoint_url=cls.emu.endpoint, region_name=REGION,
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}, parameter_validation=False))

    @classmethod
    def tearDownClass(cls):
        try:
            cls.emu.stop()
        finally:
            shutil.rmtree(cls.models, ignore_errors=True)
            failed = len(cls.differences)
            for d in cls.differences:
                sys.stderr.write("DIFFERS: %s\n" % d)
            for d in cls.known:
                sys.stderr.write("KNOWN: %s\n" % d)
            sys.stderr.write("conformance: %d expectations checked\n" % cls.checked)
            print("%d passed, %d failed" % (cls.checked - failed, failed))

    # ---- recording ----

    def expect_error(self, label, call, code, message, status, known=None, **kwargs):
        """message: the exact text, or a compiled regex. known: why only the
        message may differ (the code and status must still be AWS's)."""
        Conformance.checked += 1
        try:
            call(**kwargs)
        except ClientError as e:
            r = e.response
            got = (r["Error"]["Code"], r["Error"].get("Message", ""),
                   r["ResponseMetadata"]["HTTPStatusCode"])
            ok_msg = (message.fullmatch(got[1]) is not None) if isinstance(message, re.Pattern) \
                else got[1] == message
            if got[0] == code and ok_msg and got[2] == status:
                return
            if known and got[0] == code and got[2] == status:
                self.known.append("%s: %r (%s)" % (label, got[1][:200], known))
                return
            want = getattr(message, "pattern", message)
            self.differences.append("%s: want %s %r %d, got %s %r %d" % (
                label, code, want[:400], status, got[0], got[1][:400], got[2]))
            return
        except ParamValidationError as e:
            self.differences.append("%s: botocore refused the request: %s" % (label, e))
            return
        except botocore.exceptions.BotoCoreError as e:  # the emulator went away
            self.differences.append("%s: no answer: %s" % (label, e))
            return
        self.differences.append("%s: want %s, the call succeeded" % (label, code))

    def expect(self, label, condition, detail=""):
        Conformance.checked += 1
        if not condition:
            self.differences.append("%s %s" % (label, detail))

    def create(self, name, **kw):
        args = dict(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                    Code={"ZipFile": CODE})
        args.update(kw)
        return self.lam.create_function(**args)

    def test_all(self):
        lam = self.lam
        self.create("conf")
        v1 = lam.publish_version(FunctionName="conf")
        self.expect("publish_version status", v1["ResponseMetadata"]["HTTPStatusCode"] == 201)
        # An unchanged function publishes no new version: change it first.
        lam.update_function_configuration(FunctionName="conf", Description="second")
        lam.publish_version(FunctionName="conf")  # version 2
        lam.create_alias(FunctionName="conf", Name="al1", FunctionVersion="1")
        self.functions(lam)
        self.versions_and_aliases(lam)
        self.tags(lam)
        self.event_invoke_configs(lam)
        self.concurrency(lam)
        self.permissions(lam)
        self.urls(lam)
        self.layers(lam)
        self.mappings_and_images(lam)
        self.assertEqual(self.differences, [], "\n".join(self.differences))

    # ---- functions ----

    def functions(self, lam):
        e = self.expect_error
        missing = "Function not found: " + arn("nonexist")
        for op in ("get_function", "get_function_configuration", "delete_function",
                   "get_function_concurrency"):
            e(op + " missing", getattr(lam, op), "ResourceNotFoundException", missing, 404,
              FunctionName="nonexist")
        e("get_function_url_config missing", lam.get_function_url_config,
          "ResourceNotFoundException", NO_RESOURCE, 404, FunctionName="nonexist")
        e("get_function_event_invoke_config missing", lam.get_function_event_invoke_config,
          "ResourceNotFoundException",
          "The function %s doesn't have an EventInvokeConfig" % arn("nonexist", "$LATEST"), 404,
          FunctionName="nonexist")
        # A qualified name whose qualifier disagrees with Qualifier.
        for op in ("get_function", "get_function_configuration", "delete_function"):
            e(op + " qualifier mismatch", getattr(lam, op), "InvalidParameterValueException",
              DERIVED, 400, FunctionName=arn("some-function", "1"), Qualifier="$LATEST")
        for op in ("get_function", "get_function_configuration"):
            e(op + " qualifier match", getattr(lam, op), "ResourceNotFoundException",
              "Function not found: " + arn("some-function", "$LATEST"), 404,
              FunctionName=arn("some-function", "$LATEST"), Qualifier="$LATEST")
        e("delete_function $LATEST", lam.delete_function, "InvalidParameterValueException",
          "$LATEST version cannot be deleted without deleting the function.", 400,
          FunctionName=arn("conf", "$LATEST"), Qualifier="$LATEST")
        for op in ("get_function", "get_function_configuration"):
            e(op + " missing version", getattr(lam, op), "ResourceNotFoundException",
              "Function not found: " + arn("conf", "1221"), 404, FunctionName="conf",
              Qualifier="1221")
        e("get_function_event_invoke_config missing version",
          lam.get_function_event_invoke_config, "ResourceNotFoundException",
          "The function %s doesn't have an EventInvokeConfig" % arn("conf", "1221"), 404,
          FunctionName="conf", Qualifier="1221")
        e("delete_function missing with qualifier", lam.delete_function,
          "ResourceNotFoundException", "Function not found: " + arn("nonexist"), 404,
          FunctionName="nonexist", Qualifier="1")
        e("get_function alias missing", lam.get_function, "ResourceNotFoundException",
          "Function not found: " + arn("conf", "aliasdoesnotexist"), 404, FunctionName="conf",
          Qualifier="aliasdoesnotexist")
        # A function ARN of another region.
        wrong = "Functions from 'us-west-2' are not reachable in this region ('us-east-1')"
        other = arn("conf", region="us-west-2")
        for op in ("get_function", "get_function_configuration", "get_function_url_config",
                   "get_function_event_invoke_config", "get_function_concurrency",
                   "delete_function"):
            e(op + " wrong region", getattr(lam, op), "ResourceNotFoundException", wrong, 404,
              FunctionName=other)
        e("invoke wrong region", lam.invoke, "ResourceNotFoundException", wrong, 404,
          FunctionName=other, Payload=b"{}")
        # Validation of CreateFunction and UpdateFunctionConfiguration.
        role = ("1 validation error detected: Value 'r1' at 'role' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: "
                "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+")
        runtime = re.compile(
            r"Value (non-existent-runtime|PYTHON3\.9) at 'runtime' failed to satisfy constraint: "
            r"Member must satisfy enum value set: \[[a-z0-9., ]+\] or be a valid ARN")
        e("create invalid role", self.create, "ValidationException", role, 400,
          name="c-role", Role="r1")
        e("create invalid runtime", self.create, "InvalidParameterValueException", runtime, 400,
          name="c-rt", Runtime="non-existent-runtime")
        e("create uppercase runtime", self.create, "InvalidParameterValueException", runtime,
          400, name="c-rt", Runtime="PYTHON3.9")
        e("create two architectures", self.create, "ValidationException",
          "1 validation error detected: Value '[x86_64, arm64]' at 'architectures' failed to "
          "satisfy constraint: Member must have length less than or equal to 1", 400,
          name="c-arch", Architectures=["x86_64", "arm64"])
        e("create uppercase architecture", self.create, "ValidationException",
          "1 validation error detected: Value '[X86_64]' at 'architectures' failed to satisfy "
          "constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
          "[x86_64, arm64], Member must not be null]", 400,
          name="c-arch", Architectures=["X86_64"])
        e("create invalid zip", self.create, "InvalidParameterValueException",
          "Could not unzip uploaded file. Please check your file, then try to upload again.", 400,
          name="c-zip", Code={"ZipFile": b"this is not a zip"})
        e("update invalid role", lam.update_function_configuration, "ValidationException", role,
          400, FunctionName="conf", Role="r1")
        e("update invalid runtime", lam.update_function_configuration,
          "InvalidParameterValueException", runtime, 400, FunctionName="conf",
          Runtime="non-existent-runtime")
        e("list_functions invalid FunctionVersion", lam.list_functions, "ValidationException",
          "1 validation error detected: Value 'invalid' at 'functionVersion' failed to satisfy "
          "constraint: Member must satisfy enum value set: [ALL]", 400, FunctionVersion="invalid")
        big = {"LARGE_VAR": "x" * 4097}
        e("create environment past 4 KB", self.create, "InvalidParameterValueException",
          "Lambda was unable to configure your environment variables because the environment "
          "variables you have provided exceeded the 4KB limit. String measured: "
          + json.dumps(big, separators=(",", ":")), 400,
          name="c-env", Environment={"Variables": big})
        near = {"LARGE_VAR": "x" * 4080}
        r = self.create("c-env-ok", Environment={"Variables": near})
        self.expect("create environment near 4 KB", r["ResponseMetadata"]["HTTPStatusCode"] == 201)
        self.expect("create Pending", r.get("State") == "Pending" and
                    r.get("StateReasonCode") == "Creating" and
                    r.get("StateReason") == "The function is being created.", repr(r.get("State")))
        # Past 250 MB unzipped (zeros deflate to about a thousandth).
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            with z.open("big.bin", "w", force_zip64=True) as f:
                chunk = b"\0" * (1 << 20)
                for _ in range(251):
                    f.write(chunk)
            z.writestr("app.py", "def handler(e, c):\n    return e\n")
        e("create unzipped past 250 MB", self.create, "InvalidParameterValueException",
          "Unzipped size must be smaller than 262144000 bytes", 400, name="c-big",
          Code={"ZipFile": buf.getvalue()})
        e("update_function_configuration wrong revision", lam.update_function_configuration,
          "PreconditionFailedException", PRECONDITION, 412, FunctionName="conf",
          Description="x", RevisionId="wrong")
        e("update_function_code wrong revision", lam.update_function_code,
          "PreconditionFailedException", PRECONDITION, 412, FunctionName="conf",
          ZipFile=CODE, RevisionId="wrong")

    # ---- versions and aliases ----

    def versions_and_aliases(self, lam):
        e = self.expect_error
        e("publish_version wrong revision", lam.publish_version, "PreconditionFailedException",
          PRECONDITION, 412, FunctionName="conf", RevisionId="wrong")
        sha = lam.get_function_configuration(FunctionName="conf")["CodeSha256"]
        e("publish_version wrong sha", lam.publish_version, "InvalidParameterValueException",
          "CodeSHA256 (somenonexistentsha256) is different from current CodeSHA256 in $LATEST "
          "(%s). Please try again with the CodeSHA256 in $LATEST." % sha, 400,
          FunctionName="conf", CodeSha256="somenonexistentsha256")
        r = lam.publish_version(FunctionName="conf")
        self.expect("repeated publish returns the last version", r["Version"] == "2", r["Version"])
        ca = lam.create_alias
        e("alias two weights", ca, "InvalidParameterValueException",
          "Number of items in AdditionalVersionWeights cannot be greater than 1", 400,
          FunctionName="conf", Name="a", FunctionVersion="1",
          RoutingConfig={"AdditionalVersionWeights": {"2": 0.5, "3": 0.5}})
        for w, text in ((2.0, "2.0"), (-1.0, "-1.0")):
            e("alias weight %s" % text, ca, "ValidationException",
              "1 validation error detected: Value '{2=%s}' at "
              "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value "
              "must satisfy constraint: [Member must have value less than or equal to 1.0, "
              "Member must have value greater than or equal to 0.0, Member must not be null]"
              % text, 400, FunctionName="conf", Name="a", FunctionVersion="1",
              RoutingConfig={"AdditionalVersionWeights": {"2": w}})
        e("alias weight on its own version", ca, "InvalidParameterValueException",
          "Invalid function version 1. Function version 1 is already included in routing "
          "configuration.", 400, FunctionName="conf", Name="a", FunctionVersion="1",
          RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}})
        e("alias missing version", ca, "ResourceNotFoundException",
          "Function not found: " + arn("conf", "10"), 404, FunctionName="conf", Name="a",
          FunctionVersion="10")
        e("alias weight on missing version", ca, "ResourceNotFoundException",
          "Function not found: " + arn("conf", "10"), 404, FunctionName="conf", Name="a",
          FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"10": 0.5}})
        e("alias $LATEST with weights", ca, "InvalidParameterValueException",
          "$LATEST is not supported for an alias pointing to more than 1 version", 400,
          FunctionName="conf", Name="a", FunctionVersion="$LATEST",
          RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
        e("alias weight key $LATEST", ca, "ValidationException",
          "1 validation error detected: Value '{$LATEST=0.5}' at "
          "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must "
          "satisfy constraint: [Member must have length less than or equal to 1024, Member must "
          "have length greater than or equal to 1, Member must satisfy regular expression "
          "pattern: [0-9]+, Member must not be null]", 400, FunctionName="conf", Name="a",
          FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"$LATEST": 0.5}})
        e("alias on missing function", ca, "ResourceNotFoundException",
          "Function not found: " + arn("conf-unknown", "1"), 404, FunctionName="conf-unknown",
          Name="a", FunctionVersion="1")
        e("alias exists", ca, "ResourceConflictException",
          "Alias already exists: " + arn("conf", "al1"), 409, FunctionName="conf", Name="al1",
          FunctionVersion="1")
        e("get_alias missing", lam.get_alias, "ResourceNotFoundException",
          "Cannot find alias arn: " + arn("conf", "non-existent"), 404, FunctionName="conf",
          Name="non-existent")
        r = lam.create_alias(FunctionName="conf", Name="latest", FunctionVersion="$LATEST")
        self.expect("alias on $LATEST", r["ResponseMetadata"]["HTTPStatusCode"] == 201)
        r = lam.create_alias(FunctionName="conf", Name="empty-rc", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {}})
        self.expect("alias with empty routing config has none", "RoutingConfig" not in r, repr(r))
        rev = lam.get_alias(FunctionName="conf", Name="al1")["RevisionId"]
        e("update_alias wrong revision", lam.update_alias, "PreconditionFailedException",
          PRECONDITION, 412, FunctionName="conf", Name="al1", RevisionId=rev + "x")

    # ---- tags ----

    def tags(self, lam):
        e = self.expect_error
        # The pattern AWS quotes grew with the resources it tags (event source
        # mappings, code signing configs, 2024): the recorded prefix is checked.
        e("tag invalid ARN", lam.tag_resource, "ValidationException",
          re.compile(re.escape(
              "1 validation error detected: Value 'arn:aws:something' at 'resource' failed to "
              "satisfy constraint: Member must satisfy regular expression pattern: "
              "arn:(aws[a-zA-Z-]*)") + r".*:lambda:\[a-z\]\{2\}.*function:.*layer:.*"), 400,
          Resource="arn:aws:something", Tags={"a": "b"})
        e("tag missing function", lam.tag_resource, "ResourceNotFoundException",
          "Function not found: " + arn("doesnotexist"), 404, Resource=arn("doesnotexist"),
          Tags={"a": "b"})
        for q in ("1", "$LATEST", "doesnotexist"):
            e("tag qualified " + q, lam.tag_resource, "InvalidParameterValueException",
              "Tags on function aliases and versions are not supported. Please specify a "
              "function ARN.", 400, Resource=arn("conf", q), Tags={"a": "b"})
        e("untag no keys", lam.untag_resource, "ValidationException",
          "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: "
          "Member must not be null", 400, Resource=arn("conf"), TagKeys=[],
          known="the protocol layer words every missing required member its own way")
        e("tag no tags", lam.tag_resource, "InvalidParameterValueException",
          "An error occurred and the request cannot be processed.", 400, Resource=arn("conf"),
          Tags={})
        e("tag past 50", lam.tag_resource, "InvalidParameterValueException",
          "Number of tags exceeds resource tag limit.", 400, Resource=arn("conf"),
          Tags={"%d_key" % i: "%d_value" % i for i in range(51)})
        lam.tag_resource(Resource=arn("conf"), Tags={"%d_key" % i: "v" for i in range(50)})
        e("tag one more past 50", lam.tag_resource, "InvalidParameterValueException",
          "Number of tags exceeds resource tag limit.", 400, Resource=arn("conf"),
          Tags={"extra": "x"})
        r = lam.untag_resource(Resource=arn("conf"), TagKeys=["nomatch"])
        self.expect("untag no match", r["ResponseMetadata"]["HTTPStatusCode"] == 204)
        e("list_tags missing", lam.list_tags, "ResourceNotFoundException",
          "Function not found: " + arn("doesnotexist"), 404, Resource=arn("doesnotexist"))

    # ---- event invoke configs ----

    def event_invoke_configs(self, lam):
        e = self.expect_error
        put = lam.put_function_event_invoke_config
        gone = "The function doesn't exist."
        e("eic put missing name", put, "ResourceNotFoundException", gone, 404,
          FunctionName="doesnotexist", MaximumRetryAttempts=1)
        e("eic put missing arn", put, "ResourceNotFoundException", gone, 404,
          FunctionName=arn("doesnotexist"), MaximumRetryAttempts=1)
        e("eic put nothing", put, "InvalidParameterValueException",
          "You must specify at least one of error handling or destination setting.", 400,
          FunctionName="conf")
        e("eic destination missing", put, "InvalidParameterValueException",
          "The destination ARN %s is invalid." % arn("doesnotexist"), 400, FunctionName="conf",
          DestinationConfig={"OnSuccess": {"Destination": arn("doesnotexist")}})
        e("eic destination itself", put, "InvalidParameterValueException",
          "You can't specify the function as a destination for itself.", 400,
          FunctionName="conf", DestinationConfig={"OnSuccess": {"Destination": arn("conf")}})
        bad = "arn:aws:iam:%s:%s:function:conf" % (REGION, ACCOUNT)
        e("eic destination other service", put, "InvalidParameterValueException",
          "The provided destination config DestinationConfig(onSuccess=OnSuccess(destination="
          "%s), onFailure=null) is invalid." % bad, 400, FunctionName="conf",
          DestinationConfig={"OnSuccess": {"Destination": bad}})
        pattern = "arn:aws:_-/!lambda:%s:%s:function:conf" % (REGION, ACCOUNT)
        e("eic destination pattern", put, "ValidationException",
          "1 validation error detected: Value '%s' at 'destinationConfig.onFailure.destination' "
          "failed to satisfy constraint: Member must satisfy regular expression pattern: "
          "^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-"
          "\\d{1})?:(\\d{12})?:(.*)" % pattern, 400, FunctionName="conf",
          DestinationConfig={"OnFailure": {"Destination": pattern}})
        r = put(FunctionName="conf", MaximumRetryAttempts=1)
        self.expect("eic put shape", r.get("DestinationConfig") == {"OnFailure": {},
                                                                    "OnSuccess": {}} and
                    r.get("FunctionArn") == arn("conf", "$LATEST"), repr(r))
        e("eic alias missing", put, "ResourceNotFoundException", gone, 404,
          FunctionName="conf", Qualifier="doesnotexist", MaximumRetryAttempts=1)
        e("eic qualifier conflict", put, "InvalidParameterValueException", DERIVED, 400,
          FunctionName=arn("conf", "al1"), Qualifier="1", MaximumRetryAttempts=1)
        e("eic shorthand conflict", put, "InvalidParameterValueException", DERIVED, 400,
          FunctionName="conf:al1", Qualifier="$LATEST", MaximumRetryAttempts=1)
        lam.delete_function_event_invoke_config(FunctionName="conf")
        e("eic delete missing", lam.delete_function_event_invoke_config,
          "ResourceNotFoundException",
          "The function %s doesn't have an EventInvokeConfig" % arn("conf", "$LATEST"), 404,
          FunctionName="conf")
        e("eic delete missing function", lam.delete_function_event_invoke_config,
          "ResourceNotFoundException",
          "The function %s doesn't have an EventInvokeConfig" % arn("doesnotexist", "$LATEST"),
          404, FunctionName="doesnotexist")
        e("eic list missing function", lam.list_function_event_invoke_configs,
          "ResourceNotFoundException", gone, 404, FunctionName="doesnotexist")
        e("eic get missing qualifier", lam.get_function_event_invoke_config,
          "ResourceNotFoundException",
          "The function %s doesn't have an EventInvokeConfig" % arn("conf", "doesnotexist"),
          404, FunctionName="conf", Qualifier="doesnotexist")
        e("eic update missing function", lam.update_function_event_invoke_config,
          "ResourceNotFoundException", gone, 404, FunctionName="doesnotexist",
          MaximumRetryAttempts=0)
        e("eic update missing config", lam.update_function_event_invoke_config,
          "ResourceNotFoundException",
          "The function %s doesn't have an EventInvokeConfig" % arn("conf", "al1"), 404,
          FunctionName="conf", Qualifier="al1", MaximumRetryAttempts=0)

    # ---- reserved concurrency ----

    def concurrency(self, lam):
        e = self.expect_error
        e("put concurrency missing", lam.put_function_concurrency, "ResourceNotFoundException",
          "Function not found: " + arn("doesnotexist", "$LATEST"), 404,
          FunctionName="doesnotexist", ReservedConcurrentExecutions=1)
        e("put concurrency qualified", lam.put_function_concurrency,
          "InvalidParameterValueException",
          "This operation is permitted on Lambda functions only. Aliases and versions do not "
          "support this operation. Please specify either a function name or an unqualified "
          "function ARN.", 400, FunctionName=arn("conf", "1"), ReservedConcurrentExecutions=1)
        r = lam.put_function_concurrency(FunctionName="conf", ReservedConcurrentExecutions=0)
        self.expect("put concurrency 0", r.get("ReservedConcurrentExecutions") == 0, repr(r))
        r = lam.delete_function_concurrency(FunctionName="conf")
        self.expect("delete concurrency 204", r["ResponseMetadata"]["HTTPStatusCode"] == 204)
        r = lam.get_function_concurrency(FunctionName="conf")
        self.expect("get concurrency after delete", "ReservedConcurrentExecutions" not in r,
                    repr(r))

    # ---- permissions ----

    def permissions(self, lam):
        e = self.expect_error
        add = lam.add_permission
        base = dict(FunctionName="conf", Action="lambda:InvokeFunction",
                    Principal="s3.amazonaws.com")
        e("permission invalid sid", add, "ValidationException",
          "1 validation error detected: Value 'example.com' at 'statementId' failed to satisfy "
          "constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)", 400,
          StatementId="example.com", **base)
        e("permission qualifier mismatch", add, "InvalidParameterValueException", DERIVED, 400,
          StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
          FunctionName=arn("conf", "al1"), Qualifier="1")
        e("permission $LATEST", add, "InvalidParameterValueException",
          "We currently do not support adding policies for $LATEST.", 400, StatementId="s3",
          Qualifier="$LATEST", **base)
        e("permission invalid principal", add, "InvalidParameterValueException",
          "The provided principal was invalid. Please check the principal and try again.", 400,
          StatementId="s3", FunctionName="conf", Action="lambda:InvokeFunction",
          Principal="invalid principal")
        e("get_policy missing function", lam.get_policy, "ResourceNotFoundException",
          "Function not found: " + arn("doesnotexist"), 404, FunctionName="doesnotexist")
        e("get_policy no policy on version", lam.get_policy, "ResourceNotFoundException",
          NO_RESOURCE, 404, FunctionName="conf", Qualifier="1")
        e("permission missing function", add, "ResourceNotFoundException",
          "Function not found: " + arn("doesnotexist"), 404, StatementId="s3",
          FunctionName="doesnotexist", Action="lambda:InvokeFunction",
          Principal="s3.amazonaws.com")
        e("remove_permission no policy", lam.remove_permission, "ResourceNotFoundException",
          "No policy is associated with the given resource.", 404, FunctionName="conf",
          StatementId="s3")
        e("permission missing alias", add, "ResourceNotFoundException",
          "Cannot find alias arn: " + arn("conf", "alias-doesnotexist"), 404, StatementId="s3",
          Qualifier="alias-doesnotexist", **base)
        e("permission missing version", add, "ResourceNotFoundException",
          "Function not found: " + arn("conf", "42"), 404, StatementId="s3", Qualifier="42",
          **base)
        e("permission invalid qualifier", add, "ValidationException",
          "1 validation error detected: Value 'invalid-qualifier-with-?-char' at 'qualifier' "
          "failed to satisfy constraint: Member must satisfy regular expression pattern: "
          "(|[a-zA-Z0-9$_-]+)", 400, StatementId="s3",
          Qualifier="invalid-qualifier-with-?-char", **base)
        e("permission valid qualifier missing", add, "ResourceNotFoundException",
          "Function not found: " + arn("conf", "valid-with-$-but-doesnotexist"), 404,
          StatementId="s3", Qualifier="valid-with-$-but-doesnotexist", **base)
        r = add(StatementId="s3", SourceArn="arn:aws:s3:::bucket", **base)
        statement = json.loads(r["Statement"])
        self.expect("permission statement", statement == {
            "Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "lambda:InvokeFunction", "Resource": arn("conf"),
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"}}}, repr(statement))
        self.expect("permission 201", r["ResponseMetadata"]["HTTPStatusCode"] == 201)
        e("permission duplicate sid", add, "ResourceConflictException",
          "The statement id (s3) provided already exists. Please provide a new statement id, or "
          "remove the existing statement.", 409, StatementId="s3", **base)
        e("permission wrong revision", add, "PreconditionFailedException", PRECONDITION, 412,
          StatementId="s4", RevisionId="wrong", **base)
        e("remove_permission missing function", lam.remove_permission,
          "ResourceNotFoundException", "No policy found for: " + arn("doesnotexist"), 404,
          FunctionName="doesnotexist", StatementId="s3")
        e("remove_permission missing alias", lam.remove_permission, "ResourceNotFoundException",
          "Cannot find alias arn: " + arn("conf", "alias-doesnotexist"), 404,
          FunctionName="conf", StatementId="s3", Qualifier="alias-doesnotexist")
        e("remove_permission missing sid", lam.remove_permission, "ResourceNotFoundException",
          "Statement non-existent is not found in resource policy.", 404, FunctionName="conf",
          StatementId="non-existent")
        policy = lam.get_policy(FunctionName="conf")
        e("remove_permission wrong revision", lam.remove_permission,
          "PreconditionFailedException", PRECONDITION, 412, FunctionName="conf",
          StatementId="s3", RevisionId=policy["RevisionId"] + "x")
        r = lam.remove_permission(FunctionName="conf", StatementId="s3")
        self.expect("remove_permission 204", r["ResponseMetadata"]["HTTPStatusCode"] == 204)
        e("get_policy after removing all", lam.get_policy, "ResourceNotFoundException",
          NO_RESOURCE, 404, FunctionName="conf")

    # ---- function URL configs ----

    def urls(self, lam):
        e = self.expect_error
        create, get = lam.create_function_url_config, lam.get_function_url_config
        update, delete = lam.update_function_url_config, lam.delete_function_url_config
        gone = "Function does not exist"
        e("url list missing function", lam.list_function_url_configs,
          "ResourceNotFoundException", gone, 404, FunctionName="doesnotexist")
        r = lam.list_function_url_configs(FunctionName="conf")
        self.expect("url list empty", r.get("FunctionUrlConfigs") == [], repr(r))
        for label, op, msg in (("create", create, gone), ("update", update, gone),
                               ("get", get, NO_RESOURCE), ("delete", delete, NO_RESOURCE)):
            kw = {"AuthType": "NONE"} if op in (create, update) else {}
            e("url %s missing name" % label, op, "ResourceNotFoundException", msg, 404,
              FunctionName="doesnotexist", **kw)
            e("url %s missing arn" % label, op, "ResourceNotFoundException", msg, 404,
              FunctionName=arn("doesnotexist"), **kw)
            for q in ("1", "2", "$LATEST"):
                e("url %s qualifier %s" % (label, q), op, "ValidationException",
                  URL_QUALIFIER % q, 400, FunctionName="conf", Qualifier=q, **kw)
            e("url %s missing alias" % label, op, "ResourceNotFoundException", msg, 404,
              FunctionName="conf", Qualifier="aliasdoesnotexist", **kw)
            if op is not delete:  # AWS answers that one with an internal failure
                e("url %s qualifier mismatch" % label, op, "InvalidParameterValueException",
                  DERIVED, 400, FunctionName=arn("conf", "al1"), Qualifier="other", **kw)
            if op is not create:
                e("url %s no config" % label, op, "ResourceNotFoundException", NO_RESOURCE, 404,
                  FunctionName="conf", **kw)
        r = create(FunctionName="conf", AuthType="NONE")
        self.expect("url create 201", r["ResponseMetadata"]["HTTPStatusCode"] == 201)
        self.expect("url create fields", set(r) - {"ResponseMetadata"} ==
                    {"AuthType", "CreationTime", "FunctionArn", "FunctionUrl"}, repr(r))
        e("url create duplicate", create, "ResourceConflictException",
          "Failed to create function url config for [functionArn = %s]. Error message:  "
          "FunctionUrlConfig exists for this Lambda function" % arn("conf"), 409,
          FunctionName="conf", AuthType="NONE")
        r = get(FunctionName="conf")
        self.expect("url get InvokeMode BUFFERED", r.get("InvokeMode") == "BUFFERED", repr(r))
        self.expect("url get LastModifiedTime", "LastModifiedTime" in r, repr(r))
        r = update(FunctionName="conf", AuthType="AWS_IAM")
        self.expect("url update fields", set(r) - {"ResponseMetadata"} ==
                    {"AuthType", "CreationTime", "FunctionArn", "FunctionUrl",
                     "LastModifiedTime"} and r["AuthType"] == "AWS_IAM", repr(r))
        create(FunctionName="conf", Qualifier="al1", AuthType="NONE")
        r = lam.list_function_url_configs(FunctionName="conf")
        listed = r.get("FunctionUrlConfigs", [])
        self.expect("url list both", sorted(c["FunctionArn"] for c in listed) ==
                    [arn("conf"), arn("conf", "al1")], repr(listed))
        self.expect("url list fields", all(set(c) == {
            "AuthType", "CreationTime", "FunctionArn", "FunctionUrl", "InvokeMode",
            "LastModifiedTime"} for c in listed), repr(listed))
        r = lam.list_function_url_configs(FunctionName="conf", MaxItems=1)
        self.expect("url list paging", len(r.get("FunctionUrlConfigs", [])) == 1 and
                    "NextMarker" in r, repr(r))
        if "NextMarker" in r:
            r2 = lam.list_function_url_configs(FunctionName="conf", Marker=r["NextMarker"])
            self.expect("url list next page", len(r2.get("FunctionUrlConfigs", [])) == 1 and
                        r2["FunctionUrlConfigs"][0]["FunctionArn"] !=
                        r["FunctionUrlConfigs"][0]["FunctionArn"], repr(r2))
        delete(FunctionName="conf", Qualifier="al1")
        r = delete(FunctionName="conf")
        self.expect("url delete 204", r["ResponseMetadata"]["HTTPStatusCode"] == 204)
        e("url get after delete", get, "ResourceNotFoundException", NO_RESOURCE, 404,
          FunctionName="conf")

    # ---- layers ----

    def layers(self, lam):
        e = self.expect_error
        pub = lam.publish_layer_version(LayerName="conf-layer", Content={"ZipFile": CODE},
                                        CompatibleRuntimes=["python3.12"],
                                        CompatibleArchitectures=["x86_64"])
        lam.publish_layer_version(LayerName="conf-layer", Content={"ZipFile": CODE})
        layer_arn = pub["LayerArn"]
        e("list_layers invalid runtime", lam.list_layers, "ValidationException",
          re.compile(r"1 validation error detected: Value 'runtimedoesnotexist' at "
                     r"'compatibleRuntime' failed to satisfy constraint: Member must satisfy "
                     r"enum value set: \[[a-z0-9., -]+\]"), 400,
          CompatibleRuntime="runtimedoesnotexist")
        e("list_layers invalid architecture", lam.list_layers, "ValidationException",
          "1 validation error detected: Value 'archdoesnotexist' at 'compatibleArchitecture' "
          "failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]",
          400, CompatibleArchitecture="archdoesnotexist")
        r = lam.list_layer_versions(LayerName="doesnotexist")
        self.expect("list_layer_versions missing", r.get("LayerVersions") == [], repr(r))
        e("get_layer_version missing layer", lam.get_layer_version, "ResourceNotFoundException",
          NO_RESOURCE, 404, LayerName="doesnotexist", VersionNumber=1)
        for n in (-1, 0):
            e("get_layer_version %d" % n, lam.get_layer_version,
              "InvalidParameterValueException", "Layer Version Cannot be less than 1", 400,
              LayerName="conf-layer", VersionNumber=n)
        e("get_layer_version missing version", lam.get_layer_version,
          "ResourceNotFoundException", NO_RESOURCE, 404, LayerName="conf-layer",
          VersionNumber=9)
        e("get_layer_version_by_arn unversioned", lam.get_layer_version_by_arn,
          "ValidationException",
          "1 validation error detected: Value '%s' at 'arn' failed to satisfy constraint: "
          "Member must satisfy regular expression pattern: "
          "arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\\d{1}:\\d{12}:"
          "layer:[a-zA-Z0-9-_]+:[0-9]+" % layer_arn, 400, Arn=layer_arn)
        e("get_layer_version_by_arn missing", lam.get_layer_version_by_arn,
          "ResourceNotFoundException", NO_RESOURCE, 404, Arn=layer_arn + ":9")
        r = lam.delete_layer_version(LayerName="doesnotexist", VersionNumber=1)
        self.expect("delete missing layer 204", r["ResponseMetadata"]["HTTPStatusCode"] == 204)
        e("delete_layer_version -1", lam.delete_layer_version, "InvalidParameterValueException",
          "Layer Version Cannot be less than 1", 400, LayerName="conf-layer", VersionNumber=-1)
        enum = r"\[[a-z0-9., ]+\]"
        e("publish invalid runtime and architecture", lam.publish_layer_version,
          "ValidationException",
          re.compile(r"2 validation errors detected: Value '\[invalidruntime\]' at "
                     r"'compatibleRuntimes' failed to satisfy constraint: Member must satisfy "
                     r"enum value set: " + enum + r"; Value '\[invalidarch\]' at "
                     r"'compatibleArchitectures' failed to satisfy constraint: Member must "
                     r"satisfy constraint: \[Member must satisfy enum value set: "
                     r"\[x86_64, arm64\]\]"), 400,
          LayerName="conf-layer", Content={"ZipFile": CODE},
          CompatibleRuntimes=["invalidruntime"], CompatibleArchitectures=["invalidarch"])
        e("publish partly invalid", lam.publish_layer_version, "ValidationException",
          re.compile(r"2 validation errors detected: Value '\[invalidruntime, invalidruntime2, "
                     r"nodejs20.x\]' at 'compatibleRuntimes' failed to satisfy constraint: Member "
                     r"must satisfy enum value set: " + enum + r"; Value '\[invalidarch, "
                     r"x86_64\]' at 'compatibleArchitectures' failed to satisfy constraint: "
                     r"Member must satisfy constraint: \[Member must satisfy enum value set: "
                     r"\[x86_64, arm64\]\]"), 400,
          LayerName="conf-layer", Content={"ZipFile": CODE},
          CompatibleRuntimes=["invalidruntime", "invalidruntime2", "nodejs20.x"],
          CompatibleArchitectures=["invalidarch", "x86_64"])
        v1, v2 = layer_arn + ":1", layer_arn + ":2"
        upd = lam.update_function_configuration
        e("two versions of one layer", upd, "InvalidParameterValueException",
          "Two different versions of the same layer are not allowed to be referenced in the "
          "same function. %s and %s are versions of the same layer." % (v1, v2), 400,
          FunctionName="conf", Layers=[v1, v2])
        e("one layer version twice", upd, "InvalidParameterValueException",
          "Two different versions of the same layer are not allowed to be referenced in the "
          "same function. %s and %s are versions of the same layer." % (v1, v1), 400,
          FunctionName="conf", Layers=[v1, v1])
        missing = "arn:aws:lambda:%s:%s:layer:doesnotexist:1" % (REGION, ACCOUNT)
        e("missing layer", upd, "InvalidParameterValueException",
          "Layer version %s does not exist." % missing, 400, FunctionName="conf",
          Layers=[missing])
        e("missing layer version", upd, "InvalidParameterValueException",
          "Layer version %s:9 does not exist." % layer_arn, 400, FunctionName="conf",
          Layers=[layer_arn + ":9"])
        e("layer without version", upd, "ValidationException",
          "1 validation error detected: Value '[%s]' at 'layers' failed to satisfy constraint: "
          "Member must satisfy constraint: [Member must have length less than or equal to 140, "
          "Member must have length greater than or equal to 1, Member must satisfy regular "
          "expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:"
          "[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+), Member "
          "must not be null]" % layer_arn, 400, FunctionName="conf", Layers=[layer_arn])
        e("layer of another region", self.create, "InvalidParameterValueException",
          "Layers are not in the same region as the function. Layers are expected to be in "
          "region %s." % REGION, 400, name="c-layer",
          Layers=["arn:aws:lambda:us-west-2:%s:layer:other:1" % ACCOUNT])
        e("six layers", self.create, "InvalidParameterValueException",
          "Cannot reference more than 5 layers.", 400, name="c-layers",
          Layers=["%s:%d" % (layer_arn, i) for i in range(1, 7)])

    # ---- event source mappings and image packages ----

    def mappings_and_images(self, lam):
        e = self.expect_error
        uuid = "00000000-0000-0000-0000-000000000000"
        e("esm get missing", lam.get_event_source_mapping, "ResourceNotFoundException",
          NO_RESOURCE, 404, UUID=uuid)
        e("esm delete missing", lam.delete_event_source_mapping, "ResourceNotFoundException",
          NO_RESOURCE, 404, UUID=uuid)
        e("esm update missing", lam.update_event_source_mapping, "ResourceNotFoundException",
          NO_RESOURCE, 404, UUID=uuid, Enabled=False)
        e("esm no source", lam.create_event_source_mapping, "InvalidParameterValueException",
          "Unrecognized event source.", 400, FunctionName="conf")
        e("update code ImageUri on a zip function", lam.update_function_code,
          "InvalidParameterValueException",
          "Please don't provide ImageUri when updating a function with packageType Zip.", 400,
          FunctionName="conf", ImageUri="%s.dkr.ecr.%s.amazonaws.com/x:latest" % (ACCOUNT,
                                                                                   REGION))
        lam.create_function(FunctionName="conf-image", PackageType="Image", Role=ROLE,
                            Code={"ImageUri": "airgap-test/none:latest"})
        e("update code ZipFile on an image function", lam.update_function_code,
          "InvalidParameterValueException",
          "Please provide ImageUri when updating a function with packageType Image.", 400,
          FunctionName="conf-image", ZipFile=CODE)


if __name__ == "__main__":
    unittest.main()
