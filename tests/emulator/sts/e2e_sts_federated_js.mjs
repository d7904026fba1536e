// STS's identity-provider operations through the AWS SDK for JavaScript v3
// against the real `airgap emulator`: the SDK sends AssumeRoleWithSAML and
// AssumeRoleWithWebIdentity unsigned (no credentials at all), which the
// gateway must still route to STS; GetFederationToken's identity afterwards;
// AssumeRoot, which only current SDKs know (Debian's botocore does not).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { startEmulator } from "../../js/emulator.mjs";

const require = createRequire(new URL("../../js/package.json", import.meta.url));
const {
  STSClient,
  AssumeRoleWithSAMLCommand,
  AssumeRoleWithWebIdentityCommand,
  GetFederationTokenCommand,
  GetCallerIdentityCommand,
  AssumeRootCommand,
} = require("@aws-sdk/client-sts");

const ROLE = "arn:aws:iam::123456789012:role/web";
const b64url = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");

test("SAML, web identity and federation tokens from the JS SDK", async () => {
  const emu = await startEmulator();
  const client = (c) =>
    new STSClient({
      endpoint: emu.endpoint, region: "us-gov-west-1", maxAttempts: 1,
      credentials: c.AccessKeyId
        ? { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken }
        : c,
    });
  const anon = client({ accessKeyId: "test", secretAccessKey: "test" });
  try {
    const token = `${b64url({ alg: "none" })}.${b64url({
      iss: "https://oidc.example.com", sub: "user-7", aud: ["client-1"],
    })}.sig`;
    const web = await anon.send(new AssumeRoleWithWebIdentityCommand({
      RoleArn: ROLE, RoleSessionName: "js-web", WebIdentityToken: token,
    }));
    assert.equal(web.SubjectFromWebIdentityToken, "user-7");
    assert.equal(web.Audience, "client-1");
    assert.equal(web.AssumedRoleUser.Arn, "arn:aws:sts::123456789012:assumed-role/web/js-web");
    const me = await client(web.Credentials).send(new GetCallerIdentityCommand({}));
    assert.equal(me.UserId, web.AssumedRoleUser.AssumedRoleId);
    await assert.rejects(
      anon.send(new AssumeRoleWithWebIdentityCommand({
        RoleArn: ROLE, RoleSessionName: "js-web", WebIdentityToken: "nope",
      })),
      (e) => e.name === "InvalidIdentityTokenException" && e.$metadata.httpStatusCode === 400);
    const xml = '<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol">' +
      '<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><Issuer>https://idp</Issuer>' +
      "<Subject><NameID>bob</NameID></Subject><AttributeStatement>" +
      '<Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName">' +
      "<AttributeValue>bob</AttributeValue></Attribute></AttributeStatement></Assertion></Response>";
    const saml = await anon.send(new AssumeRoleWithSAMLCommand({
      RoleArn: ROLE, PrincipalArn: "arn:aws:iam::123456789012:saml-provider/idp",
      SAMLAssertion: Buffer.from(xml).toString("base64"),
    }));
    assert.equal(saml.Subject, "bob");
    assert.equal(saml.Issuer, "https://idp");
    const fed = await anon.send(new GetFederationTokenCommand({ Name: "js-fed" }));
    // us-gov-west-1: the aws-us-gov partition.
    assert.equal(fed.FederatedUser.Arn, "arn:aws-us-gov:sts::000000000000:federated-user/js-fed");
    const who = await client(fed.Credentials).send(new GetCallerIdentityCommand({}));
    assert.equal(who.Arn, fed.FederatedUser.Arn);
  } finally {
    anon.destroy();
    await emu.stop();
  }
});

test("AssumeRoot: the root of a member account for a root task", async () => {
  const emu = await startEmulator();
  const sts = new STSClient({
    endpoint: emu.endpoint, region: "us-east-1", maxAttempts: 1,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  const task = (name) => ({ arn: `arn:aws:iam::aws:policy/root-task/${name}` });
  try {
    const out = await sts.send(new AssumeRootCommand({
      TargetPrincipal: "111122223333", TaskPolicyArn: task("S3UnlockBucketPolicy"),
    }));
    assert.match(out.Credentials.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);
    // 900 seconds by default, the most there is.
    const left = (out.Credentials.Expiration.getTime() - Date.now()) / 1000;
    assert.ok(left > 780 && left <= 905, `${left} s left`);
    const root = new STSClient({
      endpoint: emu.endpoint, region: "us-east-1", maxAttempts: 1,
      credentials: { accessKeyId: out.Credentials.AccessKeyId,
        secretAccessKey: out.Credentials.SecretAccessKey,
        sessionToken: out.Credentials.SessionToken },
    });
    const who = await root.send(new GetCallerIdentityCommand({}));
    assert.deepEqual([who.Account, who.Arn, who.UserId],
      ["111122223333", "arn:aws:iam::111122223333:root", "111122223333"]);
    root.destroy();
    const short = await sts.send(new AssumeRootCommand({
      TargetPrincipal: "arn:aws:iam::444455556666:root",
      TaskPolicyArn: task("IAMAuditRootUserCredentials"), DurationSeconds: 300,
    }));
    assert.ok((short.Credentials.Expiration.getTime() - Date.now()) / 1000 <= 305);
    const refused = [
      { TargetPrincipal: "111122223333", TaskPolicyArn: task("AdministratorAccess") },
      { TargetPrincipal: "not-an-account", TaskPolicyArn: task("S3UnlockBucketPolicy") },
      { TargetPrincipal: "111122223333", TaskPolicyArn: task("S3UnlockBucketPolicy"),
        DurationSeconds: 901 },
    ];
    for (const input of refused)
      await assert.rejects(sts.send(new AssumeRootCommand(input)),
        (e) => e.name === "ValidationError" && e.$metadata.httpStatusCode === 400,
        JSON.stringify(input));
  } finally {
    sts.destroy();
    await emu.stop();
  }
});
