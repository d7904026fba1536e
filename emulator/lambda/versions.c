/*
 * versions.c — PublishVersion, ListVersionsByFunction and aliases
 * (CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases) with
 * routing configuration (one additional version with a weight, as AWS
 * allows).
 *
 * A version is a frozen copy of $LATEST's configuration and a reference to
 * its code package (the same directory; a package is removed when neither
 * $LATEST nor any version uses it). Publishing twice without a change in
 * between returns the version already published, as AWS does.
 */
#include "emulator/lambda/lambda_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *lambda_version_publish(json_t *f, const char *description) {
  json_t *latest = json_object_get(f, "Latest");
  const char *rev = json_string_value(json_object_get(latest, "RevisionId"));
  const char *published = json_string_value(json_object_get(f, "PublishedRevision"));
  json_t *versions = json_object_get(f, "Versions");
  if (published && rev && strcmp(published, rev) == 0) {
    json_t *last = json_object_get(versions, json_string_value(json_object_get(f, "LastVersion")));
    if (last)
      return json_deep_copy(json_object_get(last, "Config"));
  }
  json_int_t n = json_integer_value(json_object_get(f, "NextVersion"));
  char v[32], arn[512], newrev[37];
  snprintf(v, sizeof(v), "%lld", (long long)n);
  json_t *config = json_deep_copy(latest);
  lambda_function_arn(arn, sizeof(arn), json_string_value(json_object_get(f, "Region")),
                      json_string_value(json_object_get(f, "Account")),
                      json_string_value(json_object_get(f, "Name")), v);
  lambda_revision(newrev);
  json_object_set_new(config, "Version", json_string(v));
  json_object_set_new(config, "FunctionArn", json_string(arn));
  json_object_set_new(config, "RevisionId", json_string(newrev));
  json_object_set_new(config, "State", json_string("Active"));
  json_object_set_new(config, "LastUpdateStatus", json_string("Successful"));
  json_object_del(config, "StateReason");
  json_object_del(config, "StateReasonCode");
  json_object_del(config, "LastUpdateStatusReason");
  json_object_del(config, "LastUpdateStatusReasonCode");
  if (description)
    json_object_set_new(config, "Description", json_string(description));
  json_object_set_new(
      versions, v,
      json_pack("{s:o, s:O}", "Config", config, "Code", json_object_get(f, "LatestCode")));
  json_object_set_new(f, "NextVersion", json_integer(n + 1));
  json_object_set_new(f, "LastVersion", json_string(v));
  if (rev)
    json_object_set_new(f, "PublishedRevision", json_string(rev));
  return json_deep_copy(config);
}

void lambda_publish_version(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  char q[160];
  json_t *f = lambda_function_lock(st, call, input, q, sizeof(q));
  if (!f)
    return;
  json_t *latest = json_object_get(f, "Latest");
  const char *want = json_string_value(json_object_get(input, "CodeSha256"));
  const char *have = json_string_value(json_object_get(latest, "CodeSha256"));
  json_t *out = NULL;
  if (*q) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Unsupported FunctionName: a qualifier is not allowed in PublishVersion.");
  } else if (lambda_revision_check(call, input, latest) < 0) {
    /* answered */
  } else if (want && have && strcmp(want, have) != 0) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please "
                  "try again with the CodeSHA256 in $LATEST.",
                  want, have);
  } else if (json_object_size(json_object_get(f, "Versions")) >= LAMBDA_MAX_VERSIONS) {
    aws_call_fail(call, 400, "CodeStorageExceededException",
                  "Code storage limit exceeded: a function keeps at most %d versions here.",
                  LAMBDA_MAX_VERSIONS);
  } else {
    out = lambda_version_publish(f, json_string_value(json_object_get(input, "Description")));
  }
  pthread_mutex_unlock(&st->lock);
  if (out)
    aws_call_reply(call, out);
}

static int max_items(aws_call *call, json_t *input, json_int_t *out) {
  json_t *mi = json_object_get(input, "MaxItems");
  *out = mi ? json_integer_value(mi) : 50;
  if (*out < 1 || *out > 10000) {
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)*out);
    lambda_fail_validation(call, v, "maxItems",
                           *out < 1 ? "Member must have value greater than or equal to 1"
                                    : "Member must have value less than or equal to 10000");
    return -1;
  }
  return 0;
}

