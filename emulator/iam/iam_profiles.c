/*
 * iam_profiles.c — instance profiles: a named container for at most one role
 * (AWS's quota), with tags. The profile keeps its role's name (_roles) and
 * answers the role's current record, so a role's changes show through.
 */
#include "common/jsonutil.h"
#include "emulator/iam/iam_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static json_t *profile_out(iam_ctx *c, const json_t *p, int with_tags) {
  json_t *out = iam_public(p);
  if (!with_tags)
    json_object_del(out, "Tags");
  json_t *roles = json_array();
  json_t *map = iam_map(c, "roles");
  size_t i;
  json_t *name;
  json_array_foreach(json_object_get(p, "_roles"), i, name) {
    json_t *role = iam_get(map, json_string_value(name));
    if (role)
      json_array_append_new(roles, iam_role_out(role, 0));
  }
  json_object_set_new(out, "Roles", roles);
  return out;
}

/* The profile input's InstanceProfileName names; NULL after NoSuchEntity. */
static json_t *profile_arg(iam_ctx *c, json_t *input) {
  if (iam_check_name(c, input, "InstanceProfileName", 128, 1) < 0)
    return NULL;
  const char *name = jsonutil_string(input, "InstanceProfileName");
  json_t *p = iam_get(iam_map(c, "profiles"), name);
  if (!p)
    iam_no_entity(c, "Instance Profile %s cannot be found.", name);
  return p;
}

IAM_HANDLER(iam_create_instance_profile) {
  if (iam_check_name(c, input, "InstanceProfileName", 128, 1) < 0 ||
      iam_check_path(c, input, "Path") < 0)
    return NULL;
  const char *name = jsonutil_string(input, "InstanceProfileName");
  json_t *profiles = iam_map(c, "profiles");
  if (iam_get(profiles, name))
    return iam_fail(c, 409, "EntityAlreadyExists", "Instance Profile %s already exists.", name);
  const char *path = jsonutil_string(input, "Path");
  if (!path)
    path = "/";
  char id[32];
  iam_new_id(id, "AIPA");
  char *arn = iam_arn(c, "instance-profile", path, name);
  json_t *rec =
      json_pack("{s:s, s:s, s:s, s:s, s:f, s:[]}", "Path", path, "InstanceProfileName", name,
                "InstanceProfileId", id, "Arn", arn ? arn : "", "CreateDate", iam_now(), "_roles");
  free(arn);
  if (iam_tags_merge(c, rec, input) < 0) {
    json_decref(rec);
    return NULL;
  }
  iam_put(profiles, name, rec);
  return json_pack("{s:o}", "InstanceProfile", profile_out(c, rec, 1));
}

IAM_HANDLER(iam_get_instance_profile) {
  json_t *p = profile_arg(c, input);
  return p ? json_pack("{s:o}", "InstanceProfile", profile_out(c, p, 1)) : NULL;
}

IAM_HANDLER(iam_delete_instance_profile) {
  json_t *p = profile_arg(c, input);
  if (!p)
    return NULL;
  if (json_array_size(json_object_get(p, "_roles")))
    return iam_fail(c, 409, "DeleteConflict",
                    "Cannot delete entity, must remove roles from instance profile first.");
  iam_del(iam_map(c, "profiles"), jsonutil_string(p, "InstanceProfileName"));
  return NULL;
}

IAM_HANDLER(iam_list_instance_profiles) {
  if (iam_check_path(c, input, "PathPrefix") < 0)
    return NULL;
  const char *prefix = jsonutil_string(input, "PathPrefix");
  json_t *items = json_array();
  const char *key;
  json_t *p;
  json_object_foreach(iam_map(c, "profiles"), key, p) {
    if (!prefix || !strncmp(jsonutil_string(p, "Path"), prefix, strlen(prefix)))
      json_array_append_new(items, profile_out(c, p, 0));
  }
  return iam_page(c, input, items, "InstanceProfiles", json_object());
}

static int holds(const json_t *p, const char *role) {
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(p, "_roles"), i, r) {
    if (!strcasecmp(json_string_value(r), role))
      return (int)i + 1;
  }
  return 0;
}

IAM_HANDLER(iam_list_instance_profiles_for_role) {
  json_t *role = iam_principal(c, IAM_ROLE, input);
  if (!role)
    return NULL;
  json_t *items = json_array();
  const char *key;
  json_t *p;
  json_object_foreach(iam_map(c, "profiles"), key, p) {
    if (holds(p, jsonutil_string(role, "RoleName")))
      json_array_append_new(items, profile_out(c, p, 0));
  }
  return iam_page(c, input, items, "InstanceProfiles", json_object());
}

IAM_HANDLER(iam_add_role_to_instance_profile) {
  json_t *p = profile_arg(c, input);
  json_t *role = p ? iam_principal(c, IAM_ROLE, input) : NULL;
  if (!role)
    return NULL;
  if (json_array_size(json_object_get(p, "_roles")) >= 1)
    return iam_fail(c, 409, "LimitExceeded",
                    "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1");
  json_array_append_new(json_object_get(p, "_roles"),
                        json_string(jsonutil_string(role, "RoleName")));
  return NULL;
}

IAM_HANDLER(iam_remove_role_from_instance_profile) {
  json_t *p = profile_arg(c, input);
  json_t *role = p ? iam_principal(c, IAM_ROLE, input) : NULL;
  if (!role)
    return NULL;
  int at = holds(p, jsonutil_string(role, "RoleName"));
  if (!at)
    return iam_no_entity(c, "Role %s in Instance Profile %s cannot be found.",
                         jsonutil_string(role, "RoleName"),
                         jsonutil_string(p, "InstanceProfileName"));
  json_array_remove(json_object_get(p, "_roles"), (size_t)at - 1);
  return NULL;
}

IAM_HANDLER(iam_tag_instance_profile) {
  json_t *p = profile_arg(c, input);
  if (p)
    iam_tags_merge(c, p, input);
  return NULL;
}

IAM_HANDLER(iam_untag_instance_profile) {
  json_t *p = profile_arg(c, input);
  if (p)
    iam_tags_remove(c, p, input);
  return NULL;
}

IAM_HANDLER(iam_list_instance_profile_tags) {
  json_t *p = profile_arg(c, input);
  return p ? iam_tags_page(c, p, input) : NULL;
}
