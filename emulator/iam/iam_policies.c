/*
 * iam_policies.c — managed policies: customer-managed ones (Create, Get,
 * Delete, List, versions with a default and at most five, tags) and the
 * AWS-managed ones under arn:<partition>:iam::aws:policy/ that scripts attach
 * most (AdministratorAccess, ReadOnlyAccess, AmazonS3FullAccess,
 * AWSLambdaBasicExecutionRole, …), answered from a table below with their
 * documents, plus ListEntitiesForPolicy.
 *
 * The AWS-managed table carries the documents' meaning, not every line of
 * them: where AWS's own document lists dozens of services (ReadOnlyAccess),
 * the table's grants the same read-only verbs with wildcards. Attachment and
 * boundary counts are computed from the principals when asked, so they can
 * never disagree with what ListEntitiesForPolicy answers.
 */
#include "common/jsonutil.h"
#include "emulator/iam/iam_int.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- AWS-managed policies ---- */

#define AWS_POLICY_DATE 1423248000.0 /* 2015-02-06T18:40:00Z */

static const struct {
  const char *name, *path, *document;
} aws_table[] = {
    {"AdministratorAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\"}]}"},
    {"PowerUserAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":[\"iam:*\","
     "\"organizations:*\",\"account:*\"],\"Resource\":\"*\"},{\"Effect\":\"Allow\",\"Action\":["
     "\"iam:CreateServiceLinkedRole\",\"iam:DeleteServiceLinkedRole\",\"iam:ListRoles\","
     "\"organizations:DescribeOrganization\",\"account:ListRegions\"],\"Resource\":\"*\"}]}"},
    {"ReadOnlyAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"*:Describe*\",\"*:Get*\",\"*:List*\",\"*:BatchGet*\",\"*:Query\",\"*:Scan\"],"
     "\"Resource\":\"*\"}]}"},
    {"IAMFullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"iam:*\","
     "\"organizations:DescribeAccount\",\"organizations:DescribeOrganization\"],"
     "\"Resource\":\"*\"}]}"},
    {"IAMReadOnlyAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"iam:GenerateCredentialReport\",\"iam:GenerateServiceLastAccessedDetails\",\"iam:Get*\","
     "\"iam:List*\",\"iam:SimulateCustomPolicy\",\"iam:SimulatePrincipalPolicy\"],"
     "\"Resource\":\"*\"}]}"},
    {"AmazonS3FullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:*\","
     "\"s3-object-lambda:*\"],\"Resource\":\"*\"}]}"},
    {"AmazonS3ReadOnlyAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:Get*\","
     "\"s3:List*\",\"s3:Describe*\",\"s3-object-lambda:Get*\",\"s3-object-lambda:List*\"],"
     "\"Resource\":\"*\"}]}"},
    {"AmazonDynamoDBFullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"dynamodb:*\",\"dax:*\",\"application-autoscaling:*\",\"cloudwatch:*\","
     "\"kinesis:ListStreams\",\"kinesis:DescribeStream\"],\"Resource\":\"*\"}]}"},
    {"AmazonDynamoDBReadOnlyAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"dynamodb:BatchGetItem\",\"dynamodb:Describe*\",\"dynamodb:List*\","
     "\"dynamodb:GetItem\",\"dynamodb:Query\",\"dynamodb:Scan\",\"dynamodb:PartiQLSelect\"],"
     "\"Resource\":\"*\"}]}"},
    {"AmazonSQSFullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"sqs:*\"],"
     "\"Resource\":\"*\"}]}"},
    {"AmazonSQSReadOnlyAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"sqs:GetQueueAttributes\",\"sqs:GetQueueUrl\",\"sqs:ListDeadLetterSourceQueues\","
     "\"sqs:ListQueues\",\"sqs:ListMessageMoveTasks\",\"sqs:ListQueueTags\"],"
     "\"Resource\":\"*\"}]}"},
    {"AmazonSNSFullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"sns:*\"],"
     "\"Resource\":\"*\"}]}"},
    {"AmazonKinesisFullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"kinesis:*\","
     "\"Resource\":\"*\"}]}"},
    {"AmazonEventBridgeFullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"events:*\","
     "\"schemas:*\",\"scheduler:*\",\"pipes:*\"],\"Resource\":\"*\"}]}"},
    {"CloudWatchLogsFullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"logs:*\","
     "\"cloudwatch:GenerateQuery\"],\"Resource\":\"*\"}]}"},
    {"CloudWatchLogsReadOnlyAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"logs:Describe*\",\"logs:Get*\",\"logs:List*\",\"logs:StartQuery\",\"logs:StopQuery\","
     "\"logs:TestMetricFilter\",\"logs:FilterLogEvents\",\"logs:StartLiveTail\","
     "\"logs:StopLiveTail\"],\"Resource\":\"*\"}]}"},
    {"SecretsManagerReadWrite", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"secretsmanager:*\",\"kms:DescribeKey\",\"kms:ListAliases\",\"kms:ListKeys\","
     "\"lambda:ListFunctions\",\"tag:GetResources\"],\"Resource\":\"*\"}]}"},
    {"AmazonSSMFullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ssm:*\","
     "\"ec2messages:*\",\"ssmmessages:*\"],\"Resource\":\"*\"}]}"},
    {"AmazonSSMReadOnlyAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"ssm:Describe*\",\"ssm:Get*\",\"ssm:List*\"],\"Resource\":\"*\"}]}"},
    {"AWSKeyManagementServicePowerUser", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"kms:CreateAlias\",\"kms:CreateKey\",\"kms:DeleteAlias\",\"kms:Describe*\","
     "\"kms:GenerateRandom\",\"kms:Get*\",\"kms:List*\",\"kms:TagResource\","
     "\"kms:UntagResource\",\"iam:ListGroups\",\"iam:ListRoles\",\"iam:ListUsers\"],"
     "\"Resource\":\"*\"}]}"},
    {"AWSLambda_FullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"lambda:*\",\"logs:DescribeLogGroups\",\"logs:FilterLogEvents\",\"logs:GetLogEvents\","
     "\"logs:StartQuery\",\"iam:GetRole\",\"iam:ListRoles\",\"s3:ListAllMyBuckets\","
     "\"s3:GetBucketLocation\"],\"Resource\":\"*\"},{\"Effect\":\"Allow\",\"Action\":"
     "\"iam:PassRole\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{"
     "\"iam:PassedToService\":\"lambda.amazonaws.com\"}}}]}"},
    {"AWSLambda_ReadOnlyAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"lambda:Get*\",\"lambda:List*\",\"logs:DescribeLogGroups\",\"logs:GetLogEvents\","
     "\"iam:GetRole\",\"iam:ListRoles\"],\"Resource\":\"*\"}]}"},
    {"AWSLambdaBasicExecutionRole", "/service-role/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"logs:CreateLogGroup\",\"logs:CreateLogStream\",\"logs:PutLogEvents\"],"
     "\"Resource\":\"*\"}]}"},
    {"AWSLambdaVPCAccessExecutionRole", "/service-role/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"logs:CreateLogGroup\",\"logs:CreateLogStream\",\"logs:PutLogEvents\","
     "\"ec2:CreateNetworkInterface\",\"ec2:DescribeNetworkInterfaces\","
     "\"ec2:DescribeSubnets\",\"ec2:DeleteNetworkInterface\",\"ec2:AssignPrivateIpAddresses\","
     "\"ec2:UnassignPrivateIpAddresses\"],\"Resource\":\"*\"}]}"},
    {"AWSLambdaSQSQueueExecutionRole", "/service-role/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"sqs:ReceiveMessage\",\"sqs:DeleteMessage\",\"sqs:GetQueueAttributes\","
     "\"logs:CreateLogGroup\",\"logs:CreateLogStream\",\"logs:PutLogEvents\"],"
     "\"Resource\":\"*\"}]}"},
    {"AWSLambdaDynamoDBExecutionRole", "/service-role/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"dynamodb:DescribeStream\",\"dynamodb:GetRecords\",\"dynamodb:GetShardIterator\","
     "\"dynamodb:ListStreams\",\"logs:CreateLogGroup\",\"logs:CreateLogStream\","
     "\"logs:PutLogEvents\"],\"Resource\":\"*\"}]}"},
    {"AWSLambdaKinesisExecutionRole", "/service-role/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"kinesis:DescribeStream\",\"kinesis:DescribeStreamSummary\",\"kinesis:GetRecords\","
     "\"kinesis:GetShardIterator\",\"kinesis:ListShards\",\"kinesis:ListStreams\","
     "\"kinesis:SubscribeToShard\",\"logs:CreateLogGroup\",\"logs:CreateLogStream\","
     "\"logs:PutLogEvents\"],\"Resource\":\"*\"}]}"},
    {"AmazonEC2FullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ec2:*\","
     "\"elasticloadbalancing:*\",\"cloudwatch:*\",\"autoscaling:*\"],\"Resource\":\"*\"}]}"},
    {"AmazonEC2ReadOnlyAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"ec2:Describe*\",\"elasticloadbalancing:Describe*\",\"cloudwatch:ListMetrics\","
     "\"cloudwatch:GetMetricStatistics\",\"cloudwatch:Describe*\",\"autoscaling:Describe*\"],"
     "\"Resource\":\"*\"}]}"},
    {"AWSCloudFormationFullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
     "[\"cloudformation:*\"],\"Resource\":\"*\"}]}"},
    {"AmazonECS_FullAccess", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ecs:*\","
     "\"ecr:*\",\"logs:*\",\"elasticloadbalancing:*\",\"application-autoscaling:*\"],"
     "\"Resource\":\"*\"}]}"},
    {"AmazonEC2ContainerRegistryReadOnly", "/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"ecr:GetAuthorizationToken\",\"ecr:BatchCheckLayerAvailability\","
     "\"ecr:GetDownloadUrlForLayer\",\"ecr:GetRepositoryPolicy\",\"ecr:DescribeRepositories\","
     "\"ecr:ListImages\",\"ecr:DescribeImages\",\"ecr:BatchGetImage\"],\"Resource\":\"*\"}]}"},
    {"AmazonECSTaskExecutionRolePolicy", "/service-role/",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"ecr:GetAuthorizationToken\",\"ecr:BatchCheckLayerAvailability\","
     "\"ecr:GetDownloadUrlForLayer\",\"ecr:BatchGetImage\",\"logs:CreateLogStream\","
     "\"logs:PutLogEvents\"],\"Resource\":\"*\"}]}"},
};

static json_t *aws_policies;
static pthread_once_t aws_once = PTHREAD_ONCE_INIT;

/* Records keyed "<path><name>" (partition-free); iam_policy builds the ARN. */
static void aws_build(void) {
  aws_policies = json_object();
  for (size_t i = 0; i < sizeof(aws_table) / sizeof(aws_table[0]); i++) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(aws_table[i].name, strlen(aws_table[i].name), d, &n, EVP_sha256(), NULL);
    char id[32] = "ANPA";
    for (int j = 0; j < 17; j++)
      id[4 + j] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[d[j] % 32];
    id[21] = '\0';
    char key[256];
    snprintf(key, sizeof(key), "%s%s", aws_table[i].path, aws_table[i].name);
    json_object_set_new(aws_policies, key,
                        json_pack("{s:s, s:s, s:s, s:s, s:b, s:f, s:f, s:{s:{s:s, s:s, s:b, s:f}}}",
                                  "PolicyName", aws_table[i].name, "PolicyId", id, "Path",
                                  aws_table[i].path, "DefaultVersionId", "v1", "IsAttachable", 1,
                                  "CreateDate", AWS_POLICY_DATE, "UpdateDate", AWS_POLICY_DATE,
                                  "_versions", "v1", "Document", aws_table[i].document, "VersionId",
                                  "v1", "IsDefaultVersion", 1, "CreateDate", AWS_POLICY_DATE));
  }
}

