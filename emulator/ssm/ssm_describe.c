/*
 * ssm_describe.c — DescribeParameters and the ParameterFilters it shares with
 * GetParametersByPath: keys Name (Equals, BeginsWith, Contains), Path
 * (OneLevel, Recursive), Type, KeyId, Tier, DataType, Label and tag:<key>,
 * checked as the API reference lists (InvalidFilterKey, InvalidFilterOption,
 * InvalidFilterValue). The older Filters (Name, Type, KeyId) map onto the
 * same matching. Filters AND together, the values of one filter OR together.
 */
#include "common/jsonutil.h"
#include "emulator/ssm/ssm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const plain_keys[] = {"Name", "Path",     "Type", "KeyId",
                                         "Tier", "DataType", "Label"};

static int one_of(const char *s, const char *const *set, size_t n) {
  for (size_t i = 0; s && i < n; i++)
    if (strcmp(s, set[i]) == 0)
      return 1;
  return 0;
}

int ssm_filters_check(aws_call *call, json_t *filters, int by_path) {
  size_t i, j;
  json_t *f, *v;
  json_array_foreach(filters, i, f) {
    const char *key = jsonutil_string(f, "Key");
    const char *opt = jsonutil_string(f, "Option");
    json_t *values = json_object_get(f, "Values");
    int tag = key && strncmp(key, "tag:", 4) == 0 && key[4];
    if (!key || (!tag && !one_of(key, plain_keys, 7)) ||
        (by_path && (!strcmp(key, "Name") || !strcmp(key, "Path")))) {
      aws_call_fail(call, 400, "InvalidFilterKey", "The filter key %.128s is not valid%s.",
                    key ? key : "", by_path ? " for GetParametersByPath" : "");
      return -1;
    }
    static const char *const name_opts[] = {"Equals", "BeginsWith", "Contains"};
    static const char *const path_opts[] = {"OneLevel", "Recursive"};
    static const char *const eq[] = {"Equals"};
    int ok = !opt || (!strcmp(key, "Name")   ? one_of(opt, name_opts, 3)
                      : !strcmp(key, "Path") ? one_of(opt, path_opts, 2)
                                             : one_of(opt, eq, 1));
    if (!ok) {
      aws_call_fail(call, 400, "InvalidFilterOption",
                    "The filter option %.64s is not valid for key %.128s.", opt, key);
      return -1;
    }
    if ((!tag && json_array_size(values) == 0) || json_array_size(values) > 50) {
      aws_call_fail(call, 400, "InvalidFilterValue", "The filter %.128s needs 1 to 50 values.",
                    key);
      return -1;
    }
    json_array_foreach(values, j, v) {
      const char *s = json_string_value(v);
      static const char *const types[] = {"String", "StringList", "SecureString"};
      static const char *const tiers[] = {"Standard", "Advanced", "Intelligent-Tiering"};
      if (!s || !*s || strlen(s) > 1024 || (!strcmp(key, "Type") && !one_of(s, types, 3)) ||
          (!strcmp(key, "Tier") && !one_of(s, tiers, 3)) || (!strcmp(key, "Path") && s[0] != '/')) {
        aws_call_fail(call, 400, "InvalidFilterValue",
                      "The filter value %.256s is not valid for key %.128s.", s ? s : "", key);
        return -1;
      }
    }
  }
  return 0;
}

static int path_match(const char *name, const char *path, int recursive) {
  size_t plen = strlen(path);
  while (plen > 0 && path[plen - 1] == '/')
    plen--;
  if (name[0] != '/' || strncmp(name, path, plen) != 0 || name[plen] != '/')
    return 0;
  return recursive || strchr(name + plen + 1, '/') == NULL;
}

static int value_match(json_t *param, json_t *last, const char *key, const char *opt,
                       const char *v) {
  const char *name = jsonutil_string(param, "Name");
  if (!strcmp(key, "Name")) {
    /* The leading '/' of a hierarchical name is optional in the value. */
    if (name[0] == '/' && v[0] != '/')
      name++;
    if (!opt || !strcmp(opt, "Equals"))
      return strcmp(name, v) == 0;
    if (!strcmp(opt, "BeginsWith"))
      return strncmp(name, v, strlen(v)) == 0;
    return strstr(name, v) != NULL;
  }
  if (!strcmp(key, "Path"))
    return path_match(name, v, opt && !strcmp(opt, "Recursive"));
  if (!strcmp(key, "Label")) {
    size_t i, j;
    json_t *ver, *l;
    json_array_foreach(json_object_get(param, "Versions"), i, ver) {
      json_array_foreach(json_object_get(ver, "Labels"), j, l) {
        if (strcmp(json_string_value(l), v) == 0)
          return 1;
      }
    }
    return 0;
  }
  const char *have = jsonutil_string(last, key);
  return have && strcmp(have, v) == 0;
}

