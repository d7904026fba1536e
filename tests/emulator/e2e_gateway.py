#!/usr/bin/python3
"""e2e_gateway.py — end-to-end tests of `airgap emulator`'s core with real clients.

Drives the real binary ($AIRGAP_BIN) over loopback: the command line (Ready.,
--help, signals, GATEWAY_LISTEN lists), LocalStack's internal endpoints and
their shapes, request routing (SigV4 scope, X-Amz-Target, Action=, queue URL
paths, Lambda and S3 fallbacks), SERVICES, the protocols' error shapes and
hostile input, services this build does not serve (each answered in its own
protocol's error envelope, so boto3 and the aws CLI report our code), and STS
through Debian's boto3 and the aws CLI v2.
Run: AIRGAP_BIN=build/.../airgap /usr/bin/python3 tests/emulator/e2e_gateway.py
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from datetime import datetime, timezone

import boto3
import botocore.config
import botocore.exceptions

AIRGAP = os.environ.get("AIRGAP_BIN", "airgap")
SQS_NS = "http://queue.amazonaws.com/doc/2012-11-05/"


class Emulator:
    """One `airgap emulator` process on a free loopback port."""

    def __init__(self, *args, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        if "GATEWAY_LISTEN" not in (env or {}) and "--listen" not in args:
            args = ("--listen", "127.0.0.1:0") + args
        # stderr goes to a file: a pipe nobody reads could fill up and block it.
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([AIRGAP, "emulator", *args], stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=full_env, text=True)
        self.port = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait()
                raise RuntimeError("emulator exited: " + self.log())
            if line.startswith("Listening on "):
                self.port = int(line.split()[-1])
            if line == "Ready.\n":
                break
        else:
            raise RuntimeError("emulator never printed Ready.")
        self.url = "http://127.0.0.1:%d" % (self.port or 0)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
        self.log_text = self.log()
        if self.proc.returncode != 0:
            sys.stderr.write("emulator exited with %d:\n%s\n" % (self.proc.returncode,
                                                                 self.log_text))
        self.stderr.close()
        return self.proc.returncode

    def log(self):
        self.stderr.seek(0)
        return self.stderr.read()

    def request(self, method, path, body=None, headers=None):
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def client(self, service, key="test", region="us-east-1"):
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id=key, aws_secret_access_key="test",
                            config=botocore.config.Config(retries={"max_attempts": 1}))


class GatewayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()

    @classmethod
    def tearDownClass(cls):
        code = cls.emu.stop()
        if code != 0:
            raise AssertionError("emulator exited with %d" % code)

    # ---- internal endpoints ----

    def test_health_shape(self):
        status, headers, body = self.emu.request("GET", "/_localstack/health")
        self.assertEqual(status, 200)
        doc = json.loads(body)
        self.assertEqual(doc["edition"], "community")
        self.assertIsInstance(doc["version"], str)
        self.assertIn(doc["services"]["sts"], ("available", "running"))
        self.assertIn(doc["services"]["sqs"], ("available", "running"))
        status, _, body = self.emu.request("HEAD", "/_localstack/health")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")

    def test_health_running_after_use(self):
        self.emu.client("sts").get_caller_identity()
        doc = json.loads(self.emu.request("GET", "/_localstack/health")[2])
        self.assertEqual(doc["services"]["sts"], "running")

    def test_health_put_merges_state(self):
        status, _, _ = self.emu.request("PUT", "/_localstack/health",
                                        json.dumps({"features:initScripts": "initialized"}))
        self.assertEqual(status, 200)
        doc = json.loads(self.emu.request("GET", "/_localstack/health")[2])
        self.assertEqual(doc["features:initScripts"], "initialized")
        self.assertIn("sqs", doc["services"])
        self.assertEqual(self.emu.request("PUT", "/_localstack/health", "[1]")[0], 400)

    def test_health_post_rejects_bad_body(self):
        self.assertEqual(self.emu.request("POST", "/_localstack/health", "not json")[0], 400)
        self.assertEqual(self.emu.request("POST", "/_localstack/health", "")[0], 400)
        self.assertEqual(self.emu.request("POST", "/_localstack/health",
                                          json.dumps({"action": "dance"}))[0], 400)
        # Still serving.
        self.assertEqual(self.emu.request("GET", "/_localstack/health")[0], 200)

    def test_info_and_init(self):
        status, _, body = self.emu.request("GET", "/_localstack/info")
        self.assertEqual(status, 200)
        info = json.loads(body)
        for key in ("version", "edition", "session_id", "uptime", "is_license_activated"):
            self.assertIn(key, info)
        self.assertEqual(info["edition"], "community")
        status, _, body = self.emu.request("GET", "/_localstack/init")
        self.assertEqual(status, 200)
        init = json.loads(body)
        self.assertEqual(init["scripts"], [])
        self.assertTrue(init["completed"]["READY"])
        self.assertEqual(json.loads(self.emu.request("GET", "/_localstack/init/ready")[2]),
                         {"completed": True, "scripts": []})
        self.assertEqual(self.emu.request("GET", "/_localstack/init/nope")[0], 404)
        self.assertEqual(self.emu.request("GET", "/_localstack/nothing")[0], 404)

    def test_reset_endpoints(self):
        sqs = self.emu.client("sqs")
        sqs.create_queue(QueueName="reset-me")
        status, _, body = self.emu.request("POST", "/_localstack/state/reset")
        self.assertEqual(status, 200)
        self.assertEqual(sqs.list_queues().get("QueueUrls", []), [])
        sqs.create_queue(QueueName="reset-me-too")
        status, _, body = self.emu.request("POST", "/moto-api/reset")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"status": "ok"})
        self.assertEqual(sqs.list_queues().get("QueueUrls", []), [])
        sqs.create_queue(QueueName="reset-one")
        self.assertEqual(self.emu.request("POST", "/_localstack/state/sqs/reset")[0], 200)
        self.assertEqual(sqs.list_queues().get("QueueUrls", []), [])
        self.assertEqual(self.emu.request("POST", "/_localstack/state/nosuch/reset")[0], 404)

    # ---- STS ----

    def test_sts_get_caller_identity(self):
        ident = self.emu.client("sts").get_caller_identity()
        self.assertEqual(ident["Account"], "000000000000")
        self.assertEqual(ident["Arn"], "arn:aws:iam::000000000000:root")
        # A 12-digit access key is the account.
        ident = self.emu.client("sts", key="111122223333", region="eu-west-1").get_caller_identity()
        self.assertEqual(ident["Account"], "111122223333")

    def test_sts_assume_role(self):
        sts = self.emu.client("sts")
        resp = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/ci/deployer",
                               RoleSessionName="build-42", DurationSeconds=900)
        creds = resp["Credentials"]
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(len(creds["SecretAccessKey"]), 40)
        left = (creds["Expiration"] - datetime.now(timezone.utc)).total_seconds()
        self.assertTrue(800 < left <= 905, left)
        self.assertEqual(resp["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::123456789012:assumed-role/deployer/build-42")
        self.assertTrue(resp["AssumedRoleUser"]["AssumedRoleId"].endswith(":build-42"))
        # The temporary credentials work against the emulator.
        tmp = boto3.client("sts", endpoint_url=self.emu.url, region_name="us-east-1",
                           aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"])
        ident = tmp.get_caller_identity()
        self.assertEqual(ident["Account"], "123456789012")
        self.assertEqual(ident["Arn"], "arn:aws:sts::123456789012:assumed-role/deployer/build-42")
        self.assertEqual(ident["UserId"], resp["AssumedRoleUser"]["AssumedRoleId"])
        # Calls signed with the role's keys act in the role's account.
        sqs = boto3.client("sqs", endpoint_url=self.emu.url, region_name="us-east-1",
                           aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"])
        url = sqs.create_queue(QueueName="role-queue")["QueueUrl"]
        self.assertIn("/123456789012/role-queue", url)
        sqs.delete_queue(QueueUrl=url)
        # Session tokens of the role keep acting as the role.
        token = tmp.get_session_token()["Credentials"]
        again = boto3.client("sts", endpoint_url=self.emu.url, region_name="us-east-1",
                             aws_access_key_id=token["AccessKeyId"],
                             aws_secret_access_key=token["SecretAccessKey"],
                             aws_session_token=token["SessionToken"])
        self.assertEqual(again.get_caller_identity()["Arn"], ident["Arn"])
        # A reset forgets issued credentials.
        self.assertEqual(self.emu.request("POST", "/_localstack/state/reset")[0], 200)
        self.assertEqual(tmp.get_caller_identity()["Account"], "000000000000")
        # A session name botocore would refuse client-side, sent raw.
        status, _, body = self.emu.request(
            "POST", "/", "Action=AssumeRole&Version=2011-06-15"
            "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx&RoleSessionName=s", {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>ValidationError</Code>", body)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/x", RoleSessionName="ok",
                            DurationSeconds=100000)
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationError")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_sts_get_session_token(self):
        creds = self.emu.client("sts").get_session_token(DurationSeconds=3600)["Credentials"]
        left = (creds["Expiration"] - datetime.now(timezone.utc)).total_seconds()
        self.assertTrue(3500 < left <= 3605, left)

    def test_sts_aws_cli(self):
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                   AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true",
                   AWS_PAGER="")
        out = subprocess.run(["/usr/bin/aws", "--endpoint-url", self.emu.url, "sts",
                              "get-caller-identity", "--output", "json"],
                             capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["Account"], "000000000000")
        out = subprocess.run(["/usr/bin/aws", "--endpoint-url", self.emu.url, "sts", "assume-role",
                              "--role-arn", "arn:aws:iam::000000000000:role/r",
                              "--role-session-name", "cli", "--output", "json"],
                             capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Credentials", json.loads(out.stdout))

    # ---- routing ----

    def test_route_by_action_without_signature(self):
        status, headers, body = self.emu.request("GET", "/?Action=GetCallerIdentity&Version=2011-06-15")
        self.assertEqual(status, 200)
        self.assertIn(b"<Account>000000000000</Account>", body)
        self.assertIn(b"<GetCallerIdentityResponse", body)
        status, _, body = self.emu.request(
            "POST", "/", "Action=GetCallerIdentity&Version=2011-06-15",
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        self.assertIn(b"<Arn>arn:aws:iam::000000000000:root</Arn>", body)

    def test_route_by_credential_scope(self):
        # Signed for sts: an Action both could not mean anything else.
        auth = ("AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-central-1/sts/aws4_request, "
                "SignedHeaders=host, Signature=00")
        status, _, body = self.emu.request(
            "POST", "/", "Action=NoSuchAction&Version=2011-06-15",
            {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>InvalidAction</Code>", body)
        # STS's own wording (its framework's), so STS answered.
        self.assertIn(b"Could not find operation NoSuchAction for version 2011-06-15", body)

    def test_route_queue_url_path(self):
        status, _, body = self.emu.request(
            "POST", "/000000000000/no-such-queue", "Action=GetQueueAttributes&AttributeName.1=All",
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertIn(SQS_NS.encode(), body)
        # Older SDKs post to the queue URL without QueueUrl: the path names the queue.
        sqs = self.emu.client("sqs")
        url = sqs.create_queue(QueueName="by-path")["QueueUrl"]
        path = "/" + url.split("/", 3)[3]
        status, _, body = self.emu.request(
            "POST", path, "Action=SendMessage&MessageBody=via+path",
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, body)
        self.assertIn(b"<MessageId>", body)
        msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        self.assertEqual([m["Body"] for m in msgs], ["via path"])
        sqs.delete_queue(QueueUrl=url)

    def test_route_sqs_json_protocol(self):
        status, headers, body = self.emu.request(
            "POST", "/", "{}", {"X-Amz-Target": "AmazonSQS.ListQueues",
                                "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["Content-Type"], "application/x-amz-json-1.0")
        self.assertIsInstance(json.loads(body), dict)
        status, headers, body = self.emu.request(
            "POST", "/", "{not json", {"X-Amz-Target": "AmazonSQS.ListQueues",
                                       "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 400)
        self.assertTrue(json.loads(body)["__type"].endswith("#SerializationException"))
        self.assertEqual(headers["x-amzn-query-error"], "SerializationException;Sender")
        status, headers, body = self.emu.request(
            "POST", "/", json.dumps({"QueueUrl": 5}),
            {"X-Amz-Target": "AmazonSQS.GetQueueAttributes",
             "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 400)
        self.assertEqual(headers["x-amzn-query-error"], "InvalidParameterValue;Sender")
        status, headers, body = self.emu.request(
            "POST", "/", "{}", {"X-Amz-Target": "AmazonSQS.SendMessage",
                                "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 400)
        self.assertEqual(headers["x-amzn-query-error"], "MissingParameter;Sender")
        status, headers, body = self.emu.request(
            "POST", "/", "{}", {"X-Amz-Target": "AmazonSQS.Frobnicate",
                                "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 400)
        self.assertTrue(json.loads(body)["__type"].endswith("#UnknownOperationException"))

    def test_s3_fallback(self):
        # Unsigned requests nobody else claims are S3's (ListBuckets here).
        status, headers, body = self.emu.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn(b"<ListAllMyBucketsResult", body)
        self.assertEqual(self.emu.client("s3").list_buckets()["Buckets"], [])
        # Virtual-host style reaches S3 too, with the bucket from the Host.
        status, _, body = self.emu.request("GET", "/key", headers={
            "Host": "bucket.s3.localhost.localstack.cloud:4566"})
        self.assertEqual(status, 404)
        self.assertIn(b"<Code>NoSuchBucket</Code>", body)
        self.assertIn(b"<BucketName>bucket</BucketName>", body)

    def test_lambda_paths_route_to_lambda(self):
        # Each of Lambda's REST paths, under the API version that introduced
        # it, reaches Lambda (not S3, which owns every other unclaimed path).
        for path, key in (("/2015-03-31/functions/", b'"Functions"'),
                          ("/2018-10-31/layers", b'"Layers"'),
                          ("/2016-08-19/account-settings/", b'"AccountLimit"')):
            status, headers, body = self.emu.request("GET", path)
            self.assertEqual(status, 200, (path, body))
            self.assertIn(key, body, path)
        self.assertEqual(self.emu.client("lambda").list_functions()["Functions"], [])

    def test_unknown_service_scope(self):
        auth = ("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/firehose/aws4_request, "
                "SignedHeaders=host, Signature=00")
        status, _, body = self.emu.request("POST", "/", "{}", {"Authorization": auth})
        self.assertEqual(status, 501)
        self.assertIn(b"firehose", body)

    # ---- services this build does not serve: each in its protocol's envelope ----

    def cli_env(self):
        return dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                    AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
                    AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true",
                    AWS_PAGER="")

    def test_unserved_services_raise_our_code(self):
        # query (CloudFormation, Auto Scaling), json 1.1 (Firehose, ECS), rest-json
        # (API Gateway) and rest-xml (Route 53): botocore parses each envelope
        # with its own parser, so "Unknown" or a bare "501" means a wrong one.
        calls = [("cloudformation", lambda c: c.list_stacks()),
                 ("autoscaling", lambda c: c.describe_auto_scaling_groups()),
                 ("firehose", lambda c: c.list_delivery_streams()),
                 ("ecs", lambda c: c.list_clusters()),
                 ("apigateway", lambda c: c.get_rest_apis()),
                 ("route53", lambda c: c.list_hosted_zones())]
        for service, call in calls:
            with self.subTest(service=service):
                with self.assertRaises(botocore.exceptions.ClientError) as cm:
                    call(self.emu.client(service))
                err = cm.exception.response["Error"]
                self.assertEqual(err["Code"], "NotImplemented", cm.exception.response)
                self.assertIn("does not implement the %s service" % service, err["Message"])
                self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"],
                                 501)

    def test_unserved_service_envelopes(self):
        def auth(service):
            return ("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/%s/aws4_request, "
                    "SignedHeaders=host, Signature=00" % service)
        # query: LocalStack's and AWS's <ErrorResponse><Error>…</Error><RequestId>.
        status, headers, body = self.emu.request(
            "POST", "/", "Action=ListStacks&Version=2010-05-15",
            {"Authorization": auth("cloudformation"),
             "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 501)
        self.assertEqual(headers["Content-Type"], "text/xml")
        self.assertIn(b"<ErrorResponse><Error><Type>Receiver</Type><Code>NotImplemented</Code>",
                      body)
        self.assertIn(b"</Error><RequestId>", body)
        # json: {"__type", "message"} in the request's JSON version.
        status, headers, body = self.emu.request(
            "POST", "/", "{}", {"Authorization": auth("firehose"),
                                "X-Amz-Target": "Firehose_20150804.ListDeliveryStreams",
                                "Content-Type": "application/x-amz-json-1.1"})
        self.assertEqual(status, 501)
        self.assertEqual(headers["Content-Type"], "application/x-amz-json-1.1")
        doc = json.loads(body)
        self.assertEqual(doc["__type"], "NotImplemented")
        self.assertIn("firehose", doc["message"])
        # The same unsigned: no S3 XML for a JSON client either.
        status, headers, body = self.emu.request(
            "POST", "/", "{}", {"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
                                "Content-Type": "application/x-amz-json-1.1"})
        self.assertEqual(status, 501)
        self.assertEqual(json.loads(body)["__type"], "NotImplemented")
        self.assertIn("AmazonEC2ContainerServiceV20141113.ListClusters",
                      json.loads(body)["message"])
        # rest-json: x-amzn-ErrorType and a JSON body.
        status, headers, body = self.emu.request("GET", "/restapis",
                                                 headers={"Authorization": auth("apigateway")})
        self.assertEqual(status, 501)
        self.assertEqual(headers.get("x-amzn-ErrorType"), "NotImplemented")
        self.assertIn("apigateway", json.loads(body)["message"])

    def test_unserved_services_aws_cli(self):
        for args, operation in ((["autoscaling", "describe-auto-scaling-groups"],
                                 "DescribeAutoScalingGroups"),
                                (["firehose", "list-delivery-streams"], "ListDeliveryStreams"),
                                (["ecs", "list-clusters"], "ListClusters"),
                                (["cloudformation", "list-stacks"], "ListStacks")):
            with self.subTest(args=args):
                out = subprocess.run(["/usr/bin/aws", "--endpoint-url", self.emu.url] + args,
                                     capture_output=True, text=True, env=self.cli_env(),
                                     timeout=60)
                self.assertNotEqual(out.returncode, 0)
                self.assertIn("An error occurred (NotImplemented) when calling the %s operation"
                              % operation, out.stderr)
                self.assertIn("airgap's emulator does not implement the %s service" % args[0],
                              out.stderr)
                # 501 is not a transient error: the CLI does not retry it.
                self.assertNotIn("reached max retries", out.stderr)

    # ---- hostile input ----

    def test_hostile_query(self):
        many = "&".join("p%d=v" % i for i in range(6000))
        status, _, body = self.emu.request("POST", "/", "Action=GetCallerIdentity&" + many,
                                           {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 400)
        self.assertIn(b"MalformedQueryString", body)
        status, _, body = self.emu.request("POST", "/", "Action=GetCallerIdentity&x=%G1",
                                           {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 400)
        self.assertIn(b"MalformedQueryString", body)
        status, _, body = self.emu.request("POST", "/", "Action=Frobnicate",
                                           {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>InvalidAction</Code>", body)
        status, _, body = self.emu.request(
            "POST", "/",
            "Action=AssumeRole&Version=2011-06-15&RoleArn=a&RoleSessionName=b&DurationSeconds=1e999",
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>MalformedInput</Code>", body)
        # Bodies too large for memory are refused by the query and JSON protocols.
        big = "Action=SendMessage&MessageBody=" + "a" * (10 << 20)
        status, _, body = self.emu.request("POST", "/", big,
                                           {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 413)
        status, headers, body = self.emu.request(
            "POST", "/", "a" * (10 << 20), {"X-Amz-Target": "AmazonSQS.SendMessage",
                                            "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 413)
        self.assertTrue(json.loads(body)["__type"].endswith("#RequestEntityTooLarge"))
        deep = '{"QueueUrl":' + "[" * 50000 + "]" * 50000 + "}"
        status, _, body = self.emu.request(
            "POST", "/", deep, {"X-Amz-Target": "AmazonSQS.ListQueues",
                                "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 400)
        self.assertEqual(self.emu.request("GET", "/_localstack/health")[0], 200)


class LifecycleTest(unittest.TestCase):
    def test_help_and_bad_flags(self):
        out = subprocess.run([AIRGAP, "emulator", "--help"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertIn("--listen", out.stdout)
        self.assertIn("GATEWAY_LISTEN", out.stdout)
        out = subprocess.run([AIRGAP, "emulator", "--no-such-flag"], capture_output=True,
                             text=True)
        self.assertEqual(out.returncode, 2)
        out = subprocess.run([AIRGAP, "emulator", "--listen", "nonsense"], capture_output=True,
                             text=True, timeout=10)
        self.assertEqual(out.returncode, 1)
        self.assertIn("nonsense", out.stderr)
        out = subprocess.run([AIRGAP, "emulator", "--listen", "127.0.0.1:0", "--data-dir",
                              "/nonexistent/airgap-test"], capture_output=True, text=True,
                             timeout=10)
        self.assertEqual(out.returncode, 1)
        self.assertIn("/nonexistent/airgap-test", out.stderr)

    def test_unknown_service_names_are_ignored(self):
        emu = Emulator("--services", "sqs, firehose")
        try:
            doc = json.loads(emu.request("GET", "/_localstack/health")[2])
            self.assertEqual(doc["services"]["sqs"], "available")
            self.assertNotIn("firehose", doc["services"])
            # Every other service we have is listed, and disabled.
            self.assertIn("s3", doc["services"])
            self.assertEqual({n for n, state in doc["services"].items() if state != "disabled"},
                             {"sqs"})
        finally:
            self.assertEqual(emu.stop(), 0)
        self.assertIn("firehose", emu.log_text)

    def test_signals_stop_within_a_second(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            emu = Emulator()
            emu.client("sts").get_caller_identity()
            start = time.monotonic()
            code = emu.stop(sig)
            self.assertEqual(code, 0)
            self.assertLess(time.monotonic() - start, 1.0)

    def test_listen_without_host_means_loopback(self):
        emu = Emulator("--listen", ":0")
        try:
            self.assertEqual(emu.request("GET", "/_localstack/health")[0], 200)
        finally:
            self.assertEqual(emu.stop(), 0)

    def test_kill_action_stops(self):
        emu = Emulator()
        status, _, _ = emu.request("POST", "/_localstack/health", json.dumps({"action": "kill"}))
        self.assertEqual(status, 200)
        emu.proc.wait(timeout=5)
        self.assertEqual(emu.stop(), 0)

    def test_gateway_listen_list_and_services(self):
        # Two listeners from GATEWAY_LISTEN; only sqs served.
        import socket
        ports = []
        for _ in range(2):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
            s.close()
        emu = Emulator(env={"GATEWAY_LISTEN": ",".join("127.0.0.1:%d" % p for p in ports),
                            "SERVICES": "sqs"})
        try:
            for p in ports:
                emu.url = "http://127.0.0.1:%d" % p
                doc = json.loads(emu.request("GET", "/_localstack/health")[2])
                self.assertEqual(doc["services"]["sts"], "disabled")
                self.assertEqual(doc["services"]["sqs"], "available")
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                emu.client("sts").get_caller_identity()
            self.assertIn("not enabled", cm.exception.response["Error"]["Message"])
            emu.client("sqs").list_queues()
        finally:
            self.assertEqual(emu.stop(), 0)


class DataFolderTest(unittest.TestCase):
    """The emulator's private folder in --data-dir: gone after a clean stop,
    reaped by the next emulator after a kill, never taken from a live one."""

    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="airgap-data-test-")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.data], check=True)

    def folders(self):
        return sorted(n for n in os.listdir(self.data) if n.startswith("airgap-emulator-"))

    def test_killed_emulator_folder_is_reaped_by_the_next(self):
        first = Emulator("--data-dir", self.data)
        s3 = first.client("s3")
        s3.create_bucket(Bucket="left")
        s3.put_object(Bucket="left", Key="big", Body=b"x" * (3 << 20))  # a data file
        stale = self.folders()
        self.assertEqual(len(stale), 1)
        size = sum(os.path.getsize(os.path.join(r, f))
                   for r, _, fs in os.walk(os.path.join(self.data, stale[0])) for f in fs)
        self.assertGreaterEqual(size, 3 << 20)
        first.stop(signal.SIGKILL)
        self.assertEqual(self.folders(), stale)  # a kill leaves it behind

        # A live emulator's folder is not touched by another one starting.
        second = Emulator("--data-dir", self.data)
        live = self.folders()
        self.assertEqual(len(live), 1)
        self.assertNotEqual(live, stale)
        self.assertIn("left by an emulator that stopped without cleaning up", second.log())
        third = Emulator("--data-dir", self.data)
        self.assertEqual(len(self.folders()), 2)
        self.assertIn(live[0], self.folders())
        self.assertEqual(third.stop(), 0)
        self.assertEqual(second.stop(), 0)
        self.assertEqual(os.listdir(self.data), [])

    def test_folders_of_other_programs_with_a_similar_name_are_left_alone(self):
        # /tmp is shared: a folder that merely starts like ours is not ours.
        others = ["airgap-emulator-image.shFhls", "airgap-emulator-", "airgap-emulator-ab.def"]
        for name in others:
            os.mkdir(os.path.join(self.data, name))
            with open(os.path.join(self.data, name, "keep"), "w") as f:
                f.write("mine")
        emu = Emulator("--data-dir", self.data)
        self.assertEqual(emu.stop(), 0)
        self.assertEqual(sorted(os.listdir(self.data)), sorted(others))
        for name in others:
            self.assertTrue(os.path.exists(os.path.join(self.data, name, "keep")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
