/*
 * iam_report.c — what IAM answers about the whole account:
 * GetAccountAuthorizationDetails (users, groups, roles and managed policies
 * with their documents, one paginated list across the four), GetAccountSummary
 * (counts and AWS's default quotas), and the policy simulator
 * (SimulatePrincipalPolicy over the policies stored for a user, group or role,
 * SimulateCustomPolicy over given documents) using iam_eval.c, and the
 * credential report (the CSV AWS documents, made when generated).
 */
#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/jsonutil.h"
#include "emulator/iam/iam_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

/* ---- GetAccountAuthorizationDetails ---- */

static json_t *inline_list(const json_t *rec) {
  json_t *list = json_array();
  const char *name;
  json_t *doc;
  json_object_foreach(json_object_get(rec, "_inline"), name, doc) {
    json_array_append_new(list, json_pack("{s:s, s:o}", "PolicyName", name, "PolicyDocument",
                                          iam_encoded(json_string_value(doc))));
  }
  return list;
}

static json_t *attached_list(iam_ctx *c, const json_t *rec) {
  json_t *list = json_array();
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(rec, "_attached"), i, a) {
    json_t *p = iam_policy(c, json_string_value(a));
    if (p)
      json_array_append_new(list, json_pack("{s:O, s:O}", "PolicyName",
                                            json_object_get(p, "PolicyName"), "PolicyArn", a));
  }
  return list;
}

static json_t *user_detail(iam_ctx *c, const json_t *u) {
  json_t *d = iam_public(u);
  json_object_set_new(d, "UserPolicyList", inline_list(u));
  json_object_set_new(d, "AttachedManagedPolicies", attached_list(c, u));
  json_t *groups = json_object_get(u, "_groups");
  json_object_set_new(d, "GroupList", groups ? json_copy(groups) : json_array());
  return d;
}

static json_t *group_detail(iam_ctx *c, const json_t *g) {
  json_t *d = iam_public(g);
  json_object_set_new(d, "GroupPolicyList", inline_list(g));
  json_object_set_new(d, "AttachedManagedPolicies", attached_list(c, g));
  return d;
}

static json_t *role_detail(iam_ctx *c, const json_t *r) {
  json_t *d = iam_role_out(r, 1);
  json_object_set_new(d, "RolePolicyList", inline_list(r));
  json_object_set_new(d, "AttachedManagedPolicies", attached_list(c, r));
  json_t *profiles = json_array();
  const char *key;
  json_t *p;
  json_object_foreach(iam_map(c, "profiles"), key, p) {
    size_t i;
    json_t *name;
    json_array_foreach(json_object_get(p, "_roles"), i, name) {
      if (!strcasecmp(json_string_value(name), jsonutil_string(r, "RoleName"))) {
        json_t *pub = iam_public(p);
        json_object_set_new(pub, "Roles", json_pack("[o]", iam_role_out(r, 0)));
        json_array_append_new(profiles, pub);
      }
    }
  }
  json_object_set_new(d, "InstanceProfileList", profiles);
  return d;
}

static json_t *policy_detail(iam_ctx *c, json_t *p) {
  json_t *d = iam_policy_out(c, p);
  json_object_del(d, "Tags");
  json_t *versions = json_array();
  const char *id;
  json_t *v;
  json_object_foreach(json_object_get(p, "_versions"), id, v) {
    json_array_append_new(versions,
                          json_pack("{s:o, s:O, s:O, s:O}", "Document",
                                    iam_encoded(jsonutil_string(v, "Document")), "VersionId",
                                    json_object_get(v, "VersionId"), "IsDefaultVersion",
                                    json_object_get(v, "IsDefaultVersion"), "CreateDate",
                                    json_object_get(v, "CreateDate")));
  }
  json_object_set_new(d, "PolicyVersionList", versions);
  return d;
}

static int wanted(const json_t *filter, const char *what) {
  if (json_array_size(filter) == 0)
    return 1;
  size_t i;
  json_t *f;
  json_array_foreach(filter, i, f) {
    if (!strcmp(json_string_value(f), what))
      return 1;
  }
  return 0;
}

static void add_all(json_t *all, int k, json_t *item) {
  json_array_append_new(all, json_pack("{s:i, s:o}", "k", k, "v", item));
}

