/*
 * policy.c — what is attached to a function besides its code: the resource
 * policy (AddPermission, RemovePermission, GetPolicy; one policy per
 * qualifier, as AWS keeps them), tags (by ARN), reserved concurrency and the
 * function URL configuration.
 *
 * Policies are not enforced (the emulator's permissive default, as
 * LocalStack's); they are stored and rendered as AWS renders them, so
 * infrastructure code that reads them back sees what it wrote.
 */
#include "common/codec.h"
#include "common/jsonutil.h"
#include "emulator/lambda/lambda_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOT_FOUND "The resource you requested does not exist."

/* The qualifier must name $LATEST, a version or an alias of f. */
static int qualifier_exists(json_t *f, const char *q) {
  char version[160];
  return lambda_function_version(f, q, NULL, version, sizeof(version)) != NULL;
}

static void resource_arn(char *out, size_t n, json_t *f, const char *q) {
  lambda_function_arn(out, n, json_string_value(json_object_get(f, "Region")),
                      json_string_value(json_object_get(f, "Account")),
                      json_string_value(json_object_get(f, "Name")), q);
}

static int sid_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 100)
    return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr("-_", *s))
      return 0;
  return 1;
}

static int action_valid(const char *a) {
  if (strcmp(a, "*") == 0 || strcmp(a, "lambda:*") == 0)
    return 1;
  if (strncmp(a, "lambda:", 7) != 0 || !a[7])
    return 0;
  for (a += 7; *a; a++)
    if (!isalpha((unsigned char)*a))
      return 0;
  return 1;
}

/* What AddPermission takes as a principal: "*", an account id, an ARN or a
 * service principal ("s3.amazonaws.com"). */
static int principal_valid(const char *p) {
  if (strcmp(p, "*") == 0 || (strlen(p) == 12 && strspn(p, "0123456789") == 12) ||
      strncmp(p, "arn:", 4) == 0)
    return !strpbrk(p, " \t\r\n");
  size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
  return n == strlen(p) && strchr(p, '.') != NULL;
}

/* A qualifier that is not a version: an alias name (AWS then says it
 * cannot find the alias rather than the function). */
static int alias_like(const char *q) {
  if (!*q || strspn(q, "0123456789") == strlen(q) || strcmp(q, "$LATEST") == 0)
    return 0;
  for (; *q; q++)
    if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_')
      return 0;
  return 1;
}

#define REVISION_MISMATCH                                                                          \
  "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias " \
  "API to retrieve the latest Revision Id"

static json_t *principal(const char *p) {
  if (strcmp(p, "*") == 0)
    return json_string("*");
  if (strstr(p, ".amazonaws.com") || strstr(p, ".amazon.com"))
    return json_pack("{s:s}", "Service", p);
  if (strlen(p) == 12 && strspn(p, "0123456789") == 12) {
    char arn[64];
    snprintf(arn, sizeof(arn), "arn:aws:iam::%s:root", p);
    return json_pack("{s:s}", "AWS", arn);
  }
  return json_pack("{s:s}", "AWS", p);
}

