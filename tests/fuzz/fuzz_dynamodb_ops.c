/*
 * fuzz_dynamodb_ops.c — fuzz target for the DynamoDB service's operations
 * (emulator/dynamodb/), called directly with hostile inputs against one
 * long-lived state that holds a table with a GSI and an LSI and a few items,
 * so writes, reads, batches, transactions and PartiQL all meet real data.
 *
 * Input layout: byte 0 picks the operation, the rest is its JSON input.
 * Inputs are not checked against the model first (the protocol layer does
 * that in the emulator), so this also covers members of the wrong type.
 * Built as a libFuzzer target with clang (-fsanitize=fuzzer); otherwise
 * fuzz_driver.c runs it over the seeds below with deterministic mutations.
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ddb_op_fn OPS[] = {
    ddb_op_put_item,
    ddb_op_get_item,
    ddb_op_update_item,
    ddb_op_delete_item,
    ddb_op_query,
    ddb_op_scan,
    ddb_op_batch_get,
    ddb_op_batch_write,
    ddb_op_transact_write,
    ddb_op_transact_get,
    ddb_op_execute_statement,
    ddb_op_batch_execute_statement,
    ddb_op_execute_transaction,
    ddb_op_update_table,
    ddb_op_describe_table,
    ddb_op_list_tables,
};
#define NOPS (sizeof(OPS) / sizeof(OPS[0]))

static const char TABLE[] =
    "{\"TableName\": \"fzz\", \"BillingMode\": \"PAY_PER_REQUEST\","
    "\"KeySchema\": [{\"AttributeName\": \"pk\", \"KeyType\": \"HASH\"},"
    "{\"AttributeName\": \"sk\", \"KeyType\": \"RANGE\"}],"
    "\"AttributeDefinitions\": [{\"AttributeName\": \"pk\", \"AttributeType\": \"S\"},"
    "{\"AttributeName\": \"sk\", \"AttributeType\": \"N\"},"
    "{\"AttributeName\": \"g\", \"AttributeType\": \"B\"},"
    "{\"AttributeName\": \"l\", \"AttributeType\": \"S\"}],"
    "\"GlobalSecondaryIndexes\": [{\"IndexName\": \"gix\", \"KeySchema\": [{\"AttributeName\": "
    "\"g\", \"KeyType\": \"HASH\"}], \"Projection\": {\"ProjectionType\": \"KEYS_ONLY\"}}],"
    "\"LocalSecondaryIndexes\": [{\"IndexName\": \"lix\", \"KeySchema\": [{\"AttributeName\": "
    "\"pk\", \"KeyType\": \"HASH\"}, {\"AttributeName\": \"l\", \"KeyType\": \"RANGE\"}], "
    "\"Projection\": {\"ProjectionType\": \"INCLUDE\", \"NonKeyAttributes\": [\"v\"]}}]}";

static ddb_state *state(void) {
  static ddb_state *st;
  if (st)
    return st;
  st = calloc(1, sizeof(*st));
  if (!st)
    abort();
  pthread_mutex_init(&st->lock, NULL);
  st->tokens = json_object();
  ddb_request rq = {st, "000000000000", "us-east-1", NULL};
  ddb_error e = {0};
  json_t *out = NULL;
  rq.input = json_loads(TABLE, 0, NULL);
  if (ddb_op_create_table(&out, &rq, &e) < 0) {
    fprintf(stderr, "fuzz_dynamodb_ops: cannot create the table: %s\n", e.message);
    abort();
  }
  json_decref((json_t *)rq.input);
  json_decref(out);
  return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 16384)
    return 0;
  ddb_state *st = state();
  json_t *in = json_loadb((const char *)data + 1, size - 1, 0, NULL);
  if (!json_is_object(in)) {
    json_decref(in);
    return 0;
  }
  ddb_request rq = {st, "000000000000", "us-east-1", in};
  ddb_error e = {0};
  json_t *out = NULL;
  int rc = OPS[data[0] % NOPS](&out, &rq, &e);
  if (rc < 0 && !e.code)
    abort(); /* a failure must always say why */
  if (rc == 0) {
    char *text = json_dumps(out, 0);
    free(text);
  }
  json_decref(out);
  ddb_error_clear(&e);
  json_decref(in);
  return 0;
}