IAM_HANDLER(iam_get_account_authorization_details) {
  json_t *filter = json_object_get(input, "Filter");
  static const char *members[5] = {"UserDetailList", "GroupDetailList", "RoleDetailList",
                                   "Policies", "Policies"};
  json_t *all = json_array();
  const char *key;
  json_t *rec;
  if (wanted(filter, "User"))
    json_object_foreach(iam_map(c, "users"), key, rec) add_all(all, 0, user_detail(c, rec));
  if (wanted(filter, "Group"))
    json_object_foreach(iam_map(c, "groups"), key, rec) add_all(all, 1, group_detail(c, rec));
  if (wanted(filter, "Role"))
    json_object_foreach(iam_map(c, "roles"), key, rec) add_all(all, 2, role_detail(c, rec));
  if (wanted(filter, "LocalManagedPolicy"))
    json_object_foreach(iam_map(c, "policies"), key, rec) add_all(all, 3, policy_detail(c, rec));
  /* AWS-managed policies appear once attached somewhere, as in AWS's answer
   * (listing every AWS policy would bury the account's own). */
  if (wanted(filter, "AWSManagedPolicy"))
    json_object_foreach(iam_map(c, "aws"), key, rec) {
      if (iam_policy_usage(c, key, 0) || iam_policy_usage(c, key, 1))
        add_all(all, 4, policy_detail(c, rec));
    }
  json_t *out = iam_page(c, input, all, "_all", json_object());
  if (!out)
    return NULL;
  for (int k = 0; k < 4; k++)
    json_object_set_new(out, members[k], json_array());
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(out, "_all"), i, e) {
    json_int_t k = json_integer_value(json_object_get(e, "k"));
    json_array_append(json_object_get(out, members[k]), json_object_get(e, "v"));
  }
  json_object_del(out, "_all");
  return out;
}

/* ---- GetAccountSummary ---- */

IAM_HANDLER(iam_get_account_summary) {
  (void)input;
  size_t versions = 0, keys = json_object_size(json_object_get(iam_map(c, "root"), "_keys"));
  const char *key;
  json_t *rec;
  json_object_foreach(iam_map(c, "policies"), key, rec) {
    versions += json_object_size(json_object_get(rec, "_versions"));
  }
  size_t mfa_in_use = 0;
  json_object_foreach(iam_map(c, "mfa"), key, rec) {
    mfa_in_use += json_object_get(rec, "_user") != NULL;
  }
  json_t *m = json_pack(
      "{s:I, s:i, s:I, s:i, s:I, s:i, s:I, s:i, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:i, s:i, "
      "s:i, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
      "Users", (json_int_t)json_object_size(iam_map(c, "users")), "UsersQuota", 5000, "Groups",
      (json_int_t)json_object_size(iam_map(c, "groups")), "GroupsQuota", 300, "Roles",
      (json_int_t)json_object_size(iam_map(c, "roles")), "RolesQuota", 1000, "Policies",
      (json_int_t)json_object_size(iam_map(c, "policies")), "PoliciesQuota", 1500,
      "InstanceProfiles", (json_int_t)json_object_size(iam_map(c, "profiles")),
      "InstanceProfilesQuota", 1000, "AccessKeysPerUserQuota", IAM_MAX_ACCESS_KEYS,
      "GroupsPerUserQuota", IAM_MAX_GROUPS_PER_USER, "AttachedPoliciesPerUserQuota",
      IAM_MAX_ATTACHED, "AttachedPoliciesPerGroupQuota", IAM_MAX_ATTACHED,
      "AttachedPoliciesPerRoleQuota", IAM_MAX_ATTACHED, "PolicyVersionsInUse", (json_int_t)versions,
      "PolicyVersionsInUseQuota", 10000, "PolicySizeQuota", IAM_MAX_MANAGED_POLICY,
      "VersionsPerPolicyQuota", IAM_MAX_POLICY_VERSIONS, "Providers",
      (json_int_t)(json_object_size(iam_map(c, "oidc")) + json_object_size(iam_map(c, "saml"))),
      "AccountAccessKeysPresent", keys > 0, "AccountMFAEnabled", 0, "MFADevices",
      (int)json_object_size(iam_map(c, "mfa")), "MFADevicesInUse", (int)mfa_in_use,
      "ServerCertificates", (int)json_object_size(iam_map(c, "servercerts")),
      "ServerCertificatesQuota", 20, "AccountSigningCertificatesPresent",
      json_object_size(json_object_get(iam_map(c, "root"), "_signing")) > 0, "UserPolicySizeQuota",
      2048, "GroupPolicySizeQuota", 5120, "RolePolicySizeQuota", 10240, "AssumeRolePolicySizeQuota",
      IAM_MAX_TRUST_POLICY);
  return json_pack("{s:o}", "SummaryMap", m);
}

