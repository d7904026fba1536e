/*
 * iam_users.c — IAM users, groups, group membership and login profiles.
 *
 * Membership is kept on the user (its _groups list of group names), so that
 * ListGroupsForUser is a read and GetGroup a scan of the account's users;
 * renaming a group renames it in every member's list. Deleting a user or a
 * group that still has what AWS makes you remove first (keys, policies,
 * members, a login profile, MFA devices, certificates, SSH keys) answers
 * DeleteConflict with AWS's message. Login passwords are kept hashed, for
 * ChangePassword.
 */
#include "common/codec.h"
#include "common/jsonutil.h"
#include "emulator/iam/iam_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* PBKDF2 rounds for stored login passwords: enough not to keep them in clear,
 * few enough that a test creating many users stays fast. */
#define IAM_PASSWORD_ROUNDS 1000

/* A new principal record of kind with input's name and path. */
static json_t *principal_new(iam_ctx *c, iam_kind kind, json_t *input) {
  const iam_kind_info *k = &iam_kinds[kind];
  const char *name = jsonutil_string(input, k->name_member);
  const char *path = jsonutil_string(input, "Path");
  if (!path)
    path = "/";
  char id[32];
  iam_new_id(id, k->id_prefix);
  char *arn = iam_arn(c, k->noun, path, name);
  json_t *rec =
      json_pack("{s:s, s:s, s:s, s:s, s:o}", "Path", path, k->name_member, name, k->id_member, id,
                "Arn", arn ? arn : "", "CreateDate", json_real(iam_now()));
  free(arn);
  return rec;
}

/* ---- users ---- */

IAM_HANDLER(iam_create_user) {
  if (iam_check_name(c, input, "UserName", 64, 1) < 0 || iam_check_path(c, input, "Path") < 0)
    return NULL;
  json_t *users = iam_map(c, "users");
  const char *name = jsonutil_string(input, "UserName");
  if (iam_get(users, name))
    return iam_fail(c, 409, "EntityAlreadyExists", "User with name %s already exists.", name);
  const char *boundary = jsonutil_string(input, "PermissionsBoundary");
  if (boundary && !iam_policy(c, boundary))
    return iam_no_entity(c, "Scope ARN: %.2048s does not exist or is not attachable.", boundary);
  json_t *rec = principal_new(c, IAM_USER, input);
  if (iam_tags_merge(c, rec, input) < 0) {
    json_decref(rec);
    return NULL;
  }
  if (boundary)
    json_object_set_new(rec, "PermissionsBoundary",
                        json_pack("{s:s, s:s}", "PermissionsBoundaryType", "Policy",
                                  "PermissionsBoundaryArn", boundary));
  iam_put(users, name, rec);
  return json_pack("{s:o}", "User", iam_public(rec));
}

json_t *iam_caller_user(iam_ctx *c) {
  json_t *issued = emulator_credentials_get(c->st->emu, aws_call_access_key(c->call));
  const char *arn = jsonutil_string(issued, "Arn");
  const char *user = arn ? strstr(arn, ":user/") : NULL;
  json_t *rec = NULL;
  if (user && !strcmp(jsonutil_string(issued, "Account"), c->account))
    rec = iam_get(iam_map(c, "users"), strrchr(user, '/') + 1);
  json_decref(issued);
  return rec;
}

IAM_HANDLER(iam_get_user) {
  if (!json_object_get(input, "UserName")) {
    json_t *me = iam_caller_user(c);
    if (me)
      return json_pack("{s:o}", "User", iam_public(me));
    char *arn = iam_arn(c, "root", "", "");
    json_t *out = json_pack("{s:{s:s, s:s, s:s, s:o}}", "User", "UserId", c->account, "Arn",
                            arn ? arn : "", "Path", "/", "CreateDate", json_real(0));
    free(arn);
    return out;
  }
  json_t *rec = iam_principal(c, IAM_USER, input);
  return rec ? json_pack("{s:o}", "User", iam_public(rec)) : NULL;
}

