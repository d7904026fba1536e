/*
 * model.c — lazily parsed, process-wide botocore models.
 *
 * Parsing the S3 model costs a few milliseconds and megabytes, so a model is
 * parsed only when its service first sees a request (emulator start stays
 * fast and idle memory small). A model never changes once parsed, so readers
 * need no lock after aws_model_get returns.
 */
#include "emulator/protocol/model.h"
#include "common/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct aws_model {
  const char *name;
  json_t *root;
  const json_t *metadata;
  const json_t *operations;
  const json_t *shapes;
  const char *protocol;
};

static pthread_mutex_t models_lock = PTHREAD_MUTEX_INITIALIZER;
/* One slot per embedded source; sized generously (the table is tiny). */
#define MODEL_SLOTS 32
static aws_model *models[MODEL_SLOTS];

int aws_model_get(const aws_model **out, const char *name) {
  size_t idx = emulator_model_source_count;
  for (size_t i = 0; i < emulator_model_source_count && i < MODEL_SLOTS; i++)
    if (strcmp(emulator_model_sources[i].name, name) == 0)
      idx = i;
  if (idx == emulator_model_source_count)
    return airgap_error_set(AIRGAP_ENOTFOUND, "no embedded AWS model for service '%s'", name);
  int error = 0;
  pthread_mutex_lock(&models_lock);
  if (!models[idx]) {
    const emulator_model_source *src = &emulator_model_sources[idx];
    json_error_t jerr;
    json_t *root = json_loadb(src->json, src->len, 0, &jerr);
    aws_model *m = root ? calloc(1, sizeof(*m)) : NULL;
    if (!m) {
      json_decref(root);
      error = airgap_error_set(AIRGAP_ERROR, "embedded model '%s' does not load: %s", name,
                               root ? "out of memory" : jerr.text);
      goto cleanup;
    }
    m->name = src->name;
    m->root = root;
    m->metadata = json_object_get(root, "metadata");
    m->operations = json_object_get(root, "operations");
    m->shapes = json_object_get(root, "shapes");
    m->protocol = aws_json_str(m->metadata, "protocol");
    if (!json_is_object(m->operations) || !json_is_object(m->shapes) || !m->protocol) {
      json_decref(root);
      free(m);
      error =
          airgap_error_set(AIRGAP_ERROR, "embedded model '%s' lacks operations or shapes", name);
      goto cleanup;
    }
    models[idx] = m;
  }
  *out = models[idx];
cleanup:
  pthread_mutex_unlock(&models_lock);
  return error;
}

const char *aws_model_name(const aws_model *m) { return m->name; }
const char *aws_model_protocol(const aws_model *m) { return m->protocol; }
const char *aws_model_meta(const aws_model *m, const char *key) {
  return aws_json_str(m->metadata, key);
}
int aws_model_query_compatible(const aws_model *m) {
  return json_object_get(m->metadata, "awsQueryCompatible") != NULL;
}
const json_t *aws_model_operations(const aws_model *m) { return m->operations; }
const json_t *aws_model_operation(const aws_model *m, const char *name) {
  return name ? json_object_get(m->operations, name) : NULL;
}
const json_t *aws_model_shape(const aws_model *m, const char *name) {
  return name ? json_object_get(m->shapes, name) : NULL;
}
const json_t *aws_model_ref_shape(const aws_model *m, const json_t *ref) {
  return aws_model_shape(m, aws_json_str(ref, "shape"));
}

const char *aws_model_ref_name(const aws_model *m, const json_t *ref) {
  const char *name = aws_json_str(ref, "locationName");
  return name ? name : aws_json_str(aws_model_ref_shape(m, ref), "locationName");
}

const char *aws_json_str(const json_t *obj, const char *key) {
  return obj ? json_string_value(json_object_get(obj, key)) : NULL;
}
int aws_json_bool(const json_t *obj, const char *key) {
  return obj ? json_is_true(json_object_get(obj, key)) : 0;
}
