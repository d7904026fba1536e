// IAM through the AWS SDK for JavaScript v3: a role with a trust policy,
// attached and inline policies, a created access key used to call STS, and
// the SDK's view of IAM's errors. Unlike botocore, the JS SDK hands policy
// documents back as IAM sends them: percent-encoded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { createHmac } from "node:crypto";
import { startEmulator } from "../../js/emulator.mjs";

const require = createRequire(new URL("../../js/package.json", import.meta.url));
const iamSdk = require("@aws-sdk/client-iam");
const stsSdk = require("@aws-sdk/client-sts");

let emu;
before(async () => { emu = await startEmulator(); });
after(async () => { await emu.stop(); });

const account = "222233334444";
function client(Sdk, creds = { accessKeyId: account, secretAccessKey: "test" }) {
  return new Sdk({ endpoint: emu.endpoint, region: "us-east-1", credentials: creds,
                   maxAttempts: 1 });
}

const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow",
  Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }] });
const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow",
  Action: "dynamodb:GetItem", Resource: "*" }] });

test("role, policies, access key and STS", async () => {
  const iam = client(iamSdk.IAMClient);
  const { Role } = await iam.send(new iamSdk.CreateRoleCommand({
    RoleName: "js-role", AssumeRolePolicyDocument: trust, MaxSessionDuration: 7200 }));
  assert.equal(Role.Arn, `arn:aws:iam::${account}:role/js-role`);
  assert.equal(decodeURIComponent(Role.AssumeRolePolicyDocument), trust);
  assert.ok(Role.CreateDate instanceof Date);
  await iam.send(new iamSdk.AttachRolePolicyCommand({ RoleName: "js-role",
    PolicyArn: "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess" }));
  await iam.send(new iamSdk.PutRolePolicyCommand({ RoleName: "js-role", PolicyName: "get",
    PolicyDocument: policy }));
  const got = await iam.send(new iamSdk.GetRolePolicyCommand({ RoleName: "js-role",
    PolicyName: "get" }));
  assert.equal(got.PolicyDocument, encodeURIComponent(policy).replace(/[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()));
  const attached = await iam.send(new iamSdk.ListAttachedRolePoliciesCommand({
    RoleName: "js-role" }));
  assert.deepEqual(attached.AttachedPolicies.map((p) => p.PolicyName),
                   ["AmazonDynamoDBReadOnlyAccess"]);
  assert.equal(attached.IsTruncated, false);

  await iam.send(new iamSdk.CreateUserCommand({ UserName: "js-user" }));
  const { AccessKey } = await iam.send(new iamSdk.CreateAccessKeyCommand({
    UserName: "js-user" }));
  const sts = client(stsSdk.STSClient, { accessKeyId: AccessKey.AccessKeyId,
                                          secretAccessKey: AccessKey.SecretAccessKey });
  const ident = await sts.send(new stsSdk.GetCallerIdentityCommand({}));
  assert.equal(ident.Arn, `arn:aws:iam::${account}:user/js-user`);
  assert.equal(ident.Account, account);
  const assumed = await sts.send(new stsSdk.AssumeRoleCommand({ RoleArn: Role.Arn,
    RoleSessionName: "js" }));
  assert.equal(assumed.AssumedRoleUser.AssumedRoleId, `${Role.RoleId}:js`);
});

test("errors", async () => {
  const iam = client(iamSdk.IAMClient);
  await assert.rejects(iam.send(new iamSdk.GetRoleCommand({ RoleName: "missing" })), (e) => {
    assert.equal(e.name, "NoSuchEntityException");
    assert.equal(e.$metadata.httpStatusCode, 404);
    assert.equal(e.message, "The role with name missing cannot be found.");
    return true;
  });
  await iam.send(new iamSdk.CreateUserCommand({ UserName: "dup" }));
  await assert.rejects(iam.send(new iamSdk.CreateUserCommand({ UserName: "dup" })),
                       { name: "EntityAlreadyExistsException" });
  await assert.rejects(iam.send(new iamSdk.CreatePolicyCommand({ PolicyName: "bad",
    PolicyDocument: "{nope" })), { name: "MalformedPolicyDocumentException" });
});

// RFC 6238 from the seed IAM hands out (base32 text, as a blob).
function totp(seedText, step) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of seedText.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", key).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, "0");
}

test("virtual MFA device enrolled with TOTP codes", async () => {
  const iam = client(iamSdk.IAMClient);
  await iam.send(new iamSdk.CreateUserCommand({ UserName: "js-mfa" }));
  const { VirtualMFADevice } = await iam.send(new iamSdk.CreateVirtualMFADeviceCommand({
    VirtualMFADeviceName: "js-mfa" }));
  assert.equal(VirtualMFADevice.SerialNumber, `arn:aws:iam::${account}:mfa/js-mfa`);
  const seed = Buffer.from(VirtualMFADevice.Base32StringSeed).toString();
  const step = Math.floor(Date.now() / 30000);
  await assert.rejects(iam.send(new iamSdk.EnableMFADeviceCommand({ UserName: "js-mfa",
    SerialNumber: VirtualMFADevice.SerialNumber, AuthenticationCode1: "111111",
    AuthenticationCode2: "222222" })), (e) => e.name === "InvalidAuthenticationCodeException" &&
    e.$metadata.httpStatusCode === 403);
  await iam.send(new iamSdk.EnableMFADeviceCommand({ UserName: "js-mfa",
    SerialNumber: VirtualMFADevice.SerialNumber, AuthenticationCode1: totp(seed, step - 1),
    AuthenticationCode2: totp(seed, step) }));
  const { MFADevices } = await iam.send(new iamSdk.ListMFADevicesCommand({ UserName: "js-mfa" }));
  assert.equal(MFADevices.length, 1);
  assert.ok(MFADevices[0].EnableDate instanceof Date);
  await assert.rejects(iam.send(new iamSdk.DeleteUserCommand({ UserName: "js-mfa" })),
    (e) => e.name === "DeleteConflictException");
});
