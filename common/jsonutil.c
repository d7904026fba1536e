/*
 * jsonutil.c — jansson getters (see jsonutil.h).
 */
#include "common/jsonutil.h"

const char *jsonutil_string(const json_t *obj, const char *key) {
  /* json_object_get takes a non-const object but does not change it. */
  return json_is_object(obj) ? json_string_value(json_object_get((json_t *)obj, key)) : NULL;
}
