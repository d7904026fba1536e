/*
 * ssm_labels.c — labels (LabelParameterVersion, UnlabelParameterVersion),
 * deletion (DeleteParameter, DeleteParameters) and tags of parameters
 * (AddTagsToResource, ListTagsForResource, RemoveTagsFromResource with
 * ResourceType Parameter; the other SSM resource types are not served).
 *
 * A label names one version of a parameter at a time: labelling another
 * version moves it. Labels that break the naming rules are answered in
 * InvalidLabels rather than as an error, as AWS does.
 */
#include "common/jsonutil.h"
#include "emulator/ssm/ssm_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SSM_MAX_LABELS 10
#define SSM_MAX_TAGS 50

static int label_ok(const char *l) {
  size_t n = l ? strlen(l) : 0;
  return n >= 1 && n <= 100 && !isdigit((unsigned char)l[0]) && strncasecmp(l, "aws", 3) != 0 &&
         strncasecmp(l, "ssm", 3) != 0 &&
         strspn(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int has_label(json_t *version, const char *label) {
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(version, "Labels"), i, l) {
    if (strcmp(json_string_value(l), label) == 0)
      return 1;
  }
  return 0;
}

static void drop_label(json_t *version, const char *label) {
  json_t *labels = json_object_get(version, "Labels");
  for (size_t i = 0; i < json_array_size(labels); i++)
    if (strcmp(json_string_value(json_array_get(labels, i)), label) == 0)
      json_array_remove(labels, i--);
}

/* The parameter named by input's Name under the lock (held on success) and
 * the version ParameterVersion picks (latest when absent); NULL after
 * answering and unlocking. */
static json_t *locked_version(ssm_state *st, aws_call *call, json_t *input, json_t **param_out) {
  const char *name = jsonutil_string(input, "Name");
  json_t *pv = json_object_get(input, "ParameterVersion");
  ssm_ref ref;
  const char *why = NULL;
  pthread_mutex_lock(&st->lock);
  json_t *param = ssm_ref_parse(&ref, name, &why) == 0 ? ssm_find(st, call, ref.name) : NULL;
  if (!param) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ParameterNotFound", "Parameter %.1100s not found.", name);
    return NULL;
  }
  json_t *versions = json_object_get(param, "Versions");
  json_t *version = json_array_get(versions, json_array_size(versions) - 1);
  if (pv) {
    version = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v) {
      if (json_equal(json_object_get(v, "Version"), pv))
        version = v;
    }
  }
  if (!version) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ParameterVersionNotFound",
                  "Systems Manager could not find version %lld of %.1100s. Verify the version "
                  "and try again.",
                  (long long)json_integer_value(pv), name);
    return NULL;
  }
  *param_out = param;
  return version;
}

void ssm_label_parameter_version(aws_call *call, json_t *input) {
  json_t *labels = json_object_get(input, "Labels");
  if (json_array_size(labels) < 1 || json_array_size(labels) > SSM_MAX_LABELS) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value at 'labels' failed to satisfy constraint: "
                  "Member must have length between 1 and 10");
    return;
  }
  ssm_state *st = ssm_state_of(call);
  json_t *param = NULL;
  json_t *version = locked_version(st, call, input, &param);
  if (!version)
    return;
  json_t *invalid = json_array(), *valid = json_array();
  size_t i, added = 0;
  json_t *l;
  json_array_foreach(labels, i, l) {
    const char *s = json_string_value(l);
    if (!label_ok(s))
      json_array_append(invalid, l);
    else if (!has_label(version, s)) {
      json_array_append(valid, l);
      added++;
    }
  }
  if (json_array_size(json_object_get(version, "Labels")) + added > SSM_MAX_LABELS) {
    aws_call_fail(call, 400, "ParameterVersionLabelLimitExceeded",
                  "A parameter version can have a maximum of %d labels. Move one or more labels "
                  "to another version and try again.",
                  SSM_MAX_LABELS);
  } else {
    json_array_foreach(valid, i, l) {
      size_t j;
      json_t *v;
      json_array_foreach(json_object_get(param, "Versions"), j, v)
          drop_label(v, json_string_value(l));
      json_array_append(json_object_get(version, "Labels"), l);
    }
    aws_call_reply(call, json_pack("{s:O, s:O}", "InvalidLabels", invalid, "ParameterVersion",
                                   json_object_get(version, "Version")));
  }
  pthread_mutex_unlock(&st->lock);
  json_decref(invalid);
  json_decref(valid);
}

void ssm_unlabel_parameter_version(aws_call *call, json_t *input) {
  ssm_state *st = ssm_state_of(call);
  json_t *param = NULL;
  json_t *version = locked_version(st, call, input, &param);
  if (!version)
    return;
  json_t *removed = json_array(), *invalid = json_array();
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(input, "Labels"), i, l) {
    if (has_label(version, json_string_value(l))) {
      drop_label(version, json_string_value(l));
      json_array_append(removed, l);
    } else {
      json_array_append(invalid, l);
    }
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o, s:o}", "RemovedLabels", removed, "InvalidLabels", invalid));
}

