/*
 * config.c — a function's configuration: AWS's validation of every member
 * CreateFunction and UpdateFunctionConfiguration take (ranges, patterns,
 * runtimes, reserved environment keys, the 4 KB environment limit) and
 * applying them to the stored FunctionConfiguration.
 *
 * Messages are AWS's own: ValidationException "1 validation error detected:
 * Value '…' at '…' failed to satisfy constraint: …" for what the API's model
 * constrains, InvalidParameterValueException for Lambda's own rules.
 */
#include "emulator/lambda/lambda_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void lambda_fail_validation(aws_call *call, const char *value, const char *member,
                            const char *constraint) {
  aws_call_fail(call, 400, "ValidationException",
                "1 validation error detected: Value '%.256s' at '%s' failed to satisfy "
                "constraint: %s",
                value, member, constraint);
}

static const char *const RUNTIMES[] = {
    "nodejs18.x", "nodejs20.x", "nodejs22.x",   "nodejs24.x",      "python3.9", "python3.10",
    "python3.11", "python3.12", "python3.13",   "python3.14",      "java8.al2", "java11",
    "java17",     "java21",     "java25",       "dotnet8",         "dotnet10",  "ruby3.3",
    "ruby3.4",    "provided",   "provided.al2", "provided.al2023",
};
static const char *const DEPRECATED[] = {
    "nodejs",        "nodejs4.3",     "nodejs4.3-edge", "nodejs6.10", "nodejs8.10",
    "nodejs10.x",    "nodejs12.x",    "nodejs14.x",     "nodejs16.x", "java8",
    "python2.7",     "python3.6",     "python3.7",      "python3.8",  "dotnetcore1.0",
    "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1",  "dotnet6",    "dotnet7",
    "go1.x",         "ruby2.5",       "ruby2.7",        "ruby3.2",    "java17.al2",
};

static int in_list(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(s, list[i]) == 0)
      return 1;
  return 0;
}

int lambda_runtime_known(const char *rt, int deprecated_too) {
  return rt &&
         (in_list(rt, RUNTIMES, sizeof(RUNTIMES) / sizeof(RUNTIMES[0])) ||
          (deprecated_too && in_list(rt, DEPRECATED, sizeof(DEPRECATED) / sizeof(DEPRECATED[0]))));
}

void lambda_runtime_set(char *out, size_t n, int deprecated_too) {
  snprintf(out, n, "[");
  size_t nr = sizeof(RUNTIMES) / sizeof(RUNTIMES[0]),
         nd = sizeof(DEPRECATED) / sizeof(DEPRECATED[0]);
  for (size_t i = 0; i < nr + (deprecated_too ? nd : 0); i++) {
    strncat(out, i ? ", " : "", n - strlen(out) - 1);
    strncat(out, i < nr ? RUNTIMES[i] : DEPRECATED[i - nr], n - strlen(out) - 1);
  }
  strncat(out, "]", n - strlen(out) - 1);
}

static int check_runtime(aws_call *call, const char *rt) {
  size_t nr = sizeof(RUNTIMES) / sizeof(RUNTIMES[0]);
  if (in_list(rt, RUNTIMES, nr))
    return 0;
  if (in_list(rt, DEPRECATED, sizeof(DEPRECATED) / sizeof(DEPRECATED[0]))) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "The runtime parameter of %s is no longer supported for creating or updating "
                  "AWS Lambda functions. We recommend you use a supported runtime while creating "
                  "or updating functions.",
                  rt);
    return -1;
  }
  char set[1024] = "";
  for (size_t i = 0; i < nr; i++) {
    strncat(set, RUNTIMES[i], sizeof(set) - strlen(set) - 1);
    strncat(set, i + 1 < nr ? ", " : "", sizeof(set) - strlen(set) - 1);
  }
  /* Lambda's own check, not the model's: no "validation error" preamble. */
  aws_call_fail(call, 400, "InvalidParameterValueException",
                "Value %.256s at 'runtime' failed to satisfy constraint: Member must satisfy enum "
                "value set: [%s] or be a valid ARN",
                rt, set);
  return -1;
}

/* arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+ */
static int role_valid(const char *r) {
  if (strncmp(r, "arn:", 4) != 0)
    return 0;
  r += 4;
  if (strncmp(r, "aws", 3) == 0) {
    r += 3;
    while (isalpha((unsigned char)*r) || *r == '-')
      r++;
  }
  if (strncmp(r, ":iam::", 6) != 0)
    return 0;
  r += 6;
  for (int i = 0; i < 12; i++, r++)
    if (!isdigit((unsigned char)*r))
      return 0;
  if (strncmp(r, ":role", 5) != 0)
    return 0;
  r += 5;
  if (*r == '/')
    r++;
  if (!*r)
    return 0;
  for (; *r; r++)
    if (!isalnum((unsigned char)*r) && !strchr("+=,.@-_/", *r))
      return 0;
  return 1;
}

static const char *const RESERVED_ENV[] = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
};

static int check_environment(aws_call *call, const json_t *env) {
  const json_t *vars = json_object_get(env, "Variables");
  if (!vars)
    return 0;
  char used[1024] = "";
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)vars, k, v) {
    int ok = isalpha((unsigned char)k[0]) && k[1];
    for (const char *p = k; ok && *p; p++)
      ok = isalnum((unsigned char)*p) || *p == '_';
    if (!ok) {
      lambda_fail_validation(call, k, "environment.variables",
                             "Member must satisfy regular expression pattern: "
                             "[a-zA-Z]([a-zA-Z0-9_])+");
      return -1;
    }
    if (in_list(k, RESERVED_ENV, sizeof(RESERVED_ENV) / sizeof(RESERVED_ENV[0]))) {
      if (*used)
        strncat(used, ", ", sizeof(used) - strlen(used) - 1);
      strncat(used, k, sizeof(used) - strlen(used) - 1);
    }
  }
  if (*used) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Lambda was unable to configure your environment variables because the "
                  "environment variables you have provided contains reserved keys that are "
                  "currently not supported for modification. Reserved keys used in this request: "
                  "%s",
                  used);
    return -1;
  }
  char *text = json_dumps(vars, JSON_COMPACT);
  size_t n = text ? strlen(text) : 0;
  if (n > LAMBDA_MAX_ENV_BYTES) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Lambda was unable to configure your environment variables because the "
                  "environment variables you have provided exceeded the 4KB limit. String "
                  "measured: %.15000s",
                  text);
    free(text);
    return -1;
  }
  free(text);
  return 0;
}

static int check_range(aws_call *call, const json_t *input, const char *member, const char *wire,
                       long long lo, long long hi) {
  const json_t *v = json_object_get(input, member);
  if (!v)
    return 0;
  long long n = json_integer_value(v);
  char value[32], why[96];
  snprintf(value, sizeof(value), "%lld", n);
  if (n < lo) {
    snprintf(why, sizeof(why), "Member must have value greater than or equal to %lld", lo);
    lambda_fail_validation(call, value, wire, why);
    return -1;
  }
  if (n > hi) {
    snprintf(why, sizeof(why), "Member must have value less than or equal to %lld", hi);
    lambda_fail_validation(call, value, wire, why);
    return -1;
  }
  return 0;
}

/* ImageConfig's model limits (StringList: at most 1500 items; WorkingDirectory:
 * at most 1000 characters), and Lambda's rule that only an image has one. */