const json_t *iam_aws_policies(void) {
  pthread_once(&aws_once, aws_build);
  return aws_policies;
}

/* The AWS-managed policy at arn as a record with its ARN in this partition
 * (owned), or NULL. */
static json_t *aws_policy(iam_ctx *c, const char *arn) {
  char prefix[64];
  snprintf(prefix, sizeof(prefix), "arn:%s:iam::aws:policy", c->partition);
  size_t n = strlen(prefix);
  if (strncmp(arn, prefix, n) != 0)
    return NULL;
  json_t *rec = json_object_get(iam_aws_policies(), arn + n);
  if (!rec)
    return NULL;
  /* A deep copy: the table is shared by every emulator of the process. */
  json_t *copy = json_deep_copy(rec);
  json_object_set_new(copy, "Arn", json_string(arn));
  return copy;
}

json_t *iam_policy(iam_ctx *c, const char *arn) {
  json_t *rec = iam_get(iam_map(c, "policies"), arn);
  if (rec)
    return rec;
  /* AWS-managed records are made on demand and kept in the account's "aws"
   * map, so that callers can borrow them like customer ones. */
  json_t *aws = iam_map(c, "aws");
  rec = json_object_get(aws, arn);
  if (rec)
    return rec;
  rec = aws_policy(c, arn);
  if (rec)
    json_object_set_new(aws, arn, rec);
  return rec;
}

