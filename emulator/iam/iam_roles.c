/*
 * iam_roles.c — IAM roles: trust policies (validated as trust policies: a
 * Principal, no Resource; kept as sent and answered percent-encoded),
 * MaxSessionDuration (which STS AssumeRole honours, iam.h), descriptions,
 * RoleLastUsed (recorded by STS), and service-linked roles with their
 * deletion tasks. Roles under /aws-service-role/ are protected as in AWS.
 */
#include "common/codec.h"
#include "common/jsonutil.h"
#include "emulator/iam/iam.h"
#include "emulator/iam/iam_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SLR_PATH "/aws-service-role/"

json_t *iam_role_out(const json_t *role, int full) {
  json_t *out = iam_public(role);
  json_object_set_new(out, "AssumeRolePolicyDocument",
                      iam_encoded(jsonutil_string(role, "_trust")));
  if (!full) {
    json_object_del(out, "Tags");
    json_object_del(out, "PermissionsBoundary");
    json_object_del(out, "RoleLastUsed");
  } else if (!json_object_get(out, "RoleLastUsed")) {
    json_object_set_new(out, "RoleLastUsed", json_object());
  }
  return out;
}

static int check_trust(iam_ctx *c, const char *text) {
  json_t *doc = iam_check_document(c, text, IAM_DOC_TRUST);
  if (!doc)
    return -1;
  json_decref(doc);
  if (iam_doc_size(text) > IAM_MAX_TRUST_POLICY) {
    iam_fail(c, 409, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: %d",
             IAM_MAX_TRUST_POLICY);
    return -1;
  }
  return 0;
}

static int check_duration(iam_ctx *c, json_t *input) {
  json_t *d = json_object_get(input, "MaxSessionDuration");
  if (!d)
    return 0;
  json_int_t v = json_integer_value(d);
  if (v < 3600 || v > 43200) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value '%lld' at 'maxSessionDuration' failed to "
             "satisfy constraint: Member must have value %s",
             (long long)v,
             v < 3600 ? "greater than or equal to 3600" : "less than or equal to 43200");
    return -1;
  }
  return 0;
}

/* A new role (takes nothing; the record is stored and borrowed back). */
static json_t *role_new(iam_ctx *c, const char *name, const char *path, const char *trust) {
  char id[32];
  iam_new_id(id, "AROA");
  char *arn = iam_arn(c, "role", path, name);
  json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:f, s:i, s:s}", "Path", path, "RoleName", name,
                          "RoleId", id, "Arn", arn ? arn : "", "CreateDate", iam_now(),
                          "MaxSessionDuration", 3600, "_trust", trust);
  free(arn);
  return rec;
}

IAM_HANDLER(iam_create_role) {
  if (iam_check_name(c, input, "RoleName", 64, 1) < 0 || iam_check_path(c, input, "Path") < 0 ||
      iam_check_description(c, input) < 0 || check_duration(c, input) < 0)
    return NULL;
  const char *name = jsonutil_string(input, "RoleName");
  const char *trust = jsonutil_string(input, "AssumeRolePolicyDocument");
  if (check_trust(c, trust) < 0)
    return NULL;
  json_t *roles = iam_map(c, "roles");
  if (iam_get(roles, name))
    return iam_fail(c, 409, "EntityAlreadyExists", "Role with name %s already exists.", name);
  const char *boundary = jsonutil_string(input, "PermissionsBoundary");
  if (boundary && !iam_policy(c, boundary))
    return iam_no_entity(c, "Scope ARN: %.2048s does not exist or is not attachable.", boundary);
  const char *path = jsonutil_string(input, "Path");
  json_t *rec = role_new(c, name, path ? path : "/", trust);
  if (iam_tags_merge(c, rec, input) < 0) {
    json_decref(rec);
    return NULL;
  }
  json_t *v;
  if ((v = json_object_get(input, "Description")))
    json_object_set(rec, "Description", v);
  if ((v = json_object_get(input, "MaxSessionDuration")))
    json_object_set(rec, "MaxSessionDuration", v);
  if (boundary)
    json_object_set_new(rec, "PermissionsBoundary",
                        json_pack("{s:s, s:s}", "PermissionsBoundaryType", "Policy",
                                  "PermissionsBoundaryArn", boundary));
  iam_put(roles, name, rec);
  json_t *out = iam_role_out(rec, 1);
  json_object_del(out, "RoleLastUsed");
  return json_pack("{s:o}", "Role", out);
}

IAM_HANDLER(iam_get_role) {
  json_t *role = iam_principal(c, IAM_ROLE, input);
  return role ? json_pack("{s:o}", "Role", iam_role_out(role, 1)) : NULL;
}

/* The role input names, when the caller may change it (not service-linked). */
static json_t *mutable_role(iam_ctx *c, json_t *input) {
  json_t *role = iam_principal(c, IAM_ROLE, input);
  if (role && !strncmp(jsonutil_string(role, "Path"), SLR_PATH, strlen(SLR_PATH))) {
    iam_fail(c, 400, "UnmodifiableEntity",
             "Cannot perform the operation on the protected role '%s' - this role is only "
             "modifiable by AWS",
             jsonutil_string(role, "RoleName"));
    return NULL;
  }
  return role;
}

