/*
 * iam_principal.c — what users, groups and roles share: inline policies
 * (Put/Get/List/Delete<Kind>Policy), attached managed policies
 * (Attach/Detach/ListAttached<Kind>Policies), tags (users and roles) and
 * permissions boundaries (users and roles). One handler serves all three
 * kinds; the kind comes from the operation's name (iam_kind_of).
 *
 * Inline documents are kept exactly as sent (_inline: name → text) and
 * answered percent-encoded, as AWS answers them; attachments are a list of
 * policy ARNs (_attached) in attach order.
 */
#include "common/jsonutil.h"
#include "emulator/iam/iam_int.h"

#include <stdio.h>
#include <string.h>

/* ---- inline policies ---- */

IAM_HANDLER(iam_put_principal_policy) {
  iam_kind kind = iam_kind_of(c->call);
  const iam_kind_info *k = &iam_kinds[kind];
  json_t *rec = iam_principal(c, kind, input);
  if (!rec || iam_check_name(c, input, "PolicyName", 128, 1) < 0)
    return NULL;
  const char *text = jsonutil_string(input, "PolicyDocument");
  json_t *doc = iam_check_document(c, text, IAM_DOC_IDENTITY);
  if (!doc)
    return NULL;
  json_decref(doc);
  const char *name = jsonutil_string(input, "PolicyName");
  json_t *inl = json_object_get(rec, "_inline");
  size_t total = iam_doc_size(text);
  const char *other;
  json_t *t;
  json_object_foreach(inl, other, t) {
    if (strcmp(other, name) != 0)
      total += iam_doc_size(json_string_value(t));
  }
  if (total > k->inline_max)
    return iam_fail(c, 409, "LimitExceeded", "Maximum policy size of %zu bytes exceeded for %s %s",
                    k->inline_max, k->noun, jsonutil_string(rec, k->name_member));
  if (!inl) {
    inl = json_object();
    json_object_set_new(rec, "_inline", inl);
  }
  json_object_set_new(inl, name, json_string(text));
  return NULL;
}

/* The inline document input names; NULL after NoSuchEntity. */
static const char *inline_doc(iam_ctx *c, iam_kind kind, json_t *rec, json_t *input) {
  if (iam_check_name(c, input, "PolicyName", 128, 1) < 0)
    return NULL;
  const char *name = jsonutil_string(input, "PolicyName");
  const char *text = jsonutil_string(json_object_get(rec, "_inline"), name);
  if (!text)
    iam_no_entity(c, "The %s policy with name %s cannot be found.", iam_kinds[kind].noun, name);
  return text;
}

IAM_HANDLER(iam_get_principal_policy) {
  iam_kind kind = iam_kind_of(c->call);
  json_t *rec = iam_principal(c, kind, input);
  const char *text = rec ? inline_doc(c, kind, rec, input) : NULL;
  if (!text)
    return NULL;
  const char *member = iam_kinds[kind].name_member;
  return json_pack("{s:s, s:s, s:o}", member, jsonutil_string(rec, member), "PolicyName",
                   jsonutil_string(input, "PolicyName"), "PolicyDocument", iam_encoded(text));
}

IAM_HANDLER(iam_delete_principal_policy) {
  iam_kind kind = iam_kind_of(c->call);
  json_t *rec = iam_principal(c, kind, input);
  if (rec && inline_doc(c, kind, rec, input))
    json_object_del(json_object_get(rec, "_inline"), jsonutil_string(input, "PolicyName"));
  return NULL;
}

IAM_HANDLER(iam_list_principal_policies) {
  json_t *rec = iam_principal(c, iam_kind_of(c->call), input);
  if (!rec)
    return NULL;
  json_t *names = json_array();
  const char *name;
  json_t *t;
  json_object_foreach(json_object_get(rec, "_inline"), name, t) {
    json_array_append_new(names, json_string(name));
  }
  return iam_page(c, input, names, "PolicyNames", json_object());
}

/* ---- attached managed policies ---- */

static int attached_at(const json_t *rec, const char *arn) {
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(rec, "_attached"), i, a) {
    if (!strcmp(json_string_value(a), arn))
      return (int)i + 1;
  }
  return 0;
}