static int is_aws_managed(const char *arn) { return strstr(arn, ":iam::aws:policy/") != NULL; }

const char *iam_policy_document(iam_ctx *c, const char *arn) {
  json_t *policy = iam_policy(c, arn);
  const char *v = jsonutil_string(policy, "DefaultVersionId");
  json_t *version = v ? json_object_get(json_object_get(policy, "_versions"), v) : NULL;
  return jsonutil_string(version, "Document");
}

size_t iam_policy_usage(iam_ctx *c, const char *arn, int boundary) {
  size_t n = 0;
  for (int k = 0; k < 3; k++) {
    const char *key;
    json_t *rec;
    json_object_foreach(iam_map(c, iam_kinds[k].store), key, rec) {
      if (boundary) {
        const char *b =
            jsonutil_string(json_object_get(rec, "PermissionsBoundary"), "PermissionsBoundaryArn");
        n += b && !strcmp(b, arn);
        continue;
      }
      size_t i;
      json_t *a;
      json_array_foreach(json_object_get(rec, "_attached"), i, a) {
        n += !strcmp(json_string_value(a), arn);
      }
    }
  }
  return n;
}

json_t *iam_policy_out(iam_ctx *c, json_t *policy) {
  json_t *out = iam_public(policy);
  const char *arn = jsonutil_string(policy, "Arn");
  json_object_set_new(out, "AttachmentCount",
                      json_integer((json_int_t)iam_policy_usage(c, arn, 0)));
  json_object_set_new(out, "PermissionsBoundaryUsageCount",
                      json_integer((json_int_t)iam_policy_usage(c, arn, 1)));
  return out;
}

