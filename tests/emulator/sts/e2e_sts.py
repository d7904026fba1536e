#!/usr/bin/python3
"""End-to-end tests of STS with Debian's boto3 and the aws CLI v2 against a
real `airgap emulator` ($AIRGAP_BIN): GetCallerIdentity, AssumeRole,
GetSessionToken, GetFederationToken, AssumeRoleWithSAML (a base64 SAML 2.0
assertion), AssumeRoleWithWebIdentity (a JWT), GetAccessKeyInfo, partitions
by region, the identity temporary credentials act as, and parameter
validation with AWS's error codes. One emulator serves the whole file."""

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import warnings
from datetime import datetime, timezone

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402

AWS = "/usr/bin/aws"
ROLE = "arn:aws:iam::123456789012:role/ci/deployer"
IDP = "arn:aws:iam::123456789012:saml-provider/CorpIdP"


def saml_assertion(session="alice", name_id="alice@example.com",
                   fmt="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
                   issuer="https://idp.example.com/saml"):
    """A SAML 2.0 Response as an IdP posts it (unsigned: nothing checks)."""
    session_attr = ("" if session is None else
                    '<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName">'
                    "<saml:AttributeValue>%s</saml:AttributeValue></saml:Attribute>" % session)
    xml = (
        '<?xml version="1.0"?>'
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="r1" Version="2.0">'
        "<saml:Issuer>%s</saml:Issuer>"
        '<saml:Assertion ID="a1" Version="2.0"><saml:Issuer>%s</saml:Issuer>'
        '<saml:Subject><saml:NameID Format="%s">%s</saml:NameID>'
        '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        '<saml:SubjectConfirmationData Recipient="https://signin.aws.amazon.com/saml"/>'
        "</saml:SubjectConfirmation></saml:Subject>"
        "<saml:AttributeStatement>"
        '<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role">'
        "<saml:AttributeValue>%s,%s</saml:AttributeValue></saml:Attribute>%s"
        "</saml:AttributeStatement></saml:Assertion></samlp:Response>"
        % (issuer, issuer, fmt, name_id, ROLE, IDP, session_attr))
    return base64.b64encode(xml.encode()).decode()


def jwt(claims):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return "%s.%s.%s" % (part({"alg": "RS256", "kid": "k1"}), part(claims), "c2lnbmF0dXJl")


