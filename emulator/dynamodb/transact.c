/*
 * transact.c — TransactWriteItems and TransactGetItems.
 *
 * All or nothing: every action is prepared (parsed, checked, its condition
 * evaluated, its new item computed) against the same state before any is
 * applied, and the service lock is held throughout, so no other request sees
 * a half-applied transaction. A failed condition cancels the whole
 * transaction with TransactionCanceledException and one CancellationReason
 * per action, in order ("None" for those that would have succeeded).
 * Parameter errors fail the request with ValidationException instead, as
 * DynamoDB does. ClientRequestToken makes a retry within 10 minutes a no-op
 * that succeeds again; the same token with other parameters is refused.
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/clock.h"
#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ACTIONS 100
#define TOKEN_TTL_MS (10u * 60 * 1000)

static const char *const KINDS[] = {"Put", "Update", "Delete", "ConditionCheck"};
static const ddb_write_kind WKINDS[] = {DDB_W_PUT, DDB_W_UPDATE, DDB_W_DELETE, DDB_W_CHECK};

/* 1: the token was used for this very request (answer success, do nothing);
 * 0: new token (remembered); -1: used with other parameters (e filled). */
static int idempotency(ddb_state *st, const json_t *in, ddb_error *e) {
  const char *token = jsonutil_string(in, "ClientRequestToken");
  if (!token)
    return 0;
  uint64_t now = clock_monotonic_ms();
  const char *k;
  json_t *v, *tmp;
  json_object_foreach_safe(st->tokens, tmp, k, v) {
    if (now - (uint64_t)json_integer_value(json_object_get(v, "at")) > TOKEN_TTL_MS)
      json_object_del(st->tokens, k);
  }
  json_t *items = json_object_get(in, "TransactItems");
  char *body = json_dumps(items, JSON_COMPACT | JSON_SORT_KEYS);
  if (!body)
    return ddb_fail(e, "InternalServerError", "out of memory");
  json_t *prev = json_object_get(st->tokens, token);
  int rc = 0;
  if (prev) {
    if (strcmp(json_string_value(json_object_get(prev, "body")), body) == 0)
      rc = 1;
    else
      rc = ddb_fail(e, "IdempotentParameterMismatchException",
                    "The request uses the same client token as a previous, but non-identical "
                    "request.");
  }
  free(body);
  return rc;
}

static void remember_token(ddb_state *st, const json_t *in) {
  const char *token = jsonutil_string(in, "ClientRequestToken");
  if (!token)
    return;
  char *body = json_dumps(json_object_get(in, "TransactItems"), JSON_COMPACT | JSON_SORT_KEYS);
  if (body)
    json_object_set_new(
        st->tokens, token,
        json_pack("{s:I, s:s}", "at", (json_int_t)clock_monotonic_ms(), "body", body));
  free(body);
}

static int check_count(const json_t *list, ddb_error *e) {
  size_t n = json_array_size(list);
  if (n < 1 || n > MAX_ACTIONS)
    return ddb_invalid(e,
                       "1 validation error detected: Value at 'transactItems' failed to satisfy "
                       "constraint: Member must have length %s",
                       n < 1 ? "greater than or equal to 1" : "less than or equal to 100");
  return 0;
}

int ddb_op_transact_write(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *list = json_object_get(rq->input, "TransactItems");
  if (check_count(list, e) < 0)
    return -1;
  int idem = idempotency(rq->st, rq->input, e);
  if (idem < 0)
    return -1;
  if (idem == 1) {
    *out = json_object();
    return 0;
  }
  size_t n = json_array_size(list), done_n = 0;
  ddb_write *w = calloc(n, sizeof(*w));
  json_t *reasons = json_array(), *keys = json_object();
  int rc = -1, cancelled = 0;
  if (!w) {
    ddb_fail(e, "InternalServerError", "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    const json_t *act = json_array_get(list, i);
    int kind = -1;
    for (int k = 0; k < 4; k++)
      if (json_object_get(act, KINDS[k])) {
        if (kind >= 0) {
          ddb_invalid(e, "TransactItems can only contain one of Check, Put, Update or Delete");
          goto done;
        }
        kind = k;
      }
    if (kind < 0) {
      ddb_invalid(e, "TransactItems can only contain one of Check, Put, Update or Delete");
      goto done;
    }
    ddb_error ae = {0};
    if (ddb_write_prepare(&w[i], rq, WKINDS[kind], json_object_get(act, KINDS[kind]), &ae) < 0) {
      if (!ae.code || strcmp(ae.code, "ConditionalCheckFailedException") != 0) {
        *e = ae;
        goto done;
      }
      json_t *reason = json_pack("{s:s, s:s}", "Code", "ConditionalCheckFailed", "Message",
                                 "The conditional request failed");
      json_t *item = json_object_get(ae.fields, "Item");
      if (item)
        json_object_set(reason, "Item", item);
      json_array_append_new(reasons, reason);
      ddb_error_clear(&ae);
      cancelled = 1;
      continue;
    }
    done_n = i + 1;
    json_array_append_new(reasons, json_pack("{s:s}", "Code", "None"));
    char *kt = ddb_key_text(&w[i]);
    char *id = NULL;
    if (kt) {
      size_t len = strlen(kt) + strlen(w[i].table->arn) + 2;
      id = malloc(len);
      if (id)
        snprintf(id, len, "%s|%s", w[i].table->arn, kt);
    }
    free(kt);
    if (id && json_object_get(keys, id)) {
      free(id);
      ddb_invalid(e, "Transaction request cannot include multiple operations on one item");
      goto done;
    }
    if (id)
      json_object_set_new(keys, id, json_true());
    free(id);
  }
  if (cancelled) {
    char msg[900];
    size_t off = (size_t)snprintf(msg, sizeof(msg),
                                  "Transaction cancelled, please refer cancellation reasons for "
                                  "specific reasons [");
    size_t i;
    json_t *r;
    json_array_foreach(reasons, i, r) {
      int wr =
          snprintf(msg + off, sizeof(msg) - off, "%s%s", i ? ", " : "", jsonutil_string(r, "Code"));
      if (wr < 0 || (size_t)wr >= sizeof(msg) - off)
        break;
      off += (size_t)wr;
    }
    if (off < sizeof(msg) - 2)
      snprintf(msg + off, sizeof(msg) - off, "]");
    ddb_fail(e, "TransactionCanceledException", "%s", msg);
    e->fields = json_pack("{s:O}", "CancellationReasons", reasons);
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    if (ddb_write_apply(&w[i], e) < 0)
      goto done;
  remember_token(rq->st, rq->input);
  *out = json_object();
  rc = 0;
done:
  for (size_t i = 0; w && i < n; i++)
    ddb_write_free(&w[i]);
  (void)done_n;
  free(w);
  json_decref(reasons);
  json_decref(keys);
  return rc;
}

int ddb_op_transact_get(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *list = json_object_get(rq->input, "TransactItems");
  if (check_count(list, e) < 0)
    return -1;
  json_t *responses = json_array();
  size_t i;
  json_t *act;
  json_array_foreach(list, i, act) {
    json_t *get = json_object_get(act, "Get");
    json_t *res = NULL;
    ddb_request sub = *rq;
    sub.input = get;
    if (!get) {
      json_decref(responses);
      return ddb_invalid(e, "TransactItems can only contain Get");
    }
    if (ddb_op_get_item(&res, &sub, e) < 0) {
      json_decref(responses);
      return -1;
    }
    json_object_del(res, "ConsumedCapacity");
    json_array_append_new(responses, res);
  }
  *out = json_pack("{s:o}", "Responses", responses);
  return 0;
}
