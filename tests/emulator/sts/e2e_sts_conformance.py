#!/usr/bin/python3
"""STS conformance (issue 14): expectations taken from sources that recorded
what AWS answers — LocalStack's AWS-validated STS tests and snapshots (role
ARN and session name checks, transitive session tags and their chained
overrides, GetFederationToken's shape, JSON answers to `Accept:
application/json`), moto's STS tests (credential formats, ARNs and ids),
the AWS SDKs' smoke tests (error codes for an empty or malformed policy),
public captures of AWS's JSON error envelope and of chained sessions
(source identity, transitive tags), and the AWS STS API reference
(durations, the root's one-hour cap, role MaxSessionDuration, role chaining).

Each test names its source. Driven with Debian's boto3 and the aws CLI
against a real `airgap emulator` ($AIRGAP_BIN); one emulator serves the
whole file."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request
import warnings
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402

AWS = "/usr/bin/aws"
ACCOUNT = "000000000000"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": ACCOUNT},
     "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]})


class StsConformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()
        cls.home = tempfile.TemporaryDirectory()
        iam = cls.make_client("iam")
        cls.role = iam.create_role(RoleName="conf-role", Path="/team/ci/",
                                   MaxSessionDuration=43200,
                                   AssumeRolePolicyDocument=TRUST)["Role"]
        cls.role2 = iam.create_role(RoleName="conf-role-2",
                                    AssumeRolePolicyDocument=TRUST)["Role"]
        cls.short = iam.create_role(RoleName="conf-short", MaxSessionDuration=3600,
                                    AssumeRolePolicyDocument=TRUST)["Role"]
        iam.create_user(UserName="conf-user")
        cls.user_key = iam.create_access_key(UserName="conf-user")["AccessKey"]

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()
        cls.home.cleanup()

    @classmethod
    def make_client(cls, service="sts", key="test", secret="test", token=None):
        return boto3.client(service, endpoint_url=cls.emu.endpoint, region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret,
                            aws_session_token=token,
                            # The server's validation is under test, not botocore's.
                            config=Config(retries={"total_max_attempts": 1},
                                          parameter_validation=False))

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.sts = self.make_client()

    def session(self, creds, service="sts"):
        return self.make_client(service, creds["AccessKeyId"], creds["SecretAccessKey"],
                                creds["SessionToken"])

    def user(self, service="sts"):
        return self.make_client(service, self.user_key["AccessKeyId"],
                                self.user_key["SecretAccessKey"])

    def error(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response

    def assert_error(self, fn, code, message=None, status=400, **kwargs):
        r = self.error(fn, **kwargs)
        self.assertEqual((r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]),
                         (code, status), kwargs)
        if message is not None:
            self.assertEqual(r["Error"]["Message"], message, kwargs)
        return r

    def expires_in(self, creds):
        return (creds["Expiration"] - datetime.now(timezone.utc)).total_seconds()

    def assert_lasts(self, creds, seconds):
        left = self.expires_in(creds)
        self.assertTrue(seconds - 120 < left <= seconds + 5, "%s s left, want %s" % (left, seconds))

    def assume(self, client=None, arn=None, name="s1", **kwargs):
        return (client or self.sts).assume_role(RoleArn=arn or self.role["Arn"],
                                                RoleSessionName=name, **kwargs)

    # ---- credentials, ARNs and ids (moto's test_sts.py, LocalStack's snapshot) ----

    def test_assume_role_credentials_and_identity(self):
        out = self.assume(name="session-name", DurationSeconds=900)
        creds = out["Credentials"]
        self.assertRegex(creds["AccessKeyId"], r"^ASIA[A-Z0-9]{16}$")
        self.assertEqual(len(creds["SecretAccessKey"]), 40)
        # moto's (and so LocalStack's) checks of AWS's token shape.
        self.assertEqual(len(creds["SessionToken"]), 356)
        self.assertTrue(creds["SessionToken"].startswith("FQoGZXIvYXdzE"))
        self.assert_lasts(creds, 900)
        # The role's path is not part of the assumed-role ARN.
        self.assertEqual(out["AssumedRoleUser"], {
            "Arn": "arn:aws:sts::%s:assumed-role/conf-role/session-name" % ACCOUNT,
            "AssumedRoleId": "%s:session-name" % self.role["RoleId"]})
        self.assertRegex(self.role["RoleId"], r"^AROA[A-Z0-9]{17}$")
        self.assertNotIn("PackedPolicySize", out)
        self.assertNotIn("SourceIdentity", out)
        self.assert_lasts(self.assume()["Credentials"], 3600)  # the default
        ident = self.session(creds).get_caller_identity()
        self.assertEqual((ident["Account"], ident["Arn"], ident["UserId"]),
                         (ACCOUNT, out["AssumedRoleUser"]["Arn"],
                          out["AssumedRoleUser"]["AssumedRoleId"]))
        self.assertEqual(self.sts.get_access_key_info(AccessKeyId=creds["AccessKeyId"])
                         ["Account"], ACCOUNT)

    def test_caller_identities(self):
        root = self.sts.get_caller_identity()
        self.assertEqual((root["Account"], root["Arn"], root["UserId"]),
                         (ACCOUNT, "arn:aws:iam::%s:root" % ACCOUNT, ACCOUNT))
        user = self.user().get_caller_identity()
        iam_user = self.make_client("iam").get_user(UserName="conf-user")["User"]
        self.assertEqual((user["Arn"], user["UserId"]), (iam_user["Arn"], iam_user["UserId"]))
        # An IAM user's session keys act as that user.
        token = self.user().get_session_token()["Credentials"]
        self.assertEqual(self.session(token).get_caller_identity()["Arn"], iam_user["Arn"])
        # A federated user: arn …:federated-user/<Name>, UserId <account>:<Name>.
        fed = self.user().get_federation_token(Name="Bob")
        self.assertEqual(fed["FederatedUser"], {
            "Arn": "arn:aws:sts::%s:federated-user/Bob" % ACCOUNT,
            "FederatedUserId": "%s:Bob" % ACCOUNT})
        ident = self.session(fed["Credentials"]).get_caller_identity()
        self.assertEqual((ident["Arn"], ident["UserId"]),
                         (fed["FederatedUser"]["Arn"], "%s:Bob" % ACCOUNT))
        # The aws CLI sees the assumed role too.
        creds = self.assume(name="cli")["Credentials"]
        env = {"PATH": "/usr/bin:/bin", "HOME": self.home.name,
               "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
               "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
               "AWS_SESSION_TOKEN": creds["SessionToken"], "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
               "AWS_PAGER": "", "AWS_EC2_METADATA_DISABLED": "true"}
        p = subprocess.run([AWS, "--endpoint-url", self.emu.endpoint, "--output", "json", "sts",
                            "get-caller-identity"], env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["Arn"],
                         "arn:aws:sts::%s:assumed-role/conf-role/cli" % ACCOUNT)

    def test_other_accounts(self):
        # LocalStack's test_get_caller_identity_{user,role}_access_key: keys
        # of another account (a 12-digit key is that account's root here, as
        # in LocalStack) and the role and user it creates.
        other = "123123123123"
        iam = self.make_client("iam", key=other)
        user = iam.create_user(UserName="other-user")["User"]
        key = iam.create_access_key(UserName="other-user")["AccessKey"]
        ident = self.make_client(key=key["AccessKeyId"],
                                 secret=key["SecretAccessKey"]).get_caller_identity()
        self.assertEqual((ident["Account"], ident["Arn"]), (other, user["Arn"]))
        role = iam.create_role(RoleName="other-role", AssumeRolePolicyDocument=TRUST)["Role"]
        for caller in (self.make_client(key=other), self.sts):
            out = self.assume(caller, arn=role["Arn"], name="x-acct")
            ident = self.session(out["Credentials"]).get_caller_identity()
            self.assertEqual((ident["Account"], ident["Arn"]),
                             (other, out["AssumedRoleUser"]["Arn"]))
            self.assertEqual(out["AssumedRoleUser"]["AssumedRoleId"],
                             "%s:x-acct" % role["RoleId"])

    # ---- parameter validation (LocalStack's test_sts_invalid_parameters) ----

    def test_invalid_role_arns_and_session_names(self):
        for arn in ("nothing-valid-in-here", "arn::b:::something/test-role",
                    "arn:a::::something/test-role", "arn:a:::something/test-role",
                    "arn:a:a::aaaaaaaaaa:"):
            self.assert_error(self.sts.assume_role, "ValidationError", "%s is invalid" % arn,
                              RoleArn=arn, RoleSessionName="Session1")
        self.assert_error(
            self.sts.assume_role, "ValidationError",
            "1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
            RoleArn=self.role["Arn"], RoleSessionName="Session1:2")

    def raw_assume(self, pairs):
        body = urllib.parse.urlencode([("Action", "AssumeRole"), ("Version", "2011-06-15")]
                                      + pairs)
        status, _, out = self.post(body, accept=None)
        code = re.search(rb"<Code>(.*?)</Code>", out)
        message = re.search(rb"<Message>(.*?)</Message>", out, re.S)
        unescape = lambda b: b.decode().replace("&apos;", "'").replace("&quot;", '"') \
            .replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        return (status, code and code.group(1).decode(),
                message and unescape(message.group(1)))

    def test_validation_as_aws_words_it(self):
        # An AWS STS wire oracle (a public probe suite recording what AWS
        # answers to AssumeRole's edge cases).
        pattern = ("[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF"
                   "\\uE000-\\uFFFD\\u10000-\\u10FFFF]+")
        role, ok = self.role["Arn"], ("RoleSessionName", "s1")
        prefix = "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: "
        cases = [
            ([("RoleArn", ""), ok], "2 validation errors detected: Value '' at 'roleArn' failed "
             "to satisfy constraint: Member must satisfy regular expression pattern: %s; Value "
             "'' at 'roleArn' failed to satisfy constraint: Member must have length greater "
             "than or equal to 20" % pattern),
            ([("RoleArn", "not-an-arn"), ok], prefix % ("not-an-arn", "roleArn") +
             "Member must have length greater than or equal to 20"),
            ([("RoleArn", "x" * 20), ok], "x" * 20 + " is invalid"),
            ([("RoleArn", "\U0001F600" * 30), ok], prefix % ("\U0001F600" * 30, "roleArn") +
             "Member must satisfy regular expression pattern: " + pattern),
            ([("RoleArn", role), ("RoleSessionName", "")], prefix % ("", "roleSessionName") +
             "Member must have length greater than or equal to 2"),
            ([("RoleArn", role), ("RoleSessionName", "a")], prefix % ("a", "roleSessionName") +
             "Member must have length greater than or equal to 2"),
            ([("RoleArn", role), ("RoleSessionName", "bad/name")],
             prefix % ("bad/name", "roleSessionName") +
             "Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
            ([("RoleArn", role), ("RoleSessionName", "a" * 65)],
             prefix % ("a" * 65, "roleSessionName") +
             "Member must have length less than or equal to 64"),
            ([("RoleArn", role), ok, ("DurationSeconds", "-1")],
             prefix % ("-1", "durationSeconds") + "Member must have value greater than or "
             "equal to 900"),
            ([("RoleArn", role), ok, ("DurationSeconds", "2147483647")],
             prefix % ("2147483647", "durationSeconds") + "Member must have value less than "
             "or equal to 43200"),
            # The first of a repeated parameter counts.
            ([("RoleArn", "not-an-arn"), ("RoleArn", role), ok],
             prefix % ("not-an-arn", "roleArn") +
             "Member must have length greater than or equal to 20"),
        ]
        for pairs, message in cases:
            self.assertEqual(self.raw_assume(pairs), (400, "ValidationError", message), pairs)
        # A code point, not a byte, is a character: 2,048 accented letters
        # pass the length check (and are then no ARN), 2,049 do not.
        self.assertEqual(self.raw_assume([("RoleArn", "\u00e9" * 300), ok])[2],
                         "\u00e9" * 300 + " is invalid")
        status, code, message = self.raw_assume([("RoleArn", "\u00e9" * 2048), ok])
        self.assertEqual((status, code), (400, "ValidationError"))
        self.assertTrue(message.startswith("\u00e9" * 100) and "validation" not in message)
        message = self.raw_assume([("RoleArn", "\u00e9" * 2049), ok])[2]
        self.assertTrue(message.startswith("1 validation error detected: Value '\u00e9"), message)
        self.assertTrue(message.endswith("Member must have length less than or equal to 2048"),
                        message[-80:])
        for pairs in ([("RoleArn", role), ok, ("DurationSeconds", "+900")],
                      [("RoleArn", role), ok, ("DurationSeconds", "0900")],
                      [("RoleArn", role), ("RoleSessionName", "b" * 64)],
                      [("RoleArn", role), ok, ("Unknown", "value")],
                      [("RoleArn", role), ok, ("RoleSessionName", "bad/name")]):
            self.assertEqual(self.raw_assume(pairs)[0], 200, pairs)

    def test_long_values_quoted_in_full(self):
        # The same AWS STS wire oracle: AWS quotes an offending value whole,
        # however long, in one- and two-error answers (the latter over 16 KiB).
        pattern = ("[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF"
                   "\\uE000-\\uFFFD\\u10000-\\u10FFFF]+")
        ok = ("RoleSessionName", "s1")
        value = "x" * 2049
        self.assertEqual(self.raw_assume([("RoleArn", value), ok]), (
            400, "ValidationError", "1 validation error detected: Value '%s' at 'roleArn' failed "
            "to satisfy constraint: Member must have length less than or equal to 2048" % value))
        value = "\u00e9" * 2049
        self.assertEqual(self.raw_assume([("RoleArn", value), ok])[2],
                         "1 validation error detected: Value '%s' at 'roleArn' failed to "
                         "satisfy constraint: Member must have length less than or equal to "
                         "2048" % value)
        value = "\U0001F600" * 2049
        message = ("2 validation errors detected: Value '%s' at 'roleArn' failed to satisfy "
                   "constraint: Member must satisfy regular expression pattern: %s; Value '%s' "
                   "at 'roleArn' failed to satisfy constraint: Member must have length less "
                   "than or equal to 2048" % (value, pattern, value))
        self.assertGreater(len(message.encode()), 16384)
        self.assertEqual(self.raw_assume([("RoleArn", value), ok]),
                         (400, "ValidationError", message))
        value = "e\u0301" * 1025
        self.assertEqual(self.raw_assume([("RoleArn", value), ok])[2],
                         "1 validation error detected: Value '%s' at 'roleArn' failed to "
                         "satisfy constraint: Member must have length less than or equal to "
                         "2048" % value)

    def test_unreadable_durations(self):
        # The AWS STS wire oracle: a DurationSeconds that is not a 32-bit
        # decimal integer is MalformedInput, with no <Message> element at all
        # (an empty one says "missing value for decimal type"), in STS's
        # namespace; "+900" and "0900" are read as 900.
        role, ok = self.role["Arn"], ("RoleSessionName", "s1")
        for value, message in (("", "missing value for decimal type"), ("abc", None),
                               ("900.0", None), ("2147483648", None), ("-2147483649", None),
                               ("9" * 40, None)):
            body = urllib.parse.urlencode([("Action", "AssumeRole"), ("Version", "2011-06-15"),
                                           ("RoleArn", role), ok, ("DurationSeconds", value)])
            status, ctype, out = self.post(body, accept=None)
            self.assertEqual((status, ctype.split(";")[0]), (400, "text/xml"), value)
            root = ET.fromstring(out)
            self.assertEqual(root.tag, "{https://sts.amazonaws.com/doc/2011-06-15/}ErrorResponse")
            error = root.find("{*}Error")
            self.assertEqual(error.findtext("{*}Code"), "MalformedInput", value)
            self.assertEqual(error.findtext("{*}Message"), message, value)
            self.assertEqual([c.tag.split("}")[1] for c in error],
                             ["Type", "Code"] + (["Message"] if message else []), value)
        self.assertEqual(self.raw_assume([("RoleArn", role), ok,
                                          ("DurationSeconds", "-2147483648")]),
                         (400, "ValidationError", "1 validation error detected: Value "
                          "'-2147483648' at 'durationSeconds' failed to satisfy constraint: "
                          "Member must have value greater than or equal to 900"))
        # Through boto3 (which sends what it is given when not validating).
        self.assert_error(self.sts.get_session_token, "MalformedInput", DurationSeconds="abc")

    def test_unknown_operations_and_versions(self):
        # The AWS STS wire oracle, and a captured AWS JSON answer for an IAM
        # action sent to STS: "Could not find operation X for version V" as
        # InvalidAction, in AWS's generic fault namespace; an absent Version
        # is NO_VERSION_SPECIFIED; the first of a repeated parameter counts.
        cases = [("Action=NoSuchAction&Version=2011-06-15", "NoSuchAction", "2011-06-15"),
                 ("Action=GetCallerIdentity", "GetCallerIdentity", "NO_VERSION_SPECIFIED"),
                 ("Action=GetCallerIdentity&Version=", "GetCallerIdentity", ""),
                 ("Action=GetCallerIdentity&Version=2000-01-01", "GetCallerIdentity",
                  "2000-01-01"),
                 ("Action=&Version=2011-06-15", "", "2011-06-15"),
                 ("Action=NoSuchAction&Action=GetCallerIdentity&Version=2011-06-15",
                  "NoSuchAction", "2011-06-15"),
                 ("Action=GetCallerIdentity&Version=2000-01-01&Version=2011-06-15",
                  "GetCallerIdentity", "2000-01-01")]
        for form, action, version in cases:
            status, ctype, out = self.post(form, accept=None)
            self.assertEqual((status, ctype.split(";")[0]), (400, "text/xml"), form)
            root = ET.fromstring(out)
            self.assertEqual(root.tag,
                             "{http://webservices.amazon.com/AWSFault/2005-15-09}ErrorResponse")
            self.assertEqual(root.findtext("{*}Error/{*}Type"), "Sender")
            self.assertEqual(root.findtext("{*}Error/{*}Code"), "InvalidAction", form)
            self.assertEqual(root.findtext("{*}Error/{*}Message"),
                             "Could not find operation %s for version %s" % (action, version))
        for form in ("Action=GetCallerIdentity&Action=NoSuchAction&Version=2011-06-15",
                     "Action=GetCallerIdentity&Version=2011-06-15&Version=2000-01-01"):
            self.assertEqual(self.post(form, accept=None)[0], 200, form)
        status, _, out = self.post("Action=CreateUser&Version=2011-06-15")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(out)["Error"],
                         {"Code": "InvalidAction", "Type": "Sender",
                          "Message": "Could not find operation CreateUser for version 2011-06-15"})
        # IAM words an unknown action the same way (a captured AWS answer).
        req = urllib.request.Request(
            self.emu.endpoint + "/", data=b"Action=NoSuchAction&Version=2010-05-08",
            method="POST", headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261203/us-east-1/iam/"
                                 "aws4_request, SignedHeaders=host, Signature=00"})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=30)
        root = ET.fromstring(cm.exception.read())
        self.assertEqual((cm.exception.code, root.findtext("{*}Error/{*}Code"),
                          root.findtext("{*}Error/{*}Message")),
                         (400, "InvalidAction",
                          "Could not find operation NoSuchAction for version 2010-05-08"))

    def test_duration_limits(self):
        # 900 s to 12 hours at most, and never past the role's MaxSessionDuration.
        for seconds in (899, 43201):
            self.assert_error(self.sts.assume_role, "ValidationError", RoleArn=self.role["Arn"],
                              RoleSessionName="dd", DurationSeconds=seconds)
        self.assert_lasts(self.assume(DurationSeconds=43200)["Credentials"], 43200)
        self.assert_error(self.sts.assume_role, "ValidationError",
                          "The requested DurationSeconds exceeds the MaxSessionDuration set for "
                          "this role.", RoleArn=self.short["Arn"], RoleSessionName="dd",
                          DurationSeconds=3601)
        self.assert_lasts(self.assume(arn=self.short["Arn"], DurationSeconds=3600)["Credentials"],
                          3600)
        # IAM's default MaxSessionDuration is one hour.
        self.assertEqual(self.role2["MaxSessionDuration"], 3600)
        self.assert_error(self.sts.assume_role, "ValidationError", RoleArn=self.role2["Arn"],
                          RoleSessionName="dd", DurationSeconds=3601)
        # Role chaining: an hour at most, asked for explicitly or not.
        chained = self.session(self.assume()["Credentials"])
        self.assert_error(chained.assume_role, "ValidationError",
                          "The requested DurationSeconds exceeds the 1 hour session limit for "
                          "roles assumed by role chaining.", RoleArn=self.role2["Arn"],
                          RoleSessionName="cc", DurationSeconds=3601)
        self.assert_lasts(self.assume(chained, arn=self.role2["Arn"])["Credentials"], 3600)

    def test_session_duration_caps(self):
        # GetSessionToken and GetFederationToken: 900 s to 36 hours, 12 by
        # default; the root's sessions get one hour at most (a longer ask
        # gets one hour, not an error).
        user = self.user()
        self.assert_lasts(user.get_session_token()["Credentials"], 43200)
        self.assert_lasts(user.get_session_token(DurationSeconds=129600)["Credentials"], 129600)
        self.assert_lasts(user.get_federation_token(Name="uu")["Credentials"], 43200)
        self.assert_lasts(user.get_federation_token(Name="uu", DurationSeconds=129600)
                          ["Credentials"], 129600)
        for fn, kwargs in ((user.get_session_token, {}),
                           (user.get_federation_token, {"Name": "u"})):
            for seconds in (899, 129601):
                self.assert_error(fn, "ValidationError", DurationSeconds=seconds, **kwargs)
        self.assert_lasts(self.sts.get_session_token()["Credentials"], 3600)
        self.assert_lasts(self.sts.get_session_token(DurationSeconds=7200)["Credentials"], 3600)
        self.assert_lasts(self.sts.get_session_token(DurationSeconds=1800)["Credentials"], 1800)
        self.assert_lasts(self.sts.get_federation_token(Name="rr")["Credentials"], 3600)
        self.assert_lasts(self.sts.get_federation_token(Name="rr", DurationSeconds=129600)
                          ["Credentials"], 3600)
        # Keys the emulator does not know act as their account's root.
        other = self.make_client(key="AKIAIOSFODNN7EXAMPLE")
        self.assert_lasts(other.get_session_token()["Credentials"], 3600)

    def test_federation_token(self):
        # LocalStack's snapshot: no policy → PackedPolicySize 0.
        out = self.user().get_federation_token(Name="TestName1", DurationSeconds=900)
        self.assertEqual(out["PackedPolicySize"], 0)
        self.assertEqual(out["FederatedUser"]["FederatedUserId"], "%s:TestName1" % ACCOUNT)
        self.assert_lasts(out["Credentials"], 900)
        self.assert_error(self.sts.get_federation_token, "ValidationError", Name="a" * 33)
        # The AWS SDKs' smoke tests: an empty policy and a policy that is not one.
        r = self.assert_error(self.sts.get_federation_token, "ValidationError", Name="temp",
                              Policy="")
        self.assertIn("Value '' at 'policy' failed to satisfy constraint", r["Error"]["Message"])
        self.assert_error(self.sts.get_federation_token, "MalformedPolicyDocument", Name="temp",
                          Policy='{"temp":true}')
        # The API reference: policy characters are tab, LF, CR and U+0020-U+00FF.
        statement = {"Effect": "Allow", "Action": "s3:GetObject",
                     "Resource": "arn:aws:s3:::b/caf\u00e9"}
        ok = json.dumps({"Version": "2012-10-17", "Statement": [statement]},
                        ensure_ascii=False)
        self.assertIn("PackedPolicySize", self.assume(name="latin1", Policy=ok))
        r = self.assert_error(self.sts.assume_role, "ValidationError", RoleArn=self.role["Arn"],
                              RoleSessionName="euro", Policy=ok.replace("\u00e9", "\u20ac"))
        self.assertTrue(r["Error"]["Message"].endswith(
            "Member must satisfy regular expression pattern: "
            "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"), r["Error"]["Message"])
        # moto: a policy past 2,048 characters.
        long_policy = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:*"],
             "Resource": "arn:aws:s3:::yyyy-xxxxx-cloud-default/my_default_folder/"
                         "folder-name-%d/*" % n} for n in range(30)]})
        r = self.assert_error(self.sts.get_federation_token, "ValidationError", Name="foo",
                              DurationSeconds=3600, Policy=long_policy)
        self.assertIn("2048", r["Error"]["Message"])

    # ---- session tags (LocalStack's TestSTSAssumeRoleTagging, AWS's guide) ----

    def test_tag_validation(self):
        self.assert_error(self.sts.assume_role, "InvalidParameterValue",
                          "The specified transitive tag key must be included in the requested "
                          "tags.", RoleArn=self.role["Arn"], RoleSessionName="tt",
                          Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"}],
                          TransitiveTagKeys=["InvalidKey"])
        # Transitive keys are case-insensitive.
        out = self.assume(name="SessionInvalidCasingTransitiveKeys",
                          Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"}],
                          TransitiveTagKeys=["sessiontag1"])
        self.assertIn("PackedPolicySize", out)
        self.assert_error(self.sts.assume_role, "InvalidParameterValue",
                          "Duplicate tag keys found. Please note that Tag keys are case "
                          "insensitive.", RoleArn=self.role["Arn"], RoleSessionName="tt",
                          Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"},
                                {"Key": "sessiontag1", "Value": "SessionValue2"}],
                          TransitiveTagKeys=["sessiontag1"])
        # Tags take room in the packed policy: 50 long tags overflow it.
        tags = [{"Key": "k%02d" % i + "x" * 100, "Value": "v" * 200} for i in range(50)]
        self.assert_error(self.sts.assume_role, "PackedPolicyTooLarge",
                          RoleArn=self.role["Arn"], RoleSessionName="tt", Tags=tags)

    def test_chained_transitive_tags(self):
        conflict = ("One of the specified transitive tag keys can't be set because it "
                    "conflicts with a transitive tag key from the calling session.")
        first = self.assume(name="Session1",
                            Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"},
                                  {"Key": "Plain", "Value": "p"}],
                            TransitiveTagKeys=["SessionTag1"])
        hop1 = self.session(first["Credentials"])
        for key in ("SessionTag1", "sessiontag1"):
            self.assert_error(hop1.assume_role, "InvalidParameterValue", conflict,
                              RoleArn=self.role2["Arn"],
                              RoleSessionName="Session2SessionTagOverride",
                              Tags=[{"Key": key, "Value": "SessionValue2"}])
        # A tag that was not transitive does not pass on: it may be set again,
        # as may a new key.
        second = self.assume(hop1, arn=self.role2["Arn"], name="Session2",
                             Tags=[{"Key": "Plain", "Value": "q"},
                                   {"Key": "clearance", "Value": "top"}])
        # The carried tag counts in the packed size of the chained session.
        self.assertIn("PackedPolicySize", second)
        # Transitive tags persist for the rest of the chain, even through a
        # session that set no tags of its own.
        plain = self.assume(hop1, arn=self.role2["Arn"], name="NoTags")
        self.assertIn("PackedPolicySize", plain)
        hop2 = self.session(plain["Credentials"])
        self.assert_error(hop2.assume_role, "InvalidParameterValue", conflict,
                          RoleArn=self.role["Arn"], RoleSessionName="Session3",
                          Tags=[{"Key": "SESSIONTAG1", "Value": "x"}])
        self.assume(hop2, name="Session3", Tags=[{"Key": "Plain", "Value": "r"}])
        # A session without transitive tags constrains nothing.
        free = self.session(self.assume(name="free", Tags=[{"Key": "SessionTag1",
                                                            "Value": "v"}])["Credentials"])
        self.assume(free, arn=self.role2["Arn"], name="free2",
                    Tags=[{"Key": "SessionTag1", "Value": "w"}])

    # ---- source identity (the API reference; captures of chained sessions) ----

    def test_source_identity(self):
        out = self.assume(name="si", SourceIdentity="alice")
        self.assertEqual(out["SourceIdentity"], "alice")
        hop = self.session(out["Credentials"])
        # It persists across the chain and cannot be changed.
        self.assertEqual(self.assume(hop, arn=self.role2["Arn"], name="si2")["SourceIdentity"],
                         "alice")
        self.assertEqual(self.assume(hop, arn=self.role2["Arn"], name="si3",
                                     SourceIdentity="alice")["SourceIdentity"], "alice")
        r = self.assert_error(hop.assume_role, "ValidationError", RoleArn=self.role2["Arn"],
                              RoleSessionName="si4", SourceIdentity="mallory")
        self.assertIn("source identity is already set", r["Error"]["Message"])
        for bad in ("aws:me", "a", "bad space"):
            self.assert_error(self.sts.assume_role, "ValidationError", RoleArn=self.role["Arn"],
                              RoleSessionName="si", SourceIdentity=bad)

    # ---- other operations ----

    def test_access_key_info_and_decode(self):
        self.assertEqual(self.sts.get_access_key_info(
            AccessKeyId=self.user_key["AccessKeyId"])["Account"], ACCOUNT)
        self.assert_error(self.sts.get_access_key_info, "ValidationError", AccessKeyId="short")
        self.assert_error(self.sts.decode_authorization_message,
                          "InvalidAuthorizationMessageException", EncodedMessage="abc")

    # ---- JSON answers to Accept: application/json (LocalStack, AWS captures) ----

    def post(self, form, accept="application/json", key="test"):
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                   "Authorization": "AWS4-HMAC-SHA256 Credential=%s/20261203/us-east-1/sts/"
                                    "aws4_request, SignedHeaders=host, Signature=00" % key}
        if accept:
            headers["Accept"] = accept
        req = urllib.request.Request(self.emu.endpoint + "/", data=form.encode(), method="POST",
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers.get("Content-Type"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read()

    def test_missing_parameters_as_aws_words_them(self):
        # Probe suites that recorded AWS's answers: STS names every absent
        # required member as a validation error, not the query services'
        # generic MissingParameter, and its XML error has no <Detail/>.
        status, _, body = self.post("Action=AssumeRole&Version=2011-06-15&RoleArn=" +
                                    urllib.parse.quote(self.role["Arn"]), accept=None)
        error = ET.fromstring(body).find("{*}Error")
        self.assertEqual(status, 400, body)
        self.assertEqual([child.tag.split("}")[1] for child in error], ["Type", "Code", "Message"])
        self.assertEqual(error.findtext("{*}Code"), "ValidationError")
        self.assertEqual(error.findtext("{*}Message"),
                         "1 validation error detected: Value null at 'roleSessionName' "
                         "failed to satisfy constraint: Member must not be null")
        status, _, body = self.post("Action=AssumeRole&Version=2011-06-15", accept=None)
        self.assertEqual(status, 400)
        self.assertEqual(ET.fromstring(body).findtext("{*}Error/{*}Message"),
                         "2 validation errors detected: Value null at 'roleArn' failed to "
                         "satisfy constraint: Member must not be null; Value null at "
                         "'roleSessionName' failed to satisfy constraint: Member must not be null")

    def test_json_answers(self):
        status, ctype, body = self.post("Action=GetSessionToken&Version=2011-06-15")
        self.assertEqual((status, ctype.split(";")[0]), (200, "application/json"))
        doc = json.loads(body)
        self.assertEqual(list(doc), ["GetSessionTokenResponse"])
        response = doc["GetSessionTokenResponse"]
        self.assertEqual(sorted(response), ["GetSessionTokenResult", "ResponseMetadata"])
        self.assertRegex(response["ResponseMetadata"]["RequestId"], r"^[0-9a-f-]{36}$")
        creds = response["GetSessionTokenResult"]["Credentials"]
        self.assertEqual(sorted(creds),
                         ["AccessKeyId", "Expiration", "SecretAccessKey", "SessionToken"])
        # The expiry is a number (epoch seconds) in JSON, as AWS answers.
        self.assertIsInstance(creds["Expiration"], (int, float))
        left = creds["Expiration"] - datetime.now(timezone.utc).timestamp()
        self.assertTrue(3400 < left <= 3605, left)

        status, _, body = self.post("Action=GetCallerIdentity&Version=2011-06-15",
                                    accept="application/json, text/plain, */*")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["GetCallerIdentityResponse"]["GetCallerIdentityResult"],
                         {"Account": ACCOUNT, "Arn": "arn:aws:iam::%s:root" % ACCOUNT,
                          "UserId": ACCOUNT})

        status, _, body = self.post(
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName=js&RoleArn=" +
            urllib.parse.quote(self.role["Arn"], safe="") +
            "&Tags.member.1.Key=k&Tags.member.1.Value=v")
        result = json.loads(body)["AssumeRoleResponse"]["AssumeRoleResult"]
        self.assertEqual(status, 200)
        self.assertEqual(result["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::%s:assumed-role/conf-role/js" % ACCOUNT)
        self.assertIsInstance(result["PackedPolicySize"], int)

        # Errors: {"Error": {"Code", "Message", "Type"}, "RequestId"}.
        status, ctype, body = self.post("Action=AssumeRole&Version=2011-06-15&RoleSessionName=x"
                                        "&RoleArn=arn%3Aaws%3Aiam%3A%3A1")
        self.assertEqual((status, ctype.split(";")[0]), (400, "application/json"))
        doc = json.loads(body)
        self.assertEqual(sorted(doc), ["Error", "RequestId"])
        self.assertEqual((doc["Error"]["Code"], doc["Error"]["Type"]),
                         ("ValidationError", "Sender"))
        self.assertIn("roleArn", doc["Error"]["Message"])
        status, _, body = self.post("Action=NoSuchThing&Version=2011-06-15")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["Error"]["Type"], "Sender")

        # Without the header (or asking for XML first), XML as before.
        for accept in (None, "text/xml, application/json", "application/xml"):
            status, ctype, body = self.post("Action=GetCallerIdentity&Version=2011-06-15",
                                            accept=accept)
            self.assertEqual(status, 200)
            self.assertEqual(ctype.split(";")[0], "text/xml", accept)
            self.assertTrue(body.startswith(b"<?xml"), accept)

    def test_web_identity_within_role_limits(self):
        import base64
        def part(obj):
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
        token = "%s.%s.c2ln" % (part({"alg": "RS256"}), part(
            {"sub": "u1", "aud": "app", "iss": "https://issuer.example.com"}))
        self.assert_error(self.sts.assume_role_with_web_identity, "ValidationError",
                          "The requested DurationSeconds exceeds the MaxSessionDuration set for "
                          "this role.", RoleArn=self.short["Arn"], RoleSessionName="web",
                          WebIdentityToken=token, DurationSeconds=7200)
        out = self.sts.assume_role_with_web_identity(RoleArn=self.short["Arn"],
                                                     RoleSessionName="web", WebIdentityToken=token)
        self.assertEqual(out["AssumedRoleUser"]["AssumedRoleId"], "%s:web" % self.short["RoleId"])
        self.assertEqual(re.sub(r"[^/]*$", "", out["Provider"]),
                         "arn:aws:iam::%s:oidc-provider/" % ACCOUNT)
        self.assertNotIn("SourceIdentity", out)

    def test_saml_session_attributes(self):
        # The IAM guide's SAML attributes: SourceIdentity, PrincipalTag:<key>,
        # TransitiveTagKeys; the API reference: the session ends at the
        # assertion's SessionNotOnOrAfter when that comes first.
        import base64
        from datetime import timedelta
        def assertion(attributes, not_after=None):
            authn = ('<saml:AuthnStatement AuthnInstant="2026-01-01T00:00:00Z"%s/>' %
                     (' SessionNotOnOrAfter="%s"' % not_after if not_after else ""))
            values = "".join(
                '<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/%s">%s'
                "</saml:Attribute>" % (name, "".join(
                    "<saml:AttributeValue>%s</saml:AttributeValue>" % v for v in vals))
                for name, vals in attributes)
            xml = ('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
                   'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Assertion>'
                   "<saml:Issuer>https://idp.example.com</saml:Issuer><saml:Subject>"
                   "<saml:NameID>alice@example.com</saml:NameID></saml:Subject>%s"
                   "<saml:AttributeStatement>%s</saml:AttributeStatement></saml:Assertion>"
                   "</samlp:Response>" % (authn, values))
            return base64.b64encode(xml.encode()).decode()
        idp = "arn:aws:iam::%s:saml-provider/Corp" % ACCOUNT
        soon = (datetime.now(timezone.utc) + timedelta(seconds=1200)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        out = self.sts.assume_role_with_saml(
            RoleArn=self.role["Arn"], PrincipalArn=idp, SAMLAssertion=assertion(
                [("RoleSessionName", ["alice"]), ("SourceIdentity", ["alice"]),
                 ("PrincipalTag:Department", ["sales"]), ("PrincipalTag:Team", ["a"]),
                 ("TransitiveTagKeys", ["Department"])], not_after=soon))
        self.assertEqual(out["SourceIdentity"], "alice")
        self.assertIn("PackedPolicySize", out)
        self.assert_lasts(out["Credentials"], 1200)
        hop = self.session(out["Credentials"])
        self.assert_error(hop.assume_role, "InvalidParameterValue", RoleArn=self.role2["Arn"],
                          RoleSessionName="hop", Tags=[{"Key": "DEPARTMENT", "Value": "hr"}])
        self.assertEqual(self.assume(hop, arn=self.role2["Arn"], name="hop",
                                     Tags=[{"Key": "Team", "Value": "b"}])["SourceIdentity"],
                         "alice")
        # Without those attributes: the default hour, no source identity.
        plain = self.sts.assume_role_with_saml(
            RoleArn=self.role["Arn"], PrincipalArn=idp,
            SAMLAssertion=assertion([("RoleSessionName", ["bob"])]))
        self.assertNotIn("SourceIdentity", plain)
        self.assertNotIn("PackedPolicySize", plain)
        self.assert_lasts(plain["Credentials"], 3600)
        # LocalStack's and moto's fixtures leave a colon out of the provider's
        # ARN; no provider is looked up, so it passes.
        fixture = self.sts.assume_role_with_saml(
            RoleArn=self.role["Arn"], PrincipalArn="arn:aws:iam:%s:saml-provider/TestProvFed"
            % ACCOUNT, SAMLAssertion=assertion([("RoleSessionName", ["testuser"])]))
        self.assertEqual(fixture["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::%s:assumed-role/conf-role/testuser" % ACCOUNT)
        for principal in ("arn:aws:iam::%s:role/not-an-idp" % ACCOUNT,
                          "arn:aws:iam::%s:saml-provider/" % ACCOUNT, "x" * 30):
            self.assert_error(self.sts.assume_role_with_saml, "ValidationError",
                              RoleArn=self.role["Arn"], PrincipalArn=principal,
                              SAMLAssertion=assertion([("RoleSessionName", ["x1"])]))
        for attributes in ([("RoleSessionName", ["x1"]), ("SourceIdentity", ["a b"])],
                           [("RoleSessionName", ["x1"]), ("PrincipalTag:k", ["v"]),
                            ("TransitiveTagKeys", ["other"])]):
            self.assert_error(self.sts.assume_role_with_saml, "InvalidIdentityToken",
                              RoleArn=self.role["Arn"], PrincipalArn=idp,
                              SAMLAssertion=assertion(attributes))

    def test_web_identity_session_claims(self):
        # The IAM guide: a token's https://aws.amazon.com/source_identity claim
        # sets the source identity; https://aws.amazon.com/tags its session
        # tags and transitive keys, which then bind the chained sessions.
        import base64
        def part(obj):
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
        def token(**claims):
            return "%s.%s.c2ln" % (part({"alg": "RS256"}), part(
                {"sub": "u1", "aud": "app", "iss": "https://issuer.example.com", **claims}))
        out = self.sts.assume_role_with_web_identity(
            RoleArn=self.role["Arn"], RoleSessionName="web", WebIdentityToken=token(**{
                "https://aws.amazon.com/source_identity": "alice",
                "https://aws.amazon.com/tags": {
                    "principal_tags": {"Department": ["sales"], "Team": ["a"]},
                    "transitive_tag_keys": ["Department"]}}))
        self.assertEqual(out["SourceIdentity"], "alice")
        self.assertIn("PackedPolicySize", out)
        hop = self.session(out["Credentials"])
        self.assert_error(hop.assume_role, "InvalidParameterValue", RoleArn=self.role2["Arn"],
                          RoleSessionName="hop", Tags=[{"Key": "department", "Value": "hr"}])
        self.assert_error(hop.assume_role, "ValidationError", RoleArn=self.role2["Arn"],
                          RoleSessionName="hop", SourceIdentity="bob")
        chained = self.assume(hop, arn=self.role2["Arn"], name="hop",
                              Tags=[{"Key": "Team", "Value": "b"}])
        self.assertEqual(chained["SourceIdentity"], "alice")
        for claims in ({"https://aws.amazon.com/source_identity": "a b"},
                       {"https://aws.amazon.com/tags": {"principal_tags": ["x"]}},
                       {"https://aws.amazon.com/tags": {"principal_tags": {"k": ["v"]},
                                                        "transitive_tag_keys": ["other"]}}):
            self.assert_error(self.sts.assume_role_with_web_identity, "InvalidIdentityToken",
                              RoleArn=self.role["Arn"], RoleSessionName="web",
                              WebIdentityToken=token(**claims))


if __name__ == "__main__":
    unittest.main(verbosity=2)