/* The policy input's PolicyArn names; NULL after NoSuchEntity. custom: only
 * customer-managed policies (those a caller can change). */
static json_t *policy_arg(iam_ctx *c, json_t *input, int custom) {
  const char *arn = jsonutil_string(input, "PolicyArn");
  if (!arn || strlen(arn) < 20 || strlen(arn) > 2048 || strncmp(arn, "arn:", 4) != 0) {
    iam_fail(c, 400, "InvalidInput", "ARN %.2048s is not valid.", arn ? arn : "");
    return NULL;
  }
  json_t *policy = custom && is_aws_managed(arn) ? NULL : iam_policy(c, arn);
  if (!policy)
    iam_no_entity(c, "Policy %s does not exist or is not attachable.", arn);
  return policy;
}

/* ---- customer-managed policies ---- */

static int check_size(iam_ctx *c, const char *text) {
  if (iam_doc_size(text) > IAM_MAX_MANAGED_POLICY) {
    iam_fail(c, 409, "LimitExceeded", "Cannot exceed quota for PolicySize: %d",
             IAM_MAX_MANAGED_POLICY);
    return -1;
  }
  return 0;
}

IAM_HANDLER(iam_create_policy) {
  if (iam_check_name(c, input, "PolicyName", 128, 1) < 0 || iam_check_path(c, input, "Path") < 0 ||
      iam_check_description(c, input) < 0)
    return NULL;
  const char *name = jsonutil_string(input, "PolicyName");
  const char *text = jsonutil_string(input, "PolicyDocument");
  json_t *doc = iam_check_document(c, text, IAM_DOC_IDENTITY);
  if (!doc)
    return NULL;
  json_decref(doc);
  if (check_size(c, text) < 0)
    return NULL;
  json_t *policies = iam_map(c, "policies");
  const char *key;
  json_t *p;
  json_object_foreach(policies, key, p) {
    if (!strcasecmp(jsonutil_string(p, "PolicyName"), name))
      return iam_fail(c, 409, "EntityAlreadyExists",
                      "A policy called %s already exists. Duplicate names are not allowed.", name);
  }
  const char *path = jsonutil_string(input, "Path");
  if (!path)
    path = "/";
  char id[32];
  iam_new_id(id, "ANPA");
  char *arn = iam_arn(c, "policy", path, name);
  double now = iam_now();
  json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:f, s:f, s:{s:{s:s, s:s, s:b, s:f}}, "
                          "s:i}",
                          "PolicyName", name, "PolicyId", id, "Arn", arn ? arn : "", "Path", path,
                          "DefaultVersionId", "v1", "IsAttachable", 1, "CreateDate", now,
                          "UpdateDate", now, "_versions", "v1", "Document", text, "VersionId", "v1",
                          "IsDefaultVersion", 1, "CreateDate", now, "_next", 2);
  const char *description = jsonutil_string(input, "Description");
  if (rec && description)
    json_object_set_new(rec, "Description", json_string(description));
  if (!rec || iam_tags_merge(c, rec, input) < 0) {
    free(arn);
    json_decref(rec);
    return rec ? NULL : iam_fail(c, 500, "ServiceFailure", "out of memory");
  }
  iam_put(policies, arn, rec);
  free(arn);
  json_t *out = iam_policy_out(c, rec);
  return json_pack("{s:o}", "Policy", out);
}