static int check_image_config(aws_call *call, const json_t *image, const char *package_type) {
  if (!image)
    return 0;
  static const struct {
    const char *member, *wire;
  } LISTS[] = {{"EntryPoint", "imageConfig.entryPoint"}, {"Command", "imageConfig.command"}};
  for (size_t i = 0; i < sizeof(LISTS) / sizeof(LISTS[0]); i++) {
    const json_t *list = json_object_get(image, LISTS[i].member);
    if (json_array_size(list) <= LAMBDA_MAX_IMAGE_LIST)
      continue;
    /* The value as AWS prints a list: "[a, b, ...]" (cut by the message). */
    char value[300] = "[";
    for (size_t k = 0; k < json_array_size(list) && strlen(value) < 260; k++) {
      const char *item = json_string_value(json_array_get(list, k));
      strncat(value, k ? ", " : "", sizeof(value) - strlen(value) - 1);
      strncat(value, item ? item : "", sizeof(value) - strlen(value) - 1);
    }
    strncat(value, "]", sizeof(value) - strlen(value) - 1);
    lambda_fail_validation(call, value, LISTS[i].wire,
                           "Member must have length less than or equal to 1500");
    return -1;
  }
  const char *dir = json_string_value(json_object_get(image, "WorkingDirectory"));
  if (dir && strlen(dir) > LAMBDA_MAX_WORKING_DIR) {
    lambda_fail_validation(call, dir, "imageConfig.workingDirectory",
                           "Member must have length less than or equal to 1000");
    return -1;
  }
  if (package_type && strcmp(package_type, "Image") != 0) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "ImageConfig is not supported for functions with PackageType Zip. Provide it "
                  "only when the intended function PackageType is Image.");
    return -1;
  }
  return 0;
}

int lambda_config_check(aws_call *call, const json_t *input, const char *package_type) {
  const char *rt = json_string_value(json_object_get(input, "Runtime"));
  const char *role = json_string_value(json_object_get(input, "Role"));
  const char *handler = json_string_value(json_object_get(input, "Handler"));
  const char *desc = json_string_value(json_object_get(input, "Description"));
  if (role && !role_valid(role)) {
    lambda_fail_validation(call, role, "role",
                           "Member must satisfy regular expression pattern: "
                           "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+");
    return -1;
  }
  if (rt && check_runtime(call, rt) < 0)
    return -1;
  if (handler) {
    int ok = *handler && strlen(handler) <= 128;
    for (const char *p = handler; ok && *p; p++)
      ok = !isspace((unsigned char)*p);
    if (!ok) {
      lambda_fail_validation(call, handler, "handler",
                             strlen(handler) > 128
                                 ? "Member must have length less than or equal to 128"
                                 : "Member must satisfy regular expression pattern: [^\\s]+");
      return -1;
    }
  }
  if (desc && strlen(desc) > 256) {
    lambda_fail_validation(call, desc, "description",
                           "Member must have length less than or equal to 256");
    return -1;
  }
  if (check_range(call, input, "Timeout", "timeout", 1, 900) < 0 ||
      check_range(call, input, "MemorySize", "memorySize", 128, 10240) < 0 ||
      check_range(call, json_object_get(input, "EphemeralStorage"), "Size", "ephemeralStorage.size",
                  512, 10240) < 0)
    return -1;
  const json_t *arch = json_object_get(input, "Architectures");
  if (arch) {
    /* The list as AWS prints it: "[x86_64, arm64]". */
    char list[256] = "[";
    int valid = 1;
    for (size_t i = 0; i < json_array_size(arch); i++) {
      const char *a = json_string_value(json_array_get(arch, i));
      valid = valid && a && (strcmp(a, "x86_64") == 0 || strcmp(a, "arm64") == 0);
      strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
      strncat(list, a ? a : "null", sizeof(list) - strlen(list) - 2);
    }
    strncat(list, "]", sizeof(list) - strlen(list) - 1);
    if (json_array_size(arch) != 1) {
      lambda_fail_validation(call, list, "architectures",
                             json_array_size(arch)
                                 ? "Member must have length less than or equal to 1"
                                 : "Member must have length greater than or equal to 1");
      return -1;
    }
    if (!valid) {
      lambda_fail_validation(call, list, "architectures",
                             "Member must satisfy constraint: [Member must satisfy enum value "
                             "set: [x86_64, arm64], Member must not be null]");
      return -1;
    }
  }
  if (check_environment(call, json_object_get(input, "Environment")) < 0 ||
      check_image_config(call, json_object_get(input, "ImageConfig"), package_type) < 0)
    return -1;
  int image = package_type && strcmp(package_type, "Image") == 0;
  if (image && (rt || handler)) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Please don't provide Handler or Runtime or Layer when the intended function "
                  "PackageType is Image.");
    return -1;
  }
  return 0;
}

