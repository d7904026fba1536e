/*
 * service.c — the Lambda service's aws_service: state, the operation table,
 * and finding a function by any of the names the API accepts (name,
 * name:qualifier, partial ARN, full ARN).
 *
 * Nothing here touches Docker: the containers, the Runtime API's port and the
 * invocation queue are made at the first Invoke (runtime.c), so an emulator
 * whose clients never invoke a function starts and idles as it did before
 * Lambda was served.
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/error.h"
#include "common/fs.h"
#include "emulator/lambda/lambda_esm_int.h"
#include "emulator/lambda/lambda_int.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

lambda_state *lambda_state_of(aws_call *call) { return aws_call_state(call); }

double lambda_now(void) { return (double)clock_wall_ms() / 1000.0; }

void lambda_timestamp(char *out, size_t n, double t) {
  time_t secs = (time_t)t;
  struct tm tm;
  gmtime_r(&secs, &tm);
  int ms = (int)((t - (double)secs) * 1000.0);
  if (ms < 0 || ms > 999)
    ms = 0;
  char day[32];
  strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, n, "%s.%03d+0000", day, ms);
}

void lambda_revision(char out[37]) { codec_uuid4(out); }

void lambda_function_arn(char *out, size_t n, const char *region, const char *account,
                         const char *name, const char *qualifier) {
  if (qualifier && *qualifier)
    snprintf(out, n, "arn:aws:lambda:%s:%s:function:%s:%s", region, account, name, qualifier);
  else
    snprintf(out, n, "arn:aws:lambda:%s:%s:function:%s", region, account, name);
}

static int name_char(int c) { return isalnum(c) || c == '-' || c == '_'; }

static int qualifier_valid(const char *q) {
  if (strcmp(q, "$LATEST") == 0)
    return 1;
  size_t n = strlen(q);
  if (n == 0 || n > 128)
    return 0;
  for (const char *p = q; *p; p++)
    if (!name_char((unsigned char)*p))
      return 0;
  return 1;
}

int lambda_name_parse(aws_call *call, const char *given, char *name, size_t name_n, char *qualifier,
                      size_t qualifier_n) {
  char buf[256];
  const char *region = aws_call_region(call), *account = aws_call_account(call);
  size_t len = given ? strlen(given) : 0;
  if (len == 0 || len >= sizeof(buf)) {
    lambda_fail_validation(call, given ? given : "", "functionName",
                           "Member must have length less than or equal to 140");
    return -1;
  }
  memcpy(buf, given, len + 1);
  /* Up to 8 ':'-separated parts: arn aws lambda region account function name [qualifier]. */
  char *parts[9];
  size_t count = 0;
  char *p = buf;
  while (count < 9) {
    parts[count++] = p;
    char *colon = strchr(p, ':');
    if (!colon)
      break;
    *colon = '\0';
    p = colon + 1;
  }
  const char *n = NULL, *q = "";
  if (strcmp(parts[0], "arn") == 0) {
    if (count < 7 || count > 8 || strncmp(parts[1], "aws", 3) != 0 ||
        strcmp(parts[2], "lambda") != 0 || strcmp(parts[5], "function") != 0)
      goto bad;
    if (strcmp(parts[3], region) != 0 || strcmp(parts[4], account) != 0) {
      if (strcmp(parts[3], region) != 0)
        aws_call_fail(call, 404, "ResourceNotFoundException",
                      "Functions from '%s' are not reachable in this region ('%s')", parts[3],
                      region);
      else
        aws_call_fail(call, 403, "AccessDeniedException",
                      "User is not authorized to access the function in account %s", parts[4]);
      return -1;
    }
    n = parts[6];
    q = count == 8 ? parts[7] : "";
  } else if (count >= 3 && strcmp(parts[1], "function") == 0) {
    if (count > 4 || strlen(parts[0]) != 12)
      goto bad;
    if (strcmp(parts[0], account) != 0) {
      aws_call_fail(call, 403, "AccessDeniedException",
                    "User is not authorized to access the function in account %s", parts[0]);
      return -1;
    }
    n = parts[2];
    q = count == 4 ? parts[3] : "";
  } else if (count <= 2) {
    n = parts[0];
    q = count == 2 ? parts[1] : "";
  } else {
    goto bad;
  }
  if (!*n || strlen(n) > 64 || strlen(n) >= name_n || strlen(q) >= qualifier_n)
    goto bad;
  for (const char *c = n; *c; c++)
    if (!name_char((unsigned char)*c))
      goto bad;
  if (*q && !qualifier_valid(q))
    goto bad;
  snprintf(name, name_n, "%s", n);
  snprintf(qualifier, qualifier_n, "%s", q);
  return 0;
