/*
 * kms_aliases.c — KMS aliases: CreateAlias, UpdateAlias, DeleteAlias,
 * ListAliases. An alias names one key of its account and Region; names start
 * with "alias/", and "alias/aws/" is reserved for the AWS-managed keys that
 * services create on first use (kms_store.c makes those).
 */
#include "common/clock.h"
#include "emulator/kms/kms_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Validates an AliasName for create/update/delete; -1 after answering. */
static int alias_name_ok(aws_call *call, const char *name, int creating) {
  size_t len = name ? strlen(name) : 0;
  if (len < 1 || len > 256 ||
      strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:/_-") != len) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '%.256s' at 'aliasName' failed to satisfy "
                  "constraint: Member must satisfy regular expression pattern: "
                  "^[a-zA-Z0-9:/_-]+$",
                  name ? name : "");
    return -1;
  }
  if (strncmp(name, "alias/", 6) != 0 || len == 6) {
    aws_call_fail(call, 400, "ValidationException", "Alias must start with the prefix \"alias/\".");
    return -1;
  }
  if (creating && strncmp(name, "alias/aws/", 10) == 0) {
    /* The API reference lists InvalidAliasNameException for CreateAlias. */
    aws_call_fail(call, 400, "InvalidAliasNameException",
                  "The alias name cannot begin with alias/aws/. The alias/aws/ prefix is reserved "
                  "for AWS managed keys.");
    return -1;
  }
  return 0;
}

/* The key an alias may point to: named by key id or key ARN, not by alias. */
static kms_key *target_key(kms_state *st, aws_call *call, json_t *input) {
  const char *target = json_string_value(json_object_get(input, "TargetKeyId"));
  if (target && (strncmp(target, "alias/", 6) == 0 || strstr(target, ":alias/"))) {
    aws_call_fail(call, 400, "ValidationException", "Aliases must refer to keys. Not aliases");
    return NULL;
  }
  kms_key *key = kms_lock_key(st, call, input, "TargetKeyId");
  if (key && strcmp(kms_key_state(key), "PendingDeletion") == 0) {
    aws_call_fail(call, 400, "KMSInvalidStateException", "%s is pending deletion.",
                  kms_key_arn(key));
    pthread_mutex_unlock(&st->lock);
    return NULL;
  }
  return key;
}

void kms_create_alias(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "AliasName"));
  if (alias_name_ok(call, name, 1) < 0)
    return;
  kms_state *st = kms_state_of(call);
  kms_key *key = target_key(st, call, input);
  if (!key)
    return;
  const char *account = aws_call_account(call), *region = aws_call_region(call);
  char slot[512], arn[512];
  kms_alias_slot(slot, sizeof(slot), account, region, name);
  snprintf(arn, sizeof(arn), "arn:aws:kms:%s:%s:%s", region, account, name);
  if (json_object_get(st->aliases, slot)) {
    aws_call_fail(call, 400, "AlreadyExistsException", "An alias with the name %s already exists",
                  arn);
  } else {
    double now = (double)clock_wall_ms() / 1000.0;
    json_object_set_new(st->aliases, slot,
                        json_pack("{s:s, s:s, s:s, s:f, s:f}", "AliasName", name, "AliasArn", arn,
                                  "TargetKeyId", key->id, "CreationDate", now, "LastUpdatedDate",
                                  now));
    aws_call_reply(call, NULL);
  }
  pthread_mutex_unlock(&st->lock);
}

void kms_update_alias(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "AliasName"));
  if (alias_name_ok(call, name, 1) < 0)
    return;
  kms_state *st = kms_state_of(call);
  kms_key *key = target_key(st, call, input);
  if (!key)
    return;
  char slot[512];
  kms_alias_slot(slot, sizeof(slot), aws_call_account(call), aws_call_region(call), name);
  json_t *alias = json_object_get(st->aliases, slot);
  kms_key *old = alias ? kms_key_by_id(st, aws_call_account(call), aws_call_region(call),
                                       json_string_value(json_object_get(alias, "TargetKeyId")))
                       : NULL;
  if (!alias) {
    aws_call_fail(call, 400, "NotFoundException", "Alias arn:aws:kms:%s:%s:%s is not found.",
                  aws_call_region(call), aws_call_account(call), name);
  } else if (old && (!json_equal(json_object_get(old->meta, "KeyUsage"),
                                 json_object_get(key->meta, "KeyUsage")) ||
                     !json_equal(json_object_get(old->meta, "KeySpec"),
                                 json_object_get(key->meta, "KeySpec")))) {
    /* AWS only lets an alias move between keys of the same type and usage. */
    aws_call_fail(call, 400, "ValidationException",
                  "The new target key %s has a different key spec or key usage than the current "
                  "target key.",
                  kms_key_arn(key));
  } else {
    json_object_set_new(alias, "TargetKeyId", json_string(key->id));
    json_object_set_new(alias, "LastUpdatedDate", json_real((double)clock_wall_ms() / 1000.0));
    aws_call_reply(call, NULL);
  }
  pthread_mutex_unlock(&st->lock);
}

void kms_delete_alias(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "AliasName"));
  if (alias_name_ok(call, name, 1) < 0)
    return;
  kms_state *st = kms_state_of(call);
  char slot[512];
  kms_alias_slot(slot, sizeof(slot), aws_call_account(call), aws_call_region(call), name);
  pthread_mutex_lock(&st->lock);
  if (json_object_del(st->aliases, slot) < 0)
    aws_call_fail(call, 400, "NotFoundException", "Alias arn:aws:kms:%s:%s:%s is not found.",
                  aws_call_region(call), aws_call_account(call), name);
  else
    aws_call_reply(call, NULL);
  pthread_mutex_unlock(&st->lock);
}

static int by_name(const void *a, const void *b) {
  return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "AliasName")),
                json_string_value(json_object_get(*(json_t *const *)b, "AliasName")));
}

void kms_list_aliases(aws_call *call, json_t *input) {
  size_t limit, offset;
  if (kms_page_args(call, input, &limit, &offset) < 0)
    return;
  kms_state *st = kms_state_of(call);
  const char *key_id = json_string_value(json_object_get(input, "KeyId"));
  kms_key *key = NULL;
  if (key_id) {
    key = kms_lock_key(st, call, input, "KeyId");
    if (!key)
      return;
  } else {
    pthread_mutex_lock(&st->lock);
    kms_store_sweep(st);
  }
  char prefix[128];
  int plen =
      snprintf(prefix, sizeof(prefix), "%s/%s/", aws_call_account(call), aws_call_region(call));
  size_t n = 0, cap = json_object_size(st->aliases);
  json_t **found = calloc(cap ? cap : 1, sizeof(*found));
  const char *slot;
  json_t *alias;
  json_object_foreach(st->aliases, slot, alias) {
    if (!found || strncmp(slot, prefix, (size_t)plen) != 0)
      continue;
    if (key && strcmp(json_string_value(json_object_get(alias, "TargetKeyId")), key->id) != 0)
      continue;
    found[n++] = json_deep_copy(alias);
  }
  pthread_mutex_unlock(&st->lock);
  qsort(found, n, sizeof(*found), by_name);
  json_t *items = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(items, found[i]);
  free(found);
  kms_reply_page(call, "Aliases", items, limit, offset);
}
