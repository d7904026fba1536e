/*
 * ssm_get.c — reading parameters: GetParameter and GetParameters (with
 * selectors ":version" and ":label", WithDecryption, InvalidParameters for
 * names that do not resolve), GetParametersByPath (Recursive, ParameterFilters,
 * pagination) and GetParameterHistory. Public parameters under /aws/service/
 * are answered from ssm_public.c.
 *
 * Listings work on a snapshot copied under the lock; decryption happens
 * outside it (kms.h takes KMS's own lock).
 */
#include "common/jsonutil.h"
#include "emulator/ssm/ssm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Resolves one name for Get*: the Parameter object (new reference), or NULL
 * with *code: ParameterNotFound, ParameterVersionNotFound, InvalidKeyId or
 * ValidationException. */
static json_t *get_one(ssm_state *st, aws_call *call, const char *given, int decrypt,
                       const char **code) {
  ssm_ref ref;
  const char *why = NULL;
  if (ssm_ref_parse(&ref, given, &why) < 0) {
    *code = "ValidationException";
    return NULL;
  }
  pthread_mutex_lock(&st->lock);
  json_t *param = ssm_find(st, call, ref.name);
  param = param ? json_deep_copy(param) : ssm_public_find(ref.name, aws_call_region(call));
  pthread_mutex_unlock(&st->lock);
  if (!param) {
    *code = "ParameterNotFound";
    return NULL;
  }
  json_t *version = ssm_pick(param, ref.selector, code);
  json_t *out = version ? ssm_render(st, call, param, version, ref.selector, decrypt, code) : NULL;
  json_decref(param);
  return out;
}

static void fail_get(aws_call *call, const char *code, const char *given) {
  if (strcmp(code, "ParameterVersionNotFound") == 0)
    aws_call_fail(call, 400, code,
                  "Systems Manager could not find version %.1100s. Verify the version and try "
                  "again.",
                  given);
  else if (strcmp(code, "InvalidKeyId") == 0)
    aws_call_fail(call, 400, code, "The KMS key of %.1100s cannot decrypt its value.", given);
  else if (strcmp(code, "ValidationException") == 0)
    aws_call_fail(call, 400, code, "Invalid parameter name %.1100s.", given);
  else
    aws_call_fail(call, 400, code, "Parameter %.1100s not found.", given);
}

void ssm_get_parameter(aws_call *call, json_t *input) {
  const char *name = jsonutil_string(input, "Name");
  const char *code = NULL;
  json_t *p = get_one(ssm_state_of(call), call, name,
                      json_is_true(json_object_get(input, "WithDecryption")), &code);
  if (!p)
    fail_get(call, code, name);
  else
    aws_call_reply(call, json_pack("{s:o}", "Parameter", p));
}

void ssm_get_parameters(aws_call *call, json_t *input) {
  json_t *names = json_object_get(input, "Names");
  int decrypt = json_is_true(json_object_get(input, "WithDecryption"));
  if (json_array_size(names) < 1 || json_array_size(names) > 10) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value at 'names' failed to satisfy constraint: "
                  "Member must have length less than or equal to 10");
    return;
  }
  json_t *found = json_array(), *invalid = json_array();
  size_t i;
  json_t *n;
  json_array_foreach(names, i, n) {
    const char *code = NULL;
    json_t *p = get_one(ssm_state_of(call), call, json_string_value(n), decrypt, &code);
    if (p) {
      json_array_append_new(found, p);
    } else if (strcmp(code, "InvalidKeyId") == 0) {
      json_decref(found);
      json_decref(invalid);
      fail_get(call, code, json_string_value(n));
      return;
    } else {
      json_array_append(invalid, n);
    }
  }
  aws_call_reply(call, json_pack("{s:o, s:o}", "Parameters", found, "InvalidParameters", invalid));
}

/* Whether name lies under path (normalized, without a trailing '/'), directly
 * or, when recursive, at any depth. */
static int under(const char *name, const char *path, size_t plen, int recursive) {
  if (name[0] != '/' || strncmp(name, path, plen) != 0 || name[plen] != '/')
    return 0;
  return recursive || strchr(name + plen + 1, '/') == NULL;
}

/* Renders the latest version of every record in list (array of records);
 * NULL after answering InvalidKeyId. */
static json_t *render_all(ssm_state *st, aws_call *call, json_t *list, int decrypt) {
  json_t *out = json_array();
  size_t i;
  json_t *param;
  json_array_foreach(list, i, param) {
    const char *code = NULL;
    json_t *v = ssm_pick(param, NULL, &code);
    json_t *p = v ? ssm_render(st, call, param, v, NULL, decrypt, &code) : NULL;
    if (!p) {
      fail_get(call, code ? code : "ParameterNotFound", jsonutil_string(param, "Name"));
      json_decref(out);
      return NULL;
    }
    json_array_append_new(out, p);
  }
  return out;
}

