/*
 * events_store.c — archives, replays, connections and API destinations.
 *
 * An archive records the events of its bus that match its pattern (up to
 * EVENTS_MAX_ARCHIVED, the oldest dropped); StartReplay sends the recorded
 * events of a time window back through the bus's rules (only those in
 * FilterArns when given), marked with "replay-name", and completes at once.
 * Connections keep their authorization parameters without the secrets
 * (AWS moves those to Secrets Manager and never returns them); API
 * destinations are the HTTP endpoints rules can target (events_put.c).
 */
#include "emulator/events/events_int.h"

#include "common/clock.h"
#include "common/codec.h"
#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double now_s(void) { return (double)clock_wall_ms() / 1000.0; }

static void arn_of(char *out, size_t n, aws_call *call, const char *kind, const char *name,
                   int with_uuid) {
  char uuid[37];
  codec_uuid4(uuid);
  snprintf(out, n, "arn:aws:events:%s:%s:%s/%s%s%s", aws_call_region(call), aws_call_account(call),
           kind, name, with_uuid ? "/" : "", with_uuid ? uuid : "");
}

/* The resource of kind named name in the caller's account and Region (under lock). */
static json_t *find(json_t *map, aws_call *call, const char *kind, const char *name,
                    const char **arn_out) {
  char prefix[256];
  snprintf(prefix, sizeof(prefix), "arn:aws:events:%s:%s:%s/%s", aws_call_region(call),
           aws_call_account(call), kind, name ? name : "");
  size_t pl = strlen(prefix);
  const char *arn;
  json_t *v;
  json_object_foreach(map, arn, v) {
    if (!strncmp(arn, prefix, pl) && (arn[pl] == '\0' || arn[pl] == '/')) {
      if (arn_out)
        *arn_out = arn;
      return v;
    }
  }
  return NULL;
}

static json_t *pick(json_t *obj, const char *const *members) {
  json_t *out = json_object();
  for (size_t i = 0; members[i]; i++) {
    json_t *v = json_object_get(obj, members[i]);
    if (v)
      json_object_set(out, members[i], v);
  }
  return out;
}

