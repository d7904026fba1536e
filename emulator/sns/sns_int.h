/*
 * sns_int.h — private to emulator/sns/: SNS's state and the helpers its files
 * share.
 *
 * Files, by concept:
 *   sns_service.c   the aws_service, state, errors, tags, LocalStack's
 *                   /_aws/sns/ endpoints (recorded SMS and platform messages,
 *                   subscription tokens, the signing certificate)
 *   sns_topics.c    topics: create, delete, list, attributes, data
 *                   protection policy, permissions
 *   sns_subs.c      subscriptions: subscribe (confirmation flow), confirm,
 *                   unsubscribe, attributes (filter and redrive policies), lists
 *   sns_publish.c   Publish and PublishBatch: checks, FIFO deduplication,
 *                   filtering, envelopes per protocol, hand-off to the
 *                   delivery engine
 *   sns_platform.c  platform applications and endpoints, SMS settings
 *   sns_sign.c      the signing key and certificate, message signatures
 *
 * Resources are jansson objects keyed by ARN, under one lock (sns_state.lock):
 *   topic: {Name, Account, Region, Attributes{}, Tags{}, Subs[arn…],
 *           DataProtectionPolicy?, Seq, Dedup{id: {MessageId, Seq, Expires}}}
 *   sub:   {TopicArn, Protocol, Endpoint, Owner, Attributes{}, Confirmed, Token}
 */
#ifndef AIRGAP_EMULATOR_SNS_INT_H
#define AIRGAP_EMULATOR_SNS_INT_H

#include "emulator/delivery/delivery.h"
#include "emulator/service.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#define SNS_MAX_MESSAGE 262144
#define SNS_MAX_SUBJECT 100
#define SNS_MAX_ATTRIBUTES 10
#define SNS_MAX_TAGS 50
#define SNS_MAX_BATCH 10
#define SNS_DEDUP_WINDOW_S 300
#define SNS_MAX_RECORDED 10000 /* SMS and platform messages kept for tests */

typedef struct sns_signer sns_signer;

typedef struct sns_state {
  pthread_mutex_t lock;
  emulator *emu;
  delivery *delivery;
  sns_signer *signer;
  json_t *topics;     /* arn → topic */
  json_t *subs;       /* arn → sub */
  json_t *apps;       /* platform application arn → {Name, Platform, Attributes{}} */
  json_t *endpoints;  /* platform endpoint arn → {App, Attributes{}} */
  json_t *sms;        /* array of recorded SMS */
  json_t *platform;   /* array of recorded platform messages */
  json_t *sms_attrs;  /* account/region → {attributes} */
  json_t *opted_out;  /* phone number → true */
  char endpoint[256]; /* "http://host:port" clients last used, for URLs in messages */
} sns_state;

