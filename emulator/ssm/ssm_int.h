/*
 * ssm_int.h — private to emulator/ssm/: SSM Parameter Store's state shared by
 * its handlers (one .c per concept: put, get, describe/filters, labels and
 * tags, public parameters).
 *
 * A parameter is a JSON record under one mutex, keyed
 * "<account>/<region>/<name>": Name, ARN, Account, Region, Tags [{Key, Value}]
 * and Versions, oldest first, each {Version, Type, Value, KeyId, Description,
 * AllowedPattern, Tier, Policies, DataType, LastModifiedDate,
 * LastModifiedUser, Labels, Plain}. A SecureString's Value is the base64 of
 * its KMS ciphertext (what AWS returns without WithDecryption), encrypted
 * through kms.h with the context {PARAMETER_ARN: arn}; Plain marks one kept
 * as is because this emulator serves no KMS.
 */
#ifndef AIRGAP_EMULATOR_SSM_INT_H
#define AIRGAP_EMULATOR_SSM_INT_H

#include "emulator/service.h"

#include <jansson.h>
#include <pthread.h>

#define SSM_MAX_VERSIONS 100
#define SSM_MAX_DEPTH 15
#define SSM_MAX_NAME 1011

typedef struct ssm_state {
  pthread_mutex_t lock;
  json_t *params;
  emulator *emu;
} ssm_state;

ssm_state *ssm_state_of(aws_call *call);
double ssm_now(void);

/* A name as a client gave it, split: the parameter name (an ARN reduced to
 * the name) and an optional selector (":3" or ":label"). */
typedef struct ssm_ref {
  char name[SSM_MAX_NAME + 2];
  char selector[128]; /* "" when none; else ":<version>" or ":<label>" */
} ssm_ref;

/* Parses what a client named; 0, or -1 with *why set when the name cannot be a
 * parameter name (too long, bad characters). */
int ssm_ref_parse(ssm_ref *out, const char *given, const char **why);
/* Checks a name for PutParameter (characters, fully qualified when it has
 * '/', not under aws/ssm, depth); -1 after answering. */
int ssm_name_check(aws_call *call, const char *name);
void ssm_slot(char *out, size_t n, const char *account, const char *region, const char *name);
void ssm_arn(char *out, size_t n, const char *region, const char *account, const char *name);

/* The parameter record of name in the caller's account/Region (under the
 * lock); NULL when none. */
json_t *ssm_find(ssm_state *st, aws_call *call, const char *name);
/* The version a selector picks from a record (latest without one); NULL with
 * *code set ("ParameterVersionNotFound" / "ParameterNotFound"). */
json_t *ssm_pick(json_t *param, const char *selector, const char **code);
/* A Parameter object for Get*: Name, Type, Value (decrypted when decrypt),
 * Version, Selector, LastModifiedDate, ARN, DataType. NULL with *code set
 * when decryption fails ("InvalidKeyId"). New reference. */
json_t *ssm_render(ssm_state *st, aws_call *call, json_t *param, json_t *version,
                   const char *selector, int decrypt, const char **code);
/* The plaintext of a SecureString version (owned), NULL when it does not decrypt. */
char *ssm_decrypt(ssm_state *st, json_t *param, json_t *version);

/* The public parameter /aws/service/... for region (new reference, shaped as
 * a record with one version); NULL when name is not one we answer. */
json_t *ssm_public_find(const char *name, const char *region);
/* Every public parameter for region (new reference: array of records). */
json_t *ssm_public_all(const char *region);

/* ParameterFilters checks and matching (ssm_describe.c). by_path: the keys
 * GetParametersByPath allows. -1 after answering. */
int ssm_filters_check(aws_call *call, json_t *filters, int by_path);
int ssm_filters_match(json_t *param, json_t *filters);
/* Pagination: MaxResults in [1, max] (default dflt) and NextToken (an offset
 * handed out); -1 after answering. */
int ssm_page_args(aws_call *call, json_t *input, size_t dflt, size_t max, size_t *limit,
                  size_t *offset);
/* Records of the caller's account/Region (and the public ones), sorted by
 * name; new reference, copies (safe outside the lock). */
json_t *ssm_snapshot(ssm_state *st, aws_call *call, int with_public);

void ssm_put_parameter(aws_call *call, json_t *input);
void ssm_get_parameter(aws_call *call, json_t *input);
void ssm_get_parameters(aws_call *call, json_t *input);
void ssm_get_parameters_by_path(aws_call *call, json_t *input);
void ssm_get_parameter_history(aws_call *call, json_t *input);
void ssm_describe_parameters(aws_call *call, json_t *input);
void ssm_label_parameter_version(aws_call *call, json_t *input);
void ssm_unlabel_parameter_version(aws_call *call, json_t *input);
void ssm_delete_parameter(aws_call *call, json_t *input);
void ssm_delete_parameters(aws_call *call, json_t *input);
void ssm_add_tags_to_resource(aws_call *call, json_t *input);
void ssm_list_tags_for_resource(aws_call *call, json_t *input);
void ssm_remove_tags_from_resource(aws_call *call, json_t *input);

#endif
