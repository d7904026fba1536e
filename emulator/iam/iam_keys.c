/*
 * iam_keys.c — IAM access keys: CreateAccessKey, UpdateAccessKey,
 * DeleteAccessKey, ListAccessKeys, GetAccessKeyLastUsed.
 *
 * A key IAM creates works with the emulator at once: it is registered in the
 * emulator's credential table (service.h) with its secret and the user's
 * identity, so requests signed with it act in the user's account,
 * STS GetCallerIdentity names the user, and with signature verification on
 * the secret is checked. An inactive or deleted key is taken out of the table
 * again. Keys the account's root creates (no UserName, caller not an IAM user)
 * live in the account's "root" record.
 */
#include "emulator/iam/iam_int.h"

#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void register_key(iam_ctx *c, const json_t *user, const json_t *key) {
  char *root = NULL;
  const char *arn = jsonutil_string(user, "Arn");
  const char *id = jsonutil_string(user, "UserId");
  if (!arn) {
    root = iam_arn(c, "root", "", "");
    arn = root ? root : "";
    id = c->account;
  }
  emulator_credential cred = {
      .access_key = jsonutil_string(key, "AccessKeyId"),
      .account = c->account,
      .arn = arn,
      .user_id = id,
      .secret = jsonutil_string(key, "_secret"),
  };
  emulator_credentials_add(c->st->emu, &cred);
  free(root);
}

void iam_keys_register(iam_ctx *c, const json_t *user) {
  const char *id;
  json_t *key;
  json_object_foreach(json_object_get(user, "_keys"), id, key) {
    if (!strcmp(jsonutil_string(key, "Status"), "Active"))
      register_key(c, user, key);
  }
}

static void forget_user(iam_state *st, const json_t *user) {
  const char *id;
  json_t *key;
  json_object_foreach(json_object_get(user, "_keys"), id, key) {
    emulator_credentials_remove(st->emu, id);
  }
}

void iam_keys_forget(iam_state *st, json_t *acct) {
  const char *name;
  json_t *user;
  json_object_foreach(json_object_get(acct, "users"), name, user) { forget_user(st, user); }
  forget_user(st, json_object_get(acct, "root"));
}

json_t *iam_credential_owner(iam_ctx *c, json_t *input) {
  if (json_object_get(input, "UserName"))
    return iam_principal(c, IAM_USER, input);
  json_t *me = iam_caller_user(c);
  return me ? me : iam_map(c, "root");
}

void iam_random_chars(char *out, size_t n, const char *alphabet) {
  unsigned char bytes[64];
  size_t alen = strlen(alphabet);
  if (getrandom(bytes, n, 0) != (ssize_t)n)
    for (size_t i = 0; i < n; i++)
      bytes[i] = (unsigned char)rand();
  for (size_t i = 0; i < n; i++)
    out[i] = alphabet[bytes[i] % alen];
  out[n] = '\0';
}

static json_t *key_meta(const json_t *user, const json_t *key) {
  json_t *m =
      json_pack("{s:O, s:O, s:O}", "AccessKeyId", json_object_get(key, "AccessKeyId"), "Status",
                json_object_get(key, "Status"), "CreateDate", json_object_get(key, "CreateDate"));
  const char *name = jsonutil_string(user, "UserName");
  if (m && name)
    json_object_set_new(m, "UserName", json_string(name));
  return m;
}