IAM_HANDLER(iam_get_policy) {
  json_t *policy = policy_arg(c, input, 0);
  return policy ? json_pack("{s:o}", "Policy", iam_policy_out(c, policy)) : NULL;
}

IAM_HANDLER(iam_delete_policy) {
  json_t *policy = policy_arg(c, input, 1);
  if (!policy)
    return NULL;
  const char *arn = jsonutil_string(policy, "Arn");
  if (iam_policy_usage(c, arn, 0) || iam_policy_usage(c, arn, 1))
    return iam_fail(c, 409, "DeleteConflict", "Cannot delete a policy attached to entities.");
  if (json_object_size(json_object_get(policy, "_versions")) > 1)
    return iam_fail(c, 409, "DeleteConflict",
                    "This policy has more than one version. Before you delete a policy, you must "
                    "delete the policy's versions. The default version is deleted with the "
                    "policy.");
  iam_del(iam_map(c, "policies"), arn);
  return NULL;
}

/* Whether policy passes ListPolicies' filters. */
static int policy_listed(iam_ctx *c, json_t *policy, json_t *input) {
  const char *prefix = jsonutil_string(input, "PathPrefix");
  const char *usage = jsonutil_string(input, "PolicyUsageFilter");
  const char *arn = jsonutil_string(policy, "Arn");
  if (prefix && strncmp(jsonutil_string(policy, "Path"), prefix, strlen(prefix)) != 0)
    return 0;
  int boundary = usage && !strcmp(usage, "PermissionsBoundary");
  if (json_is_true(json_object_get(input, "OnlyAttached")) || usage)
    return iam_policy_usage(c, arn, boundary) > 0 || (!usage && iam_policy_usage(c, arn, 1) > 0);
  return 1;
}

