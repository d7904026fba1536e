/*
 * sm_secrets.c — secrets as resources: CreateSecret, DescribeSecret,
 * UpdateSecret, DeleteSecret (recovery window 7..30 days or forced),
 * RestoreSecret, ListSecrets (filters, sort, pagination), tags and resource
 * policies (stored exactly; access is not enforced, as in LocalStack).
 *
 * A secret scheduled for deletion can still be described, listed with its
 * deletion date, restored or force-deleted; anything else answers
 * InvalidRequestException, and it disappears when its date passes.
 */
#include "common/jsonutil.h"
#include "emulator/kms/kms.h"
#include "emulator/secretsmanager/sm_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#define SM_MAX_TAGS 50

static int name_ok(aws_call *call, const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n < 1 || n > 512 ||
      strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+=.@-") != n) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "Invalid name. Must be a valid name containing alphanumeric characters, or any "
                  "of the following: -/_+=.@!");
    return 0;
  }
  return 1;
}

/* A KmsKeyId must name an enabled symmetric key of this account/Region. */
static int kms_key_ok(sm_state *st, aws_call *call, const char *key_id) {
  if (!key_id || !kms_available(st->emu))
    return 1;
  const char *code = NULL;
  if (kms_key_check(NULL, st->emu, aws_call_account(call), aws_call_region(call), key_id, &code) ==
      0)
    return 1;
  aws_call_fail(call, 400, "EncryptionFailure",
                "Secrets Manager can't encrypt the protected secret text using the provided KMS "
                "key %.256s (KMS answers %s). Check that the KMS key is available, enabled, and "
                "not in an invalid state.",
                key_id, code ? code : "an error");
  return 0;
}

/* Tags [{Key, Value}]: keys 1..128, values 0..256, no "aws:" keys, at most
 * SM_MAX_TAGS in all after merging into existing. */
static int tags_ok(aws_call *call, json_t *tags, json_t *existing) {
  size_t i, count = json_array_size(existing);
  json_t *t;
  json_array_foreach(tags, i, t) {
    const char *k = jsonutil_string(t, "Key");
    const char *v = jsonutil_string(t, "Value");
    if (!k || !*k || strlen(k) > 128 || (v && strlen(v) > 256) || strncmp(k, "aws:", 4) == 0) {
      aws_call_fail(call, 400, "InvalidParameterException",
                    "Tag keys must be 1 to 128 characters and not begin with aws:, values at "
                    "most 256 characters.");
      return 0;
    }
    count++;
  }
  if (count > SM_MAX_TAGS) {
    aws_call_fail(call, 400, "InvalidParameterException", "A secret can have at most %d tags.",
                  SM_MAX_TAGS);
    return 0;
  }
  return 1;
}

static void merge_tags(json_t *secret, json_t *tags) {
  json_t *have = json_object_get(secret, "Tags");
  size_t i, j;
  json_t *t, *h;
  json_array_foreach(tags, i, t) {
    int replaced = 0;
    json_array_foreach(have, j, h) {
      if (json_equal(json_object_get(h, "Key"), json_object_get(t, "Key"))) {
        json_object_set(h, "Value", json_object_get(t, "Value"));
        replaced = 1;
      }
    }
    if (!replaced)
      json_array_append_new(have, json_deep_copy(t));
  }
}

int sm_policy_arg(aws_call *call, const char *policy) {
  json_t *doc = policy && strlen(policy) <= 20480 ? json_loads(policy, 0, NULL) : NULL;
  int ok = json_is_object(doc);
  json_decref(doc);
  if (!ok)
    aws_call_fail(call, 400, "MalformedPolicyDocumentException",
                  "The resource policy is not a valid JSON policy document (at most 20480 "
                  "characters).");
  return ok ? 0 : -1;
}