/* ---- sns_service.c ---- */
sns_state *sns_state_of(aws_call *call);
/* "Invalid parameter: <what>" and friends, as SNS words them. */
void sns_fail_param(aws_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sns_fail_not_found(aws_call *call, const char *what);
/* The arn pieces: 0 or -1. service must match. */
int sns_arn_split(const char *arn, const char *service, char region[64], char account[16],
                  const char **resource);
/* ISO-8601 UTC with milliseconds, "2024-01-02T03:04:05.678Z". */
void sns_timestamp(char out[32]);
/* Remembers the endpoint clients address (under lock). */
void sns_note_endpoint(sns_state *st, aws_call *call);
/* Tags: TagResource, UntagResource, ListTagsForResource on topics. */
void sns_tag_resource(aws_call *call, json_t *in);
void sns_untag_resource(aws_call *call, json_t *in);
void sns_list_tags(aws_call *call, json_t *in);
/* Checks a Tags list ([{Key, Value}]) and merges it into tags. 0 or answered (-1). */
int sns_tags_merge(aws_call *call, json_t *tags, json_t *list);

/* ---- sns_topics.c ---- */
void sns_create_topic(aws_call *call, json_t *in);
void sns_delete_topic(aws_call *call, json_t *in);
void sns_list_topics(aws_call *call, json_t *in);
void sns_get_topic_attributes(aws_call *call, json_t *in);
void sns_set_topic_attributes(aws_call *call, json_t *in);
void sns_put_data_protection_policy(aws_call *call, json_t *in);
void sns_get_data_protection_policy(aws_call *call, json_t *in);
void sns_add_permission(aws_call *call, json_t *in);
void sns_remove_permission(aws_call *call, json_t *in);
/* The topic of arn (borrowed, under lock), else answers NotFound and NULL. */
json_t *sns_topic_get(sns_state *st, aws_call *call, const char *arn);
/* A topic ARN parameter: answers InvalidParameter when missing or malformed. */
const char *sns_topic_arn_param(aws_call *call, json_t *in, const char *member);

/* ---- sns_subs.c ---- */
void sns_subscribe(aws_call *call, json_t *in);
void sns_confirm_subscription(aws_call *call, json_t *in);
void sns_unsubscribe(aws_call *call, json_t *in);
void sns_get_subscription_attributes(aws_call *call, json_t *in);
void sns_set_subscription_attributes(aws_call *call, json_t *in);
void sns_list_subscriptions(aws_call *call, json_t *in);
void sns_list_subscriptions_by_topic(aws_call *call, json_t *in);
/* Removes sub arn from the state and its topic (under lock). */
void sns_sub_remove(sns_state *st, const char *arn);
/* The subscription's filter policy matches the message (under lock). */
int sns_sub_accepts(json_t *sub, const char *message, json_t *attributes);

/* ---- sns_publish.c ---- */
void sns_publish(aws_call *call, json_t *in);
void sns_publish_batch(aws_call *call, json_t *in);
/* A message from EventBridge (or another in-process source) to a topic:
 * the delivery engine's DELIVERY_SNS handler. */
int sns_publish_internal(const delivery_item *item, void *payload);
/* Sends an HTTP(S) sub its SubscriptionConfirmation, or (unsubscribe) its
 * UnsubscribeConfirmation (under lock). */
void sns_send_confirmation(sns_state *st, const char *sub_arn, json_t *sub, int unsubscribe);

/* ---- sns_platform.c ---- */
void sns_create_platform_application(aws_call *call, json_t *in);
void sns_delete_platform_application(aws_call *call, json_t *in);
void sns_list_platform_applications(aws_call *call, json_t *in);
void sns_get_platform_application_attributes(aws_call *call, json_t *in);
void sns_set_platform_application_attributes(aws_call *call, json_t *in);
void sns_create_platform_endpoint(aws_call *call, json_t *in);
void sns_delete_endpoint(aws_call *call, json_t *in);
void sns_get_endpoint_attributes(aws_call *call, json_t *in);
void sns_set_endpoint_attributes(aws_call *call, json_t *in);
void sns_list_endpoints_by_platform_application(aws_call *call, json_t *in);
void sns_get_sms_attributes(aws_call *call, json_t *in);
void sns_set_sms_attributes(aws_call *call, json_t *in);
void sns_check_if_phone_number_is_opted_out(aws_call *call, json_t *in);
void sns_list_phone_numbers_opted_out(aws_call *call, json_t *in);
void sns_opt_in_phone_number(aws_call *call, json_t *in);
/* Records a message to a platform endpoint (under lock). 0, or -1 when the
 * endpoint does not exist or is disabled (answered). */
int sns_platform_record(sns_state *st, aws_call *call, const char *endpoint_arn, json_t *record);
/* Records an SMS (under lock). */
void sns_sms_record(sns_state *st, json_t *record);

/* ---- sns_sign.c ---- */
int sns_signer_new(sns_signer **out);
void sns_signer_free(sns_signer *s);
/* The certificate's file name ("SimpleNotificationService-<hex>.pem"), borrowed. */
const char *sns_signer_cert_name(const sns_signer *s);
/* The certificate in PEM, borrowed. */
const char *sns_signer_cert_pem(const sns_signer *s);
/* Adds "Signature" to msg: SNS's SignatureVersion 1 (SHA1withRSA) or 2
 * (SHA256withRSA) over the documented string to sign of msg's members. */
void sns_sign(const sns_signer *s, json_t *msg, int version);

#endif