IAM_HANDLER(iam_list_policies) {
  if (iam_check_path(c, input, "PathPrefix") < 0)
    return NULL;
  const char *scope = jsonutil_string(input, "Scope");
  if (!scope)
    scope = "All";
  json_t *items = json_array();
  const char *key;
  json_t *p;
  if (strcmp(scope, "Local") != 0) {
    json_object_foreach((json_t *)iam_aws_policies(), key, p) {
      char arn[512];
      snprintf(arn, sizeof(arn), "arn:%s:iam::aws:policy%s", c->partition, key);
      json_t *rec = iam_policy(c, arn);
      if (rec && policy_listed(c, rec, input))
        json_array_append_new(items, iam_policy_out(c, rec));
    }
  }
  if (strcmp(scope, "AWS") != 0) {
    json_object_foreach(iam_map(c, "policies"), key, p) {
      if (policy_listed(c, p, input))
        json_array_append_new(items, iam_policy_out(c, p));
    }
  }
  size_t i;
  json_array_foreach(items, i, p) {
    json_object_del(p, "Tags");
    json_object_del(p, "Description");
  }
  return iam_page(c, input, items, "Policies", json_object());
}

/* ---- versions ---- */

static json_t *version_out(const json_t *v, int with_document) {
  json_t *out = json_pack("{s:O, s:O, s:O}", "VersionId", json_object_get(v, "VersionId"),
                          "IsDefaultVersion", json_object_get(v, "IsDefaultVersion"), "CreateDate",
                          json_object_get(v, "CreateDate"));
  if (out && with_document)
    json_object_set_new(out, "Document", iam_encoded(jsonutil_string(v, "Document")));
  return out;
}

static void set_default(json_t *policy, const char *version_id) {
  const char *id;
  json_t *v;
  json_object_foreach(json_object_get(policy, "_versions"), id, v) {
    json_object_set_new(v, "IsDefaultVersion", json_boolean(!strcmp(id, version_id)));
  }
  json_object_set_new(policy, "DefaultVersionId", json_string(version_id));
  json_object_set_new(policy, "UpdateDate", json_real(iam_now()));
}

IAM_HANDLER(iam_create_policy_version) {
  json_t *policy = policy_arg(c, input, 1);
  if (!policy)
    return NULL;
  const char *text = jsonutil_string(input, "PolicyDocument");
  json_t *doc = iam_check_document(c, text, IAM_DOC_IDENTITY);
  if (!doc)
    return NULL;
  json_decref(doc);
  if (check_size(c, text) < 0)
    return NULL;
  json_t *versions = json_object_get(policy, "_versions");
  if (json_object_size(versions) >= IAM_MAX_POLICY_VERSIONS)
    return iam_fail(c, 409, "LimitExceeded",
                    "A managed policy can have up to %d versions. Before you create a new "
                    "version, you must delete an existing version.",
                    IAM_MAX_POLICY_VERSIONS);
  json_int_t next = json_integer_value(json_object_get(policy, "_next"));
  char id[32];
  snprintf(id, sizeof(id), "v%lld", (long long)next);
  json_object_set_new(policy, "_next", json_integer(next + 1));
  json_t *v = json_pack("{s:s, s:s, s:b, s:f}", "Document", text, "VersionId", id,
                        "IsDefaultVersion", 0, "CreateDate", iam_now());
  json_object_set_new(versions, id, v);
  if (json_is_true(json_object_get(input, "SetAsDefault")))
    set_default(policy, id);
  return json_pack("{s:o}", "PolicyVersion", version_out(v, 0));
}

/* The version input's VersionId names; NULL after NoSuchEntity. */
static json_t *version_arg(iam_ctx *c, json_t *policy, json_t *input) {
  const char *id = jsonutil_string(input, "VersionId");
  json_t *v = id ? json_object_get(json_object_get(policy, "_versions"), id) : NULL;
  if (!v)
    iam_no_entity(c, "Policy %s version %.64s does not exist or is not attachable.",
                  jsonutil_string(policy, "Arn"), id ? id : "");
  return v;
}

IAM_HANDLER(iam_get_policy_version) {
  json_t *policy = policy_arg(c, input, 0);
  json_t *v = policy ? version_arg(c, policy, input) : NULL;
  return v ? json_pack("{s:o}", "PolicyVersion", version_out(v, 1)) : NULL;
}

IAM_HANDLER(iam_delete_policy_version) {
  json_t *policy = policy_arg(c, input, 1);
  json_t *v = policy ? version_arg(c, policy, input) : NULL;
  if (!v)
    return NULL;
  if (json_is_true(json_object_get(v, "IsDefaultVersion")))
    return iam_fail(c, 409, "DeleteConflict", "Cannot delete the default version of a policy.");
  json_object_del(json_object_get(policy, "_versions"), jsonutil_string(input, "VersionId"));
  return NULL;
}