void sm_create_secret(aws_call *call, json_t *input) {
  const char *name = jsonutil_string(input, "Name");
  const char *token = jsonutil_string(input, "ClientRequestToken");
  const char *key_id = jsonutil_string(input, "KmsKeyId");
  const char *desc = jsonutil_string(input, "Description");
  json_t *tags = json_object_get(input, "Tags");
  int has;
  sm_state *st = sm_state_of(call);
  if (!name_ok(call, name) || (has = sm_value_arg(call, input)) < 0 ||
      sm_token_arg(call, token) < 0 || !tags_ok(call, tags, NULL))
    return;
  if (desc && strlen(desc) > 2048) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "Description must be at most 2048 characters.");
    return;
  }
  if (!kms_key_ok(st, call, key_id))
    return;
  const char *account = aws_call_account(call), *region = aws_call_region(call);
  char slot[700], vid[65];
  sm_slot(slot, sizeof(slot), account, region, name);
  pthread_mutex_lock(&st->lock);
  json_t *secret = json_object_get(st->secrets, slot);
  if (secret) {
    json_t *same = token ? json_object_get(json_object_get(secret, "Versions"), token) : NULL;
    if (json_object_get(secret, "DeletedDate")) {
      aws_call_fail(call, 400, "InvalidRequestException",
                    "You can't create this secret because a secret with this name is already "
                    "scheduled for deletion.");
    } else if (same && has && sm_version_add(vid, st, call, secret, input, token, NULL) == 0) {
      /* A retry of the same request (same token and value) answers the same. */
      aws_call_reply(call, json_pack("{s:O, s:O, s:s}", "ARN", json_object_get(secret, "ARN"),
                                     "Name", json_object_get(secret, "Name"), "VersionId", vid));
    } else if (!same || !has) {
      aws_call_fail(call, 400, "ResourceExistsException",
                    "The operation failed because the secret %s already exists.", name);
    }
    pthread_mutex_unlock(&st->lock);
    return;
  }
  static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char r[6];
  char suffix[7], arn[800];
  RAND_bytes(r, sizeof(r));
  for (size_t i = 0; i < 6; i++)
    suffix[i] = alnum[r[i] % 62];
  suffix[6] = '\0';
  snprintf(arn, sizeof(arn), "arn:aws:secretsmanager:%s:%s:secret:%s-%s", region, account, name,
           suffix);
  double now = sm_now();
  secret = json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:[], s:{}, s:[]}", "Name", name, "ARN", arn,
                     "Account", account, "Region", region, "CreatedDate", now, "LastChangedDate",
                     now, "Tags", "Versions", "Order");
  if (desc)
    json_object_set_new(secret, "Description", json_string(desc));
  if (key_id)
    json_object_set_new(secret, "KmsKeyId", json_string(key_id));
  merge_tags(secret, tags);
  json_t *out = json_pack("{s:s, s:s}", "ARN", arn, "Name", name);
  if (has) {
    if (sm_version_add(vid, st, call, secret, input, token, NULL) < 0) {
      pthread_mutex_unlock(&st->lock);
      json_decref(secret);
      json_decref(out);
      return;
    }
    json_object_set_new(out, "VersionId", json_string(vid));
  }
  json_object_set_new(st->secrets, slot, secret);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

/* The members DescribeSecret and ListSecrets share. */
static json_t *describe(json_t *secret, const char *stages_member) {
  json_t *out = json_object();
  const char *copy[] = {"ARN",
                        "Name",
                        "Description",
                        "KmsKeyId",
                        "RotationEnabled",
                        "RotationLambdaARN",
                        "RotationRules",
                        "LastRotatedDate",
                        "LastChangedDate",
                        "LastAccessedDate",
                        "DeletedDate",
                        "CreatedDate"};
  for (size_t i = 0; i < sizeof(copy) / sizeof(copy[0]); i++)
    if (json_object_get(secret, copy[i]))
      json_object_set(out, copy[i], json_object_get(secret, copy[i]));
  if (json_array_size(json_object_get(secret, "Tags")))
    json_object_set(out, "Tags", json_object_get(secret, "Tags"));
  json_object_set_new(out, stages_member, sm_version_stages(secret));
  return out;
}

