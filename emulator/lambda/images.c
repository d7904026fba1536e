/*
 * images.c — is the image a function runs there? Checked once, in the
 * background, when a function is created or its code updated, so that a
 * missing image shows as the function's State (Failed, ImageAccessDenied,
 * naming the image) rather than as the first Invoke timing out.
 *
 * A function being checked carries "ImageCheck": {"Key"} and keeps its
 * Pending state (or InProgress update) until the check of that key ends:
 * lambda_function_settle leaves it alone meanwhile. Keys are
 * "image:<uri>" for image packages and "runtime:<runtime>" for zips (the
 * runtime's image is resolved by the check, with the runtime's mapping).
 * One thread per key at a time; a function that asks while its key is
 * being checked gets that check's answer. The check asks the engine to
 * create (not start) a container of the image and removes it: the one
 * question both the direct engine and the supervisor's channel answer.
 */
#include "common/error.h"
#include "common/log.h"
#include "emulator/lambda/lambda_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct check_job {
  lambda_state *st;
  char key[600];
} check_job;

static void apply(lambda_state *st, const char *key, int missing, const char *image) {
  const char *k;
  json_t *f;
  json_object_foreach(st->functions, k, f) {
    json_t *check = json_object_get(f, "ImageCheck");
    const char *fk = json_string_value(json_object_get(check, "Key"));
    if (!fk || strcmp(fk, key) != 0)
      continue;
    int update = json_is_true(json_object_get(check, "Update"));
    json_object_del(f, "ImageCheck");
    json_t *c = json_object_get(f, "Latest");
    if (!missing) {
      lambda_function_settle(f);
      continue;
    }
    char reason[900];
    snprintf(reason, sizeof(reason),
             "Lambda cannot use the image %.500s: the Docker engine does not have it (airgap "
             "never pulls; build or load it, or map the runtime to a local image with "
             "LAMBDA_RUNTIME_IMAGE_MAPPING).",
             image);
    json_object_set_new(c, "State", json_string("Failed"));
    json_object_set_new(c, "StateReason", json_string(reason));
    json_object_set_new(c, "StateReasonCode", json_string("ImageAccessDenied"));
    lambda_function_runs_latest(f); /* a failed function is invoked no more */
    if (update) {
      json_object_set_new(c, "LastUpdateStatus", json_string("Failed"));
      json_object_set_new(c, "LastUpdateStatusReason", json_string(reason));
      json_object_set_new(c, "LastUpdateStatusReasonCode", json_string("ImageAccessDenied"));
    }
    json_object_del(f, "ReadyAt");
  }
}

static void *check_main(void *arg) {
  check_job *job = arg;
  lambda_state *st = job->st;
  char image[600] = "";
  int missing = 0;
  lambda_runtime *rt = st->closing ? NULL : lambda_runtime_get(st, NULL);
  if (rt) {
    if (strncmp(job->key, "image:", 6) == 0)
      snprintf(image, sizeof(image), "%s", job->key + 6);
    else
      lambda_runtime_image(image, sizeof(image), rt, job->key + 8);
    int rc = lambda_image_probe(rt, image);
    missing = rc == AIRGAP_ENOTFOUND;
    if (rc < 0 && !missing)
      log_warn("lambda", "cannot check the image %s: %s", image, airgap_error_last());
  }
  pthread_mutex_lock(&st->lock);
  apply(st, job->key, missing, image);
  json_object_del(st->image_checks, job->key);
  st->checks_running--;
  pthread_cond_broadcast(&st->checks_done);
  pthread_mutex_unlock(&st->lock);
  free(job);
  return NULL;
}

void lambda_image_check_start(lambda_state *st, json_t *f) {
  json_t *c = json_object_get(f, "Latest");
  const char *uri = json_string_value(json_object_get(json_object_get(f, "LatestCode"), "Image"));
  const char *runtime = json_string_value(json_object_get(c, "Runtime"));
  char key[600];
  if (uri)
    snprintf(key, sizeof(key), "image:%s", uri);
  else
    snprintf(key, sizeof(key), "runtime:%s", runtime ? runtime : "provided.al2023");
  const char *upd = json_string_value(json_object_get(c, "LastUpdateStatus"));
  json_object_set_new(
      f, "ImageCheck",
      json_pack("{s:s, s:b}", "Key", key, "Update",
                upd && strcmp(upd, "InProgress") == 0 && !json_object_get(c, "StateReasonCode")));
  if (st->closing || json_object_get(st->image_checks, key))
    return; /* the running check answers this function too */
  check_job *job = calloc(1, sizeof(*job));
  if (!job) {
    json_object_del(f, "ImageCheck");
    return;
  }
  job->st = st;
  snprintf(job->key, sizeof(job->key), "%s", key);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &attr, check_main, job);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    free(job);
    json_object_del(f, "ImageCheck"); /* unchecked: Invoke tells */
    return;
  }
  st->checks_running++;
  json_object_set_new(st->image_checks, key, json_true());
}

void lambda_image_checks_wait(lambda_state *st) {
  pthread_mutex_lock(&st->lock);
  st->closing = 1;
  while (st->checks_running > 0)
    pthread_cond_wait(&st->checks_done, &st->lock);
  pthread_mutex_unlock(&st->lock);
}
