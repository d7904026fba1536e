/*
 * permissions.c — AddPermission and RemovePermission: statements in the
 * queue's Policy attribute.
 *
 * AWS keeps permissions as statements of the queue's access policy, so does
 * this: AddPermission appends a statement whose Sid is the label (creating
 * the default policy document when the queue has none), RemovePermission
 * removes it again, and GetQueueAttributes shows the result as Policy.
 * Policies are not enforced (as in LocalStack), only kept. Requests are
 * validated as AWS validates them: at most 7 actions, only the actions an
 * owner may share, no label twice.
 */
#include "emulator/sqs/sqs_engine_int.h"

#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int valid_label(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 80)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!sqs_name_char(s[i]))
      return 0;
  return 1;
}

/* Actions a queue's owner may grant to other accounts; the rest (CreateQueue,
 * SetQueueAttributes, AddPermission, TagQueue, …) only the owner invokes.
 * Granting SendMessage, DeleteMessage or ChangeMessageVisibility also grants
 * their batch forms, so those are not named on their own. */
static int grantable(const char *action) {
  static const char *const allowed[] = {
      "*",           "ChangeMessageVisibility",    "DeleteMessage", "GetQueueAttributes",
      "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue",    "ReceiveMessage",
      "SendMessage",
  };
  for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
    if (!strcmp(action, allowed[i]))
      return 1;
  return 0;
}

/* SQS actions AddPermission cannot grant: only the queue's owner calls them. */
static int owner_only(const char *action) {
  static const char *const owner[] = {
      "AddPermission", "CreateQueue",          "DeleteQueue",           "ListQueues",
      "ListQueueTags", "RemovePermission",     "SetQueueAttributes",    "TagQueue",
      "UntagQueue",    "StartMessageMoveTask", "CancelMessageMoveTask", "ListMessageMoveTasks",
  };
  for (size_t i = 0; i < sizeof(owner) / sizeof(owner[0]); i++)
    if (!strcmp(action, owner[i]))
      return 1;
  return 0;
}

/* The index of the (last) statement of stmts whose Sid is label, or -1. */
static int find_statement(json_t *stmts, const char *label) {
  size_t i;
  json_t *v;
  int found = -1;
  json_array_foreach(stmts, i, v) {
    const char *sid = jsonutil_string(v, "Sid");
    if (sid && !strcmp(sid, label))
      found = (int)i;
  }
  return found;
}

/* Replaces q's policy with dump (owned; NULL: none). */
static void set_policy(sqs_op *op, sqs_queue *q, char *dump) {
  free(q->a.policy);
  q->a.policy = dump;
  q->modified_s = sqs_now_s(op);
}

int sqs_op_add_permission(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0)
    return -1;
  const char *label = jsonutil_string(in, "Label");
  json_t *accounts = json_object_get(in, "AWSAccountIds"),
         *actions = json_object_get(in, "Actions");
  if (!label)
    return sqs_err_missing(&op->err, "Label");
  if (!valid_label(label))
    return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                       "Value %.2000s for parameter Label is invalid. Reason: Must be 1 to 80 of "
                       "alphanumeric characters, hyphens or underscores.",
                       label);
  if (!json_array_size(actions))
    return sqs_err_missing(&op->err, "Actions");
  if (!json_array_size(accounts))
    return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                       "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.");
  if (json_array_size(actions) > SQS_MAX_PERMISSION_ACTIONS)
    return sqs_err_set(&op->err, 0, "OverLimit", "%zu Actions were found, maximum allowed is %d.",
                       json_array_size(actions), SQS_MAX_PERMISSION_ACTIONS);
  json_t *principals = json_array(), *acts = json_array(), *policy = NULL;
  int rc = -1;
  size_t i;
  json_t *v;
  int bad = 0;
  json_array_foreach(accounts, i, v) {
    const char *s = json_string_value(v);
    char arn[64];
    if (!s || !sqs_is_account(s, strlen(s))) {
      bad = 1;
      break;
    }
    snprintf(arn, sizeof(arn), "arn:aws:iam::%s:root", s);
    json_array_append_new(principals, json_string(arn));
  }
  json_array_foreach(actions, i, v) {
    const char *s = json_string_value(v);
    char act[80];
    if (!s || !grantable(s)) {
      /* An SQS action only the owner may call, or no SQS action at all. */
      sqs_err_set(&op->err, 0, "InvalidParameterValue",
                  "Value SQS:%.2000s for parameter ActionName is invalid. Reason: %s", s ? s : "",
                  s && owner_only(s) ? "Only the queue owner is allowed to invoke this action."
                                     : "Please refer to the appropriate WSDL for a list of valid "
                                       "actions.");
      goto cleanup;
    }
    snprintf(act, sizeof(act), "SQS:%s", s);
    json_array_append_new(acts, json_string(act));
  }
  if (bad) {
    sqs_err_set(&op->err, 0, "InvalidParameterValue",
                "Value for parameter PrincipalId is invalid. Reason: Unable to verify.");
    goto cleanup;
  }
  policy = q->a.policy ? json_loads(q->a.policy, 0, NULL) : NULL;
  if (!json_is_object(policy)) {
    json_decref(policy);
    char id[512];
    snprintf(id, sizeof(id), "%s/SQSDefaultPolicy", q->arn);
    /* The policy AddPermission writes carries the 2008 policy version, as AWS's does. */
    policy = json_pack("{s:s, s:s, s:[]}", "Version", "2008-10-17", "Id", id, "Statement");
  }
  json_t *stmts = json_object_get(policy, "Statement");
  if (!json_is_array(stmts)) {
    json_object_set_new(policy, "Statement", json_array());
    stmts = json_object_get(policy, "Statement");
  }
  if (find_statement(stmts, label) >= 0) {
    sqs_err_set(&op->err, 0, "InvalidParameterValue",
                "Value %s for parameter Label is invalid. Reason: Already exists.", label);
    goto cleanup;
  }
  json_array_append_new(
      stmts,
      json_pack(
          "{s:s, s:s, s:{s:O}, s:O, s:s}", "Sid", label, "Effect", "Allow", "Principal", "AWS",
          json_array_size(principals) == 1 ? json_array_get(principals, 0) : principals, "Action",
          json_array_size(acts) == 1 ? json_array_get(acts, 0) : acts, "Resource", q->arn));
  char *dump = json_dumps(policy, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!dump) {
    sqs_err_oom(&op->err);
    goto cleanup;
  }
  set_policy(op, q, dump);
  rc = 0;
cleanup:
  json_decref(policy);
  json_decref(principals);
  json_decref(acts);
  return rc;
}

int sqs_op_remove_permission(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0)
    return -1;
  const char *label = jsonutil_string(in, "Label");
  if (!label)
    return sqs_err_missing(&op->err, "Label");
  json_t *policy = q->a.policy ? json_loads(q->a.policy, 0, NULL) : NULL;
  json_t *stmts = json_object_get(policy, "Statement");
  int found = find_statement(stmts, label);
  if (found < 0) {
    int had_policy = stmts != NULL;
    json_decref(policy);
    /* AWS names the existing policy only when there is one. */
    return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                       "Value %.2000s for parameter Label is invalid. Reason: can't find label%s.",
                       label, had_policy ? " on existing policy" : "");
  }
  json_array_remove(stmts, (size_t)found);
  char *dump =
      json_array_size(stmts) ? json_dumps(policy, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(policy);
  set_policy(op, q, dump);
  return 0;
}