IAM_HANDLER(iam_update_role) {
  json_t *role = mutable_role(c, input);
  if (!role || iam_check_description(c, input) < 0 || check_duration(c, input) < 0)
    return NULL;
  json_t *v;
  if ((v = json_object_get(input, "Description")))
    json_object_set(role, "Description", v);
  if ((v = json_object_get(input, "MaxSessionDuration")))
    json_object_set(role, "MaxSessionDuration", v);
  return json_object();
}

IAM_HANDLER(iam_update_role_description) {
  json_t *role = mutable_role(c, input);
  if (!role || iam_check_description(c, input) < 0)
    return NULL;
  json_object_set(role, "Description", json_object_get(input, "Description"));
  return json_pack("{s:o}", "Role", iam_role_out(role, 1));
}

IAM_HANDLER(iam_update_assume_role_policy) {
  json_t *role = mutable_role(c, input);
  const char *text = jsonutil_string(input, "PolicyDocument");
  if (role && check_trust(c, text) == 0)
    json_object_set_new(role, "_trust", json_string(text));
  return NULL;
}

/* 1 when an instance profile of the account holds role. */
static int in_profile(iam_ctx *c, const char *role) {
  const char *key;
  json_t *p;
  json_object_foreach(iam_map(c, "profiles"), key, p) {
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(p, "_roles"), i, r) {
      if (!strcasecmp(json_string_value(r), role))
        return 1;
    }
  }
  return 0;
}

IAM_HANDLER(iam_delete_role) {
  json_t *role = mutable_role(c, input);
  if (!role)
    return NULL;
  const char *name = jsonutil_string(role, "RoleName");
  if (in_profile(c, name))
    return iam_fail(c, 409, "DeleteConflict",
                    "Cannot delete entity, must remove roles from instance profile first.");
  if (json_object_size(json_object_get(role, "_inline")))
    return iam_fail(c, 409, "DeleteConflict", "Cannot delete entity, must delete policies first.");
  if (json_array_size(json_object_get(role, "_attached")))
    return iam_fail(c, 409, "DeleteConflict",
                    "Cannot delete entity, must detach all policies first.");
  iam_del(iam_map(c, "roles"), name);
  return NULL;
}

IAM_HANDLER(iam_list_roles) {
  if (iam_check_path(c, input, "PathPrefix") < 0)
    return NULL;
  const char *prefix = jsonutil_string(input, "PathPrefix");
  json_t *items = json_array();
  const char *key;
  json_t *role;
  json_object_foreach(iam_map(c, "roles"), key, role) {
    if (!prefix || !strncmp(jsonutil_string(role, "Path"), prefix, strlen(prefix)))
      json_array_append_new(items, iam_role_out(role, 0));
  }
  return iam_page(c, input, items, "Roles", json_object());
}

/* ---- service-linked roles ---- */

/* The role name AWS gives a service's linked role (the suffix after
 * AWSServiceRoleFor), for the services whose name is not simply their
 * capitalized prefix. */
static const struct {
  const char *service, *suffix;
} slr_names[] = {
    {"autoscaling.amazonaws.com", "AutoScaling"},
    {"ecs.amazonaws.com", "ECS"},
    {"eks.amazonaws.com", "AmazonEKS"},
    {"elasticloadbalancing.amazonaws.com", "ElasticLoadBalancing"},
    {"rds.amazonaws.com", "RDS"},
    {"elasticbeanstalk.amazonaws.com", "ElasticBeanstalk"},
    {"es.amazonaws.com", "AmazonElasticsearchService"},
    {"opensearchservice.amazonaws.com", "AmazonOpenSearchService"},
    {"spot.amazonaws.com", "EC2Spot"},
    {"organizations.amazonaws.com", "Organizations"},
    {"support.amazonaws.com", "Support"},
    {"trustedadvisor.amazonaws.com", "TrustedAdvisor"},
    {"guardduty.amazonaws.com", "AmazonGuardDuty"},
    {"config.amazonaws.com", "Config"},
    {"cloudtrail.amazonaws.com", "CloudTrail"},
    {"sso.amazonaws.com", "SSO"},
    {"dynamodb.application-autoscaling.amazonaws.com", "ApplicationAutoScaling_DynamoDBTable"},
    {"ecs.application-autoscaling.amazonaws.com", "ApplicationAutoScaling_ECSService"},
    {"lambda.application-autoscaling.amazonaws.com", "ApplicationAutoScaling_LambdaConcurrency"},
    {"replicator.lambda.amazonaws.com", "LambdaReplicator"},
    {"ssm.amazonaws.com", "AmazonSSM"},
    {"kafka.amazonaws.com", "Kafka"},
    {"redshift.amazonaws.com", "Redshift"},
    {"elasticache.amazonaws.com", "ElastiCache"},
};