/* ---- the simulator ---- */

/* A policy to evaluate: its id and type as MatchedStatements name them. */
static void add_source(json_t *list, const char *id, const char *type, json_t *doc) {
  if (doc)
    json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "id", id, "type", type, "doc", doc));
}

static json_t *parse_stored(const char *text) {
  json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
  if (!json_is_object(doc)) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

/* The inline and attached policies of a principal record into list. */
static void add_principal(iam_ctx *c, json_t *list, const json_t *rec, const char *type) {
  const char *name;
  json_t *text;
  json_object_foreach(json_object_get(rec, "_inline"), name, text) {
    add_source(list, name, type, parse_stored(json_string_value(text)));
  }
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(rec, "_attached"), i, a) {
    const char *arn = json_string_value(a);
    json_t *p = iam_policy(c, arn);
    add_source(list, jsonutil_string(p, "PolicyName"),
               strstr(arn, ":iam::aws:policy/") ? "aws-managed" : "user-managed",
               parse_stored(iam_policy_document(c, arn)));
  }
}

/* Parses input[member] (a list of policy documents) into list; -1 after
 * MalformedPolicyDocument. */
static int add_inputs(iam_ctx *c, json_t *list, json_t *input, const char *member) {
  size_t i;
  json_t *text;
  json_array_foreach(json_object_get(input, member), i, text) {
    json_t *doc = iam_check_document(c, json_string_value(text), IAM_DOC_IDENTITY);
    if (!doc)
      return -1;
    char id[64];
    snprintf(id, sizeof(id), "%s.%zu", member, i + 1);
    add_source(list, id, "none", doc);
  }
  return 0;
}

/* The decision of a list of policies for one action and resource; the
 * statements that decided into matched. */
static iam_decision eval_list(const json_t *list, const char *action, const char *resource,
                              const json_t *context, json_t *missing, json_t *matched) {
  iam_decision result = IAM_IMPLICIT_DENY;
  json_t *allows = json_array(), *denies = json_array();
  size_t i;
  json_t *src;
  json_array_foreach(list, i, src) {
    int at = -1;
    iam_decision d =
        iam_eval_document(json_object_get(src, "doc"), action, resource, context, missing, &at);
    if (d == IAM_IMPLICIT_DENY)
      continue;
    json_t *m = json_pack("{s:O, s:O}", "SourcePolicyId", json_object_get(src, "id"),
                          "SourcePolicyType", json_object_get(src, "type"));
    json_array_append_new(d == IAM_EXPLICIT_DENY ? denies : allows, m);
    if (d == IAM_EXPLICIT_DENY)
      result = IAM_EXPLICIT_DENY;
    else if (result == IAM_IMPLICIT_DENY)
      result = IAM_ALLOWED;
  }
  if (matched)
    json_array_extend(matched, result == IAM_EXPLICIT_DENY ? denies : allows);
  json_decref(allows);
  json_decref(denies);
  return result;
}

static const char *decision_name(iam_decision d) {
  return d == IAM_ALLOWED ? "allowed" : d == IAM_EXPLICIT_DENY ? "explicitDeny" : "implicitDeny";
}

/* {lower-case key → [values]} from ContextEntries. */
static json_t *context_of(json_t *input) {
  json_t *ctx = json_object();
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(input, "ContextEntries"), i, e) {
    const char *key = jsonutil_string(e, "ContextKeyName");
    json_t *values = json_object_get(e, "ContextKeyValues");
    if (!key || strlen(key) > 255)
      continue;
    char lkey[256];
    size_t n = strlen(key);
    for (size_t j = 0; j <= n; j++)
      lkey[j] = (char)(key[j] >= 'A' && key[j] <= 'Z' ? key[j] + 32 : key[j]);
    json_object_set_new(ctx, lkey, values ? json_copy(values) : json_array());
  }
  return ctx;
}