void lambda_add_permission(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *sid = json_string_value(json_object_get(input, "StatementId"));
  const char *action = json_string_value(json_object_get(input, "Action"));
  const char *who = json_string_value(json_object_get(input, "Principal"));
  if (!sid || !sid_valid(sid)) {
    lambda_fail_validation(call, sid ? sid : "", "statementId",
                           "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)");
    return;
  }
  if (!action || !action_valid(action)) {
    lambda_fail_validation(call, action ? action : "", "action",
                           "Member must satisfy regular expression pattern: "
                           "(lambda:[*]|lambda:[a-zA-Z]+|[*])");
    return;
  }
  char q[160], arn[512];
  json_t *f = lambda_function_lock(st, call, input, q, sizeof(q));
  if (!f)
    return;
  json_t *out = NULL;
  if (strcmp(q, "$LATEST") == 0) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "We currently do not support adding policies for $LATEST.");
    goto done;
  }
  if (*q && !qualifier_exists(f, q)) {
    resource_arn(arn, sizeof(arn), f, q);
    aws_call_fail(call, 404, "ResourceNotFoundException", "%s: %s",
                  alias_like(q) ? "Cannot find alias arn" : "Function not found", arn);
    goto done;
  }
  if (!who || !principal_valid(who)) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "The provided principal was invalid. Please check the principal and try again.");
    goto done;
  }
  json_t *policies = json_object_get(f, "Policies");
  json_t *list = json_object_get(policies, q);
  if (!list) {
    list = json_array();
    json_object_set_new(policies, q, list);
  }
  const char *rev = json_string_value(json_object_get(input, "RevisionId"));
  const char *have = json_string_value(json_object_get(f, "PolicyRevision"));
  if (rev && (!have || strcmp(rev, have) != 0)) {
    aws_call_fail(call, 412, "PreconditionFailedException", REVISION_MISMATCH);
    goto done;
  }
  size_t i;
  json_t *s;
  json_array_foreach(list, i, s) {
    if (strcmp(json_string_value(json_object_get(s, "Sid")), sid) == 0) {
      aws_call_fail(call, 409, "ResourceConflictException",
                    "The statement id (%s) provided already exists. Please provide a new "
                    "statement id, or remove the existing statement.",
                    sid);
      goto done;
    }
  }
  resource_arn(arn, sizeof(arn), f, q);
  json_t *stmt = json_pack("{s:s, s:s, s:o, s:s, s:s}", "Sid", sid, "Effect", "Allow", "Principal",
                           principal(who ? who : "*"), "Action", action, "Resource", arn);
  json_t *cond = json_object();
  const char *source_arn = json_string_value(json_object_get(input, "SourceArn"));
  const char *source_account = json_string_value(json_object_get(input, "SourceAccount"));
  const char *org = json_string_value(json_object_get(input, "PrincipalOrgID"));
  const char *url_auth = json_string_value(json_object_get(input, "FunctionUrlAuthType"));
  if (source_arn)
    json_object_set_new(cond, "ArnLike", json_pack("{s:s}", "AWS:SourceArn", source_arn));
  if (source_account || org || url_auth) {
    json_t *eq = json_object();
    if (source_account)
      json_object_set_new(eq, "AWS:SourceAccount", json_string(source_account));
    if (org)
      json_object_set_new(eq, "aws:PrincipalOrgID", json_string(org));
    if (url_auth)
      json_object_set_new(eq, "lambda:FunctionUrlAuthType", json_string(url_auth));
    json_object_set_new(cond, "StringEquals", eq);
  }
  if (json_object_size(cond))
    json_object_set(stmt, "Condition", cond);
  json_decref(cond);
  json_array_append(list, stmt);
  char newrev[37];
  lambda_revision(newrev);
  json_object_set_new(f, "PolicyRevision", json_string(newrev));
  char *text = json_dumps(stmt, JSON_COMPACT);
  json_decref(stmt);
  out = json_pack("{s:s}", "Statement", text ? text : "{}");
  free(text);
done:
  pthread_mutex_unlock(&st->lock);
  if (out)
    aws_call_reply(call, out);
}

void lambda_remove_permission(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *sid = json_string_value(json_object_get(input, "StatementId"));
  char q[160], arn[512];
  int missing = 0;
  json_t *f = lambda_function_find(st, call, input, q, sizeof(q), &missing, arn, sizeof(arn));
  if (missing) {
    aws_call_fail(call, 404, "ResourceNotFoundException", "No policy found for: %s", arn);
    return;
  }
  if (!f)
    return;
  if (*q && strcmp(q, "$LATEST") != 0 && !qualifier_exists(f, q)) {
    resource_arn(arn, sizeof(arn), f, q);
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException", "%s: %s",
                  alias_like(q) ? "Cannot find alias arn" : "Function not found", arn);
    return;
  }
  json_t *list = json_object_get(json_object_get(f, "Policies"), q);
  if (!json_array_size(list)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException",
                  "No policy is associated with the given resource.");
    return;
  }
  const char *rev = json_string_value(json_object_get(input, "RevisionId"));
  const char *have = json_string_value(json_object_get(f, "PolicyRevision"));
  if (rev && (!have || strcmp(rev, have) != 0)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 412, "PreconditionFailedException", REVISION_MISMATCH);
    return;
  }
  size_t i;
  json_t *s;
  json_array_foreach(list, i, s) {
    if (sid && strcmp(json_string_value(json_object_get(s, "Sid")), sid) == 0) {
      json_array_remove(list, i);
      char newrev[37];
      lambda_revision(newrev);
      json_object_set_new(f, "PolicyRevision", json_string(newrev));
      pthread_mutex_unlock(&st->lock);
      aws_call_reply(call, NULL);
      return;
    }
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_fail(call, 404, "ResourceNotFoundException",
                "Statement %s is not found in resource policy.", sid ? sid : "");
}

