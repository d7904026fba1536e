/*
 * acl.c — S3 accounts and access control: who owns a bucket, and whether a
 * caller may do what it asks.
 *
 * Always (as AWS does): a bucket belongs to the account that created it (the
 * gateway maps each access key to an account: a 12-digit key is its own
 * account, STS keys the account they were issued for, anything else
 * 000000000000), and each account is its own canonical user (attrs.c:
 * s3_owner_json) in owners, grants and listings; another account's CreateBucket of the same name
 * answers BucketAlreadyExists; ExpectedBucketOwner that names another account answers 403; a canned
 * ACL together with x-amz-grant-* headers is refused; x-amz-grant-* headers (id="…", uri="…",
 * emailAddress="…") are checked (InvalidArgument naming the header) and stored as the ACL's grants.
 *
 * Only with `--s3-enforce-access` (AIRGAP_S3_ENFORCE_ACCESS=1), off by
 * default as in LocalStack: requests are evaluated. An explicit Deny in the
 * bucket policy wins, even for the owner; the owner is otherwise allowed; a
 * caller of another account (or an anonymous one) needs an Allow from the
 * bucket policy (Principal "*", an account id or its root ARN; Action and
 * Resource with * and ? wildcards; a Condition with IAM's common operators,
 * policycond.c) or a public canned ACL (public-read,
 * public-read-write; authenticated-read for signed callers) on the bucket or
 * the object. The public-access block applies: BlockPublicAcls refuses
 * public ACLs on writes, IgnorePublicAcls ignores them, BlockPublicPolicy
 * refuses a public policy, RestrictPublicBuckets ignores public statements
 * for other accounts.
 *
 * The owner is kept in the bucket's configs under OWNER_MEMBER, a name no
 * S3 configuration uses, so that the bucket record needs no new field.
 */
#include "emulator/s3/s3_int.h"

#include "common/jsonutil.h"
#include "emulator/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OWNER_MEMBER "airgap:owner"

static const char *owner_of(const s3_bucket *b) {
  const char *o = jsonutil_string(b->configs, OWNER_MEMBER);
  return o ? o : "000000000000";
}

const char *s3_acl_owner(const s3_bucket *b) { return owner_of(b); }

void s3_acl_set_owner(aws_call *call, s3_bucket *b) {
  json_object_set_new(b->configs, OWNER_MEMBER, json_string(aws_call_account(call)));
}

int s3_acl_owned_by_caller(aws_call *call, const s3_bucket *b) {
  return strcmp(owner_of(b), aws_call_account(call)) == 0;
}

static const char *const grant_members[] = {"GrantFullControl", "GrantRead",     "GrantReadACP",
                                            "GrantWrite",       "GrantWriteACP", NULL};

static const char *const grant_headers[] = {"x-amz-grant-full-control", "x-amz-grant-read",
                                            "x-amz-grant-read-acp", "x-amz-grant-write",
                                            "x-amz-grant-write-acp"};
static const char *const grant_permissions[] = {"FULL_CONTROL", "READ", "READ_ACP", "WRITE",
                                                "WRITE_ACP"};

/* A canonical user id as S3 issues them: 64 lowercase hexadecimal digits. */
static int canonical_id_valid(const char *id, size_t len) {
  if (len != 64)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
      return 0;
  return 1;
}

/* The groups S3 grants to. */
static int group_uri_known(const char *uri, size_t len) {
  static const char *const groups[] = {"http://acs.amazonaws.com/groups/global/AllUsers",
                                       "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
                                       "http://acs.amazonaws.com/groups/s3/LogDelivery"};
  for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
    if (len == strlen(groups[i]) && strncmp(uri, groups[i], len) == 0)
      return 1;
  return 0;
}

/* One grantee of an x-amz-grant-* header: key="value" (id, uri,
 * emailAddress). Appends {"Grantee", "Permission"} to out (when not NULL).
 * 0, or -1 with the reason in *why. */
