/*
 * model.h — the embedded botocore service models, for the protocol layer, the
 * gateway (routing) and the tests; services never read models themselves.
 *
 * The build step (protocol/models/gen_models.py) embeds each served service's
 * service-2.json without its documentation as emulator_model_sources. A model
 * is parsed with jansson the first time it is needed (thread-safe) and then
 * kept, read-only, until the process exits; every json_t handed out here is
 * borrowed from it.
 */
#ifndef AIRGAP_EMULATOR_MODEL_H
#define AIRGAP_EMULATOR_MODEL_H

#include <jansson.h>
#include <stddef.h>

typedef struct emulator_model_source {
  const char *name; /* botocore folder name: "sqs" */
  const char *json;
  size_t len;
} emulator_model_source;

/* Defined by the generated source. */
extern const emulator_model_source emulator_model_sources[];
extern const size_t emulator_model_source_count;

typedef struct aws_model aws_model;

/* The model for a botocore name ("sqs"). Errors: AIRGAP_ENOTFOUND (not
 * embedded), -1 (the embedded text does not parse). *out is borrowed. */
int aws_model_get(const aws_model **out, const char *name);

const char *aws_model_name(const aws_model *m);
/* metadata.protocol: "query", "json", "rest-json", "rest-xml" (or "ec2"). */
const char *aws_model_protocol(const aws_model *m);
/* A metadata string ("xmlNamespace", "targetPrefix", …) or NULL. */
const char *aws_model_meta(const aws_model *m, const char *key);
/* 1 when metadata has awsQueryCompatible (query model also served as JSON). */
int aws_model_query_compatible(const aws_model *m);
/* The "operations" object and one operation by name (NULL when absent). */
const json_t *aws_model_operations(const aws_model *m);
const json_t *aws_model_operation(const aws_model *m, const char *name);
/* A shape by name, or the shape a reference ({"shape": …}) points to. */
const json_t *aws_model_shape(const aws_model *m, const char *name);
const json_t *aws_model_ref_shape(const aws_model *m, const json_t *ref);

/* The serialized name of a member, list item or map key/value reference:
 * the reference's locationName, else its shape's (botocore merges both),
 * else NULL. */
const char *aws_model_ref_name(const aws_model *m, const json_t *ref);

/* Small helpers over model objects (NULL-safe). */
const char *aws_json_str(const json_t *obj, const char *key);
int aws_json_bool(const json_t *obj, const char *key);

#endif