void lambda_get_policy(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  char q[160];
  json_t *f = lambda_function_lock(st, call, input, q, sizeof(q));
  if (!f)
    return;
  json_t *list = json_object_get(json_object_get(f, "Policies"), q);
  json_t *out = NULL;
  if (json_array_size(list)) {
    json_t *doc =
        json_pack("{s:s, s:s, s:O}", "Version", "2012-10-17", "Id", "default", "Statement", list);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    out = json_pack("{s:s, s:O}", "Policy", text ? text : "{}", "RevisionId",
                    json_object_get(f, "PolicyRevision"));
    free(text);
  }
  pthread_mutex_unlock(&st->lock);
  if (out)
    aws_call_reply(call, out);
  else
    aws_call_fail(call, 404, "ResourceNotFoundException", NOT_FOUND);
}

/* ---- tags ---- */

/* The model's pattern for a taggable Lambda ARN, loosely:
 * arn:aws…:lambda:<region>:<12 digits>:<function|layer|…>:<name>… */
static int tag_arn_valid(const char *arn) {
  char partition[32], region[32], account[16], kind[32];
  int n = 0;
  if (sscanf(arn, "arn:%31[^:]:lambda:%31[^:]:%15[^:]:%31[^:]:%n", partition, region, account, kind,
             &n) != 4 ||
      n == 0 || !arn[n])
    return 0;
  return strncmp(partition, "aws", 3) == 0 && strlen(account) == 12 &&
         strspn(account, "0123456789") == 12 &&
         (strcmp(kind, "function") == 0 || strcmp(kind, "layer") == 0 ||
          strcmp(kind, "code-signing-config") == 0 || strcmp(kind, "event-source-mapping") == 0);
}

static json_t *lock_by_arn(aws_call *call, json_t *input) {
  const char *arn = json_string_value(json_object_get(input, "Resource"));
  json_t *fake = json_pack("{s:s}", "FunctionName", arn ? arn : "");
  char q[160];
  json_t *f = NULL;
  if (!arn || !tag_arn_valid(arn)) {
    lambda_fail_validation(call, arn ? arn : "", "resource",
                           "Member must satisfy regular expression pattern: "
                           "arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-"
                           "\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
                           "|layer:([a-zA-Z0-9-_]+)|code-signing-config:csc-[a-z0-9]{17}|event-"
                           "source-mapping:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-"
                           "f]{12})");
  } else {
    f = lambda_function_lock(lambda_state_of(call), call, fake, q, sizeof(q));
    if (f && *q) {
      pthread_mutex_unlock(&lambda_state_of(call)->lock);
      aws_call_fail(call, 400, "InvalidParameterValueException",
                    "Tags on function aliases and versions are not supported. Please specify a "
                    "function ARN.");
      f = NULL;
    }
  }
  json_decref(fake);
  return f;
}

void lambda_tag_resource(aws_call *call, json_t *input) {
  json_t *tags = json_object_get(input, "Tags");
  json_t *f = lock_by_arn(call, input);
  if (!f)
    return;
  if (!json_object_size(tags)) {
    pthread_mutex_unlock(&lambda_state_of(call)->lock);
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "An error occurred and the request cannot be processed.");
    return;
  }
  json_t *have = json_object_get(f, "Tags");
  json_t *merged = json_deep_copy(have);
  json_object_update(merged, tags);
  if (json_object_size(merged) > 50) {
    pthread_mutex_unlock(&lambda_state_of(call)->lock);
    json_decref(merged);
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Number of tags exceeds resource tag limit.");
    return;
  }
  json_object_set_new(f, "Tags", merged);
  pthread_mutex_unlock(&lambda_state_of(call)->lock);
  aws_call_reply(call, NULL);
}

void lambda_untag_resource(aws_call *call, json_t *input) {
  json_t *keys = json_object_get(input, "TagKeys");
  if (!json_array_size(keys)) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value null at 'tagKeys' failed to satisfy "
                  "constraint: Member must not be null");
    return;
  }
  json_t *f = lock_by_arn(call, input);
  if (!f)
    return;
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k) {
    if (json_is_string(k))
      json_object_del(json_object_get(f, "Tags"), json_string_value(k));
  }
  pthread_mutex_unlock(&lambda_state_of(call)->lock);
  aws_call_reply(call, NULL);
}

