#!/usr/bin/python3
"""End-to-end SSM Parameter Store tests with Debian's boto3 against a real
`airgap emulator` ($AIRGAP_BIN): types, SecureString through the emulator's
KMS (the undecrypted value is a KMS ciphertext that kms:Decrypt opens),
overwrite and versions, selectors and labels, paths and filters with
pagination, tags, public /aws/service parameters, and the validation errors
the API reference lists."""

import base64
import json
import os
import sys
import unittest
import urllib.request
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402


def client(endpoint, service="ssm", region="us-east-1", validate=True):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=region,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=validate))


class SsmCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator()
        cls.ssm = client(cls.emu.endpoint)
        cls.raw = client(cls.emu.endpoint, validate=False)
        cls.kms = client(cls.emu.endpoint, "kms")

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def code(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response["Error"]["Code"]

    def test_put_get_overwrite(self):
        out = self.ssm.put_parameter(Name="/app/url", Value="http://a", Type="String",
                                     Description="url")
        self.assertEqual(out, {"Version": 1, "Tier": "Standard",
                               "ResponseMetadata": out["ResponseMetadata"]})
        p = self.ssm.get_parameter(Name="/app/url")["Parameter"]
        self.assertEqual((p["Name"], p["Type"], p["Value"], p["Version"], p["DataType"]),
                         ("/app/url", "String", "http://a", 1, "text"))
        self.assertEqual(p["ARN"], "arn:aws:ssm:us-east-1:000000000000:parameter/app/url")
        self.assertEqual(self.code(self.ssm.put_parameter, Name="/app/url", Value="x",
                                   Type="String"), "ParameterAlreadyExists")
        self.assertEqual(self.ssm.put_parameter(Name="/app/url", Value="http://b",
                                                Overwrite=True)["Version"], 2)
        self.assertEqual(self.ssm.get_parameter(Name="/app/url")["Parameter"]["Value"],
                         "http://b")
        # By ARN, by version and by label.
        self.assertEqual(self.ssm.get_parameter(Name=p["ARN"])["Parameter"]["Value"], "http://b")
        old = self.ssm.get_parameter(Name="/app/url:1")["Parameter"]
        self.assertEqual((old["Value"], old["Selector"]), ("http://a", ":1"))
        self.assertEqual(self.code(self.ssm.get_parameter, Name="/app/url:9"),
                         "ParameterVersionNotFound")
        self.assertEqual(self.code(self.ssm.get_parameter, Name="/nope"), "ParameterNotFound")
        hist = self.ssm.get_parameter_history(Name="/app/url")["Parameters"]
        self.assertEqual([(h["Version"], h["Value"]) for h in hist],
                         [(1, "http://a"), (2, "http://b")])
        self.assertEqual(hist[1]["Description"], "url")
        self.ssm.put_parameter(Name="plain", Value="a,b,c", Type="StringList")
        self.assertEqual(self.ssm.get_parameter(Name="plain")["Parameter"]["Type"], "StringList")
        self.assertEqual(self.code(self.ssm.put_parameter, Name="notype", Value="x"),
                         "ValidationException")

    def test_securestring(self):
        self.ssm.put_parameter(Name="/sec/pw", Value="hunter2", Type="SecureString")
        enc = self.ssm.get_parameter(Name="/sec/pw")["Parameter"]["Value"]
        self.assertNotEqual(enc, "hunter2")
        self.assertEqual(self.ssm.get_parameter(Name="/sec/pw", WithDecryption=True)[
            "Parameter"]["Value"], "hunter2")
        # The stored value is a KMS ciphertext under alias/aws/ssm, bound to the ARN.
        arn = "arn:aws:ssm:us-east-1:000000000000:parameter/sec/pw"
        plain = self.kms.decrypt(CiphertextBlob=base64.b64decode(enc),
                                 EncryptionContext={"PARAMETER_ARN": arn})
        self.assertEqual(plain["Plaintext"], b"hunter2")
        managed = self.kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
        self.assertEqual(plain["KeyId"], managed["Arn"])
        meta = self.ssm.describe_parameters(ParameterFilters=[
            {"Key": "Name", "Values": ["/sec/pw"]}])["Parameters"][0]
        self.assertEqual(meta["KeyId"], "alias/aws/ssm")
        # A key of our own; a disabled one makes decryption fail with InvalidKeyId.
        key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.ssm.put_parameter(Name="/sec/own", Value="v", Type="SecureString", KeyId=key)
        self.assertEqual(self.ssm.get_parameters(Names=["/sec/own", "/sec/pw"],
                                                 WithDecryption=True)["Parameters"][0]["Value"],
                         "v")
        self.kms.disable_key(KeyId=key)
        self.assertEqual(self.code(self.ssm.get_parameter, Name="/sec/own", WithDecryption=True),
                         "InvalidKeyId")
        self.kms.enable_key(KeyId=key)
        self.assertEqual(self.code(self.ssm.put_parameter, Name="/sec/bad", Value="v",
                                   Type="SecureString", KeyId="alias/missing"), "InvalidKeyId")
        self.assertEqual(self.code(self.ssm.put_parameter, Name="/sec/str", Value="v",
                                   Type="String", KeyId=key), "ValidationException")
        hist = self.ssm.get_parameter_history(Name="/sec/pw", WithDecryption=True)["Parameters"]
        self.assertEqual(hist[0]["Value"], "hunter2")

    def test_get_parameters_and_delete(self):
        self.ssm.put_parameter(Name="g1", Value="1", Type="String")
        self.ssm.put_parameter(Name="g2", Value="2", Type="String")
        out = self.ssm.get_parameters(Names=["g1", "g2", "missing", "g1:5"])
        self.assertEqual(sorted(p["Name"] for p in out["Parameters"]), ["g1", "g2"])
        self.assertEqual(sorted(out["InvalidParameters"]), ["g1:5", "missing"])
        out = self.ssm.delete_parameters(Names=["g1", "missing"])
        self.assertEqual(out["DeletedParameters"], ["g1"])
        self.assertEqual(out["InvalidParameters"], ["missing"])
        self.ssm.delete_parameter(Name="g2")
        self.assertEqual(self.code(self.ssm.delete_parameter, Name="g2"), "ParameterNotFound")

    def test_labels(self):
        for v in ("a", "b", "c"):
            self.ssm.put_parameter(Name="/lab/p", Value=v, Type="String", Overwrite=True)
        out = self.ssm.label_parameter_version(Name="/lab/p", ParameterVersion=1,
                                               Labels=["prod", "1bad", "awsx"])
        self.assertEqual(out["ParameterVersion"], 1)
        self.assertEqual(sorted(out["InvalidLabels"]), ["1bad", "awsx"])
        self.assertEqual(self.ssm.get_parameter(Name="/lab/p:prod")["Parameter"]["Value"], "a")
        # Moving the label to the latest version.
        self.ssm.label_parameter_version(Name="/lab/p", Labels=["prod"])
        self.assertEqual(self.ssm.get_parameter(Name="/lab/p:prod")["Parameter"]["Value"], "c")
        hist = self.ssm.get_parameter_history(Name="/lab/p")["Parameters"]
        self.assertEqual([h["Labels"] for h in hist], [[], [], ["prod"]])
        self.assertEqual(self.code(self.ssm.get_parameter, Name="/lab/p:nolabel"),
                         "ParameterVersionNotFound")
        self.assertEqual(self.code(self.ssm.label_parameter_version, Name="/lab/p",
                                   ParameterVersion=7, Labels=["x"]),
                         "ParameterVersionNotFound")
        labels = ["l%d" % i for i in range(10)]
        self.ssm.label_parameter_version(Name="/lab/p", ParameterVersion=2, Labels=labels)
        self.assertEqual(self.code(self.ssm.label_parameter_version, Name="/lab/p",
                                   ParameterVersion=2, Labels=["eleventh"]),
                         "ParameterVersionLabelLimitExceeded")
        out = self.ssm.unlabel_parameter_version(Name="/lab/p", ParameterVersion=3,
                                                 Labels=["prod", "nothere"])
        self.assertEqual(out["RemovedLabels"], ["prod"])
        self.assertEqual(out["InvalidLabels"], ["nothere"])

    def test_by_path_filters_pagination(self):
        names = ["/svc/a", "/svc/b", "/svc/deep/c", "/svc/deep/er/d", "/other/x"]
        for n in names:
            self.ssm.put_parameter(Name=n, Value="v" + n, Type="String",
                                   Tags=[{"Key": "team", "Value": "t1" if "deep" in n else "t0"}])
        self.ssm.put_parameter(Name="/svc/secret", Value="s", Type="SecureString")

        def path(**kw):
            out, token = [], None
            while True:
                if token:
                    kw["NextToken"] = token
                page = self.ssm.get_parameters_by_path(MaxResults=2, **kw)
                out += page["Parameters"]
                token = page.get("NextToken")
                if not token:
                    return out
        self.assertEqual([p["Name"] for p in path(Path="/svc")],
                         ["/svc/a", "/svc/b", "/svc/secret"])
        self.assertEqual([p["Name"] for p in path(Path="/svc/", Recursive=True)],
                         ["/svc/a", "/svc/b", "/svc/deep/c", "/svc/deep/er/d", "/svc/secret"])
        dec = {p["Name"]: p["Value"] for p in path(Path="/svc", WithDecryption=True)}
        self.assertEqual(dec["/svc/secret"], "s")
        self.assertEqual([p["Name"] for p in path(
            Path="/svc", Recursive=True,
            ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}])], ["/svc/secret"])
        self.assertEqual([p["Name"] for p in path(
            Path="/svc", Recursive=True,
            ParameterFilters=[{"Key": "tag:team", "Values": ["t1"]}])],
            ["/svc/deep/c", "/svc/deep/er/d"])
        self.assertEqual(self.code(self.ssm.get_parameters_by_path, Path="/svc",
                                   ParameterFilters=[{"Key": "Name", "Values": ["x"]}]),
                         "InvalidFilterKey")
        self.assertEqual(self.code(self.ssm.get_parameters_by_path, Path="/svc",
                                   ParameterFilters=[{"Key": "Type", "Option": "Contains",
                                                      "Values": ["String"]}]),
                         "InvalidFilterOption")
        self.assertEqual(self.code(self.ssm.get_parameters_by_path, Path="/svc",
                                   ParameterFilters=[{"Key": "Type", "Values": ["Nope"]}]),
                         "InvalidFilterValue")
        self.assertEqual(self.code(self.ssm.get_parameters_by_path, Path="/svc",
                                   NextToken="bogus"), "InvalidNextToken")
        # DescribeParameters with both filter styles.
        desc = self.ssm.describe_parameters(ParameterFilters=[
            {"Key": "Path", "Option": "Recursive", "Values": ["/svc/deep"]}])["Parameters"]
        self.assertEqual([d["Name"] for d in desc], ["/svc/deep/c", "/svc/deep/er/d"])
        desc = self.ssm.describe_parameters(ParameterFilters=[
            {"Key": "Name", "Option": "BeginsWith", "Values": ["/other"]}])["Parameters"]
        self.assertEqual([d["Name"] for d in desc], ["/other/x"])
        desc = self.ssm.describe_parameters(Filters=[
            {"Key": "Type", "Values": ["SecureString"]}])["Parameters"]
        self.assertIn("/svc/secret", [d["Name"] for d in desc])
        self.assertEqual(self.code(self.ssm.describe_parameters,
                                   Filters=[{"Key": "Type", "Values": ["String"]}],
                                   ParameterFilters=[{"Key": "Type", "Values": ["String"]}]),
                         "ValidationException")
        page = self.ssm.describe_parameters(MaxResults=2)
        self.assertEqual(len(page["Parameters"]), 2)
        self.assertIn("NextToken", page)

    def test_validation(self):
        for name in ("aws/x", "/ssm/x", "a/b", "bad name", "/" + "/".join(["l"] * 16)):
            code = self.code(self.ssm.put_parameter, Name=name, Value="v", Type="String")
            expect = ("HierarchyLevelLimitExceededException" if name.count("/") > 15
                      else "ValidationException")
            self.assertEqual(code, expect, name)
        self.ssm.put_parameter(Name="/" + "/".join(["l"] * 15), Value="v", Type="String")
        self.assertEqual(self.code(self.ssm.put_parameter, Name="big", Value="x" * 4097,
                                   Type="String"), "ValidationException")
        self.assertEqual(self.ssm.put_parameter(Name="big", Value="x" * 8192, Type="String",
                                                Tier="Advanced")["Tier"], "Advanced")
        self.assertEqual(self.ssm.put_parameter(Name="auto", Value="x" * 5000, Type="String",
                                                Tier="Intelligent-Tiering")["Tier"], "Advanced")
        self.assertEqual(self.code(self.raw.put_parameter, Name="huge", Value="x" * 8193,
                                   Type="String", Tier="Advanced"), "ValidationException")
        self.assertEqual(self.code(self.ssm.put_parameter, Name="big", Value="y",
                                   Overwrite=True, Tier="Standard"), "ValidationException")
        self.ssm.put_parameter(Name="num", Value="42", Type="String", AllowedPattern=r"^\d+$")
        self.assertEqual(self.code(self.ssm.put_parameter, Name="num", Value="4x2",
                                   Overwrite=True), "ParameterPatternMismatchException")
        self.assertEqual(self.code(self.ssm.put_parameter, Name="pat", Value="v", Type="String",
                                   AllowedPattern="(unclosed"),
                         "InvalidAllowedPatternException")
        self.assertEqual(self.code(self.ssm.put_parameter, Name="tagged", Value="v",
                                   Type="String", Overwrite=True,
                                   Tags=[{"Key": "k", "Value": "v"}]), "ValidationException")
        self.ssm.put_parameter(Name="ami", Value="ami-0123456789abcdef0", Type="String",
                               DataType="aws:ec2:image")
        self.assertEqual(self.ssm.get_parameter(Name="ami")["Parameter"]["DataType"],
                         "aws:ec2:image")
        self.assertEqual(self.code(self.ssm.put_parameter, Name="ami2", Value="not-an-ami",
                                   Type="String", DataType="aws:ec2:image"),
                         "ValidationException")
        policy = json.dumps([{"Type": "Expiration", "Version": "1.0",
                              "Attributes": {"Timestamp": "2030-01-01T00:00:00.000Z"}}])
        self.ssm.put_parameter(Name="expiring", Value="v", Type="String", Tier="Advanced",
                               Policies=policy)
        meta = self.ssm.describe_parameters(ParameterFilters=[
            {"Key": "Name", "Values": ["expiring"]}])["Parameters"][0]
        self.assertEqual(meta["Policies"][0]["PolicyType"], "Expiration")
        self.assertEqual(self.code(self.ssm.put_parameter, Name="badpol", Value="v",
                                   Type="String", Tier="Advanced",
                                   Policies=json.dumps([{"Type": "Bogus", "Attributes": {}}])),
                         "InvalidPolicyTypeException")

    def test_tags(self):
        self.ssm.put_parameter(Name="/t/p", Value="v", Type="String",
                               Tags=[{"Key": "a", "Value": "1"}])
        self.ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId="/t/p",
                                      Tags=[{"Key": "b", "Value": "2"}, {"Key": "a",
                                                                         "Value": "3"}])
        tags = self.ssm.list_tags_for_resource(ResourceType="Parameter",
                                               ResourceId="/t/p")["TagList"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags), [("a", "3"), ("b", "2")])
        self.ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId="/t/p",
                                           TagKeys=["a"])
        self.assertEqual(self.ssm.list_tags_for_resource(ResourceType="Parameter",
                                                         ResourceId="/t/p")["TagList"],
                         [{"Key": "b", "Value": "2"}])
        self.assertEqual(self.code(self.ssm.list_tags_for_resource, ResourceType="Parameter",
                                   ResourceId="/t/none"), "InvalidResourceId")
        self.assertEqual(self.code(self.ssm.list_tags_for_resource, ResourceType="Document",
                                   ResourceId="/t/p"), "InvalidResourceType")
        too_many = [{"Key": "k%d" % i, "Value": "v"} for i in range(50)]
        self.assertEqual(self.code(self.ssm.add_tags_to_resource, ResourceType="Parameter",
                                   ResourceId="/t/p", Tags=too_many), "TooManyTagsError")

    def test_public_parameters(self):
        name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
        p = self.ssm.get_parameter(Name=name)["Parameter"]
        self.assertRegex(p["Value"], r"^ami-[0-9a-f]{17}$")
        self.assertEqual(p["DataType"], "aws:ec2:image")
        self.assertEqual(self.ssm.get_parameter(Name=name)["Parameter"]["Value"], p["Value"])
        west = client(self.emu.endpoint, region="eu-west-1")
        self.assertNotEqual(west.get_parameter(Name=name)["Parameter"]["Value"], p["Value"])
        listed = self.ssm.get_parameters_by_path(Path="/aws/service/ami-amazon-linux-latest",
                                                 MaxResults=10)["Parameters"]
        self.assertIn(name, [x["Name"] for x in listed])
        ubuntu = ("/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/"
                  "ebs-gp2/ami-id")
        self.assertEqual(len(self.ssm.get_parameters(Names=[name, ubuntu])["Parameters"]), 2)
        self.assertEqual(self.code(self.ssm.put_parameter, Name=name, Value="ami-00000000",
                                   Type="String", Overwrite=True), "ValidationException")