static int grantee_parse(const char *key, size_t klen, const char *value, size_t vlen,
                         const char *perm, json_t *out, const char **why) {
  json_t *grantee = NULL;
  if (klen == 2 && strncasecmp(key, "id", 2) == 0) {
    grantee = json_pack("{s:s, s:s%}", "Type", "CanonicalUser", "ID", value, vlen);
    if (grantee && vlen == strlen(S3_OWNER_ID) && strncmp(value, S3_OWNER_ID, vlen) == 0)
      json_object_set_new(grantee, "DisplayName", json_string(S3_OWNER_NAME));
  } else if (klen == 3 && strncasecmp(key, "uri", 3) == 0) {
    if (!group_uri_known(value, vlen)) {
      *why = "Invalid group uri";
      return -1;
    }
    grantee = json_pack("{s:s, s:s%}", "Type", "Group", "URI", value, vlen);
  } else if (klen == 12 && strncasecmp(key, "emailAddress", 12) == 0) {
    grantee =
        json_pack("{s:s, s:s%}", "Type", "AmazonCustomerByEmail", "EmailAddress", value, vlen);
  } else {
    *why = "Argument format not recognized";
    return -1;
  }
  if (out && grantee)
    json_array_append_new(out, json_pack("{s:O, s:s}", "Grantee", grantee, "Permission", perm));
  json_decref(grantee);
  return 0;
}

/* The grantees of an x-amz-grant-* header ('id="…", uri="…"'), appended to
 * out (when not NULL) with permission perm. 0, or -1 with *why. */
static int grant_header_parse(const char *text, const char *perm, json_t *out, const char **why) {
  const char *p = text;
  int count = 0;
  *why = "Argument format not recognized";
  for (;;) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (!*p)
      return count ? 0 : -1;
    const char *key = p;
    while (*p && *p != '=' && *p != ',')
      p++;
    size_t klen = (size_t)(p - key);
    while (klen && (key[klen - 1] == ' ' || key[klen - 1] == '\t'))
      klen--;
    if (*p != '=' || !klen)
      return -1;
    p++;
    while (*p == ' ' || *p == '\t')
      p++;
    const char *value;
    size_t vlen;
    if (*p == '"') {
      value = ++p;
      while (*p && *p != '"')
        p++;
      if (*p != '"')
        return -1;
      vlen = (size_t)(p - value);
      p++;
    } else {
      value = p;
      while (*p && *p != ',')
        p++;
      vlen = (size_t)(p - value);
      while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
        vlen--;
    }
    if (!vlen || grantee_parse(key, klen, value, vlen, perm, out, why) < 0)
      return -1;
    count++;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == ',')
      p++;
    else if (*p)
      return -1;
  }
}

json_t *s3_acl_from_grant_headers(const json_t *input, const char *account) {
  json_t *grants = NULL;
  for (size_t i = 0; grant_members[i]; i++) {
    const char *text = jsonutil_string(input, grant_members[i]);
    const char *why;
    if (!text)
      continue;
    if (!grants)
      grants = json_array();
    grant_header_parse(text, grant_permissions[i], grants, &why);
  }
  if (!grants)
    return NULL;
  return json_pack("{s:o, s:o}", "Owner", s3_owner_json(account), "Grants", grants);
}

static void fail_malformed_acl(aws_call *call) {
  aws_call_fail(call, 400, "MalformedACLError",
                "The XML you provided was not well-formed or did not validate against our "
                "published schema");
}

/* The grants of an ACL (from x-amz-grant-* headers or an
 * AccessControlPolicy body) checked as S3 checks them: known permissions,
 * canonical ids of the right shape, and no e-mail grantees, which S3 cannot
 * resolve to an account (and no account here has an address). 0, or -1
 * after answering. */
