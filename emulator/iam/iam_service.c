/*
 * iam_service.c — the IAM service's aws_service: the store (one per account,
 * iam_int.h), the locked runner every handler goes through, and the helpers
 * the handlers share: ids, ARNs, names and paths validated as AWS validates
 * them, policy documents checked and percent-encoded as AWS returns them,
 * Marker/MaxItems pagination and tags.
 *
 * Enforcement is off (LocalStack's default): IAM stores and answers, and
 * SimulatePrincipalPolicy evaluates what is stored (iam_eval.c), but no other
 * service asks IAM before it acts.
 */
#include "common/clock.h"
#include "common/dynbuf.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "emulator/iam/iam_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

const iam_kind_info iam_kinds[3] = {
    {"users", "UserName", "UserId", "user", "AIDA", 64, 2048},
    {"groups", "GroupName", "GroupId", "group", "AGPA", 128, 5120},
    {"roles", "RoleName", "RoleId", "role", "AROA", 64, 10240},
};

iam_kind iam_kind_of(const aws_call *call) {
  const char *op = aws_call_operation(call);
  if (strstr(op, "Group"))
    return IAM_GROUP;
  if (strstr(op, "Role"))
    return IAM_ROLE;
  return IAM_USER;
}

/* ---- running a handler ---- */

void iam_run(aws_call *call, json_t *input, iam_body_fn body) {
  iam_ctx c = {0};
  c.call = call;
  c.st = aws_call_state(call);
  c.account = aws_call_account(call);
  c.partition = aws_call_partition(call);
  pthread_mutex_lock(&c.st->lock);
  c.acct = json_object_get(c.st->accounts, c.account);
  if (!c.acct) {
    c.acct = json_object();
    json_object_set_new(c.st->accounts, c.account, c.acct);
  }
  json_t *out = body(&c, input);
  pthread_mutex_unlock(&c.st->lock);
  if (c.failed) {
    json_decref(out);
    aws_call_fail(call, c.status, c.code, "%s", c.message);
  } else {
    aws_call_reply(call, out);
  }
}

static json_t *failv(iam_ctx *c, int status, const char *code, const char *fmt, va_list ap) {
  if (c->failed) /* the first error wins */
    return NULL;
  c->failed = 1;
  c->status = status;
  snprintf(c->code, sizeof(c->code), "%s", code);
  vsnprintf(c->message, sizeof(c->message), fmt, ap);
  return NULL;
}

json_t *iam_fail(iam_ctx *c, int status, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(c, status, code, fmt, ap);
  va_end(ap);
  return NULL;
}

json_t *iam_no_entity(iam_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(c, 404, "NoSuchEntity", fmt, ap);
  va_end(ap);
  return NULL;
}

/* ---- the store ---- */

json_t *iam_map(iam_ctx *c, const char *name) {
  json_t *m = json_object_get(c->acct, name);
  if (!m) {
    m = json_object();
    json_object_set_new(c->acct, name, m);
  }
  return m;
}

static void lower_key(char *out, size_t n, const char *name) {
  size_t i = 0;
  for (; name[i] && i + 1 < n; i++)
    out[i] = (char)tolower((unsigned char)name[i]);
  out[i] = '\0';
}

json_t *iam_get(json_t *map, const char *name) {
  char key[1024];
  if (!name || strlen(name) >= sizeof(key))
    return NULL;
  lower_key(key, sizeof(key), name);
  return json_object_get(map, key);
}

void iam_put(json_t *map, const char *name, json_t *rec) {
  char key[1024];
  lower_key(key, sizeof(key), name);
  json_object_set_new(map, key, rec);
}

void iam_del(json_t *map, const char *name) {
  char key[1024];
  lower_key(key, sizeof(key), name);
  json_object_del(map, key);
}

json_t *iam_principal(iam_ctx *c, iam_kind kind, json_t *input) {
  const iam_kind_info *k = &iam_kinds[kind];
  if (iam_check_name(c, input, k->name_member, k->name_max, 1) < 0)
    return NULL;
  const char *name = jsonutil_string(input, k->name_member);
  json_t *rec = iam_get(iam_map(c, k->store), name);
  if (!rec)
    return iam_no_entity(c, "The %s with name %s cannot be found.", k->noun, name);
  return rec;
}