class WithoutKmsCase(unittest.TestCase):
    """SERVICES without kms: SecureStrings and secrets still work, stored
    unencrypted (there is no key to use), and a reset clears both stores."""

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.emu = Emulator(extra_env={"SERVICES": "ssm,secretsmanager"})

    def tearDown(self):
        self.emu.stop()

    def test_securestring_and_secret_without_kms(self):
        ssm = client(self.emu.endpoint)
        sm = client(self.emu.endpoint, "secretsmanager")
        ssm.put_parameter(Name="/nokms/pw", Value="pw", Type="SecureString")
        self.assertEqual(ssm.get_parameter(Name="/nokms/pw", WithDecryption=True)["Parameter"][
            "Value"], "pw")
        sm.create_secret(Name="nokms", SecretString="s")
        self.assertEqual(sm.get_secret_value(SecretId="nokms")["SecretString"], "s")
        req = urllib.request.Request(self.emu.endpoint + "/_localstack/state/reset",
                                     method="POST", data=b"")
        urllib.request.urlopen(req, timeout=10).read()
        with self.assertRaises(ClientError) as cm:
            ssm.get_parameter(Name="/nokms/pw")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ParameterNotFound")
        with self.assertRaises(ClientError) as cm:
            sm.describe_secret(SecretId="nokms")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")


if __name__ == "__main__":
    unittest.main(verbosity=2)
