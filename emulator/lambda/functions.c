/*
 * functions.c — CreateFunction, GetFunction, GetFunctionConfiguration,
 * ListFunctions, DeleteFunction, UpdateFunctionCode and
 * UpdateFunctionConfiguration.
 *
 * States follow what the SDK waiters poll for (function_active_v2,
 * function_updated_v2): CreateFunction answers State Pending and an update
 * answers LastUpdateStatus InProgress; the next read finds Active and
 * Successful (lambda_function_settle), since the package was checked and
 * stored before the answer. Every change gets a new RevisionId, checked
 * against a RevisionId the caller gives (PreconditionFailedException).
 */
#include "common/clock.h"
#include "common/error.h"
#include "emulator/lambda/lambda_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void key_of(char *out, size_t n, aws_call *call, const char *name) {
  snprintf(out, n, "%s/%s/%s", aws_call_account(call), aws_call_region(call), name);
}

/* A package no version of f uses any more can go. */
static void release_code(json_t *f, const json_t *code) {
  const char *dir = json_string_value(json_object_get(code, "Dir"));
  if (!dir)
    return;
  const char *d = json_string_value(json_object_get(json_object_get(f, "LatestCode"), "Dir"));
  if (d && strcmp(d, dir) == 0)
    return;
  const char *v;
  json_t *ver;
  json_object_foreach(json_object_get(f, "Versions"), v, ver) {
    d = json_string_value(json_object_get(json_object_get(ver, "Code"), "Dir"));
    if (d && strcmp(d, dir) == 0)
      return;
  }
  lambda_code_remove(code);
}

int lambda_revision_check(aws_call *call, const json_t *input, const json_t *config) {
  const char *want = json_string_value(json_object_get(input, "RevisionId"));
  const char *have = json_string_value(json_object_get(config, "RevisionId"));
  if (want && (!have || strcmp(want, have) != 0)) {
    aws_call_fail(call, 412, "PreconditionFailedException",
                  "The Revision Id provided does not match the latest Revision Id. Call the "
                  "GetFunction/GetAlias API to retrieve the latest Revision Id");
    return -1;
  }
  return 0;
}

static void touch(json_t *config) {
  char ts[64], rev[37];
  lambda_timestamp(ts, sizeof(ts), lambda_now());
  lambda_revision(rev);
  json_object_set_new(config, "LastModified", json_string(ts));
  json_object_set_new(config, "RevisionId", json_string(rev));
}

static void set_code(json_t *config, const json_t *code) {
  json_object_set(config, "CodeSha256", json_object_get(code, "Sha"));
  json_object_set(config, "CodeSize", json_object_get(code, "Size"));
}

/* Input's Layers into f's $LATEST configuration and package. Caller holds
 * st->lock. Answers and returns -1 on error. */
static int apply_layers(lambda_state *st, aws_call *call, json_t *f, const json_t *input) {
  const json_t *arns = json_object_get(input, "Layers");
  if (!arns)
    return 0;
  json_t *config = json_object_get(f, "Latest");
  const char *type = json_string_value(json_object_get(config, "PackageType"));
  if (type && strcmp(type, "Image") == 0 && json_array_size(arns)) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Please don't provide Handler or Runtime or Layer when the intended function "
                  "PackageType is Image.");
    return -1;
  }
  json_t *shown = NULL, *packages = NULL;
  if (lambda_layers_resolve(&shown, &packages, st, call, arns) < 0)
    return -1;
  json_object_set_new(config, "Layers", shown);
  /* The package object is shared with published versions: a copy for $LATEST. */
  json_t *code = json_deep_copy(json_object_get(f, "LatestCode"));
  json_object_set_new(code, "Layers", packages);
  json_object_set_new(f, "LatestCode", code);
  return 0;
}

