/*
 * layers.c — layers: PublishLayerVersion, GetLayerVersion,
 * GetLayerVersionByArn, ListLayerVersions, ListLayers, DeleteLayerVersion,
 * and resolving a function's Layers into the packages its containers get
 * (unpacked into /opt, in the order given, as AWS does).
 *
 * A layer version's package is checked and converted like function code
 * (code.c) with its files under opt/. Deleting a layer version removes it
 * from the API but keeps its package for functions that use it, as AWS
 * does; packages go with the emulator's data folder.
 */
#include "common/error.h"
#include "emulator/lambda/lambda_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOT_FOUND "The resource you requested does not exist."

static int layer_name_valid(const char *n) {
  size_t len = strlen(n);
  if (len == 0 || len > 64)
    return 0;
  for (; *n; n++)
    if (!isalnum((unsigned char)*n) && *n != '-' && *n != '_')
      return 0;
  return 1;
}

static void layer_arn(char *out, size_t n, aws_call *call, const char *name, long long version) {
  if (version > 0)
    snprintf(out, n, "arn:aws:lambda:%s:%s:layer:%s:%lld", aws_call_region(call),
             aws_call_account(call), name, version);
  else
    snprintf(out, n, "arn:aws:lambda:%s:%s:layer:%s", aws_call_region(call), aws_call_account(call),
             name);
}

/* A version as the API shows it (without the package's private members). */
static json_t *version_public(const json_t *v, int with_content) {
  json_t *out = json_deep_copy(v);
  json_object_del(out, "Code");
  if (!with_content) {
    json_object_del(out, "Content");
    json_object_del(out, "LayerArn");
  }
  return out;
}

/* A list as AWS prints it in messages: "[a, b]". */
static void list_text(char *out, size_t n, const json_t *list) {
  snprintf(out, n, "[");
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    strncat(out, i ? ", " : "", n - strlen(out) - 1);
    strncat(out, json_string_value(v) ? json_string_value(v) : "null", n - strlen(out) - 1);
  }
  strncat(out, "]", n - strlen(out) - 1);
}

static int arch_valid(const char *a) {
  return a && (strcmp(a, "x86_64") == 0 || strcmp(a, "arm64") == 0);
}

/* CompatibleRuntimes and CompatibleArchitectures against the model's enums,
 * every violation in one ValidationException as AWS reports them. */
static int check_compatible(aws_call *call, const json_t *input) {
  const json_t *runtimes = json_object_get(input, "CompatibleRuntimes");
  const json_t *archs = json_object_get(input, "CompatibleArchitectures");
  int bad_runtime = 0, bad_arch = 0;
  size_t i;
  json_t *v;
  json_array_foreach(runtimes, i, v) bad_runtime |= !lambda_runtime_known(json_string_value(v), 0);
  json_array_foreach(archs, i, v) bad_arch |= !arch_valid(json_string_value(v));
  if (!bad_runtime && !bad_arch)
    return 0;
  char set[1024], rl[512], al[256], msg[2400] = "";
  lambda_runtime_set(set, sizeof(set), 0);
  list_text(rl, sizeof(rl), runtimes);
  list_text(al, sizeof(al), archs);
  if (bad_runtime)
    snprintf(msg, sizeof(msg),
             "Value '%s' at 'compatibleRuntimes' failed to satisfy constraint: Member must "
             "satisfy enum value set: %s",
             rl, set);
  if (bad_arch)
    snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
             "%sValue '%s' at 'compatibleArchitectures' failed to satisfy constraint: Member must "
             "satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]",
             bad_runtime ? "; " : "", al);
  aws_call_fail(call, 400, "ValidationException", "%d validation error%s detected: %s",
                bad_runtime + bad_arch, bad_runtime + bad_arch > 1 ? "s" : "", msg);
  return -1;
}

/* The filters of ListLayers and ListLayerVersions. */
static int check_filters(aws_call *call, const char *runtime, const char *arch) {
  if (runtime && !lambda_runtime_known(runtime, 1)) {
    char set[2048];
    lambda_runtime_set(set, sizeof(set), 1);
    char why[2200];
    snprintf(why, sizeof(why), "Member must satisfy enum value set: %s", set);
    lambda_fail_validation(call, runtime, "compatibleRuntime", why);
    return -1;
  }
  if (arch && !arch_valid(arch)) {
    lambda_fail_validation(call, arch, "compatibleArchitecture",
                           "Member must satisfy enum value set: [x86_64, arm64]");
    return -1;
  }
  return 0;
}

static int check_version_number(aws_call *call, json_t *input) {
  if (json_integer_value(json_object_get(input, "VersionNumber")) >= 1)
    return 0;
  aws_call_fail(call, 400, "InvalidParameterValueException", "Layer Version Cannot be less than 1");
  return -1;
}

