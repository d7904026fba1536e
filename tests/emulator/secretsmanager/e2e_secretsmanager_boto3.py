#!/usr/bin/python3
"""End-to-end Secrets Manager tests with Debian's boto3 against a real
`airgap emulator` ($AIRGAP_BIN): versions and staging labels as AWS moves
them, deletion and restore, listing with filters and pagination, passwords,
policies, KMS keys (checked against the emulator's KMS) and rotation without
Lambda. Error codes are the ones the Secrets Manager API reference lists."""

import json
import os
import re
import string
import sys
import unittest
import uuid
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402


def client(endpoint, service="secretsmanager", region="us-east-1", validate=True):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=region,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=validate))


class SecretsCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator()
        cls.sm = client(cls.emu.endpoint)
        cls.raw = client(cls.emu.endpoint, validate=False)
        cls.kms = client(cls.emu.endpoint, "kms")

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def code(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response["Error"]["Code"]

    def stages(self, name):
        return self.sm.describe_secret(SecretId=name)["VersionIdsToStages"]

    def test_create_get_describe(self):
        out = self.sm.create_secret(Name="app/db", SecretString='{"user":"u","pw":"p"}',
                                    Description="db", Tags=[{"Key": "env", "Value": "ci"}])
        self.assertRegex(out["ARN"],
                         r"^arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-"
                         r"[A-Za-z0-9]{6}$")
        got = self.sm.get_secret_value(SecretId="app/db")
        self.assertEqual(json.loads(got["SecretString"]), {"user": "u", "pw": "p"})
        self.assertEqual(got["VersionStages"], ["AWSCURRENT"])
        self.assertEqual(got["VersionId"], out["VersionId"])
        # By full ARN and by the ARN without its random suffix.
        self.assertEqual(self.sm.get_secret_value(SecretId=out["ARN"])["Name"], "app/db")
        self.assertEqual(self.sm.get_secret_value(SecretId=out["ARN"][:-7])["Name"], "app/db")
        desc = self.sm.describe_secret(SecretId="app/db")
        self.assertEqual(desc["Description"], "db")
        self.assertEqual(desc["Tags"], [{"Key": "env", "Value": "ci"}])
        self.assertEqual(desc["VersionIdsToStages"], {out["VersionId"]: ["AWSCURRENT"]})
        self.assertEqual(self.code(self.sm.create_secret, Name="app/db", SecretString="x"),
                         "ResourceExistsException")
        self.assertEqual(self.code(self.sm.get_secret_value, SecretId="nope"),
                         "ResourceNotFoundException")
        self.assertEqual(self.code(self.sm.create_secret, Name="both", SecretString="x",
                                   SecretBinary=b"y"), "InvalidParameterException")
        self.assertEqual(self.code(self.sm.create_secret, Name="bad name!"),
                         "InvalidParameterException")
        # A secret without a value has no AWSCURRENT to read.
        self.sm.create_secret(Name="empty")
        self.assertEqual(self.code(self.sm.get_secret_value, SecretId="empty"),
                         "ResourceNotFoundException")

    def test_binary_secret(self):
        data = bytes(range(256))
        self.sm.create_secret(Name="bin", SecretBinary=data)
        got = self.sm.get_secret_value(SecretId="bin")
        self.assertEqual(got["SecretBinary"], data)
        self.assertNotIn("SecretString", got)

    def test_idempotent_token(self):
        token = str(uuid.uuid4())
        a = self.sm.create_secret(Name="idem", SecretString="v1", ClientRequestToken=token)
        b = self.sm.create_secret(Name="idem", SecretString="v1", ClientRequestToken=token)
        self.assertEqual(a["VersionId"], token)
        self.assertEqual(b["VersionId"], token)
        t2 = str(uuid.uuid4())
        self.sm.put_secret_value(SecretId="idem", SecretString="v2", ClientRequestToken=t2)
        again = self.sm.put_secret_value(SecretId="idem", SecretString="v2",
                                         ClientRequestToken=t2)
        self.assertEqual(again["VersionId"], t2)
        self.assertEqual(len(self.stages("idem")), 2)
        self.assertEqual(self.code(self.sm.put_secret_value, SecretId="idem",
                                   SecretString="other", ClientRequestToken=t2),
                         "ResourceExistsException")

    def test_versions_and_stages(self):
        v1 = self.sm.create_secret(Name="rot", SecretString="one")["VersionId"]
        v2 = self.sm.put_secret_value(SecretId="rot", SecretString="two")["VersionId"]
        self.assertEqual(self.stages("rot"), {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]})
        v3 = self.sm.put_secret_value(SecretId="rot", SecretString="three")["VersionId"]
        # v1 lost every label: deprecated, not in the map.
        self.assertEqual(self.stages("rot"), {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]})
        self.assertEqual(self.sm.get_secret_value(SecretId="rot", VersionStage="AWSPREVIOUS")[
            "SecretString"], "two")
        self.assertEqual(self.sm.get_secret_value(SecretId="rot", VersionId=v1)["SecretString"],
                         "one")
        # A rotation by hand: AWSPENDING, then moved to AWSCURRENT.
        v4 = self.sm.put_secret_value(SecretId="rot", SecretString="four",
                                      VersionStages=["AWSPENDING"])["VersionId"]
        self.assertEqual(self.sm.get_secret_value(SecretId="rot")["SecretString"], "three")
        self.assertEqual(self.sm.get_secret_value(SecretId="rot", VersionStage="AWSPENDING")[
            "SecretString"], "four")
        self.assertEqual(self.code(self.sm.update_secret_version_stage, SecretId="rot",
                                   VersionStage="AWSCURRENT", MoveToVersionId=v4),
                         "InvalidParameterException")
        self.sm.update_secret_version_stage(SecretId="rot", VersionStage="AWSCURRENT",
                                            MoveToVersionId=v4, RemoveFromVersionId=v3)
        self.sm.update_secret_version_stage(SecretId="rot", VersionStage="AWSPENDING",
                                            RemoveFromVersionId=v4)
        self.assertEqual(self.stages("rot"), {v3: ["AWSPREVIOUS"], v4: ["AWSCURRENT"]})
        self.assertEqual(self.sm.get_secret_value(SecretId="rot")["SecretString"], "four")
        # Custom labels move between versions.
        self.sm.update_secret_version_stage(SecretId="rot", VersionStage="blue",
                                            MoveToVersionId=v1)
        self.assertEqual(self.sm.get_secret_value(SecretId="rot", VersionStage="blue")[
            "SecretString"], "one")
        self.assertEqual(self.code(self.sm.get_secret_value, SecretId="rot", VersionId=v1,
                                   VersionStage="AWSCURRENT"), "InvalidParameterException")
        self.assertEqual(self.code(self.sm.get_secret_value, SecretId="rot",
                                   VersionStage="nolabel"), "ResourceNotFoundException")
        listed = self.sm.list_secret_version_ids(SecretId="rot")["Versions"]
        self.assertEqual({v["VersionId"] for v in listed}, {v1, v3, v4})
        every = self.sm.list_secret_version_ids(SecretId="rot", IncludeDeprecated=True)
        self.assertEqual({v["VersionId"] for v in every["Versions"]}, {v1, v2, v3, v4})
        page = self.sm.list_secret_version_ids(SecretId="rot", IncludeDeprecated=True,
                                               MaxResults=3)
        self.assertEqual(len(page["Versions"]), 3)
        rest = self.sm.list_secret_version_ids(SecretId="rot", IncludeDeprecated=True,
                                               MaxResults=3, NextToken=page["NextToken"])
        self.assertEqual(len(rest["Versions"]), 1)
        # UpdateSecret with a value makes a new AWSCURRENT version.
        v5 = self.sm.update_secret(SecretId="rot", SecretString="five",
                                   Description="d")["VersionId"]
        self.assertEqual(self.stages("rot")[v5], ["AWSCURRENT"])
        self.assertEqual(self.stages("rot")[v4], ["AWSPREVIOUS"])

    def test_delete_and_restore(self):
        self.sm.create_secret(Name="gone", SecretString="x")
        self.assertEqual(self.code(self.raw.delete_secret, SecretId="gone",
                                   RecoveryWindowInDays=6), "InvalidParameterException")
        self.assertEqual(self.code(self.sm.delete_secret, SecretId="gone",
                                   RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True),
                         "InvalidParameterException")
        out = self.sm.delete_secret(SecretId="gone", RecoveryWindowInDays=7)
        self.assertIn("DeletionDate", out)
        self.assertIn("DeletedDate", self.sm.describe_secret(SecretId="gone"))
        for fn, kw in ((self.sm.get_secret_value, {}),
                       (self.sm.put_secret_value, {"SecretString": "y"}),
                       (self.sm.update_secret, {"Description": "z"})):
            self.assertEqual(self.code(fn, SecretId="gone", **kw), "InvalidRequestException")
        self.assertEqual(self.code(self.sm.create_secret, Name="gone", SecretString="x"),
                         "InvalidRequestException")
        names = [s["Name"] for s in self.sm.list_secrets()["SecretList"]]
        self.assertNotIn("gone", names)
        self.sm.restore_secret(SecretId="gone")
        self.assertEqual(self.sm.get_secret_value(SecretId="gone")["SecretString"], "x")
        self.sm.delete_secret(SecretId="gone", ForceDeleteWithoutRecovery=True)
        self.assertEqual(self.code(self.sm.describe_secret, SecretId="gone"),
                         "ResourceNotFoundException")
        self.sm.create_secret(Name="gone", SecretString="new")

    def test_list_filters_and_pagination(self):
        region = client(self.emu.endpoint, region="eu-central-1")
        for i in range(5):
            region.create_secret(Name="svc/%d" % i, Description="Service %d" % i,
                                 Tags=[{"Key": "team", "Value": "a" if i % 2 else "b"}])
        region.create_secret(Name="other", Description="unrelated")
        seen, token = [], None
        while True:
            kw = {"MaxResults": 2}
            if token:
                kw["NextToken"] = token
            page = region.list_secrets(**kw)
            seen += [s["Name"] for s in page["SecretList"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, ["svc/0", "svc/1", "svc/2", "svc/3", "svc/4", "other"])

        def names(filters, **kw):
            return sorted(s["Name"] for s in region.list_secrets(Filters=filters,
                                                                 **kw)["SecretList"])
        self.assertEqual(names([{"Key": "name", "Values": ["svc/"]}]),
                         ["svc/0", "svc/1", "svc/2", "svc/3", "svc/4"])
        self.assertEqual(names([{"Key": "name", "Values": ["SVC/"]}]), [])
        self.assertEqual(names([{"Key": "description", "Values": ["service 1"]}]), ["svc/1"])
        self.assertEqual(names([{"Key": "tag-value", "Values": ["a"]}]), ["svc/1", "svc/3"])
        self.assertEqual(names([{"Key": "tag-key", "Values": ["team"]},
                                {"Key": "name", "Values": ["svc/3", "svc/4"]}]),
                         ["svc/3", "svc/4"])
        self.assertEqual(names([{"Key": "name", "Values": ["!svc"]}]), ["other"])
        self.assertEqual(names([{"Key": "all", "Values": ["UNREL"]}]), ["other"])
        desc = region.list_secrets(SortOrder="desc")["SecretList"]
        self.assertEqual(desc[0]["Name"], "other")
        self.assertEqual(self.code(self.raw.list_secrets,
                                   Filters=[{"Key": "bogus", "Values": ["x"]}]),
                         "InvalidParameterException")
        self.assertEqual(self.code(self.sm.list_secrets, NextToken="garbage"),
                         "InvalidNextTokenException")

    def test_list_keeps_creation_order_within_a_millisecond(self):
        # CreatedDate has millisecond resolution and secrets made in a row
        # share it; the list is still in creation order, whatever the names
        # (they run backwards here, so sorting ties by name would show).
        region = client(self.emu.endpoint, region="ap-south-1")
        made = ["tie/%02d" % (39 - i) for i in range(40)]
        for name in made:
            region.create_secret(Name=name, SecretString="v")
        listed = [s["Name"] for s in region.list_secrets(MaxResults=100)["SecretList"]]
        self.assertEqual(listed, made)
        desc = region.list_secrets(MaxResults=100, SortOrder="desc")["SecretList"]
        self.assertEqual([s["Name"] for s in desc], made[::-1])

    def test_random_password(self):
        pw = self.sm.get_random_password()["RandomPassword"]
        self.assertEqual(len(pw), 32)
        for cls in (string.ascii_lowercase, string.ascii_uppercase, string.digits,
                    string.punctuation):
            self.assertTrue(any(c in cls for c in pw), pw)
        self.assertNotIn(" ", pw)
        pw = self.sm.get_random_password(PasswordLength=200, ExcludePunctuation=True,
                                         ExcludeUppercase=True, ExcludeCharacters="abc0")[
            "RandomPassword"]
        self.assertEqual(len(pw), 200)
        self.assertTrue(re.fullmatch(r"[d-z1-9]+", pw), pw)
        pw = self.sm.get_random_password(PasswordLength=300, IncludeSpace=True,
                                         ExcludeNumbers=True)["RandomPassword"]
        self.assertFalse(any(c.isdigit() for c in pw))
        pw = self.sm.get_random_password(PasswordLength=4)["RandomPassword"]
        self.assertEqual(len(pw), 4)
        self.assertTrue(any(c.isdigit() for c in pw) and any(c.islower() for c in pw))
        pw = self.sm.get_random_password(PasswordLength=50, ExcludeLowercase=True,
                                         ExcludeUppercase=True, ExcludeNumbers=True,
                                         RequireEachIncludedType=False)["RandomPassword"]
        self.assertTrue(all(c in string.punctuation for c in pw), pw)
        self.assertEqual(self.code(self.sm.get_random_password, PasswordLength=3),
                         "InvalidParameterException")
        self.assertEqual(self.code(self.raw.get_random_password, PasswordLength=4097),
                         "InvalidParameterException")
        self.assertEqual(self.code(self.sm.get_random_password, ExcludeLowercase=True,
                                   ExcludeUppercase=True, ExcludeNumbers=True,
                                   ExcludePunctuation=True), "InvalidParameterException")

    def test_tags_and_policy(self):
        self.sm.create_secret(Name="tagged", SecretString="x")
        self.sm.tag_resource(SecretId="tagged", Tags=[{"Key": "a", "Value": "1"},
                                                      {"Key": "b", "Value": "2"}])
        self.sm.tag_resource(SecretId="tagged", Tags=[{"Key": "a", "Value": "3"}])
        self.sm.untag_resource(SecretId="tagged", TagKeys=["b"])
        self.assertEqual(self.sm.describe_secret(SecretId="tagged")["Tags"],
                         [{"Key": "a", "Value": "3"}])
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
        self.sm.put_resource_policy(SecretId="tagged", ResourcePolicy=policy)
        self.assertEqual(self.sm.get_resource_policy(SecretId="tagged")["ResourcePolicy"],
                         policy)
        self.assertEqual(self.code(self.sm.put_resource_policy, SecretId="tagged",
                                   ResourcePolicy="{not json"),
                         "MalformedPolicyDocumentException")
        public = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*",
                                            "Action": "*", "Resource": "*"}]})
        self.assertEqual(self.code(self.sm.put_resource_policy, SecretId="tagged",
                                   ResourcePolicy=public, BlockPublicPolicy=True),
                         "PublicPolicyException")
        self.assertTrue(self.sm.validate_resource_policy(ResourcePolicy=policy)[
            "PolicyValidationPassed"])
        self.sm.delete_resource_policy(SecretId="tagged")
        self.assertNotIn("ResourcePolicy", self.sm.get_resource_policy(SecretId="tagged"))

    def test_kms_keys(self):
        key = self.kms.create_key()["KeyMetadata"]
        self.sm.create_secret(Name="cmk", SecretString="enc", KmsKeyId=key["KeyId"])
        self.assertEqual(self.sm.describe_secret(SecretId="cmk")["KmsKeyId"], key["KeyId"])
        versions = self.sm.list_secret_version_ids(SecretId="cmk")["Versions"]
        self.assertEqual(versions[0]["KmsKeyIds"], [key["Arn"]])
        self.assertEqual(self.code(self.sm.create_secret, Name="nokey", SecretString="x",
                                   KmsKeyId="alias/does-not-exist"), "EncryptionFailure")
        # The default key is the AWS-managed alias/aws/secretsmanager.
        self.sm.create_secret(Name="default-key", SecretString="x")
        managed = self.kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
        self.assertEqual(self.sm.list_secret_version_ids(SecretId="default-key")["Versions"][0][
            "KmsKeyIds"], [managed["Arn"]])
        # A disabled key cannot decrypt the value any more.
        self.kms.disable_key(KeyId=key["KeyId"])
        self.assertEqual(self.code(self.sm.get_secret_value, SecretId="cmk"),
                         "DecryptionFailure")
        self.kms.enable_key(KeyId=key["KeyId"])
        self.assertEqual(self.sm.get_secret_value(SecretId="cmk")["SecretString"], "enc")

    def test_rotation_without_lambda(self):
        self.sm.create_secret(Name="rotating", SecretString="x")
        self.assertEqual(self.code(self.sm.rotate_secret, SecretId="rotating"),
                         "InvalidRequestException")
        fn = "arn:aws:lambda:us-east-1:000000000000:function:rotator"
        self.assertEqual(self.code(self.sm.rotate_secret, SecretId="rotating",
                                   RotationLambdaARN=fn,
                                   RotationRules={"AutomaticallyAfterDays": 30}),
                         "AccessDeniedException")
        desc = self.sm.describe_secret(SecretId="rotating")
        self.assertTrue(desc["RotationEnabled"])
        self.assertEqual(desc["RotationLambdaARN"], fn)
        self.assertEqual(desc["RotationRules"]["AutomaticallyAfterDays"], 30)
        self.sm.cancel_rotate_secret(SecretId="rotating")
        self.assertFalse(self.sm.describe_secret(SecretId="rotating")["RotationEnabled"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
