/*
 * ownership.c — S3 Object Ownership's "bucket owner enforced" setting, which
 * disables ACLs (the default for buckets created since April 2023).
 *
 * The documented rule (S3 User Guide, "Troubleshooting" of Object Ownership;
 * the OwnershipControlsRule API type): such a bucket accepts only requests
 * that specify no ACL or the bucket owner's full control; any other ACL on a
 * write (PutObject, CopyObject, CreateMultipartUpload, POST Object,
 * PutObjectAcl, PutBucketAcl) answers 400 AccessControlListNotSupported. The
 * bucket owner's full control is the canned bucket-owner-full-control, the
 * canned private (on such a bucket the owner of every object is the bucket
 * owner, so it grants the same), or grants (XML or x-amz-grant-* headers)
 * that give FULL_CONTROL to the bucket owner's canonical user and nothing
 * else. CreateBucket with an ACL granting anyone else, on a bucket that will
 * be enforced, and PutBucketOwnershipControls to BucketOwnerEnforced on a
 * bucket whose ACL grants anyone else, answer 400
 * InvalidBucketAclWithObjectOwnership. Reading ACLs still works and shows
 * the bucket owner's full control alone; stored ACLs grant nothing.
 *
 * On the other settings an object belongs to the account that wrote it
 * (ObjectWriter; BucketOwnerPreferred too, unless the write gave the bucket
 * owner full control with the canned bucket-owner-full-control), which
 * GetObjectAcl, the listings and access control go by.
 */
#include "emulator/s3/s3_int.h"

#include "common/jsonutil.h"

#include <string.h>

int s3_ownership_enforced(const s3_bucket *b) {
  const json_t *rules = json_object_get(json_object_get(b->configs, "OwnershipControls"), "Rules");
  const char *o = jsonutil_string(json_array_get(rules, 0), "ObjectOwnership");
  /* No controls (deleted): S3 then behaves as ObjectWriter. */
  return o && strcmp(o, "BucketOwnerEnforced") == 0;
}

int s3_ownership_acl_owner_only(const json_t *acl, const char *owner_account) {
  if (!acl)
    return 1;
  if (json_is_string(acl)) {
    const char *c = json_string_value(acl);
    return strcmp(c, "private") == 0 || strcmp(c, "bucket-owner-full-control") == 0;
  }
  const json_t *grants = json_object_get(acl, "Grants");
  if (!json_is_array(grants) || json_array_size(grants) == 0)
    return 0;
  char owner[65];
  s3_owner_id(owner, sizeof(owner), owner_account);
  size_t i;
  const json_t *g;
  json_array_foreach(grants, i, g) {
    const json_t *who = json_object_get(g, "Grantee");
    const char *type = jsonutil_string(who, "Type"), *id = jsonutil_string(who, "ID");
    const char *perm = jsonutil_string(g, "Permission");
    if (!type || strcmp(type, "CanonicalUser") != 0 || !id || strcmp(id, owner) != 0 || !perm ||
        strcmp(perm, "FULL_CONTROL") != 0)
      return 0;
  }
  return 1;
}

int s3_ownership_check_write(aws_call *call, const s3_bucket *b, const json_t *input) {
  if (!s3_ownership_enforced(b))
    return 0;
  json_t *acl = s3_acl_from_input(call, input);
  int ok = s3_ownership_acl_owner_only(acl, s3_acl_owner(b));
  json_decref(acl);
  if (ok)
    return 0;
  aws_call_fail(call, 400, "AccessControlListNotSupported", "The bucket does not allow ACLs");
  return -1;
}

void s3_ownership_fail_bucket_acl(aws_call *call) {
  aws_call_fail(call, 400, "InvalidBucketAclWithObjectOwnership",
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting");
}

const char *s3_object_owner(const s3_bucket *b, const s3_version *v) {
  if (!v || !v->owner[0] || s3_ownership_enforced(b))
    return s3_acl_owner(b);
  const json_t *rules = json_object_get(json_object_get(b->configs, "OwnershipControls"), "Rules");
  const char *o = jsonutil_string(json_array_get(rules, 0), "ObjectOwnership");
  if (o && strcmp(o, "BucketOwnerPreferred") == 0 && json_is_string(v->acl) &&
      strcmp(json_string_value(v->acl), "bucket-owner-full-control") == 0)
    return s3_acl_owner(b);
  return v->owner;
}

json_t *s3_object_acl_output(const s3_bucket *b, const s3_version *v) {
  const char *owner = s3_object_owner(b, v);
  json_t *out = s3_acl_output(s3_ownership_enforced(b) ? NULL : v->acl, owner);
  /* The canned bucket-owner-* ACLs also grant the bucket owner, when it is
   * not the object's owner. */
  const char *canned = json_string_value(v->acl);
  const char *bucket_owner = s3_acl_owner(b);
  if (out && canned && strcmp(owner, bucket_owner) != 0 && !s3_ownership_enforced(b) &&
      (strcmp(canned, "bucket-owner-read") == 0 ||
       strcmp(canned, "bucket-owner-full-control") == 0)) {
    json_t *grantee = s3_owner_json(bucket_owner);
    json_object_set_new(grantee, "Type", json_string("CanonicalUser"));
    json_array_append_new(
        json_object_get(out, "Grants"),
        json_pack("{s:o, s:s}", "Grantee", grantee, "Permission",
                  strcmp(canned, "bucket-owner-read") == 0 ? "READ" : "FULL_CONTROL"));
  }
  return out;
}

json_t *s3_ownership_acl_output(const s3_bucket *b, const json_t *acl) {
  return s3_acl_output(s3_ownership_enforced(b) ? NULL : acl, s3_acl_owner(b));
}
