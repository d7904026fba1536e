#!/usr/bin/python3
"""Lambda's control plane end to end with Debian's boto3 against a real
`airgap emulator` (no Docker needed): functions, AWS's validation and error
codes, the waiters' state transitions, versions, aliases with routing,
permissions, tags, reserved concurrency, function URLs, and hostile
deployment packages (which must be refused and change nothing)."""

import io
import json
import os
import sys
import unittest
import urllib.request
import warnings
import zipfile

from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_support import ROLE, Emulator, client, make_zip  # noqa: E402

CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})


class ControlPlane(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        # No Docker for this emulator: the control plane must not need it.
        cls.emu = Emulator(extra_env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
        cls.lam = client(cls.emu.endpoint)
        cls.raw = client(cls.emu.endpoint, validate=False)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def err(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        e = cm.exception.response
        return e["Error"]["Code"], e["Error"].get("Message", ""), e["ResponseMetadata"]["HTTPStatusCode"]

    def create(self, name, raw=False, **kw):
        args = dict(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                    Code={"ZipFile": CODE})
        args.update(kw)
        return (self.raw if raw else self.lam).create_function(**args)

    def test_create_get_list_delete(self):
        out = self.create("cp-basic", Timeout=7, MemorySize=256,
                          Environment={"Variables": {"STAGE": "ci"}}, Tags={"team": "a"})
        self.assertEqual(out["FunctionArn"],
                         "arn:aws:lambda:us-east-1:000000000000:function:cp-basic")
        self.assertEqual(out["State"], "Pending")
        self.assertEqual(out["Version"], "$LATEST")
        self.assertEqual(out["PackageType"], "Zip")
        self.assertEqual(out["Timeout"], 7)
        self.assertEqual(out["MemorySize"], 256)
        self.assertEqual(out["CodeSize"], len(CODE))
        self.assertEqual(out["Environment"], {"Variables": {"STAGE": "ci"}})
        self.lam.get_waiter("function_active_v2").wait(FunctionName="cp-basic",
                                                       WaiterConfig={"Delay": 1})
        got = self.lam.get_function(FunctionName="cp-basic")
        self.assertEqual(got["Configuration"]["State"], "Active")
        self.assertEqual(got["Configuration"]["LastUpdateStatus"], "Successful")
        self.assertEqual(got["Tags"], {"team": "a"})
        self.assertEqual(got["Code"]["RepositoryType"], "S3")
        with urllib.request.urlopen(got["Code"]["Location"]) as resp:
            self.assertEqual(resp.read(), CODE)
        names = [f["FunctionName"] for f in self.lam.list_functions()["Functions"]]
        self.assertIn("cp-basic", names)
        # By ARN and partial ARN too.
        self.lam.get_function_configuration(
            FunctionName="arn:aws:lambda:us-east-1:000000000000:function:cp-basic")
        self.lam.get_function_configuration(FunctionName="000000000000:function:cp-basic")
        self.lam.delete_function(FunctionName="cp-basic")
        code, msg, status = self.err(self.lam.get_function, FunctionName="cp-basic")
        self.assertEqual((code, status), ("ResourceNotFoundException", 404))
        self.assertIn("Function not found: arn:aws:lambda:us-east-1:000000000000:function:cp-basic",
                      msg)

    def test_validation_errors(self):
        code, msg, status = self.err(self.create, name="cp-bad-role", raw=True, Role="not-a-role")
        self.assertEqual((code, status), ("ValidationException", 400))
        self.assertIn("at 'role' failed to satisfy constraint", msg)
        code, msg, _ = self.err(self.create, name="cp-old", Runtime="python2.7")
        self.assertEqual(code, "InvalidParameterValueException")
        self.assertIn("python2.7 is no longer supported", msg)
        # AWS answers an unknown runtime with Lambda's own check, not the model's.
        code, msg, _ = self.err(self.create, name="cp-rt", Runtime="cobol85")
        self.assertEqual(code, "InvalidParameterValueException")
        self.assertTrue(msg.startswith("Value cobol85 at 'runtime' failed to satisfy"), msg)
        code, msg, _ = self.err(self.create, name="cp-to", raw=True, Timeout=901)
        self.assertEqual(code, "ValidationException")
        self.assertIn("Member must have value less than or equal to 900", msg)
        code, _, _ = self.err(self.create, name="cp-mem", raw=True, MemorySize=64)
        self.assertEqual(code, "ValidationException")
        code, msg, _ = self.err(self.raw.create_function, FunctionName="cp-nohandler",
                                Runtime="python3.12", Role=ROLE, Code={"ZipFile": CODE})
        self.assertEqual(code, "InvalidParameterValueException")
        self.assertIn("Runtime and Handler are mandatory", msg)
        code, msg, _ = self.err(self.create, name="cp-env",
                                Environment={"Variables": {"AWS_REGION": "x"}})
        self.assertEqual(code, "InvalidParameterValueException")
        self.assertIn("reserved keys", msg)
        code, msg, _ = self.err(self.create, name="cp-env4k",
                                Environment={"Variables": {"BIG": "x" * 5000}})
        self.assertIn("exceeded the 4KB limit", msg)
        code, msg, _ = self.err(self.raw.create_function, FunctionName="cp-nocode",
                                Runtime="python3.12", Role=ROLE, Handler="a.b", Code={})
        self.assertEqual(code, "InvalidParameterValueException")
        code, _, _ = self.err(self.create, name="bad name!", raw=True)
        self.assertEqual(code, "ValidationException")
        self.create("cp-dup")
        code, msg, status = self.err(self.create, name="cp-dup")
        self.assertEqual((code, status), ("ResourceConflictException", 409))
        self.assertEqual(msg, "Function already exist: cp-dup")
        names = [f["FunctionName"] for f in self.lam.list_functions()["Functions"]]
        for refused in ("cp-bad-role", "cp-old", "cp-rt", "cp-to", "cp-env", "cp-nocode"):
            self.assertNotIn(refused, names)

    def test_update_code_and_configuration(self):
        out = self.create("cp-upd")
        rev = out["RevisionId"]
        new = make_zip({"app.py": "def handler(e, c):\n    return 2\n"})
        up = self.lam.update_function_code(FunctionName="cp-upd", ZipFile=new)
        self.assertEqual(up["LastUpdateStatus"], "InProgress")
        self.assertNotEqual(up["CodeSha256"], out["CodeSha256"])
        self.lam.get_waiter("function_updated_v2").wait(FunctionName="cp-upd",
                                                        WaiterConfig={"Delay": 1})
        code, _, status = self.err(self.lam.update_function_configuration, FunctionName="cp-upd",
                                   Timeout=5, RevisionId=rev)
        self.assertEqual((code, status), ("PreconditionFailedException", 412))
        cfg = self.lam.update_function_configuration(FunctionName="cp-upd", Timeout=5,
                                                     Description="d")
        self.assertEqual(cfg["Timeout"], 5)
        self.lam.get_waiter("function_updated_v2").wait(FunctionName="cp-upd",
                                                        WaiterConfig={"Delay": 1})
        got = self.lam.get_function_configuration(FunctionName="cp-upd")
        self.assertEqual((got["Timeout"], got["Description"], got["LastUpdateStatus"]),
                         (5, "d", "Successful"))

    def test_versions_and_aliases(self):
        self.create("cp-ver")
        v1 = self.lam.publish_version(FunctionName="cp-ver", Description="one")
        self.assertEqual(v1["Version"], "1")
        self.assertTrue(v1["FunctionArn"].endswith(":cp-ver:1"))
        # Nothing changed: the same version again.
        self.assertEqual(self.lam.publish_version(FunctionName="cp-ver")["Version"], "1")
        self.lam.update_function_code(FunctionName="cp-ver", ZipFile=make_zip({"app.py": "x=2"}))
        v2 = self.lam.publish_version(FunctionName="cp-ver")
        self.assertEqual(v2["Version"], "2")
        code, msg, _ = self.err(self.lam.publish_version, FunctionName="cp-ver", CodeSha256="abc")
        self.assertEqual(code, "InvalidParameterValueException")
        versions = [v["Version"] for v in
                    self.lam.list_versions_by_function(FunctionName="cp-ver")["Versions"]]
        self.assertEqual(versions, ["$LATEST", "1", "2"])
        alias = self.lam.create_alias(FunctionName="cp-ver", Name="live", FunctionVersion="1",
                                      RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}})
        self.assertTrue(alias["AliasArn"].endswith(":cp-ver:live"))
        self.assertEqual(alias["RoutingConfig"]["AdditionalVersionWeights"], {"2": 0.25})
        code, _, status = self.err(self.lam.create_alias, FunctionName="cp-ver", Name="live",
                                   FunctionVersion="1")
        self.assertEqual((code, status), ("ResourceConflictException", 409))
        code, _, _ = self.err(self.lam.create_alias, FunctionName="cp-ver", Name="x",
                              FunctionVersion="9")
        self.assertEqual(code, "ResourceNotFoundException")
        code, _, _ = self.err(self.lam.create_alias, FunctionName="cp-ver", Name="123",
                              FunctionVersion="1")
        self.assertEqual(code, "ValidationException")
        got = self.lam.get_function_configuration(FunctionName="cp-ver", Qualifier="live")
        self.assertEqual(got["Version"], "1")
        up = self.lam.update_alias(FunctionName="cp-ver", Name="live", FunctionVersion="2",
                                   RoutingConfig={"AdditionalVersionWeights": {}})
        self.assertEqual(up["FunctionVersion"], "2")
        self.assertEqual([a["Name"] for a in self.lam.list_aliases(FunctionName="cp-ver")["Aliases"]],
                         ["live"])
        code, msg, status = self.err(self.lam.delete_function, FunctionName="cp-ver", Qualifier="2")
        self.assertEqual((code, status), ("ResourceConflictException", 409))
        self.lam.delete_function(FunctionName="cp-ver", Qualifier="1")
        versions = [v["Version"] for v in
                    self.lam.list_versions_by_function(FunctionName="cp-ver")["Versions"]]
        self.assertEqual(versions, ["$LATEST", "2"])
        self.lam.delete_alias(FunctionName="cp-ver", Name="live")
        code, _, _ = self.err(self.lam.get_alias, FunctionName="cp-ver", Name="live")
        self.assertEqual(code, "ResourceNotFoundException")
        code, msg, _ = self.err(self.lam.get_function, FunctionName="cp-ver:7")
        self.assertIn("function:cp-ver:7", msg)

    def test_permissions_tags_concurrency_urls(self):
        arn = self.create("cp-pol")["FunctionArn"]
        code, msg, _ = self.err(self.lam.get_policy, FunctionName="cp-pol")
        self.assertEqual(code, "ResourceNotFoundException")
        st = self.lam.add_permission(FunctionName="cp-pol", StatementId="s3", Principal="s3.amazonaws.com",
                                     Action="lambda:InvokeFunction",
                                     SourceArn="arn:aws:s3:::bucket")
        stmt = json.loads(st["Statement"])
        self.assertEqual(stmt["Principal"], {"Service": "s3.amazonaws.com"})
        self.assertEqual(stmt["Condition"]["ArnLike"]["AWS:SourceArn"], "arn:aws:s3:::bucket")
        code, _, status = self.err(self.lam.add_permission, FunctionName="cp-pol", StatementId="s3",
                                   Principal="s3.amazonaws.com", Action="lambda:InvokeFunction")
        self.assertEqual((code, status), ("ResourceConflictException", 409))
        policy = json.loads(self.lam.get_policy(FunctionName="cp-pol")["Policy"])
        self.assertEqual([s["Sid"] for s in policy["Statement"]], ["s3"])
        self.lam.remove_permission(FunctionName="cp-pol", StatementId="s3")
        code, _, _ = self.err(self.lam.remove_permission, FunctionName="cp-pol", StatementId="s3")
        self.assertEqual(code, "ResourceNotFoundException")

        self.lam.tag_resource(Resource=arn, Tags={"a": "1", "b": "2"})
        self.lam.untag_resource(Resource=arn, TagKeys=["a"])
        self.assertEqual(self.lam.list_tags(Resource=arn)["Tags"], {"b": "2"})
        code, _, _ = self.err(self.lam.list_tags, Resource=arn.replace("cp-pol", "nope"))
        self.assertEqual(code, "ResourceNotFoundException")

        self.assertNotIn("ReservedConcurrentExecutions",
                         self.lam.get_function_concurrency(FunctionName="cp-pol"))
        self.lam.put_function_concurrency(FunctionName="cp-pol", ReservedConcurrentExecutions=5)
        self.assertEqual(self.lam.get_function_concurrency(FunctionName="cp-pol")
                         ["ReservedConcurrentExecutions"], 5)
        self.assertEqual(self.lam.get_function(FunctionName="cp-pol")["Concurrency"]
                         ["ReservedConcurrentExecutions"], 5)
        code, msg, _ = self.err(self.lam.put_function_concurrency, FunctionName="cp-pol",
                                ReservedConcurrentExecutions=950)
        self.assertIn("UnreservedConcurrentExecution below its minimum value of [100]", msg)
        self.lam.delete_function_concurrency(FunctionName="cp-pol")

        url = self.lam.create_function_url_config(FunctionName="cp-pol", AuthType="NONE")
        self.assertRegex(url["FunctionUrl"], r"^http://[a-z0-9]{32}\.lambda-url\.us-east-1\.")
        code, _, status = self.err(self.lam.create_function_url_config, FunctionName="cp-pol",
                                   AuthType="NONE")
        self.assertEqual((code, status), ("ResourceConflictException", 409))
        up = self.lam.update_function_url_config(FunctionName="cp-pol", AuthType="AWS_IAM")
        self.assertEqual(up["AuthType"], "AWS_IAM")
        self.assertEqual(self.lam.get_function_url_config(FunctionName="cp-pol")["FunctionUrl"],
                         url["FunctionUrl"])
        self.lam.delete_function_url_config(FunctionName="cp-pol")
        code, _, _ = self.err(self.lam.get_function_url_config, FunctionName="cp-pol")
        self.assertEqual(code, "ResourceNotFoundException")

    def test_layers(self):
        pkg = make_zip({"python/shared.py": "X = 1\n"})
        v1 = self.lam.publish_layer_version(LayerName="shared", Content={"ZipFile": pkg},
                                            CompatibleRuntimes=["python3.12"])
        self.assertEqual(v1["Version"], 1)
        self.assertEqual(v1["LayerVersionArn"],
                         "arn:aws:lambda:us-east-1:000000000000:layer:shared:1")
        self.assertEqual(v1["Content"]["CodeSize"], len(pkg))
        v2 = self.lam.publish_layer_version(LayerName="shared", Content={"ZipFile": pkg},
                                            CompatibleRuntimes=["nodejs20.x"])
        self.assertEqual(v2["Version"], 2)
        got = self.lam.get_layer_version_by_arn(Arn=v1["LayerVersionArn"])
        self.assertEqual(got["Version"], 1)
        self.assertEqual([v["Version"] for v in
                          self.lam.list_layer_versions(LayerName="shared")["LayerVersions"]], [2, 1])
        self.assertEqual([v["Version"] for v in self.lam.list_layer_versions(
            LayerName="shared", CompatibleRuntime="python3.12")["LayerVersions"]], [1])
        layers = self.lam.list_layers()["Layers"]
        self.assertEqual([(l["LayerName"], l["LatestMatchingVersion"]["Version"]) for l in layers],
                         [("shared", 2)])
        fn = self.create("cp-layered", Layers=[v1["LayerVersionArn"]])
        self.assertEqual(fn["Layers"], [{"Arn": v1["LayerVersionArn"], "CodeSize": len(pkg)}])
        code, msg, _ = self.err(self.create, name="cp-nolayer",
                                Layers=[v1["LayerVersionArn"][:-1] + "9"])
        self.assertEqual(code, "InvalidParameterValueException")
        self.assertIn("does not exist", msg)
        self.lam.delete_layer_version(LayerName="shared", VersionNumber=2)
        code, _, status = self.err(self.lam.get_layer_version, LayerName="shared", VersionNumber=2)
        self.assertEqual((code, status), ("ResourceNotFoundException", 404))

    def refused(self, name, package, want):
        code, msg, status = self.err(self.create, name=name, Code={"ZipFile": package})
        self.assertEqual((code, status), ("InvalidParameterValueException", 400), msg)
        self.assertIn(want, msg)
        names = [f["FunctionName"] for f in self.lam.list_functions()["Functions"]]
        self.assertNotIn(name, names)

    def test_hostile_packages(self):
        self.refused("z-notzip", b"PK\x03\x04 this is not a zip", "Could not unzip")
        self.refused("z-dotdot", make_zip({"../evil.py": "x"}), "unsafe path")
        self.refused("z-deep", make_zip({"a/../../evil.py": "x"}), "unsafe path")
        self.refused("z-abs", make_zip({"/etc/evil": "x"}), "unsafe path")
        self.refused("z-link", make_zip({"link": ("/etc/passwd", 0o120777)}), "outside")
        self.refused("z-link2", make_zip({"d/link": ("../../x", 0o120777)}), "outside")
        self.refused("z-dup", make_zip({"a.py": "1", "./a.py": "2"}), "twice")
        # A bomb: 300 MB of zeros, deflated to a few hundred KB.
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            with z.open("zeros", "w", force_zip64=True) as f:
                chunk = b"\0" * (1 << 20)
                for _ in range(300):
                    f.write(chunk)
        self.refused("z-bomb", buf.getvalue(), "Unzipped size must be smaller than 262144000 bytes")
        # A symlink that stays inside, modes and directories are fine.
        ok = make_zip({"lib/": ("", 0o40755), "lib/real.py": "x=1",
                       "alias.py": ("lib/real.py", 0o120777), "run": ("#!/bin/sh\n", 0o100755)})
        self.create("z-ok", Code={"ZipFile": ok})

    def test_invoke_without_docker(self):
        self.create("cp-nodocker")
        code, msg, status = self.err(self.lam.invoke, FunctionName="cp-nodocker", Payload=b"{}")
        self.assertEqual(code, "ServiceException")
        self.assertIn("Docker engine", msg)
        # What does not run code still answers.
        r = self.lam.invoke(FunctionName="cp-nodocker", InvocationType="DryRun")
        self.assertEqual(r["StatusCode"], 204)
        code, _, status = self.err(self.lam.invoke, FunctionName="cp-nodocker", Payload=b"not json")
        self.assertEqual((code, status), ("InvalidRequestContentException", 400))
        code, _, status = self.err(self.lam.invoke, FunctionName="cp-nodocker",
                                   Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
        self.assertEqual((code, status), ("RequestEntityTooLargeException", 413))
        code, _, status = self.err(self.lam.invoke, FunctionName="cp-nodocker", InvocationType="Event",
                                   Payload=b'"' + b"x" * (300 * 1024) + b'"')
        self.assertEqual((code, status), ("RequestEntityTooLargeException", 413))
        code, _, _ = self.err(self.lam.invoke, FunctionName="nope", Payload=b"{}")
        self.assertEqual(code, "ResourceNotFoundException")


if __name__ == "__main__":
    unittest.main(verbosity=2)
