/*
 * ssm_service.c — SSM Parameter Store's aws_service: state, the operation
 * table, and what every handler shares: parameter names (plain, hierarchical,
 * ARNs, selectors ":version" / ":label"), look-up, picking a version,
 * rendering a Parameter (decrypting SecureStrings through kms.h), snapshots
 * for listings and pagination.
 *
 * Only Parameter Store is served: the other SSM operations (documents, Run
 * Command, sessions…) get the protocol layer's "not implemented".
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "emulator/kms/kms.h"
#include "emulator/ssm/ssm_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char name_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/";

ssm_state *ssm_state_of(aws_call *call) { return aws_call_state(call); }

double ssm_now(void) { return (double)clock_wall_ms() / 1000.0; }

void ssm_slot(char *out, size_t n, const char *account, const char *region, const char *name) {
  snprintf(out, n, "%s/%s/%s", account, region, name);
}

void ssm_arn(char *out, size_t n, const char *region, const char *account, const char *name) {
  snprintf(out, n, "arn:aws:ssm:%s:%s:parameter%s%s", region, account, name[0] == '/' ? "" : "/",
           name);
}

int ssm_ref_parse(ssm_ref *out, const char *given, const char **why) {
  const char *name = given;
  int from_arn = 0;
  memset(out, 0, sizeof(*out));
  if (strncmp(given, "arn:", 4) == 0) {
    const char *p = strstr(given, ":parameter/");
    if (!p) {
      *why = "an ARN that names no parameter";
      return -1;
    }
    name = p + 11;
    from_arn = 1;
  }
  size_t n = strcspn(name, ":");
  if (n == 0 || n > SSM_MAX_NAME || strlen(name + n) >= sizeof(out->selector)) {
    *why = "a name of 1 to 1011 characters";
    return -1;
  }
  /* An ARN drops the leading '/' of a hierarchical name. */
  int slash = from_arn && memchr(name, '/', n) != NULL;
  if (slash)
    out->name[0] = '/';
  memcpy(out->name + slash, name, n);
  snprintf(out->selector, sizeof(out->selector), "%s", name + n);
  if (strspn(out->name, name_chars) != strlen(out->name)) {
    *why = "a name of letters, digits and . - _ /";
    return -1;
  }
  return 0;
}

int ssm_name_check(aws_call *call, const char *name) {
  size_t n = strlen(name);
  if (n < 1 || n > SSM_MAX_NAME || strspn(name, name_chars) != n) {
    aws_call_fail(call, 400, "ValidationException",
                  "Parameter name: can't be longer than 1011 characters and may only contain "
                  "letters, numbers and the symbols .-_/.");
    return -1;
  }
  if (strchr(name, '/') && name[0] != '/') {
    aws_call_fail(call, 400, "ValidationException",
                  "Parameter name must be a fully qualified name.");
    return -1;
  }
  const char *first = name[0] == '/' ? name + 1 : name;
  if (strncasecmp(first, "aws", 3) == 0 || strncasecmp(first, "ssm", 3) == 0) {
    aws_call_fail(call, 400, "ValidationException",
                  "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).");
    return -1;
  }
  if (strstr(name, "//") || (n > 1 && name[n - 1] == '/')) {
    aws_call_fail(call, 400, "ValidationException",
                  "Parameter name: hierarchy levels must not be empty.");
    return -1;
  }
  int depth = 0;
  for (const char *c = name; *c; c++)
    depth += *c == '/';
  if (depth > SSM_MAX_DEPTH) {
    aws_call_fail(call, 400, "HierarchyLevelLimitExceededException",
                  "A hierarchy can have a maximum of 15 levels. For more information, see "
                  "Requirements and constraints for parameter names.");
    return -1;
  }
  return 0;
}

json_t *ssm_find(ssm_state *st, aws_call *call, const char *name) {
  if (strncmp(name, "/aws/", 5) == 0)
    return NULL; /* public parameters are not stored; see ssm_public_find */
  char slot[SSM_MAX_NAME + 128];
  ssm_slot(slot, sizeof(slot), aws_call_account(call), aws_call_region(call), name);
  return json_object_get(st->params, slot);
}

json_t *ssm_pick(json_t *param, const char *selector, const char **code) {
  json_t *versions = json_object_get(param, "Versions");
  size_t n = json_array_size(versions);
  if (!selector || !*selector)
    return json_array_get(versions, n - 1);
  const char *sel = selector + 1;
  size_t i;
  json_t *v;
  if (*sel && strspn(sel, "0123456789") == strlen(sel)) {
    long long want = strtoll(sel, NULL, 10);
    json_array_foreach(versions, i, v) {
      if (json_integer_value(json_object_get(v, "Version")) == want)
        return v;
    }
    *code = "ParameterVersionNotFound";
    return NULL;
  }
  json_array_foreach(versions, i, v) {
    size_t j;
    json_t *l;
    json_array_foreach(json_object_get(v, "Labels"), j, l) {
      if (strcmp(json_string_value(l), sel) == 0)
        return v;
    }
  }
  *code = "ParameterVersionNotFound";
  return NULL;
}

static json_t *context_of(json_t *param) {
  return json_pack("{s:O}", "PARAMETER_ARN", json_object_get(param, "ARN"));
}