/* ---- values ---- */

double iam_now(void) { return (double)(clock_wall_ms() / 1000); }

void iam_new_id(char out[32], const char *prefix) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  unsigned char bytes[17];
  if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
    for (size_t i = 0; i < sizeof(bytes); i++)
      bytes[i] = (unsigned char)rand();
  size_t n = strlen(prefix);
  memcpy(out, prefix, n);
  for (size_t i = 0; i < sizeof(bytes); i++)
    out[n + i] = alphabet[bytes[i] % 32];
  out[n + sizeof(bytes)] = '\0';
}

char *iam_arn(iam_ctx *c, const char *type, const char *path, const char *name) {
  size_t n = strlen(type) + strlen(path) + strlen(name) + 64;
  char *arn = malloc(n);
  if (arn)
    snprintf(arn, n, "arn:%s:iam::%s:%s%s%s", c->partition, c->account, type, path, name);
  return arn;
}

json_t *iam_public(const json_t *rec) {
  json_t *out = json_object();
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)rec, key, value) {
    if (key[0] != '_')
      json_object_set(out, key, value);
  }
  return out;
}

char *iam_url_encode(const char *s) {
  dynbuf b;
  dynbuf_init(&b, 4 * IAM_MAX_DOCUMENT);
  for (const char *p = s; *p; p++) {
    if (isalnum((unsigned char)*p) || strchr("-_.~", *p))
      dynbuf_append(&b, p, 1);
    else
      dynbuf_printf(&b, "%%%02X", (unsigned char)*p);
  }
  return dynbuf_take(&b, NULL);
}

json_t *iam_encoded(const char *s) {
  char *e = iam_url_encode(s ? s : "");
  json_t *v = json_string(e ? e : "");
  free(e);
  return v;
}

/* ---- validation ---- */

static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789_+=,.@-";

/* "userName" from "UserName", as AWS's validation messages name members. */
static void member_label(char *out, size_t n, const char *member) {
  snprintf(out, n, "%s", member);
  out[0] = (char)tolower((unsigned char)out[0]);
}

int iam_check_status(iam_ctx *c, json_t *input) {
  const char *status = jsonutil_string(input, "Status");
  if (status && (!strcmp(status, "Active") || !strcmp(status, "Inactive")))
    return 0;
  iam_fail(c, 400, "ValidationError",
           "1 validation error detected: Value '%.32s' at 'status' failed to satisfy constraint: "
           "Member must satisfy enum value set: [Active, Inactive]",
           status ? status : "null");
  return -1;
}

int iam_check_name(iam_ctx *c, json_t *input, const char *member, size_t max, int required) {
  const char *name = jsonutil_string(input, member);
  char label[64];
  member_label(label, sizeof(label), member);
  if (!name) {
    if (!required)
      return 0;
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value null at '%s' failed to satisfy constraint: "
             "Member must not be null",
             label);
    return -1;
  }
  size_t n = strlen(name);
  if (n < 1 || n > max) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value '%.200s' at '%s' failed to satisfy constraint: "
             "Member must have length %s %zu",
             name, label, n ? "less than or equal to" : "greater than or equal to",
             n ? max : (size_t)1);
    return -1;
  }
  if (strspn(name, name_chars) != n) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value '%.200s' at '%s' failed to satisfy constraint: "
             "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
             name, label);
    return -1;
  }
  return 0;
}

int iam_check_path(iam_ctx *c, json_t *input, const char *member) {
  const char *path = jsonutil_string(input, member);
  if (!path)
    return 0;
  size_t n = strlen(path);
  int ok = n >= 1 && n <= 512 && path[0] == '/' && path[n - 1] == '/';
  for (size_t i = 0; ok && i < n; i++)
    ok = (unsigned char)path[i] >= 0x21 && (unsigned char)path[i] <= 0x7E;
  if (!ok) {
    char label[64];
    member_label(label, sizeof(label), member);
    iam_fail(c, 400, "ValidationError",
             "The specified value for %s is invalid. It must begin and end with / and contain "
             "only alphanumeric characters and/or / characters.",
             label);
    return -1;
  }
  return 0;
}