/* Renames or moves a principal: new name/path and ARN, store key. */
static int principal_update(iam_ctx *c, iam_kind kind, json_t *rec, json_t *input,
                            const char *new_name_member) {
  const iam_kind_info *k = &iam_kinds[kind];
  if (iam_check_name(c, input, new_name_member, k->name_max, 0) < 0 ||
      iam_check_path(c, input, "NewPath") < 0)
    return -1;
  json_t *map = iam_map(c, k->store);
  const char *old = jsonutil_string(rec, k->name_member);
  const char *new_name = jsonutil_string(input, new_name_member);
  const char *new_path = jsonutil_string(input, "NewPath");
  if (new_name && strcasecmp(new_name, old) != 0 && iam_get(map, new_name)) {
    iam_fail(c, 409, "EntityAlreadyExists", "%c%s with name %s already exists.", k->noun[0] - 32,
             k->noun + 1, new_name);
    return -1;
  }
  char *old_name = strdup(old);
  json_incref(rec);
  iam_del(map, old_name);
  if (new_name)
    json_object_set_new(rec, k->name_member, json_string(new_name));
  if (new_path)
    json_object_set_new(rec, "Path", json_string(new_path));
  const char *name = jsonutil_string(rec, k->name_member);
  char *arn = iam_arn(c, k->noun, jsonutil_string(rec, "Path"), name);
  json_object_set_new(rec, "Arn", json_string(arn ? arn : ""));
  free(arn);
  iam_put(map, name, rec);
  if (kind == IAM_USER)
    iam_keys_register(c, rec);
  if (kind == IAM_GROUP && new_name) {
    const char *key;
    json_t *user;
    json_object_foreach(iam_map(c, "users"), key, user) {
      size_t i;
      json_t *g;
      json_array_foreach(json_object_get(user, "_groups"), i, g) {
        if (!strcasecmp(json_string_value(g), old_name))
          json_array_set_new(json_object_get(user, "_groups"), i, json_string(new_name));
      }
    }
  }
  free(old_name);
  return 0;
}

IAM_HANDLER(iam_update_user) {
  json_t *rec = iam_principal(c, IAM_USER, input);
  if (rec)
    principal_update(c, IAM_USER, rec, input, "NewUserName");
  return NULL;
}

IAM_HANDLER(iam_delete_user) {
  json_t *rec = iam_principal(c, IAM_USER, input);
  if (!rec)
    return NULL;
  const char *what = NULL;
  if (json_object_size(json_object_get(rec, "_keys")))
    what = "must delete access keys first";
  else if (json_object_get(rec, "_login"))
    what = "must delete login profile first";
  else if (json_array_size(json_object_get(rec, "_mfa")))
    what = "must remove MFA device first";
  else if (json_object_size(json_object_get(rec, "_signing")))
    what = "must delete signing certificates first";
  else if (json_object_size(json_object_get(rec, "_ssh")))
    what = "must delete SSH public keys first";
  else if (json_object_size(json_object_get(rec, "_service_creds")))
    what = "must delete service specific credentials first";
  else if (json_object_size(json_object_get(rec, "_inline")))
    what = "must delete policies first";
  else if (json_array_size(json_object_get(rec, "_attached")))
    what = "must detach all policies first";
  else if (json_array_size(json_object_get(rec, "_groups")))
    what = "must remove users from group first";
  if (what)
    return iam_fail(c, 409, "DeleteConflict", "Cannot delete entity, %s.", what);
  iam_del(iam_map(c, "users"), jsonutil_string(rec, "UserName"));
  return NULL;
}

/* Records of map whose Path starts with input's PathPrefix, as answered in
 * lists (without the members lists leave out). */
static json_t *by_prefix(iam_ctx *c, json_t *map, json_t *input) {
  (void)c;
  const char *prefix = jsonutil_string(input, "PathPrefix");
  json_t *items = json_array();
  const char *key;
  json_t *rec;
  json_object_foreach(map, key, rec) {
    if (prefix && strncmp(jsonutil_string(rec, "Path"), prefix, strlen(prefix)) != 0)
      continue;
    json_t *pub = iam_public(rec);
    json_object_del(pub, "Tags");
    json_object_del(pub, "PermissionsBoundary");
    json_array_append_new(items, pub);
  }
  return items;
}

IAM_HANDLER(iam_list_users) {
  if (iam_check_path(c, input, "PathPrefix") < 0)
    return NULL;
  return iam_page(c, input, by_prefix(c, iam_map(c, "users"), input), "Users", json_object());
}

/* ---- groups ---- */

IAM_HANDLER(iam_create_group) {
  if (iam_check_name(c, input, "GroupName", 128, 1) < 0 || iam_check_path(c, input, "Path") < 0)
    return NULL;
  json_t *groups = iam_map(c, "groups");
  const char *name = jsonutil_string(input, "GroupName");
  if (iam_get(groups, name))
    return iam_fail(c, 409, "EntityAlreadyExists", "Group with name %s already exists.", name);
  json_t *rec = principal_new(c, IAM_GROUP, input);
  iam_put(groups, name, rec);
  return json_pack("{s:o}", "Group", iam_public(rec));
}

static int in_group(const json_t *user, const char *group) {
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(user, "_groups"), i, g) {
    if (!strcasecmp(json_string_value(g), group))
      return (int)i + 1;
  }
  return 0;
}