int ssm_filters_match(json_t *param, json_t *filters) {
  json_t *versions = json_object_get(param, "Versions");
  json_t *last = json_array_get(versions, json_array_size(versions) - 1);
  size_t i, j;
  json_t *f, *v;
  json_array_foreach(filters, i, f) {
    const char *key = jsonutil_string(f, "Key");
    const char *opt = jsonutil_string(f, "Option");
    json_t *values = json_object_get(f, "Values");
    int any = 0;
    if (strncmp(key, "tag:", 4) == 0) {
      size_t k;
      json_t *t;
      json_array_foreach(json_object_get(param, "Tags"), k, t) {
        if (strcmp(jsonutil_string(t, "Key"), key + 4) != 0)
          continue;
        if (json_array_size(values) == 0)
          any = 1;
        json_array_foreach(values, j, v) any |= json_equal(v, json_object_get(t, "Value"));
      }
    } else {
      json_array_foreach(values, j, v) any |=
          value_match(param, last, key, opt, json_string_value(v));
    }
    if (!any)
      return 0;
  }
  return 1;
}

/* The older Filters as ParameterFilters (Name matches as BeginsWith). */
static json_t *from_old_filters(aws_call *call, json_t *old) {
  json_t *out = json_array();
  size_t i;
  json_t *f;
  json_array_foreach(old, i, f) {
    const char *key = jsonutil_string(f, "Key");
    if (!key || (strcmp(key, "Name") && strcmp(key, "Type") && strcmp(key, "KeyId"))) {
      json_decref(out);
      aws_call_fail(call, 400, "InvalidFilterKey", "The filter key %.128s is not valid.",
                    key ? key : "");
      return NULL;
    }
    json_t *nf = json_pack("{s:s, s:O}", "Key", key, "Values", json_object_get(f, "Values"));
    if (!strcmp(key, "Name"))
      json_object_set_new(nf, "Option", json_string("BeginsWith"));
    json_array_append_new(out, nf);
  }
  return out;
}

void ssm_describe_parameters(aws_call *call, json_t *input) {
  json_t *old = json_object_get(input, "Filters");
  json_t *filters = json_object_get(input, "ParameterFilters");
  size_t limit, offset;
  if (old && filters) {
    aws_call_fail(call, 400, "ValidationException",
                  "You can use either Filters or ParameterFilters in a single request.");
    return;
  }
  if (ssm_page_args(call, input, 50, 50, &limit, &offset) < 0)
    return;
  json_t *mine = old ? from_old_filters(call, old) : json_incref(filters);
  if (old && !mine)
    return;
  if (ssm_filters_check(call, mine, 0) < 0) {
    json_decref(mine);
    return;
  }
  json_t *all = ssm_snapshot(ssm_state_of(call), call, 0), *matched = json_array();
  size_t i;
  json_t *param;
  json_array_foreach(all, i, param) {
    if (!ssm_filters_match(param, mine))
      continue;
    json_t *versions = json_object_get(param, "Versions");
    json_t *last = json_array_get(versions, json_array_size(versions) - 1);
    json_t *meta = json_pack("{s:O}", "Name", json_object_get(param, "Name"));
    const char *copy[] = {"Type",        "KeyId",          "LastModifiedDate", "LastModifiedUser",
                          "Description", "AllowedPattern", "Version",          "Tier",
                          "Policies",    "DataType"};
    for (size_t k = 0; k < sizeof(copy) / sizeof(copy[0]); k++)
      if (json_object_get(last, copy[k]))
        json_object_set(meta, copy[k], json_object_get(last, copy[k]));
    json_array_append_new(matched, meta);
  }
  json_decref(all);
  json_decref(mine);
  json_t *page = json_array(), *out = json_object();
  for (i = offset; i < json_array_size(matched) && i < offset + limit; i++)
    json_array_append(page, json_array_get(matched, i));
  json_object_set_new(out, "Parameters", page);
  if (offset + limit < json_array_size(matched)) {
    char token[32];
    snprintf(token, sizeof(token), "%zu", offset + limit);
    json_object_set_new(out, "NextToken", json_string(token));
  }
  json_decref(matched);
  aws_call_reply(call, out);
}