int iam_check_description(iam_ctx *c, json_t *input) {
  const char *d = jsonutil_string(input, "Description");
  if (d && strlen(d) > 1000) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value at 'description' failed to satisfy "
             "constraint: Member must have length less than or equal to 1000");
    return -1;
  }
  return 0;
}

size_t iam_doc_size(const char *text) {
  size_t n = 0;
  for (const char *p = text; *p; p++)
    if (!isspace((unsigned char)*p))
      n++;
  return n;
}

static int malformed(iam_ctx *c, const char *msg) {
  iam_fail(c, 400, "MalformedPolicyDocument", "%s", msg);
  return -1;
}

/* A string or a non-empty list of strings. */
static int strings_ok(const json_t *v) {
  if (json_is_string(v))
    return 1;
  if (!json_is_array(v) || json_array_size(v) == 0)
    return 0;
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    if (!json_is_string(e))
      return 0;
  }
  return 1;
}

/* Every action is "*" or "<vendor>:<action pattern>". */
static int actions_ok(const json_t *v) {
  size_t i, n = json_is_array(v) ? json_array_size(v) : 1;
  for (i = 0; i < n; i++) {
    const char *a = json_string_value(json_is_array(v) ? json_array_get(v, i) : v);
    if (!a || (strcmp(a, "*") != 0 && (!strchr(a, ':') || a[0] == ':')))
      return 0;
  }
  return 1;
}

static int check_statement(iam_ctx *c, const json_t *s, int type) {
  if (!json_is_object(s))
    return malformed(c, "Syntax errors in policy.");
  const char *effect = jsonutil_string(s, "Effect");
  if (!json_object_get(s, "Effect"))
    return malformed(c, "Missing required field Effect");
  if (!effect || (strcmp(effect, "Allow") != 0 && strcmp(effect, "Deny") != 0))
    return malformed(c, "Invalid effect: the Effect must be Allow or Deny.");
  const json_t *action = json_object_get(s, "Action");
  const json_t *not_action = json_object_get(s, "NotAction");
  if (!action && !not_action)
    return malformed(c, "Policy statement must contain actions.");
  if ((action && !strings_ok(action)) || (not_action && !strings_ok(not_action)))
    return malformed(c, "Syntax errors in policy.");
  if (!actions_ok(action ? action : not_action))
    return malformed(c, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, "
                        "etc.");
  const json_t *resource = json_object_get(s, "Resource");
  const json_t *not_resource = json_object_get(s, "NotResource");
  int principal = json_object_get(s, "Principal") || json_object_get(s, "NotPrincipal");
  if (type == IAM_DOC_IDENTITY) {
    if (principal)
      return malformed(c, "Policy document should not specify a principal.");
    if (!resource && !not_resource)
      return malformed(c, "Policy statement must contain resources.");
    if ((resource && !strings_ok(resource)) || (not_resource && !strings_ok(not_resource)))
      return malformed(c, "Syntax errors in policy.");
  } else {
    if (!principal)
      return malformed(c, "Missing required field Principal");
    if (resource || not_resource)
      return malformed(c, "Has prohibited field Resource");
  }
  const json_t *cond = json_object_get(s, "Condition");
  if (cond && !json_is_object(cond))
    return malformed(c, "Syntax errors in policy.");
  return 0;
}