bad:
  lambda_fail_validation(call, given, "functionName",
                         "Member must satisfy regular expression pattern: "
                         "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{"
                         "12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?");
  return -1;
}

json_t *lambda_function_lock(lambda_state *st, aws_call *call, json_t *input, char *qualifier,
                             size_t qualifier_n) {
  char arn[512];
  int missing = 0;
  json_t *f =
      lambda_function_find(st, call, input, qualifier, qualifier_n, &missing, arn, sizeof(arn));
  if (missing)
    aws_call_fail(call, 404, "ResourceNotFoundException", "Function not found: %s", arn);
  return f;
}

json_t *lambda_function_find(lambda_state *st, aws_call *call, json_t *input, char *qualifier,
                             size_t qualifier_n, int *missing, char *arn, size_t arn_n) {
  char name[128], q[160], key[256];
  *missing = 0;
  const char *given = json_string_value(json_object_get(input, "FunctionName"));
  if (lambda_name_parse(call, given, name, sizeof(name), q, sizeof(q)) < 0)
    return NULL;
  const char *member = json_string_value(json_object_get(input, "Qualifier"));
  if (member && *q && strcmp(member, q) != 0) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "The derived qualifier from the function name does not match the specified "
                  "qualifier.");
    return NULL;
  }
  char named_q[160];
  snprintf(named_q, sizeof(named_q), "%s", q);
  if (member && !*q) {
    /* The Qualifier member's own pattern, (|[a-zA-Z0-9$_-]+): looser than a
     * qualifier inside a name; what it names is looked up later. */
    size_t mn = strlen(member);
    if (mn > 128 ||
        strspn(member, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$_-") != mn) {
      lambda_fail_validation(call, member, "qualifier",
                             "Member must satisfy regular expression pattern: "
                             "(|[a-zA-Z0-9$_-]+)");
      return NULL;
    }
    snprintf(q, sizeof(q), "%s", member);
  }
  snprintf(key, sizeof(key), "%s/%s/%s", aws_call_account(call), aws_call_region(call), name);
  pthread_mutex_lock(&st->lock);
  json_t *f = json_object_get(st->functions, key);
  if (!f) {
    pthread_mutex_unlock(&st->lock);
    /* AWS names the qualifier only when the function name carried it. */
    lambda_function_arn(arn, arn_n, aws_call_region(call), aws_call_account(call), name, named_q);
    *missing = 1;
    return NULL;
  }
  lambda_function_settle(f);
  if (qualifier)
    snprintf(qualifier, qualifier_n, "%s", q);
  return f;
}

json_t *lambda_function_version(json_t *f, const char *qualifier, json_t **code, char *version,
                                size_t version_n) {
  const char *v = qualifier;
  if (!v || !*v || strcmp(v, "$LATEST") == 0) {
    if (code)
      *code = json_object_get(f, "LatestCode");
    snprintf(version, version_n, "$LATEST");
    return json_object_get(f, "Latest");
  }
  json_t *alias = json_object_get(json_object_get(f, "Aliases"), v);
  if (alias)
    v = json_string_value(json_object_get(alias, "FunctionVersion"));
  if (!v)
    return NULL;
  if (strcmp(v, "$LATEST") == 0)
    return lambda_function_version(f, "", code, version, version_n);
  json_t *ver = json_object_get(json_object_get(f, "Versions"), v);
  if (!ver)
    return NULL;
  if (code)
    *code = json_object_get(ver, "Code");
  snprintf(version, version_n, "%s", v);
  return json_object_get(ver, "Config");
}

/* f's "PriorConfig": $LATEST as it ran before the update in progress;
 * "FailedUpdateConfig": the configuration invocations use while the last
 * update stands failed. */
