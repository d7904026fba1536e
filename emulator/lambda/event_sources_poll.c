/*
 * event_sources_poll.c — the one poller thread of the event source
 * mappings.
 *
 * It starts at the first CreateEventSourceMapping and then, every
 * ESM_TICK_MS or when woken (a mapping changed, an invocation finished):
 * settles transitional states, drops the progress of mappings that are
 * gone, hands finished invocations to their source, and lets each enabled
 * mapping's source read and invoke. A mapping has at most one batch in
 * flight, as Lambda's pollers keep order per queue and per shard.
 * Invocations run through lambda.h (the runtime's own threads), never on
 * this thread, so one slow function does not hold another mapping up.
 *
 * At shutdown the thread is joined before the runtime stops; results that
 * arrive later (the runtime drops what is in flight) wait here until the
 * state is freed.
 */
#include "common/clock.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "emulator/delivery/delivery.h"
#include "emulator/lambda/lambda_esm_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const esm_source *source_of(const char *kind) {
  if (kind && strcmp(kind, "sqs") == 0)
    return &lambda_esm_sqs;
  if (kind && strcmp(kind, "kinesis") == 0)
    return &lambda_esm_kinesis;
  if (kind && strcmp(kind, "dynamodb") == 0)
    return &lambda_esm_dynamodb;
  return NULL;
}

static void batch_free(esm_batch *b) {
  if (!b)
    return;
  json_decref(b->ctx);
  free(b->error_code);
  free(b->payload);
  free(b);
}

/* The runtime's callback: queue the result for the poller. */
static void batch_done(const lambda_result *r, void *payload) {
  esm_batch *b = payload;
  b->error_code = r->error_code ? strdup(r->error_code) : NULL;
  b->function_error = r->function_error != NULL;
  if (r->len) {
    b->payload = malloc(r->len + 1);
    if (b->payload) {
      memcpy(b->payload, r->payload, r->len);
      b->payload[r->len] = '\0';
      b->len = r->len;
    }
  }
  lambda_esm *esm = b->esm;
  pthread_mutex_lock(&esm->lock);
  b->next = esm->done;
  esm->done = b;
  esm->wake = 1;
  pthread_cond_signal(&esm->cond);
  pthread_mutex_unlock(&esm->lock);
}

void lambda_esm_result(lambda_esm *esm, const char *uuid, const char *text) {
  lambda_state *st = esm->st;
  pthread_mutex_lock(&st->lock);
  json_t *c = json_object_get(json_object_get(st->mappings, uuid), "Config");
  if (c)
    json_object_set_new(c, "LastProcessingResult", json_string(text));
  pthread_mutex_unlock(&st->lock);
}

int lambda_esm_invoke(lambda_esm *esm, const json_t *mapping, json_t *progress, json_t *event,
                      json_t *ctx) {
  const json_t *c = json_object_get(mapping, "Config");
  const char *uuid = jsonutil_string(c, "UUID");
  esm_batch *b = calloc(1, sizeof(*b));
  char *text = json_dumps(event, JSON_COMPACT);
  json_decref(event);
  if (!b || !text) {
    free(b);
    free(text);
    json_decref(ctx);
    return -1;
  }
  b->esm = esm;
  b->ctx = ctx;
  snprintf(b->uuid, sizeof(b->uuid), "%s", uuid);
  json_object_set_new(progress, "inflight", json_true());
  int rc = lambda_invoke_request(esm->emu, jsonutil_string(c, "FunctionArn"), text, strlen(text),
                                 batch_done, b);
  free(text);
  if (rc < 0) {
    log_warn("lambda", "event source mapping %s: %s", uuid, airgap_error_last());
    lambda_esm_result(esm, uuid,
                      rc == AIRGAP_ENOTFOUND ? "PROBLEM: Function not found."
                                             : "PROBLEM: Function call failed");
    json_object_set_new(progress, "inflight", json_false());
    batch_free(b);
    return -1;
  }
  return 0;
}

int lambda_esm_filter(const json_t *mapping, const json_t *record) {
  json_t *filters = json_object_get(
      json_object_get(json_object_get(mapping, "Config"), "FilterCriteria"), "Filters");
  if (json_array_size(filters) == 0)
    return 1;
  size_t i;
  json_t *f;
  json_array_foreach(filters, i, f) {
    json_t *pattern = json_loads(jsonutil_string(f, "Pattern"), 0, NULL);
    int match = pattern && delivery_pattern_match(pattern, record);
    json_decref(pattern);
    if (match)
      return 1;
  }
  return 0;
}

json_t *lambda_esm_failures(const esm_batch *b, const json_t *ids) {
  json_t *doc = b->len ? json_loadb(b->payload, b->len, JSON_DECODE_ANY, NULL) : NULL;
  json_t *out = json_array();
  /* An answer without batchItemFailures (null, {}, an empty list) means
   * every item succeeded. */
  json_t *items = json_is_object(doc) ? json_object_get(doc, "batchItemFailures") : NULL;
  if (doc && !json_is_object(doc) && !json_is_null(doc))
    goto whole;
  if (items && !json_is_null(items) && !json_is_array(items))
    goto whole;
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item) {
    const char *id = jsonutil_string(item, "itemIdentifier");
    if (!id || !*id || !json_object_get(ids, id))
      goto whole;
    json_array_append_new(out, json_string(id));
  }
  json_decref(doc);
  return out;