void lambda_create_function(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  char name[128], q[160], key[256], arn[512], log_group[256];
  json_t *code = NULL, *config = NULL, *f = NULL;
  if (lambda_name_parse(call, json_string_value(json_object_get(input, "FunctionName")), name,
                        sizeof(name), q, sizeof(q)) < 0)
    return;
  if (*q) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Unsupported FunctionName: a qualifier is not allowed in CreateFunction.");
    return;
  }
  const char *package_type = json_string_value(json_object_get(input, "PackageType"));
  if (!package_type)
    package_type = "Zip";
  if (strcmp(package_type, "Zip") != 0 && strcmp(package_type, "Image") != 0) {
    lambda_fail_validation(call, package_type, "packageType",
                           "Member must satisfy enum value set: [Image, Zip]");
    return;
  }
  if (strcmp(package_type, "Zip") == 0 &&
      (!json_object_get(input, "Runtime") || !json_object_get(input, "Handler"))) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Runtime and Handler are mandatory parameters for functions created with "
                  "deployment packages.");
    return;
  }
  if (lambda_config_check(call, input, package_type) < 0)
    return;
  key_of(key, sizeof(key), call, name);
  lambda_function_arn(arn, sizeof(arn), aws_call_region(call), aws_call_account(call), name, NULL);
  pthread_mutex_lock(&st->lock);
  int exists = json_object_get(st->functions, key) != NULL;
  pthread_mutex_unlock(&st->lock);
  if (exists) {
    aws_call_fail(call, 409, "ResourceConflictException", "Function already exist: %s", name);
    return;
  }
  if (lambda_code_from_input(&code, st, call, json_object_get(input, "Code"), package_type) < 0)
    return;
  char ts[64], rev[37];
  lambda_timestamp(ts, sizeof(ts), lambda_now());
  lambda_revision(rev);
  snprintf(log_group, sizeof(log_group), "/aws/lambda/%s", name);
  config = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:{s:s}, s:s, s:s, s:s, s:s, s:s,"
                     " s:[s], s:{s:i}, s:{s:s, s:s}, s:{s:s, s:s}}",
                     "FunctionName", name, "FunctionArn", arn, "Description", "", "Timeout",
                     LAMBDA_DEFAULT_TIMEOUT, "MemorySize", LAMBDA_DEFAULT_MEMORY, "LastModified",
                     ts, "Version", "$LATEST", "TracingConfig", "Mode", "PassThrough", "RevisionId",
                     rev, "State", "Pending", "StateReason", "The function is being created.",
                     "StateReasonCode", "Creating", "PackageType", package_type, "Architectures",
                     "x86_64", "EphemeralStorage", "Size", 512, "SnapStart", "ApplyOn", "None",
                     "OptimizationStatus", "Off", "LoggingConfig", "LogFormat", "Text", "LogGroup",
                     log_group);
  if (!config) {
    lambda_code_remove(code);
    json_decref(code);
    aws_call_fail(call, 500, "ServiceException", "out of memory");
    return;
  }
  lambda_config_apply(config, input);
  set_code(config, code);
  json_t *tags = json_object_get(input, "Tags");
  tags = tags ? json_incref(tags) : json_object();
  f = json_pack("{s:s, s:s, s:s, s:o, s:o, s:{}, s:i, s:{}, s:{}, s:o, s:I}", "Name", name,
                "Account", aws_call_account(call), "Region", aws_call_region(call), "Latest",
                config, "LatestCode", code, "Versions", "NextVersion", 1, "Aliases", "Policies",
                "Tags", tags, "ReadyAt", (json_int_t)clock_wall_ms());
  if (!f) {
    aws_call_fail(call, 500, "ServiceException", "out of memory");
    return;
  }
  pthread_mutex_lock(&st->lock);
  if (json_object_get(st->functions, key)) {
    pthread_mutex_unlock(&st->lock);
    lambda_code_remove(code);
    json_decref(f);
    aws_call_fail(call, 409, "ResourceConflictException", "Function already exist: %s", name);
    return;
  }
  if (apply_layers(st, call, f, input) < 0) {
    pthread_mutex_unlock(&st->lock);
    lambda_code_remove(code);
    json_decref(f);
    return;
  }
  json_object_set_new(st->functions, key, f);
  lambda_image_check_start(st, f);
  json_t *out;
  if (json_is_true(json_object_get(input, "Publish")))
    out = lambda_version_publish(f, NULL);
  else
    out = json_deep_copy(config);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

/* The qualified configuration, or NULL after answering. Caller holds the lock. */
static json_t *version_or_fail(aws_call *call, json_t *f, const char *q, json_t **code) {
  char version[160];
  json_t *config = lambda_function_version(f, q, code, version, sizeof(version));
  if (!config) {
    char arn[512];
    lambda_function_arn(arn, sizeof(arn), aws_call_region(call), aws_call_account(call),
                        json_string_value(json_object_get(f, "Name")), q);
    aws_call_fail(call, 404, "ResourceNotFoundException", "Function not found: %s", arn);
  }
  return config;
}