IAM_HANDLER(iam_get_group) {
  json_t *group = iam_principal(c, IAM_GROUP, input);
  if (!group)
    return NULL;
  const char *name = jsonutil_string(group, "GroupName");
  json_t *members = json_array();
  const char *key;
  json_t *user;
  json_object_foreach(iam_map(c, "users"), key, user) {
    if (in_group(user, name)) {
      json_t *pub = iam_public(user);
      json_object_del(pub, "Tags");
      json_object_del(pub, "PermissionsBoundary");
      json_array_append_new(members, pub);
    }
  }
  return iam_page(c, input, members, "Users", json_pack("{s:o}", "Group", iam_public(group)));
}

IAM_HANDLER(iam_update_group) {
  json_t *rec = iam_principal(c, IAM_GROUP, input);
  if (rec)
    principal_update(c, IAM_GROUP, rec, input, "NewGroupName");
  return NULL;
}

IAM_HANDLER(iam_delete_group) {
  json_t *rec = iam_principal(c, IAM_GROUP, input);
  if (!rec)
    return NULL;
  const char *name = jsonutil_string(rec, "GroupName");
  const char *key;
  json_t *user;
  json_object_foreach(iam_map(c, "users"), key, user) {
    if (in_group(user, name))
      return iam_fail(c, 409, "DeleteConflict",
                      "Cannot delete entity, must remove users from group first.");
  }
  if (json_object_size(json_object_get(rec, "_inline")))
    return iam_fail(c, 409, "DeleteConflict", "Cannot delete entity, must delete policies first.");
  if (json_array_size(json_object_get(rec, "_attached")))
    return iam_fail(c, 409, "DeleteConflict",
                    "Cannot delete entity, must detach all policies first.");
  iam_del(iam_map(c, "groups"), name);
  return NULL;
}

IAM_HANDLER(iam_list_groups) {
  if (iam_check_path(c, input, "PathPrefix") < 0)
    return NULL;
  return iam_page(c, input, by_prefix(c, iam_map(c, "groups"), input), "Groups", json_object());
}

IAM_HANDLER(iam_add_user_to_group) {
  json_t *group = iam_principal(c, IAM_GROUP, input);
  json_t *user = group ? iam_principal(c, IAM_USER, input) : NULL;
  if (!user)
    return NULL;
  const char *name = jsonutil_string(group, "GroupName");
  if (in_group(user, name))
    return NULL; /* AWS answers success */
  json_t *list = json_object_get(user, "_groups");
  if (json_array_size(list) >= IAM_MAX_GROUPS_PER_USER)
    return iam_fail(c, 409, "LimitExceeded", "Cannot exceed quota for GroupsPerUser: %d",
                    IAM_MAX_GROUPS_PER_USER);
  if (!list) {
    list = json_array();
    json_object_set_new(user, "_groups", list);
  }
  json_array_append_new(list, json_string(name));
  return NULL;
}

IAM_HANDLER(iam_remove_user_from_group) {
  json_t *group = iam_principal(c, IAM_GROUP, input);
  json_t *user = group ? iam_principal(c, IAM_USER, input) : NULL;
  if (!user)
    return NULL;
  int at = in_group(user, jsonutil_string(group, "GroupName"));
  if (!at)
    return iam_no_entity(c, "The user with name %s cannot be found in group %s.",
                         jsonutil_string(user, "UserName"), jsonutil_string(group, "GroupName"));
  json_array_remove(json_object_get(user, "_groups"), (size_t)at - 1);
  return NULL;
}

IAM_HANDLER(iam_list_groups_for_user) {
  json_t *user = iam_principal(c, IAM_USER, input);
  if (!user)
    return NULL;
  json_t *groups = json_array();
  json_t *map = iam_map(c, "groups");
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(user, "_groups"), i, g) {
    json_t *rec = iam_get(map, json_string_value(g));
    if (rec)
      json_array_append_new(groups, iam_public(rec));
  }
  return iam_page(c, input, groups, "Groups", json_object());
}

/* ---- login profiles ---- */

static int check_password(iam_ctx *c, json_t *input, int required) {
  const char *pw = jsonutil_string(input, "Password");
  if (!pw && !required)
    return 0;
  size_t n = pw ? strlen(pw) : 0;
  if (n < 1 || n > 128) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value at 'password' failed to satisfy constraint: "
             "Member must have length %s",
             n ? "less than or equal to 128" : "greater than or equal to 1");
    return -1;
  }
  return iam_password_check(c, pw);
}

/* Stores password in login as a salted PBKDF2-SHA-256 hash (ChangePassword
 * checks the old one against it). */
