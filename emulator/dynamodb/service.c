/*
 * service.c — the DynamoDB service (JSON 1.0, DynamoDB_20120810.*) on the
 * emulator's handler interface (service.h): state per emulator instance,
 * the operation table, and one handler that runs an operation under the
 * service lock and turns its ddb_error into the protocol's error answer.
 *
 * One lock for the whole service: operations are short, in-memory and
 * CPU-bound, and a single lock makes every operation (batches and
 * transactions included) atomic and isolated without per-table locking.
 */
#include "emulator/service.h"
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  ddb_op_fn fn;
} OPS[] = {
    {"BatchExecuteStatement", ddb_op_batch_execute_statement},
    {"BatchGetItem", ddb_op_batch_get},
    {"BatchWriteItem", ddb_op_batch_write},
    {"CreateTable", ddb_op_create_table},
    {"DeleteItem", ddb_op_delete_item},
    {"DeleteTable", ddb_op_delete_table},
    {"DescribeContinuousBackups", ddb_op_describe_continuous_backups},
    {"DescribeContributorInsights", ddb_op_describe_contributor_insights},
    {"DescribeEndpoints", ddb_op_describe_endpoints},
    {"DescribeKinesisStreamingDestination", ddb_op_describe_kinesis_destination},
    {"DescribeLimits", ddb_op_describe_limits},
    {"DescribeTable", ddb_op_describe_table},
    {"DescribeTimeToLive", ddb_op_describe_ttl},
    {"ExecuteStatement", ddb_op_execute_statement},
    {"ExecuteTransaction", ddb_op_execute_transaction},
    {"GetItem", ddb_op_get_item},
    {"ListTables", ddb_op_list_tables},
    {"ListTagsOfResource", ddb_op_list_tags},
    {"PutItem", ddb_op_put_item},
    {"Query", ddb_op_query},
    {"Scan", ddb_op_scan},
    {"TagResource", ddb_op_tag_resource},
    {"TransactGetItems", ddb_op_transact_get},
    {"TransactWriteItems", ddb_op_transact_write},
    {"UntagResource", ddb_op_untag_resource},
    {"UpdateContinuousBackups", ddb_op_update_continuous_backups},
    {"UpdateContributorInsights", ddb_op_update_contributor_insights},
    {"UpdateItem", ddb_op_update_item},
    {"UpdateTable", ddb_op_update_table},
    {"UpdateTimeToLive", ddb_op_update_ttl},
};
#define NOPS (sizeof(OPS) / sizeof(OPS[0]))

static void ddb_handle(aws_call *call, json_t *input) {
  ddb_state *st = aws_call_state(call);
  const char *op = aws_call_operation(call);
  ddb_op_fn fn = NULL;
  for (size_t i = 0; i < NOPS; i++)
    if (strcmp(OPS[i].name, op) == 0)
      fn = OPS[i].fn;
  ddb_request rq = {st, aws_call_account(call), aws_call_region(call), input};
  ddb_error e = {0};
  json_t *out = NULL;
  pthread_mutex_lock(&st->lock);
  int rc = fn ? fn(&out, &rq, &e) : ddb_fail(&e, "UnknownOperationException", "%s", op);
  pthread_mutex_unlock(&st->lock);
  if (rc < 0) {
    if (!e.code)
      ddb_fail(&e, "InternalServerError", "internal error in %s", op);
    int status = strcmp(e.code, "InternalServerError") == 0 ? 500 : 400;
    json_t *fields = e.fields;
    e.fields = NULL;
    aws_call_fail_fields(call, status, e.code, fields, "%s", e.message);
    return;
  }
  aws_call_reply(call, out);
}

static void state_clear(ddb_state *st) {
  for (size_t i = 0; i < st->ntables; i++)
    ddb_table_free(st->tables[i]);
  free(st->tables);
  st->tables = NULL;
  st->ntables = 0;
  ddb_streams_clear(st);
  json_object_clear(st->tokens);
}

static int ddb_create(void **state, emulator *emu) {
  ddb_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "dynamodb: out of memory");
  st->tokens = json_object();
  if (!st->tokens || pthread_mutex_init(&st->lock, NULL) != 0) {
    json_decref(st->tokens);
    free(st);
    return airgap_error_set(AIRGAP_ERROR, "dynamodb: cannot create the service state");
  }
  ddb_ttl_start(st, emu);
  *state = st;
  return 0;
}

static void ddb_reset(void *state) {
  ddb_state *st = state;
  pthread_mutex_lock(&st->lock);
  state_clear(st);
  pthread_mutex_unlock(&st->lock);
}

static void ddb_shutdown(void *state) { ddb_ttl_stop(state); }

static void ddb_destroy(void *state) {
  ddb_state *st = state;
  if (!st)
    return;
  ddb_ttl_stop(st);
  state_clear(st);
  json_decref(st->tokens);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static const aws_operation ddb_operations[] = {
    {"DescribeContinuousBackups", ddb_handle},
    {"DescribeContributorInsights", ddb_handle},
    {"DescribeKinesisStreamingDestination", ddb_handle},
    {"UpdateContinuousBackups", ddb_handle},
    {"UpdateContributorInsights", ddb_handle},
    {"BatchExecuteStatement", ddb_handle},
    {"ExecuteStatement", ddb_handle},
    {"ExecuteTransaction", ddb_handle},
    {"BatchGetItem", ddb_handle},
    {"BatchWriteItem", ddb_handle},
    {"CreateTable", ddb_handle},
    {"DeleteItem", ddb_handle},
    {"DeleteTable", ddb_handle},
    {"DescribeEndpoints", ddb_handle},
    {"DescribeLimits", ddb_handle},
    {"DescribeTable", ddb_handle},
    {"DescribeTimeToLive", ddb_handle},
    {"GetItem", ddb_handle},
    {"ListTables", ddb_handle},
    {"ListTagsOfResource", ddb_handle},
    {"PutItem", ddb_handle},
    {"Query", ddb_handle},
    {"Scan", ddb_handle},
    {"TagResource", ddb_handle},
    {"TransactGetItems", ddb_handle},
    {"TransactWriteItems", ddb_handle},
    {"UntagResource", ddb_handle},
    {"UpdateItem", ddb_handle},
    {"UpdateTable", ddb_handle},
    {"UpdateTimeToLive", ddb_handle},
};

const aws_service aws_service_dynamodb = {
    .name = "dynamodb",
    .model_name = "dynamodb",
    .operations = ddb_operations,
    .operation_count = sizeof(ddb_operations) / sizeof(ddb_operations[0]),
    .create = ddb_create,
    .reset = ddb_reset,
    .shutdown = ddb_shutdown,
    .destroy = ddb_destroy,
    .internal_endpoint = ddb_internal_endpoint,
};