/* Evaluates every action on every resource; boundary (may be empty) limits
 * what the policies allow. */
static json_t *simulate(iam_ctx *c, json_t *input, json_t *policies, json_t *boundary) {
  json_t *actions = json_object_get(input, "ActionNames");
  json_t *resources = json_object_get(input, "ResourceArns");
  json_t *ctx = context_of(input);
  json_t *results = json_array();
  size_t nr = json_array_size(resources) ? json_array_size(resources) : 1;
  size_t i;
  json_t *a;
  json_array_foreach(actions, i, a) {
    for (size_t j = 0; j < nr; j++) {
      const char *action = json_string_value(a);
      const char *resource =
          json_array_size(resources) ? json_string_value(json_array_get(resources, j)) : "*";
      if (!action || !resource)
        continue;
      json_t *missing = json_array(), *matched = json_array();
      iam_decision d = eval_list(policies, action, resource, ctx, missing, matched);
      json_t *r = json_pack("{s:s, s:s}", "EvalActionName", action, "EvalResourceName", resource);
      if (json_array_size(boundary)) {
        iam_decision b = eval_list(boundary, action, resource, ctx, missing, NULL);
        json_object_set_new(r, "PermissionsBoundaryDecisionDetail",
                            json_pack("{s:b}", "AllowedByPermissionsBoundary", b == IAM_ALLOWED));
        if (d == IAM_ALLOWED && b != IAM_ALLOWED) {
          d = b == IAM_EXPLICIT_DENY ? IAM_EXPLICIT_DENY : IAM_IMPLICIT_DENY;
          json_array_clear(matched);
        }
      }
      json_object_set_new(r, "EvalDecision", json_string(decision_name(d)));
      json_object_set_new(r, "MatchedStatements", matched);
      json_object_set_new(r, "MissingContextValues", missing);
      json_array_append_new(results, r);
    }
  }
  json_decref(ctx);
  return iam_page(c, input, results, "EvaluationResults", json_object());
}

static int check_actions(iam_ctx *c, json_t *input) {
  if (json_array_size(json_object_get(input, "ActionNames")) == 0) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value at 'actionNames' failed to satisfy constraint: "
             "Member must have length greater than or equal to 1");
    return -1;
  }
  return 0;
}

/* The user, group or role a PolicySourceArn names; -1 after the error. */
static int source_of(iam_ctx *c, const char *arn, json_t **rec, iam_kind *kind) {
  char account[13] = "", type[16] = "";
  int off = 0;
  if (!arn || sscanf(arn, "arn:%*[a-z-]:iam::%12[0-9]:%15[a-z]/%n", account, type, &off) < 2 ||
      off == 0) {
    iam_fail(c, 400, "InvalidInput", "Invalid ARN: Could not be parsed!");
    return -1;
  }
  if (strcmp(type, "user") && strcmp(type, "group") && strcmp(type, "role")) {
    iam_fail(c, 400, "InvalidInput", "Invalid ARN: %s is not a user, group or role.", arn);
    return -1;
  }
  const char *name = strrchr(arn, '/') + 1;
  *kind = !strcmp(type, "user") ? IAM_USER : !strcmp(type, "group") ? IAM_GROUP : IAM_ROLE;
  *rec = strcmp(account, c->account) ? NULL : iam_get(iam_map(c, iam_kinds[*kind].store), name);
  if (!*rec) {
    iam_no_entity(c, "The %s with name %s cannot be found.", iam_kinds[*kind].noun, name);
    return -1;
  }
  return 0;
}

/* A principal's policies, and for a user its groups' too. */
static void add_principal_all(iam_ctx *c, json_t *policies, const json_t *rec, iam_kind kind) {
  add_principal(c, policies, rec, iam_kinds[kind].noun);
  if (kind != IAM_USER)
    return;
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(rec, "_groups"), i, g) {
    json_t *group = iam_get(iam_map(c, "groups"), json_string_value(g));
    if (group)
      add_principal(c, policies, group, "group");
  }
}

