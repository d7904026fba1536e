/*
 * jsonutil.c — jansson getters (see jsonutil.h).
 */
#include "common/jsonutil.h"

#include <stdlib.h>
#include <string.h>

const char *jsonutil_string(const json_t *obj, const char *key) {
  /* json_object_get takes a non-const object but does not change it. */
  return json_is_object(obj) ? json_string_value(json_object_get((json_t *)obj, key)) : NULL;
}

static int key_order(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **jsonutil_keys_sorted(const json_t *obj, size_t *count) {
  *count = 0;
  size_t n = json_is_object(obj) ? json_object_size(obj) : 0;
  const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
  if (!keys)
    return NULL;
  const char *k;
  json_t *v;
  size_t i = 0;
  json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
  qsort(keys, i, sizeof(*keys), key_order);
  *count = i;
  return keys;
}