static int grants_valid(aws_call *call, const json_t *grants, const char *id_argument) {
  static const char *const perms[] = {"FULL_CONTROL", "READ", "READ_ACP", "WRITE", "WRITE_ACP"};
  size_t i;
  json_t *g;
  json_array_foreach(grants, i, g) {
    const json_t *grantee = json_object_get(g, "Grantee");
    const char *type = jsonutil_string(grantee, "Type");
    const char *perm = jsonutil_string(g, "Permission");
    int known = 0;
    for (size_t p = 0; perm && p < sizeof(perms) / sizeof(perms[0]); p++)
      known |= strcmp(perm, perms[p]) == 0;
    if (!known || !type) {
      fail_malformed_acl(call);
      return -1;
    }
    const char *id = jsonutil_string(grantee, "ID");
    if (strcmp(type, "CanonicalUser") == 0 && (!id || !canonical_id_valid(id, strlen(id)))) {
      aws_call_fail_fields(
          call, 400, "InvalidArgument",
          json_pack("{s:s, s:s}", "ArgumentName", id_argument, "ArgumentValue", id ? id : ""),
          "Invalid id");
      return -1;
    }
    if (strcmp(type, "AmazonCustomerByEmail") == 0) {
      const char *email = jsonutil_string(grantee, "EmailAddress");
      aws_call_fail_fields(call, 400, "UnresolvableGrantByEmailAddress",
                           json_pack("{s:s}", "EmailAddress", email ? email : ""),
                           "The e-mail address you provided does not match any account on "
                           "record.");
      return -1;
    }
    const char *uri = jsonutil_string(grantee, "URI");
    if (strcmp(type, "Group") == 0 && !uri) {
      fail_malformed_acl(call);
      return -1;
    }
    if (strcmp(type, "Group") == 0 && !group_uri_known(uri, strlen(uri))) {
      aws_call_fail_fields(
          call, 400, "InvalidArgument",
          json_pack("{s:s, s:s}", "ArgumentName", "Group/URI", "ArgumentValue", uri),
          "Invalid group uri");
      return -1;
    }
    if (strcmp(type, "CanonicalUser") != 0 && strcmp(type, "Group") != 0) {
      fail_malformed_acl(call);
      return -1;
    }
  }
  return 0;
}

int s3_acl_check_input(aws_call *call, const json_t *input) {
  int grants = 0;
  for (size_t i = 0; grant_members[i]; i++) {
    const char *text = jsonutil_string(input, grant_members[i]), *why;
    json_t *parsed = json_array();
    if (text && grant_header_parse(text, grant_permissions[i], parsed, &why) < 0) {
      json_decref(parsed);
      json_t *fields =
          json_pack("{s:s, s:s}", "ArgumentName", grant_headers[i], "ArgumentValue", text);
      const char *uri = strstr(text, "uri=");
      if (strcmp(why, "Invalid group uri") == 0 && uri) {
        /* S3 names the unknown group itself, not the header. */
        uri += 4;
        size_t n = *uri == '"' ? strcspn(++uri, "\"") : strcspn(uri, ", \t");
        json_decref(fields);
        fields = json_pack("{s:s, s:s%}", "ArgumentName", "uri", "ArgumentValue", uri, n);
      }
      aws_call_fail_fields(call, 400, "InvalidArgument", fields, "%s", why);
      return -1;
    }
    /* A header's grantee is named by its key ("id"), a body's by its path. */
    int bad = grants_valid(call, parsed, "id");
    json_decref(parsed);
    if (bad < 0)
      return -1;
    grants |= text != NULL;
  }
  /* A full ACL in the body needs its Owner, and grants S3 can honour. */
  const json_t *acp = json_object_get(input, "AccessControlPolicy");
  int put_acl = strcmp(aws_call_operation(call), "PutObjectAcl") == 0 ||
                strcmp(aws_call_operation(call), "PutBucketAcl") == 0;
  if (put_acl && !acp && !grants && !json_object_get(input, "ACL")) {
    aws_call_fail_fields(call, 400, "MissingSecurityHeader",
                         json_pack("{s:s}", "MissingHeaderName", "x-amz-acl"),
                         "Your request was missing a required header");
    return -1;
  }
  if (acp && put_acl) {
    if (!jsonutil_string(json_object_get(acp, "Owner"), "ID")) {
      fail_malformed_acl(call);
      return -1;
    }
    if (grants_valid(call, json_object_get(acp, "Grants"), "CanonicalUser/ID") < 0)
      return -1;
  }
  if (grants && json_object_get(input, "ACL")) {
    aws_call_fail(call, 400, "InvalidRequest",
                  "Specifying both Canned ACLs and Header Grants is not allowed");
    return -1;
  }
  /* An ACL comes in headers or in the body, not both. */
  if ((grants || json_object_get(input, "ACL")) && acp) {
    aws_call_fail(call, 400, "UnexpectedContent", "This request does not support content");
    return -1;
  }
  const char *canned = jsonutil_string(input, "ACL");
  static const char *const known[] = {"private",
                                      "public-read",
                                      "public-read-write",
                                      "authenticated-read",
                                      "aws-exec-read",
                                      "bucket-owner-read",
                                      "bucket-owner-full-control",
                                      "log-delivery-write",
                                      NULL};
  if (canned) {
    size_t i = 0;
    while (known[i] && strcmp(known[i], canned) != 0)
      i++;
    if (!known[i]) {
      aws_call_fail_fields(
          call, 400, "InvalidArgument",
          json_pack("{s:s, s:s}", "ArgumentName", "x-amz-acl", "ArgumentValue", canned),
          "Invalid canned ACL: %s", canned);
      return -1;
    }
  }
  return 0;
}