static void list_reply(aws_call *call, json_t *map, const char *kind, const char *member,
                       const char *const *fields, const char *prefix, const char *filter_key,
                       const char *filter_value) {
  events_state *st = events_state_of(call);
  char base[256];
  snprintf(base, sizeof(base), "arn:aws:events:%s:%s:%s/", aws_call_region(call),
           aws_call_account(call), kind);
  json_t *list = json_array();
  pthread_mutex_lock(&st->lock);
  const char *arn;
  json_t *v;
  json_object_foreach(map, arn, v) {
    const char *name = jsonutil_string(v, "Name");
    if (strncmp(arn, base, strlen(base)) || (prefix && strncmp(name, prefix, strlen(prefix))))
      continue;
    if (filter_value &&
        strcmp(jsonutil_string(v, filter_key) ? jsonutil_string(v, filter_key) : "", filter_value))
      continue;
    json_array_append_new(list, pick(v, fields));
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", member, list));
}

/* ---- archives ---- */

static const char *const archive_fields[] = {
    "ArchiveArn", "ArchiveName",   "EventSourceArn", "Description", "EventPattern",
    "State",      "RetentionDays", "SizeBytes",      "EventCount",  "CreationTime",
    NULL};

void events_archive_record(events_state *st, const char *bus_arn, json_t *event) {
  const char *arn;
  json_t *a;
  json_object_foreach(st->archives, arn, a) {
    if (strcmp(jsonutil_string(a, "EventSourceArn"), bus_arn) ||
        strcmp(jsonutil_string(a, "State"), "ENABLED"))
      continue;
    json_t *pattern = json_object_get(a, "Pattern");
    if (pattern && !delivery_pattern_match(pattern, event))
      continue;
    json_t *events = json_object_get(a, "Events");
    if (json_array_size(events) >= EVENTS_MAX_ARCHIVED)
      json_array_remove(events, 0);
    char *text = json_dumps(event, JSON_COMPACT);
    size_t size = text ? strlen(text) : 0;
    free(text);
    json_array_append_new(events, json_pack("{s:f,s:O}", "At", now_s(), "Event", event));
    json_object_set_new(a, "EventCount", json_integer((json_int_t)json_array_size(events)));
    json_object_set_new(
        a, "SizeBytes",
        json_integer(json_integer_value(json_object_get(a, "SizeBytes")) + (json_int_t)size));
  }
}

static json_t *archive_get(events_state *st, aws_call *call, const char *name, const char **arn) {
  json_t *a = find(st->archives, call, "archive", name, arn);
  if (!a)
    events_fail_not_found(call, "Archive %.64s does not exist.", name ? name : "");
  return a;
}

void events_create_archive(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "ArchiveName");
  const char *source = jsonutil_string(in, "EventSourceArn");
  const char *pattern_text = jsonutil_string(in, "EventPattern");
  if (!events_valid_name(name, 48)) {
    events_fail_validation(call,
                           "1 validation error detected: Value '%.64s' at 'archiveName' "
                           "failed to satisfy constraint: Member must satisfy regular "
                           "expression pattern: [\\.\\-_A-Za-z0-9]+",
                           name ? name : "");
    return;
  }
  json_t *pattern = NULL;
  if (pattern_text && events_pattern_parse(call, pattern_text, &pattern) < 0)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *bus = source ? events_bus_by_arn(st, source) : NULL;
  if (!bus) {
    pthread_mutex_unlock(&st->lock);
    json_decref(pattern);
    const char *slash = source ? strrchr(source, '/') : NULL;
    events_fail_not_found(call, "Event bus %.256s does not exist.",
                          slash ? slash + 1 : (source ? source : ""));
    return;
  }
  if (find(st->archives, call, "archive", name, NULL)) {
    pthread_mutex_unlock(&st->lock);
    json_decref(pattern);
    aws_call_fail(call, 400, "ResourceAlreadyExistsException", "Archive %s already exists.", name);
    return;
  }
  char arn[512];
  arn_of(arn, sizeof(arn), call, "archive", name, 0);
  json_t *a =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:f,s:[]}", "ArchiveArn", arn, "ArchiveName", name,
                "Name", name, "EventSourceArn", source, "State", "ENABLED", "SizeBytes",
                (json_int_t)0, "EventCount", (json_int_t)0, "CreationTime", now_s(), "Events");
  if (jsonutil_string(in, "Description"))
    json_object_set(a, "Description", json_object_get(in, "Description"));
  json_object_set_new(a, "RetentionDays",
                      json_integer(json_integer_value(json_object_get(in, "RetentionDays"))));
  if (pattern) {
    json_object_set_new(a, "EventPattern", json_string(pattern_text));
    json_object_set_new(a, "Pattern", pattern);
  }
  json_object_set_new(st->archives, arn, a);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call,
                 json_pack("{s:s,s:s,s:f}", "ArchiveArn", arn, "State", "ENABLED", "CreationTime",
                           json_real_value(json_object_get(a, "CreationTime"))));
}

void events_describe_archive(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *a = archive_get(st, call, jsonutil_string(in, "ArchiveName"), NULL);
  json_t *out = a ? pick(a, archive_fields) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (out)
    aws_call_reply(call, out);
}

void events_update_archive(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *pattern_text = jsonutil_string(in, "EventPattern");
  json_t *pattern = NULL;
  if (pattern_text && events_pattern_parse(call, pattern_text, &pattern) < 0)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *a = archive_get(st, call, jsonutil_string(in, "ArchiveName"), NULL);
  if (a) {
    if (jsonutil_string(in, "Description"))
      json_object_set(a, "Description", json_object_get(in, "Description"));
    if (json_object_get(in, "RetentionDays"))
      json_object_set(a, "RetentionDays", json_object_get(in, "RetentionDays"));
    if (pattern) {
      json_object_set_new(a, "EventPattern", json_string(pattern_text));
      json_object_set(a, "Pattern", pattern);
    }
  }
  json_t *out =
      a ? json_pack("{s:O,s:O,s:O}", "ArchiveArn", json_object_get(a, "ArchiveArn"), "State",
                    json_object_get(a, "State"), "CreationTime", json_object_get(a, "CreationTime"))
        : NULL;
  pthread_mutex_unlock(&st->lock);
  json_decref(pattern);
  if (out)
    aws_call_reply(call, out);
}

