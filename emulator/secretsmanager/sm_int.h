/*
 * sm_int.h — private to emulator/secretsmanager/: the secret store shared by
 * the Secrets Manager handlers (one .c per concept: secrets, versions,
 * passwords, rotation).
 *
 * A secret is a JSON record under one mutex, keyed "<account>/<region>/<name>":
 *   Name, ARN, Description, KmsKeyId (as given), Tags [{Key, Value}],
 *   CreatedDate, LastChangedDate, LastAccessedDate, DeletedDate (scheduled
 *   deletion date), RotationEnabled, RotationLambdaARN, RotationRules,
 *   LastRotatedDate, ResourcePolicy,
 *   Versions {VersionId → {Blob (base64 KMS ciphertext, or the value itself
 *   when KMS is not served), Binary, Plain, VersionStages [..], CreatedDate,
 *   LastAccessedDate, KmsKeyIds}}, Order [VersionId… oldest first].
 * Values are encrypted through kms.h under KmsKeyId or alias/aws/secretsmanager
 * with the context {SecretARN, SecretVersionId}, as AWS does.
 */
#ifndef AIRGAP_EMULATOR_SM_INT_H
#define AIRGAP_EMULATOR_SM_INT_H

#include "emulator/service.h"

#include <jansson.h>
#include <pthread.h>

#define SM_MAX_VALUE 65536
#define SM_MAX_VERSIONS 100

typedef struct sm_state {
  pthread_mutex_t lock;
  json_t *secrets;
  emulator *emu;
  int rotations; /* rotation threads running (sm_rotation.c), under lock */
  pthread_cond_t rotations_idle;
} sm_state;

sm_state *sm_state_of(aws_call *call);
double sm_now(void);

/* The secret named by input's SecretId (name, full ARN or ARN without its
 * random suffix), under st->lock, held on success. Secrets whose deletion date
 * has passed are removed first. NULL after answering ResourceNotFoundException
 * (and unlocking). When live is set, a secret scheduled for deletion answers
 * InvalidRequestException instead. */
json_t *sm_lock_secret(sm_state *st, aws_call *call, json_t *input, int live);
/* Removes secrets whose recovery window has ended, as AWS does (under
 * st->lock). */
void sm_purge(sm_state *st);
/* The secret id names (as sm_lock_secret), with st->lock held by the
 * caller; NULL when there is none. Answers nothing. */
json_t *sm_find_secret(sm_state *st, aws_call *call, const char *id);
/* The store key of a secret record. */
void sm_slot(char *out, size_t n, const char *account, const char *region, const char *name);

/* 1 when input has a valid, consistent value (SecretString xor SecretBinary);
 * 0 when it has none; -1 after answering. */
int sm_value_arg(aws_call *call, json_t *input);
/* Adds a version with input's value to secret (under the lock): encrypts it,
 * gives it stages (NULL: ["AWSCURRENT"]) and moves AWSCURRENT/AWSPREVIOUS as
 * AWS does. version_id is the ClientRequestToken (a new UUID when NULL). If
 * a version with that id exists with the same value nothing changes; with a
 * different value ResourceExistsException. vid_out receives the version id.
 * Returns 0 or -1 after answering. */
int sm_version_add(char vid_out[65], sm_state *st, aws_call *call, json_t *secret, json_t *input,
                   const char *version_id, json_t *stages);
/* Moves label `stage` to version_id (NULL: just removes it) in secret;
 * moving AWSCURRENT leaves AWSPREVIOUS on the version it left. */
void sm_stage_move(json_t *secret, const char *stage, const char *version_id);
/* VersionIdsToStages of a secret (new reference; only versions with stages). */
json_t *sm_version_stages(json_t *secret);
/* Checks a ClientRequestToken (32..64 characters); -1 after answering. */
int sm_token_arg(aws_call *call, const char *token);

/* MaxResults (1..100, default 100) and NextToken (an offset handed out
 * before); -1 after answering. */
int sm_page_args(aws_call *call, json_t *input, size_t *limit, size_t *offset);
/* ListSecrets' Filters: 1 when valid (0 after answering); whether a secret
 * matches them (filters AND, values OR, "!" negates). */
int sm_filters_arg(aws_call *call, json_t *filters);
int sm_filters_match(json_t *secret, json_t *filters);
/* Sorts secrets (in the store's insertion order) by CreatedDate, oldest
 * first; ties keep that order, since CreatedDate has millisecond resolution
 * and two secrets can share it. -1 when out of memory. */
int sm_sort_by_created(json_t **secrets, size_t n);
/* GetSecretValue's answer for the AWSCURRENT version (new reference, access
 * recorded), under st->lock; NULL with the error code and message when the
 * version is missing or does not decrypt. */
json_t *sm_current_value(sm_state *st, json_t *secret, const char **code, const char **message);
/* Validates a resource policy document; -1 after answering
 * MalformedPolicyDocumentException. */
int sm_policy_arg(aws_call *call, const char *policy);

void sm_create_secret(aws_call *call, json_t *input);
void sm_describe_secret(aws_call *call, json_t *input);
void sm_update_secret(aws_call *call, json_t *input);
void sm_delete_secret(aws_call *call, json_t *input);
void sm_restore_secret(aws_call *call, json_t *input);
void sm_list_secrets(aws_call *call, json_t *input);
void sm_tag_resource(aws_call *call, json_t *input);
void sm_untag_resource(aws_call *call, json_t *input);
void sm_put_resource_policy(aws_call *call, json_t *input);
void sm_get_resource_policy(aws_call *call, json_t *input);
void sm_delete_resource_policy(aws_call *call, json_t *input);
void sm_validate_resource_policy(aws_call *call, json_t *input);

void sm_get_secret_value(aws_call *call, json_t *input);
void sm_batch_get_secret_value(aws_call *call, json_t *input);
void sm_put_secret_value(aws_call *call, json_t *input);
void sm_update_secret_version_stage(aws_call *call, json_t *input);
void sm_list_secret_version_ids(aws_call *call, json_t *input);

void sm_get_random_password(aws_call *call, json_t *input);
void sm_rotate_secret(aws_call *call, json_t *input);
void sm_cancel_rotate_secret(aws_call *call, json_t *input);
/* Waits until no rotation runs (the service's shutdown). */
void sm_rotation_wait(sm_state *st);

#endif
