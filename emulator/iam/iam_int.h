/*
 * iam_int.h — private to emulator/iam/: the IAM store and the helpers every
 * IAM handler shares (one .c per concept: principals, policies, roles, access,
 * providers, reports, simulation).
 *
 * IAM is global: one store per account, whatever the Region called, in one
 * JSON object under one mutex:
 *   accounts {<account> → {users, groups, roles, profiles: {lower-case name →
 *   record}, policies {arn → record} (customer managed), aws {arn → {}}
 *   (AWS-managed policies this account touched), oidc, saml {arn → record},
 *   root {the account root's access keys}}}
 * Names are unique case-insensitively, as in AWS, so maps are keyed by the
 * lower-cased name and records keep the name as given. A record holds its
 * answer's members as the model names them (UserName, Arn, CreateDate, …)
 * plus private members starting with '_' (inline policies, attachments, the
 * trust policy, group members, keys), which iam_public() strips.
 *
 * Every handler runs under the lock through iam_run(): the body reads the
 * input, changes the store and returns its output, or records an error with
 * iam_fail(); iam_run answers after unlocking. IAM_HANDLER defines such a
 * handler and its body in one go, so that no handler can forget the lock.
 */
#ifndef AIRGAP_EMULATOR_IAM_INT_H
#define AIRGAP_EMULATOR_IAM_INT_H

#include "emulator/service.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#define IAM_MAX_TAGS 50
#define IAM_MAX_POLICY_VERSIONS 5
#define IAM_MAX_ACCESS_KEYS 2
#define IAM_MAX_ATTACHED 10 /* managed policies per user, group or role */
#define IAM_MAX_GROUPS_PER_USER 10
#define IAM_MAX_MANAGED_POLICY 6144 /* characters, white space excluded */
#define IAM_MAX_TRUST_POLICY 2048
#define IAM_MAX_DOCUMENT 131072 /* any policy document we parse, in bytes */

typedef struct iam_state {
  pthread_mutex_t lock;
  json_t *accounts;
  emulator *emu;
} iam_state;

/* One call being answered (iam_run). */
typedef struct iam_ctx {
  aws_call *call;
  iam_state *st;
  json_t *acct; /* the caller's account store (borrowed) */
  const char *account;
  const char *partition; /* "aws", "aws-cn", … of the Region called */
  int failed, status;
  char code[64];
  char message[1024];
} iam_ctx;

typedef json_t *(*iam_body_fn)(iam_ctx *c, json_t *input);

/* Runs body under the lock and answers with what it returned (a new
 * reference, NULL for an empty output) or the error it recorded. */
void iam_run(aws_call *call, json_t *input, iam_body_fn body);

