/*
 * lambda_int.h — private to emulator/lambda/: the function store shared by the
 * Lambda handlers (one .c per concept: functions, versions and aliases,
 * permissions and tags, code packages, the Runtime API, invocations).
 *
 * A function is a JSON record under the service's one mutex, keyed
 * "<account>/<region>/<name>":
 *   Name, Account, Region,
 *   Latest   the $LATEST FunctionConfiguration as the API returns it
 *   LatestCode {Dir, Tar, Zip, Sha, Size, Image} where its code lives
 *   Versions {"1": {Config, Code}, ...}, NextVersion
 *   Aliases {name: AliasConfiguration}
 *   Policy [statement, ...], Tags {k: v}, Concurrency (reserved, optional)
 *   Url (FunctionUrlConfig, optional), EventInvoke (optional)
 *   ReadyAt (ms, wall): a Pending/InProgress state becomes Active/Successful
 *   on the first read at or after it (the SDK waiters poll for that).
 *
 * Code: a zip is checked and converted once, at upload, into a tar archive
 * (code.tar) in a directory of its own under the emulator's data folder; the
 * container gets that archive through the Docker archive API, never a bind
 * mount. The zip itself is kept for GetFunction's Code.Location.
 */
#ifndef AIRGAP_EMULATOR_LAMBDA_INT_H
#define AIRGAP_EMULATOR_LAMBDA_INT_H

#include "emulator/lambda/lambda.h"
#include "emulator/service.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <zip.h>

/* AWS's quotas. */
#define LAMBDA_MAX_ZIP (50u * 1024 * 1024)         /* direct upload, zipped */
#define LAMBDA_MAX_UNZIPPED 262144000ull           /* unzipped, with layers */
#define LAMBDA_MAX_ENTRIES 100000u                 /* files in one package */
#define LAMBDA_MAX_SYNC_PAYLOAD (6u * 1024 * 1024) /* 6 MB request/response */
#define LAMBDA_MAX_ASYNC_PAYLOAD (256u * 1024)
#define LAMBDA_MAX_ENV_BYTES 4096u
/* ImageConfig: items of EntryPoint or Command, characters of WorkingDirectory. */
#define LAMBDA_MAX_IMAGE_LIST 1500u
#define LAMBDA_MAX_WORKING_DIR 1000u
#define LAMBDA_MAX_POLICY_BYTES 20480u
#define LAMBDA_MAX_VERSIONS 1000
#define LAMBDA_DEFAULT_TIMEOUT 3
#define LAMBDA_DEFAULT_MEMORY 128
#define LAMBDA_DEFAULT_CONCURRENCY 1000

typedef struct lambda_runtime lambda_runtime;

typedef struct lambda_state {
  pthread_mutex_t lock;
  emulator *emu;
  json_t *functions; /* key → record (above) */
  json_t *layers;    /* "<account>/<region>/<name>" → {Versions {"1": {...}}, Next} */
  json_t *mappings;  /* UUID → EventSourceMappingConfiguration */
  char *code_root;   /* <data dir>/lambda: one folder per uploaded package */
  uint64_t code_seq;
  /* Containers, the Runtime API and invocations: made at the first Invoke
   * (lambda_runtime_get), so an emulator that never invokes pays nothing. */
  lambda_runtime *runtime;
  struct lambda_esm *esm; /* event source mappings' poller (event_sources*.c) */
  /* Image checks (images.c): image key → true while one runs. */
  json_t *image_checks;
  int checks_running, closing;
  pthread_cond_t checks_done;
  pthread_t reaper; /* removes a stopped emulator's containers at start */
  int reaper_started;
  pthread_cond_t reaper_wake; /* closing: the reaper stops waiting to begin */
} lambda_state;

lambda_state *lambda_state_of(aws_call *call);
double lambda_now(void);
/* "2024-05-01T12:00:00.000+0000", AWS's LastModified format. */
void lambda_timestamp(char *out, size_t n, double t);
void lambda_revision(char out[37]);

/* "arn:aws:lambda:<region>:<account>:function:<name>" (+ ":<qualifier>"). */
void lambda_function_arn(char *out, size_t n, const char *region, const char *account,
                         const char *name, const char *qualifier);

/* ---- finding functions (service.c) ---- */