class Sts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()
        cls.home = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()
        cls.home.cleanup()

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.sts = self.client()

    def client(self, key="test", region="us-east-1", creds=None, service="sts"):
        kwargs = {"aws_access_key_id": key, "aws_secret_access_key": "test"}
        if creds:
            kwargs = {"aws_access_key_id": creds["AccessKeyId"],
                      "aws_secret_access_key": creds["SecretAccessKey"],
                      "aws_session_token": creds["SessionToken"]}
        return boto3.client(service, endpoint_url=self.emu.endpoint, region_name=region,
                            # The server's validation is under test, not botocore's.
                            config=Config(retries={"total_max_attempts": 1},
                                          parameter_validation=False), **kwargs)

    def error(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response

    def aws(self, *args, ok=True, region="us-east-1"):
        env = {"PATH": "/usr/bin:/bin", "HOME": self.home.name, "AWS_ACCESS_KEY_ID": "test",
               "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": region, "AWS_PAGER": "",
               "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": "/dev/null",
               "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true"}
        p = subprocess.run([AWS, "--endpoint-url", self.emu.endpoint, "--output", "json", "sts"]
                           + list(args), env=env, capture_output=True, text=True, timeout=60)
        if ok:
            self.assertEqual(p.returncode, 0, "aws sts %s: %s" % (args[0], p.stderr))
            return json.loads(p.stdout)
        self.assertNotEqual(p.returncode, 0, "aws sts %s should fail" % args[0])
        return p.stderr

    def expires_in(self, creds):
        return (creds["Expiration"] - datetime.now(timezone.utc)).total_seconds()

    # ---- the caller, partitions ----

    def test_get_caller_identity(self):
        ident = self.sts.get_caller_identity()
        self.assertEqual(ident["Account"], "000000000000")
        self.assertEqual(ident["Arn"], "arn:aws:iam::000000000000:root")
        # The root's user id is its account id (its aws:userid), also with its session keys.
        self.assertEqual(ident["UserId"], "000000000000")
        creds = self.sts.get_session_token()["Credentials"]
        self.assertEqual(self.client(creds=creds).get_caller_identity()["UserId"], "000000000000")
        ident = self.client(key="111122223333", region="eu-west-1").get_caller_identity()
        self.assertEqual(ident["Account"], "111122223333")

    def test_partitions(self):
        for region, partition in (("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"),
                                  ("us-iso-east-1", "aws-iso"), ("us-isob-east-1", "aws-iso-b"),
                                  ("eu-west-1", "aws")):
            sts = self.client(region=region)
            self.assertEqual(sts.get_caller_identity()["Arn"],
                             "arn:%s:iam::000000000000:root" % partition, region)
            fed = sts.get_federation_token(Name="bob")
            self.assertEqual(fed["FederatedUser"]["Arn"],
                             "arn:%s:sts::000000000000:federated-user/bob" % partition)
        role = self.client(region="cn-north-1").assume_role(
            RoleArn="arn:aws-cn:iam::123456789012:role/app", RoleSessionName="s1")
        self.assertEqual(role["AssumedRoleUser"]["Arn"],
                         "arn:aws-cn:sts::123456789012:assumed-role/app/s1")
        out = self.aws("get-caller-identity", region="cn-northwest-1")
        self.assertEqual(out["Arn"], "arn:aws-cn:iam::000000000000:root")

    # ---- AssumeRole ----

    def test_assume_role(self):
        resp = self.sts.assume_role(RoleArn=ROLE, RoleSessionName="build-42", DurationSeconds=900)
        creds = resp["Credentials"]
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(len(creds["SecretAccessKey"]), 40)
        self.assertTrue(800 < self.expires_in(creds) <= 905)
        self.assertEqual(resp["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::123456789012:assumed-role/deployer/build-42")
        role_id = resp["AssumedRoleUser"]["AssumedRoleId"]
        self.assertRegex(role_id, r"^AROA[A-Z2-7]{17}:build-42$")
        # The role's id is the role's: the same on the next AssumeRole.
        again = self.sts.assume_role(RoleArn=ROLE, RoleSessionName="other")
        self.assertEqual(again["AssumedRoleUser"]["AssumedRoleId"].split(":")[0],
                         role_id.split(":")[0])
        # The temporary credentials act as the role.
        tmp = self.client(creds=creds)
        ident = tmp.get_caller_identity()
        self.assertEqual(ident, {**ident, "Account": "123456789012", "UserId": role_id,
                                 "Arn": "arn:aws:sts::123456789012:assumed-role/deployer/build-42"})
        url = self.client(creds=creds, service="sqs").create_queue(QueueName="role-q")["QueueUrl"]
        self.assertIn("/123456789012/role-q", url)
        self.assertEqual(tmp.get_access_key_info(AccessKeyId=creds["AccessKeyId"])["Account"],
                         "123456789012")
        # Session tokens of the role keep acting as the role (permissive by
        # default, as LocalStack; ENFORCE_IAM=1 refuses as AWS does: below).
        token = tmp.get_session_token()["Credentials"]
        self.assertEqual(self.client(creds=token).get_caller_identity()["Arn"], ident["Arn"])

    def test_assume_role_validation(self):
        cases = [
            (dict(RoleArn=ROLE, RoleSessionName="ok", DurationSeconds=899), "ValidationError"),
            (dict(RoleArn=ROLE, RoleSessionName="ok", DurationSeconds=43201), "ValidationError"),
            (dict(RoleArn=ROLE, RoleSessionName="bad name!"), "ValidationError"),
            (dict(RoleArn="arn:aws:iam::123456789012:user/bob", RoleSessionName="ok"),
             "ValidationError"),
            (dict(RoleArn=ROLE, RoleSessionName="ok", Policy="{not json"),
             "MalformedPolicyDocument"),
            (dict(RoleArn=ROLE, RoleSessionName="ok",
                  Policy=json.dumps({"Version": "2012-10-17", "Statement": [
                      {"Effect": "Allow", "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::%s/*" % ("b" * 40)}] * 40})),
             "ValidationError"),
        ]
        for kwargs, code in cases:
            r = self.error(self.sts.assume_role, **kwargs)
            self.assertEqual(r["Error"]["Code"], code, kwargs)
            self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
        ok = self.sts.assume_role(RoleArn=ROLE, RoleSessionName="pp", Policy=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                                     "Resource": "*"}]}))
        self.assertIn("PackedPolicySize", ok)
        # A session name botocore would refuse client-side, sent raw.
        status, body = self.raw("Action=AssumeRole&Version=2011-06-15&RoleSessionName=s"
                                "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx")
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>ValidationError</Code>", body)
        # The CLI checks lengths and ranges itself; what it lets through:
        err = self.aws("assume-role", "--role-arn", "arn:aws:iam::123456789012:user/bob",
                       "--role-session-name", "cli", ok=False)
        self.assertIn("ValidationError", err)
        err = self.aws("assume-role", "--role-arn", ROLE, "--role-session-name", "a b", ok=False)
        self.assertIn("ValidationError", err)

    def test_role_arn_as_aws_parses_it(self):
        # Any service's role ARN is parsed (LocalStack's fixtures use sts); the
        # account may be empty (the caller's), the name may not.
        out = self.sts.assume_role(RoleArn="arn:aws:sts::000000000000:role/rd_role",
                                   RoleSessionName="s3-access-example")
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::000000000000:assumed-role/rd_role/s3-access-example")
        self.assertTrue(out["AssumedRoleUser"]["AssumedRoleId"].endswith(":s3-access-example"))
        out = self.sts.assume_role(RoleArn="arn:aws:iam:::role/no-account",
                                   RoleSessionName="s1")
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::000000000000:assumed-role/no-account/s1")
        for arn in ("arn:aws:iam::123456789012:user/bob", "arn:aws:iam::123456789012:role/",
                    "not-an-arn-but-long-enough", "arn:aws:iam::12345:role/short-account"):
            r = self.error(self.sts.assume_role, RoleArn=arn, RoleSessionName="s1")
            self.assertEqual((r["Error"]["Code"], r["Error"]["Message"]),
                             ("ValidationError", "%s is invalid" % arn))
        status, body = self.raw("Action=AssumeRole&Version=2011-06-15&RoleSessionName=s1"
                                "&RoleArn=arn%3Aaws%3Aiam%3A%3A1")
        self.assertEqual(status, 400)
        import xml.etree.ElementTree as ET
        ns = {"s": "https://sts.amazonaws.com/doc/2011-06-15/"}
        error = ET.fromstring(body).find("s:Error", ns)
        self.assertEqual((error.findtext("s:Type", namespaces=ns),
                          error.findtext("s:Code", namespaces=ns),
                          error.findtext("s:Message", namespaces=ns)),
                         ("Sender", "ValidationError",
                          "1 validation error detected: Value 'arn:aws:iam::1' at 'roleArn' "
                          "failed to satisfy constraint: Member must have length greater than "
                          "or equal to 20"))

    def test_federation_token_packed_policy_size_zero(self):
        # AWS answers PackedPolicySize 0 when there is nothing to pack;
        # AssumeRole leaves it out then.
        self.assertEqual(self.sts.get_federation_token(Name="plain")["PackedPolicySize"], 0)
        self.assertNotIn("PackedPolicySize",
                         self.sts.assume_role(RoleArn=ROLE, RoleSessionName="plain"))
        ok = self.sts.assume_role(RoleArn=ROLE, RoleSessionName="tagged",
                                  Tags=[{"Key": "Team", "Value": "a"}],
                                  TransitiveTagKeys=["team"])
        self.assertIn("PackedPolicySize", ok)

    def raw(self, form):
        import urllib.request
        req = urllib.request.Request(self.emu.endpoint + "/", data=form.encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    # ---- GetSessionToken, GetFederationToken, GetAccessKeyInfo ----

    def test_get_session_token(self):
        creds = self.sts.get_session_token(DurationSeconds=3600)["Credentials"]
        self.assertTrue(3500 < self.expires_in(creds) <= 3605)
        r = self.error(self.sts.get_session_token, DurationSeconds=129601)
        self.assertEqual(r["Error"]["Code"], "ValidationError")

    def test_get_federation_token(self):
        resp = self.client(key="111122223333").get_federation_token(
            Name="ci-bot", DurationSeconds=1800,
            Policy=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
        user = resp["FederatedUser"]
        self.assertEqual(user, {"FederatedUserId": "111122223333:ci-bot",
                                "Arn": "arn:aws:sts::111122223333:federated-user/ci-bot"})
        self.assertTrue(1700 < self.expires_in(resp["Credentials"]) <= 1805)
        self.assertIn("PackedPolicySize", resp)
        ident = self.client(creds=resp["Credentials"]).get_caller_identity()
        self.assertEqual((ident["Arn"], ident["UserId"], ident["Account"]),
                         (user["Arn"], user["FederatedUserId"], "111122223333"))
        # 12 hours by default, but the root's sessions last one hour at most.
        self.assertEqual(self.expires_in(self.sts.get_federation_token(Name="dflt")["Credentials"])
                         // 60, 59)
        for kwargs in (dict(Name="x"), dict(Name="a" * 33), dict(Name="no spaces"),
                       dict(Name="ok", DurationSeconds=129601),
                       dict(Name="ok", DurationSeconds=600)):
            self.assertEqual(self.error(self.sts.get_federation_token, **kwargs)["Error"]["Code"],
                             "ValidationError", kwargs)
        r = self.error(self.sts.get_federation_token, Name="ok", Policy="[1,2")
        self.assertEqual(r["Error"]["Code"], "MalformedPolicyDocument")
        out = self.aws("get-federation-token", "--name", "cli-user")
        self.assertEqual(out["FederatedUser"]["Arn"],
                         "arn:aws:sts::000000000000:federated-user/cli-user")

    def test_get_access_key_info(self):
        self.assertEqual(self.sts.get_access_key_info(AccessKeyId="AKIAIOSFODNN7EXAMPLE")["Account"],
                         "000000000000")
        creds = self.client(key="444455556666").get_session_token()["Credentials"]
        self.assertEqual(self.sts.get_access_key_info(AccessKeyId=creds["AccessKeyId"])["Account"],
                         "444455556666")
        r = self.error(self.sts.get_access_key_info, AccessKeyId="AKIA-not-a-key!")
        self.assertEqual(r["Error"]["Code"], "ValidationError")
        out = self.aws("get-access-key-info", "--access-key-id", creds["AccessKeyId"])
        self.assertEqual(out, {"Account": "444455556666"})

    def test_decode_authorization_message(self):
        # Nothing in the emulator encodes one (no policy is enforced): refused as AWS
        # refuses a message that is not its own.
        r = self.error(self.sts.decode_authorization_message, EncodedMessage="abc")
        self.assertEqual(r["Error"]["Code"], "InvalidAuthorizationMessageException")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)

    # ---- session parameters (issue 14's STS audit) ----

    def policy(self, statements=1):
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::bucket-%d/*" % i} for i in range(statements)]})

    def test_session_parameter_validation(self):
        tags = [{"Key": "k%d" % i, "Value": "v"} for i in range(51)]
        cases = [
            (dict(Tags=tags), "ValidationError", "length less than or equal to 50"),
            (dict(Tags=[{"Key": "bad!key", "Value": "v"}]), "ValidationError",
             "tags.1.member.key"),
            (dict(Tags=[{"Key": "", "Value": "v"}]), "ValidationError",
             "length greater than or equal to 1"),
            (dict(Tags=[{"Key": "k", "Value": "x" * 257}]), "ValidationError",
             "tags.1.member.value"),
            (dict(Tags=[{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}]),
             "InvalidParameterValue", "Duplicate tag keys"),
            (dict(Tags=[{"Key": "Team", "Value": "a"}], TransitiveTagKeys=["Project"]),
             "InvalidParameterValue",
             "The specified transitive tag key must be included in the requested tags."),
            (dict(TransitiveTagKeys=["Project"]), "InvalidParameterValue",
             "The specified transitive tag key must be included in the requested tags."),
            (dict(TransitiveTagKeys=["k%d" % i for i in range(51)]), "ValidationError",
             "transitiveTagKeys"),
            (dict(ExternalId="x"), "ValidationError", "externalId"),
            (dict(ExternalId="has space"), "ValidationError", "regular expression"),
            (dict(SourceIdentity="aws:me"), "ValidationError", "sourceIdentity"),
            (dict(SourceIdentity="a" * 65), "ValidationError", "sourceIdentity"),
            (dict(SerialNumber="arn:aws:iam::123456789012:mfa/u", TokenCode="12345a"),
             "ValidationError", "tokenCode"),
            (dict(SerialNumber="arn:aws:iam::123456789012:mfa/u"), "ValidationError",
             "TokenCode"),
            (dict(PolicyArns=[{"arn": "arn:aws:iam::aws:role/NotAPolicy"}]), "ValidationError",
             "policy ARN"),
            (dict(PolicyArns=[{"arn": "arn:aws:iam::aws:policy/P%d" % i} for i in range(11)]),
             "ValidationError", "policyArns"),
            (dict(Policy=json.dumps({"Version": "2012-10-17"})), "MalformedPolicyDocument",
             "Syntax errors in policy."),
            (dict(Policy=json.dumps({"Statement": [{"Effect": "Maybe", "Action": "*"}]})),
             "MalformedPolicyDocument", "Syntax errors in policy."),
        ]
        for extra, code, text in cases:
            with self.subTest(extra=list(extra)):
                r = self.error(self.sts.assume_role, RoleArn=ROLE, RoleSessionName="s1", **extra)
                self.assertEqual(r["Error"]["Code"], code)
                self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
                self.assertIn(text, r["Error"]["Message"])
        ok = self.sts.assume_role(
            RoleArn=ROLE, RoleSessionName="s1", ExternalId="ext-id:1/2", SourceIdentity="alice",
            SerialNumber="arn:aws:iam::123456789012:mfa/alice", TokenCode="123456",
            Tags=[{"Key": "team", "Value": "ci"}, {"Key": "caf\u00e9 key", "Value": ""}],
            TransitiveTagKeys=["team"])
        self.assertEqual(ok["SourceIdentity"], "alice")
        self.assertIn("PackedPolicySize", ok)
        r = self.error(self.sts.get_federation_token, Name="fed", Tags=[{"Key": "a b!", "Value": ""}])
        self.assertEqual(r["Error"]["Code"], "ValidationError")
        r = self.error(self.sts.get_session_token, TokenCode="123")
        self.assertEqual(r["Error"]["Code"], "ValidationError")

    def test_packed_policy_size(self):
        def size(**extra):
            return self.sts.assume_role(RoleArn=ROLE, RoleSessionName="pp", **extra)[
                "PackedPolicySize"]
        small, large = size(Policy=self.policy(1)), size(Policy=self.policy(20))
        self.assertTrue(1 <= small < large <= 100, (small, large))
        self.assertGreater(size(Policy=self.policy(1), Tags=[{"Key": "k", "Value": "v" * 200}]),
                           small)
        self.assertNotIn("PackedPolicySize",
                         self.sts.assume_role(RoleArn=ROLE, RoleSessionName="pp"))
        fed = self.sts.get_federation_token(Name="fed", Policy=self.policy(20))
        self.assertEqual(fed["PackedPolicySize"], large)
        # A policy near the 2,048-character limit plus tags: too large once packed.
        big = self.policy(23)
        self.assertLessEqual(len(big), 2048)
        tags = [{"Key": "key%02d" % i, "Value": "v" * 60} for i in range(20)]
        for fn, kwargs in ((self.sts.assume_role, dict(RoleArn=ROLE, RoleSessionName="pp")),
                           (self.sts.get_federation_token, dict(Name="fed"))):
            r = self.error(fn, Policy=big, Tags=tags, **kwargs)
            self.assertEqual(r["Error"]["Code"], "PackedPolicyTooLarge")
            self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
            self.assertRegex(r["Error"]["Message"], r"^Packed policy consumes \d+% of allotted space")

    def test_role_chaining_limit(self):
        creds = self.sts.assume_role(RoleArn=ROLE, RoleSessionName="first")["Credentials"]
        chained = self.client(creds=creds)
        r = self.error(chained.assume_role, RoleArn="arn:aws:iam::123456789012:role/next",
                       RoleSessionName="second", DurationSeconds=7200)
        self.assertEqual(r["Error"]["Code"], "ValidationError")
        self.assertIn("role chaining", r["Error"]["Message"])
        out = chained.assume_role(RoleArn="arn:aws:iam::123456789012:role/next",
                                  RoleSessionName="second", DurationSeconds=3600)
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::123456789012:assumed-role/next/second")
        # Long-term keys may ask for more.
        self.sts.assume_role(RoleArn=ROLE, RoleSessionName="long", DurationSeconds=7200)

    def test_session_credentials_refused_with_enforce_iam(self):
        strict = Emulator(extra_env={"ENFORCE_IAM": "1"})
        try:
            def client(creds=None):
                kwargs = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
                if creds:
                    kwargs = {"aws_access_key_id": creds["AccessKeyId"],
                              "aws_secret_access_key": creds["SecretAccessKey"],
                              "aws_session_token": creds["SessionToken"]}
                return boto3.client("sts", endpoint_url=strict.endpoint, region_name="us-east-1",
                                    config=Config(retries={"total_max_attempts": 1}), **kwargs)
            creds = client().assume_role(RoleArn=ROLE, RoleSessionName="s1")["Credentials"]
            tmp = client(creds)
            for op, fn, kwargs in (("GetSessionToken", tmp.get_session_token, {}),
                                   ("GetFederationToken", tmp.get_federation_token,
                                    {"Name": "fed"})):
                r = self.error(fn, **kwargs)
                self.assertEqual(r["Error"]["Code"], "AccessDenied")
                self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 403)
                self.assertEqual(r["Error"]["Message"],
                                 "Cannot call %s with session credentials" % op)
            # Long-term keys still may.
            self.assertIn("Credentials", client().get_session_token())
        finally:
            strict.stop()

    # ---- SAML ----

    def test_assume_role_with_saml(self):
        resp = self.sts.assume_role_with_saml(RoleArn=ROLE, PrincipalArn=IDP,
                                              SAMLAssertion=saml_assertion(), DurationSeconds=1200)
        self.assertEqual(resp["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::123456789012:assumed-role/deployer/alice")
        self.assertEqual(resp["Subject"], "alice@example.com")
        self.assertEqual(resp["SubjectType"], "persistent")
        self.assertEqual(resp["Issuer"], "https://idp.example.com/saml")
        self.assertEqual(resp["Audience"], "https://signin.aws.amazon.com/saml")
        qualifier = base64.b64encode(hashlib.sha1(
            b"https://idp.example.com/saml" + b"123456789012" + b"/CorpIdP").digest()).decode()
        self.assertEqual(resp["NameQualifier"], qualifier)
        self.assertTrue(1100 < self.expires_in(resp["Credentials"]) <= 1205)
        ident = self.client(creds=resp["Credentials"]).get_caller_identity()
        self.assertEqual(ident["Arn"], resp["AssumedRoleUser"]["Arn"])
        transient = self.sts.assume_role_with_saml(
            RoleArn=ROLE, PrincipalArn=IDP, SAMLAssertion=saml_assertion(
                fmt="urn:oasis:names:tc:SAML:2.0:nameid-format:transient"))
        self.assertEqual(transient["SubjectType"], "transient")

    def test_assume_role_with_saml_errors(self):
        bad = [
            (saml_assertion(session=None), "InvalidIdentityToken"),
            (base64.b64encode(b"<Response><unclosed></Response>").decode(), "InvalidIdentityToken"),
            (base64.b64encode(b"<html>not saml</html>").decode(), "InvalidIdentityToken"),
            ("not base64 at all!", "InvalidIdentityToken"),
            (saml_assertion(session="bad name!"), "ValidationError"),
        ]
        for assertion, code in bad:
            r = self.error(self.sts.assume_role_with_saml, RoleArn=ROLE, PrincipalArn=IDP,
                           SAMLAssertion=assertion)
            self.assertEqual(r["Error"]["Code"], code, assertion[:40])
        r = self.error(self.sts.assume_role_with_saml, RoleArn=ROLE,
                       PrincipalArn="arn:aws:iam::123456789012:role/not-an-idp",
                       SAMLAssertion=saml_assertion())
        self.assertEqual(r["Error"]["Code"], "ValidationError")
        r = self.error(self.sts.assume_role_with_saml, RoleArn=ROLE, PrincipalArn=IDP,
                       SAMLAssertion=saml_assertion(), DurationSeconds=43201)
        self.assertEqual(r["Error"]["Code"], "ValidationError")

    def test_saml_cli(self):
        out = self.aws("assume-role-with-saml", "--role-arn", ROLE, "--principal-arn", IDP,
                       "--saml-assertion", saml_assertion(session="cli-user"))
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::123456789012:assumed-role/deployer/cli-user")
        self.assertEqual(out["Subject"], "alice@example.com")
        err = self.aws("assume-role-with-saml", "--role-arn", ROLE, "--principal-arn", IDP,
                       "--saml-assertion", base64.b64encode(b"<x>").decode(), ok=False)
        self.assertIn("InvalidIdentityToken", err)

    # ---- web identity ----

    def test_assume_role_with_web_identity(self):
        token = jwt({"iss": "https://token.actions.githubusercontent.com",
                     "sub": "repo:org/app:ref:refs/heads/main", "aud": "sts.amazonaws.com",
                     "exp": int(time.time()) + 600})
        resp = self.sts.assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName="gha-1", WebIdentityToken=token, DurationSeconds=900)
        self.assertEqual(resp["SubjectFromWebIdentityToken"], "repo:org/app:ref:refs/heads/main")
        self.assertEqual(resp["Audience"], "sts.amazonaws.com")
        self.assertEqual(resp["Provider"], "arn:aws:iam::123456789012:oidc-provider/"
                                           "token.actions.githubusercontent.com")
        self.assertEqual(resp["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::123456789012:assumed-role/deployer/gha-1")
        ident = self.client(creds=resp["Credentials"]).get_caller_identity()
        self.assertEqual(ident["UserId"], resp["AssumedRoleUser"]["AssumedRoleId"])
        # An audience list: its first; an OAuth provider: its ProviderId.
        resp = self.sts.assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName="g2", ProviderId="www.amazon.com",
            WebIdentityToken=jwt({"iss": "https://x", "sub": "u", "aud": ["a1", "a2"]}))
        self.assertEqual((resp["Audience"], resp["Provider"]), ("a1", "www.amazon.com"))

    def test_web_identity_errors(self):
        bad = [
            ("not-a-jwt", "InvalidIdentityToken"),
            ("a.b.c", "InvalidIdentityToken"),
            (jwt({"iss": "https://x", "aud": "a"}), "InvalidIdentityToken"),  # no sub
            (jwt({"iss": "https://x", "sub": "u", "aud": "a", "exp": 1000}),
             "ExpiredTokenException"),
        ]
        for token, code in bad:
            r = self.error(self.sts.assume_role_with_web_identity, RoleArn=ROLE,
                           RoleSessionName="s1", WebIdentityToken=token)
            self.assertEqual(r["Error"]["Code"], code, token)
            self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
        r = self.error(self.sts.assume_role_with_web_identity, RoleArn=ROLE, RoleSessionName="s",
                       WebIdentityToken=jwt({"iss": "https://x", "sub": "u", "aud": "a"}))
        self.assertEqual(r["Error"]["Code"], "ValidationError")
        out = self.aws("assume-role-with-web-identity", "--role-arn", ROLE, "--role-session-name",
                       "cli", "--web-identity-token",
                       jwt({"iss": "https://oidc.example.com", "sub": "me", "aud": "app"}))
        self.assertEqual(out["SubjectFromWebIdentityToken"], "me")
        err = self.aws("assume-role-with-web-identity", "--role-arn", ROLE, "--role-session-name",
                       "cli", "--web-identity-token", "garbage", ok=False)
        self.assertIn("InvalidIdentityToken", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