void lambda_publish_layer_version(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *name = json_string_value(json_object_get(input, "LayerName"));
  if (check_compatible(call, input) < 0)
    return;
  if (!name || !layer_name_valid(name)) {
    lambda_fail_validation(call, name ? name : "", "layerName",
                           "Member must satisfy regular expression pattern: "
                           "(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)"
                           "|[a-zA-Z0-9-_]+");
    return;
  }
  const json_t *content = json_object_get(input, "Content");
  json_t *fake = json_object();
  static const char *const SOURCES[] = {"ZipFile", "S3Bucket", "S3Key", "S3ObjectVersion"};
  for (size_t i = 0; i < sizeof(SOURCES) / sizeof(SOURCES[0]); i++) {
    json_t *x = json_object_get(content, SOURCES[i]);
    if (x)
      json_object_set(fake, SOURCES[i], x);
  }
  json_t *code = NULL;
  int bad = lambda_code_from_input(&code, st, call, fake, "Layer");
  json_decref(fake);
  if (bad < 0)
    return;
  char key[256], arn[512], varn[512], ts[64], location[512];
  snprintf(key, sizeof(key), "%s/%s/%s", aws_call_account(call), aws_call_region(call), name);
  lambda_timestamp(ts, sizeof(ts), lambda_now());
  pthread_mutex_lock(&st->lock);
  json_t *layer = json_object_get(st->layers, key);
  if (!layer) {
    layer = json_pack("{s:s, s:{}, s:i}", "Name", name, "Versions", "Next", 1);
    json_object_set_new(st->layers, key, layer);
  }
  long long n = json_integer_value(json_object_get(layer, "Next"));
  json_object_set_new(layer, "Next", json_integer(n + 1));
  layer_arn(arn, sizeof(arn), call, name, 0);
  layer_arn(varn, sizeof(varn), call, name, n);
  const char *dir = json_string_value(json_object_get(code, "Dir"));
  const char *slash = dir ? strrchr(dir, '/') : NULL;
  snprintf(location, sizeof(location), "%s/_aws/lambda/code/%s", aws_call_endpoint(call),
           slash ? slash + 1 : "");
  json_t *v = json_pack("{s:{s:s, s:O, s:O}, s:s, s:s, s:s, s:s, s:I, s:o}", "Content", "Location",
                        location, "CodeSha256", json_object_get(code, "Sha"), "CodeSize",
                        json_object_get(code, "Size"), "LayerArn", arn, "LayerVersionArn", varn,
                        "Description",
                        json_string_value(json_object_get(input, "Description"))
                            ? json_string_value(json_object_get(input, "Description"))
                            : "",
                        "CreatedDate", ts, "Version", (json_int_t)n, "Code", code);
  static const char *const OPTIONAL[] = {"CompatibleRuntimes", "LicenseInfo",
                                         "CompatibleArchitectures"};
  for (size_t i = 0; i < sizeof(OPTIONAL) / sizeof(OPTIONAL[0]); i++) {
    json_t *x = json_object_get(input, OPTIONAL[i]);
    if (x)
      json_object_set(v, OPTIONAL[i], x);
  }
  char vkey[32];
  snprintf(vkey, sizeof(vkey), "%lld", n);
  json_object_set_new(json_object_get(layer, "Versions"), vkey, v);
  json_t *out = version_public(v, 1);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

/* The version of layer name (under the lock), or NULL. */
static json_t *find(lambda_state *st, const char *account, const char *region, const char *name,
                    long long version) {
  char key[256], vkey[32];
  snprintf(key, sizeof(key), "%s/%s/%s", account, region, name);
  snprintf(vkey, sizeof(vkey), "%lld", version);
  return json_object_get(json_object_get(json_object_get(st->layers, key), "Versions"), vkey);
}

/* Splits "arn:aws:lambda:<region>:<account>:layer:<name>:<version>". */
static int parse_version_arn(const char *arn, char *region, char *account, char *name,
                             long long *version) {
  char buf[512];
  if (!arn || strlen(arn) >= sizeof(buf))
    return -1;
  snprintf(buf, sizeof(buf), "%s", arn);
  char *parts[8];
  size_t count = 0;
  char *p = buf;
  while (count < 8) {
    parts[count++] = p;
    char *c = strchr(p, ':');
    if (!c)
      break;
    *c = '\0';
    p = c + 1;
  }
  if (count != 8 || strcmp(parts[0], "arn") != 0 || strcmp(parts[2], "lambda") != 0 ||
      strcmp(parts[5], "layer") != 0 || strlen(parts[3]) >= 64 || strlen(parts[4]) != 12 ||
      !layer_name_valid(parts[6]) || !*parts[7] ||
      strspn(parts[7], "0123456789") != strlen(parts[7]) || strlen(parts[7]) > 12)
    return -1;
  strcpy(region, parts[3]);
  strcpy(account, parts[4]);
  strcpy(name, parts[6]);
  *version = atoll(parts[7]);
  return 0;
}

static void reply_version(aws_call *call, const char *account, const char *region, const char *name,
                          long long version) {
  lambda_state *st = lambda_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *v = find(st, account, region, name, version);
  json_t *out = v ? version_public(v, 1) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (out)
    aws_call_reply(call, out);
  else
    aws_call_fail(call, 404, "ResourceNotFoundException", NOT_FOUND);
}

void lambda_get_layer_version(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "LayerName"));
  if (check_version_number(call, input) < 0)
    return;
  reply_version(call, aws_call_account(call), aws_call_region(call), name ? name : "",
                json_integer_value(json_object_get(input, "VersionNumber")));
}