void events_delete_archive(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *arn = NULL;
  pthread_mutex_lock(&st->lock);
  json_t *a = archive_get(st, call, jsonutil_string(in, "ArchiveName"), &arn);
  if (a)
    json_object_del(st->archives, arn);
  pthread_mutex_unlock(&st->lock);
  if (a)
    aws_call_reply(call, NULL);
}

void events_list_archives(aws_call *call, json_t *in) {
  static const char *const fields[] = {
      "ArchiveName", "EventSourceArn", "State",        "RetentionDays",
      "SizeBytes",   "EventCount",     "CreationTime", NULL};
  const char *source = jsonutil_string(in, "EventSourceArn");
  list_reply(call, events_state_of(call)->archives, "archive", "Archives", fields,
             jsonutil_string(in, "NamePrefix"), source ? "EventSourceArn" : "State",
             source ? source : jsonutil_string(in, "State"));
}

/* ---- replays ---- */

static const char *const replay_fields[] = {"ReplayName",
                                            "ReplayArn",
                                            "Description",
                                            "State",
                                            "StateReason",
                                            "EventSourceArn",
                                            "Destination",
                                            "EventStartTime",
                                            "EventEndTime",
                                            "EventLastReplayedTime",
                                            "ReplayStartTime",
                                            "ReplayEndTime",
                                            NULL};

void events_start_replay(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "ReplayName");
  const char *source = jsonutil_string(in, "EventSourceArn");
  json_t *dest = json_object_get(in, "Destination");
  const char *dest_arn = jsonutil_string(dest, "Arn");
  double start = json_number_value(json_object_get(in, "EventStartTime"));
  double end = json_number_value(json_object_get(in, "EventEndTime"));
  if (!events_valid_name(name, 64)) {
    events_fail_validation(call, "Parameter ReplayName is not valid.");
    return;
  }
  if (start >= end) {
    events_fail_validation(call, "Parameter EventEndTime is not valid. Reason: EventStartTime "
                                 "must be before EventEndTime.");
    return;
  }
  pthread_mutex_lock(&st->lock);
  if (find(st->replays, call, "replay", name, NULL)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceAlreadyExistsException", "Replay %s already exists.", name);
    return;
  }
  json_t *archive = source ? json_object_get(st->archives, source) : NULL;
  if (!archive) {
    pthread_mutex_unlock(&st->lock);
    const char *slash = source ? strrchr(source, '/') : NULL;
    events_fail_not_found(call, "Archive %.64s does not exist.",
                          slash ? slash + 1 : (source ? source : ""));
    return;
  }
  if (!dest_arn || strcmp(dest_arn, jsonutil_string(archive, "EventSourceArn"))) {
    pthread_mutex_unlock(&st->lock);
    events_fail_validation(call, "Parameter Destination.Arn is not valid. Reason: Cross event "
                                 "bus replay is not permitted.");
    return;
  }
  json_t *bus = events_bus_by_arn(st, dest_arn);
  char arn[512];
  arn_of(arn, sizeof(arn), call, "replay", name, 0);
  double started = now_s(), last = 0;
  json_t *events = json_incref(json_object_get(archive, "Events"));
  size_t i;
  json_t *rec;
  json_array_foreach(events, i, rec) {
    double at = json_number_value(json_object_get(rec, "At"));
    if (at < start || at > end || !bus)
      continue;
    json_t *event = json_deep_copy(json_object_get(rec, "Event"));
    events_dispatch(st, bus, event, name, json_object_get(dest, "FilterArns"));
    json_decref(event);
    last = at;
  }
  json_decref(events);
  json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:f,s:f,s:f,s:f}", "ReplayName", name, "Name",
                        name, "ReplayArn", arn, "State", "COMPLETED", "EventSourceArn", source,
                        "Destination", dest, "EventStartTime", start, "EventEndTime", end,
                        "ReplayStartTime", started, "ReplayEndTime", now_s());
  if (last > 0)
    json_object_set_new(r, "EventLastReplayedTime", json_real(last));
  if (jsonutil_string(in, "Description"))
    json_object_set(r, "Description", json_object_get(in, "Description"));
  json_object_set_new(st->replays, arn, r);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:s,s:s,s:f}", "ReplayArn", arn, "State", "STARTING",
                                 "ReplayStartTime", started));
}