json_t *iam_check_document(iam_ctx *c, const char *text, int type) {
  if (!text || !*text) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value at 'policyDocument' failed to satisfy "
             "constraint: Member must have length greater than or equal to 1");
    return NULL;
  }
  if (strlen(text) > IAM_MAX_DOCUMENT) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value at 'policyDocument' failed to satisfy "
             "constraint: Member must have length less than or equal to %d",
             IAM_MAX_DOCUMENT);
    return NULL;
  }
  json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object(doc)) {
    json_decref(doc);
    malformed(c, "Syntax errors in policy.");
    return NULL;
  }
  const json_t *version = json_object_get(doc, "Version");
  const char *v = json_string_value(version);
  const json_t *stmts = json_object_get(doc, "Statement");
  int rc = 0;
  if (version && (!v || (strcmp(v, "2012-10-17") != 0 && strcmp(v, "2008-10-17") != 0)))
    rc = malformed(c, "The policy failed legacy parsing");
  else if (!stmts || (!json_is_object(stmts) && !json_is_array(stmts)))
    rc = malformed(c, "Syntax errors in policy.");
  else if (json_is_object(stmts))
    rc = check_statement(c, stmts, type);
  else {
    size_t i;
    json_t *s;
    json_array_foreach(stmts, i, s) {
      if ((rc = check_statement(c, s, type)) < 0)
        break;
    }
  }
  if (rc < 0) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

/* ---- pagination ---- */

json_t *iam_page(iam_ctx *c, json_t *input, json_t *items, const char *member, json_t *out) {
  json_t *max = json_object_get(input, "MaxItems");
  const char *marker = jsonutil_string(input, "Marker");
  json_int_t limit = max ? json_integer_value(max) : 100;
  size_t start = 0;
  if (max && (limit < 1 || limit > 1000)) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value '%lld' at 'maxItems' failed to satisfy "
             "constraint: Member must have value %s",
             (long long)limit,
             limit < 1 ? "greater than or equal to 1" : "less than or equal to 1000");
    goto fail;
  }
  if (marker) {
    char *end = NULL;
    unsigned long long v = strncmp(marker, "IAMM", 4) == 0 ? strtoull(marker + 4, &end, 10) : 0;
    if (!end || *end || end == marker + 4 || v > json_array_size(items)) {
      iam_fail(c, 400, "ValidationError", "Invalid Marker.");
      goto fail;
    }
    start = (size_t)v;
  }
  size_t total = json_array_size(items);
  size_t end = start + (size_t)limit < total ? start + (size_t)limit : total;
  json_t *page = json_array();
  for (size_t i = start; i < end; i++)
    json_array_append(page, json_array_get(items, i));
  json_object_set_new(out, member, page);
  json_object_set_new(out, "IsTruncated", json_boolean(end < total));
  if (end < total) {
    char next[32];
    snprintf(next, sizeof(next), "IAMM%zu", end);
    json_object_set_new(out, "Marker", json_string(next));
  }
  json_decref(items);
  return out;
fail:
  json_decref(items);
  json_decref(out);
  return NULL;
}

/* ---- tags ---- */

int iam_tags_merge(iam_ctx *c, json_t *rec, json_t *input) {
  json_t *tags = json_object_get(input, "Tags");
  if (!tags)
    return 0;
  json_t *have = json_object_get(rec, "Tags");
  json_t *merged = have ? json_deep_copy(have) : json_array();
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) {
    const char *k = jsonutil_string(t, "Key");
    const char *v = jsonutil_string(t, "Value");
    if (!k || !*k || strlen(k) > 128 || !v || strlen(v) > 256) {
      json_decref(merged);
      iam_fail(c, 400, "ValidationError",
               "1 validation error detected: Value at 'tags.%zu.member.%s' failed to satisfy "
               "constraint: Member must have length %s",
               i + 1, !k || !*k || strlen(k) > 128 ? "key" : "value",
               !k || !*k
                   ? "greater than or equal to 1"
                   : (strlen(k) > 128 ? "less than or equal to 128" : "less than or equal to 256"));
      return -1;
    }
    if (!strncasecmp(k, "aws:", 4)) {
      json_decref(merged);
      iam_fail(c, 400, "InvalidInput", "User-defined tag keys can't start with 'aws:'");
      return -1;
    }
    size_t j;
    json_t *e;
    int found = 0;
    json_array_foreach(merged, j, e) {
      if (!strcmp(jsonutil_string(e, "Key"), k)) {
        json_object_set_new(e, "Value", json_string(v));
        found = 1;
      }
    }
    if (!found)
      json_array_append_new(merged, json_pack("{s:s, s:s}", "Key", k, "Value", v));
  }
  if (json_array_size(merged) > IAM_MAX_TAGS) {
    json_decref(merged);
    iam_fail(c, 400, "LimitExceeded", "The number of tags has reached the maximum limit.");
    return -1;
  }
  json_object_set_new(rec, "Tags", merged);
  return 0;
}