IAM_HANDLER(iam_simulate_principal_policy) {
  json_t *rec = NULL;
  iam_kind kind = IAM_USER;
  if (check_actions(c, input) < 0 ||
      source_of(c, jsonutil_string(input, "PolicySourceArn"), &rec, &kind) < 0)
    return NULL;
  json_t *policies = json_array(), *boundary = json_array();
  add_principal_all(c, policies, rec, kind);
  const char *b =
      jsonutil_string(json_object_get(rec, "PermissionsBoundary"), "PermissionsBoundaryArn");
  if (b)
    add_source(boundary, b, "user-managed", parse_stored(iam_policy_document(c, b)));
  json_t *out = NULL;
  if (add_inputs(c, policies, input, "PolicyInputList") == 0 &&
      add_inputs(c, boundary, input, "PermissionsBoundaryPolicyInputList") == 0)
    out = simulate(c, input, policies, boundary);
  json_decref(policies);
  json_decref(boundary);
  return out;
}

IAM_HANDLER(iam_simulate_custom_policy) {
  if (check_actions(c, input) < 0)
    return NULL;
  json_t *policies = json_array(), *boundary = json_array();
  json_t *out = NULL;
  if (add_inputs(c, policies, input, "PolicyInputList") == 0 &&
      add_inputs(c, boundary, input, "PermissionsBoundaryPolicyInputList") == 0)
    out = simulate(c, input, policies, boundary);
  json_decref(policies);
  json_decref(boundary);
  return out;
}

/* ---- GetContextKeysFor*Policy ---- */

static json_t *context_keys(json_t *policies) {
  json_t *keys = json_array();
  size_t i;
  json_t *src;
  json_array_foreach(policies, i, src) { iam_eval_context_keys(json_object_get(src, "doc"), keys); }
  return json_pack("{s:o}", "ContextKeyNames", keys);
}

IAM_HANDLER(iam_get_context_keys_for_custom_policy) {
  json_t *policies = json_array();
  json_t *out =
      add_inputs(c, policies, input, "PolicyInputList") == 0 ? context_keys(policies) : NULL;
  json_decref(policies);
  return out;
}

IAM_HANDLER(iam_get_context_keys_for_principal_policy) {
  const char *arn = jsonutil_string(input, "PolicySourceArn");
  json_t *rec = NULL;
  iam_kind kind = IAM_USER;
  if (source_of(c, arn, &rec, &kind) < 0)
    return NULL;
  json_t *policies = json_array();
  add_principal_all(c, policies, rec, kind);
  json_t *out =
      add_inputs(c, policies, input, "PolicyInputList") == 0 ? context_keys(policies) : NULL;
  json_decref(policies);
  return out;
}

/* ---- the credential report ---- */

#define IAM_REPORT_TTL (4 * 3600) /* AWS: a report older than four hours has expired */

static void csv_time(dynbuf *b, const json_t *t) {
  if (!json_is_number(t)) {
    dynbuf_puts(b, "N/A");
    return;
  }
  char buf[32];
  time_t v = (time_t)json_number_value(t);
  struct tm tm;
  gmtime_r(&v, &tm);
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  dynbuf_puts(b, buf);
}