void events_describe_replay(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "ReplayName");
  pthread_mutex_lock(&st->lock);
  json_t *r = find(st->replays, call, "replay", name, NULL);
  json_t *out = r ? pick(r, replay_fields) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (out)
    aws_call_reply(call, out);
  else
    events_fail_not_found(call, "Replay %.64s does not exist.", name ? name : "");
}

void events_cancel_replay(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "ReplayName");
  pthread_mutex_lock(&st->lock);
  json_t *r = find(st->replays, call, "replay", name, NULL);
  const char *state = jsonutil_string(r, "State");
  int ok = r && state && (!strcmp(state, "STARTING") || !strcmp(state, "RUNNING"));
  json_t *out = NULL;
  if (ok) {
    json_object_set_new(r, "State", json_string("CANCELLED"));
    out =
        json_pack("{s:O,s:s}", "ReplayArn", json_object_get(r, "ReplayArn"), "State", "CANCELLING");
  }
  pthread_mutex_unlock(&st->lock);
  if (!r)
    events_fail_not_found(call, "Replay %.64s does not exist.", name ? name : "");
  else if (!ok)
    aws_call_fail(call, 400, "IllegalStatusException",
                  "Replay %s is not in a valid state for this operation.", name);
  else
    aws_call_reply(call, out);
}

void events_list_replays(aws_call *call, json_t *in) {
  static const char *const fields[] = {
      "ReplayName",   "EventSourceArn",        "State",           "StateReason",   "EventStartTime",
      "EventEndTime", "EventLastReplayedTime", "ReplayStartTime", "ReplayEndTime", NULL};
  const char *source = jsonutil_string(in, "EventSourceArn");
  list_reply(call, events_state_of(call)->replays, "replay", "Replays", fields,
             jsonutil_string(in, "NamePrefix"), source ? "EventSourceArn" : "State",
             source ? source : jsonutil_string(in, "State"));
}

/* ---- connections ---- */

static const char *const connection_fields[] = {
    "ConnectionArn",      "Name",      "Description",    "ConnectionState", "StateReason",
    "AuthorizationType",  "SecretArn", "AuthParameters", "CreationTime",    "LastModifiedTime",
    "LastAuthorizedTime", NULL};

/* AuthParameters without the secret values AWS never returns. */
static json_t *redact(json_t *auth) {
  json_t *out = json_deep_copy(auth);
  json_object_del(json_object_get(out, "BasicAuthParameters"), "Password");
  json_object_del(json_object_get(out, "ApiKeyAuthParameters"), "ApiKeyValue");
  json_object_del(json_object_get(out, "OAuthParameters"), "ClientParameters");
  return out;
}

void events_create_connection(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  const char *type = jsonutil_string(in, "AuthorizationType");
  json_t *auth = json_object_get(in, "AuthParameters");
  if (!events_valid_name(name, 64)) {
    events_fail_validation(call, "Parameter Name is not valid.");
    return;
  }
  static const struct {
    const char *type, *member;
  } kinds[] = {{"BASIC", "BasicAuthParameters"},
               {"API_KEY", "ApiKeyAuthParameters"},
               {"OAUTH_CLIENT_CREDENTIALS", "OAuthParameters"}};
  int ok = 0;
  for (size_t i = 0; type && i < 3; i++)
    if (!strcmp(type, kinds[i].type))
      ok = json_is_object(json_object_get(auth, kinds[i].member));
  if (!ok) {
    events_fail_validation(call, "The AuthParameters must match the AuthorizationType.");
    return;
  }
  pthread_mutex_lock(&st->lock);
  if (find(st->connections, call, "connection", name, NULL)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceAlreadyExistsException", "Connection %s already exists.",
                  name);
    return;
  }
  char arn[512], secret[600];
  arn_of(arn, sizeof(arn), call, "connection", name, 1);
  snprintf(secret, sizeof(secret), "arn:aws:secretsmanager:%s:%s:secret:events!connection/%s",
           aws_call_region(call), aws_call_account(call), strrchr(arn, ':') + 12);
  double now = now_s();
  json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:f,s:f,s:f}", "ConnectionArn", arn, "Name", name,
                        "ConnectionState", "AUTHORIZED", "AuthorizationType", type, "SecretArn",
                        secret, "AuthParameters", redact(auth), "CreationTime", now,
                        "LastModifiedTime", now, "LastAuthorizedTime", now);
  if (jsonutil_string(in, "Description"))
    json_object_set(c, "Description", json_object_get(in, "Description"));
  json_object_set_new(st->connections, arn, c);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:s,s:s,s:f,s:f}", "ConnectionArn", arn, "ConnectionState",
                                 "AUTHORIZED", "CreationTime", now, "LastModifiedTime", now));
}

