// End-to-end S3 tests with the AWS SDK for JavaScript v3 against a real
// `airgap emulator` ($AIRGAP_BIN). Current SDKs add a CRC32 checksum to
// uploads by default; with a stream body they send it as an aws-chunked body
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER) with the checksum as a trailer, which
// is the path checked here (the request headers are captured to prove it).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import { startEmulator } from "../../js/emulator.mjs";

// The SDK is installed under tests/js (npm ci there); resolve it from there,
// not from this folder.
const require = createRequire(new URL("../../js/package.json", import.meta.url));
const {
  S3Client,
  CreateBucketCommand,
  DeleteBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  NoSuchKey,
} = require("@aws-sdk/client-s3");

let emu;
let s3;
const seen = [];

before(async () => {
  emu = await startEmulator();
  s3 = new S3Client({
    endpoint: emu.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
  s3.middlewareStack.add(
    (next) => async (args) => {
      seen.push({ path: args.request.path, headers: { ...args.request.headers } });
      return next(args);
    },
    { step: "finalizeRequest", name: "captureHeaders", priority: "low" },
  );
  await s3.send(new CreateBucketCommand({ Bucket: "js-bucket" }));
});

after(async () => {
  s3?.destroy();
  await emu?.stop();
});

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((~c) >>> 0);
  return out.toString("base64");
}

test("stream upload goes aws-chunked with a CRC32 trailer", async () => {
  const data = Buffer.alloc(300000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  seen.length = 0;
  const out = await s3.send(
    new PutObjectCommand({
      Bucket: "js-bucket",
      Key: "stream.bin",
      Body: Readable.from([data.subarray(0, 100000), data.subarray(100000)]),
      ContentLength: data.length,
      ChecksumAlgorithm: "CRC32",
    }),
  );
  const req = seen.find((r) => r.path.endsWith("/stream.bin"));
  assert.ok(req, "request captured");
  const lower = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  assert.match(lower["content-encoding"] ?? "", /aws-chunked/);
  assert.equal(lower["x-amz-trailer"], "x-amz-checksum-crc32");
  assert.equal(out.ChecksumCRC32, crc32(data));
  assert.equal(out.ETag, `"${createHash("md5").update(data).digest("hex")}"`);
  const got = await s3.send(new GetObjectCommand({ Bucket: "js-bucket", Key: "stream.bin", ChecksumMode: "ENABLED" }));
  assert.deepEqual(Buffer.from(await got.Body.transformToByteArray()), data);
  assert.equal(got.ChecksumCRC32, crc32(data));
  assert.equal(got.ContentEncoding, undefined);
});

test("string bodies, metadata, listing, copy and errors", async () => {
  await s3.send(
    new PutObjectCommand({
      Bucket: "js-bucket",
      Key: "dir/hello.txt",
      Body: "hello from js",
      ContentType: "text/plain",
      Metadata: { who: "js" },
    }),
  );
  const head = await s3.send(new HeadObjectCommand({ Bucket: "js-bucket", Key: "dir/hello.txt" }));
  assert.equal(head.ContentLength, 13);
  assert.equal(head.Metadata.who, "js");
  const list = await s3.send(new ListObjectsV2Command({ Bucket: "js-bucket", Delimiter: "/" }));
  assert.deepEqual(list.CommonPrefixes.map((p) => p.Prefix), ["dir/"]);
  await s3.send(new CopyObjectCommand({ Bucket: "js-bucket", Key: "copy.txt", CopySource: "js-bucket/dir/hello.txt" }));
  const got = await s3.send(new GetObjectCommand({ Bucket: "js-bucket", Key: "copy.txt", Range: "bytes=0-4" }));
  assert.equal(await got.Body.transformToString(), "hello");
  assert.equal(got.ContentRange, "bytes 0-4/13");
  await assert.rejects(
    s3.send(new GetObjectCommand({ Bucket: "js-bucket", Key: "missing" })),
    (e) => e instanceof NoSuchKey && e.$metadata.httpStatusCode === 404,
  );
  await s3.send(
    new DeleteObjectsCommand({
      Bucket: "js-bucket",
      Delete: { Objects: [{ Key: "dir/hello.txt" }, { Key: "copy.txt" }] },
    }),
  );
});

test("multipart upload", async () => {
  const part1 = Buffer.alloc(5 * 1024 * 1024, 1);
  const part2 = Buffer.from("the last part");
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "js-bucket", Key: "mp.bin" }));
  const e1 = (await s3.send(new UploadPartCommand({ Bucket: "js-bucket", Key: "mp.bin", UploadId, PartNumber: 1, Body: part1 }))).ETag;
  const e2 = (await s3.send(new UploadPartCommand({ Bucket: "js-bucket", Key: "mp.bin", UploadId, PartNumber: 2, Body: part2 }))).ETag;
  const done = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: "js-bucket",
      Key: "mp.bin",
      UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }] },
    }),
  );
  const md5s = Buffer.concat([createHash("md5").update(part1).digest(), createHash("md5").update(part2).digest()]);
  assert.equal(done.ETag, `"${createHash("md5").update(md5s).digest("hex")}-2"`);
  const got = await s3.send(new GetObjectCommand({ Bucket: "js-bucket", Key: "mp.bin" }));
  assert.deepEqual(Buffer.from(await got.Body.transformToByteArray()), Buffer.concat([part1, part2]));
  await s3.send(new DeleteObjectCommand({ Bucket: "js-bucket", Key: "mp.bin" }));
  await s3.send(new DeleteObjectCommand({ Bucket: "js-bucket", Key: "stream.bin" }));
  await s3.send(new DeleteBucketCommand({ Bucket: "js-bucket" }));
});