void lambda_list_tags(aws_call *call, json_t *input) {
  json_t *f = lock_by_arn(call, input);
  if (!f)
    return;
  json_t *out = json_pack("{s:O}", "Tags", json_object_get(f, "Tags"));
  pthread_mutex_unlock(&lambda_state_of(call)->lock);
  aws_call_reply(call, out);
}

/* ---- reserved concurrency ---- */

void lambda_put_function_concurrency(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  json_t *v = json_object_get(input, "ReservedConcurrentExecutions");
  json_int_t n = json_integer_value(v);
  if (n < 0) {
    char value[32];
    snprintf(value, sizeof(value), "%lld", (long long)n);
    lambda_fail_validation(call, value, "reservedConcurrentExecutions",
                           "Member must have value greater than or equal to 0");
    return;
  }
  char q[160], arn[512];
  int missing = 0;
  json_t *f = lambda_function_find(st, call, input, q, sizeof(q), &missing, arn, sizeof(arn));
  if (missing) { /* AWS names $LATEST here */
    aws_call_fail(call, 404, "ResourceNotFoundException", "Function not found: %s%s", arn,
                  strchr(strstr(arn, ":function:") + 10, ':') ? "" : ":$LATEST");
    return;
  }
  if (!f)
    return;
  if (*q) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "This operation is permitted on Lambda functions only. Aliases and versions do "
                  "not support this operation. Please specify either a function name or an "
                  "unqualified function ARN.");
    return;
  }
  /* The other functions' reservations in this account and Region. */
  json_int_t others = 0;
  const char *k;
  json_t *g;
  json_object_foreach(st->functions, k, g) {
    if (g != f && strcmp(json_string_value(json_object_get(g, "Account")),
                         json_string_value(json_object_get(f, "Account"))) == 0)
      others += json_integer_value(json_object_get(g, "Concurrency"));
  }
  if (others + n > LAMBDA_DEFAULT_CONCURRENCY - 100) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Specified ReservedConcurrentExecutions for function decreases account's "
                  "UnreservedConcurrentExecution below its minimum value of [100].");
    return;
  }
  json_object_set_new(f, "Concurrency", json_integer(n));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:I}", "ReservedConcurrentExecutions", n));
}