static void connection_op(aws_call *call, json_t *in, int op) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  const char *arn = NULL;
  pthread_mutex_lock(&st->lock);
  json_t *c = find(st->connections, call, "connection", name, &arn);
  if (!c) {
    pthread_mutex_unlock(&st->lock);
    events_fail_not_found(call, "Connection '%.64s' does not exist.", name ? name : "");
    return;
  }
  json_t *out;
  if (op == 0) {
    out = pick(c, connection_fields);
  } else {
    if (op == 1) {
      if (json_object_get(in, "AuthParameters"))
        json_object_set_new(c, "AuthParameters", redact(json_object_get(in, "AuthParameters")));
      if (jsonutil_string(in, "Description"))
        json_object_set(c, "Description", json_object_get(in, "Description"));
      if (jsonutil_string(in, "AuthorizationType"))
        json_object_set(c, "AuthorizationType", json_object_get(in, "AuthorizationType"));
    }
    json_object_set_new(c, "ConnectionState",
                        json_string(op == 1   ? "AUTHORIZED"
                                    : op == 2 ? "DELETING"
                                              : "DEAUTHORIZED"));
    json_object_set_new(c, "LastModifiedTime", json_real(now_s()));
    out = json_pack("{s:O,s:O,s:O,s:O}", "ConnectionArn", json_object_get(c, "ConnectionArn"),
                    "ConnectionState", json_object_get(c, "ConnectionState"), "CreationTime",
                    json_object_get(c, "CreationTime"), "LastModifiedTime",
                    json_object_get(c, "LastModifiedTime"));
    if (op == 2)
      json_object_del(st->connections, arn);
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void events_describe_connection(aws_call *call, json_t *in) { connection_op(call, in, 0); }
void events_update_connection(aws_call *call, json_t *in) { connection_op(call, in, 1); }
void events_delete_connection(aws_call *call, json_t *in) { connection_op(call, in, 2); }
void events_deauthorize_connection(aws_call *call, json_t *in) { connection_op(call, in, 3); }

void events_list_connections(aws_call *call, json_t *in) {
  static const char *const fields[] = {"ConnectionArn",
                                       "Name",
                                       "ConnectionState",
                                       "StateReason",
                                       "AuthorizationType",
                                       "CreationTime",
                                       "LastModifiedTime",
                                       "LastAuthorizedTime",
                                       NULL};
  list_reply(call, events_state_of(call)->connections, "connection", "Connections", fields,
             jsonutil_string(in, "NamePrefix"), "ConnectionState",
             jsonutil_string(in, "ConnectionState"));
}

/* ---- API destinations ---- */

static const char *const destination_fields[] = {"ApiDestinationArn",
                                                 "Name",
                                                 "Description",
                                                 "ApiDestinationState",
                                                 "ConnectionArn",
                                                 "InvocationEndpoint",
                                                 "HttpMethod",
                                                 "InvocationRateLimitPerSecond",
                                                 "CreationTime",
                                                 "LastModifiedTime",
                                                 NULL};

static int check_destination(aws_call *call, json_t *in, int create) {
  const char *url = jsonutil_string(in, "InvocationEndpoint");
  const char *method = jsonutil_string(in, "HttpMethod");
  static const char *const methods[] = {"POST", "GET",   "HEAD",   "OPTIONS",
                                        "PUT",  "PATCH", "DELETE", NULL};
  if ((create || url) && (!url || strncmp(url, "https://", 8))) {
    events_fail_validation(call, "Parameter InvocationEndpoint is not valid. Reason: The "
                                 "endpoint must be an HTTPS URL.");
    return -1;
  }
  int ok = !method && !create;
  for (size_t i = 0; method && methods[i]; i++)
    ok |= !strcmp(methods[i], method);
  if (!ok) {
    events_fail_validation(call, "Parameter HttpMethod is not valid.");
    return -1;
  }
  return 0;
}

void events_create_api_destination(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  const char *conn = jsonutil_string(in, "ConnectionArn");
  if (!events_valid_name(name, 64)) {
    events_fail_validation(call, "Parameter Name is not valid.");
    return;
  }
  if (check_destination(call, in, 1) < 0)
    return;
  pthread_mutex_lock(&st->lock);
  if (!conn || !json_object_get(st->connections, conn)) {
    pthread_mutex_unlock(&st->lock);
    events_fail_not_found(call, "Connection '%.256s' does not exist.", conn ? conn : "");
    return;
  }
  if (find(st->destinations, call, "api-destination", name, NULL)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceAlreadyExistsException",
                  "An api-destination '%s' already exists.", name);
    return;
  }
  char arn[512];
  arn_of(arn, sizeof(arn), call, "api-destination", name, 1);
  double now = now_s();
  json_t *d =
      json_pack("{s:s,s:s,s:s,s:s,s:O,s:O,s:f,s:f}", "ApiDestinationArn", arn, "Name", name,
                "ApiDestinationState", "ACTIVE", "ConnectionArn", conn, "InvocationEndpoint",
                json_object_get(in, "InvocationEndpoint"), "HttpMethod",
                json_object_get(in, "HttpMethod"), "CreationTime", now, "LastModifiedTime", now);
  json_object_set_new(
      d, "InvocationRateLimitPerSecond",
      json_integer(json_object_get(in, "InvocationRateLimitPerSecond")
                       ? json_integer_value(json_object_get(in, "InvocationRateLimitPerSecond"))
                       : 300));
  if (jsonutil_string(in, "Description"))
    json_object_set(d, "Description", json_object_get(in, "Description"));
  json_object_set_new(st->destinations, arn, d);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call,
                 json_pack("{s:s,s:s,s:f,s:f}", "ApiDestinationArn", arn, "ApiDestinationState",
                           "ACTIVE", "CreationTime", now, "LastModifiedTime", now));
}