void lambda_get_function_configuration(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  char q[160];
  json_t *f = lambda_function_lock(st, call, input, q, sizeof(q));
  if (!f)
    return;
  json_t *config = version_or_fail(call, f, q, NULL);
  json_t *out = config ? json_deep_copy(config) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (config)
    aws_call_reply(call, out);
}

void lambda_get_function(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  char q[160];
  json_t *code = NULL;
  json_t *f = lambda_function_lock(st, call, input, q, sizeof(q));
  if (!f)
    return;
  json_t *config = version_or_fail(call, f, q, &code);
  if (!config) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  json_t *out =
      json_pack("{s:O, s:O}", "Configuration", config, "Tags", json_object_get(f, "Tags"));
  const char *image = json_string_value(json_object_get(code, "Image"));
  if (image) {
    json_object_set_new(out, "Code",
                        json_pack("{s:s, s:s, s:s}", "RepositoryType", "ECR", "ImageUri", image,
                                  "ResolvedImageUri", image));
  } else {
    const char *dir = json_string_value(json_object_get(code, "Dir"));
    const char *slash = dir ? strrchr(dir, '/') : NULL;
    char location[512];
    snprintf(location, sizeof(location), "%s/_aws/lambda/code/%s", aws_call_endpoint(call),
             slash ? slash + 1 : "");
    json_object_set_new(out, "Code",
                        json_pack("{s:s, s:s}", "RepositoryType", "S3", "Location", location));
  }
  json_t *reserved = json_object_get(f, "Concurrency");
  if (reserved)
    json_object_set_new(out, "Concurrency",
                        json_pack("{s:O}", "ReservedConcurrentExecutions", reserved));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

static int by_name(const void *a, const void *b) {
  return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

void lambda_list_functions(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  json_int_t max = 50;
  json_t *mi = json_object_get(input, "MaxItems");
  if (mi) {
    max = json_integer_value(mi);
    if (max < 1 || max > 10000) {
      char v[32];
      snprintf(v, sizeof(v), "%lld", (long long)max);
      lambda_fail_validation(call, v, "maxItems",
                             max < 1 ? "Member must have value greater than or equal to 1"
                                     : "Member must have value less than or equal to 10000");
      return;
    }
  }
  const char *marker = json_string_value(json_object_get(input, "Marker"));
  const char *which = json_string_value(json_object_get(input, "FunctionVersion"));
  if (which && strcmp(which, "ALL") != 0) {
    lambda_fail_validation(call, which, "functionVersion",
                           "Member must satisfy enum value set: [ALL]");
    return;
  }
  char prefix[64];
  snprintf(prefix, sizeof(prefix), "%s/%s/", aws_call_account(call), aws_call_region(call));
  size_t plen = strlen(prefix);
  pthread_mutex_lock(&st->lock);
  json_t *names = json_array();
  const char *k;
  json_t *f;
  json_object_foreach(st->functions, k, f) {
    if (strncmp(k, prefix, plen) == 0)
      json_array_append_new(names, json_string(k + plen));
  }
  size_t n = json_array_size(names);
  json_t **items = calloc(n ? n : 1, sizeof(*items));
  for (size_t i = 0; items && i < n; i++)
    items[i] = json_array_get(names, i);
  if (items)
    qsort(items, n, sizeof(*items), by_name);
  json_t *list = json_array(), *out = json_object();
  json_int_t count = 0;
  for (size_t i = 0; items && i < n; i++) {
    const char *name = json_string_value(items[i]);
    if (marker && strcmp(name, marker) < 0)
      continue;
    if (count == max) {
      json_object_set_new(out, "NextMarker", json_string(name));
      break;
    }
    char key[256];
    snprintf(key, sizeof(key), "%s%s", prefix, name);
    f = json_object_get(st->functions, key);
    lambda_function_settle(f);
    json_array_append_new(list, json_deep_copy(json_object_get(f, "Latest")));
    if (which) {
      const char *v;
      json_t *ver;
      json_object_foreach(json_object_get(f, "Versions"), v, ver) {
        json_array_append_new(list, json_deep_copy(json_object_get(ver, "Config")));
      }
    }
    count++;
  }
  pthread_mutex_unlock(&st->lock);
  free(items);
  json_decref(names);
  json_object_set_new(out, "Functions", list);
  aws_call_reply(call, out);
}

void lambda_delete_function(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  char q[160];
  json_t *f = lambda_function_lock(st, call, input, q, sizeof(q));
  if (!f)
    return;
  const char *arn = json_string_value(json_object_get(json_object_get(f, "Latest"), "FunctionArn"));
  if (*q && strcmp(q, "$LATEST") == 0) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "$LATEST version cannot be deleted without deleting the function.");
    return;
  }
  if (*q) {
    json_t *versions = json_object_get(f, "Versions");
    json_t *ver = json_object_get(versions, q);
    if (!ver) {
      /* AWS answers 204 for a version that does not exist… unless it is an alias. */
      int alias = json_object_get(json_object_get(f, "Aliases"), q) != NULL;
      pthread_mutex_unlock(&st->lock);
      if (alias)
        aws_call_fail(call, 400, "InvalidParameterValueException",
                      "Deletion of aliases is not currently supported.");
      else
        aws_call_reply(call, NULL);
      return;
    }
    const char *an;
    json_t *alias;
    json_object_foreach(json_object_get(f, "Aliases"), an, alias) {
      const char *fv = json_string_value(json_object_get(alias, "FunctionVersion"));
      json_t *weights =
          json_object_get(json_object_get(alias, "RoutingConfig"), "AdditionalVersionWeights");
      if ((fv && strcmp(fv, q) == 0) || json_object_get(weights, q)) {
        pthread_mutex_unlock(&st->lock);
        aws_call_fail(call, 409, "ResourceConflictException",
                      "Unable to delete version because the following aliases reference it: "
                      "[%s]",
                      an);
        return;
      }
    }
    json_t *code = json_incref(json_object_get(ver, "Code"));
    json_object_del(versions, q);
    release_code(f, code);
    json_decref(code);
    lambda_runtime_forget(st->runtime, arn);
    pthread_mutex_unlock(&st->lock);
    aws_call_reply(call, NULL);
    return;
  }
  lambda_runtime_forget(st->runtime, arn);
  lambda_code_remove(json_object_get(f, "LatestCode"));
  const char *v;
  json_t *ver;
  json_object_foreach(json_object_get(f, "Versions"), v, ver) {
    lambda_code_remove(json_object_get(ver, "Code"));
  }
  char key[256];
  snprintf(key, sizeof(key), "%s/%s/%s", aws_call_account(call), aws_call_region(call),
           json_string_value(json_object_get(f, "Name")));
  json_object_del(st->functions, key);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

/* Refuses a qualifier on operations that change $LATEST. */
static int unqualified(aws_call *call, const char *q) {
  if (*q && strcmp(q, "$LATEST") != 0) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Unsupported FunctionName: a qualifier is not allowed in %s.",
                  aws_call_operation(call));
    return -1;
  }
  return 0;
}