void sm_describe_secret(aws_call *call, json_t *input) {
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 0);
  if (!secret)
    return;
  json_t *out = describe(secret, "VersionIdsToStages");
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void sm_update_secret(aws_call *call, json_t *input) {
  const char *token = jsonutil_string(input, "ClientRequestToken");
  const char *key_id = jsonutil_string(input, "KmsKeyId");
  const char *desc = jsonutil_string(input, "Description");
  sm_state *st = sm_state_of(call);
  int has = sm_value_arg(call, input);
  if (has < 0 || sm_token_arg(call, token) < 0 || !kms_key_ok(st, call, key_id))
    return;
  if (desc && strlen(desc) > 2048) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "Description must be at most 2048 characters.");
    return;
  }
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  /* The new key encrypts the new value (and later ones). */
  json_t *old_key = json_incref(json_object_get(secret, "KmsKeyId"));
  if (key_id)
    json_object_set_new(secret, "KmsKeyId", json_string(key_id));
  char vid[65];
  if (has && sm_version_add(vid, st, call, secret, input, token, NULL) < 0) {
    if (old_key)
      json_object_set(secret, "KmsKeyId", old_key);
    else
      json_object_del(secret, "KmsKeyId");
  } else {
    if (desc)
      json_object_set_new(secret, "Description", json_string(desc));
    json_object_set_new(secret, "LastChangedDate", json_real(sm_now()));
    json_t *out = json_pack("{s:O, s:O}", "ARN", json_object_get(secret, "ARN"), "Name",
                            json_object_get(secret, "Name"));
    if (has)
      json_object_set_new(out, "VersionId", json_string(vid));
    aws_call_reply(call, out);
  }
  json_decref(old_key);
  pthread_mutex_unlock(&st->lock);
}

void sm_delete_secret(aws_call *call, json_t *input) {
  json_t *window = json_object_get(input, "RecoveryWindowInDays");
  int force = json_is_true(json_object_get(input, "ForceDeleteWithoutRecovery"));
  json_int_t days = window ? json_integer_value(window) : 30;
  if (window && force) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "You can't use ForceDeleteWithoutRecovery in conjunction with "
                  "RecoveryWindowInDays.");
    return;
  }
  if (days < 7 || days > 30) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
    return;
  }
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 0);
  if (!secret)
    return;
  double when = force ? sm_now() : sm_now() + (double)days * 86400.0;
  json_t *out = json_pack("{s:O, s:O, s:f}", "ARN", json_object_get(secret, "ARN"), "Name",
                          json_object_get(secret, "Name"), "DeletionDate", when);
  if (!force && json_object_get(secret, "DeletedDate")) {
    json_decref(out);
    aws_call_fail(call, 400, "InvalidRequestException",
                  "You can't perform this operation on the secret because it was already "
                  "scheduled for deletion.");
  } else if (force) {
    char slot[700];
    sm_slot(slot, sizeof(slot), jsonutil_string(secret, "Account"),
            jsonutil_string(secret, "Region"), jsonutil_string(secret, "Name"));
    json_object_del(st->secrets, slot);
    aws_call_reply(call, out);
  } else {
    json_object_set_new(secret, "DeletedDate", json_real(when));
    aws_call_reply(call, out);
  }
  pthread_mutex_unlock(&st->lock);
}

void sm_restore_secret(aws_call *call, json_t *input) {
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 0);
  if (!secret)
    return;
  json_object_del(secret, "DeletedDate");
  aws_call_reply(call, json_pack("{s:O, s:O}", "ARN", json_object_get(secret, "ARN"), "Name",
                                 json_object_get(secret, "Name")));
  pthread_mutex_unlock(&st->lock);
}

/* ---- ListSecrets ---- */

static int prefix_of(const char *s, const char *prefix, int nocase) {
  size_t n = strlen(prefix);
  return s && (nocase ? strncasecmp(s, prefix, n) : strncmp(s, prefix, n)) == 0;
}

/* Whether secret matches one filter value (without its "!"). */
static int value_matches(json_t *secret, const char *key, const char *value) {
  int all = strcmp(key, "all") == 0;
  if ((all || !strcmp(key, "name")) && prefix_of(jsonutil_string(secret, "Name"), value, all))
    return 1;
  if ((all || !strcmp(key, "description")) &&
      prefix_of(jsonutil_string(secret, "Description"), value, 1))
    return 1;
  if ((all || !strcmp(key, "primary-region")) &&
      prefix_of(jsonutil_string(secret, "Region"), value, all))
    return 1;
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(secret, "Tags"), i, t) {
    if ((all || !strcmp(key, "tag-key")) && prefix_of(jsonutil_string(t, "Key"), value, all))
      return 1;
    if ((all || !strcmp(key, "tag-value")) && prefix_of(jsonutil_string(t, "Value"), value, all))
      return 1;
  }
  return 0;
}

/* Filters AND together; the values of one filter OR together; "!" negates. */
int sm_filters_match(json_t *secret, json_t *filters) {
  size_t i, j;
  json_t *f, *v;
  json_array_foreach(filters, i, f) {
    const char *key = jsonutil_string(f, "Key");
    int any = 0;
    json_array_foreach(json_object_get(f, "Values"), j, v) {
      const char *value = json_string_value(v);
      int neg = value[0] == '!';
      if (value_matches(secret, key, value + neg) != neg)
        any = 1;
    }
    if (!any)
      return 0;
  }
  return 1;
}

