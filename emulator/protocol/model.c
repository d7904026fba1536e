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
#include "emulator/protocol/protocol_int.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct aws_model {
  const char *name;
  json_t *root;
  const json_t *metadata;
  const json_t *operations;
  const json_t *shapes;
  const char *protocol;
  /* Compiled shapes (protocol_int.h), found by the shape's address: an
   * open-addressed table of infos_cap (a power of two) slots. */
  aws_shape_info *infos;
  size_t ninfos;
  aws_shape_info **slots;
  size_t slots_cap;
};

static size_t slot_of(const void *p, size_t cap) {
  uintptr_t h = (uintptr_t)p;
  h ^= h >> 17;
  h *= (uintptr_t)0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 7) & (cap - 1);
}

static aws_shape_kind kind_of(const char *t) {
  static const struct {
    const char *name;
    aws_shape_kind kind;
  } kinds[] = {{"structure", AWS_SHAPE_STRUCTURE},
               {"list", AWS_SHAPE_LIST},
               {"map", AWS_SHAPE_MAP},
               {"string", AWS_SHAPE_STRING},
               {"character", AWS_SHAPE_STRING},
               {"integer", AWS_SHAPE_INTEGER},
               {"long", AWS_SHAPE_INTEGER},
               {"short", AWS_SHAPE_INTEGER},
               {"byte", AWS_SHAPE_INTEGER},
               {"boolean", AWS_SHAPE_BOOLEAN},
               {"float", AWS_SHAPE_FLOAT},
               {"double", AWS_SHAPE_FLOAT},
               {"timestamp", AWS_SHAPE_TIMESTAMP},
               {"blob", AWS_SHAPE_BLOB}};
  for (size_t i = 0; t && i < sizeof(kinds) / sizeof(kinds[0]); i++)
    if (strcmp(kinds[i].name, t) == 0)
      return kinds[i].kind;
  return AWS_SHAPE_OTHER;
}

/* Compiles every shape once, when the model loads: the JSON protocol's hot
 * paths then walk plain arrays instead of looking up "type", "members",
 * "shape" and "locationName" in jansson objects for every value. */
static int compile_shapes(aws_model *m) {
  size_t n = json_object_size(m->shapes);
  m->infos = calloc(n ? n : 1, sizeof(*m->infos));
  m->slots_cap = 16;
  while (m->slots_cap < n * 2)
    m->slots_cap *= 2;
  m->slots = calloc(m->slots_cap, sizeof(*m->slots));
  if (!m->infos || !m->slots)
    return -1;
  const char *name;
  json_t *shape;
  json_object_foreach((json_t *)m->shapes, name, shape) {
    aws_shape_info *info = &m->infos[m->ninfos++];
    info->shape = shape;
    info->type = aws_shape_type(shape);
    info->kind = kind_of(info->type);
    info->required = json_object_get(shape, "required");
    size_t s = slot_of(shape, m->slots_cap);
    while (m->slots[s])
      s = (s + 1) & (m->slots_cap - 1);
    m->slots[s] = info;
  }
  for (size_t i = 0; i < m->ninfos; i++) {
    aws_shape_info *info = &m->infos[i];
    if (info->kind == AWS_SHAPE_LIST || info->kind == AWS_SHAPE_MAP) {
      info->item_ref =
          json_object_get(info->shape, info->kind == AWS_SHAPE_LIST ? "member" : "value");
      info->item = aws_model_shape_info(m, aws_model_ref_shape(m, info->item_ref));
    }
    const json_t *members = json_object_get(info->shape, "members");
    if (info->kind != AWS_SHAPE_STRUCTURE || !json_object_size(members))
      continue;
    info->members = calloc(json_object_size(members), sizeof(*info->members));
    if (!info->members)
      return -1;
    const char *member;
    json_t *mref;
    json_object_foreach((json_t *)members, member, mref) {
      aws_shape_member *mb = &info->members[info->nmembers++];
      const char *loc = aws_model_ref_name(m, mref);
      mb->name = member;
      mb->wire = loc ? loc : member;
      mb->ref = mref;
      mb->info = aws_model_shape_info(m, aws_model_ref_shape(m, mref));
      if (strcmp(mb->wire, member) != 0)
        info->renamed = 1;
    }
    /* Flags for the JSON path's check of required members (value_json.c). */
    size_t r;
    json_t *req;
    json_array_foreach(info->required, r, req) {
      size_t k = 0;
      while (k < info->nmembers &&
             (!json_is_string(req) || strcmp(info->members[k].name, json_string_value(req)) != 0))
        k++;
      if (k == info->nmembers) {
        info->required_unknown = 1;
      } else if (!info->members[k].required) {
        info->members[k].required = 1;
        info->nrequired++;
      }
    }
  }
  return 0;
}

const aws_shape_info *aws_model_shape_info(const aws_model *m, const json_t *shape) {
  if (!shape || !m->slots)
    return NULL;
  for (size_t s = slot_of(shape, m->slots_cap); m->slots[s]; s = (s + 1) & (m->slots_cap - 1))
    if (m->slots[s]->shape == shape)
      return m->slots[s];
  return NULL;
}

static void model_free(aws_model *m) {
  for (size_t i = 0; m->infos && i < m->ninfos; i++)
    free(m->infos[i].members);
  free(m->infos);
  free(m->slots);
  json_decref(m->root);
  free(m);
}

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
      model_free(m);
      error =
          airgap_error_set(AIRGAP_ERROR, "embedded model '%s' lacks operations or shapes", name);
      goto cleanup;
    }
    if (compile_shapes(m) < 0) {
      model_free(m);
      error = airgap_error_set(AIRGAP_ERROR, "embedded model '%s': out of memory", name);
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