static int by_number(const void *a, const void *b) {
  long long x = atoll(*(const char *const *)a), y = atoll(*(const char *const *)b);
  return x < y ? -1 : x > y;
}

void lambda_list_versions_by_function(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  json_int_t max;
  if (max_items(call, input, &max) < 0)
    return;
  const char *marker = json_string_value(json_object_get(input, "Marker"));
  json_t *f = lambda_function_lock(st, call, input, NULL, 0);
  if (!f)
    return;
  json_t *versions = json_object_get(f, "Versions");
  size_t n = json_object_size(versions), i = 0;
  const char **keys = calloc(n + 1, sizeof(*keys));
  const char *k;
  json_t *v;
  json_object_foreach(versions, k, v) {
    if (keys)
      keys[i++] = k;
  }
  if (keys)
    qsort(keys, n, sizeof(*keys), by_number);
  json_t *list = json_array(), *out = json_object();
  /* $LATEST first, then versions in order; the marker is the next item's version. */
  int started = !marker || strcmp(marker, "$LATEST") == 0;
  json_int_t count = 0;
  if (started) {
    json_array_append_new(list, json_deep_copy(json_object_get(f, "Latest")));
    count++;
  }
  for (i = 0; keys && i < n; i++) {
    if (!started && strcmp(keys[i], marker) == 0)
      started = 1;
    if (!started)
      continue;
    if (count == max) {
      json_object_set_new(out, "NextMarker", json_string(keys[i]));
      break;
    }
    json_array_append_new(
        list, json_deep_copy(json_object_get(json_object_get(versions, keys[i]), "Config")));
    count++;
  }
  pthread_mutex_unlock(&st->lock);
  free(keys);
  json_object_set_new(out, "Versions", list);
  aws_call_reply(call, out);
}

/* ---- aliases ---- */

static int alias_name_valid(const char *name) {
  size_t n = strlen(name);
  int digits = 1;
  if (n == 0 || n > 128)
    return 0;
  for (const char *p = name; *p; p++) {
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
      return 0;
    digits = digits && isdigit((unsigned char)*p);
  }
  return !digits;
}

static void alias_arn(char *out, size_t n, json_t *f, const char *alias) {
  lambda_function_arn(out, n, json_string_value(json_object_get(f, "Region")),
                      json_string_value(json_object_get(f, "Account")),
                      json_string_value(json_object_get(f, "Name")), alias);
}

/* Checks FunctionVersion and RoutingConfig against f's versions. */
static int check_target(aws_call *call, json_t *f, const char *version, const json_t *routing) {
  char arn[512];
  json_t *versions = json_object_get(f, "Versions");
  if (version && strcmp(version, "$LATEST") != 0 && !json_object_get(versions, version)) {
    alias_arn(arn, sizeof(arn), f, version);
    aws_call_fail(call, 404, "ResourceNotFoundException", "Function not found: %s", arn);
    return -1;
  }
  json_t *weights = json_object_get(routing, "AdditionalVersionWeights");
  if (json_object_size(weights) > 1) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Number of items in AdditionalVersionWeights cannot be greater than 1");
    return -1;
  }
  const char *v;
  json_t *w;
  json_object_foreach(weights, v, w) {
    (void)w;
    if (version && strcmp(version, "$LATEST") == 0) {
      aws_call_fail(call, 400, "InvalidParameterValueException",
                    "$LATEST is not supported for an alias pointing to more than 1 version");
      return -1;
    }
    if (!json_object_get(versions, v)) {
      alias_arn(arn, sizeof(arn), f, v);
      aws_call_fail(call, 404, "ResourceNotFoundException", "Function not found: %s", arn);
      return -1;
    }
    if (version && strcmp(v, version) == 0) {
      aws_call_fail(call, 400, "InvalidParameterValueException",
                    "Invalid function version %s. Function version %s is already included in "
                    "routing configuration.",
                    v, v);
      return -1;
    }
  }
  return 0;
}