void lambda_get_layer_version_by_arn(aws_call *call, json_t *input) {
  const char *arn = json_string_value(json_object_get(input, "Arn"));
  char region[64], account[16], name[80];
  long long version = 0;
  if (parse_version_arn(arn, region, account, name, &version) < 0) {
    lambda_fail_validation(call, arn ? arn : "", "arn",
                           "Member must satisfy regular expression pattern: "
                           "arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-"
                           "\\d{1}:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+");
    return;
  }
  reply_version(call, account, region, name, version);
}

void lambda_delete_layer_version(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *name = json_string_value(json_object_get(input, "LayerName"));
  if (check_version_number(call, input) < 0)
    return;
  char key[256], vkey[32];
  snprintf(key, sizeof(key), "%s/%s/%s", aws_call_account(call), aws_call_region(call),
           name ? name : "");
  snprintf(vkey, sizeof(vkey), "%lld",
           (long long)json_integer_value(json_object_get(input, "VersionNumber")));
  pthread_mutex_lock(&st->lock);
  json_object_del(json_object_get(json_object_get(st->layers, key), "Versions"), vkey);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

static int compatible(const json_t *v, const char *runtime, const char *arch) {
  if (runtime) {
    int found = 0;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(v, "CompatibleRuntimes"), i, r) {
      found = found || strcmp(json_string_value(r) ? json_string_value(r) : "", runtime) == 0;
    }
    if (!found)
      return 0;
  }
  if (arch) {
    int found = 0;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(v, "CompatibleArchitectures"), i, a) {
      found = found || strcmp(json_string_value(a) ? json_string_value(a) : "", arch) == 0;
    }
    if (!found)
      return 0;
  }
  return 1;
}

static int by_version_desc(const void *a, const void *b) {
  long long x = json_integer_value(json_object_get(*(json_t *const *)a, "Version"));
  long long y = json_integer_value(json_object_get(*(json_t *const *)b, "Version"));
  return x < y ? 1 : x > y ? -1 : 0;
}

void lambda_list_layer_versions(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *name = json_string_value(json_object_get(input, "LayerName"));
  const char *runtime = json_string_value(json_object_get(input, "CompatibleRuntime"));
  const char *arch = json_string_value(json_object_get(input, "CompatibleArchitecture"));
  json_int_t max = json_object_get(input, "MaxItems")
                       ? json_integer_value(json_object_get(input, "MaxItems"))
                       : 50;
  const char *marker = json_string_value(json_object_get(input, "Marker"));
  if (check_filters(call, runtime, arch) < 0)
    return;
  char key[256];
  snprintf(key, sizeof(key), "%s/%s/%s", aws_call_account(call), aws_call_region(call),
           name ? name : "");
  pthread_mutex_lock(&st->lock);
  json_t *versions = json_object_get(json_object_get(st->layers, key), "Versions");
  size_t n = json_object_size(versions), i = 0;
  json_t **items = calloc(n + 1, sizeof(*items));
  const char *k;
  json_t *v;
  json_object_foreach(versions, k, v) {
    if (items && compatible(v, runtime, arch))
      items[i++] = v;
  }
  n = i;
  if (items)
    qsort(items, n, sizeof(*items), by_version_desc);
  json_t *list = json_array(), *out = json_object();
  json_int_t count = 0;
  int started = !marker;
  for (i = 0; items && i < n; i++) {
    char vkey[32];
    snprintf(vkey, sizeof(vkey), "%lld",
             (long long)json_integer_value(json_object_get(items[i], "Version")));
    if (!started && strcmp(vkey, marker) == 0)
      started = 1;
    if (!started)
      continue;
    if (count == max) {
      json_object_set_new(out, "NextMarker", json_string(vkey));
      break;
    }
    json_array_append_new(list, version_public(items[i], 0));
    count++;
  }
  pthread_mutex_unlock(&st->lock);
  free(items);
  json_object_set_new(out, "LayerVersions", list);
  aws_call_reply(call, out);
}