static json_t *running_config(json_t *f, json_t *config) {
  json_t *kept = json_object_get(f, "FailedUpdateConfig");
  return kept && config == json_object_get(f, "Latest") ? kept : config;
}

json_t *lambda_function_version_to_run(json_t *f, const char *qualifier, json_t **code,
                                       char *version, size_t version_n) {
  json_t *config = lambda_function_version(f, qualifier, code, version, version_n);
  return config ? running_config(f, config) : NULL;
}

void lambda_function_keep_running_config(json_t *f) {
  json_t *running = running_config(f, json_object_get(f, "Latest"));
  json_object_set_new(f, "PriorConfig", json_deep_copy(running));
}

void lambda_function_runs_latest(json_t *f) {
  json_object_del(f, "FailedUpdateConfig");
  json_object_del(f, "PriorConfig");
}

/* A failed update: the configuration before it stays in use. */
static void update_failed(json_t *f) {
  json_t *prior = json_object_get(f, "PriorConfig");
  if (prior)
    json_object_set(f, "FailedUpdateConfig", prior);
  json_object_del(f, "PriorConfig");
}

void lambda_function_settle(json_t *f) {
  json_t *ready = json_object_get(f, "ReadyAt");
  if (json_object_get(f, "ImageCheck"))
    return; /* images.c settles it when the check ends */
  if (!ready || (double)json_integer_value(ready) > (double)clock_wall_ms())
    return;
  json_t *c = json_object_get(f, "Latest");
  const char *state = json_string_value(json_object_get(c, "State"));
  const char *upd = json_string_value(json_object_get(c, "LastUpdateStatus"));
  /* An image config that cannot be applied fails the creation or update. */
  json_t *ice = json_object_get(json_object_get(c, "ImageConfigResponse"), "Error");
  const char *ice_msg = json_string_value(json_object_get(ice, "Message"));
  if (ice_msg && state && strcmp(state, "Pending") == 0) {
    json_object_set_new(c, "State", json_string("Failed"));
    json_object_set_new(c, "StateReason", json_string(ice_msg));
    json_object_set_new(c, "StateReasonCode", json_string("InvalidImage"));
    json_object_set_new(c, "LastUpdateStatus", json_string("Failed"));
    json_object_set_new(c, "LastUpdateStatusReason", json_string(ice_msg));
    json_object_set_new(c, "LastUpdateStatusReasonCode", json_string("InvalidImage"));
    json_object_del(f, "ReadyAt");
    return;
  }
  if (ice_msg && upd && strcmp(upd, "InProgress") == 0) {
    json_object_set_new(c, "LastUpdateStatus", json_string("Failed"));
    json_object_set_new(c, "LastUpdateStatusReason", json_string(ice_msg));
    json_object_set_new(c, "LastUpdateStatusReasonCode", json_string("InvalidImage"));
    update_failed(f);
    json_object_del(f, "ReadyAt");
    return;
  }
  if (state && strcmp(state, "Pending") == 0) {
    json_object_set_new(c, "State", json_string("Active"));
    json_object_del(c, "StateReason");
    json_object_del(c, "StateReasonCode");
    if (!json_object_get(c, "LastUpdateStatus"))
      json_object_set_new(c, "LastUpdateStatus", json_string("Successful"));
  }
  /* Re-read: replacing State above freed the string state pointed to. */
  state = json_string_value(json_object_get(c, "State"));
  upd = json_string_value(json_object_get(c, "LastUpdateStatus"));
  if (upd && strcmp(upd, "InProgress") == 0) {
    /* An update whose image config applies again brings back a function
     * that failed on it. */
    const char *why = json_string_value(json_object_get(c, "StateReasonCode"));
    if (state && strcmp(state, "Failed") == 0 && why && strcmp(why, "InvalidImage") == 0) {
      json_object_set_new(c, "State", json_string("Active"));
      json_object_del(c, "StateReason");
      json_object_del(c, "StateReasonCode");
    }
    json_object_set_new(c, "LastUpdateStatus", json_string("Successful"));
    json_object_del(c, "LastUpdateStatusReason");
    json_object_del(c, "LastUpdateStatusReasonCode");
    lambda_function_runs_latest(f);
  }
  json_object_del(f, "ReadyAt");
}