IAM_HANDLER(iam_create_access_key) {
  json_t *user = iam_credential_owner(c, input);
  if (!user)
    return NULL;
  json_t *keys = json_object_get(user, "_keys");
  if (json_object_size(keys) >= IAM_MAX_ACCESS_KEYS)
    return iam_fail(c, 409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: %d",
                    IAM_MAX_ACCESS_KEYS);
  if (!keys) {
    keys = json_object();
    json_object_set_new(user, "_keys", keys);
  }
  char id[21], secret[41];
  memcpy(id, "AKIA", 4);
  iam_random_chars(id + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
  iam_random_chars(secret, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  json_t *key = json_pack("{s:s, s:s, s:o, s:s}", "AccessKeyId", id, "Status", "Active",
                          "CreateDate", json_real(iam_now()), "_secret", secret);
  json_object_set_new(keys, id, key);
  register_key(c, user, key);
  json_t *out = key_meta(user, key);
  json_object_set_new(out, "SecretAccessKey", json_string(secret));
  return json_pack("{s:o}", "AccessKey", out);
}

/* The key of user named by input's AccessKeyId; NULL after NoSuchEntity. */
static json_t *key_of(iam_ctx *c, json_t *user, json_t *input) {
  const char *id = jsonutil_string(input, "AccessKeyId");
  json_t *key = id ? json_object_get(json_object_get(user, "_keys"), id) : NULL;
  if (!key)
    iam_no_entity(c, "The Access Key with id %.128s cannot be found.", id ? id : "");
  return key;
}

IAM_HANDLER(iam_update_access_key) {
  json_t *user = iam_credential_owner(c, input);
  json_t *key = user ? key_of(c, user, input) : NULL;
  if (!key)
    return NULL;
  if (iam_check_status(c, input) < 0)
    return NULL;
  const char *status = jsonutil_string(input, "Status");
  json_object_set_new(key, "Status", json_string(status));
  if (!strcmp(status, "Active")) {
    register_key(c, user, key);
  } else {
    /* Keep where it was last used: the credential table forgets the key. */
    json_t *issued = emulator_credentials_get(c->st->emu, jsonutil_string(key, "AccessKeyId"));
    json_t *used = json_object_get(issued, "LastUsed");
    if (used)
      json_object_set(key, "_last_used", used);
    json_decref(issued);
    emulator_credentials_remove(c->st->emu, jsonutil_string(key, "AccessKeyId"));
  }
  return NULL;
}

IAM_HANDLER(iam_delete_access_key) {
  json_t *user = iam_credential_owner(c, input);
  json_t *key = user ? key_of(c, user, input) : NULL;
  if (!key)
    return NULL;
  const char *id = jsonutil_string(input, "AccessKeyId");
  emulator_credentials_remove(c->st->emu, id);
  json_object_del(json_object_get(user, "_keys"), id);
  return NULL;
}

IAM_HANDLER(iam_list_access_keys) {
  json_t *user = iam_credential_owner(c, input);
  if (!user)
    return NULL;
  json_t *items = json_array();
  const char *id;
  json_t *key;
  json_object_foreach(json_object_get(user, "_keys"), id, key) {
    json_array_append_new(items, key_meta(user, key));
  }
  return iam_page(c, input, items, "AccessKeyMetadata", json_object());
}

/* Where a key was last used, as the gateway recorded it in the credential
 * table; AWS's answer for a key never used is ServiceName and Region "N/A". */
IAM_HANDLER(iam_get_access_key_last_used) {
  const char *id = jsonutil_string(input, "AccessKeyId");
  const char *name;
  json_t *user;
  json_t *found = NULL, *key = NULL;
  json_object_foreach(iam_map(c, "users"), name, user) {
    json_t *k = json_object_get(json_object_get(user, "_keys"), id ? id : "");
    if (k) {
      found = user;
      key = k;
    }
  }
  if (!key)
    key = json_object_get(json_object_get(iam_map(c, "root"), "_keys"), id ? id : "");
  if (!key)
    return iam_no_entity(c, "The Access Key with id %.128s cannot be found.", id ? id : "");
  json_t *issued = emulator_credentials_get(c->st->emu, id);
  json_t *used = json_object_get(issued, "LastUsed");
  if (!used)
    used = json_object_get(key, "_last_used");
  json_t *last =
      used ? json_copy(used) : json_pack("{s:s, s:s}", "ServiceName", "N/A", "Region", "N/A");
  json_t *out = json_pack("{s:o}", "AccessKeyLastUsed", last);
  json_decref(issued);
  if (found)
    json_object_set_new(out, "UserName", json_string(jsonutil_string(found, "UserName")));
  return out;
}

/* ---- service-specific credentials (CodeCommit's Git and Keyspaces' Cassandra logins) ---- */

#define IAM_SERVICE_CREDS_PER_SERVICE 2

static const char *const credential_services[] = {"codecommit.amazonaws.com",
                                                  "cassandra.amazonaws.com"};

static json_t *service_cred_out(const json_t *user, const json_t *rec, int with_password) {
  json_t *out = iam_public(rec);
  json_object_set_new(out, "UserName", json_string(jsonutil_string(user, "UserName")));
  if (with_password)
    json_object_set(out, "ServicePassword", json_object_get(rec, "_password"));
  return out;
}

static void new_service_password(json_t *rec) {
  char password[45];
  iam_random_chars(password, 44,
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  json_object_set_new(rec, "_password", json_string(password));
}

IAM_HANDLER(iam_create_service_specific_credential) {
  json_t *user = iam_principal(c, IAM_USER, input);
  if (!user)
    return NULL;
  const char *service = jsonutil_string(input, "ServiceName");
  size_t i = 0;
  while (service && i < sizeof(credential_services) / sizeof(*credential_services) &&
         strcmp(service, credential_services[i]) != 0)
    i++;
  if (!service || i == sizeof(credential_services) / sizeof(*credential_services))
    return iam_fail(c, 404, "NotSupportedService",
                    "No such service %.128s is supported for Service Specific Credentials",
                    service ? service : "");
  json_t *creds = json_object_get(user, "_service_creds");
  size_t same = 0;
  const char *id;
  json_t *rec;
  json_object_foreach(creds, id, rec) {
    same += !strcmp(jsonutil_string(rec, "ServiceName"), service);
  }
  if (same >= IAM_SERVICE_CREDS_PER_SERVICE)
    return iam_fail(c, 409, "LimitExceeded",
                    "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: %d",
                    IAM_SERVICE_CREDS_PER_SERVICE);
  if (!creds) {
    creds = json_object();
    json_object_set_new(user, "_service_creds", creds);
  }
  char new_id[32], login[128];
  iam_new_id(new_id, "ACCA");
  snprintf(login, sizeof(login), "%s-at-%s", jsonutil_string(user, "UserName"), c->account);
  rec = json_pack("{s:o, s:s, s:s, s:s, s:s}", "CreateDate", json_real(iam_now()), "ServiceName",
                  service, "ServiceUserName", login, "ServiceSpecificCredentialId", new_id,
                  "Status", "Active");
  new_service_password(rec);
  json_object_set_new(creds, new_id, rec);
  return json_pack("{s:o}", "ServiceSpecificCredential", service_cred_out(user, rec, 1));
}

static json_t *service_cred_of(iam_ctx *c, json_t *user, json_t *input) {
  const char *id = jsonutil_string(input, "ServiceSpecificCredentialId");
  json_t *rec = id ? json_object_get(json_object_get(user, "_service_creds"), id) : NULL;
  if (!rec)
    iam_no_entity(c, "No such credential %.128s exists", id ? id : "");
  return rec;
}

IAM_HANDLER(iam_list_service_specific_credentials) {
  json_t *user = iam_credential_owner(c, input);
  if (!user)
    return NULL;
  const char *service = jsonutil_string(input, "ServiceName");
  json_t *items = json_array();
  const char *id;
  json_t *rec;
  json_object_foreach(json_object_get(user, "_service_creds"), id, rec) {
    if (!service || !strcmp(service, jsonutil_string(rec, "ServiceName")))
      json_array_append_new(items, service_cred_out(user, rec, 0));
  }
  return json_pack("{s:o}", "ServiceSpecificCredentials", items);
}

IAM_HANDLER(iam_reset_service_specific_credential) {
  json_t *user = iam_credential_owner(c, input);
  json_t *rec = user ? service_cred_of(c, user, input) : NULL;
  if (!rec)
    return NULL;
  new_service_password(rec);
  return json_pack("{s:o}", "ServiceSpecificCredential", service_cred_out(user, rec, 1));
}

IAM_HANDLER(iam_update_service_specific_credential) {
  json_t *user = iam_credential_owner(c, input);
  json_t *rec = user ? service_cred_of(c, user, input) : NULL;
  if (!rec)
    return NULL;
  if (iam_check_status(c, input) < 0)
    return NULL;
  const char *status = jsonutil_string(input, "Status");
  json_object_set_new(rec, "Status", json_string(status));
  return NULL;
}

IAM_HANDLER(iam_delete_service_specific_credential) {
  json_t *user = iam_credential_owner(c, input);
  json_t *rec = user ? service_cred_of(c, user, input) : NULL;
  if (rec)
    json_object_del(json_object_get(user, "_service_creds"),
                    jsonutil_string(input, "ServiceSpecificCredentialId"));
  return NULL;
}