const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL(
        "\x00{\"TableName\": \"fzz\", \"Item\": {\"pk\": {\"S\": \"a\"}, \"sk\": {\"N\": "
        "\"1\"}, \"g\": {\"B\": \"AAE=\"}, \"l\": {\"S\": \"x\"}, \"v\": {\"L\": "
        "[{\"NS\": [\"1\", \"2\"]}]}}, \"ConditionExpression\": \"attribute_not_exists(pk)\"}"),
    FUZZ_LITERAL("\x02{\"TableName\": \"fzz\", \"Key\": {\"pk\": {\"S\": \"a\"}, \"sk\": {\"N\": "
                 "\"1\"}}, \"UpdateExpression\": \"SET v[0] = :n ADD c :n REMOVE l\", "
                 "\"ExpressionAttributeValues\": {\":n\": {\"N\": \"5\"}}, \"ReturnValues\": "
                 "\"UPDATED_NEW\"}"),
    FUZZ_LITERAL("\x04{\"TableName\": \"fzz\", \"IndexName\": \"lix\", \"KeyConditionExpression\": "
                 "\"pk = :p AND begins_with(l, :x)\", \"ExpressionAttributeValues\": {\":p\": "
                 "{\"S\": \"a\"}, \":x\": {\"S\": \"x\"}}, \"Limit\": 1, \"ScanIndexForward\": "
                 "false}"),
    FUZZ_LITERAL("\x05{\"TableName\": \"fzz\", \"IndexName\": \"gix\", \"Segment\": 0, "
                 "\"TotalSegments\": 2, \"ExclusiveStartKey\": {\"pk\": {\"S\": \"a\"}, \"sk\": "
                 "{\"N\": \"1\"}, \"g\": {\"B\": \"AAE=\"}}}"),
    FUZZ_LITERAL("\x07{\"RequestItems\": {\"fzz\": [{\"PutRequest\": {\"Item\": {\"pk\": {\"S\": "
                 "\"b\"}, \"sk\": {\"N\": \"-1.5\"}}}}, {\"DeleteRequest\": {\"Key\": {\"pk\": "
                 "{\"S\": \"a\"}, \"sk\": {\"N\": \"1\"}}}}]}}"),
    FUZZ_LITERAL(
        "\x08{\"TransactItems\": [{\"ConditionCheck\": {\"TableName\": \"fzz\", \"Key\": "
        "{\"pk\": {\"S\": \"b\"}, \"sk\": {\"N\": \"-1.5\"}}, \"ConditionExpression\": "
        "\"attribute_exists(pk)\"}}, {\"Put\": {\"TableName\": \"fzz\", \"Item\": {\"pk\": "
        "{\"S\": \"c\"}, \"sk\": {\"N\": \"0\"}}}}], \"ClientRequestToken\": \"t\"}"),
    FUZZ_LITERAL("\x0a{\"Statement\": \"SELECT * FROM fzz WHERE pk = ? AND sk > 0\", "
                 "\"Parameters\": [{\"S\": \"a\"}], \"Limit\": 1}"),
    FUZZ_LITERAL("\x0c{\"TransactStatements\": [{\"Statement\": \"UPDATE fzz SET v = 1 WHERE pk = "
                 "'c' AND sk = 0\"}, {\"Statement\": \"DELETE FROM fzz WHERE pk = 'b' AND sk = "
                 "-1.5\"}]}"),
    FUZZ_LITERAL(
        "\x0d{\"TableName\": \"fzz\", \"AttributeDefinitions\": [{\"AttributeName\": "
        "\"v\", \"AttributeType\": \"N\"}], \"GlobalSecondaryIndexUpdates\": "
        "[{\"Create\": {\"IndexName\": \"vix\", \"KeySchema\": [{\"AttributeName\": \"v\", "
        "\"KeyType\": \"HASH\"}], \"Projection\": {\"ProjectionType\": \"ALL\"}}}]}"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
const char fuzz_target_name[] = "fuzz_dynamodb_ops";
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("{}[]\":,0123456789-.eE#:=<> SNBLMpkgl");
const int fuzz_mutations_per_seed = 5000;