int iam_tags_remove(iam_ctx *c, json_t *rec, json_t *input) {
  (void)c;
  json_t *keys = json_object_get(input, "TagKeys");
  json_t *have = json_object_get(rec, "Tags");
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k) {
    for (size_t j = json_array_size(have); j-- > 0;)
      if (!strcmp(jsonutil_string(json_array_get(have, j), "Key"), json_string_value(k)))
        json_array_remove(have, j);
  }
  return 0;
}

json_t *iam_tags_page(iam_ctx *c, json_t *rec, json_t *input) {
  json_t *tags = json_object_get(rec, "Tags");
  return iam_page(c, input, tags ? json_deep_copy(tags) : json_array(), "Tags", json_object());
}

/* ---- the service ---- */

static int iam_create(void **state, emulator *emu) {
  iam_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "IAM: out of memory");
  st->accounts = json_object();
  st->emu = emu;
  if (!st->accounts || pthread_mutex_init(&st->lock, NULL) != 0) {
    json_decref(st->accounts);
    free(st);
    return airgap_error_set(AIRGAP_ERROR, "IAM: cannot create the store");
  }
  *state = st;
  return 0;
}

static void iam_reset(void *state) {
  iam_state *st = state;
  pthread_mutex_lock(&st->lock);
  const char *account;
  json_t *acct;
  json_object_foreach(st->accounts, account, acct) { iam_keys_forget(st, acct); }
  json_object_clear(st->accounts);
  pthread_mutex_unlock(&st->lock);
}