/* One user's row: its password and its first two access keys. */
static void csv_user(iam_ctx *c, dynbuf *b, const json_t *u) {
  dynbuf_printf(b, "%s,%s,", jsonutil_string(u, "UserName"), jsonutil_string(u, "Arn"));
  csv_time(b, json_object_get(u, "CreateDate"));
  json_t *login = json_object_get(u, "_login");
  dynbuf_printf(b, ",%s,N/A,", login ? "true" : "false");
  json_t *changed = json_object_get(login, "_changed");
  csv_time(b, changed ? changed : json_object_get(login, "CreateDate"));
  dynbuf_printf(b, ",N/A,%s", json_array_size(json_object_get(u, "_mfa")) ? "true" : "false");
  const char *id;
  json_t *key;
  int n = 0;
  json_object_foreach(json_object_get(u, "_keys"), id, key) {
    if (n++ == 2)
      break;
    dynbuf_printf(b, ",%s,", strcmp(jsonutil_string(key, "Status"), "Active") ? "false" : "true");
    csv_time(b, json_object_get(key, "CreateDate"));
    /* Where the gateway last saw the key (the credential table), else where
     * it was when it was made inactive. */
    json_t *issued = emulator_credentials_get(c->st->emu, id);
    json_t *used = json_object_get(issued, "LastUsed");
    if (!used)
      used = json_object_get(key, "_last_used");
    dynbuf_puts(b, ",");
    csv_time(b, json_object_get(used, "LastUsedDate"));
    dynbuf_printf(b, ",%s,%s", used ? jsonutil_string(used, "Region") : "N/A",
                  used ? jsonutil_string(used, "ServiceName") : "N/A");
    json_decref(issued);
  }
  for (; n < 2; n++)
    dynbuf_puts(b, ",false,N/A,N/A,N/A,N/A");
  /* The first two signing certificates: active, and when uploaded. */
  json_t *cert;
  n = 0;
  json_object_foreach(json_object_get(u, "_signing"), id, cert) {
    if (n++ == 2)
      break;
    dynbuf_printf(b, ",%s,", strcmp(jsonutil_string(cert, "Status"), "Active") ? "false" : "true");
    csv_time(b, json_object_get(cert, "UploadDate"));
  }
  for (; n < 2; n++)
    dynbuf_puts(b, ",false,N/A");
  dynbuf_puts(b, "\n");
}

IAM_HANDLER(iam_generate_credential_report) {
  (void)input;
  json_t *report = json_object_get(c->acct, "report");
  double now = iam_now();
  int fresh = report && now - json_number_value(json_object_get(report, "at")) < IAM_REPORT_TTL;
  if (fresh)
    return json_pack("{s:s}", "State", "COMPLETE");
  dynbuf b;
  dynbuf_init(&b, 64u << 20);
  dynbuf_puts(&b, "user,arn,user_creation_time,password_enabled,password_last_used,"
                  "password_last_changed,password_next_rotation,mfa_active,access_key_1_active,"
                  "access_key_1_last_rotated,access_key_1_last_used_date,"
                  "access_key_1_last_used_region,access_key_1_last_used_service,"
                  "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
                  "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
                  "cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n");
  /* The account's root first, as AWS lists it. */
  json_t *root_keys = json_object_get(iam_map(c, "root"), "_keys");
  char *root = iam_arn(c, "root", "", "");
  dynbuf_printf(&b, "<root_account>,%s,N/A,not_supported,N/A,not_supported,not_supported,false",
                root ? root : "");
  free(root);
  size_t rn = json_object_size(root_keys);
  dynbuf_printf(&b, ",%s,N/A,N/A,N/A,N/A,%s,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
                rn > 0 ? "true" : "false", rn > 1 ? "true" : "false");
  const char *key;
  json_t *u;
  json_object_foreach(iam_map(c, "users"), key, u) { csv_user(c, &b, u); }
  size_t len = 0;
  char *csv = dynbuf_take(&b, &len);
  char *b64 = csv ? codec_base64_encode(csv, len) : NULL;
  free(csv);
  if (!b64)
    return iam_fail(c, 500, "ServiceFailure", "The credential report is too large.");
  json_object_set_new(c->acct, "report", json_pack("{s:s, s:f}", "content", b64, "at", now));
  free(b64);
  return json_pack("{s:s, s:s}", "State", "STARTED", "Description",
                   "No report exists. Starting a new report generation task");
}

IAM_HANDLER(iam_get_credential_report) {
  (void)input;
  json_t *report = json_object_get(c->acct, "report");
  if (!report)
    return iam_fail(c, 0, "ReportNotPresent",
                    "Credential report not present. Call GenerateCredentialReport first.");
  if (iam_now() - json_number_value(json_object_get(report, "at")) >= IAM_REPORT_TTL)
    return iam_fail(c, 0, "ReportExpired",
                    "The credential report has expired. Call GenerateCredentialReport again.");
  return json_pack("{s:O, s:s, s:O}", "Content", json_object_get(report, "content"), "ReportFormat",
                   "text/csv", "GeneratedTime", json_object_get(report, "at"));
}