int sm_filters_arg(aws_call *call, json_t *filters) {
  static const char *const keys[] = {"description", "name",           "tag-key",
                                     "tag-value",   "primary-region", "all"};
  size_t i, j;
  json_t *f, *v;
  json_array_foreach(filters, i, f) {
    const char *key = jsonutil_string(f, "Key");
    int known = 0;
    for (size_t k = 0; key && k < sizeof(keys) / sizeof(keys[0]); k++)
      known |= strcmp(key, keys[k]) == 0;
    json_t *values = json_object_get(f, "Values");
    if (!known || json_array_size(values) < 1 || json_array_size(values) > 10) {
      aws_call_fail(call, 400, "InvalidParameterException",
                    "Invalid filter: Key must be one of description, name, tag-key, tag-value, "
                    "primary-region, all, with 1 to 10 Values.");
      return 0;
    }
    json_array_foreach(values, j, v) {
      size_t n = strlen(json_string_value(v) ? json_string_value(v) : "");
      if (n < 1 || n > 512) {
        aws_call_fail(call, 400, "InvalidParameterException",
                      "Filter values must be 1 to 512 characters.");
        return 0;
      }
    }
  }
  return 1;
}

typedef struct {
  json_t *secret;
  double created;
  size_t order; /* position in the store's insertion order */
} created_entry;

static int by_created(const void *a, const void *b) {
  const created_entry *x = a, *y = b;
  if (x->created != y->created)
    return x->created < y->created ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

int sm_sort_by_created(json_t **secrets, size_t n) {
  created_entry *entries = calloc(n + 1, sizeof(*entries));
  if (!entries)
    return -1;
  for (size_t i = 0; i < n; i++)
    entries[i] = (created_entry){secrets[i],
                                 json_number_value(json_object_get(secrets[i], "CreatedDate")), i};
  qsort(entries, n, sizeof(*entries), by_created);
  for (size_t i = 0; i < n; i++)
    secrets[i] = entries[i].secret;
  free(entries);
  return 0;
}

void sm_list_secrets(aws_call *call, json_t *input) {
  size_t limit, offset;
  json_t *filters = json_object_get(input, "Filters");
  const char *order = jsonutil_string(input, "SortOrder");
  if (sm_page_args(call, input, &limit, &offset) < 0 || !sm_filters_arg(call, filters))
    return;
  if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
    aws_call_fail(call, 400, "InvalidParameterException", "SortOrder must be asc or desc.");
    return;
  }
  sm_state *st = sm_state_of(call);
  char prefix[128];
  int plen =
      snprintf(prefix, sizeof(prefix), "%s/%s/", aws_call_account(call), aws_call_region(call));
  pthread_mutex_lock(&st->lock);
  size_t n = 0, cap = json_object_size(st->secrets) + 1;
  json_t **found = calloc(cap, sizeof(*found));
  const char *slot;
  json_t *secret;
  json_object_foreach(st->secrets, slot, secret) {
    /* Secrets scheduled for deletion are not listed (this model has no
     * IncludePlannedDeletion). */
    if (!found || strncmp(slot, prefix, (size_t)plen) != 0 ||
        json_object_get(secret, "DeletedDate") || !sm_filters_match(secret, filters))
      continue;
    json_t *e = describe(secret, "SecretVersionsToStages");
    json_object_set(e, "CreatedDate", json_object_get(secret, "CreatedDate"));
    found[n++] = e;
  }
  pthread_mutex_unlock(&st->lock);
  if (!found || sm_sort_by_created(found, n) < 0) {
    for (size_t i = 0; found && i < n; i++)
      json_decref(found[i]);
    free(found);
    aws_call_fail(call, 500, "InternalServiceError", "out of memory");
    return;
  }
  int desc = order && strcmp(order, "desc") == 0;
  json_t *list = json_array(), *out = json_object();
  for (size_t i = 0; i < n; i++) {
    size_t k = desc ? n - 1 - i : i;
    if (i >= offset && i < offset + limit)
      json_array_append(list, found[k]);
    json_decref(found[k]);
  }
  free(found);
  json_object_set_new(out, "SecretList", list);
  if (offset + limit < n) {
    char token[32];
    snprintf(token, sizeof(token), "%zu", offset + limit);
    json_object_set_new(out, "NextToken", json_string(token));
  }
  aws_call_reply(call, out);
}