void lambda_get_function_concurrency(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  json_t *f = lambda_function_lock(st, call, input, NULL, 0);
  if (!f)
    return;
  json_t *v = json_object_get(f, "Concurrency");
  json_t *out = v ? json_pack("{s:O}", "ReservedConcurrentExecutions", v) : json_object();
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void lambda_delete_function_concurrency(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  json_t *f = lambda_function_lock(st, call, input, NULL, 0);
  if (!f)
    return;
  json_object_del(f, "Concurrency");
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

/* ---- function URLs ---- */

#define URL_NO_FUNCTION "Function does not exist"

/* A URL belongs to $LATEST (no qualifier) or an alias: the model's pattern
 * for Qualifier here is ((?!^\d+$)^[0-9a-zA-Z-_]+$), checked before the
 * function is looked up, as AWS does. Answers and returns -1. */
static int url_qualifier_valid(aws_call *call, json_t *input) {
  const char *q = json_string_value(json_object_get(input, "Qualifier"));
  if (!q)
    return 0;
  int ok = *q && strspn(q, "0123456789") != strlen(q);
  for (const char *p = q; ok && *p; p++)
    ok = isalnum((unsigned char)*p) || *p == '-' || *p == '_';
  if (!ok) {
    lambda_fail_validation(call, q, "qualifier",
                           "Member must satisfy regular expression pattern: "
                           "((?!^\\d+$)^[0-9a-zA-Z-_]+$)");
    return -1;
  }
  return 0;
}

static int auth_valid(aws_call *call, const char *auth) {
  if (auth && (strcmp(auth, "NONE") == 0 || strcmp(auth, "AWS_IAM") == 0))
    return 1;
  lambda_fail_validation(call, auth ? auth : "", "authType",
                         "Member must satisfy enum value set: [NONE, AWS_IAM]");
  return 0;
}

static int mode_valid(aws_call *call, const char *mode) {
  if (!mode || strcmp(mode, "BUFFERED") == 0 || strcmp(mode, "RESPONSE_STREAM") == 0)
    return 1;
  lambda_fail_validation(call, mode, "invokeMode",
                         "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]");
  return 0;
}

/* The function (and its URL key: "" or the alias) a URL call names, under
 * st->lock; NULL after answering. A function or alias that does not exist
 * is missing_words (AWS answers Create and Update with "Function does not
 * exist", Get and Delete with "The resource you requested does not
 * exist."). */
static json_t *lock_url_function(aws_call *call, json_t *input, char *key, size_t keyn,
                                 const char *missing_words) {
  lambda_state *st = lambda_state_of(call);
  char q[160], arn[512];
  int missing = 0;
  if (url_qualifier_valid(call, input) < 0)
    return NULL;
  json_t *f = lambda_function_find(st, call, input, q, sizeof(q), &missing, arn, sizeof(arn));
  if (missing) {
    aws_call_fail(call, 404, "ResourceNotFoundException", "%s", missing_words);
    return NULL;
  }
  if (!f)
    return NULL;
  if (*q && strcmp(q, "$LATEST") != 0 && !json_object_get(json_object_get(f, "Aliases"), q)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException", "%s", missing_words);
    return NULL;
  }
  snprintf(key, keyn, "%s", strcmp(q, "$LATEST") == 0 ? "" : q);
  return f;
}

/* A URL config as the API shows it: without airgap's UrlId, and without
 * InvokeMode unless shown (Create and Update echo it only when given). */
static json_t *url_out(const json_t *config, int invoke_mode, int last_modified) {
  json_t *out = json_deep_copy(config);
  json_object_del(out, "UrlId");
  if (!invoke_mode)
    json_object_del(out, "InvokeMode");
  if (!last_modified)
    json_object_del(out, "LastModifiedTime");
  return out;
}

void lambda_create_function_url_config(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *auth = json_string_value(json_object_get(input, "AuthType"));
  const char *mode = json_string_value(json_object_get(input, "InvokeMode"));
  if (!auth_valid(call, auth) || !mode_valid(call, mode))
    return;
  char key[160], arn[512], ts[64];
  json_t *f = lock_url_function(call, input, key, sizeof(key), URL_NO_FUNCTION);
  if (!f)
    return;
  json_t *out = NULL;
  json_t *urls = json_object_get(f, "Urls");
  if (!urls) {
    urls = json_object();
    json_object_set_new(f, "Urls", urls);
  }
  resource_arn(arn, sizeof(arn), f, key);
  if (json_object_get(urls, key)) {
    aws_call_fail(call, 409, "ResourceConflictException",
                  "Failed to create function url config for [functionArn = %s]. Error message:  "
                  "FunctionUrlConfig exists for this Lambda function",
                  arn);
    goto done;
  }
  /* A URL id as AWS makes them: 32 lowercase letters and digits. */
  char uuid[37], id[33];
  codec_uuid4(uuid);
  size_t j = 0;
  for (const char *p = uuid; *p && j < 32; p++)
    if (*p != '-')
      id[j++] = *p;
  id[j] = '\0';
  const char *endpoint = aws_call_endpoint(call);
  const char *hostport = strstr(endpoint, "://");
  hostport = hostport ? hostport + 3 : endpoint;
  const char *colon = strrchr(hostport, ':');
  char url[512];
  snprintf(url, sizeof(url), "http://%s.lambda-url.%s.localhost%s/", id, aws_call_region(call),
           colon ? colon : "");
  lambda_timestamp(ts, sizeof(ts), lambda_now());
  json_t *config =
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "FunctionUrl", url, "FunctionArn", arn,
                "AuthType", auth, "CreationTime", ts, "LastModifiedTime", ts, "UrlId", id,
                "InvokeMode", mode ? mode : "BUFFERED");
  json_t *cors = json_object_get(input, "Cors");
  if (cors)
    json_object_set(config, "Cors", cors);
  json_object_set_new(urls, key, config);
  out = url_out(config, mode != NULL, 0);
done:
  pthread_mutex_unlock(&st->lock);
  if (out)
    aws_call_reply(call, out);
}

static json_t *lock_url(aws_call *call, json_t *input, json_t **fout, const char *missing_words) {
  lambda_state *st = lambda_state_of(call);
  char key[160];
  json_t *f = lock_url_function(call, input, key, sizeof(key), missing_words);
  if (!f)
    return NULL;
  json_t *config = json_object_get(json_object_get(f, "Urls"), key);
  if (!config) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException", NOT_FOUND);
    return NULL;
  }
  *fout = f;
  return config;
}

