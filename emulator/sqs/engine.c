/*
 * engine.c — the SQS engine: the object, dispatch of operations, reset, and
 * the error and request checks every operation shares.
 *
 * State lives in memory behind one mutex per engine: SQS calls are short (a
 * few list walks), so one lock keeps every invariant simple (FIFO group locks,
 * deduplication, redrive between queues) at a cost far below the HTTP work
 * around each call. Queues are found through a hash map keyed by
 * account/region/name; a queue keeps its messages in one list in send order
 * (standard queues deliver oldest-first too) plus a map from the message's
 * engine-wide sequence number, which receipt handles carry (queues.c).
 *
 * Time is read through hooks (sqs_hooks) so the unit tests can turn the
 * clock by hand. Visibility timeouts, delays and retention are evaluated
 * lazily against "now" whenever a queue is looked at; nothing ticks.
 *
 * An operation runs under the lock with an sqs_op that collects its output
 * or error and the long polls it answered; the caller's completion and the
 * waiters' are called after the lock is released (longpoll.c says why).
 */
#include "emulator/sqs/sqs_engine_int.h"

#include "common/error.h"
#include "common/jsonutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* ---- errors and request checks ---- */

int sqs_err_set(sqs_error *err, int status, const char *code, const char *fmt, ...) {
  err->status = status;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  va_end(ap);
  return -1;
}

int sqs_err_oom(sqs_error *err) {
  return sqs_err_set(err, 500, "InternalFailure", "The emulator ran out of memory.");
}

int sqs_err_missing(sqs_error *err, const char *name) {
  return sqs_err_set(err, 0, "MissingParameter", "The request must contain the parameter %s.",
                     name);
}

int sqs_int_member(json_t *obj, const char *name, int64_t *out, sqs_error *err) {
  json_t *v = json_object_get(obj, name);
  if (!v || json_is_null(v))
    return 0;
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return 1;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end = NULL;
    long long n = strtoll(s, &end, 10);
    if (*s && end && *end == '\0') {
      *out = n;
      return 1;
    }
  }
  return sqs_err_set(err, 0, "InvalidParameterValue",
                     "Value for parameter %s is invalid. Reason: must be an integer.", name);
}

int sqs_int_member_range(json_t *obj, const char *name, int64_t lo, int64_t hi, const char *reason,
                         int64_t *out, sqs_error *err) {
  int64_t v = 0;
  int rc = sqs_int_member(obj, name, &v, err);
  if (rc <= 0)
    return rc;
  if (v < lo || v > hi)
    return sqs_err_set(err, 0, "InvalidParameterValue",
                       "Value %" PRId64 " for parameter %s is invalid. Reason: %s", v, name,
                       reason);
  *out = v;
  return 1;
}

int sqs_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

/* Letters, digits and punctuation. */
int sqs_valid_dedup_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > SQS_MAX_DEDUP_ID)
    return 0;
  for (; *s; s++)
    if (*s < 0x21 || *s > 0x7e)
      return 0;
  return 1;
}

/* Decodes the UTF-8 sequence at s (n bytes left) into *cp; its length, or 0
 * when malformed. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
  if (!len || len > n || s[0] >= 0xf8)
    return 0;
  uint32_t c = s[0] & (0x7f >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3f);
  }
  *cp = c;
  return len;
}

/* A letter or digit beyond ASCII, by script block: AWS takes "attr.1øßä" and
 * refuses "Invalid-§-attr". Latin-1's symbols, general punctuation, symbol
 * and emoji blocks are refused; the letter blocks of the world's scripts
 * are taken (an approximation of Unicode's letter classes, which no library
 * of ours provides). */
static int unicode_alnum(uint32_t c) {
  if (c < 0xc0)
    return c == 0xaa || c == 0xb5 || c == 0xba;
  if (c == 0xd7 || c == 0xf7)
    return 0;
  return c <= 0x1fff || (c >= 0x3040 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xd7a3) ||
         (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff10 && c <= 0xff19) ||
         (c >= 0xff21 && c <= 0xff3a) || (c >= 0xff41 && c <= 0xff5a) ||
         (c >= 0x20000 && c <= 0x3134f);
}