/* Copies the members of input that configure a function into config. */
void lambda_config_apply(json_t *config, const json_t *input) {
  static const char *const SIMPLE[] = {
      "Runtime",    "Role",      "Handler",       "Description",      "Timeout",
      "MemorySize", "KMSKeyArn", "Architectures", "EphemeralStorage", "DeadLetterConfig"};
  for (size_t i = 0; i < sizeof(SIMPLE) / sizeof(SIMPLE[0]); i++) {
    json_t *v = json_object_get(input, SIMPLE[i]);
    if (v)
      json_object_set(config, SIMPLE[i], v);
  }
  const json_t *env = json_object_get(input, "Environment");
  if (env) {
    json_t *vars = json_object_get(env, "Variables");
    json_object_set_new(config, "Environment",
                        json_pack("{s:o}", "Variables", vars ? json_incref(vars) : json_object()));
  }
  const json_t *tracing = json_object_get(input, "TracingConfig");
  if (tracing && json_object_get(tracing, "Mode"))
    json_object_set_new(config, "TracingConfig",
                        json_pack("{s:O}", "Mode", json_object_get(tracing, "Mode")));
  /* ImageConfig replaces the whole of the previous one; AWS shows none when
   * it has no member left. Only the members of the model are kept. */
  const json_t *image = json_object_get(input, "ImageConfig");
  if (json_is_object(image)) {
    json_t *kept = json_object();
    static const char *const MEMBERS[] = {"EntryPoint", "Command", "WorkingDirectory"};
    for (size_t i = 0; kept && i < sizeof(MEMBERS) / sizeof(MEMBERS[0]); i++) {
      json_t *v = json_object_get(image, MEMBERS[i]);
      if (v)
        json_object_set(kept, MEMBERS[i], v);
    }
    /* Docker (and so the function's container) takes only an absolute
     * working directory: a relative one cannot be applied, and AWS reports
     * such a config in ImageConfigResponse.Error (lambda_function_settle
     * then fails the function, StateReasonCode InvalidImage). */
    const char *dir = json_string_value(json_object_get(kept, "WorkingDirectory"));
    json_t *error = NULL;
    if (dir && *dir && *dir != '/') {
      char msg[1200];
      snprintf(msg, sizeof(msg),
               "The image config cannot be applied: WorkingDirectory '%.1000s' is not an "
               "absolute path. Use an absolute path such as /var/task.",
               dir);
      error = json_pack("{s:s, s:s}", "ErrorCode", "InvalidImage", "Message", msg);
    }
    if (json_object_size(kept)) {
      json_t *resp = json_pack("{s:o}", "ImageConfig", kept);
      if (resp && error)
        json_object_set_new(resp, "Error", error);
      else
        json_decref(error);
      json_object_set_new(config, "ImageConfigResponse", resp);
    } else {
      json_decref(error);
      json_decref(kept);
      json_object_del(config, "ImageConfigResponse");
    }
  }
  const json_t *logging = json_object_get(input, "LoggingConfig");
  if (json_is_object(logging)) {
    /* Merged into what the function has (LogFormat Text and the group
     * /aws/lambda/<name> by default); JSON brings the log levels' defaults. */
    json_t *lc = json_object_get(config, "LoggingConfig");
    if (!lc) {
      lc = json_object();
      json_object_set_new(config, "LoggingConfig", lc);
    }
    json_object_update(lc, (json_t *)logging);
    const char *format = json_string_value(json_object_get(lc, "LogFormat"));
    if (format && strcmp(format, "JSON") == 0) {
      if (!json_object_get(lc, "ApplicationLogLevel"))
        json_object_set_new(lc, "ApplicationLogLevel", json_string("INFO"));
      if (!json_object_get(lc, "SystemLogLevel"))
        json_object_set_new(lc, "SystemLogLevel", json_string("INFO"));
    } else {
      json_object_del(lc, "ApplicationLogLevel");
      json_object_del(lc, "SystemLogLevel");
    }
  }
  const json_t *vpc = json_object_get(input, "VpcConfig");
  if (vpc) {
    json_t *v = json_deep_copy(vpc);
    json_object_set_new(v, "VpcId", json_string(""));
    json_object_set_new(config, "VpcConfig", v);
  }
}