/* Splits a FunctionName as the API accepts it (name, name:qualifier, partial
 * ARN "<account>:function:<name>", full ARN, each with an optional qualifier)
 * into name and qualifier (qualifier "" when none). Answers the call with
 * AWS's error and returns -1 when it is malformed or names another Region or
 * account. */
int lambda_name_parse(aws_call *call, const char *given, char *name, size_t name_n, char *qualifier,
                      size_t qualifier_n);

/* The function FunctionName names, under st->lock (held on success). The
 * qualifier in the name, if any, goes to *qualifier (may be NULL): it must
 * agree with a Qualifier member when both are given. NULL after answering
 * ResourceNotFoundException (and unlocking). */
json_t *lambda_function_lock(lambda_state *st, aws_call *call, json_t *input, char *qualifier,
                             size_t qualifier_n);
/* Whether rt is a runtime the API takes (deprecated_too: or one it knows
 * but no longer takes, as the Runtime enum of older operations lists them),
 * and that enum as AWS prints it: "[nodejs18.x, …]". */
int lambda_runtime_known(const char *rt, int deprecated_too);
void lambda_runtime_set(char *out, size_t n, int deprecated_too);
/* As lambda_function_lock, but a function that does not exist is left to
 * the caller to answer in its operation's words: *missing is 1, arn its ARN
 * (with the qualifier the name carried), NULL returned and the call
 * untouched. Malformed names are answered as by lambda_function_lock. */
json_t *lambda_function_find(lambda_state *st, aws_call *call, json_t *input, char *qualifier,
                             size_t qualifier_n, int *missing, char *arn, size_t arn_n);

/* The configuration (and code) of version qualifier of f: "" or "$LATEST",
 * a version number or an alias (resolved; for an alias with routing config
 * the primary version). NULL when there is none (no answer made). *version
 * gets the version the qualifier stands for. */
json_t *lambda_function_version(json_t *f, const char *qualifier, json_t **code, char *version,
                                size_t version_n);

/* Applies due state transitions (Pending → Active, InProgress → Successful). */
void lambda_function_settle(json_t *f);

/* lambda_function_version for an invocation: the configuration it runs
 * with, which is the version's own, except after a configuration update of
 * $LATEST that failed, which AWS aborts: the previous configuration stays in
 * use until an update succeeds. */
json_t *lambda_function_version_to_run(json_t *f, const char *qualifier, json_t **code,
                                       char *version, size_t version_n);
/* Keeps $LATEST's configuration as it runs now, before an update changes
 * it: the one invocations go on with should the update fail. */
void lambda_function_keep_running_config(json_t *f);
/* $LATEST's configuration is the one invocations use again: its update
 * succeeded, or the function failed as a whole. */
void lambda_function_runs_latest(json_t *f);

/* ---- validation (functions.c) ---- */

/* The common "1 validation error detected" ValidationException. */
void lambda_fail_validation(aws_call *call, const char *value, const char *member,
                            const char *constraint);

/* Checks the configuration members of a CreateFunction or
 * UpdateFunctionConfiguration input. Answers the call and returns -1 on the
 * first error. */
int lambda_config_check(aws_call *call, const json_t *input, const char *package_type);
/* Copies them into a stored configuration. */
void lambda_config_apply(json_t *config, const json_t *input);

/* PreconditionFailedException unless input's RevisionId (when given) is
 * config's. Answers and returns -1 on mismatch. */
int lambda_revision_check(aws_call *call, const json_t *input, const json_t *config);

/* Publishes $LATEST of f as a new version (or finds the version already
 * published from the same revision) and returns a copy of its
 * configuration (owned). description NULL: $LATEST's. Caller holds the lock. */
json_t *lambda_version_publish(json_t *f, const char *description);

/* ---- libzip, loaded on first use (zipload.c) ---- */

typedef struct lambda_zip_api {
  __typeof__(zip_error_init) *error_init;
  __typeof__(zip_error_fini) *error_fini;
  __typeof__(zip_source_buffer_create) *source_buffer_create;
  __typeof__(zip_source_free) *source_free;
  __typeof__(zip_open_from_source) *open_from_source;
  __typeof__(zip_get_num_entries) *get_num_entries;
  __typeof__(zip_stat_index) *stat_index;
  __typeof__(zip_file_get_external_attributes) *file_get_external_attributes;
  __typeof__(zip_fopen_index) *fopen_index;
  __typeof__(zip_fread) *fread;
  __typeof__(zip_fclose) *fclose;
  __typeof__(zip_discard) *discard;
} lambda_zip_api;