int sqs_valid_attribute_name(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > SQS_MAX_ATTRIBUTE_NAME || name[0] == '.' || name[n - 1] == '.' ||
      strstr(name, "..") || !strncasecmp(name, "aws.", 4) || !strncasecmp(name, "amazon.", 7))
    return 0;
  const unsigned char *p = (const unsigned char *)name;
  for (size_t i = 0; i < n;) {
    if (p[i] < 0x80) {
      if (!sqs_name_char((char)p[i]) && p[i] != '.')
        return 0;
      i++;
      continue;
    }
    uint32_t c;
    size_t len = utf8_decode(p + i, n - i, &c);
    if (!len || !unicode_alnum(c))
      return 0;
    i += len;
  }
  return 1;
}

int sqs_name_selected(json_t *names, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    const char *s = json_string_value(v);
    if (s && (!strcmp(s, "All") || !strcmp(s, name)))
      return 1;
  }
  return 0;
}

/* ---- batch plumbing ---- */

int sqs_batch_check(sqs_op *op, json_t *entries, const char *entry_name) {
  if (!entries || (json_is_array(entries) && json_array_size(entries) == 0))
    return sqs_err_set(&op->err, 0, "EmptyBatchRequest",
                       "There should be at least one %s in the request.", entry_name);
  if (!json_is_array(entries))
    return sqs_err_set(&op->err, 0, "InvalidParameterValue", "Entries must be a list.");
  if (json_array_size(entries) > SQS_MAX_BATCH)
    return sqs_err_set(&op->err, 0, "TooManyEntriesInBatchRequest",
                       "Maximum number of entries per request are %d. You have sent %zu.",
                       SQS_MAX_BATCH, json_array_size(entries));
  size_t i, j;
  json_t *e;
  json_array_foreach(entries, i, e) {
    const char *id = jsonutil_string(e, "Id");
    int ok = id && *id && strlen(id) <= SQS_MAX_BATCH_ID;
    for (const char *p = id; ok && *p; p++)
      ok = sqs_name_char(*p);
    if (!ok)
      return sqs_err_set(&op->err, 0, "InvalidBatchEntryId",
                         "A batch entry id can only contain alphanumeric characters, hyphens and "
                         "underscores. It can be at most %d letters long.",
                         SQS_MAX_BATCH_ID);
    for (j = 0; j < i; j++)
      if (!strcmp(id, jsonutil_string(json_array_get(entries, j), "Id")))
        return sqs_err_set(&op->err, 0, "BatchEntryIdsNotDistinct", "Id %s repeated.", id);
  }
  return 0;
}

static void batch_fail(json_t *failed, const char *id, const sqs_error *err) {
  json_array_append_new(failed,
                        json_pack("{s:s, s:b, s:s, s:s}", "Id", id, "SenderFault",
                                  err->status < 500, "Code", err->code, "Message", err->message));
}

int sqs_batch_run(sqs_op *op, sqs_queue *q, json_t *entries, sqs_batch_entry_fn fn) {
  json_t *ok = json_array(), *failed = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(entries, i, e) {
    json_t *result = NULL;
    sqs_error err;
    const char *id = jsonutil_string(e, "Id");
    if (fn(op, q, e, &result, &err) < 0) {
      batch_fail(failed, id, &err);
      continue;
    }
    if (!result)
      result = json_object();
    json_object_set_new(result, "Id", json_string(id));
    json_array_append_new(ok, result);
  }
  op->output = json_pack("{s:o, s:o}", "Successful", ok, "Failed", failed);
  sqs_serve_waiters(op, q);
  return op->output ? 0 : sqs_err_oom(&op->err);
}

/* ---- characters ---- */

/* The member of v (named name) holding a string with a NUL inside, or NULL.
 * JSON requests may carry \u0000 (the protocol layer keeps it for SQS):
 * bodies and attribute values answer it with their own checks
 * (InvalidMessageContents and the like); anywhere else, where the engine
 * reads C strings, it is refused here before a truncated name is used. */
static const char *nul_member(json_t *v, const char *name, int depth) {
  if (depth > 32)
    return NULL;
  if (json_is_string(v))
    return strlen(json_string_value(v)) != json_string_length(v) && strcmp(name, "MessageBody") &&
                   strcmp(name, "StringValue") && strcmp(name, "StringListValues")
               ? name
               : NULL;
  const char *found = NULL, *key;
  size_t i;
  json_t *item;
  if (json_is_object(v)) {
    json_object_foreach(v, key, item) if (!found) found = nul_member(item, key, depth + 1);
  } else if (json_is_array(v)) {
    json_array_foreach(v, i, item) if (!found) found = nul_member(item, name, depth + 1);
  }
  return found;
}

/* ---- dispatch ---- */