IAM_HANDLER(iam_list_policy_versions) {
  json_t *policy = policy_arg(c, input, 0);
  if (!policy)
    return NULL;
  json_t *items = json_array();
  const char *id;
  json_t *v;
  /* Newest first, as AWS lists them. */
  json_object_foreach(json_object_get(policy, "_versions"), id, v) {
    json_array_insert_new(items, 0, version_out(v, 0));
  }
  return iam_page(c, input, items, "Versions", json_object());
}

IAM_HANDLER(iam_set_default_policy_version) {
  json_t *policy = policy_arg(c, input, 1);
  json_t *v = policy ? version_arg(c, policy, input) : NULL;
  if (v)
    set_default(policy, jsonutil_string(input, "VersionId"));
  return NULL;
}

/* ---- tags ---- */

IAM_HANDLER(iam_tag_policy) {
  json_t *policy = policy_arg(c, input, 1);
  if (policy)
    iam_tags_merge(c, policy, input);
  return NULL;
}

IAM_HANDLER(iam_untag_policy) {
  json_t *policy = policy_arg(c, input, 1);
  if (policy)
    iam_tags_remove(c, policy, input);
  return NULL;
}

IAM_HANDLER(iam_list_policy_tags) {
  json_t *policy = policy_arg(c, input, 1);
  return policy ? iam_tags_page(c, policy, input) : NULL;
}

/* ---- ListEntitiesForPolicy ---- */

IAM_HANDLER(iam_list_entities_for_policy) {
  json_t *policy = policy_arg(c, input, 0);
  if (!policy || iam_check_path(c, input, "PathPrefix") < 0)
    return NULL;
  const char *arn = jsonutil_string(policy, "Arn");
  const char *filter = jsonutil_string(input, "EntityFilter");
  const char *usage = jsonutil_string(input, "PolicyUsageFilter");
  const char *prefix = jsonutil_string(input, "PathPrefix");
  static const char *members[3] = {"PolicyUsers", "PolicyGroups", "PolicyRoles"};
  static const char *filters[3] = {"User", "Group", "Role"};
  /* One list across the three kinds, so that a page can span them; split
   * into the three answer members after paging. */
  json_t *all = json_array();
  for (int k = 0; k < 3; k++) {
    if (filter && strcmp(filter, filters[k]) != 0)
      continue;
    const char *key;
    json_t *rec;
    json_object_foreach(iam_map(c, iam_kinds[k].store), key, rec) {
      const char *b =
          jsonutil_string(json_object_get(rec, "PermissionsBoundary"), "PermissionsBoundaryArn");
      int as_boundary = b && !strcmp(b, arn);
      int as_policy = 0;
      size_t i;
      json_t *a;
      json_array_foreach(json_object_get(rec, "_attached"), i, a) {
        as_policy |= !strcmp(json_string_value(a), arn);
      }
      int use = usage && !strcmp(usage, "PermissionsBoundary") ? as_boundary
                : usage                                        ? as_policy
                                                               : as_policy || as_boundary;
      if (!use || (prefix && strncmp(jsonutil_string(rec, "Path"), prefix, strlen(prefix)) != 0))
        continue;
      json_array_append_new(
          all, json_pack("{s:i, s:{s:O, s:O}}", "k", k, "v", iam_kinds[k].name_member,
                         json_object_get(rec, iam_kinds[k].name_member), iam_kinds[k].id_member,
                         json_object_get(rec, iam_kinds[k].id_member)));
    }
  }
  json_t *out = iam_page(c, input, all, "_all", json_object());
  if (!out)
    return NULL;
  for (int k = 0; k < 3; k++)
    json_object_set_new(out, members[k], json_array());
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(out, "_all"), i, e) {
    json_int_t k = json_integer_value(json_object_get(e, "k"));
    json_array_append(json_object_get(out, members[k]), json_object_get(e, "v"));
  }
  json_object_del(out, "_all");
  return out;
}