static int lambda_create(void **state, emulator *emu) {
  lambda_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "Lambda: out of memory");
  st->emu = emu;
  st->functions = json_object();
  st->layers = json_object();
  st->mappings = json_object();
  st->image_checks = json_object();
  size_t n = strlen(emulator_data_dir(emu)) + 16;
  st->code_root = malloc(n);
  if (st->code_root)
    snprintf(st->code_root, n, "%s/lambda", emulator_data_dir(emu));
  if (!st->functions || !st->layers || !st->mappings || !st->code_root || !st->image_checks ||
      pthread_mutex_init(&st->lock, NULL) != 0) {
    json_decref(st->image_checks);
    json_decref(st->functions);
    json_decref(st->layers);
    json_decref(st->mappings);
    free(st->code_root);
    free(st);
    return airgap_error_set(AIRGAP_ERROR, "Lambda: cannot create the function store");
  }
  pthread_cond_init(&st->checks_done, NULL);
  pthread_condattr_t monotonic;
  pthread_condattr_init(&monotonic);
  pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
  pthread_cond_init(&st->reaper_wake, &monotonic);
  pthread_condattr_destroy(&monotonic);
  *state = st;
  return 0;
}

static void remove_packages(json_t *functions) {
  const char *k;
  json_t *f;
  json_object_foreach(functions, k, f) {
    lambda_code_remove(json_object_get(f, "LatestCode"));
    const char *v;
    json_t *ver;
    json_object_foreach(json_object_get(f, "Versions"), v, ver) {
      lambda_code_remove(json_object_get(ver, "Code"));
    }
  }
}

static void lambda_reset(void *state) {
  lambda_state *st = state;
  pthread_mutex_lock(&st->lock);
  const char *k;
  json_t *f;
  json_object_foreach(st->functions, k, f) {
    lambda_runtime_forget(st->runtime, json_string_value(json_object_get(
                                           json_object_get(f, "Latest"), "FunctionArn")));
  }
  remove_packages(st->functions);
  json_object_clear(st->functions);
  json_object_clear(st->layers);
  json_object_clear(st->mappings);
  pthread_mutex_unlock(&st->lock);
}

static void lambda_shutdown(void *state) {
  lambda_state *st = state;
  pthread_mutex_lock(&st->lock); /* the reaper reads it without */
  __atomic_store_n(&st->closing, 1, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&st->reaper_wake);
  pthread_mutex_unlock(&st->lock);
  lambda_reaper_join(st);
  lambda_esm_shutdown(st); /* no new batches while the runtime stops */
  lambda_image_checks_wait(st);
  if (st->runtime)
    lambda_runtime_shutdown(st->runtime);
}

static void lambda_started(void *state) { lambda_reaper_start(state); }

static void lambda_destroy(void *state) {
  lambda_state *st = state;
  if (!st)
    return;
  pthread_mutex_lock(&st->lock);
  __atomic_store_n(&st->closing, 1, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&st->reaper_wake);
  pthread_mutex_unlock(&st->lock);
  lambda_reaper_join(st);
  lambda_runtime_free(st->runtime);
  lambda_esm_free(st);
  remove_packages(st->functions);
  json_decref(st->functions);
  json_decref(st->layers);
  json_decref(st->mappings);
  json_decref(st->image_checks);
  free(st->code_root);
  pthread_cond_destroy(&st->checks_done);
  pthread_cond_destroy(&st->reaper_wake);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

/* GET /_aws/lambda/code/<n>: the zip GetFunction's Code.Location names;
 * GET|DELETE /_aws/lambda/timings: the emulator's own share of invokes. */
static int lambda_internal(void *state, http_request *req, const char *rest) {
  lambda_state *st = state;
  if (strcmp(rest, LAMBDA_URL_ENDPOINT) == 0) {
    lambda_url_handle(st, req);
    return 1;
  }
  if (strcmp(rest, "timings") == 0) {
    lambda_timings_handle(st, req);
    return 1;
  }
  if (strncmp(rest, "code/", 5) != 0)
    return 0;
  const char *n = rest + 5;
  if (!*n || strlen(n) > 20 || strspn(n, "0123456789") != strlen(n)) {
    http_request_respond_error(req, 404, "no such code package");
    return 1;
  }
  if (strcmp(http_request_method(req), "GET") != 0) {
    http_request_respond_error(req, 405, "GET only");
    return 1;
  }
  char path[4200];
  snprintf(path, sizeof(path), "%s/%s/code.zip", st->code_root, n);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) < 0) {
    if (fd >= 0)
      close(fd);
    http_request_respond_error(req, 404, "no such code package");
    return 1;
  }
  http_request_respond(req,
                       http_response_new_fd(200, "application/zip", fd, 0, (uint64_t)sb.st_size));
  return 1;
}