#define OPERATION(name, fn) {#name, sqs_op_##fn},
static const struct {
  const char *name;
  sqs_op_fn fn;
} OPERATIONS[] = {SQS_OPERATIONS(OPERATION)};
#undef OPERATION
#define OPERATION_COUNT (sizeof(OPERATIONS) / sizeof(OPERATIONS[0]))

int sqs_engine_has_operation(const char *operation) {
  for (size_t i = 0; i < OPERATION_COUNT; i++)
    if (!strcmp(OPERATIONS[i].name, operation))
      return 1;
  return 0;
}

void sqs_engine_call(sqs_engine *e, const sqs_context *ctx, const char *operation, json_t *input,
                     sqs_done_fn done, void *payload) {
  sqs_op op = {.e = e, .ctx = ctx, .fn = done, .payload = payload};
  json_t *empty = NULL;
  int rc = -1;
  size_t i;
  if (!input)
    input = empty = json_object();
  for (i = 0; i < OPERATION_COUNT; i++)
    if (!strcmp(OPERATIONS[i].name, operation))
      break;
  if (i == OPERATION_COUNT || !json_is_object(input)) {
    sqs_err_set(&op.err, 400, i == OPERATION_COUNT ? "InvalidAction" : "InvalidParameterValue",
                i == OPERATION_COUNT ? "The action %.2000s is not valid for this endpoint."
                                     : "The input of %.2000s is not a structure.",
                operation);
    done(NULL, &op.err, payload);
    json_decref(empty);
    return;
  }
  const char *nul = nul_member(input, "", 0);
  if (nul) {
    sqs_err_set(&op.err, 0, "InvalidParameterValue",
                "Value for parameter %.2000s is invalid. Reason: it contains the character "
                "#x0, which is not allowed.",
                nul);
    done(NULL, &op.err, payload);
    json_decref(empty);
    return;
  }
  pthread_mutex_lock(&e->lock);
  op.now = e->hooks.now_ms(e->hooks.payload);
  rc = OPERATIONS[i].fn(&op, input);
  pthread_mutex_unlock(&e->lock);
  sqs_finish_all(e, op.done);
  json_decref(empty);
  if (rc < 0) {
    json_decref(op.output);
    done(NULL, &op.err, payload);
  } else if (!op.suspended) {
    done(op.output, NULL, payload);
  }
}

/* ---- life cycle ---- */

int sqs_engine_new(sqs_engine **out, const sqs_hooks *hooks) {
  sqs_engine *e = calloc(1, sizeof(*e));
  if (!e)
    return airgap_error_set(AIRGAP_ERROR, "cannot create the SQS engine: out of memory");
  e->hooks = *hooks;
  /* getrandom, not RAND_bytes: initialising OpenSSL here would cost the
   * emulator ~3 ms and ~3 MiB of resident pages at every start. */
  if (getrandom(&e->key, sizeof(e->key), 0) != (ssize_t)sizeof(e->key)) {
    free(e);
    return airgap_error_set(AIRGAP_ERROR, "cannot create the SQS engine: no random bytes");
  }
  e->deleted = json_object();
  if (!e->deleted) {
    free(e);
    return airgap_error_set(AIRGAP_ERROR, "cannot create the SQS engine: out of memory");
  }
  pthread_mutex_init(&e->lock, NULL);
  *out = e;
  return 0;
}

/* Answers all waiters; with drop_queues also deletes every queue. */
static void engine_clear(sqs_engine *e, int drop_queues, int shutting_down) {
  sqs_context ctx = {"000000000000", "us-east-1", NULL};
  sqs_op op = {.e = e, .ctx = &ctx};
  pthread_mutex_lock(&e->lock);
  if (shutting_down)
    e->shutting_down = 1;
  for (sqs_queue *q = e->queues_head; q; q = q->next)
    sqs_release_waiters(&op, q);
  if (drop_queues) {
    while (e->queues_head)
      sqs_queue_remove(&op, e->queues_head);
    json_object_clear(e->deleted);
    sqs_move_tasks_clear(e);
  }
  pthread_mutex_unlock(&e->lock);
  sqs_finish_all(e, op.done);
}

void sqs_engine_reset(sqs_engine *e) { engine_clear(e, 1, 0); }

void sqs_engine_shutdown(sqs_engine *e) { engine_clear(e, 0, 1); }

void sqs_engine_free(sqs_engine *e) {
  if (!e)
    return;
  engine_clear(e, 1, 1);
  sqs_move_timer_cancel(e);
  sqs_map_clear(&e->queues);
  json_decref(e->deleted);
  pthread_mutex_destroy(&e->lock);
  free(e);
}
