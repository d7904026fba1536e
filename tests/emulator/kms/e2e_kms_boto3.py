#!/usr/bin/python3
"""End-to-end KMS tests with Debian's boto3 against a real `airgap emulator`
($AIRGAP_BIN) on a free loopback port. Signatures, MACs and public keys are
verified here with the `cryptography` package, independently of the
emulator's libcrypto calls; error codes are the ones the KMS API reference
lists for each operation."""

import base64
import hashlib
import hmac
import os
import sys
import time
import unittest
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402


def client(endpoint, region="us-east-1", validate=True):
    """validate=False lets out-of-range values reach the emulator, to check
    its own validation."""
    return boto3.client(
        "kms", endpoint_url=endpoint, region_name=region,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=validate))


class KmsCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator()
        cls.kms = client(cls.emu.endpoint)
        cls.raw = client(cls.emu.endpoint, validate=False)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def code(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response["Error"]["Code"]

    def test_key_life_cycle(self):
        meta = self.kms.create_key(Description="life", Tags=[
            {"TagKey": "team", "TagValue": "ci"}])["KeyMetadata"]
        key_id = meta["KeyId"]
        self.assertEqual(meta["Arn"], "arn:aws:kms:us-east-1:000000000000:key/" + key_id)
        self.assertEqual(meta["KeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(meta["KeyUsage"], "ENCRYPT_DECRYPT")
        self.assertEqual(meta["KeyState"], "Enabled")
        self.assertEqual(meta["EncryptionAlgorithms"], ["SYMMETRIC_DEFAULT"])
        self.assertEqual(meta["KeyManager"], "CUSTOMER")
        ids = [k["KeyId"] for k in self.kms.list_keys()["Keys"]]
        self.assertIn(key_id, ids)
        self.assertEqual(self.kms.list_resource_tags(KeyId=key_id)["Tags"],
                         [{"TagKey": "team", "TagValue": "ci"}])
        self.kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "b", "TagValue": "2"}])
        self.kms.untag_resource(KeyId=key_id, TagKeys=["team"])
        self.assertEqual(self.kms.list_resource_tags(KeyId=key_id)["Tags"],
                         [{"TagKey": "b", "TagValue": "2"}])
        # 50 tags at most, counted after merging (replacing a value adds none).
        self.kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "k%d" % i, "TagValue": "v"}
                                                  for i in range(49)])
        self.kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "k0", "TagValue": "w"},
                                                  {"TagKey": "k0", "TagValue": "x"}])
        self.assertEqual(self.code(self.kms.tag_resource, KeyId=key_id,
                                   Tags=[{"TagKey": "k50", "TagValue": "v"}]), "TagException")
        self.assertEqual(self.code(self.kms.tag_resource, KeyId=key_id,
                                   Tags=[{"TagKey": "aws:x", "TagValue": "v"}]), "TagException")
        self.kms.untag_resource(KeyId=key_id, TagKeys=["k%d" % i for i in range(49)])
        self.kms.update_key_description(KeyId=key_id, Description="new")
        self.assertEqual(self.kms.describe_key(KeyId=meta["Arn"])["KeyMetadata"]["Description"],
                         "new")
        # Disabled: crypto refused with DisabledException.
        self.kms.disable_key(KeyId=key_id)
        self.assertEqual(self.kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"],
                         "Disabled")
        self.assertEqual(self.code(self.kms.encrypt, KeyId=key_id, Plaintext=b"x"),
                         "DisabledException")
        self.kms.enable_key(KeyId=key_id)
        # Rotation settings.
        self.kms.enable_key_rotation(KeyId=key_id)
        self.assertTrue(self.kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])
        self.kms.disable_key_rotation(KeyId=key_id)
        self.assertFalse(self.kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])
        # Scheduled deletion: 7..30 days, PendingDeletion, then canceled → Disabled.
        self.assertEqual(self.code(self.raw.schedule_key_deletion, KeyId=key_id,
                                   PendingWindowInDays=6), "ValidationException")
        self.assertEqual(self.code(self.raw.schedule_key_deletion, KeyId=key_id,
                                   PendingWindowInDays=31), "ValidationException")
        out = self.kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.assertEqual(out["KeyState"], "PendingDeletion")
        self.assertEqual(out["PendingWindowInDays"], 7)
        self.assertGreater(out["DeletionDate"].timestamp(), time.time() + 6 * 86400)
        self.assertEqual(self.code(self.kms.encrypt, KeyId=key_id, Plaintext=b"x"),
                         "KMSInvalidStateException")
        self.assertEqual(self.code(self.kms.enable_key, KeyId=key_id),
                         "KMSInvalidStateException")
        self.kms.cancel_key_deletion(KeyId=key_id)
        self.assertEqual(self.kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"],
                         "Disabled")
        self.assertEqual(self.code(self.kms.cancel_key_deletion, KeyId=key_id),
                         "KMSInvalidStateException")
        self.assertEqual(self.code(self.kms.describe_key,
                                   KeyId="00000000-0000-4000-8000-000000000000"),
                         "NotFoundException")
        # The message says which: a key id KMS does not hold, or a name that
        # is no key id at all.
        with self.assertRaises(ClientError) as cm:
            self.kms.describe_key(KeyId="00000000-0000-4000-8000-000000000000")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "Key 'arn:aws:kms:us-east-1:000000000000:key/"
                         "00000000-0000-4000-8000-000000000000' does not exist")
        with self.assertRaises(ClientError) as cm:
            self.kms.encrypt(KeyId="my-key", Plaintext=b"x")
        self.assertEqual(cm.exception.response["Error"]["Code"], "NotFoundException")
        self.assertEqual(cm.exception.response["Error"]["Message"], "Invalid keyId my-key")

    def test_create_key_validation(self):
        self.assertEqual(self.code(self.kms.create_key, KeySpec="HMAC_256",
                                   KeyUsage="ENCRYPT_DECRYPT"), "ValidationException")
        self.assertEqual(self.code(self.kms.create_key, KeySpec="ECC_NIST_P256",
                                   KeyUsage="ENCRYPT_DECRYPT"), "ValidationException")
        self.assertEqual(self.code(self.kms.create_key, KeyUsage="SIGN_VERIFY"),
                         "ValidationException")
        self.assertEqual(self.code(self.kms.create_key, Policy="not json"),
                         "MalformedPolicyDocumentException")

    def test_policy_and_grants(self):
        key_id = self.kms.create_key()["KeyMetadata"]["KeyId"]
        policy = self.kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
        self.assertIn("arn:aws:iam::000000000000:root", policy)
        self.assertEqual(self.kms.list_key_policies(KeyId=key_id)["PolicyNames"], ["default"])
        mine = '{"Version":"2012-10-17","Statement":[]}'
        self.kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=mine)
        self.assertEqual(self.kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
                         mine)
        self.assertEqual(self.code(self.kms.put_key_policy, KeyId=key_id, PolicyName="default",
                                   Policy="{"), "MalformedPolicyDocumentException")
        grant = self.kms.create_grant(
            KeyId=key_id, GranteePrincipal="arn:aws:iam::000000000000:role/app",
            RetiringPrincipal="arn:aws:iam::000000000000:role/admin",
            Operations=["Encrypt", "Decrypt"], Name="g1")
        grants = self.kms.list_grants(KeyId=key_id)["Grants"]
        self.assertEqual([g["GrantId"] for g in grants], [grant["GrantId"]])
        self.assertEqual(grants[0]["Operations"], ["Encrypt", "Decrypt"])
        retirable = self.kms.list_retirable_grants(
            RetiringPrincipal="arn:aws:iam::000000000000:role/admin")["Grants"]
        self.assertEqual(len(retirable), 1)
        self.kms.retire_grant(GrantToken=grant["GrantToken"])
        self.assertEqual(self.kms.list_grants(KeyId=key_id)["Grants"], [])
        g2 = self.kms.create_grant(KeyId=key_id, GranteePrincipal="p", Operations=["Sign"])
        self.kms.revoke_grant(KeyId=key_id, GrantId=g2["GrantId"])
        self.assertEqual(self.code(self.kms.revoke_grant, KeyId=key_id, GrantId=g2["GrantId"]),
                         "NotFoundException")

    def test_aliases(self):
        k1 = self.kms.create_key()["KeyMetadata"]["KeyId"]
        k2 = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.kms.create_alias(AliasName="alias/app", TargetKeyId=k1)
        self.assertEqual(self.code(self.kms.create_alias, AliasName="alias/app", TargetKeyId=k2),
                         "AlreadyExistsException")
        self.assertEqual(self.code(self.kms.create_alias, AliasName="alias/aws/mine",
                                   TargetKeyId=k2), "InvalidAliasNameException")
        self.assertEqual(self.code(self.kms.create_alias, AliasName="app2", TargetKeyId=k2),
                         "ValidationException")
        self.assertEqual(self.code(self.kms.create_alias, AliasName="alias/x",
                                   TargetKeyId="alias/app"), "ValidationException")
        # Every name for the key works.
        arn = "arn:aws:kms:us-east-1:000000000000:alias/app"
        for name in (k1, "alias/app", arn):
            self.assertEqual(self.kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"], k1)
        blob = self.kms.encrypt(KeyId="alias/app", Plaintext=b"via alias")["CiphertextBlob"]
        self.kms.update_alias(AliasName="alias/app", TargetKeyId=k2)
        self.assertEqual(self.kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"], k2)
        # The blob still names k1, so it decrypts without a KeyId.
        out = self.kms.decrypt(CiphertextBlob=blob)
        self.assertEqual(out["Plaintext"], b"via alias")
        self.assertTrue(out["KeyId"].endswith(k1))
        aliases = self.kms.list_aliases(KeyId=k2)["Aliases"]
        self.assertEqual([a["AliasName"] for a in aliases], ["alias/app"])
        self.assertEqual(aliases[0]["AliasArn"], arn)
        self.kms.delete_alias(AliasName="alias/app")
        self.assertEqual(self.code(self.kms.describe_key, KeyId="alias/app"),
                         "NotFoundException")
        self.assertEqual(self.code(self.kms.delete_alias, AliasName="alias/app"),
                         "NotFoundException")
        # AWS-managed aliases come into being when first described.
        managed = self.kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
        self.assertEqual(managed["KeyManager"], "AWS")

    def test_encrypt_decrypt_with_context(self):
        key = self.kms.create_key()["KeyMetadata"]
        ctx = {"purpose": "test", "app": "airgap"}
        out = self.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret", EncryptionContext=ctx)
        self.assertEqual(out["KeyId"], key["Arn"])
        self.assertEqual(out["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        blob = out["CiphertextBlob"]
        self.assertNotIn(b"secret", blob)
        # Same pairs in another order: same context.
        plain = self.kms.decrypt(CiphertextBlob=blob,
                                 EncryptionContext={"app": "airgap", "purpose": "test"})
        self.assertEqual(plain["Plaintext"], b"secret")
        self.assertEqual(plain["KeyId"], key["Arn"])
        self.assertEqual(self.code(self.kms.decrypt, CiphertextBlob=blob),
                         "InvalidCiphertextException")
        self.assertEqual(self.code(self.kms.decrypt, CiphertextBlob=blob,
                                   EncryptionContext={"purpose": "other", "app": "airgap"}),
                         "InvalidCiphertextException")
        damaged = blob[:-1] + bytes([blob[-1] ^ 1])
        self.assertEqual(self.code(self.kms.decrypt, CiphertextBlob=damaged,
                                   EncryptionContext=ctx), "InvalidCiphertextException")
        other = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.assertEqual(self.code(self.kms.decrypt, CiphertextBlob=blob, EncryptionContext=ctx,
                                   KeyId=other), "IncorrectKeyException")
        # No context at all round-trips too.
        blob2 = self.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"\x00\xff")["CiphertextBlob"]
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob2)["Plaintext"], b"\x00\xff")
        # ReEncrypt moves it under another key and context.
        re = self.kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=ctx,
                                 DestinationKeyId=other,
                                 DestinationEncryptionContext={"k": "v"})
        self.assertEqual(re["SourceKeyId"], key["Arn"])
        self.assertTrue(re["KeyId"].endswith(other))
        self.assertEqual(self.kms.decrypt(CiphertextBlob=re["CiphertextBlob"],
                                          EncryptionContext={"k": "v"})["Plaintext"], b"secret")
        self.assertEqual(self.code(self.kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x" * 4097),
                         "ValidationException")
        sign_key = self.kms.create_key(KeySpec="ECC_NIST_P256",
                                       KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        self.assertEqual(self.code(self.kms.encrypt, KeyId=sign_key, Plaintext=b"x"),
                         "InvalidKeyUsageException")

    def test_rsa_encryption(self):
        key = self.kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
        self.assertEqual(key["EncryptionAlgorithms"], ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
        pub = serialization.load_der_public_key(
            self.kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
        # Encrypted on the test side, decrypted by KMS.
        blob = pub.encrypt(b"hello rsa", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                      algorithm=hashes.SHA256(), label=None))
        out = self.kms.decrypt(CiphertextBlob=blob, KeyId=key["KeyId"],
                               EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        self.assertEqual(out["Plaintext"], b"hello rsa")
        blob = self.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x",
                                EncryptionAlgorithm="RSAES_OAEP_SHA_1")["CiphertextBlob"]
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob, KeyId=key["KeyId"],
                                          EncryptionAlgorithm="RSAES_OAEP_SHA_1")["Plaintext"],
                         b"x")
        self.assertEqual(self.code(self.kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x"),
                         "InvalidKeyUsageException")

    def test_data_keys_and_random(self):
        key_id = self.kms.create_key()["KeyMetadata"]["KeyId"]
        dk = self.kms.generate_data_key(KeyId=key_id, KeySpec="AES_256",
                                        EncryptionContext={"a": "b"})
        self.assertEqual(len(dk["Plaintext"]), 32)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=dk["CiphertextBlob"],
                                          EncryptionContext={"a": "b"})["Plaintext"],
                         dk["Plaintext"])
        dk = self.kms.generate_data_key(KeyId=key_id, NumberOfBytes=7)
        self.assertEqual(len(dk["Plaintext"]), 7)
        wp = self.kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_128")
        self.assertNotIn("Plaintext", wp)
        self.assertEqual(len(self.kms.decrypt(CiphertextBlob=wp["CiphertextBlob"])["Plaintext"]),
                         16)
        self.assertEqual(self.code(self.kms.generate_data_key, KeyId=key_id),
                         "ValidationException")
        self.assertEqual(self.code(self.kms.generate_data_key, KeyId=key_id, NumberOfBytes=1025),
                         "ValidationException")
        pair = self.kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
        priv = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
        pub = serialization.load_der_public_key(pair["PublicKey"])
        self.assertEqual(priv.public_key().public_numbers(), pub.public_numbers())
        self.assertEqual(self.kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"])[
            "Plaintext"], pair["PrivateKeyPlaintext"])
        pair = self.kms.generate_data_key_pair_without_plaintext(KeyId=key_id,
                                                                 KeyPairSpec="RSA_2048")
        self.assertNotIn("PrivateKeyPlaintext", pair)
        serialization.load_der_private_key(
            self.kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"])["Plaintext"],
            password=None)
        r1 = self.kms.generate_random(NumberOfBytes=64)["Plaintext"]
        r2 = self.kms.generate_random(NumberOfBytes=64)["Plaintext"]
        self.assertEqual(len(r1), 64)
        self.assertNotEqual(r1, r2)
        self.assertEqual(self.code(self.raw.generate_random, NumberOfBytes=0),
                         "ValidationException")

    def check_signatures(self, spec, algorithms, verify):
        key = self.kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        self.assertEqual(sorted(key["SigningAlgorithms"]), sorted(algorithms))
        pub_out = self.kms.get_public_key(KeyId=key["KeyId"])
        self.assertEqual(pub_out["KeySpec"], spec)
        pub = serialization.load_der_public_key(pub_out["PublicKey"])
        message = b"message to sign " + spec.encode()
        for alg in algorithms:
            h = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[
                alg[-3:]]
            sig = self.kms.sign(KeyId=key["KeyId"], Message=message, SigningAlgorithm=alg,
                                MessageType="RAW")
            self.assertEqual(sig["SigningAlgorithm"], alg)
            verify(pub, sig["Signature"], message, alg, h, False)
            digest = hashlib.new(h.name, message).digest()
            sig2 = self.kms.sign(KeyId=key["KeyId"], Message=digest, SigningAlgorithm=alg,
                                 MessageType="DIGEST")["Signature"]
            verify(pub, sig2, digest, alg, h, True)
            self.assertTrue(self.kms.verify(KeyId=key["KeyId"], Message=message,
                                            Signature=sig["Signature"],
                                            SigningAlgorithm=alg)["SignatureValid"])
            self.assertEqual(self.code(self.kms.verify, KeyId=key["KeyId"], Message=b"other",
                                       Signature=sig["Signature"], SigningAlgorithm=alg),
                             "KMSInvalidSignatureException")
        self.assertEqual(self.code(self.kms.sign, KeyId=key["KeyId"], Message=b"short",
                                   SigningAlgorithm=algorithms[0], MessageType="DIGEST"),
                         "ValidationException")
        return key

    def test_rsa_signatures(self):
        def verify(pub, sig, data, alg, h, prehashed):
            hh = utils.Prehashed(h) if prehashed else h
            if alg.startswith("RSASSA_PSS"):
                pad = padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)
            else:
                pad = padding.PKCS1v15()
            pub.verify(sig, data, pad, hh)
        key = self.check_signatures("RSA_2048", [
            "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
            "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
            "RSASSA_PKCS1_V1_5_SHA_512"], verify)
        self.assertEqual(self.code(self.kms.sign, KeyId=key["KeyId"], Message=b"m",
                                   SigningAlgorithm="ECDSA_SHA_256"),
                         "InvalidKeyUsageException")

    def test_ecc_signatures(self):
        def verify(pub, sig, data, alg, h, prehashed):
            pub.verify(sig, data, ec.ECDSA(utils.Prehashed(h) if prehashed else h))
        for spec, alg in (("ECC_NIST_P256", "ECDSA_SHA_256"), ("ECC_NIST_P384", "ECDSA_SHA_384"),
                          ("ECC_NIST_P521", "ECDSA_SHA_512"), ("ECC_SECG_P256K1", "ECDSA_SHA_256")):
            self.check_signatures(spec, [alg], verify)
        # A tampered signature does not verify on our side either (the check can fail).
        key = self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        pub = serialization.load_der_public_key(
            self.kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
        sig = self.kms.sign(KeyId=key["KeyId"], Message=b"m",
                            SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        with self.assertRaises(InvalidSignature):
            pub.verify(sig, b"n", ec.ECDSA(hashes.SHA256()))

    def test_hmac(self):
        for spec, alg, h in (("HMAC_224", "HMAC_SHA_224", "sha224"),
                             ("HMAC_256", "HMAC_SHA_256", "sha256"),
                             ("HMAC_384", "HMAC_SHA_384", "sha384"),
                             ("HMAC_512", "HMAC_SHA_512", "sha512")):
            key = self.kms.create_key(KeySpec=spec,
                                      KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
            self.assertEqual(key["MacAlgorithms"], [alg])
            mac = self.kms.generate_mac(KeyId=key["KeyId"], Message=b"data",
                                        MacAlgorithm=alg)["Mac"]
            self.assertEqual(len(mac), hashlib.new(h).digest_size)
            self.assertNotEqual(mac, hmac.new(b"", b"data", h).digest())
            self.assertTrue(self.kms.verify_mac(KeyId=key["KeyId"], Message=b"data",
                                                MacAlgorithm=alg, Mac=mac)["MacValid"])
            self.assertEqual(self.code(self.kms.verify_mac, KeyId=key["KeyId"], Message=b"datb",
                                       MacAlgorithm=alg, Mac=mac), "KMSInvalidMacException")
        self.assertEqual(self.code(self.kms.generate_mac, KeyId=key["KeyId"], Message=b"d",
                                   MacAlgorithm="HMAC_SHA_256"), "InvalidKeyUsageException")
        self.assertEqual(self.code(self.kms.get_public_key, KeyId=key["KeyId"]),
                         "UnsupportedOperationException")

    def test_regions_are_separate(self):
        key_id = self.kms.create_key()["KeyMetadata"]["KeyId"]
        west = client(self.emu.endpoint, "eu-west-1")
        self.assertEqual(self.code(west.describe_key, KeyId=key_id), "NotFoundException")
        # …but the full ARN names the key wherever it is.
        arn = "arn:aws:kms:us-east-1:000000000000:key/" + key_id
        self.assertEqual(west.describe_key(KeyId=arn)["KeyMetadata"]["KeyId"], key_id)

    def test_list_pagination(self):
        west = client(self.emu.endpoint, "ap-south-1")
        made = [west.create_key()["KeyMetadata"]["KeyId"] for _ in range(5)]
        page = west.list_keys(Limit=2)
        self.assertTrue(page["Truncated"])
        seen = [k["KeyId"] for k in page["Keys"]]
        while page["Truncated"]:
            page = west.list_keys(Limit=2, Marker=page["NextMarker"])
            seen += [k["KeyId"] for k in page["Keys"]]
        self.assertEqual(seen, made)


if __name__ == "__main__":
    unittest.main(verbosity=2)