/* libzip's functions (borrowed, process lifetime), or NULL with a message
 * when libzip cannot be loaded. Thread-safe. */
const lambda_zip_api *lambda_zip(void);

/* ---- code packages (code.c) ---- */

/* Checks a zip (AWS's limits; no entry escaping the code directory by "..",
 * an absolute path or a symlink; no duplicate; sizes as declared) and stores
 * it: *out gets {Dir, Tar, Zip, Sha, Size} (owned). Errors (with a message
 * for InvalidParameterValueException in airgap_error_last()): AIRGAP_EINVALID
 * (not a zip or an unsafe entry), AIRGAP_ETOOBIG (over the unzipped limit),
 * -1. */
int lambda_code_store(json_t **out, lambda_state *st, const void *zip, size_t len,
                      const char *prefix);

/* Checks a zip and converts it into a tar archive (ustar) with the files
 * under prefix ("var/task/" for code, "opt/" for layers). Owned *tar. Same
 * errors as lambda_code_store. Exposed for the fuzz target. */
int lambda_zip_to_tar(char **tar, size_t *tar_len, const void *zip, size_t len, const char *prefix);

/* The archive a container gets, extracted at "/": the layers' files under
 * opt/, then the package's under var/task/ (owned). */
int lambda_code_read_tar(char **out, size_t *len, const json_t *code);

/* Removes a package's directory. */
void lambda_code_remove(const json_t *code);

/* Makes FunctionCode (ZipFile or ImageUri) from input member "Code" (or the
 * input itself for UpdateFunctionCode) into a stored package. Answers the
 * call and returns -1 on error. */
int lambda_code_from_input(json_t **out, lambda_state *st, aws_call *call, const json_t *code,
                           const char *package_type);

/* ---- handlers ---- */

void lambda_create_function(aws_call *call, json_t *input);
void lambda_get_function(aws_call *call, json_t *input);
void lambda_get_function_configuration(aws_call *call, json_t *input);
void lambda_list_functions(aws_call *call, json_t *input);
void lambda_delete_function(aws_call *call, json_t *input);
void lambda_update_function_code(aws_call *call, json_t *input);
void lambda_update_function_configuration(aws_call *call, json_t *input);

void lambda_publish_version(aws_call *call, json_t *input);
void lambda_list_versions_by_function(aws_call *call, json_t *input);
void lambda_create_alias(aws_call *call, json_t *input);
void lambda_get_alias(aws_call *call, json_t *input);
void lambda_update_alias(aws_call *call, json_t *input);
void lambda_delete_alias(aws_call *call, json_t *input);
void lambda_list_aliases(aws_call *call, json_t *input);

void lambda_add_permission(aws_call *call, json_t *input);
void lambda_remove_permission(aws_call *call, json_t *input);
void lambda_get_policy(aws_call *call, json_t *input);
void lambda_tag_resource(aws_call *call, json_t *input);
void lambda_untag_resource(aws_call *call, json_t *input);
void lambda_list_tags(aws_call *call, json_t *input);
void lambda_put_function_concurrency(aws_call *call, json_t *input);
void lambda_get_function_concurrency(aws_call *call, json_t *input);
void lambda_delete_function_concurrency(aws_call *call, json_t *input);
void lambda_create_function_url_config(aws_call *call, json_t *input);
void lambda_get_function_url_config(aws_call *call, json_t *input);
void lambda_update_function_url_config(aws_call *call, json_t *input);
void lambda_delete_function_url_config(aws_call *call, json_t *input);
void lambda_list_function_url_configs(aws_call *call, json_t *input);
void lambda_get_account_settings(aws_call *call, json_t *input);

void lambda_invoke(aws_call *call, json_t *input);

void lambda_publish_layer_version(aws_call *call, json_t *input);
void lambda_get_layer_version(aws_call *call, json_t *input);
void lambda_get_layer_version_by_arn(aws_call *call, json_t *input);
void lambda_delete_layer_version(aws_call *call, json_t *input);
void lambda_list_layer_versions(aws_call *call, json_t *input);
void lambda_list_layers(aws_call *call, json_t *input);