/* The model's constraints on AdditionalVersionWeights, checked before the
 * function is looked up as AWS does: keys [0-9]+, values 0.0 to 1.0; the
 * map printed as Java prints it ("{2=0.5}"). */
static int check_weights(aws_call *call, const json_t *routing) {
  json_t *weights = json_object_get(routing, "AdditionalVersionWeights");
  char map[512] = "{";
  int bad_key = 0, bad_value = 0;
  const char *v;
  json_t *w;
  json_object_foreach(weights, v, w) {
    double weight = json_number_value(w);
    char num[48];
    snprintf(num, sizeof(num), "%g", weight);
    if (!strpbrk(num, ".en"))
      strncat(num, ".0", sizeof(num) - strlen(num) - 1);
    if (strlen(map) > 1)
      strncat(map, ", ", sizeof(map) - strlen(map) - 1);
    strncat(map, v, sizeof(map) - strlen(map) - 1);
    strncat(map, "=", sizeof(map) - strlen(map) - 1);
    strncat(map, num, sizeof(map) - strlen(map) - 1);
    bad_key = bad_key || !*v || strlen(v) > 1024 || strspn(v, "0123456789") != strlen(v);
    bad_value = bad_value || !json_is_number(w) || weight < 0.0 || weight > 1.0;
  }
  strncat(map, "}", sizeof(map) - strlen(map) - 1);
  if (bad_key) {
    lambda_fail_validation(call, map, "routingConfig.additionalVersionWeights",
                           "Map keys must satisfy constraint: [Member must have length less than "
                           "or equal to 1024, Member must have length greater than or equal to "
                           "1, Member must satisfy regular expression pattern: [0-9]+, Member "
                           "must not be null]");
    return -1;
  }
  if (bad_value) {
    lambda_fail_validation(call, map, "routingConfig.additionalVersionWeights",
                           "Map value must satisfy constraint: [Member must have value less "
                           "than or equal to 1.0, Member must have value greater than or equal "
                           "to 0.0, Member must not be null]");
    return -1;
  }
  return 0;
}

/* A RoutingConfig with no weights is no routing config (AWS shows none). */
static void set_routing(json_t *alias, json_t *routing) {
  if (json_object_size(json_object_get(routing, "AdditionalVersionWeights")))
    json_object_set(alias, "RoutingConfig", routing);
  else
    json_object_del(alias, "RoutingConfig");
}

static json_t *lock_alias(aws_call *call, json_t *input, json_t **fout) {
  lambda_state *st = lambda_state_of(call);
  const char *name = json_string_value(json_object_get(input, "Name"));
  json_t *f = lambda_function_lock(st, call, input, NULL, 0);
  if (!f)
    return NULL;
  json_t *alias = json_object_get(json_object_get(f, "Aliases"), name ? name : "");
  if (!alias) {
    char arn[512];
    alias_arn(arn, sizeof(arn), f, name ? name : "");
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException", "Cannot find alias arn: %s", arn);
    return NULL;
  }
  *fout = f;
  return alias;
}

void lambda_create_alias(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *name = json_string_value(json_object_get(input, "Name"));
  const char *version = json_string_value(json_object_get(input, "FunctionVersion"));
  json_t *routing = json_object_get(input, "RoutingConfig");
  if (!name || !alias_name_valid(name)) {
    lambda_fail_validation(call, name ? name : "", "name",
                           "Member must satisfy regular expression pattern: "
                           "(?!^[0-9]+$)([a-zA-Z0-9-_]+)");
    return;
  }
  if (check_weights(call, routing) < 0)
    return;
  char missing_arn[512];
  int missing = 0;
  json_t *f =
      lambda_function_find(st, call, input, NULL, 0, &missing, missing_arn, sizeof(missing_arn));
  if (missing) {                 /* AWS names the version the alias would point to */
    char *seventh = missing_arn; /* "arn:aws:lambda:<r>:<a>:function:<name>[:<q>]" */
    for (int i = 0; i < 7 && seventh; i++)
      seventh = strchr(seventh + (i > 0), ':');
    if (seventh)
      *seventh = '\0';
    aws_call_fail(call, 404, "ResourceNotFoundException", "Function not found: %s:%s", missing_arn,
                  version ? version : "");
    return;
  }
  if (!f)
    return;
  json_t *aliases = json_object_get(f, "Aliases");
  char arn[512], rev[37];
  alias_arn(arn, sizeof(arn), f, name);
  json_t *out = NULL;
  if (json_object_get(aliases, name)) {
    aws_call_fail(call, 409, "ResourceConflictException", "Alias already exists: %s", arn);
  } else if (check_target(call, f, version, routing) == 0) {
    lambda_revision(rev);
    json_t *alias = json_pack("{s:s, s:s, s:s, s:s, s:s}", "AliasArn", arn, "Name", name,
                              "FunctionVersion", version, "Description",
                              json_string_value(json_object_get(input, "Description"))
                                  ? json_string_value(json_object_get(input, "Description"))
                                  : "",
                              "RevisionId", rev);
    if (routing)
      set_routing(alias, routing);
    json_object_set_new(aliases, name, alias);
    out = json_deep_copy(alias);
  }
  pthread_mutex_unlock(&st->lock);
  if (out)
    aws_call_reply(call, out);
}