char *ssm_decrypt(ssm_state *st, json_t *param, json_t *version) {
  const char *value = jsonutil_string(version, "Value");
  if (json_is_true(json_object_get(version, "Plain")))
    return strdup(value);
  unsigned char *blob = NULL, *pt = NULL;
  size_t n = 0, len = 0;
  if (codec_base64_decode(&blob, &n, value, strlen(value)) < 0)
    return NULL;
  json_t *ctx = context_of(param);
  int rc = kms_decrypt(&pt, &len, NULL, st->emu, jsonutil_string(param, "Account"),
                       jsonutil_string(param, "Region"), ctx, blob, n, NULL);
  json_decref(ctx);
  free(blob);
  return rc == 0 ? (char *)pt : NULL;
}

json_t *ssm_render(ssm_state *st, aws_call *call, json_t *param, json_t *version,
                   const char *selector, int decrypt, const char **code) {
  (void)call;
  const char *type = jsonutil_string(version, "Type");
  json_t *out =
      json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "Name", json_object_get(param, "Name"), "Type",
                json_object_get(version, "Type"), "Version", json_object_get(version, "Version"),
                "LastModifiedDate", json_object_get(version, "LastModifiedDate"), "ARN",
                json_object_get(param, "ARN"), "DataType", json_object_get(version, "DataType"));
  if (selector && *selector)
    json_object_set_new(out, "Selector", json_string(selector));
  if (decrypt && strcmp(type, "SecureString") == 0) {
    char *plain = ssm_decrypt(st, param, version);
    if (!plain) {
      json_decref(out);
      *code = "InvalidKeyId";
      return NULL;
    }
    json_object_set_new(out, "Value", json_string(plain));
    free(plain);
  } else {
    json_object_set(out, "Value", json_object_get(version, "Value"));
  }
  return out;
}

int ssm_page_args(aws_call *call, json_t *input, size_t dflt, size_t max, size_t *limit,
                  size_t *offset) {
  json_t *m = json_object_get(input, "MaxResults");
  json_int_t v = m ? json_integer_value(m) : (json_int_t)dflt;
  const char *token = jsonutil_string(input, "NextToken");
  if (v < 1 || (size_t)v > max) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '%lld' at 'maxResults' failed to satisfy "
                  "constraint: Member must have value less than or equal to %zu",
                  (long long)v, max);
    return -1;
  }
  *limit = (size_t)v;
  *offset = 0;
  if (token) {
    char *end = NULL;
    unsigned long long o = strtoull(token, &end, 10);
    if (!*token || *end || o > 100000000ULL) {
      aws_call_fail(call, 400, "InvalidNextToken", "The specified token is not valid.");
      return -1;
    }
    *offset = (size_t)o;
  }
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(jsonutil_string(*(json_t *const *)a, "Name"),
                jsonutil_string(*(json_t *const *)b, "Name"));
}

json_t *ssm_snapshot(ssm_state *st, aws_call *call, int with_public) {
  json_t *all = with_public ? ssm_public_all(aws_call_region(call)) : json_array();
  char prefix[128];
  int plen =
      snprintf(prefix, sizeof(prefix), "%s/%s/", aws_call_account(call), aws_call_region(call));
  pthread_mutex_lock(&st->lock);
  const char *slot;
  json_t *p;
  json_object_foreach(st->params, slot, p) {
    if (strncmp(slot, prefix, (size_t)plen) == 0)
      json_array_append_new(all, json_deep_copy(p));
  }
  pthread_mutex_unlock(&st->lock);
  size_t n = json_array_size(all);
  json_t **items = calloc(n + 1, sizeof(*items));
  json_t *sorted = json_array();
  if (!items)
    return all;
  for (size_t i = 0; i < n; i++)
    items[i] = json_array_get(all, i);
  qsort(items, n, sizeof(*items), by_name);
  for (size_t i = 0; i < n; i++)
    json_array_append(sorted, items[i]);
  free(items);
  json_decref(all);
  return sorted;
}

static int ssm_create(void **state, emulator *emu) {
  ssm_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "SSM: out of memory");
  st->params = json_object();
  st->emu = emu;
  if (!st->params || pthread_mutex_init(&st->lock, NULL) != 0) {
    json_decref(st->params);
    free(st);
    return airgap_error_set(AIRGAP_ERROR, "SSM: cannot create the parameter store");
  }
  *state = st;
  return 0;
}

static void ssm_reset(void *state) {
  ssm_state *st = state;
  pthread_mutex_lock(&st->lock);
  json_object_clear(st->params);
  pthread_mutex_unlock(&st->lock);
}

static void ssm_destroy(void *state) {
  ssm_state *st = state;
  if (!st)
    return;
  json_decref(st->params);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static const aws_operation ssm_operations[] = {
    {"AddTagsToResource", ssm_add_tags_to_resource},
    {"DeleteParameter", ssm_delete_parameter},
    {"DeleteParameters", ssm_delete_parameters},
    {"DescribeParameters", ssm_describe_parameters},
    {"GetParameter", ssm_get_parameter},
    {"GetParameterHistory", ssm_get_parameter_history},
    {"GetParameters", ssm_get_parameters},
    {"GetParametersByPath", ssm_get_parameters_by_path},
    {"LabelParameterVersion", ssm_label_parameter_version},
    {"ListTagsForResource", ssm_list_tags_for_resource},
    {"PutParameter", ssm_put_parameter},
    {"RemoveTagsFromResource", ssm_remove_tags_from_resource},
    {"UnlabelParameterVersion", ssm_unlabel_parameter_version},
};

const aws_service aws_service_ssm = {
    .name = "ssm",
    .model_name = "ssm",
    .operations = ssm_operations,
    .operation_count = sizeof(ssm_operations) / sizeof(ssm_operations[0]),
    .create = ssm_create,
    .reset = ssm_reset,
    .destroy = ssm_destroy,
};