void ssm_get_parameters_by_path(aws_call *call, json_t *input) {
  const char *path = jsonutil_string(input, "Path");
  json_t *filters = json_object_get(input, "ParameterFilters");
  int recursive = json_is_true(json_object_get(input, "Recursive"));
  size_t limit, offset, plen = strlen(path);
  if (ssm_page_args(call, input, 10, 10, &limit, &offset) < 0 ||
      ssm_filters_check(call, filters, 1) < 0)
    return;
  int depth = 0;
  for (const char *c = path; *c; c++)
    depth += *c == '/';
  if (path[0] != '/' || plen > SSM_MAX_NAME || strstr(path, "//")) {
    aws_call_fail(call, 400, "ValidationException",
                  "The parameter doesn't meet the parameter name requirements. The parameter "
                  "name must begin with a forward slash \"/\".");
    return;
  }
  if (depth > SSM_MAX_DEPTH) {
    aws_call_fail(call, 400, "HierarchyLevelLimitExceededException",
                  "A hierarchy can have a maximum of 15 levels.");
    return;
  }
  while (plen > 0 && path[plen - 1] == '/')
    plen--;
  ssm_state *st = ssm_state_of(call);
  json_t *all = ssm_snapshot(st, call, strncmp(path, "/aws/", 5) == 0);
  json_t *matched = json_array();
  size_t i;
  json_t *param;
  json_array_foreach(all, i, param) {
    if (under(jsonutil_string(param, "Name"), path, plen, recursive) &&
        ssm_filters_match(param, filters))
      json_array_append(matched, param);
  }
  json_decref(all);
  json_t *page = json_array();
  for (i = offset; i < json_array_size(matched) && i < offset + limit; i++)
    json_array_append(page, json_array_get(matched, i));
  json_t *rendered =
      render_all(st, call, page, json_is_true(json_object_get(input, "WithDecryption")));
  json_decref(page);
  if (rendered) {
    json_t *out = json_pack("{s:o}", "Parameters", rendered);
    if (offset + limit < json_array_size(matched)) {
      char token[32];
      snprintf(token, sizeof(token), "%zu", offset + limit);
      json_object_set_new(out, "NextToken", json_string(token));
    }
    aws_call_reply(call, out);
  }
  json_decref(matched);
}

void ssm_get_parameter_history(aws_call *call, json_t *input) {
  const char *name = jsonutil_string(input, "Name");
  int decrypt = json_is_true(json_object_get(input, "WithDecryption"));
  size_t limit, offset;
  if (ssm_page_args(call, input, 50, 50, &limit, &offset) < 0)
    return;
  ssm_ref ref;
  const char *why = NULL;
  ssm_state *st = ssm_state_of(call);
  json_t *param = NULL;
  if (ssm_ref_parse(&ref, name, &why) == 0 && !*ref.selector) {
    pthread_mutex_lock(&st->lock);
    param = ssm_find(st, call, ref.name);
    param = param ? json_deep_copy(param) : ssm_public_find(ref.name, aws_call_region(call));
    pthread_mutex_unlock(&st->lock);
  }
  if (!param) {
    aws_call_fail(call, 400, "ParameterNotFound", "Parameter %.1100s not found.", name);
    return;
  }
  json_t *versions = json_object_get(param, "Versions"), *list = json_array();
  for (size_t i = offset; i < json_array_size(versions) && i < offset + limit; i++) {
    json_t *v = json_array_get(versions, i);
    json_t *h = json_deep_copy(v);
    json_object_set(h, "Name", json_object_get(param, "Name"));
    json_object_del(h, "Plain");
    if (decrypt && strcmp(jsonutil_string(v, "Type"), "SecureString") == 0) {
      char *plain = ssm_decrypt(st, param, v);
      if (!plain) {
        json_decref(h);
        json_decref(list);
        json_decref(param);
        aws_call_fail(call, 400, "InvalidKeyId", "The KMS key of %.1100s cannot decrypt it.", name);
        return;
      }
      json_object_set_new(h, "Value", json_string(plain));
      free(plain);
    }
    json_array_append_new(list, h);
  }
  json_t *out = json_pack("{s:o}", "Parameters", list);
  if (offset + limit < json_array_size(versions)) {
    char token[32];
    snprintf(token, sizeof(token), "%zu", offset + limit);
    json_object_set_new(out, "NextToken", json_string(token));
  }
  json_decref(param);
  aws_call_reply(call, out);
}
