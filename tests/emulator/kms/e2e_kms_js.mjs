// e2e_kms_js.mjs — KMS through the AWS SDK for JavaScript v3 (tests/js)
// against the real `airgap emulator`: encrypt/decrypt with and without an
// encryption context, data keys, aliases, ECC and RSA signatures checked with
// Node's own crypto (OpenSSL) from GetPublicKey, HMAC keys, and the SDK's
// error classes. Exits 77 (skipped) when the SDK is not installed.
import { createPublicKey, verify } from "node:crypto";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import assert from "node:assert/strict";

const source = process.env.AIRGAP_SOURCE_DIR;
if (!existsSync(`${source}/tests/js/node_modules/@aws-sdk/client-kms`)) {
  console.log("skipped: @aws-sdk/client-kms is not installed under tests/js");
  process.exit(77);
}
const require = createRequire(`${source}/tests/js/package.json`);
const kms = require("@aws-sdk/client-kms");
const { startEmulator } = await import(`${source}/tests/js/emulator.mjs`);

const text = (s) => new TextEncoder().encode(s);

test("KMS from the JS SDK", async () => {
  const emu = await startEmulator();
  try {
    const c = new kms.KMSClient({
      endpoint: emu.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
    const key = (await c.send(new kms.CreateKeyCommand({ Description: "js" }))).KeyMetadata;
    assert.equal(key.KeySpec, "SYMMETRIC_DEFAULT");
    await c.send(new kms.CreateAliasCommand({ AliasName: "alias/js", TargetKeyId: key.KeyId }));

    const ctx = { app: "js", env: "ci" };
    const enc = await c.send(new kms.EncryptCommand({
      KeyId: "alias/js", Plaintext: text("hello"), EncryptionContext: ctx }));
    assert.equal(enc.KeyId, key.Arn);
    const dec = await c.send(new kms.DecryptCommand({
      CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx }));
    assert.equal(new TextDecoder().decode(dec.Plaintext), "hello");
    assert.equal(dec.KeyId, key.Arn);
    await assert.rejects(
      c.send(new kms.DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })),
      (e) => e instanceof kms.InvalidCiphertextException);
    const plain = await c.send(new kms.EncryptCommand({ KeyId: key.KeyId, Plaintext: text("x") }));
    assert.equal(new TextDecoder().decode((await c.send(new kms.DecryptCommand({
      CiphertextBlob: plain.CiphertextBlob }))).Plaintext), "x");

    const dk = await c.send(new kms.GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: "AES_256" }));
    assert.equal(dk.Plaintext.length, 32);
    const back = await c.send(new kms.DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
    assert.deepEqual(Array.from(back.Plaintext), Array.from(dk.Plaintext));

    for (const [spec, alg, dsa] of [["ECC_NIST_P256", "ECDSA_SHA_256", "sha256"],
      ["RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", "sha256"]]) {
      const k = (await c.send(new kms.CreateKeyCommand({
        KeySpec: spec, KeyUsage: "SIGN_VERIFY" }))).KeyMetadata;
      const sig = await c.send(new kms.SignCommand({
        KeyId: k.KeyId, Message: text("msg"), SigningAlgorithm: alg }));
      const pub = await c.send(new kms.GetPublicKeyCommand({ KeyId: k.KeyId }));
      const pem = createPublicKey({ key: Buffer.from(pub.PublicKey), format: "der", type: "spki" });
      assert.ok(verify(dsa, Buffer.from("msg"), pem, Buffer.from(sig.Signature)), spec);
      const ok = await c.send(new kms.VerifyCommand({
        KeyId: k.KeyId, Message: text("msg"), Signature: sig.Signature, SigningAlgorithm: alg }));
      assert.equal(ok.SignatureValid, true);
      await assert.rejects(c.send(new kms.VerifyCommand({
        KeyId: k.KeyId, Message: text("other"), Signature: sig.Signature, SigningAlgorithm: alg })),
      (e) => e instanceof kms.KMSInvalidSignatureException);
    }

    const hk = (await c.send(new kms.CreateKeyCommand({
      KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" }))).KeyMetadata;
    const mac = await c.send(new kms.GenerateMacCommand({
      KeyId: hk.KeyId, Message: text("m"), MacAlgorithm: "HMAC_SHA_256" }));
    assert.equal(mac.Mac.length, 32);
    const vm = await c.send(new kms.VerifyMacCommand({
      KeyId: hk.KeyId, Message: text("m"), Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_256" }));
    assert.equal(vm.MacValid, true);
    const bad = Uint8Array.from(mac.Mac);
    bad[0] ^= 1;
    await assert.rejects(c.send(new kms.VerifyMacCommand({
      KeyId: hk.KeyId, Message: text("m"), Mac: bad, MacAlgorithm: "HMAC_SHA_256" })),
    (e) => e instanceof kms.KMSInvalidMacException);

    await c.send(new kms.DisableKeyCommand({ KeyId: key.KeyId }));
    await assert.rejects(
      c.send(new kms.EncryptCommand({ KeyId: key.KeyId, Plaintext: text("x") })),
      (e) => e instanceof kms.DisabledException);
    await assert.rejects(
      c.send(new kms.DescribeKeyCommand({ KeyId: "alias/none" })),
      (e) => e instanceof kms.NotFoundException && e.$metadata.httpStatusCode === 400);
    const aliases = await c.send(new kms.ListAliasesCommand({ KeyId: key.KeyId }));
    assert.deepEqual(aliases.Aliases.map((a) => a.AliasName), ["alias/js"]);
  } finally {
    await emu.stop();
  }
});