/* ---- policy evaluation ---- */

/* Glob match with * and ? (case-insensitive when nocase). */
static int glob(const char *pat, const char *s, int nocase) {
  const char *star = NULL, *back = NULL;
  while (*s) {
    if (*pat == '*') {
      star = pat++;
      back = s;
    } else if (*pat == '?' ||
               (nocase ? tolower((unsigned char)*pat) == tolower((unsigned char)*s) : *pat == *s)) {
      pat++;
      s++;
    } else if (star) {
      pat = star + 1;
      s = ++back;
    } else {
      return 0;
    }
  }
  while (*pat == '*')
    pat++;
  return *pat == '\0';
}

/* Does a string-or-array value match s? */
static int any_match(const json_t *v, const char *s, int nocase) {
  if (json_is_string(v))
    return glob(json_string_value(v), s, nocase);
  size_t i;
  json_t *it;
  json_array_foreach(v, i,
                     it) if (json_is_string(it) && glob(json_string_value(it), s, nocase)) return 1;
  return 0;
}

/* 1 when Principal names everyone. */
static int principal_public(const json_t *p) {
  if (json_is_string(p))
    return strcmp(json_string_value(p), "*") == 0;
  const json_t *aws = json_object_get(p, "AWS");
  if (json_is_string(aws))
    return strcmp(json_string_value(aws), "*") == 0;
  size_t i;
  json_t *it;
  json_array_foreach(aws, i, it) if (json_is_string(it) &&
                                     strcmp(json_string_value(it), "*") == 0) return 1;
  return 0;
}

static int principal_names(const json_t *p, const char *account) {
  if (principal_public(p))
    return 1;
  if (!account[0])
    return 0;
  const json_t *aws = json_object_get(p, "AWS");
  char root[64];
  snprintf(root, sizeof(root), "arn:aws:iam::%s:root", account);
  json_t *list = json_is_array(aws) ? json_incref((json_t *)aws) : json_pack("[O]", aws);
  int hit = 0;
  size_t i;
  json_t *it;
  json_array_foreach(list, i, it) {
    const char *s = json_string_value(it);
    if (s && (strcmp(s, account) == 0 || strcmp(s, root) == 0 ||
              (strncmp(s, "arn:aws:iam::", 13) == 0 && strncmp(s + 13, account, 12) == 0)))
      hit = 1;
  }
  json_decref(list);
  return hit;
}