void lambda_get_function_url_config(aws_call *call, json_t *input) {
  json_t *f = NULL;
  json_t *config = lock_url(call, input, &f, NOT_FOUND);
  if (!config)
    return;
  json_t *out = url_out(config, 1, 1);
  pthread_mutex_unlock(&lambda_state_of(call)->lock);
  aws_call_reply(call, out);
}

void lambda_update_function_url_config(aws_call *call, json_t *input) {
  const char *auth = json_string_value(json_object_get(input, "AuthType"));
  const char *mode = json_string_value(json_object_get(input, "InvokeMode"));
  if ((auth && !auth_valid(call, auth)) || !mode_valid(call, mode))
    return;
  json_t *f = NULL;
  json_t *config = lock_url(call, input, &f, URL_NO_FUNCTION);
  if (!config)
    return;
  char ts[64];
  lambda_timestamp(ts, sizeof(ts), lambda_now());
  if (auth)
    json_object_set_new(config, "AuthType", json_string(auth));
  if (mode)
    json_object_set_new(config, "InvokeMode", json_string(mode));
  json_t *cors = json_object_get(input, "Cors");
  if (cors)
    json_object_set(config, "Cors", cors);
  json_object_set_new(config, "LastModifiedTime", json_string(ts));
  json_t *out = url_out(config, mode != NULL, 1);
  pthread_mutex_unlock(&lambda_state_of(call)->lock);
  aws_call_reply(call, out);
}

void lambda_delete_function_url_config(aws_call *call, json_t *input) {
  json_t *f = NULL;
  char q[160] = "";
  json_t *config = lock_url(call, input, &f, NOT_FOUND);
  if (!config)
    return;
  const char *key;
  json_t *v;
  json_t *urls = json_object_get(f, "Urls");
  json_object_foreach(urls, key, v) {
    if (v == config) {
      snprintf(q, sizeof(q), "%s", key);
      break;
    }
  }
  json_object_del(urls, q);
  pthread_mutex_unlock(&lambda_state_of(call)->lock);
  aws_call_reply(call, NULL);
}

void lambda_list_function_url_configs(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  json_t *mi = json_object_get(input, "MaxItems");
  json_int_t max = mi ? json_integer_value(mi) : 50;
  if (max < 1 || max > 50) {
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)max);
    lambda_fail_validation(call, v, "maxItems",
                           max < 1 ? "Member must have value greater than or equal to 1"
                                   : "Member must have value less than or equal to 50");
    return;
  }
  const char *marker = json_string_value(json_object_get(input, "Marker"));
  char q[160], arn[512];
  int missing = 0;
  json_t *f = lambda_function_find(st, call, input, q, sizeof(q), &missing, arn, sizeof(arn));
  if (missing) {
    aws_call_fail(call, 404, "ResourceNotFoundException", URL_NO_FUNCTION);
    return;
  }
  if (!f)
    return;
  /* Ordered by qualifier ("" first, then aliases). */
  json_t *urls = json_object_get(f, "Urls");
  size_t n = 0;
  const char **keys = jsonutil_keys_sorted(urls, &n);
  /* The marker is the position of the next one (the $LATEST URL's key is
   * "", which makes a poor marker). */
  size_t from = 0;
  if (marker && *marker) {
    char *end = NULL;
    unsigned long long v = strtoull(marker, &end, 10);
    from = end && !*end ? (size_t)v : n;
  }
  json_t *list = json_array(), *out = json_object();
  json_int_t shown = 0;
  for (size_t i = from; i < n; i++) {
    if (shown == max) {
      char next[32];
      snprintf(next, sizeof(next), "%zu", i);
      json_object_set_new(out, "NextMarker", json_string(next));
      break;
    }
    json_array_append_new(list, url_out(json_object_get(urls, keys[i]), 1, 1));
    shown++;
  }
  free(keys);
  pthread_mutex_unlock(&st->lock);
  json_object_set_new(out, "FunctionUrlConfigs", list);
  aws_call_reply(call, out);
}