void lambda_list_layers(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *runtime = json_string_value(json_object_get(input, "CompatibleRuntime"));
  const char *arch = json_string_value(json_object_get(input, "CompatibleArchitecture"));
  if (check_filters(call, runtime, arch) < 0)
    return;
  char prefix[64];
  snprintf(prefix, sizeof(prefix), "%s/%s/", aws_call_account(call), aws_call_region(call));
  json_t *list = json_array();
  pthread_mutex_lock(&st->lock);
  const char *k;
  json_t *layer;
  json_object_foreach(st->layers, k, layer) {
    if (strncmp(k, prefix, strlen(prefix)) != 0)
      continue;
    json_t *best = NULL;
    const char *vk;
    json_t *v;
    json_object_foreach(json_object_get(layer, "Versions"), vk, v) {
      if (compatible(v, runtime, arch) &&
          (!best || json_integer_value(json_object_get(v, "Version")) >
                        json_integer_value(json_object_get(best, "Version"))))
        best = v;
    }
    if (best)
      json_array_append_new(list, json_pack("{s:O, s:O, s:o}", "LayerName",
                                            json_object_get(layer, "Name"), "LayerArn",
                                            json_object_get(best, "LayerArn"),
                                            "LatestMatchingVersion", version_public(best, 0)));
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "Layers", list));
}

int lambda_layers_resolve(json_t **out, json_t **packages, lambda_state *st, aws_call *call,
                          const json_t *arns) {
  /* The model's pattern for each entry first (a version ARN), then Lambda's
   * own rules: at most 5, in the function's Region, one version a layer. */
  size_t i, j;
  json_t *a, *b;
  json_array_foreach((json_t *)arns, i, a) {
    char region[64], account[16], name[80];
    long long version = 0;
    const char *arn = json_string_value(a);
    if (!arn || strlen(arn) > 140 || parse_version_arn(arn, region, account, name, &version) < 0) {
      char list[1024], why[600];
      list_text(list, sizeof(list), arns);
      snprintf(why, sizeof(why),
               "Member must satisfy constraint: [Member must have length less than or equal to "
               "140, Member must have length greater than or equal to 1, Member must satisfy "
               "regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:"
               "layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)"
               ", Member must not be null]");
      lambda_fail_validation(call, list, "layers", why);
      return -1;
    }
  }
  if (json_array_size(arns) > 5) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Cannot reference more than 5 layers.");
    return -1;
  }
  json_array_foreach((json_t *)arns, i, a) {
    char region[64], account[16], name[80];
    long long version = 0;
    parse_version_arn(json_string_value(a), region, account, name, &version);
    if (strcmp(region, aws_call_region(call)) != 0) {
      aws_call_fail(call, 400, "InvalidParameterValueException",
                    "Layers are not in the same region as the function. Layers are expected to "
                    "be in region %s.",
                    aws_call_region(call));
      return -1;
    }
    for (j = i + 1; j < json_array_size(arns); j++) {
      char r2[64], a2[16], n2[80];
      long long v2 = 0;
      b = json_array_get(arns, j);
      parse_version_arn(json_string_value(b), r2, a2, n2, &v2);
      if (strcmp(name, n2) == 0 && strcmp(account, a2) == 0) {
        aws_call_fail(call, 400, "InvalidParameterValueException",
                      "Two different versions of the same layer are not allowed to be referenced "
                      "in the same function. %s and %s are versions of the same layer.",
                      json_string_value(a), json_string_value(b));
        return -1;
      }
    }
  }
  json_t *config = json_array(), *codes = json_array();
  json_array_foreach((json_t *)arns, i, a) {
    char region[64], account[16], name[80];
    long long version = 0;
    const char *arn = json_string_value(a);
    json_t *v = NULL;
    if (parse_version_arn(arn, region, account, name, &version) == 0)
      v = find(st, account, region, name, version);
    if (!v) {
      json_decref(config);
      json_decref(codes);
      aws_call_fail(call, 400, "InvalidParameterValueException", "Layer version %s does not exist.",
                    arn ? arn : "");
      return -1;
    }
    json_array_append_new(config,
                          json_pack("{s:s, s:O}", "Arn", arn, "CodeSize",
                                    json_object_get(json_object_get(v, "Content"), "CodeSize")));
    json_array_append(codes, json_object_get(v, "Code"));
  }
  *out = config;
  *packages = codes;
  return 0;
}