int s3_policy_public(const json_t *doc) {
  json_t *st = json_object_get(doc, "Statement");
  json_t *list = json_is_array(st) ? json_incref(st) : json_pack("[O]", st ? st : json_null());
  int pub = 0;
  size_t i;
  json_t *s;
  json_array_foreach(list, i, s) {
    const char *effect = jsonutil_string(s, "Effect");
    /* NotPrincipal: everyone but those named, which is still the public. */
    if (effect && strcmp(effect, "Allow") == 0 &&
        (principal_public(json_object_get(s, "Principal")) || json_object_get(s, "NotPrincipal")) &&
        !json_object_get(s, "Condition"))
      pub = 1;
  }
  json_decref(list);
  return pub;
}

enum { NO_MATCH, ALLOW, DENY };

/* Evaluates the bucket policy for (caller account, action, resource). */
static int policy_eval(aws_call *call, const json_t *input, const json_t *doc, const char *account,
                       const char *action, const char *resource, int ignore_public,
                       const json_t *tags) {
  json_t *st = json_object_get(doc, "Statement");
  json_t *list = json_is_array(st) ? json_incref(st) : json_pack("[O]", st ? st : json_null());
  int verdict = NO_MATCH;
  size_t i;
  json_t *s;
  json_array_foreach(list, i, s) {
    const char *effect = jsonutil_string(s, "Effect");
    const json_t *principal = json_object_get(s, "Principal");
    if (!effect || !principal_names(principal, account))
      continue;
    if (ignore_public && principal_public(principal) && strcmp(effect, "Allow") == 0)
      continue;
    if (!any_match(json_object_get(s, "Action"), action, 1) ||
        !any_match(json_object_get(s, "Resource"), resource, 0) ||
        !s3_policy_condition_holds(json_object_get(s, "Condition"), call, input, tags))
      continue;
    if (strcmp(effect, "Deny") == 0) {
      verdict = DENY;
      break;
    }
    if (strcmp(effect, "Allow") == 0)
      verdict = ALLOW;
  }
  json_decref(list);
  return verdict;
}

/* The IAM action of an operation. */
static void action_of(char *out, size_t size, const char *op) {
  static const struct {
    const char *op, *action;
  } map[] = {{"HeadObject", "s3:GetObject"},
             {"HeadBucket", "s3:ListBucket"},
             {"ListObjects", "s3:ListBucket"},
             {"ListObjectsV2", "s3:ListBucket"},
             {"ListObjectVersions", "s3:ListBucketVersions"},
             {"ListMultipartUploads", "s3:ListBucketMultipartUploads"},
             {"ListParts", "s3:ListMultipartUploadParts"},
             {"CopyObject", "s3:PutObject"},
             {"CreateMultipartUpload", "s3:PutObject"},
             {"UploadPart", "s3:PutObject"},
             {"UploadPartCopy", "s3:PutObject"},
             {"CompleteMultipartUpload", "s3:PutObject"},
             {"AbortMultipartUpload", "s3:AbortMultipartUpload"},
             {"DeleteObjects", "s3:DeleteObject"},
             {"GetBucketAcl", "s3:GetBucketAcl"},
             {"PutBucketAcl", "s3:PutBucketAcl"},
             {"DeleteBucketPolicy", "s3:DeleteBucketPolicy"},
             {"GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration"},
             {"PutBucketLifecycleConfiguration", "s3:PutLifecycleConfiguration"},
             {"GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"},
             {"PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"}};
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(map[i].op, op) == 0) {
      snprintf(out, size, "%s", map[i].action);
      return;
    }
  snprintf(out, size, "s3:%s", op);
}

#define ALL_USERS "http://acs.amazonaws.com/groups/global/AllUsers"
#define AUTHENTICATED_USERS "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"

/* The actions READ grants (S3's mapping of ACL permissions to policy
 * actions): listing the bucket, its versions and uploads, reading objects. */