static const aws_operation lambda_operations[] = {
    {"AddPermission", lambda_add_permission},
    {"CreateAlias", lambda_create_alias},
    {"CreateEventSourceMapping", lambda_create_event_source_mapping},
    {"CreateFunction", lambda_create_function},
    {"CreateFunctionUrlConfig", lambda_create_function_url_config},
    {"DeleteAlias", lambda_delete_alias},
    {"DeleteEventSourceMapping", lambda_delete_event_source_mapping},
    {"DeleteFunction", lambda_delete_function},
    {"DeleteFunctionConcurrency", lambda_delete_function_concurrency},
    {"DeleteFunctionEventInvokeConfig", lambda_delete_function_event_invoke_config},
    {"DeleteFunctionUrlConfig", lambda_delete_function_url_config},
    {"DeleteLayerVersion", lambda_delete_layer_version},
    {"GetAccountSettings", lambda_get_account_settings},
    {"GetAlias", lambda_get_alias},
    {"GetEventSourceMapping", lambda_get_event_source_mapping},
    {"GetFunction", lambda_get_function},
    {"GetFunctionConcurrency", lambda_get_function_concurrency},
    {"GetFunctionConfiguration", lambda_get_function_configuration},
    {"GetFunctionEventInvokeConfig", lambda_get_function_event_invoke_config},
    {"GetFunctionUrlConfig", lambda_get_function_url_config},
    {"GetLayerVersion", lambda_get_layer_version},
    {"GetLayerVersionByArn", lambda_get_layer_version_by_arn},
    {"GetPolicy", lambda_get_policy},
    {"Invoke", lambda_invoke},
    {"InvokeWithResponseStream", lambda_invoke},
    {"ListAliases", lambda_list_aliases},
    {"ListEventSourceMappings", lambda_list_event_source_mappings},
    {"ListFunctionEventInvokeConfigs", lambda_list_function_event_invoke_configs},
    {"ListFunctionUrlConfigs", lambda_list_function_url_configs},
    {"ListFunctions", lambda_list_functions},
    {"ListLayerVersions", lambda_list_layer_versions},
    {"ListLayers", lambda_list_layers},
    {"ListTags", lambda_list_tags},
    {"ListVersionsByFunction", lambda_list_versions_by_function},
    {"PublishLayerVersion", lambda_publish_layer_version},
    {"PublishVersion", lambda_publish_version},
    {"PutFunctionConcurrency", lambda_put_function_concurrency},
    {"PutFunctionEventInvokeConfig", lambda_put_function_event_invoke_config},
    {"RemovePermission", lambda_remove_permission},
    {"TagResource", lambda_tag_resource},
    {"UntagResource", lambda_untag_resource},
    {"UpdateAlias", lambda_update_alias},
    {"UpdateEventSourceMapping", lambda_update_event_source_mapping},
    {"UpdateFunctionCode", lambda_update_function_code},
    {"UpdateFunctionConfiguration", lambda_update_function_configuration},
    {"UpdateFunctionEventInvokeConfig", lambda_update_function_event_invoke_config},
    {"UpdateFunctionUrlConfig", lambda_update_function_url_config},
};

const aws_service aws_service_lambda = {
    .name = "lambda",
    .model_name = "lambda",
    .operations = lambda_operations,
    .operation_count = sizeof(lambda_operations) / sizeof(lambda_operations[0]),
    .create = lambda_create,
    .reset = lambda_reset,
    .shutdown = lambda_shutdown,
    .destroy = lambda_destroy,
    .started = lambda_started,
    .internal_endpoint = lambda_internal,
};