static void iam_destroy(void *state) {
  iam_state *st = state;
  if (!st)
    return;
  json_decref(st->accounts);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static const aws_operation iam_operations[] = {
    {"AddClientIDToOpenIDConnectProvider", iam_add_client_id},
    {"AddRoleToInstanceProfile", iam_add_role_to_instance_profile},
    {"AddUserToGroup", iam_add_user_to_group},
    {"AttachGroupPolicy", iam_attach_principal_policy},
    {"AttachRolePolicy", iam_attach_principal_policy},
    {"AttachUserPolicy", iam_attach_principal_policy},
    {"ChangePassword", iam_change_password},
    {"CreateAccessKey", iam_create_access_key},
    {"CreateAccountAlias", iam_create_account_alias},
    {"CreateGroup", iam_create_group},
    {"CreateInstanceProfile", iam_create_instance_profile},
    {"CreateLoginProfile", iam_create_login_profile},
    {"CreateOpenIDConnectProvider", iam_create_oidc_provider},
    {"CreatePolicy", iam_create_policy},
    {"CreatePolicyVersion", iam_create_policy_version},
    {"CreateRole", iam_create_role},
    {"CreateSAMLProvider", iam_create_saml_provider},
    {"CreateServiceLinkedRole", iam_create_service_linked_role},
    {"CreateServiceSpecificCredential", iam_create_service_specific_credential},
    {"CreateUser", iam_create_user},
    {"CreateVirtualMFADevice", iam_create_virtual_mfa_device},
    {"DeactivateMFADevice", iam_deactivate_mfa_device},
    {"DeleteAccessKey", iam_delete_access_key},
    {"DeleteAccountAlias", iam_delete_account_alias},
    {"DeleteAccountPasswordPolicy", iam_delete_password_policy},
    {"DeleteGroup", iam_delete_group},
    {"DeleteGroupPolicy", iam_delete_principal_policy},
    {"DeleteInstanceProfile", iam_delete_instance_profile},
    {"DeleteLoginProfile", iam_delete_login_profile},
    {"DeleteOpenIDConnectProvider", iam_delete_oidc_provider},
    {"DeletePolicy", iam_delete_policy},
    {"DeletePolicyVersion", iam_delete_policy_version},
    {"DeleteRole", iam_delete_role},
    {"DeleteRolePermissionsBoundary", iam_delete_boundary},
    {"DeleteRolePolicy", iam_delete_principal_policy},
    {"DeleteSAMLProvider", iam_delete_saml_provider},
    {"DeleteSSHPublicKey", iam_delete_ssh_public_key},
    {"DeleteServerCertificate", iam_delete_server_certificate},
    {"DeleteServiceLinkedRole", iam_delete_service_linked_role},
    {"DeleteServiceSpecificCredential", iam_delete_service_specific_credential},
    {"DeleteSigningCertificate", iam_delete_signing_certificate},
    {"DeleteUser", iam_delete_user},
    {"DeleteUserPermissionsBoundary", iam_delete_boundary},
    {"DeleteUserPolicy", iam_delete_principal_policy},
    {"DeleteVirtualMFADevice", iam_delete_virtual_mfa_device},
    {"DetachGroupPolicy", iam_detach_principal_policy},
    {"DetachRolePolicy", iam_detach_principal_policy},
    {"DetachUserPolicy", iam_detach_principal_policy},
    {"EnableMFADevice", iam_enable_mfa_device},
    {"GenerateCredentialReport", iam_generate_credential_report},
    {"GetAccessKeyLastUsed", iam_get_access_key_last_used},
    {"GetAccountAuthorizationDetails", iam_get_account_authorization_details},
    {"GetAccountPasswordPolicy", iam_get_password_policy},
    {"GetAccountSummary", iam_get_account_summary},
    {"GetContextKeysForCustomPolicy", iam_get_context_keys_for_custom_policy},
    {"GetContextKeysForPrincipalPolicy", iam_get_context_keys_for_principal_policy},
    {"GetCredentialReport", iam_get_credential_report},
    {"GetGroup", iam_get_group},
    {"GetGroupPolicy", iam_get_principal_policy},
    {"GetInstanceProfile", iam_get_instance_profile},
    {"GetLoginProfile", iam_get_login_profile},
    {"GetOpenIDConnectProvider", iam_get_oidc_provider},
    {"GetPolicy", iam_get_policy},
    {"GetPolicyVersion", iam_get_policy_version},
    {"GetRole", iam_get_role},
    {"GetRolePolicy", iam_get_principal_policy},
    {"GetSAMLProvider", iam_get_saml_provider},
    {"GetSSHPublicKey", iam_get_ssh_public_key},
    {"GetServerCertificate", iam_get_server_certificate},
    {"GetServiceLinkedRoleDeletionStatus", iam_get_service_linked_role_deletion_status},
    {"GetUser", iam_get_user},
    {"GetUserPolicy", iam_get_principal_policy},
    {"ListAccessKeys", iam_list_access_keys},
    {"ListAccountAliases", iam_list_account_aliases},
    {"ListAttachedGroupPolicies", iam_list_attached_policies},
    {"ListAttachedRolePolicies", iam_list_attached_policies},
    {"ListAttachedUserPolicies", iam_list_attached_policies},
    {"ListEntitiesForPolicy", iam_list_entities_for_policy},
    {"ListGroupPolicies", iam_list_principal_policies},
    {"ListGroups", iam_list_groups},
    {"ListGroupsForUser", iam_list_groups_for_user},
    {"ListInstanceProfileTags", iam_list_instance_profile_tags},
    {"ListInstanceProfiles", iam_list_instance_profiles},
    {"ListInstanceProfilesForRole", iam_list_instance_profiles_for_role},
    {"ListMFADeviceTags", iam_list_mfa_device_tags},
    {"ListMFADevices", iam_list_mfa_devices},
    {"ListOpenIDConnectProviderTags", iam_list_provider_tags},
    {"ListOpenIDConnectProviders", iam_list_oidc_providers},
    {"ListPolicies", iam_list_policies},
    {"ListPolicyTags", iam_list_policy_tags},
    {"ListPolicyVersions", iam_list_policy_versions},
    {"ListRolePolicies", iam_list_principal_policies},
    {"ListRoleTags", iam_list_principal_tags},
    {"ListRoles", iam_list_roles},
    {"ListSAMLProviderTags", iam_list_provider_tags},
    {"ListSAMLProviders", iam_list_saml_providers},
    {"ListSSHPublicKeys", iam_list_ssh_public_keys},
    {"ListServerCertificateTags", iam_list_server_certificate_tags},
    {"ListServerCertificates", iam_list_server_certificates},
    {"ListServiceSpecificCredentials", iam_list_service_specific_credentials},
    {"ListSigningCertificates", iam_list_signing_certificates},
    {"ListUserPolicies", iam_list_principal_policies},
    {"ListUserTags", iam_list_principal_tags},
    {"ListUsers", iam_list_users},
    {"ListVirtualMFADevices", iam_list_virtual_mfa_devices},
    {"PutGroupPolicy", iam_put_principal_policy},
    {"PutRolePermissionsBoundary", iam_put_boundary},
    {"PutRolePolicy", iam_put_principal_policy},
    {"PutUserPermissionsBoundary", iam_put_boundary},
    {"PutUserPolicy", iam_put_principal_policy},
    {"RemoveClientIDFromOpenIDConnectProvider", iam_remove_client_id},
    {"RemoveRoleFromInstanceProfile", iam_remove_role_from_instance_profile},
    {"RemoveUserFromGroup", iam_remove_user_from_group},
    {"ResetServiceSpecificCredential", iam_reset_service_specific_credential},
    {"ResyncMFADevice", iam_resync_mfa_device},
    {"SetDefaultPolicyVersion", iam_set_default_policy_version},
    {"SimulateCustomPolicy", iam_simulate_custom_policy},
    {"SimulatePrincipalPolicy", iam_simulate_principal_policy},
    {"TagInstanceProfile", iam_tag_instance_profile},
    {"TagMFADevice", iam_tag_mfa_device},
    {"TagOpenIDConnectProvider", iam_tag_provider},
    {"TagPolicy", iam_tag_policy},
    {"TagRole", iam_tag_principal},
    {"TagSAMLProvider", iam_tag_provider},
    {"TagServerCertificate", iam_tag_server_certificate},
    {"TagUser", iam_tag_principal},
    {"UntagInstanceProfile", iam_untag_instance_profile},
    {"UntagMFADevice", iam_untag_mfa_device},
    {"UntagOpenIDConnectProvider", iam_untag_provider},
    {"UntagPolicy", iam_untag_policy},
    {"UntagRole", iam_untag_principal},
    {"UntagSAMLProvider", iam_untag_provider},
    {"UntagServerCertificate", iam_untag_server_certificate},
    {"UntagUser", iam_untag_principal},
    {"UpdateAccessKey", iam_update_access_key},
    {"UpdateAccountPasswordPolicy", iam_update_password_policy},
    {"UpdateAssumeRolePolicy", iam_update_assume_role_policy},
    {"UpdateGroup", iam_update_group},
    {"UpdateLoginProfile", iam_update_login_profile},
    {"UpdateOpenIDConnectProviderThumbprint", iam_update_thumbprint},
    {"UpdateRole", iam_update_role},
    {"UpdateRoleDescription", iam_update_role_description},
    {"UpdateSAMLProvider", iam_update_saml_provider},
    {"UpdateSSHPublicKey", iam_update_ssh_public_key},
    {"UpdateServerCertificate", iam_update_server_certificate},
    {"UpdateServiceSpecificCredential", iam_update_service_specific_credential},
    {"UpdateSigningCertificate", iam_update_signing_certificate},
    {"UpdateUser", iam_update_user},
    {"UploadSSHPublicKey", iam_upload_ssh_public_key},
    {"UploadServerCertificate", iam_upload_server_certificate},
    {"UploadSigningCertificate", iam_upload_signing_certificate},
};

const aws_service aws_service_iam = {
    .name = "iam",
    .model_name = "iam",
    .operations = iam_operations,
    .operation_count = sizeof(iam_operations) / sizeof(iam_operations[0]),
    .create = iam_create,
    .reset = iam_reset,
    .destroy = iam_destroy,
};