/* A function's Layers (version ARNs, at most 5) as its configuration shows
 * them (*out: [{Arn, CodeSize}]) and the packages its containers get
 * (*packages). Caller holds st->lock. Answers the call and returns -1 when
 * one does not exist. */
int lambda_layers_resolve(json_t **out, json_t **packages, lambda_state *st, aws_call *call,
                          const json_t *arns);

/* ---- the runtime (runtime.c, environments.c) ---- */

/* The runtime, made on first use; NULL after answering the call (logging,
 * when call is NULL) with the reason when it cannot be (no Docker engine).
 * Caller does not hold st->lock. */
lambda_runtime *lambda_runtime_get(lambda_state *st, aws_call *call);
/* Answers every waiting invocation and removes every container. */
void lambda_runtime_shutdown(lambda_runtime *rt);
void lambda_runtime_free(lambda_runtime *rt);
/* The image a runtime maps to (LAMBDA_RUNTIME_IMAGE_MAPPING or AWS's base
 * image). */
int lambda_runtime_image(char *out, size_t n, lambda_runtime *rt, const char *runtime);
/* Whether the engine has image: creates (never starts) and removes a
 * container of it. 0, AIRGAP_ENOTFOUND (no such image), or another error
 * (the check could not be made). Blocks: caller holds no lock. */
int lambda_image_probe(lambda_runtime *rt, const char *image);

/* Removes, on a thread of its own, the containers of emulators that are
 * gone (kill -9), when a Docker socket is there (not in a job). Never fails
 * the start: what cannot be done is logged. Join before st goes; setting
 * st->closing cuts the walk short. */
void lambda_reaper_start(lambda_state *st);
void lambda_reaper_join(lambda_state *st);

/* ---- image checks (images.c) ---- */

/* Checks, in the background, the image $LATEST of f runs (its ImageUri or
 * its runtime's image): f's state stays Pending (LastUpdateStatus
 * InProgress) until the check ends, then Active, or Failed with
 * ImageAccessDenied naming the image when the engine does not have it. One
 * check per image at a time: functions waiting on the same image share it.
 * Without a Docker engine nothing is checked (Invoke tells). Caller holds
 * st->lock. */
void lambda_image_check_start(lambda_state *st, json_t *f);
/* Waits for the running checks (shutdown). Caller holds no lock. */
void lambda_image_checks_wait(lambda_state *st);

/* Removes the warm containers of a function (every version), after an update
 * or deletion. Caller holds st->lock; rt may be NULL. */
void lambda_runtime_forget(lambda_runtime *rt, const char *function_arn);

/* One invocation handed to the runtime. Strings owned by the runtime after
 * lambda_runtime_invoke (it copies). */
/* A streamed response relayed to an in-process caller (a function URL in
 * RESPONSE_STREAM mode): called under the runtime's lock on the Runtime
 * API listener's thread, first with len 0 when the runtime starts a
 * streamed response (content_type: its Content-Type header,
 * application/octet-stream when it sent none; the same on every call), then
 * with each piece as it arrives; done follows as usual,
 * with an empty payload (or the error). Must not block nor call Lambda. */
typedef void (*lambda_chunk_fn)(const char *content_type, const char *data, size_t len,
                                void *payload);

typedef struct lambda_invocation_spec {
  const char *function_arn; /* unqualified */
  const char *invoked_arn;  /* as the caller named it */
  const char *version;      /* "$LATEST", "3" */
  const json_t *config;     /* the version's configuration (borrowed) */
  const json_t *code;       /* its package (borrowed) */
  int reserved;             /* reserved concurrency, -1 when none */
  const unsigned char *payload;
  size_t payload_len;
  const char *client_context; /* base64 or NULL */
  int tail;                   /* LogType=Tail */
  int event;                  /* InvocationType=Event: answered 202 at once */
  int stream;                 /* InvokeWithResponseStream: answered as an event stream */
  const json_t *async;        /* Event: lambda_async_settings (borrowed) */
  /* Instead of a call: an in-process invocation (lambda.h) whose outcome goes
   * to done(result, done_payload), called once. */
  lambda_done_fn done;
  void *done_payload;
  lambda_chunk_fn chunk; /* with done: relay a streamed response (NULL: buffered) */
} lambda_invocation_spec;