whole:
  json_decref(doc);
  json_decref(out);
  return NULL;
}

/* One turn: settle states, drop progress of gone mappings, finish results,
 * poll. */
static void turn(lambda_esm *esm) {
  lambda_state *st = esm->st;
  pthread_mutex_lock(&esm->lock);
  esm_batch *done = esm->done;
  esm->done = NULL;
  pthread_mutex_unlock(&esm->lock);

  json_t *snapshot = json_object();
  pthread_mutex_lock(&st->lock);
  const char *k;
  json_t *m;
  void *tmp;
  json_object_foreach_safe(st->mappings, tmp, k, m) {
    if (lambda_esm_settle(m))
      json_object_del(st->mappings, k);
    else
      json_object_set_new(snapshot, k, json_deep_copy(m));
  }
  pthread_mutex_unlock(&st->lock);

  json_object_foreach_safe(esm->progress, tmp, k, m) {
    if (!json_object_get(snapshot, k))
      json_object_del(esm->progress, k);
  }
  while (done) {
    esm_batch *b = done;
    done = b->next;
    json_t *mapping = json_object_get(snapshot, b->uuid);
    json_t *progress = json_object_get(esm->progress, b->uuid);
    const esm_source *src = source_of(jsonutil_string(mapping, "Kind"));
    if (mapping && progress && src) {
      json_object_set_new(progress, "inflight", json_false());
      src->finish(esm, mapping, progress, b);
    }
    batch_free(b);
  }
  json_object_foreach(snapshot, k, m) {
    const char *state = jsonutil_string(json_object_get(m, "Config"), "State");
    const esm_source *src = source_of(jsonutil_string(m, "Kind"));
    /* Updating and Enabling keep polling, as AWS's pollers do. */
    if (!src || !state ||
        (strcmp(state, "Enabled") != 0 && strcmp(state, "Updating") != 0 &&
         strcmp(state, "Enabling") != 0))
      continue;
    if (strcmp(state, "Updating") == 0 && !json_is_true(json_object_get(m, "Enabled")))
      continue;
    json_t *progress = json_object_get(esm->progress, k);
    if (!progress) {
      progress = json_object();
      json_object_set_new(esm->progress, k, progress);
    }
    if (json_is_true(json_object_get(progress, "inflight")))
      continue;
    src->poll(esm, m, progress);
  }
  json_decref(snapshot);
}

static void *poller_main(void *arg) {
  lambda_esm *esm = arg;
  pthread_mutex_lock(&esm->lock);
  while (!esm->closing) {
    esm->wake = 0;
    pthread_mutex_unlock(&esm->lock);
    turn(esm);
    pthread_mutex_lock(&esm->lock);
    if (esm->closing || esm->wake)
      continue;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)ESM_TICK_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    while (!esm->closing && !esm->wake &&
           pthread_cond_timedwait(&esm->cond, &esm->lock, &until) != ETIMEDOUT)
      ;
  }
  pthread_mutex_unlock(&esm->lock);
  return NULL;
}

int lambda_esm_start(lambda_state *st) {
  pthread_mutex_lock(&st->lock);
  lambda_esm *esm = st->esm;
  if (!esm) {
    esm = calloc(1, sizeof(*esm));
    if (esm) {
      esm->st = st;
      esm->emu = st->emu;
      esm->progress = json_object();
      pthread_mutex_init(&esm->lock, NULL);
      pthread_cond_init(&esm->cond, NULL);
      st->esm = esm;
    }
  }
  int rc = 0;
  if (!esm || !esm->progress) {
    rc = -1;
  } else if (!esm->started && !esm->closing) {
    if (pthread_create(&esm->thread, NULL, poller_main, esm) == 0)
      esm->started = 1;
    else
      rc = -1;
  }
  pthread_mutex_unlock(&st->lock);
  if (rc < 0)
    log_warn("lambda", "event source mappings: cannot start the poller");
  return rc;
}

void lambda_esm_wake(lambda_state *st) {
  pthread_mutex_lock(&st->lock);
  lambda_esm *esm = st->esm;
  pthread_mutex_unlock(&st->lock);
  if (!esm)
    return;
  pthread_mutex_lock(&esm->lock);
  esm->wake = 1;
  pthread_cond_signal(&esm->cond);
  pthread_mutex_unlock(&esm->lock);
}

void lambda_esm_shutdown(lambda_state *st) {
  pthread_mutex_lock(&st->lock);
  lambda_esm *esm = st->esm;
  pthread_mutex_unlock(&st->lock);
  if (!esm)
    return;
  pthread_mutex_lock(&esm->lock);
  esm->closing = 1;
  int started = esm->started;
  esm->started = 0;
  pthread_cond_signal(&esm->cond);
  pthread_mutex_unlock(&esm->lock);
  if (started)
    pthread_join(esm->thread, NULL);
}

void lambda_esm_free(lambda_state *st) {
  lambda_esm *esm = st->esm;
  if (!esm)
    return;
  lambda_esm_shutdown(st);
  while (esm->done) {
    esm_batch *b = esm->done;
    esm->done = b->next;
    batch_free(b);
  }
  json_decref(esm->progress);
  pthread_mutex_destroy(&esm->lock);
  pthread_cond_destroy(&esm->cond);
  free(esm);
  st->esm = NULL;
}