void lambda_get_alias(aws_call *call, json_t *input) {
  json_t *f = NULL;
  json_t *alias = lock_alias(call, input, &f);
  if (!alias)
    return;
  json_t *out = json_deep_copy(alias);
  pthread_mutex_unlock(&lambda_state_of(call)->lock);
  aws_call_reply(call, out);
}

void lambda_update_alias(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call); /* the call is gone once it failed */
  json_t *f = NULL;
  if (check_weights(call, json_object_get(input, "RoutingConfig")) < 0)
    return;
  json_t *alias = lock_alias(call, input, &f);
  if (!alias)
    return;
  const char *version = json_string_value(json_object_get(input, "FunctionVersion"));
  json_t *routing = json_object_get(input, "RoutingConfig");
  json_t *out = NULL;
  const char *target =
      version ? version : json_string_value(json_object_get(alias, "FunctionVersion"));
  if (lambda_revision_check(call, input, alias) == 0 &&
      check_target(call, f, target, routing ? routing : json_object_get(alias, "RoutingConfig")) ==
          0) {
    char rev[37];
    lambda_revision(rev);
    if (version)
      json_object_set_new(alias, "FunctionVersion", json_string(version));
    json_t *desc = json_object_get(input, "Description");
    if (desc)
      json_object_set(alias, "Description", desc);
    if (routing)
      set_routing(alias, routing);
    json_object_set_new(alias, "RevisionId", json_string(rev));
    out = json_deep_copy(alias);
  }
  pthread_mutex_unlock(&st->lock);
  if (out)
    aws_call_reply(call, out);
}

void lambda_delete_alias(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *name = json_string_value(json_object_get(input, "Name"));
  json_t *f = lambda_function_lock(st, call, input, NULL, 0);
  if (!f)
    return;
  json_object_del(json_object_get(f, "Aliases"), name ? name : "");
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void lambda_list_aliases(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  json_int_t max;
  if (max_items(call, input, &max) < 0)
    return;
  const char *marker = json_string_value(json_object_get(input, "Marker"));
  const char *version = json_string_value(json_object_get(input, "FunctionVersion"));
  json_t *f = lambda_function_lock(st, call, input, NULL, 0);
  if (!f)
    return;
  json_t *list = json_array(), *out = json_object();
  json_int_t count = 0;
  const char *k;
  json_t *alias;
  int started = !marker;
  json_object_foreach(json_object_get(f, "Aliases"), k, alias) {
    if (!started && strcmp(k, marker) == 0)
      started = 1;
    if (!started)
      continue;
    const char *fv = json_string_value(json_object_get(alias, "FunctionVersion"));
    if (version && (!fv || strcmp(fv, version) != 0))
      continue;
    if (count == max) {
      json_object_set_new(out, "NextMarker", json_string(k));
      break;
    }
    json_array_append_new(list, json_deep_copy(alias));
    count++;
  }
  pthread_mutex_unlock(&st->lock);
  json_object_set_new(out, "Aliases", list);
  aws_call_reply(call, out);
}