void lambda_update_function_code(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  char q[160];
  json_t *f = lambda_function_lock(st, call, input, q, sizeof(q));
  if (!f)
    return;
  json_t *config = json_object_get(f, "Latest");
  char package_type[16];
  snprintf(package_type, sizeof(package_type), "%s",
           json_string_value(json_object_get(config, "PackageType")));
  if (unqualified(call, q) < 0 || lambda_revision_check(call, input, config) < 0) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  json_t *arch = json_object_get(input, "Architectures");
  pthread_mutex_unlock(&st->lock);
  if (arch) {
    json_t *check = json_pack("{s:O}", "Architectures", arch);
    int bad = lambda_config_check(call, check, NULL);
    json_decref(check);
    if (bad < 0)
      return;
  }
  /* A function keeps its package type; AWS's words for a request that
   * would change it. */
  int image = strcmp(package_type, "Image") == 0;
  int has_uri = json_object_get(input, "ImageUri") != NULL;
  if (image != has_uri) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  image ? "Please provide ImageUri when updating a function with packageType "
                          "Image."
                        : "Please don't provide ImageUri when updating a function with "
                          "packageType Zip.");
    return;
  }
  json_t *code = NULL;
  if (lambda_code_from_input(&code, st, call, input, package_type) < 0)
    return;
  if (json_is_true(json_object_get(input, "DryRun"))) {
    /* Checked, not applied: answer the configuration as it would be. */
    f = lambda_function_lock(st, call, input, NULL, 0);
    if (!f) {
      lambda_code_remove(code);
      json_decref(code);
      return;
    }
    json_t *out = json_deep_copy(json_object_get(f, "Latest"));
    pthread_mutex_unlock(&st->lock);
    set_code(out, code);
    lambda_code_remove(code);
    json_decref(code);
    aws_call_reply(call, out);
    return;
  }
  f = lambda_function_lock(st, call, input, NULL, 0);
  if (!f) {
    lambda_code_remove(code);
    json_decref(code);
    return;
  }
  config = json_object_get(f, "Latest");
  json_t *old = json_incref(json_object_get(f, "LatestCode"));
  json_t *layers = json_object_get(old, "Layers");
  if (layers)
    json_object_set(code, "Layers", layers);
  json_object_set_new(f, "LatestCode", code);
  release_code(f, old);
  json_decref(old);
  set_code(config, code);
  if (arch)
    json_object_set(config, "Architectures", arch);
  touch(config);
  json_object_set_new(config, "LastUpdateStatus", json_string("InProgress"));
  json_object_set_new(config, "LastUpdateStatusReason",
                      json_string("The function is being created."));
  json_object_set_new(config, "LastUpdateStatusReasonCode", json_string("Creating"));
  json_object_set_new(f, "ReadyAt", json_integer((json_int_t)clock_wall_ms()));
  lambda_image_check_start(st, f);
  lambda_runtime_forget(st->runtime, json_string_value(json_object_get(config, "FunctionArn")));
  json_t *out = json_is_true(json_object_get(input, "Publish")) ? lambda_version_publish(f, NULL)
                                                                : json_deep_copy(config);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void lambda_update_function_configuration(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  char q[160];
  json_t *f = lambda_function_lock(st, call, input, q, sizeof(q));
  if (!f)
    return;
  json_t *config = json_object_get(f, "Latest");
  const char *package_type = json_string_value(json_object_get(config, "PackageType"));
  if (unqualified(call, q) < 0 || lambda_revision_check(call, input, config) < 0 ||
      lambda_config_check(call, input, package_type) < 0 || apply_layers(st, call, f, input) < 0) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  lambda_function_keep_running_config(f);
  lambda_config_apply(config, input);
  touch(config);
  json_object_set_new(config, "LastUpdateStatus", json_string("InProgress"));
  json_object_set_new(config, "LastUpdateStatusReason",
                      json_string("The function is being created."));
  json_object_set_new(config, "LastUpdateStatusReasonCode", json_string("Creating"));
  json_object_set_new(f, "ReadyAt", json_integer((json_int_t)clock_wall_ms()));
  lambda_runtime_forget(st->runtime, json_string_value(json_object_get(config, "FunctionArn")));
  json_t *out = json_deep_copy(config);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void lambda_get_account_settings(aws_call *call, json_t *input) {
  (void)input;
  lambda_state *st = lambda_state_of(call);
  char prefix[64];
  snprintf(prefix, sizeof(prefix), "%s/%s/", aws_call_account(call), aws_call_region(call));
  json_int_t count = 0, size = 0, reserved = 0;
  pthread_mutex_lock(&st->lock);
  const char *k;
  json_t *f;
  json_object_foreach(st->functions, k, f) {
    if (strncmp(k, prefix, strlen(prefix)) != 0)
      continue;
    count++;
    size += json_integer_value(json_object_get(json_object_get(f, "LatestCode"), "Size"));
    reserved += json_integer_value(json_object_get(f, "Concurrency"));
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call,
                 json_pack("{s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I}}", "AccountLimit",
                           "TotalCodeSize", (json_int_t)80530636800LL, "CodeSizeUnzipped",
                           (json_int_t)LAMBDA_MAX_UNZIPPED, "CodeSizeZipped",
                           (json_int_t)LAMBDA_MAX_ZIP, "ConcurrentExecutions",
                           (json_int_t)LAMBDA_DEFAULT_CONCURRENCY, "UnreservedConcurrentExecutions",
                           (json_int_t)(LAMBDA_DEFAULT_CONCURRENCY - reserved), "AccountUsage",
                           "TotalCodeSize", size, "FunctionCount", count));
}