static void destination_op(aws_call *call, json_t *in, int op) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  const char *arn = NULL;
  if (op == 1 && check_destination(call, in, 0) < 0)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *d = find(st->destinations, call, "api-destination", name, &arn);
  if (!d) {
    pthread_mutex_unlock(&st->lock);
    events_fail_not_found(call, "An api-destination '%.64s' does not exist.", name ? name : "");
    return;
  }
  json_t *out = NULL;
  if (op == 0) {
    out = pick(d, destination_fields);
  } else if (op == 1) {
    static const char *const members[] = {"Description",
                                          "ConnectionArn",
                                          "InvocationEndpoint",
                                          "HttpMethod",
                                          "InvocationRateLimitPerSecond",
                                          NULL};
    for (size_t i = 0; members[i]; i++)
      if (json_object_get(in, members[i]))
        json_object_set(d, members[i], json_object_get(in, members[i]));
    json_object_set_new(d, "LastModifiedTime", json_real(now_s()));
    out =
        json_pack("{s:O,s:O,s:O,s:O}", "ApiDestinationArn", json_object_get(d, "ApiDestinationArn"),
                  "ApiDestinationState", json_object_get(d, "ApiDestinationState"), "CreationTime",
                  json_object_get(d, "CreationTime"), "LastModifiedTime",
                  json_object_get(d, "LastModifiedTime"));
  } else {
    json_object_del(st->destinations, arn);
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void events_describe_api_destination(aws_call *call, json_t *in) { destination_op(call, in, 0); }
void events_update_api_destination(aws_call *call, json_t *in) { destination_op(call, in, 1); }
void events_delete_api_destination(aws_call *call, json_t *in) { destination_op(call, in, 2); }

void events_list_api_destinations(aws_call *call, json_t *in) {
  static const char *const fields[] = {
      "ApiDestinationArn",  "Name",       "ApiDestinationState",          "ConnectionArn",
      "InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond", "CreationTime",
      "LastModifiedTime",   NULL};
  list_reply(call, events_state_of(call)->destinations, "api-destination", "ApiDestinations",
             fields, jsonutil_string(in, "NamePrefix"), "ConnectionArn",
             jsonutil_string(in, "ConnectionArn"));
}
