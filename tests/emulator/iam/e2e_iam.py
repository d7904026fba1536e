#!/usr/bin/python3
"""End-to-end tests of IAM with Debian's boto3 and the aws CLI v2 against a
real `airgap emulator` ($AIRGAP_BIN): users, groups and membership, roles with
trust policies, managed policies and their versions, inline policies,
attachments, instance profiles, access keys that work with STS (and with
signature verification on), login profiles, identity providers,
service-linked roles, tags, pagination, GetAccountAuthorizationDetails, the
policy simulator, and AWS's error codes and XML error shape. Each test works
in its own account (a 12-digit access key is the account), so tests share
one emulator without seeing each other's entities."""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.parse
import urllib.request
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402

AWS = "/usr/bin/aws"

TRUST = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole"}]}
S3_READ = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:List*"],
                          "Resource": "*"}]}
SAML_METADATA = (
    '<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    'entityID="https://idp.example.com/saml" validUntil="2036-01-01T00:00:00Z">'
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    + "<!-- %s -->" % ("padding " * 120) +
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
    'Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>')


class Base(unittest.TestCase):
    emu_args = ()

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator(extra_args=cls.emu_args)
        cls.home = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()
        cls.home.cleanup()

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        # One account per test: the test's index among the class's tests.
        names = sorted(n for n in dir(self) if n.startswith("test_"))
        self.account = "%012d" % (100000000000 + names.index(self._testMethodName) + 1
                                  + 1000 * len(type(self).__name__))
        self.iam = self.client("iam")

    def client(self, service, key=None, secret="test", token=None, region="us-east-1"):
        return boto3.client(service, endpoint_url=self.emu.endpoint, region_name=region,
                            aws_access_key_id=key or self.account,
                            aws_secret_access_key=secret, aws_session_token=token,
                            # The server's validation is under test, not botocore's.
                            config=Config(retries={"total_max_attempts": 1},
                                          parameter_validation=False))

    def error(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response

    def assert_error(self, code, status, fn, **kwargs):
        r = self.error(fn, **kwargs)
        self.assertEqual(r["Error"]["Code"], code, r)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], status, r)
        return r["Error"]["Message"]

    def raw(self, params):
        """A query-protocol call as bytes: (status, body)."""
        body = urllib.parse.urlencode(dict(params, Version="2010-05-08")).encode()
        req = urllib.request.Request(self.emu.endpoint + "/", data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=%s/20260101/us-east-1/iam/aws4_request, "
                             "SignedHeaders=host, Signature=00" % self.account})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def aws(self, *args, ok=True):
        env = {"PATH": "/usr/bin:/bin", "HOME": self.home.name, "AWS_ACCESS_KEY_ID": self.account,
               "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": "/dev/null",
               "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true"}
        p = subprocess.run([AWS, "--endpoint-url", self.emu.endpoint, "--output", "json", "iam"]
                           + list(args), env=env, capture_output=True, text=True, timeout=60)
        if ok:
            self.assertEqual(p.returncode, 0, "aws iam %s: %s" % (args[0], p.stderr))
            return json.loads(p.stdout) if p.stdout.strip() else None
        self.assertNotEqual(p.returncode, 0, "aws iam %s should fail" % args[0])
        return p.stderr

    def role(self, name="app", **kwargs):
        return self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST),
                                    **kwargs)["Role"]

    def policy(self, name="s3-read", doc=S3_READ, **kwargs):
        return self.iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(doc),
                                      **kwargs)["Policy"]