#define IAM_HANDLER(name)                                                                          \
  static json_t *name##_body(iam_ctx *c, json_t *input);                                           \
  void name(aws_call *call, json_t *input) { iam_run(call, input, name##_body); }                  \
  static json_t *name##_body(iam_ctx *c, json_t *input)

/* Records an error for iam_run to answer (status 0: the model's) and returns
 * NULL, so that a body can `return iam_fail(...)`. */
json_t *iam_fail(iam_ctx *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
json_t *iam_no_entity(iam_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- principals: users, groups and roles share inline and managed policies ---- */

typedef enum iam_kind { IAM_USER, IAM_GROUP, IAM_ROLE } iam_kind;

typedef struct iam_kind_info {
  const char *store;       /* "users" */
  const char *name_member; /* "UserName" */
  const char *id_member;   /* "UserId" */
  const char *noun;        /* "user" (ARNs, messages) */
  const char *id_prefix;   /* "AIDA" */
  size_t name_max;
  size_t inline_max; /* aggregate inline policy size */
} iam_kind_info;

extern const iam_kind_info iam_kinds[3];

/* The kind an operation is about, from its name ("PutRolePolicy" → role). */
iam_kind iam_kind_of(const aws_call *call);

/* The map of the account's store (users, groups, roles, profiles, policies,
 * aws, oidc, saml), created on first use. Borrowed. */
json_t *iam_map(iam_ctx *c, const char *name);
/* The record named name (case-insensitively) in map, or NULL. */
json_t *iam_get(json_t *map, const char *name);
/* Stores rec (takes the reference) under name's key. */
void iam_put(json_t *map, const char *name, json_t *rec);
void iam_del(json_t *map, const char *name);
/* The principal of kind named by input's name member; NULL after
 * NoSuchEntity ("The user with name X cannot be found."). */
json_t *iam_principal(iam_ctx *c, iam_kind kind, json_t *input);

/* ---- values ---- */

double iam_now(void);
/* prefix and 17 random characters of [A-Z2-7], as AWS's unique ids. */
void iam_new_id(char out[32], const char *prefix);
/* "arn:<partition>:iam::<account>:<type><path><name>" (owned): type "user",
 * path "/dev/" and name "bob" give …:user/dev/bob. */
char *iam_arn(iam_ctx *c, const char *type, const char *path, const char *name);
/* A copy of rec without its private members (new reference). */
json_t *iam_public(const json_t *rec);
/* RFC 3986 percent-encoding of s, as IAM returns policy documents (owned). */
char *iam_url_encode(const char *s);
/* A JSON string of s percent-encoded (new reference). */
json_t *iam_encoded(const char *s);

/* ---- validation (each answers ValidationError / MalformedPolicyDocument
 * through c and returns -1) ---- */

/* A name member ([\w+=,.@-], 1..max); absent is an error when required. */
int iam_check_name(iam_ctx *c, json_t *input, const char *member, size_t max, int required);
/* input's Status: Active or Inactive (a key's, certificate's or credential's). */
int iam_check_status(iam_ctx *c, json_t *input);
/* A path member ("/" by default: absent is fine). */
int iam_check_path(iam_ctx *c, json_t *input, const char *member);
/* A description member (0..1000). */
int iam_check_description(iam_ctx *c, json_t *input);
/* Parses a policy document: JSON with a Version we know and Statements that
 * each have an Effect (Allow/Deny), an Action or NotAction, and (identity
 * policies) a Resource or NotResource and no Principal; trust policies need a
 * Principal and allow no Resource. The parsed document (new reference). */
#define IAM_DOC_IDENTITY 0
#define IAM_DOC_TRUST 1
json_t *iam_check_document(iam_ctx *c, const char *text, int type);
/* The length of text without white space (AWS's measure of policy size). */
size_t iam_doc_size(const char *text);

/* ---- pagination (Marker, MaxItems, IsTruncated) ---- */

/* Slices items (takes the reference) by input's Marker and MaxItems into
 * out[member] and sets IsTruncated and Marker. Returns out, or NULL after a
 * ValidationError (and out is released). */
json_t *iam_page(iam_ctx *c, json_t *input, json_t *items, const char *member, json_t *out);

/* ---- tags ---- */

/* Validates input's Tags (list of {Key, Value}) and merges them into
 * rec["Tags"] (replacing values of existing keys). -1 after answering. */
int iam_tags_merge(iam_ctx *c, json_t *rec, json_t *input);
/* Removes input's TagKeys from rec["Tags"]. */
int iam_tags_remove(iam_ctx *c, json_t *rec, json_t *input);
/* input paginated over rec's tags: {Tags, IsTruncated[, Marker]}. */
json_t *iam_tags_page(iam_ctx *c, json_t *rec, json_t *input);

/* ---- managed policies ---- */

/* The managed policy at arn (customer or AWS-managed; AWS-managed ones are
 * answered from a table of the common ones). Borrowed or NULL. */
json_t *iam_policy(iam_ctx *c, const char *arn);
/* The document of a managed policy's default version (borrowed text), or NULL. */
const char *iam_policy_document(iam_ctx *c, const char *arn);
/* The policy record with counts filled in (new reference). */
json_t *iam_policy_out(iam_ctx *c, json_t *policy);
/* The AWS-managed policies (borrowed table, built once): arn → record. */
const json_t *iam_aws_policies(void);
/* How many principals attach arn (boundary: use it as permissions boundary). */
size_t iam_policy_usage(iam_ctx *c, const char *arn, int boundary);

/* ---- roles and users (records for answers) ---- */

/* A role's answer (new reference): full adds Tags, PermissionsBoundary and
 * RoleLastUsed (GetRole), as ListRoles leaves them out. */
json_t *iam_role_out(const json_t *role, int full);
/* The user making the call (by its access key), or NULL when the caller is
 * the account's root. */
json_t *iam_caller_user(iam_ctx *c);

/* ---- policy evaluation (iam_eval.c) ---- */

typedef enum iam_decision { IAM_IMPLICIT_DENY, IAM_ALLOWED, IAM_EXPLICIT_DENY } iam_decision;

/* Evaluates one policy document for action on resource under context
 * ({key → [values]}, lower-case keys); adds the context keys its conditions
 * lacked to missing (array; may be NULL). Statement index that decided in
 * *matched (-1 none). */
iam_decision iam_eval_document(const json_t *doc, const char *action, const char *resource,
                               const json_t *context, json_t *missing, int *matched);
/* Adds the condition keys doc uses to keys (an array; each once, compared
 * case-insensitively). */
void iam_eval_context_keys(const json_t *doc, json_t *keys);
/* 1 when pattern (with * and ?) matches s; nocase for actions. */
int iam_wildcard(const char *pattern, const char *s, int nocase);

/* ---- handlers ---- */

/* iam_users.c */
void iam_create_user(aws_call *call, json_t *input);
void iam_get_user(aws_call *call, json_t *input);
void iam_update_user(aws_call *call, json_t *input);
void iam_delete_user(aws_call *call, json_t *input);
void iam_list_users(aws_call *call, json_t *input);
void iam_create_group(aws_call *call, json_t *input);
void iam_get_group(aws_call *call, json_t *input);
void iam_update_group(aws_call *call, json_t *input);
void iam_delete_group(aws_call *call, json_t *input);
void iam_list_groups(aws_call *call, json_t *input);
void iam_add_user_to_group(aws_call *call, json_t *input);
void iam_remove_user_from_group(aws_call *call, json_t *input);
void iam_list_groups_for_user(aws_call *call, json_t *input);
void iam_create_login_profile(aws_call *call, json_t *input);
void iam_get_login_profile(aws_call *call, json_t *input);
void iam_update_login_profile(aws_call *call, json_t *input);
void iam_delete_login_profile(aws_call *call, json_t *input);
void iam_change_password(aws_call *call, json_t *input);

/* iam_keys.c */
void iam_create_access_key(aws_call *call, json_t *input);
void iam_update_access_key(aws_call *call, json_t *input);
void iam_delete_access_key(aws_call *call, json_t *input);
void iam_list_access_keys(aws_call *call, json_t *input);
void iam_get_access_key_last_used(aws_call *call, json_t *input);
/* (Re-)registers user's active keys in the emulator's credential table
 * (after a rename: the identity's ARN changed). */
void iam_keys_register(iam_ctx *c, const json_t *user);
/* Forgets every credential the account's IAM keys registered (reset). */
void iam_keys_forget(iam_state *st, json_t *acct);
/* Whose credentials a call is about: the user input's UserName names, else the
 * caller (an IAM user), else the account's root record. NULL after NoSuchEntity. */
json_t *iam_credential_owner(iam_ctx *c, json_t *input);
/* n characters drawn at random from alphabet into out (n + 1 bytes, n <= 64). */
void iam_random_chars(char *out, size_t n, const char *alphabet);

/* Service-specific credentials (iam_keys.c). */
void iam_create_service_specific_credential(aws_call *call, json_t *input);
void iam_list_service_specific_credentials(aws_call *call, json_t *input);
void iam_reset_service_specific_credential(aws_call *call, json_t *input);
void iam_update_service_specific_credential(aws_call *call, json_t *input);
void iam_delete_service_specific_credential(aws_call *call, json_t *input);

/* iam_mfa.c: virtual MFA devices (TOTP) */
void iam_create_virtual_mfa_device(aws_call *call, json_t *input);
void iam_enable_mfa_device(aws_call *call, json_t *input);
void iam_resync_mfa_device(aws_call *call, json_t *input);
void iam_deactivate_mfa_device(aws_call *call, json_t *input);
void iam_delete_virtual_mfa_device(aws_call *call, json_t *input);
void iam_list_mfa_devices(aws_call *call, json_t *input);
void iam_list_virtual_mfa_devices(aws_call *call, json_t *input);
void iam_tag_mfa_device(aws_call *call, json_t *input);
void iam_untag_mfa_device(aws_call *call, json_t *input);
void iam_list_mfa_device_tags(aws_call *call, json_t *input);

/* iam_certs.c: server and signing certificates, SSH public keys */
void iam_upload_server_certificate(aws_call *call, json_t *input);
void iam_get_server_certificate(aws_call *call, json_t *input);
void iam_list_server_certificates(aws_call *call, json_t *input);
void iam_update_server_certificate(aws_call *call, json_t *input);
void iam_delete_server_certificate(aws_call *call, json_t *input);
void iam_tag_server_certificate(aws_call *call, json_t *input);
void iam_untag_server_certificate(aws_call *call, json_t *input);
void iam_list_server_certificate_tags(aws_call *call, json_t *input);
void iam_upload_signing_certificate(aws_call *call, json_t *input);
void iam_list_signing_certificates(aws_call *call, json_t *input);
void iam_update_signing_certificate(aws_call *call, json_t *input);
void iam_delete_signing_certificate(aws_call *call, json_t *input);
void iam_upload_ssh_public_key(aws_call *call, json_t *input);
void iam_get_ssh_public_key(aws_call *call, json_t *input);
void iam_list_ssh_public_keys(aws_call *call, json_t *input);
void iam_update_ssh_public_key(aws_call *call, json_t *input);
void iam_delete_ssh_public_key(aws_call *call, json_t *input);

/* iam_principal.c: inline and attached policies, tags, boundaries */
void iam_put_principal_policy(aws_call *call, json_t *input);
void iam_get_principal_policy(aws_call *call, json_t *input);
void iam_delete_principal_policy(aws_call *call, json_t *input);
void iam_list_principal_policies(aws_call *call, json_t *input);
void iam_attach_principal_policy(aws_call *call, json_t *input);
void iam_detach_principal_policy(aws_call *call, json_t *input);
void iam_list_attached_policies(aws_call *call, json_t *input);
void iam_tag_principal(aws_call *call, json_t *input);
void iam_untag_principal(aws_call *call, json_t *input);
void iam_list_principal_tags(aws_call *call, json_t *input);
void iam_put_boundary(aws_call *call, json_t *input);
void iam_delete_boundary(aws_call *call, json_t *input);

/* iam_roles.c */
void iam_create_role(aws_call *call, json_t *input);
void iam_get_role(aws_call *call, json_t *input);
void iam_update_role(aws_call *call, json_t *input);
void iam_update_role_description(aws_call *call, json_t *input);
void iam_update_assume_role_policy(aws_call *call, json_t *input);
void iam_delete_role(aws_call *call, json_t *input);
void iam_list_roles(aws_call *call, json_t *input);
void iam_create_service_linked_role(aws_call *call, json_t *input);
void iam_delete_service_linked_role(aws_call *call, json_t *input);
void iam_get_service_linked_role_deletion_status(aws_call *call, json_t *input);

/* iam_profiles.c */
void iam_create_instance_profile(aws_call *call, json_t *input);
void iam_get_instance_profile(aws_call *call, json_t *input);
void iam_delete_instance_profile(aws_call *call, json_t *input);
void iam_list_instance_profiles(aws_call *call, json_t *input);
void iam_list_instance_profiles_for_role(aws_call *call, json_t *input);
void iam_add_role_to_instance_profile(aws_call *call, json_t *input);
void iam_remove_role_from_instance_profile(aws_call *call, json_t *input);
void iam_tag_instance_profile(aws_call *call, json_t *input);
void iam_untag_instance_profile(aws_call *call, json_t *input);
void iam_list_instance_profile_tags(aws_call *call, json_t *input);

/* iam_policies.c */
void iam_create_policy(aws_call *call, json_t *input);
void iam_get_policy(aws_call *call, json_t *input);
void iam_delete_policy(aws_call *call, json_t *input);
void iam_list_policies(aws_call *call, json_t *input);
void iam_create_policy_version(aws_call *call, json_t *input);
void iam_get_policy_version(aws_call *call, json_t *input);
void iam_delete_policy_version(aws_call *call, json_t *input);
void iam_list_policy_versions(aws_call *call, json_t *input);
void iam_set_default_policy_version(aws_call *call, json_t *input);
void iam_tag_policy(aws_call *call, json_t *input);
void iam_untag_policy(aws_call *call, json_t *input);
void iam_list_policy_tags(aws_call *call, json_t *input);
void iam_list_entities_for_policy(aws_call *call, json_t *input);

/* iam_providers.c */
void iam_create_oidc_provider(aws_call *call, json_t *input);
void iam_get_oidc_provider(aws_call *call, json_t *input);
void iam_delete_oidc_provider(aws_call *call, json_t *input);
void iam_list_oidc_providers(aws_call *call, json_t *input);
void iam_add_client_id(aws_call *call, json_t *input);
void iam_remove_client_id(aws_call *call, json_t *input);
void iam_update_thumbprint(aws_call *call, json_t *input);
void iam_create_saml_provider(aws_call *call, json_t *input);
void iam_get_saml_provider(aws_call *call, json_t *input);
void iam_update_saml_provider(aws_call *call, json_t *input);
void iam_delete_saml_provider(aws_call *call, json_t *input);
void iam_list_saml_providers(aws_call *call, json_t *input);
void iam_tag_provider(aws_call *call, json_t *input);
void iam_untag_provider(aws_call *call, json_t *input);
void iam_list_provider_tags(aws_call *call, json_t *input);

/* iam_account.c */
void iam_create_account_alias(aws_call *call, json_t *input);
void iam_delete_account_alias(aws_call *call, json_t *input);
void iam_list_account_aliases(aws_call *call, json_t *input);
void iam_update_password_policy(aws_call *call, json_t *input);
void iam_get_password_policy(aws_call *call, json_t *input);
void iam_delete_password_policy(aws_call *call, json_t *input);
/* Checks password against the account's password policy, if it has one;
 * -1 after PasswordPolicyViolation. */
int iam_password_check(iam_ctx *c, const char *password);

/* iam_report.c */
void iam_get_account_authorization_details(aws_call *call, json_t *input);
void iam_get_account_summary(aws_call *call, json_t *input);
void iam_simulate_principal_policy(aws_call *call, json_t *input);
void iam_simulate_custom_policy(aws_call *call, json_t *input);
void iam_get_context_keys_for_custom_policy(aws_call *call, json_t *input);
void iam_get_context_keys_for_principal_policy(aws_call *call, json_t *input);
void iam_generate_credential_report(aws_call *call, json_t *input);
void iam_get_credential_report(aws_call *call, json_t *input);

#endif