IAM_HANDLER(iam_create_service_linked_role) {
  const char *service = jsonutil_string(input, "AWSServiceName");
  const char *custom = jsonutil_string(input, "CustomSuffix");
  size_t n = service ? strlen(service) : 0;
  if (n < 15 || n > 128 || strcmp(service + n - 14, ".amazonaws.com") != 0 ||
      strspn(service, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n)
    return iam_fail(c, 400, "InvalidInput", "Service name %.128s is not valid.",
                    service ? service : "");
  if (iam_check_description(c, input) < 0)
    return NULL;
  if (custom && (!*custom || strlen(custom) > 64 ||
                 strspn(custom, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789_+=,.@-") != strlen(custom)))
    return iam_fail(c, 400, "ValidationError",
                    "1 validation error detected: Value '%.64s' at 'customSuffix' failed to "
                    "satisfy constraint: Member must satisfy regular expression pattern: "
                    "[\\w+=,.@-]+",
                    custom);
  char suffix[128] = "";
  for (size_t i = 0; i < sizeof(slr_names) / sizeof(slr_names[0]); i++)
    if (!strcmp(service, slr_names[i].service))
      snprintf(suffix, sizeof(suffix), "%s", slr_names[i].suffix);
  if (!suffix[0]) {
    size_t len = strcspn(service, ".");
    snprintf(suffix, sizeof(suffix), "%.*s", (int)(len < 100 ? len : 100), service);
    suffix[0] = (char)toupper((unsigned char)suffix[0]);
  }
  char name[256], path[256], trust[512];
  snprintf(name, sizeof(name), "AWSServiceRoleFor%s%s%s", suffix, custom ? "_" : "",
           custom ? custom : "");
  if (strlen(name) > 64)
    return iam_fail(c, 400, "InvalidInput", "The role name %s is too long.", name);
  snprintf(path, sizeof(path), SLR_PATH "%s/", service);
  snprintf(trust, sizeof(trust),
           "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
           "{\"Service\":[\"%s\"]},\"Action\":[\"sts:AssumeRole\"]}]}",
           service);
  json_t *roles = iam_map(c, "roles");
  if (iam_get(roles, name))
    return iam_fail(c, 400, "InvalidInput",
                    "Service role name %s has been taken in this account, please try a "
                    "different suffix.",
                    name);
  json_t *rec = role_new(c, name, path, trust);
  json_t *d = json_object_get(input, "Description");
  if (d)
    json_object_set(rec, "Description", d);
  iam_put(roles, name, rec);
  json_t *out = iam_role_out(rec, 1);
  json_object_del(out, "RoleLastUsed");
  return json_pack("{s:o}", "Role", out);
}

IAM_HANDLER(iam_delete_service_linked_role) {
  json_t *role = iam_principal(c, IAM_ROLE, input);
  if (!role)
    return NULL;
  const char *path = jsonutil_string(role, "Path");
  if (strncmp(path, SLR_PATH, strlen(SLR_PATH)) != 0)
    return iam_fail(c, 400, "InvalidInput", "Role %s is not a service-linked role.",
                    jsonutil_string(role, "RoleName"));
  char uuid[37], task[512];
  codec_uuid4(uuid);
  snprintf(task, sizeof(task), "task%s%s/%s", path, jsonutil_string(role, "RoleName"), uuid);
  /* Nothing uses the role here, so the deletion succeeds at once. */
  iam_del(iam_map(c, "roles"), jsonutil_string(role, "RoleName"));
  json_object_set_new(iam_map(c, "tasks"), task, json_string("SUCCEEDED"));
  return json_pack("{s:s}", "DeletionTaskId", task);
}

IAM_HANDLER(iam_get_service_linked_role_deletion_status) {
  const char *task = jsonutil_string(input, "DeletionTaskId");
  const char *status = task ? jsonutil_string(iam_map(c, "tasks"), task) : NULL;
  if (!status)
    return iam_no_entity(c, "Deletion task %.1000s cannot be found.", task ? task : "");
  return json_pack("{s:s}", "Status", status);
}

/* ---- what STS asks (iam.h) ---- */

int iam_role_assumed(iam_role_info *out, emulator *emu, const char *account, const char *name,
                     const char *region) {
  iam_state *st = emulator_service_state(emu, "iam");
  if (!st)
    return -1;
  int rc = -1;
  pthread_mutex_lock(&st->lock);
  json_t *role = iam_get(json_object_get(json_object_get(st->accounts, account), "roles"), name);
  if (role) {
    snprintf(out->role_id, sizeof(out->role_id), "%s", jsonutil_string(role, "RoleId"));
    out->max_session_duration =
        (long)json_integer_value(json_object_get(role, "MaxSessionDuration"));
    json_object_set_new(role, "RoleLastUsed",
                        json_pack("{s:f, s:s}", "LastUsedDate", iam_now(), "Region", region));
    rc = 0;
  }
  pthread_mutex_unlock(&st->lock);
  return rc;
}