/* Deletes the parameter given names (under the lock); 0 when it existed. */
static int delete_one(ssm_state *st, aws_call *call, const char *given) {
  ssm_ref ref;
  const char *why = NULL;
  if (!given || ssm_ref_parse(&ref, given, &why) < 0 || *ref.selector ||
      !ssm_find(st, call, ref.name))
    return -1;
  char slot[SSM_MAX_NAME + 128];
  ssm_slot(slot, sizeof(slot), aws_call_account(call), aws_call_region(call), ref.name);
  json_object_del(st->params, slot);
  return 0;
}

void ssm_delete_parameter(aws_call *call, json_t *input) {
  ssm_state *st = ssm_state_of(call);
  const char *name = jsonutil_string(input, "Name");
  pthread_mutex_lock(&st->lock);
  int rc = delete_one(st, call, name);
  pthread_mutex_unlock(&st->lock);
  if (rc < 0)
    aws_call_fail(call, 400, "ParameterNotFound", "Parameter %.1100s not found.", name);
  else
    aws_call_reply(call, NULL);
}

void ssm_delete_parameters(aws_call *call, json_t *input) {
  json_t *names = json_object_get(input, "Names");
  if (json_array_size(names) < 1 || json_array_size(names) > 10) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value at 'names' failed to satisfy constraint: "
                  "Member must have length between 1 and 10");
    return;
  }
  ssm_state *st = ssm_state_of(call);
  json_t *deleted = json_array(), *invalid = json_array();
  size_t i;
  json_t *n;
  pthread_mutex_lock(&st->lock);
  json_array_foreach(names, i, n) {
    json_array_append(delete_one(st, call, json_string_value(n)) == 0 ? deleted : invalid, n);
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(
      call, json_pack("{s:o, s:o}", "DeletedParameters", deleted, "InvalidParameters", invalid));
}

/* The parameter a tagging call names, under the lock (held on success); NULL
 * after answering InvalidResourceType / InvalidResourceId. */
static json_t *tag_target(ssm_state *st, aws_call *call, json_t *input) {
  const char *type = jsonutil_string(input, "ResourceType");
  const char *id = jsonutil_string(input, "ResourceId");
  if (!type || strcmp(type, "Parameter") != 0) {
    aws_call_fail(call, 400, "InvalidResourceType",
                  "The resource type %.64s is not served by this emulator; only Parameter is.",
                  type ? type : "");
    return NULL;
  }
  ssm_ref ref;
  const char *why = NULL;
  pthread_mutex_lock(&st->lock);
  json_t *param = id && ssm_ref_parse(&ref, id, &why) == 0 ? ssm_find(st, call, ref.name) : NULL;
  if (!param) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidResourceId", "The resource ID %.1100s is not valid.",
                  id ? id : "");
  }
  return param;
}

void ssm_add_tags_to_resource(aws_call *call, json_t *input) {
  ssm_state *st = ssm_state_of(call);
  json_t *tags = json_object_get(input, "Tags");
  size_t i, j;
  json_t *t, *h;
  json_array_foreach(tags, i, t) {
    const char *k = jsonutil_string(t, "Key"), *v = jsonutil_string(t, "Value");
    if (!k || !v || !*k || strlen(k) > 128 || strlen(v) > 256 || strncmp(k, "aws:", 4) == 0) {
      aws_call_fail(call, 400, "ValidationException",
                    "Tag keys must be 1 to 128 characters and not begin with aws:, values 0 to "
                    "256 characters.");
      return;
    }
  }
  json_t *param = tag_target(st, call, input);
  if (!param)
    return;
  json_t *merged = json_deep_copy(json_object_get(param, "Tags"));
  json_array_foreach(tags, i, t) {
    int replaced = 0;
    json_array_foreach(merged, j, h) {
      if (json_equal(json_object_get(h, "Key"), json_object_get(t, "Key"))) {
        json_object_set(h, "Value", json_object_get(t, "Value"));
        replaced = 1;
      }
    }
    if (!replaced)
      json_array_append_new(merged, json_deep_copy(t));
  }
  if (json_array_size(merged) > SSM_MAX_TAGS) {
    aws_call_fail(call, 400, "TooManyTagsError",
                  "The Tags parameter contains more than the maximum of %d tags.", SSM_MAX_TAGS);
    json_decref(merged);
  } else {
    json_object_set_new(param, "Tags", merged);
    aws_call_reply(call, NULL);
  }
  pthread_mutex_unlock(&st->lock);
}

void ssm_list_tags_for_resource(aws_call *call, json_t *input) {
  ssm_state *st = ssm_state_of(call);
  json_t *param = tag_target(st, call, input);
  if (!param)
    return;
  json_t *out = json_pack("{s:o}", "TagList", json_deep_copy(json_object_get(param, "Tags")));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void ssm_remove_tags_from_resource(aws_call *call, json_t *input) {
  ssm_state *st = ssm_state_of(call);
  json_t *param = tag_target(st, call, input);
  if (!param)
    return;
  json_t *have = json_object_get(param, "Tags");
  size_t i;
  json_t *k;
  json_array_foreach(json_object_get(input, "TagKeys"), i, k) {
    for (size_t j = 0; j < json_array_size(have); j++)
      if (json_equal(json_object_get(json_array_get(have, j), "Key"), k))
        json_array_remove(have, j--);
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}