class Iam(Base):
    # ---- users, groups ----

    def test_users(self):
        user = self.iam.create_user(UserName="alice", Path="/dev/",
                                    Tags=[{"Key": "team", "Value": "ci"}])["User"]
        self.assertEqual(user["Arn"], "arn:aws:iam::%s:user/dev/alice" % self.account)
        self.assertTrue(user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21)
        self.assertEqual(user["Tags"], [{"Key": "team", "Value": "ci"}])
        got = self.iam.get_user(UserName="alice")["User"]
        self.assertEqual(got["UserId"], user["UserId"])
        # Names are unique case-insensitively.
        msg = self.assert_error("EntityAlreadyExists", 409, self.iam.create_user, UserName="ALICE")
        self.assertEqual(msg, "User with name ALICE already exists.")
        self.assertEqual(
            self.assert_error("NoSuchEntity", 404, self.iam.get_user, UserName="bob"),
            "The user with name bob cannot be found.")
        self.assert_error("ValidationError", 400, self.iam.create_user, UserName="bad name!")
        self.assert_error("ValidationError", 400, self.iam.create_user, UserName="x" * 65)
        self.assert_error("ValidationError", 400, self.iam.create_user, UserName="p", Path="dev")
        self.iam.update_user(UserName="alice", NewUserName="alicia", NewPath="/ops/")
        got = self.iam.get_user(UserName="alicia")["User"]
        self.assertEqual(got["Arn"], "arn:aws:iam::%s:user/ops/alicia" % self.account)
        self.assertEqual([u["UserName"] for u in self.iam.list_users(PathPrefix="/ops/")["Users"]],
                         ["alicia"])
        self.assertEqual(self.iam.list_users(PathPrefix="/dev/")["Users"], [])
        self.iam.tag_user(UserName="alicia", Tags=[{"Key": "team", "Value": "qa"},
                                                   {"Key": "x", "Value": "1"}])
        self.iam.untag_user(UserName="alicia", TagKeys=["x"])
        self.assertEqual(self.iam.list_user_tags(UserName="alicia")["Tags"],
                         [{"Key": "team", "Value": "qa"}])
        self.iam.delete_user(UserName="alicia")
        self.assert_error("NoSuchEntity", 404, self.iam.delete_user, UserName="alicia")

    def test_groups_and_membership(self):
        self.iam.create_group(GroupName="devs")
        for name in ("a", "b"):
            self.iam.create_user(UserName=name)
            self.iam.add_user_to_group(GroupName="devs", UserName=name)
        group = self.iam.get_group(GroupName="devs")
        self.assertEqual(sorted(u["UserName"] for u in group["Users"]), ["a", "b"])
        self.assertEqual(group["Group"]["Arn"], "arn:aws:iam::%s:group/devs" % self.account)
        self.assertEqual([g["GroupName"] for g in
                          self.iam.list_groups_for_user(UserName="a")["Groups"]], ["devs"])
        msg = self.assert_error("DeleteConflict", 409, self.iam.delete_group, GroupName="devs")
        self.assertEqual(msg, "Cannot delete entity, must remove users from group first.")
        self.assert_error("DeleteConflict", 409, self.iam.delete_user, UserName="a")
        self.iam.update_group(GroupName="devs", NewGroupName="developers")
        self.assertEqual([g["GroupName"] for g in
                          self.iam.list_groups_for_user(UserName="b")["Groups"]], ["developers"])
        for name in ("a", "b"):
            self.iam.remove_user_from_group(GroupName="developers", UserName=name)
        self.assert_error("NoSuchEntity", 404, self.iam.remove_user_from_group,
                          GroupName="developers", UserName="a")
        self.iam.delete_group(GroupName="developers")
        self.assert_error("NoSuchEntity", 404, self.iam.get_group, GroupName="developers")

    # ---- roles ----

    def test_role_with_trust_policy(self):
        role = self.role(Description="runs the app", MaxSessionDuration=7200,
                         Tags=[{"Key": "env", "Value": "test"}])
        self.assertEqual(role["Arn"], "arn:aws:iam::%s:role/app" % self.account)
        self.assertTrue(role["RoleId"].startswith("AROA"))
        # boto3 decodes the percent-encoded document back into what was sent.
        self.assertEqual(role["AssumeRolePolicyDocument"], TRUST)
        got = self.iam.get_role(RoleName="app")["Role"]
        self.assertEqual(got["MaxSessionDuration"], 7200)
        self.assertEqual(got["Description"], "runs the app")
        self.assertEqual(got["RoleLastUsed"], {})
        self.assertEqual(got["Tags"], [{"Key": "env", "Value": "test"}])
        # On the wire the document is percent-encoded, exactly as stored.
        status, body = self.raw({"Action": "GetRole", "RoleName": "app"})
        self.assertEqual(status, 200)
        self.assertIn("<AssumeRolePolicyDocument>%s</AssumeRolePolicyDocument>"
                      % urllib.parse.quote(json.dumps(TRUST), safe="-_.~"), body)
        listed = self.iam.list_roles()["Roles"]
        self.assertEqual([r["RoleName"] for r in listed], ["app"])
        self.assertNotIn("Tags", listed[0])
        new_trust = dict(TRUST, Statement=[dict(TRUST["Statement"][0],
                                                Principal={"AWS": "arn:aws:iam::%s:root"
                                                           % self.account})])
        self.iam.update_assume_role_policy(RoleName="app", PolicyDocument=json.dumps(new_trust))
        self.assertEqual(self.iam.get_role(RoleName="app")["Role"]["AssumeRolePolicyDocument"],
                         new_trust)
        self.iam.update_role(RoleName="app", MaxSessionDuration=3600)
        self.assertEqual(self.iam.get_role(RoleName="app")["Role"]["MaxSessionDuration"], 3600)
        self.assert_error("ValidationError", 400, self.iam.update_role, RoleName="app",
                          MaxSessionDuration=50000)
        self.assert_error("EntityAlreadyExists", 409, self.role)

    def test_trust_and_policy_documents_are_validated(self):
        bad = [("not json", "Syntax errors in policy."),
               (json.dumps({"Version": "2012-10-17", "Statement": [
                   {"Effect": "Allow", "Action": "sts:AssumeRole"}]}),
                "Missing required field Principal"),
               (json.dumps({"Version": "2001-01-01", "Statement": []}),
                "The policy failed legacy parsing")]
        for doc, msg in bad:
            got = self.assert_error("MalformedPolicyDocument", 400, self.iam.create_role,
                                    RoleName="r", AssumeRolePolicyDocument=doc)
            self.assertEqual(got, msg)
        identity_bad = [
            ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]},
             "Policy statement must contain resources."),
            ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]},
             "Policy statement must contain actions."),
            ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                      "Resource": "*", "Principal": "*"}]},
             "Policy document should not specify a principal."),
            ({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "s3:*",
                                                      "Resource": "*"}]}, None),
        ]
        for doc, msg in identity_bad:
            got = self.assert_error("MalformedPolicyDocument", 400, self.iam.create_policy,
                                    PolicyName="p", PolicyDocument=json.dumps(doc))
            if msg:
                self.assertEqual(got, msg)
        self.assert_error("LimitExceeded", 409, self.iam.create_policy, PolicyName="big",
                          PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                              {"Effect": "Allow", "Action": "s3:GetObject",
                               "Resource": ["arn:aws:s3:::b/%04d" % i for i in range(400)]}]}))

    def test_inline_policies(self):
        self.role()
        self.iam.create_user(UserName="u")
        self.iam.create_group(GroupName="g")
        # Stored exactly as sent: white space and key order survive.
        text = '{ "Version": "2012-10-17",\n  "Statement": {"Resource": "*", "Effect": "Allow",' \
               ' "Action": "sqs:SendMessage"} }'
        for kind, kw in (("role", {"RoleName": "app"}), ("user", {"UserName": "u"}),
                         ("group", {"GroupName": "g"})):
            put = getattr(self.iam, "put_%s_policy" % kind)
            get = getattr(self.iam, "get_%s_policy" % kind)
            lst = getattr(self.iam, "list_%s_policies" % kind)
            delete = getattr(self.iam, "delete_%s_policy" % kind)
            put(PolicyName="send", PolicyDocument=text, **kw)
            put(PolicyName="read", PolicyDocument=json.dumps(S3_READ), **kw)
            got = get(PolicyName="send", **kw)
            self.assertEqual(got["PolicyDocument"], json.loads(text))
            self.assertEqual(sorted(lst(**kw)["PolicyNames"]), ["read", "send"])
            page = lst(MaxItems=1, **kw)
            self.assertTrue(page["IsTruncated"])
            rest = lst(Marker=page["Marker"], **kw)
            self.assertEqual(sorted(page["PolicyNames"] + rest["PolicyNames"]), ["read", "send"])
            msg = self.assert_error("NoSuchEntity", 404, get, PolicyName="nope", **kw)
            self.assertEqual(msg, "The %s policy with name nope cannot be found." % kind)
            self.assert_error("MalformedPolicyDocument", 400, put, PolicyName="x",
                              PolicyDocument="{", **kw)
            delete(PolicyName="send", **kw)
            self.assertEqual(lst(**kw)["PolicyNames"], ["read"])
        status, body = self.raw({"Action": "GetUserPolicy", "UserName": "u",
                                 "PolicyName": "read"})
        self.assertIn(urllib.parse.quote(json.dumps(S3_READ), safe="-_.~"), body)
        msg = self.assert_error("DeleteConflict", 409, self.iam.delete_role, RoleName="app")
        self.assertEqual(msg, "Cannot delete entity, must delete policies first.")
        # A role's inline policies may total 10,240 characters.
        self.assert_error("LimitExceeded", 409, self.iam.put_role_policy, RoleName="app",
                          PolicyName="huge", PolicyDocument=json.dumps({
                              "Version": "2012-10-17", "Statement": [
                                  {"Effect": "Allow", "Action": "s3:GetObject",
                                   "Resource": ["arn:aws:s3:::b/%05d" % i for i in range(600)]}]}))

    # ---- managed policies ----

    def test_managed_policies_and_versions(self):
        p = self.policy(Description="read s3", Path="/app/")
        arn = "arn:aws:iam::%s:policy/app/s3-read" % self.account
        self.assertEqual(p["Arn"], arn)
        self.assertEqual(p["DefaultVersionId"], "v1")
        self.assertEqual(p["AttachmentCount"], 0)
        self.assert_error("EntityAlreadyExists", 409, self.policy)
        for i in range(2, 6):
            v = self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(S3_READ),
                                               SetAsDefault=(i == 3))["PolicyVersion"]
            self.assertEqual(v["VersionId"], "v%d" % i)
        msg = self.assert_error("LimitExceeded", 409, self.iam.create_policy_version,
                                PolicyArn=arn, PolicyDocument=json.dumps(S3_READ))
        self.assertIn("up to 5 versions", msg)
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"], "v3")
        versions = self.iam.list_policy_versions(PolicyArn=arn)["Versions"]
        self.assertEqual([v["VersionId"] for v in versions], ["v5", "v4", "v3", "v2", "v1"])
        self.assertEqual([v["IsDefaultVersion"] for v in versions],
                         [False, False, True, False, False])
        got = self.iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
        self.assertEqual(got["Document"], S3_READ)
        self.assert_error("DeleteConflict", 409, self.iam.delete_policy_version, PolicyArn=arn,
                          VersionId="v3")
        self.assert_error("NoSuchEntity", 404, self.iam.get_policy_version, PolicyArn=arn,
                          VersionId="v9")
        msg = self.assert_error("DeleteConflict", 409, self.iam.delete_policy, PolicyArn=arn)
        self.assertIn("more than one version", msg)
        self.iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
        for v in ("v1", "v2", "v3", "v4"):
            self.iam.delete_policy_version(PolicyArn=arn, VersionId=v)
        self.iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "k", "Value": "v"}])
        self.assertEqual(self.iam.list_policy_tags(PolicyArn=arn)["Tags"],
                         [{"Key": "k", "Value": "v"}])
        self.assertEqual([x["PolicyName"] for x in
                          self.iam.list_policies(Scope="Local")["Policies"]], ["s3-read"])
        self.iam.delete_policy(PolicyArn=arn)
        self.assert_error("NoSuchEntity", 404, self.iam.get_policy, PolicyArn=arn)

    def test_attach_detach_and_entities(self):
        role = self.role()
        self.iam.create_user(UserName="u")
        self.iam.create_group(GroupName="g")
        arn = self.policy()["Arn"]
        admin = "arn:aws:iam::aws:policy/AdministratorAccess"
        basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        self.iam.attach_role_policy(RoleName="app", PolicyArn=arn)
        self.iam.attach_role_policy(RoleName="app", PolicyArn=basic)
        self.iam.attach_role_policy(RoleName="app", PolicyArn=basic)  # idempotent
        self.iam.attach_user_policy(UserName="u", PolicyArn=arn)
        self.iam.attach_group_policy(GroupName="g", PolicyArn=admin)
        attached = self.iam.list_attached_role_policies(RoleName="app")["AttachedPolicies"]
        self.assertEqual(attached, [{"PolicyName": "s3-read", "PolicyArn": arn},
                                    {"PolicyName": "AWSLambdaBasicExecutionRole",
                                     "PolicyArn": basic}])
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"], 2)
        aws_policy = self.iam.get_policy(PolicyArn=basic)["Policy"]
        self.assertEqual(aws_policy["Path"], "/service-role/")
        self.assertEqual(aws_policy["AttachmentCount"], 1)
        doc = self.iam.get_policy_version(PolicyArn=basic, VersionId="v1")["PolicyVersion"]
        self.assertIn("logs:PutLogEvents", doc["Document"]["Statement"][0]["Action"])
        ents = self.iam.list_entities_for_policy(PolicyArn=arn)
        self.assertEqual([r["RoleName"] for r in ents["PolicyRoles"]], ["app"])
        self.assertEqual(ents["PolicyRoles"][0]["RoleId"], role["RoleId"])
        self.assertEqual([u["UserName"] for u in ents["PolicyUsers"]], ["u"])
        self.assertEqual(ents["PolicyGroups"], [])
        only_users = self.iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="User")
        self.assertEqual(only_users["PolicyRoles"], [])
        attached_only = self.iam.list_policies(OnlyAttached=True)["Policies"]
        self.assertEqual(sorted(p["PolicyName"] for p in attached_only),
                         ["AWSLambdaBasicExecutionRole", "AdministratorAccess", "s3-read"])
        self.assertGreater(len(self.iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"]),
                           20)
        msg = self.assert_error("DeleteConflict", 409, self.iam.delete_policy, PolicyArn=arn)
        self.assertEqual(msg, "Cannot delete a policy attached to entities.")
        msg = self.assert_error("DeleteConflict", 409, self.iam.delete_role, RoleName="app")
        self.assertEqual(msg, "Cannot delete entity, must detach all policies first.")
        self.assert_error("NoSuchEntity", 404, self.iam.attach_role_policy, RoleName="app",
                          PolicyArn="arn:aws:iam::%s:policy/nope" % self.account)
        self.assert_error("NoSuchEntity", 404, self.iam.detach_user_policy, UserName="u",
                          PolicyArn=basic)
        self.iam.detach_role_policy(RoleName="app", PolicyArn=arn)
        self.iam.detach_role_policy(RoleName="app", PolicyArn=basic)
        self.iam.detach_user_policy(UserName="u", PolicyArn=arn)
        self.iam.delete_policy(PolicyArn=arn)
        self.iam.delete_role(RoleName="app")
        # The group holds AdministratorAccess: nine more make the quota of ten.
        for i in range(9):
            self.iam.attach_group_policy(GroupName="g", PolicyArn=self.policy("p%d" % i)["Arn"])
        msg = self.assert_error("LimitExceeded", 409, self.iam.attach_group_policy,
                                GroupName="g", PolicyArn=basic)
        self.assertEqual(msg, "Cannot exceed quota for PoliciesPerGroup: 10")

    def test_permissions_boundary(self):
        arn = self.policy()["Arn"]
        self.role(PermissionsBoundary=arn)
        got = self.iam.get_role(RoleName="app")["Role"]
        self.assertEqual(got["PermissionsBoundary"],
                         {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn})
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)["Policy"]
                         ["PermissionsBoundaryUsageCount"], 1)
        self.iam.delete_role_permissions_boundary(RoleName="app")
        self.assertNotIn("PermissionsBoundary", self.iam.get_role(RoleName="app")["Role"])
        self.iam.create_user(UserName="u")
        self.iam.put_user_permissions_boundary(UserName="u", PermissionsBoundary=arn)
        self.assertEqual(self.iam.get_user(UserName="u")["User"]["PermissionsBoundary"]
                         ["PermissionsBoundaryArn"], arn)
        self.assert_error("NoSuchEntity", 404, self.iam.put_user_permissions_boundary,
                          UserName="u", PermissionsBoundary=arn + "x")

    # ---- instance profiles, service-linked roles ----

    def test_instance_profiles(self):
        self.role()
        self.role("other")
        prof = self.iam.create_instance_profile(InstanceProfileName="web", Path="/ec2/")
        self.assertEqual(prof["InstanceProfile"]["Arn"],
                         "arn:aws:iam::%s:instance-profile/ec2/web" % self.account)
        self.assert_error("EntityAlreadyExists", 409, self.iam.create_instance_profile,
                          InstanceProfileName="web")
        self.iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="app")
        self.assert_error("LimitExceeded", 409, self.iam.add_role_to_instance_profile,
                          InstanceProfileName="web", RoleName="other")
        got = self.iam.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]
        self.assertEqual([r["RoleName"] for r in got["Roles"]], ["app"])
        self.assertEqual(got["Roles"][0]["AssumeRolePolicyDocument"], TRUST)
        self.assertEqual([p["InstanceProfileName"] for p in
                          self.iam.list_instance_profiles_for_role(RoleName="app")
                          ["InstanceProfiles"]], ["web"])
        self.assert_error("DeleteConflict", 409, self.iam.delete_role, RoleName="app")
        self.assert_error("DeleteConflict", 409, self.iam.delete_instance_profile,
                          InstanceProfileName="web")
        self.iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="app")
        self.iam.delete_instance_profile(InstanceProfileName="web")
        self.assert_error("NoSuchEntity", 404, self.iam.get_instance_profile,
                          InstanceProfileName="web")

    def test_service_linked_roles(self):
        role = self.iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
        role = role["Role"]
        self.assertEqual(role["RoleName"], "AWSServiceRoleForAutoScaling")
        self.assertEqual(role["Path"], "/aws-service-role/autoscaling.amazonaws.com/")
        self.assertEqual(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
                         {"Service": ["autoscaling.amazonaws.com"]})
        custom = self.iam.create_service_linked_role(AWSServiceName="elasticbeanstalk.amazonaws.com",
                                                     CustomSuffix="blue")["Role"]
        self.assertEqual(custom["RoleName"], "AWSServiceRoleForElasticBeanstalk_blue")
        self.assert_error("InvalidInput", 400, self.iam.create_service_linked_role,
                          AWSServiceName="autoscaling.amazonaws.com")
        self.assert_error("InvalidInput", 400, self.iam.create_service_linked_role,
                          AWSServiceName="not-a-service")
        self.assert_error("UnmodifiableEntity", 400, self.iam.delete_role,
                          RoleName="AWSServiceRoleForAutoScaling")
        task = self.iam.delete_service_linked_role(
            RoleName="AWSServiceRoleForAutoScaling")["DeletionTaskId"]
        self.assertEqual(self.iam.get_service_linked_role_deletion_status(
            DeletionTaskId=task)["Status"], "SUCCEEDED")
        self.assert_error("NoSuchEntity", 404, self.iam.get_role,
                          RoleName="AWSServiceRoleForAutoScaling")

    # ---- access keys, STS ----

    def test_access_key_works_with_sts(self):
        user = self.iam.create_user(UserName="deployer")["User"]
        key = self.iam.create_access_key(UserName="deployer")["AccessKey"]
        self.assertTrue(key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20)
        self.assertEqual(len(key["SecretAccessKey"]), 40)
        as_user = self.client("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        ident = as_user.get_caller_identity()
        self.assertEqual(ident["Account"], self.account)
        self.assertEqual(ident["Arn"], user["Arn"])
        self.assertEqual(ident["UserId"], user["UserId"])
        self.assertEqual(self.client("sts").get_access_key_info(
            AccessKeyId=key["AccessKeyId"])["Account"], self.account)
        # The key's IAM calls act in the user's account, and GetUser names it.
        iam_as_user = self.client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        self.assertEqual(iam_as_user.get_user()["User"]["UserName"], "deployer")
        own = iam_as_user.create_access_key()["AccessKey"]
        self.assertEqual(own["UserName"], "deployer")
        self.assertEqual(self.assert_error("LimitExceeded", 409, self.iam.create_access_key,
                                           UserName="deployer"),
                         "Cannot exceed quota for AccessKeysPerUser: 2")
        meta = self.iam.list_access_keys(UserName="deployer")["AccessKeyMetadata"]
        self.assertEqual(sorted(m["AccessKeyId"] for m in meta),
                         sorted([key["AccessKeyId"], own["AccessKeyId"]]))
        self.assertNotIn("SecretAccessKey", meta[0])
        last = self.iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
        self.assertEqual(last["UserName"], "deployer")
        # The key's last call was IAM's CreateAccessKey above, in us-east-1.
        self.assertEqual((last["AccessKeyLastUsed"]["ServiceName"],
                          last["AccessKeyLastUsed"]["Region"]), ("iam", "us-east-1"))
        self.assertIn("LastUsedDate", last["AccessKeyLastUsed"])
        # Session credentials of the user act as the user too.
        creds = as_user.get_session_token()["Credentials"]
        self.assertEqual(self.client("sts", key=creds["AccessKeyId"],
                                     secret=creds["SecretAccessKey"],
                                     token=creds["SessionToken"]).get_caller_identity()["Arn"],
                         user["Arn"])
        msg = self.assert_error("DeleteConflict", 409, self.iam.delete_user, UserName="deployer")
        self.assertEqual(msg, "Cannot delete entity, must delete access keys first.")
        self.iam.update_access_key(UserName="deployer", AccessKeyId=own["AccessKeyId"],
                                   Status="Inactive")
        self.assertEqual({m["AccessKeyId"]: m["Status"] for m in self.iam.list_access_keys(
            UserName="deployer")["AccessKeyMetadata"]}[own["AccessKeyId"]], "Inactive")
        self.assert_error("ValidationError", 400, self.iam.update_access_key,
                          UserName="deployer", AccessKeyId=own["AccessKeyId"], Status="Paused")
        for k in (key, own):
            self.iam.delete_access_key(UserName="deployer", AccessKeyId=k["AccessKeyId"])
        self.assert_error("NoSuchEntity", 404, self.iam.delete_access_key, UserName="deployer",
                          AccessKeyId=key["AccessKeyId"])
        # A deleted key no longer names the user.
        self.assertNotEqual(as_user.get_caller_identity()["Arn"], user["Arn"])
        self.iam.delete_user(UserName="deployer")

    def test_assume_role_known_to_iam(self):
        role = self.role(MaxSessionDuration=7200)
        sts = self.client("sts")
        out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=7200)
        self.assertEqual(out["AssumedRoleUser"]["AssumedRoleId"], role["RoleId"] + ":s1")
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::%s:assumed-role/app/s1" % self.account)
        c = out["Credentials"]
        ident = self.client("sts", key=c["AccessKeyId"], secret=c["SecretAccessKey"],
                            token=c["SessionToken"]).get_caller_identity()
        self.assertEqual(ident["UserId"], role["RoleId"] + ":s1")
        last = self.iam.get_role(RoleName="app")["Role"]["RoleLastUsed"]
        self.assertEqual(last["Region"], "us-east-1")
        self.assertIn("LastUsedDate", last)
        msg = self.assert_error("ValidationError", 400, sts.assume_role, RoleArn=role["Arn"],
                                RoleSessionName="s2", DurationSeconds=7201)
        self.assertIn("MaxSessionDuration", msg)
        token = "%s.%s.c2ln" % tuple(
            __import__("base64").urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=").decode()
            for p in ({"alg": "RS256"}, {"sub": "repo:org/app", "aud": "sts.amazonaws.com",
                                         "iss": "https://token.actions.githubusercontent.com"}))
        web = sts.assume_role_with_web_identity(RoleArn=role["Arn"], RoleSessionName="gh",
                                                WebIdentityToken=token)
        self.assertEqual(web["AssumedRoleUser"]["AssumedRoleId"], role["RoleId"] + ":gh")

    def test_login_profiles(self):
        self.iam.create_user(UserName="u")
        prof = self.iam.create_login_profile(UserName="u", Password="S3cret!pass",
                                             PasswordResetRequired=True)["LoginProfile"]
        self.assertEqual(prof["UserName"], "u")
        self.assertTrue(prof["PasswordResetRequired"])
        self.assert_error("EntityAlreadyExists", 409, self.iam.create_login_profile,
                          UserName="u", Password="x")
        self.iam.update_login_profile(UserName="u", PasswordResetRequired=False)
        self.assertFalse(self.iam.get_login_profile(UserName="u")["LoginProfile"]
                         ["PasswordResetRequired"])
        msg = self.assert_error("DeleteConflict", 409, self.iam.delete_user, UserName="u")
        self.assertEqual(msg, "Cannot delete entity, must delete login profile first.")
        self.iam.delete_login_profile(UserName="u")
        self.assertEqual(self.assert_error("NoSuchEntity", 404, self.iam.get_login_profile,
                                           UserName="u"),
                         "Login Profile for User u cannot be found.")

    def test_account_alias_and_password_policy(self):
        self.iam.create_account_alias(AccountAlias="my-team-%s" % self.account)
        self.assertEqual(self.iam.list_account_aliases()["AccountAliases"],
                         ["my-team-%s" % self.account])
        self.assert_error("ValidationError", 400, self.iam.create_account_alias,
                          AccountAlias="Bad--Alias")
        self.assert_error("NoSuchEntity", 404, self.iam.delete_account_alias, AccountAlias="other")
        self.iam.delete_account_alias(AccountAlias="my-team-%s" % self.account)
        self.assertEqual(self.iam.list_account_aliases()["AccountAliases"], [])
        self.assert_error("NoSuchEntity", 404, self.iam.get_account_password_policy)
        self.iam.update_account_password_policy(MinimumPasswordLength=12, RequireNumbers=True,
                                                MaxPasswordAge=90)
        pol = self.iam.get_account_password_policy()["PasswordPolicy"]
        self.assertEqual((pol["MinimumPasswordLength"], pol["RequireNumbers"],
                          pol["ExpirePasswords"], pol["MaxPasswordAge"]), (12, True, True, 90))
        self.iam.create_user(UserName="u")
        msg = self.assert_error("PasswordPolicyViolation", 400, self.iam.create_login_profile,
                                UserName="u", Password="short1")
        self.assertIn("minimum length of 12", msg)
        self.assert_error("PasswordPolicyViolation", 400, self.iam.create_login_profile,
                          UserName="u", Password="long-enough-but-no-digits")
        self.iam.create_login_profile(UserName="u", Password="long-enough-with-1")
        self.assert_error("ValidationError", 400, self.iam.update_account_password_policy,
                          MinimumPasswordLength=4)
        self.iam.delete_account_password_policy()
        self.assert_error("NoSuchEntity", 404, self.iam.delete_account_password_policy)

    def test_credential_report(self):
        self.assert_error("ReportNotPresent", 410, self.iam.get_credential_report)
        self.iam.create_user(UserName="u")
        self.iam.create_login_profile(UserName="u", Password="pw")
        key = self.iam.create_access_key(UserName="u")["AccessKey"]
        self.client("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"],
                    region="eu-west-1").get_caller_identity()
        self.assertEqual(self.iam.generate_credential_report()["State"], "STARTED")
        self.assertEqual(self.iam.generate_credential_report()["State"], "COMPLETE")
        self.iam.create_user(UserName="later")  # the report is a snapshot
        report = self.iam.get_credential_report()
        self.assertEqual(report["ReportFormat"], "text/csv")
        rows = [line.split(",") for line in report["Content"].decode().splitlines()]
        header = rows[0]
        self.assertEqual((header[0], header[8], len(header), len(rows)),
                         ("user", "access_key_1_active", 22, 3))
        self.assertEqual(rows[1][:2], ["<root_account>",
                                       "arn:aws:iam::%s:root" % self.account])
        user = dict(zip(header, rows[2]))
        self.assertEqual((user["user"], user["password_enabled"], user["access_key_1_active"],
                          user["access_key_2_active"], user["access_key_1_last_used_region"],
                          user["access_key_1_last_used_service"]),
                         ("u", "true", "true", "false", "eu-west-1", "sts"))
        self.assertTrue(user["access_key_1_last_rotated"].endswith("+00:00"))
        self.assertTrue(user["access_key_1_last_used_date"].endswith("+00:00"))

    def test_context_keys(self):
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"},
                           "Bool": {"aws:SecureTransport": "true"}}}]}
        keys = self.iam.get_context_keys_for_custom_policy(
            PolicyInputList=[json.dumps(doc)])["ContextKeyNames"]
        self.assertEqual(sorted(keys), ["aws:RequestedRegion", "aws:SecureTransport"])
        self.role()
        self.iam.put_role_policy(RoleName="app", PolicyName="p", PolicyDocument=json.dumps(doc))
        keys = self.iam.get_context_keys_for_principal_policy(
            PolicySourceArn="arn:aws:iam::%s:role/app" % self.account)["ContextKeyNames"]
        self.assertEqual(sorted(keys), ["aws:RequestedRegion", "aws:SecureTransport"])

    # ---- providers ----

    def test_identity_providers(self):
        arn = self.iam.create_open_id_connect_provider(
            Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"],
            ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"],
            Tags=[{"Key": "ci", "Value": "gh"}])["OpenIDConnectProviderArn"]
        self.assertEqual(arn, "arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com"
                         % self.account)
        self.assert_error("EntityAlreadyExists", 409, self.iam.create_open_id_connect_provider,
                          Url="https://token.actions.githubusercontent.com", ClientIDList=[],
                          ThumbprintList=[])
        self.iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                                           ClientID="other")
        got = self.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        self.assertEqual(got["Url"], "token.actions.githubusercontent.com")
        self.assertEqual(got["ClientIDList"], ["sts.amazonaws.com", "other"])
        self.assertEqual(got["Tags"], [{"Key": "ci", "Value": "gh"}])
        self.assertEqual(self.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"],
                         [{"Arn": arn}])
        self.assert_error("ValidationError", 400, self.iam.update_open_id_connect_provider_thumbprint,
                          OpenIDConnectProviderArn=arn, ThumbprintList=["abc"])
        self.iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        self.assert_error("NoSuchEntity", 404, self.iam.get_open_id_connect_provider,
                          OpenIDConnectProviderArn=arn)
        saml = self.iam.create_saml_provider(Name="Corp", SAMLMetadataDocument=SAML_METADATA)
        sarn = saml["SAMLProviderArn"]
        self.assertEqual(sarn, "arn:aws:iam::%s:saml-provider/Corp" % self.account)
        got = self.iam.get_saml_provider(SAMLProviderArn=sarn)
        self.assertEqual(got["SAMLMetadataDocument"], SAML_METADATA)
        self.assertEqual(got["ValidUntil"].year, 2036)
        self.assertEqual([p["Arn"] for p in self.iam.list_saml_providers()["SAMLProviderList"]],
                         [sarn])
        self.assert_error("InvalidInput", 400, self.iam.create_saml_provider, Name="Bad",
                          SAMLMetadataDocument="<md:EntityDescriptor" + " " * 1000)
        self.iam.delete_saml_provider(SAMLProviderArn=sarn)

    # ---- reports, simulation, pagination ----

    def test_pagination(self):
        for i in range(7):
            self.iam.create_user(UserName="user%d" % i)
        seen, marker = [], None
        while True:
            page = self.iam.list_users(MaxItems=3, **({"Marker": marker} if marker else {}))
            seen += [u["UserName"] for u in page["Users"]]
            if not page["IsTruncated"]:
                self.assertNotIn("Marker", page)
                break
            marker = page["Marker"]
        self.assertEqual(sorted(seen), ["user%d" % i for i in range(7)])
        paginated = [u["UserName"] for p in self.iam.get_paginator("list_users").paginate(
            PaginationConfig={"PageSize": 2}) for u in p["Users"]]
        self.assertEqual(sorted(paginated), sorted(seen))
        self.assert_error("ValidationError", 400, self.iam.list_users, MaxItems=0)
        self.assert_error("ValidationError", 400, self.iam.list_users, Marker="garbage")

    def test_account_authorization_details(self):
        self.role()
        self.iam.put_role_policy(RoleName="app", PolicyName="inline",
                                 PolicyDocument=json.dumps(S3_READ))
        arn = self.policy()["Arn"]
        self.iam.attach_role_policy(RoleName="app", PolicyArn=arn)
        self.iam.create_user(UserName="u")
        self.iam.create_group(GroupName="g")
        self.iam.add_user_to_group(GroupName="g", UserName="u")
        d = self.iam.get_account_authorization_details()
        role = d["RoleDetailList"][0]
        self.assertEqual(role["RoleName"], "app")
        self.assertEqual(role["RolePolicyList"], [{"PolicyName": "inline",
                                                   "PolicyDocument": S3_READ}])
        self.assertEqual(role["AttachedManagedPolicies"],
                         [{"PolicyName": "s3-read", "PolicyArn": arn}])
        self.assertEqual(role["AssumeRolePolicyDocument"], TRUST)
        self.assertEqual(d["UserDetailList"][0]["GroupList"], ["g"])
        self.assertEqual(d["Policies"][0]["PolicyVersionList"][0]["Document"], S3_READ)
        only = self.iam.get_account_authorization_details(Filter=["User"])
        self.assertEqual((len(only["UserDetailList"]), only["RoleDetailList"], only["Policies"]),
                         (1, [], []))
        page = self.iam.get_account_authorization_details(MaxItems=2)
        self.assertTrue(page["IsTruncated"])
        summary = self.iam.get_account_summary()["SummaryMap"]
        self.assertEqual((summary["Users"], summary["Roles"], summary["Policies"]), (1, 1, 1))

    def test_simulate_principal_policy(self):
        self.iam.create_user(UserName="u")
        self.iam.create_group(GroupName="g")
        self.iam.add_user_to_group(GroupName="g", UserName="u")
        self.iam.put_user_policy(UserName="u", PolicyName="read", PolicyDocument=json.dumps(
            S3_READ))
        self.iam.put_group_policy(GroupName="g", PolicyName="deny-secret",
                                  PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                      {"Effect": "Deny", "Action": "s3:*",
                                       "Resource": "arn:aws:s3:::secret/*"}]}))
        self.iam.attach_user_policy(UserName="u", PolicyArn=self.policy(
            "sqs-cond", {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "NotAction": "sqs:Delete*", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}]})["Arn"])
        arn = "arn:aws:iam::%s:user/u" % self.account
        res = self.iam.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=["s3:GetObject", "S3:LISTBUCKET", "s3:PutObject"],
            ResourceArns=["arn:aws:s3:::public/a", "arn:aws:s3:::secret/b"])["EvaluationResults"]
        got = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in res}
        self.assertEqual(got, {
            ("s3:GetObject", "arn:aws:s3:::public/a"): "allowed",
            ("s3:GetObject", "arn:aws:s3:::secret/b"): "explicitDeny",
            ("S3:LISTBUCKET", "arn:aws:s3:::public/a"): "allowed",
            ("S3:LISTBUCKET", "arn:aws:s3:::secret/b"): "explicitDeny",
            ("s3:PutObject", "arn:aws:s3:::public/a"): "implicitDeny",
            ("s3:PutObject", "arn:aws:s3:::secret/b"): "explicitDeny"})
        allowed = [r for r in res if r["EvalDecision"] == "allowed"][0]
        self.assertEqual(allowed["MatchedStatements"][0]["SourcePolicyId"], "read")
        self.assertEqual(allowed["MatchedStatements"][0]["SourcePolicyType"], "user")
        # Conditions: the context decides, a missing key is reported.
        res = self.iam.simulate_principal_policy(PolicySourceArn=arn,
                                                 ActionNames=["sqs:SendMessage"])
        r = res["EvaluationResults"][0]
        self.assertEqual(r["EvalDecision"], "implicitDeny")
        self.assertEqual(r["MissingContextValues"], ["aws:RequestedRegion"])
        ctx = [{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["eu-west-1"],
                "ContextKeyType": "string"}]
        for action, decision in (("sqs:SendMessage", "allowed"),
                                 ("sqs:DeleteQueue", "implicitDeny")):
            r = self.iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=[action],
                                                   ContextEntries=ctx)["EvaluationResults"][0]
            self.assertEqual(r["EvalDecision"], decision, action)
        self.assert_error("NoSuchEntity", 404, self.iam.simulate_principal_policy,
                          PolicySourceArn="arn:aws:iam::%s:user/ghost" % self.account,
                          ActionNames=["s3:GetObject"])

    def test_simulate_custom_policy(self):
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:Get?tem", "Resource": "arn:aws:dynamodb:*"},
            {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::logs/*"}]}
        res = self.iam.simulate_custom_policy(
            PolicyInputList=[json.dumps(doc)], ActionNames=["dynamodb:GetItem", "s3:GetObject"],
            ResourceArns=["arn:aws:dynamodb:us-east-1:1:table/t", "arn:aws:s3:::logs/x"])
        got = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"]
               for r in res["EvaluationResults"]}
        self.assertEqual(got[("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/t")],
                         "allowed")
        self.assertEqual(got[("s3:GetObject", "arn:aws:s3:::logs/x")], "implicitDeny")
        self.assertEqual(got[("s3:GetObject", "arn:aws:dynamodb:us-east-1:1:table/t")], "allowed")
        boundary = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}
        res = self.iam.simulate_custom_policy(
            PolicyInputList=[json.dumps(doc)], ActionNames=["s3:GetObject"],
            PermissionsBoundaryPolicyInputList=[json.dumps(boundary)])["EvaluationResults"][0]
        self.assertEqual(res["EvalDecision"], "implicitDeny")
        self.assertFalse(res["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"])
        self.assert_error("MalformedPolicyDocument", 400, self.iam.simulate_custom_policy,
                          PolicyInputList=["{"], ActionNames=["s3:GetObject"])

    # ---- the wire: XML errors, partitions, the aws CLI ----

    def test_error_shape(self):
        status, body = self.raw({"Action": "GetRole", "RoleName": "missing"})
        self.assertEqual(status, 404)
        self.assertIn('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">', body)
        self.assertIn("<Error><Type>Sender</Type><Code>NoSuchEntity</Code>"
                      "<Message>The role with name missing cannot be found.</Message>", body)
        self.assertIn("<RequestId>", body)

    def test_partition(self):
        iam = self.client("iam", region="cn-north-1")
        user = iam.create_user(UserName="u")["User"]
        self.assertEqual(user["Arn"], "arn:aws-cn:iam::%s:user/u" % self.account)
        self.assertEqual(iam.get_policy(PolicyArn="arn:aws-cn:iam::aws:policy/ReadOnlyAccess")
                         ["Policy"]["Arn"], "arn:aws-cn:iam::aws:policy/ReadOnlyAccess")

    def test_aws_cli(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(TRUST, f)
            f.flush()
            role = self.aws("create-role", "--role-name", "cli-role",
                            "--assume-role-policy-document", "file://" + f.name)["Role"]
        self.assertEqual(role["AssumeRolePolicyDocument"], TRUST)
        self.aws("attach-role-policy", "--role-name", "cli-role", "--policy-arn",
                 "arn:aws:iam::aws:policy/ReadOnlyAccess")
        out = self.aws("list-attached-role-policies", "--role-name", "cli-role")
        self.assertEqual(out["AttachedPolicies"][0]["PolicyName"], "ReadOnlyAccess")
        self.aws("put-role-policy", "--role-name", "cli-role", "--policy-name", "p",
                 "--policy-document", json.dumps(S3_READ))
        self.assertEqual(self.aws("get-role-policy", "--role-name", "cli-role", "--policy-name",
                                  "p")["PolicyDocument"], S3_READ)
        err = self.aws("get-role", "--role-name", "nope", ok=False)
        self.assertIn("(NoSuchEntity)", err)
        self.assertIn("The role with name nope cannot be found.", err)
        err = self.aws("delete-role", "--role-name", "cli-role", ok=False)
        self.assertIn("(DeleteConflict)", err)


class VerifiedSignatures(Base):
    """With --s3-verify-signatures, keys IAM and STS issue are checked with
    their own secret, session token and expiry."""
    emu_args = ("--s3-verify-signatures",)

    def test_issued_keys_are_verified(self):
        self.iam.create_user(UserName="u")
        key = self.iam.create_access_key(UserName="u")["AccessKey"]
        s3 = self.client("s3", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        s3.create_bucket(Bucket="b-%s" % self.account)
        self.assertIn("b-%s" % self.account,
                      [b["Name"] for b in s3.list_buckets()["Buckets"]])
        wrong = self.client("s3", key=key["AccessKeyId"], secret="x" * 40)
        self.assert_error("SignatureDoesNotMatch", 403, wrong.list_buckets)
        unknown = self.client("s3", key="AKIAAAAAAAAAAAAAAAAA", secret="test")
        self.assert_error("InvalidAccessKeyId", 403, unknown.list_buckets)
        creds = self.client("sts").assume_role(
            RoleArn="arn:aws:iam::%s:role/r" % self.account, RoleSessionName="s1")["Credentials"]
        good = self.client("s3", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                           token=creds["SessionToken"])
        good.list_buckets()
        bad_token = self.client("s3", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                                token=creds["SessionToken"] + "x")
        self.assert_error("InvalidToken", 400, bad_token.list_buckets)
        no_token = self.client("s3", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"])
        self.assert_error("InvalidToken", 400, no_token.list_buckets)
        # An inactive, then deleted, key is no longer known.
        self.iam.update_access_key(UserName="u", AccessKeyId=key["AccessKeyId"],
                                   Status="Inactive")
        self.assert_error("InvalidAccessKeyId", 403, s3.list_buckets)
        self.iam.update_access_key(UserName="u", AccessKeyId=key["AccessKeyId"], Status="Active")
        s3.list_buckets()
        self.iam.delete_access_key(UserName="u", AccessKeyId=key["AccessKeyId"])
        self.assert_error("InvalidAccessKeyId", 403, s3.list_buckets)


if __name__ == "__main__":
    unittest.main(verbosity=2)