static int store_password(iam_ctx *c, json_t *login, const char *password) {
  unsigned char salt[16], hash[32];
  if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt) ||
      PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof(salt), IAM_PASSWORD_ROUNDS,
                        EVP_sha256(), sizeof(hash), hash) != 1) {
    iam_fail(c, 500, "ServiceFailure", "Cannot hash the password.");
    return -1;
  }
  char salt_hex[33], hash_hex[65];
  codec_hex_encode(salt_hex, salt, sizeof(salt));
  codec_hex_encode(hash_hex, hash, sizeof(hash));
  json_object_set_new(login, "_salt", json_string(salt_hex));
  json_object_set_new(login, "_hash", json_string(hash_hex));
  json_object_set_new(login, "_changed", json_real(iam_now()));
  return 0;
}

static int password_matches(const json_t *login, const char *password) {
  const char *salt_hex = jsonutil_string(login, "_salt");
  const char *want = jsonutil_string(login, "_hash");
  unsigned char salt[16], hash[32];
  if (!salt_hex || !want || strlen(salt_hex) != 32 || !password)
    return 0;
  for (int i = 0; i < 16; i++) {
    unsigned v;
    if (sscanf(salt_hex + 2 * i, "%2x", &v) != 1)
      return 0;
    salt[i] = (unsigned char)v;
  }
  if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof(salt), IAM_PASSWORD_ROUNDS,
                        EVP_sha256(), sizeof(hash), hash) != 1)
    return 0;
  char got[65];
  codec_hex_encode(got, hash, sizeof(hash));
  return CRYPTO_memcmp(got, want, 64) == 0;
}

static json_t *login_out(const json_t *user, const json_t *login) {
  json_t *out = json_pack("{s:s, s:O, s:O}", "UserName", jsonutil_string(user, "UserName"),
                          "CreateDate", json_object_get(login, "CreateDate"),
                          "PasswordResetRequired", json_object_get(login, "PasswordResetRequired"));
  return json_pack("{s:o}", "LoginProfile", out);
}

IAM_HANDLER(iam_create_login_profile) {
  json_t *user = iam_principal(c, IAM_USER, input);
  if (!user || check_password(c, input, 1) < 0)
    return NULL;
  if (json_object_get(user, "_login"))
    return iam_fail(c, 409, "EntityAlreadyExists", "Login Profile for user %s already exists.",
                    jsonutil_string(user, "UserName"));
  json_t *login =
      json_pack("{s:o, s:b}", "CreateDate", json_real(iam_now()), "PasswordResetRequired",
                json_is_true(json_object_get(input, "PasswordResetRequired")));
  if (store_password(c, login, jsonutil_string(input, "Password")) < 0) {
    json_decref(login);
    return NULL;
  }
  json_object_set_new(user, "_login", login);
  return login_out(user, login);
}

static json_t *login_of(iam_ctx *c, json_t *user) {
  json_t *login = json_object_get(user, "_login");
  if (!login)
    iam_no_entity(c, "Login Profile for User %s cannot be found.",
                  jsonutil_string(user, "UserName"));
  return login;
}

IAM_HANDLER(iam_get_login_profile) {
  json_t *user = iam_principal(c, IAM_USER, input);
  json_t *login = user ? login_of(c, user) : NULL;
  return login ? login_out(user, login) : NULL;
}

IAM_HANDLER(iam_update_login_profile) {
  json_t *user = iam_principal(c, IAM_USER, input);
  json_t *login = user ? login_of(c, user) : NULL;
  if (!login || check_password(c, input, 0) < 0)
    return NULL;
  if (jsonutil_string(input, "Password") &&
      store_password(c, login, jsonutil_string(input, "Password")) < 0)
    return NULL;
  json_t *reset = json_object_get(input, "PasswordResetRequired");
  if (reset)
    json_object_set(login, "PasswordResetRequired", reset);
  return NULL;
}

IAM_HANDLER(iam_delete_login_profile) {
  json_t *user = iam_principal(c, IAM_USER, input);
  if (user && login_of(c, user))
    json_object_del(user, "_login");
  return NULL;
}

/* A user changes its own password: the caller must be an IAM user with a login
 * profile and know its current password; the new one meets the policy. */
IAM_HANDLER(iam_change_password) {
  json_t *user = iam_caller_user(c);
  if (!user)
    return iam_fail(c, 400, "InvalidUserType",
                    "The request was rejected because the type of user for the transaction was "
                    "incorrect: only an IAM user can change its own password.");
  json_t *login = login_of(c, user);
  if (!login)
    return NULL;
  const char *old = jsonutil_string(input, "OldPassword");
  const char *new_password = jsonutil_string(input, "NewPassword");
  json_t *check = json_pack("{s:s}", "Password", new_password ? new_password : "");
  int bad = check_password(c, check, 1);
  json_decref(check);
  if (bad < 0)
    return NULL;
  if (!password_matches(login, old))
    return iam_fail(c, 400, "InvalidUserType", "The old password is incorrect.");
  if (store_password(c, login, new_password) == 0)
    json_object_set_new(login, "PasswordResetRequired", json_false());
  return NULL;
}