/* ---- tags and resource policies ---- */

void sm_tag_resource(aws_call *call, json_t *input) {
  sm_state *st = sm_state_of(call);
  json_t *tags = json_object_get(input, "Tags");
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  json_t *merged = json_deep_copy(secret);
  merge_tags(merged, tags);
  if (tags_ok(call, json_object_get(merged, "Tags"), NULL)) {
    json_object_set(secret, "Tags", json_object_get(merged, "Tags"));
    aws_call_reply(call, NULL);
  }
  json_decref(merged);
  pthread_mutex_unlock(&st->lock);
}

void sm_untag_resource(aws_call *call, json_t *input) {
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  json_t *have = json_object_get(secret, "Tags");
  size_t i;
  json_t *k;
  json_array_foreach(json_object_get(input, "TagKeys"), i, k) {
    for (size_t j = 0; j < json_array_size(have); j++)
      if (json_equal(json_object_get(json_array_get(have, j), "Key"), k))
        json_array_remove(have, j--);
  }
  aws_call_reply(call, NULL);
  pthread_mutex_unlock(&st->lock);
}

/* A statement that allows everyone ("Principal": "*" or {"AWS": "*"}). */
static int is_public(const char *policy) {
  json_t *doc = json_loads(policy, 0, NULL), *stmts = json_object_get(doc, "Statement");
  int pub = 0;
  if (json_is_object(stmts))
    stmts = json_pack("[O]", stmts);
  else
    json_incref(stmts);
  size_t i;
  json_t *s;
  json_array_foreach(stmts, i, s) {
    json_t *p = json_object_get(s, "Principal");
    const char *aws = json_is_object(p) ? jsonutil_string(p, "AWS") : json_string_value(p);
    if (strcmp(jsonutil_string(s, "Effect") ? jsonutil_string(s, "Effect") : "", "Allow") == 0 &&
        aws && strcmp(aws, "*") == 0)
      pub = 1;
  }
  json_decref(stmts);
  json_decref(doc);
  return pub;
}

void sm_put_resource_policy(aws_call *call, json_t *input) {
  const char *policy = jsonutil_string(input, "ResourcePolicy");
  if (sm_policy_arg(call, policy) < 0)
    return;
  if (json_is_true(json_object_get(input, "BlockPublicPolicy")) && is_public(policy)) {
    aws_call_fail(call, 400, "PublicPolicyException",
                  "The BlockPublicPolicy parameter is set to true, and the resource policy did "
                  "not prevent broad access to the secret.");
    return;
  }
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  json_object_set_new(secret, "ResourcePolicy", json_string(policy));
  aws_call_reply(call, json_pack("{s:O, s:O}", "ARN", json_object_get(secret, "ARN"), "Name",
                                 json_object_get(secret, "Name")));
  pthread_mutex_unlock(&st->lock);
}

void sm_get_resource_policy(aws_call *call, json_t *input) {
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  json_t *out = json_pack("{s:O, s:O}", "ARN", json_object_get(secret, "ARN"), "Name",
                          json_object_get(secret, "Name"));
  if (json_object_get(secret, "ResourcePolicy"))
    json_object_set(out, "ResourcePolicy", json_object_get(secret, "ResourcePolicy"));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void sm_delete_resource_policy(aws_call *call, json_t *input) {
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  json_object_del(secret, "ResourcePolicy");
  aws_call_reply(call, json_pack("{s:O, s:O}", "ARN", json_object_get(secret, "ARN"), "Name",
                                 json_object_get(secret, "Name")));
  pthread_mutex_unlock(&st->lock);
}

void sm_validate_resource_policy(aws_call *call, json_t *input) {
  if (sm_policy_arg(call, jsonutil_string(input, "ResourcePolicy")) < 0)
    return;
  if (json_object_get(input, "SecretId")) {
    sm_state *st = sm_state_of(call);
    json_t *secret = sm_lock_secret(st, call, input, 0);
    if (!secret)
      return;
    pthread_mutex_unlock(&st->lock);
  }
  aws_call_reply(call, json_pack("{s:b, s:[]}", "PolicyValidationPassed", 1, "ValidationErrors"));
}