static int read_action(const char *action) {
  return strcmp(action, "s3:GetObject") == 0 || strcmp(action, "s3:GetObjectVersion") == 0 ||
         strcmp(action, "s3:ListBucket") == 0 || strcmp(action, "s3:ListBucketVersions") == 0 ||
         strcmp(action, "s3:ListBucketMultipartUploads") == 0;
}

/* The actions WRITE grants: writing and deleting objects, and managing the
 * multipart uploads such writes start. */
static int write_action(const char *action) {
  return strcmp(action, "s3:PutObject") == 0 || strcmp(action, "s3:DeleteObject") == 0 ||
         strcmp(action, "s3:AbortMultipartUpload") == 0 ||
         strcmp(action, "s3:ListMultipartUploadParts") == 0;
}

/* Does a permission (READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL) allow
 * the action? */
static int permission_allows(const char *perm, const char *action) {
  int read = read_action(action);
  int write = write_action(action);
  int read_acp = strcmp(action, "s3:GetObjectAcl") == 0 || strcmp(action, "s3:GetBucketAcl") == 0;
  int write_acp = strcmp(action, "s3:PutObjectAcl") == 0 || strcmp(action, "s3:PutBucketAcl") == 0;
  if (!perm)
    return 0;
  if (strcmp(perm, "FULL_CONTROL") == 0)
    return read || write || read_acp || write_acp;
  return (strcmp(perm, "READ") == 0 && read) || (strcmp(perm, "WRITE") == 0 && write) ||
         (strcmp(perm, "READ_ACP") == 0 && read_acp) ||
         (strcmp(perm, "WRITE_ACP") == 0 && write_acp);
}

/* Does an ACL policy document (x-amz-grant-* headers, PutObjectAcl's body)
 * grant the caller this action? Grants to everyone count unless
 * ignore_public. */
static int grants_allow(const json_t *acl, const char *action, const char *account,
                        int ignore_public) {
  char id[65];
  if (account[0])
    s3_owner_id(id, sizeof(id), account);
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(acl, "Grants"), i, g) {
    const json_t *who = json_object_get(g, "Grantee");
    const char *uri = jsonutil_string(who, "URI"), *gid = jsonutil_string(who, "ID");
    int applies = (uri && strcmp(uri, ALL_USERS) == 0 && !ignore_public) ||
                  (uri && strcmp(uri, AUTHENTICATED_USERS) == 0 && account[0] && !ignore_public) ||
                  (gid && account[0] && strcmp(gid, id) == 0);
    if (applies && permission_allows(jsonutil_string(g, "Permission"), action))
      return 1;
  }
  return 0;
}

/* Does an ACL (canned or a policy document) grant the caller this action? */
static int acl_grants(const json_t *acl, const char *action, const char *account,
                      int ignore_public) {
  if (json_is_object(acl))
    return grants_allow(acl, action, account, ignore_public);
  const char *canned = json_string_value(acl);
  if (!canned || ignore_public)
    return 0;
  int signed_caller = account[0] != '\0';
  int read = read_action(action);
  int write = write_action(action);
  if (strcmp(canned, "public-read") == 0)
    return read;
  if (strcmp(canned, "public-read-write") == 0)
    return read || write;
  if (strcmp(canned, "authenticated-read") == 0)
    return read && signed_caller;
  return 0;
}

int s3_acl_input_public(const json_t *input) {
  const char *canned = jsonutil_string(input, "ACL");
  if (canned && (strcmp(canned, "public-read") == 0 || strcmp(canned, "public-read-write") == 0 ||
                 strcmp(canned, "authenticated-read") == 0))
    return 1;
  for (size_t i = 0; grant_members[i]; i++) {
    const char *g = jsonutil_string(input, grant_members[i]);
    if (g && (strstr(g, ALL_USERS) || strstr(g, AUTHENTICATED_USERS)))
      return 1;
  }
  return 0;
}

