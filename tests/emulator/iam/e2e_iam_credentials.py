#!/usr/bin/python3
"""End-to-end tests of IAM's other credentials with Debian's boto3 and the aws
CLI v2 against a real `airgap emulator`: virtual MFA devices enrolled with
real TOTP codes (RFC 6238, computed here from the seed the emulator hands
out), server certificates and signing certificates made by `openssl`, SSH
public keys made by `ssh-keygen` (fingerprints and PEM conversions checked
against ssh-keygen's own), service-specific credentials, ChangePassword, and
how all of them block DeleteUser and show in the account summary and the
credential report."""

import base64
import csv
import hashlib
import hmac
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_iam import Base  # noqa: E402


def totp(seed_b32, step):
    key = base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def codes(seed_b32):
    step = int(time.time()) // 30
    return totp(seed_b32, step - 1), totp(seed_b32, step)


def run(*args, stdin=None):
    return subprocess.run(list(args), check=True, capture_output=True, text=True,
                          input=stdin).stdout


class Certs:
    """Keys and certificates made once with openssl and ssh-keygen."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        d = self.dir.name

        def cert(name, days):
            run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                f"{d}/{name}.key", "-out", f"{d}/{name}.pem", "-days", str(days), "-subj",
                f"/CN={name}.example.com")
            return open(f"{d}/{name}.pem").read(), open(f"{d}/{name}.key").read()

        self.cert, self.key = cert("web", 30)
        self.cert2, self.key2 = cert("other", 60)
        self.cert3, _ = cert("third", 90)
        self.not_after = run("openssl", "x509", "-noout", "-enddate", "-in", f"{d}/web.pem")

        def ssh(name, *kind):
            run("ssh-keygen", "-q", *kind, "-N", "", "-C", name, "-f", f"{d}/{name}")
            return open(f"{d}/{name}.pub").read().strip()

        self.ssh = ssh("id_rsa", "-t", "rsa", "-b", "2048")
        self.ssh_md5 = run("ssh-keygen", "-l", "-E", "md5", "-f", f"{d}/id_rsa.pub").split()[1]
        self.ssh_pem = run("ssh-keygen", "-e", "-m", "PKCS8", "-f", f"{d}/id_rsa.pub")
        self.ssh2 = ssh("second", "-t", "rsa", "-b", "3072")
        self.ssh_short = ssh("short", "-t", "rsa", "-b", "1024")
        self.ssh_ed25519 = ssh("ed", "-t", "ed25519")


CERTS = None


class CredentialsBase(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        global CERTS
        if CERTS is None:
            CERTS = Certs()


class MFATest(CredentialsBase):
    def device(self, name="phone", **kwargs):
        d = self.iam.create_virtual_mfa_device(VirtualMFADeviceName=name, **kwargs)
        d = d["VirtualMFADevice"]
        return d["SerialNumber"], d["Base32StringSeed"].decode()

    def test_enable_with_totp_codes_list_and_delete(self):
        self.iam.create_user(UserName="alice")
        serial, seed = self.device("alice-phone", Path="/team/")
        self.assertEqual(serial, f"arn:aws:iam::{self.account}:mfa/team/alice-phone")
        self.assertEqual(len(seed), 32)  # 20 random bytes in base32
        # Codes that are not the device's, and codes that are not six digits.
        self.assert_error("InvalidAuthenticationCode", 403, self.iam.enable_mfa_device,
                          UserName="alice", SerialNumber=serial, AuthenticationCode1="000000",
                          AuthenticationCode2="000001")
        self.assert_error("ValidationError", 400, self.iam.enable_mfa_device, UserName="alice",
                          SerialNumber=serial, AuthenticationCode1="12345",
                          AuthenticationCode2="123456")
        one, two = codes(seed)
        # Out of order is wrong too: the second code must follow the first.
        self.assert_error("InvalidAuthenticationCode", 403, self.iam.enable_mfa_device,
                          UserName="alice", SerialNumber=serial, AuthenticationCode1=two,
                          AuthenticationCode2=one)
        self.iam.enable_mfa_device(UserName="alice", SerialNumber=serial,
                                   AuthenticationCode1=one, AuthenticationCode2=two)
        devices = self.iam.list_mfa_devices(UserName="alice")["MFADevices"]
        self.assertEqual([(d["UserName"], d["SerialNumber"]) for d in devices],
                         [("alice", serial)])
        self.assertIn("EnableDate", devices[0])
        self.iam.resync_mfa_device(UserName="alice", SerialNumber=serial,
                                   AuthenticationCode1=one, AuthenticationCode2=two)

        self.iam.create_user(UserName="bob")
        self.assert_error("EntityAlreadyExists", 409, self.iam.enable_mfa_device,
                          UserName="bob", SerialNumber=serial, AuthenticationCode1=one,
                          AuthenticationCode2=two)
        spare, _ = self.device("spare")
        assigned = self.iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")
        self.assertEqual([d["SerialNumber"] for d in assigned["VirtualMFADevices"]], [serial])
        self.assertEqual(assigned["VirtualMFADevices"][0]["User"]["UserName"], "alice")
        unassigned = self.iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")
        self.assertEqual([d["SerialNumber"] for d in unassigned["VirtualMFADevices"]], [spare])
        self.assertNotIn("Base32StringSeed", unassigned["VirtualMFADevices"][0])
        self.assertEqual(len(self.iam.list_virtual_mfa_devices()["VirtualMFADevices"]), 2)
        self.assert_error("ValidationError", 400, self.iam.list_virtual_mfa_devices,
                          AssignmentStatus="Maybe")

        summary = self.iam.get_account_summary()["SummaryMap"]
        self.assertEqual((summary["MFADevices"], summary["MFADevicesInUse"]), (2, 1))
        self.iam.generate_credential_report()
        report = self.iam.get_credential_report()["Content"].decode()
        rows = {r["user"]: r for r in csv.DictReader(io.StringIO(report))}
        self.assertEqual((rows["alice"]["mfa_active"], rows["bob"]["mfa_active"]),
                         ("true", "false"))

        # Nothing is deleted while the device is in use.
        self.assert_error("DeleteConflict", 409, self.iam.delete_virtual_mfa_device,
                          SerialNumber=serial)
        self.assertIn("MFA device", self.assert_error("DeleteConflict", 409,
                                                      self.iam.delete_user, UserName="alice"))
        self.assert_error("NoSuchEntity", 404, self.iam.deactivate_mfa_device, UserName="bob",
                          SerialNumber=serial)
        self.iam.deactivate_mfa_device(UserName="alice", SerialNumber=serial)
        self.assertEqual(self.iam.list_mfa_devices(UserName="alice")["MFADevices"], [])
        self.iam.delete_virtual_mfa_device(SerialNumber=serial)
        self.iam.delete_user(UserName="alice")
        self.assert_error("NoSuchEntity", 404, self.iam.delete_virtual_mfa_device,
                          SerialNumber=serial)

    def test_names_tags_and_errors(self):
        serial, _ = self.device("key", Tags=[{"Key": "team", "Value": "a"}])
        self.assert_error("EntityAlreadyExists", 409, self.iam.create_virtual_mfa_device,
                          VirtualMFADeviceName="KEY")
        self.assert_error("ValidationError", 400, self.iam.create_virtual_mfa_device,
                          VirtualMFADeviceName="bad name!")
        self.iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "env", "Value": "ci"}])
        self.iam.untag_mfa_device(SerialNumber=serial, TagKeys=["team"])
        self.assertEqual(self.iam.list_mfa_device_tags(SerialNumber=serial)["Tags"],
                         [{"Key": "env", "Value": "ci"}])
        self.assert_error("NoSuchEntity", 404, self.iam.enable_mfa_device, UserName="ghost",
                          SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="234567")
        self.iam.create_user(UserName="u")
        self.assert_error("NoSuchEntity", 404, self.iam.enable_mfa_device, UserName="u",
                          SerialNumber=serial + "x", AuthenticationCode1="123456",
                          AuthenticationCode2="234567")

    def test_cli_writes_the_seed_and_enables_the_device(self):
        self.aws("create-user", "--user-name", "carol")
        with tempfile.TemporaryDirectory() as d:
            out = self.aws("create-virtual-mfa-device", "--virtual-mfa-device-name", "carol",
                           "--outfile", f"{d}/seed.txt", "--bootstrap-method", "Base32StringSeed")
            seed = open(f"{d}/seed.txt").read().strip()
        serial = out["VirtualMFADevice"]["SerialNumber"]
        one, two = codes(seed)
        self.aws("enable-mfa-device", "--user-name", "carol", "--serial-number", serial,
                 "--authentication-code1", one, "--authentication-code2", two)
        listed = self.aws("list-mfa-devices", "--user-name", "carol")
        self.assertEqual(listed["MFADevices"][0]["SerialNumber"], serial)


class ServerCertificateTest(CredentialsBase):
    def test_upload_get_list_rename_delete(self):
        meta = self.iam.upload_server_certificate(
            ServerCertificateName="web", Path="/cloudfront/", CertificateBody=CERTS.cert,
            PrivateKey=CERTS.key, CertificateChain=CERTS.cert2,
            Tags=[{"Key": "env", "Value": "ci"}])["ServerCertificateMetadata"]
        self.assertEqual(meta["Arn"],
                         f"arn:aws:iam::{self.account}:server-certificate/cloudfront/web")
        self.assertTrue(meta["ServerCertificateId"].startswith("ASCA"))
        expected = time.strptime(CERTS.not_after.strip().split("=", 1)[1],
                                 "%b %d %H:%M:%S %Y %Z")
        self.assertEqual(meta["Expiration"].utctimetuple()[:6], expected[:6])
        got = self.iam.get_server_certificate(ServerCertificateName="web")["ServerCertificate"]
        self.assertEqual(got["CertificateBody"], CERTS.cert)
        self.assertEqual(got["CertificateChain"], CERTS.cert2)
        self.assertEqual(got["Tags"], [{"Key": "env", "Value": "ci"}])
        self.assertNotIn("PrivateKey", got)
        self.assertEqual(len(self.iam.list_server_certificates(PathPrefix="/cloudfront/")
                             ["ServerCertificateMetadataList"]), 1)
        self.assertEqual(self.iam.list_server_certificates(PathPrefix="/elb/")
                         ["ServerCertificateMetadataList"], [])
        self.assertEqual(self.iam.get_account_summary()["SummaryMap"]["ServerCertificates"], 1)

        self.assert_error("EntityAlreadyExists", 409, self.iam.upload_server_certificate,
                          ServerCertificateName="WEB", CertificateBody=CERTS.cert,
                          PrivateKey=CERTS.key)
        self.iam.update_server_certificate(ServerCertificateName="web",
                                           NewServerCertificateName="web2", NewPath="/elb/")
        self.assert_error("NoSuchEntity", 404, self.iam.get_server_certificate,
                          ServerCertificateName="web")
        meta = self.iam.get_server_certificate(
            ServerCertificateName="web2")["ServerCertificate"]["ServerCertificateMetadata"]
        self.assertEqual(meta["Arn"], f"arn:aws:iam::{self.account}:server-certificate/elb/web2")
        self.iam.delete_server_certificate(ServerCertificateName="web2")
        self.assert_error("NoSuchEntity", 404, self.iam.delete_server_certificate,
                          ServerCertificateName="web2")

    def test_malformed_and_mismatched(self):
        self.assert_error("MalformedCertificate", 400, self.iam.upload_server_certificate,
                          ServerCertificateName="x", CertificateBody="not a certificate",
                          PrivateKey=CERTS.key)
        self.assert_error("MalformedCertificate", 400, self.iam.upload_server_certificate,
                          ServerCertificateName="x", CertificateBody=CERTS.cert,
                          PrivateKey="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
        self.assert_error("KeyPairMismatch", 400, self.iam.upload_server_certificate,
                          ServerCertificateName="x", CertificateBody=CERTS.cert,
                          PrivateKey=CERTS.key2)
        self.assert_error("MalformedCertificate", 400, self.iam.upload_server_certificate,
                          ServerCertificateName="x", CertificateBody=CERTS.cert,
                          PrivateKey=CERTS.key, CertificateChain="garbage")
        self.assertEqual(self.iam.list_server_certificates()["ServerCertificateMetadataList"],
                         [])


class SigningCertificateTest(CredentialsBase):
    def test_upload_limits_duplicates_and_report(self):
        self.iam.create_user(UserName="signer")
        cert = self.iam.upload_signing_certificate(UserName="signer",
                                                   CertificateBody=CERTS.cert)["Certificate"]
        self.assertEqual((cert["UserName"], cert["Status"]), ("signer", "Active"))
        self.assertEqual(cert["CertificateBody"], CERTS.cert)
        self.iam.create_user(UserName="other")
        self.assert_error("DuplicateCertificate", 409, self.iam.upload_signing_certificate,
                          UserName="other", CertificateBody=CERTS.cert)
        self.iam.upload_signing_certificate(UserName="signer", CertificateBody=CERTS.cert2)
        self.assert_error("LimitExceeded", 409, self.iam.upload_signing_certificate,
                          UserName="signer", CertificateBody=CERTS.cert3)
        self.assert_error("MalformedCertificate", 400, self.iam.upload_signing_certificate,
                          UserName="other", CertificateBody="-----BEGIN CERTIFICATE-----\nxx")
        self.iam.update_signing_certificate(UserName="signer", CertificateId=cert["CertificateId"],
                                            Status="Inactive")
        listed = self.iam.list_signing_certificates(UserName="signer")["Certificates"]
        self.assertEqual(sorted(c["Status"] for c in listed), ["Active", "Inactive"])
        self.assert_error("ValidationError", 400, self.iam.update_signing_certificate,
                          UserName="signer", CertificateId=cert["CertificateId"], Status="Off")
        self.iam.generate_credential_report()
        rows = {r["user"]: r for r in csv.DictReader(io.StringIO(
            self.iam.get_credential_report()["Content"].decode()))}
        self.assertEqual(sorted([rows["signer"]["cert_1_active"], rows["signer"]["cert_2_active"]]),
                         ["false", "true"])
        self.assertIn("signing certificates", self.assert_error(
            "DeleteConflict", 409, self.iam.delete_user, UserName="signer"))
        for c in listed:
            self.iam.delete_signing_certificate(UserName="signer", CertificateId=c["CertificateId"])
        self.assert_error("NoSuchEntity", 404, self.iam.delete_signing_certificate,
                          UserName="signer", CertificateId=cert["CertificateId"])
        self.iam.delete_user(UserName="signer")


class SSHKeyTest(CredentialsBase):
    def test_upload_fingerprint_encodings_and_errors(self):
        self.iam.create_user(UserName="dev")
        key = self.iam.upload_ssh_public_key(UserName="dev",
                                             SSHPublicKeyBody=CERTS.ssh)["SSHPublicKey"]
        self.assertTrue(key["SSHPublicKeyId"].startswith("APKA"))
        self.assertEqual("MD5:" + key["Fingerprint"], CERTS.ssh_md5)
        self.assertEqual(key["SSHPublicKeyBody"], CERTS.ssh)
        kid = key["SSHPublicKeyId"]
        pem = self.iam.get_ssh_public_key(UserName="dev", SSHPublicKeyId=kid,
                                          Encoding="PEM")["SSHPublicKey"]
        self.assertEqual(pem["SSHPublicKeyBody"].strip(), CERTS.ssh_pem.strip())
        ssh = self.iam.get_ssh_public_key(UserName="dev", SSHPublicKeyId=kid,
                                          Encoding="SSH")["SSHPublicKey"]
        self.assertEqual(ssh["SSHPublicKeyBody"], CERTS.ssh)
        self.assert_error("ValidationError", 400, self.iam.get_ssh_public_key, UserName="dev",
                          SSHPublicKeyId=kid, Encoding="DER")

        # The same key uploaded as PEM is the same key.
        self.assert_error("DuplicateSSHPublicKey", 400, self.iam.upload_ssh_public_key,
                          UserName="dev", SSHPublicKeyBody=CERTS.ssh_pem)
        self.assert_error("InvalidPublicKey", 400, self.iam.upload_ssh_public_key,
                          UserName="dev", SSHPublicKeyBody=CERTS.ssh_short)
        self.assert_error("InvalidPublicKey", 400, self.iam.upload_ssh_public_key,
                          UserName="dev", SSHPublicKeyBody="ssh-rsa AAAAB3NzaC1yc2E= x")
        self.assert_error("UnrecognizedPublicKeyEncoding", 400, self.iam.upload_ssh_public_key,
                          UserName="dev", SSHPublicKeyBody=CERTS.ssh_ed25519)
        self.assert_error("NoSuchEntity", 404, self.iam.upload_ssh_public_key,
                          UserName="nobody", SSHPublicKeyBody=CERTS.ssh)

        second = self.iam.upload_ssh_public_key(UserName="dev", SSHPublicKeyBody=CERTS.ssh2)
        sid = second["SSHPublicKey"]["SSHPublicKeyId"]
        self.iam.update_ssh_public_key(UserName="dev", SSHPublicKeyId=sid, Status="Inactive")
        listed = self.iam.list_ssh_public_keys(UserName="dev")["SSHPublicKeys"]
        self.assertEqual({k["SSHPublicKeyId"]: k["Status"] for k in listed},
                         {kid: "Active", sid: "Inactive"})
        self.assertNotIn("SSHPublicKeyBody", listed[0])
        self.assertIn("SSH public keys", self.assert_error("DeleteConflict", 409,
                                                           self.iam.delete_user, UserName="dev"))
        self.iam.delete_ssh_public_key(UserName="dev", SSHPublicKeyId=kid)
        self.iam.delete_ssh_public_key(UserName="dev", SSHPublicKeyId=sid)
        self.assert_error("NoSuchEntity", 404, self.iam.get_ssh_public_key, UserName="dev",
                          SSHPublicKeyId=sid, Encoding="SSH")
        self.iam.delete_user(UserName="dev")


class ServiceCredentialTest(CredentialsBase):
    def test_create_reset_update_delete(self):
        self.iam.create_user(UserName="git")
        cred = self.iam.create_service_specific_credential(
            UserName="git", ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
        self.assertEqual(cred["ServiceUserName"], f"git-at-{self.account}")
        self.assertEqual((cred["Status"], len(cred["ServicePassword"])), ("Active", 44))
        cid = cred["ServiceSpecificCredentialId"]
        self.iam.create_service_specific_credential(UserName="git",
                                                    ServiceName="codecommit.amazonaws.com")
        self.assert_error("LimitExceeded", 409, self.iam.create_service_specific_credential,
                          UserName="git", ServiceName="codecommit.amazonaws.com")
        self.iam.create_service_specific_credential(UserName="git",
                                                    ServiceName="cassandra.amazonaws.com")
        self.assert_error("NotSupportedService", 404,
                          self.iam.create_service_specific_credential, UserName="git",
                          ServiceName="s3.amazonaws.com")
        listed = self.iam.list_service_specific_credentials(
            UserName="git", ServiceName="cassandra.amazonaws.com")["ServiceSpecificCredentials"]
        self.assertEqual(len(listed), 1)
        self.assertNotIn("ServicePassword", listed[0])
        self.assertEqual(len(self.iam.list_service_specific_credentials(UserName="git")
                             ["ServiceSpecificCredentials"]), 3)
        reset = self.iam.reset_service_specific_credential(
            UserName="git", ServiceSpecificCredentialId=cid)["ServiceSpecificCredential"]
        self.assertNotEqual(reset["ServicePassword"], cred["ServicePassword"])
        self.iam.update_service_specific_credential(UserName="git",
                                                    ServiceSpecificCredentialId=cid,
                                                    Status="Inactive")
        self.assertIn("service specific credentials", self.assert_error(
            "DeleteConflict", 409, self.iam.delete_user, UserName="git"))
        for c in self.iam.list_service_specific_credentials(
                UserName="git")["ServiceSpecificCredentials"]:
            self.iam.delete_service_specific_credential(
                UserName="git", ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
        self.assert_error("NoSuchEntity", 404, self.iam.delete_service_specific_credential,
                          UserName="git", ServiceSpecificCredentialId=cid)
        self.iam.delete_user(UserName="git")


class ChangePasswordTest(CredentialsBase):
    def test_user_changes_own_password(self):
        self.iam.create_user(UserName="pat")
        self.iam.create_login_profile(UserName="pat", Password="First-pass-1",
                                      PasswordResetRequired=True)
        key = self.iam.create_access_key(UserName="pat")["AccessKey"]
        me = self.client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        self.assert_error("InvalidUserType", 400, me.change_password, OldPassword="wrong",
                          NewPassword="Second-pass-2")
        me.change_password(OldPassword="First-pass-1", NewPassword="Second-pass-2")
        self.assertFalse(self.iam.get_login_profile(UserName="pat")["LoginProfile"]
                         ["PasswordResetRequired"])
        # The old password no longer is the current one.
        self.assert_error("InvalidUserType", 400, me.change_password,
                          OldPassword="First-pass-1", NewPassword="Third-pass-3")
        self.iam.update_account_password_policy(MinimumPasswordLength=20)
        self.assert_error("PasswordPolicyViolation", 400, me.change_password,
                          OldPassword="Second-pass-2", NewPassword="short")
        # The root of the account is no IAM user; a user without a login profile has no password.
        self.assert_error("InvalidUserType", 400, self.iam.change_password,
                          OldPassword="a", NewPassword="b")
        self.iam.delete_login_profile(UserName="pat")
        self.assert_error("NoSuchEntity", 404, me.change_password,
                          OldPassword="Second-pass-2", NewPassword="Fourth-pass-4-long-enough")


if __name__ == "__main__":
    unittest.main(verbosity=2)