static const char *quota_names[3] = {"PoliciesPerUser", "PoliciesPerGroup", "PoliciesPerRole"};

IAM_HANDLER(iam_attach_principal_policy) {
  iam_kind kind = iam_kind_of(c->call);
  json_t *rec = iam_principal(c, kind, input);
  if (!rec)
    return NULL;
  const char *arn = jsonutil_string(input, "PolicyArn");
  json_t *policy = arn ? iam_policy(c, arn) : NULL;
  if (!policy)
    return iam_no_entity(c, "Policy %.2048s does not exist or is not attachable.", arn ? arn : "");
  if (attached_at(rec, arn))
    return NULL;
  json_t *list = json_object_get(rec, "_attached");
  if (json_array_size(list) >= IAM_MAX_ATTACHED)
    return iam_fail(c, 409, "LimitExceeded", "Cannot exceed quota for %s: %d", quota_names[kind],
                    IAM_MAX_ATTACHED);
  if (!list) {
    list = json_array();
    json_object_set_new(rec, "_attached", list);
  }
  json_array_append_new(list, json_string(arn));
  return NULL;
}

IAM_HANDLER(iam_detach_principal_policy) {
  json_t *rec = iam_principal(c, iam_kind_of(c->call), input);
  if (!rec)
    return NULL;
  const char *arn = jsonutil_string(input, "PolicyArn");
  int at = arn ? attached_at(rec, arn) : 0;
  if (!at)
    return iam_no_entity(c, "Policy %.2048s was not found.", arn ? arn : "");
  json_array_remove(json_object_get(rec, "_attached"), (size_t)at - 1);
  return NULL;
}

IAM_HANDLER(iam_list_attached_policies) {
  json_t *rec = iam_principal(c, iam_kind_of(c->call), input);
  if (!rec || iam_check_path(c, input, "PathPrefix") < 0)
    return NULL;
  const char *prefix = jsonutil_string(input, "PathPrefix");
  json_t *items = json_array();
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(rec, "_attached"), i, a) {
    json_t *policy = iam_policy(c, json_string_value(a));
    if (!policy)
      continue;
    if (prefix && strncmp(jsonutil_string(policy, "Path"), prefix, strlen(prefix)) != 0)
      continue;
    json_array_append_new(items, json_pack("{s:O, s:O}", "PolicyName",
                                           json_object_get(policy, "PolicyName"), "PolicyArn", a));
  }
  return iam_page(c, input, items, "AttachedPolicies", json_object());
}

/* ---- tags (users and roles) ---- */

IAM_HANDLER(iam_tag_principal) {
  json_t *rec = iam_principal(c, iam_kind_of(c->call), input);
  if (rec)
    iam_tags_merge(c, rec, input);
  return NULL;
}

IAM_HANDLER(iam_untag_principal) {
  json_t *rec = iam_principal(c, iam_kind_of(c->call), input);
  if (rec)
    iam_tags_remove(c, rec, input);
  return NULL;
}

IAM_HANDLER(iam_list_principal_tags) {
  json_t *rec = iam_principal(c, iam_kind_of(c->call), input);
  return rec ? iam_tags_page(c, rec, input) : NULL;
}

/* ---- permissions boundaries (users and roles) ---- */

IAM_HANDLER(iam_put_boundary) {
  json_t *rec = iam_principal(c, iam_kind_of(c->call), input);
  if (!rec)
    return NULL;
  const char *arn = jsonutil_string(input, "PermissionsBoundary");
  if (!arn || !iam_policy(c, arn))
    return iam_no_entity(c, "Scope ARN: %.2048s does not exist or is not attachable.",
                         arn ? arn : "");
  json_object_set_new(
      rec, "PermissionsBoundary",
      json_pack("{s:s, s:s}", "PermissionsBoundaryType", "Policy", "PermissionsBoundaryArn", arn));
  return NULL;
}

IAM_HANDLER(iam_delete_boundary) {
  json_t *rec = iam_principal(c, iam_kind_of(c->call), input);
  if (rec)
    json_object_del(rec, "PermissionsBoundary");
  return NULL;
}