/* Queues an invocation (the spec is copied); the call is answered when the
 * function responds, fails or times out, or at once (202) for an Event
 * invocation. Caller does not hold st->lock. Returns 0, or -1 after
 * answering the call. */
int lambda_runtime_invoke(lambda_runtime *rt, aws_call *call, const lambda_invocation_spec *spec);

/* An invocation of function_arn (an ARN, qualified or not) made by Lambda
 * itself: Event (done NULL: a Lambda destination) or synchronous with its
 * outcome to done (a function URL). Caller holds no lock. 0, or -1 when the
 * function does not exist or cannot run (logged; done is then not called). */
int lambda_invoke_internal(lambda_state *st, const char *function_arn, const char *payload,
                           size_t len, lambda_done_fn done, void *done_payload);
/* As lambda_invoke_internal with done, a streamed response relayed to chunk
 * as it arrives (a function URL with InvokeMode RESPONSE_STREAM). */
int lambda_invoke_internal_stream(lambda_state *st, const char *function_arn, const char *payload,
                                  size_t len, lambda_chunk_fn chunk, lambda_done_fn done,
                                  void *done_payload);

/* InvokeWithResponseStream's answer (stream.c): out (Invoke's output
 * members, taken) with the function's payload as PayloadChunk events and an
 * InvokeComplete event (function_error: the payload is the error; log_result:
 * base64 or NULL). */
void lambda_stream_reply(aws_call *call, json_t *out, const char *payload, size_t len,
                         const char *function_error, const char *log_result);

/* ---- function URLs (urls.c) ---- */

/* Answers a request whose Host names a function URL
 * (<url-id>.lambda-url.<region>.<anything>): the function gets it as an API
 * Gateway HTTP API v2 (version 2.0) event, its result becomes the response. */
void lambda_url_handle(lambda_state *st, http_request *req);
/* A RESPONSE_STREAM URL's prelude (application/vnd.awslambda.http-
 * integration-response): a JSON object, then 8 NUL bytes, then the body.
 * 1 with *out (owned, json_decref) and *body_at (where the body starts in
 * data) once both are in data; 0 while more bytes are needed; -1 when data
 * cannot start with one (not a JSON object, or no delimiter within
 * LAMBDA_URL_MAX_PRELUDE bytes). The search starts at from (a caller that
 * saw no delimiter in data[0, n) passes n - 7). data comes from the
 * function: untrusted. */
#define LAMBDA_URL_MAX_PRELUDE (64u * 1024)
int lambda_url_prelude(json_t **out, size_t *body_at, const char *data, size_t len, size_t from);
/* GET /_aws/lambda/timings: the emulator's own share of the last
 * RequestResponse invokes that ran ({"invocations", "own_us": {"p50",
 * "p99", "max"}}), the figure tests/bench/lambda_bench.py prints; DELETE
 * starts the count again. Not an AWS API: airgap's own, like LocalStack's
 * /_aws paths. */
void lambda_timings_handle(lambda_state *st, http_request *req);
/* What the gateway passes as "rest" to Lambda's internal endpoint for a
 * function URL request (it has no /_aws/lambda/ path of its own). */
#define LAMBDA_URL_ENDPOINT "function-url"

/* ---- asynchronous invocation settings (destinations.c) ---- */

/* What an Event invocation of f through qualifier needs after it ran:
 * {Retries, MaxAge, OnSuccess?, OnFailure?, DeadLetter?} from the
 * qualifier's event invoke configuration and config's DeadLetterConfig
 * (owned). Caller holds st->lock. */
json_t *lambda_async_settings(json_t *f, const char *qualifier, const json_t *config);

void lambda_put_function_event_invoke_config(aws_call *call, json_t *input);
void lambda_get_function_event_invoke_config(aws_call *call, json_t *input);
void lambda_update_function_event_invoke_config(aws_call *call, json_t *input);
void lambda_delete_function_event_invoke_config(aws_call *call, json_t *input);
void lambda_list_function_event_invoke_configs(aws_call *call, json_t *input);

#endif
