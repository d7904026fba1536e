/*
 * fuzz_protocol_main.c — runs fuzz_protocol.c without libFuzzer (gcc builds):
 * every seed below plus any files named on the command line, then a fixed
 * number of deterministic mutations of each (bit flips, byte changes,
 * truncations, duplications of a slice). Deterministic so a failure
 * reproduces; bounded so the test stays brief.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MUTATIONS_PER_SEED 3000
#define MAX_INPUT (1 << 16)

static const char *const seeds[] = {
    "\x00POST\n/\n\nContent-Type: application/x-www-form-urlencoded\n\nAction=SendMessageBatch&"
    "QueueUrl=q&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=b&"
    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n&SendMessageBatchRequestEntry.1."
    "MessageAttribute.1.Value.DataType=Binary&SendMessageBatchRequestEntry.1.MessageAttribute.1."
    "Value.BinaryValue=AAEC",
    "\x00POST\n/\n\nContent-Type: application/x-amz-json-1.0\nX-Amz-Target: "
    "AmazonSQS.SendMessage\n\n{\"QueueUrl\":\"q\",\"MessageBody\":\"b\",\"DelaySeconds\":1,"
    "\"MessageAttributes\":{\"a\":{\"DataType\":\"String\",\"StringValue\":\"v\"}}}",
    "\x00POST\n/\n\nContent-Type: application/x-www-form-urlencoded\n\nAction=CreateQueue&"
    "QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5&Tag.1.Key=k&Tag.1.Value=v",
    "\x01POST\n/\n\nContent-Type: application/x-www-form-urlencoded\n\nAction=AssumeRole&RoleArn="
    "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx&RoleSessionName=s&Tags.member.1.Key=k&"
    "Tags.member.1.Value=v&DurationSeconds=900",
    "\x02POST\n/2015-03-31/functions/f/invocations\nQualifier=1\nX-Amz-Invocation-Type: "
    "Event\n\n{\"a\":[1,2,{\"b\":null}]}",
    "\x02POST\n/2015-03-31/functions\n\nContent-Type: application/json\n\n{\"FunctionName\":\"f\","
    "\"Role\":\"r\",\"Code\":{\"ZipFile\":\"UEsDBA==\"},\"Environment\":{\"Variables\":{\"A\":"
    "\"B\"}},\"Timeout\":3,\"Tags\":{\"t\":\"v\"}}",
    "\x03PUT\n/bucket\ntagging\n\n<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
    "</TagSet></Tagging>",
    "\x03POST\n/bucket\ndelete\n\n<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet>"
    "</Delete>",
    "\x03PUT\n/bucket/a/b%20c\n\nx-amz-meta-color: blue\nContent-Type: text/plain\nExpires: "
    "Tue, 14 Nov 2023 22:13:20 GMT\n\nhello",
    "\x03GET\n/bucket\nlist-type=2&prefix=a&max-keys=10\n\n",
    "\x03PUT\n/bucket\n\n\n<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
    "2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
    "\x04POST\n/\n\nContent-Type: application/x-amz-json-1.0\nX-Amz-Target: "
    "DynamoDB_20120810.PutItem\n\n{\"TableName\":\"t\",\"Item\":{\"a\":{\"M\":{\"b\":{\"L\":[{"
    "\"N\":\"1\"},{\"B\":\"AA==\"}]}}}}}",
};

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void run_mutations(const uint8_t *seed, size_t len) {
  static uint8_t buf[MAX_INPUT];
  if (len > MAX_INPUT / 2)
    len = MAX_INPUT / 2;
  LLVMFuzzerTestOneInput(seed, len);
  for (int i = 0; i < MUTATIONS_PER_SEED; i++) {
    memcpy(buf, seed, len);
    size_t n = len;
    int edits = 1 + (int)(next() % 4);
    for (int e = 0; e < edits && n > 1; e++) {
      size_t at = 1 + (size_t)(next() % (n - 1));
      switch (next() % 5) {
      case 0: buf[at] ^= (uint8_t)(1u << (next() % 8)); break;
      case 1: buf[at] = (uint8_t)next(); break;
      case 2: n = at; break;
      case 3: {
        static const char special[] = "<>&;=.%{}[]\":,\n\\0123456789-";
        buf[at] = (uint8_t)special[next() % (sizeof(special) - 1)];
        break;
      }
      case 4: {
        size_t slice = 1 + (size_t)(next() % 16);
        if (at + slice <= n && n + slice <= MAX_INPUT) {
          memmove(buf + at + slice, buf + at, n - at);
          n += slice;
        }
        break;
      }
      }
    }
    LLVMFuzzerTestOneInput(buf, n);
  }
}

int main(int argc, char **argv) {
  for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
    /* Seeds start with a selector byte that may be NUL: measure past it. */
    size_t len = 1 + strlen(seeds[i] + 1);
    run_mutations((const uint8_t *)seeds[i], len);
  }
  for (int a = 1; a < argc; a++) {
    FILE *f = fopen(argv[a], "rb");
    if (!f) {
      fprintf(stderr, "fuzz_protocol: cannot open %s\n", argv[a]);
      return 1;
    }
    static uint8_t data[MAX_INPUT];
    size_t len = fread(data, 1, sizeof(data), f);
    fclose(f);
    run_mutations(data, len);
  }
  printf("fuzz_protocol: %zu seeds x %d mutations, no crash\n",
         sizeof(seeds) / sizeof(seeds[0]) + (size_t)(argc - 1), MUTATIONS_PER_SEED);
  return 0;
}