static int pab(const s3_bucket *b, const char *member) {
  return json_is_true(
      json_object_get(json_object_get(b->configs, "PublicAccessBlockConfiguration"), member));
}

int s3_access_check(aws_call *call, const json_t *input, s3_state *st, s3_bucket *b) {
  const char *owner = owner_of(b);
  const char *expected = jsonutil_string(input, "ExpectedBucketOwner");
  if (expected && strcmp(expected, owner) != 0) {
    s3_unlock(st);
    aws_call_fail(call, 403, "AccessDenied", "Access Denied");
    return -1;
  }
  if (s3_acl_check_input(call, input) < 0) {
    s3_unlock(st);
    return -1;
  }
  if (!emulator_s3_enforce_access(aws_call_emulator(call)))
    return 0;
  const char *op = aws_call_operation(call);
  /* The public-access block refuses public ACLs and policies on writes. */
  if (pab(b, "BlockPublicAcls") && s3_acl_input_public(input)) {
    s3_unlock(st);
    aws_call_fail(call, 403, "AccessDenied", "Access Denied");
    return -1;
  }
  if (strcmp(op, "PutBucketPolicy") == 0 && pab(b, "BlockPublicPolicy")) {
    json_t *doc = json_loads(
        jsonutil_string(input, "Policy") ? jsonutil_string(input, "Policy") : "", 0, NULL);
    int pub = s3_policy_public(doc);
    json_decref(doc);
    if (pub) {
      s3_unlock(st);
      aws_call_fail(call, 403, "AccessDenied", "Access Denied");
      return -1;
    }
  }
  const char *access_key = aws_call_access_key(call);
  int anonymous = !access_key || !*access_key;
  const char *account = anonymous ? "" : aws_call_account(call);
  int is_owner = !anonymous && strcmp(account, owner) == 0;
  char action[96];
  action_of(action, sizeof(action), op);
  const char *key = jsonutil_string(input, "Key");
  char resource[S3_MAX_KEY + 128];
  if (key)
    snprintf(resource, sizeof(resource), "arn:aws:s3:::%s/%s", b->name, key);
  else
    snprintf(resource, sizeof(resource), "arn:aws:s3:::%s", b->name);
  json_t *doc = NULL;
  const char *policy = jsonutil_string(b->configs, "Policy");
  if (policy)
    doc = json_loads(policy, 0, NULL);
  /* The tags of the object named (the version asked for), for
   * s3:ExistingObjectTag/<key>. */
  const json_t *tags = NULL;
  if (key) {
    int marker_only = 0;
    const s3_version *ov =
        s3_version_lookup(b, key, jsonutil_string(input, "VersionId"), &marker_only);
    tags = ov ? ov->tags : NULL;
  }
  int verdict = doc ? policy_eval(call, input, doc, account, action, resource,
                                  !is_owner && pab(b, "RestrictPublicBuckets"), tags)
                    : NO_MATCH;
  json_decref(doc);
  int allowed = verdict != DENY && (is_owner || verdict == ALLOW);
  if (!allowed && verdict != DENY) {
    const json_t *acl = b->acl;
    int object_owner = 0;
    if (key) {
      s3_key *k = s3_key_find(b, key);
      if (k && (strcmp(action, "s3:GetObject") == 0 || strcmp(action, "s3:GetObjectAcl") == 0 ||
                strcmp(action, "s3:PutObjectAcl") == 0)) {
        acl = k->versions->acl;
        /* An object's owner (its writer, ownership.c) has full control of it. */
        object_owner = !anonymous && strcmp(s3_object_owner(b, k->versions), account) == 0;
      }
    }
    /* With ACLs disabled (ownership.c) they grant nothing. */
    allowed = object_owner || (!s3_ownership_enforced(b) &&
                               acl_grants(acl, action, account, pab(b, "IgnorePublicAcls")));
  }
  if (!allowed) {
    s3_unlock(st);
    aws_call_fail(call, 403, "AccessDenied", "Access Denied");
    return -1;
  }
  return 0;
}
