/*
 * ssm_public.c — the public parameters AWS publishes under /aws/service/…
 * that scripts read most: the latest AMI ids of Amazon Linux, Ubuntu,
 * Windows and the ECS/EKS-optimized images, and a few global-infrastructure
 * entries. Values are fake but stable: an AMI id is derived from a SHA-256 of
 * the Region and the name, so the same name in the same Region always gives
 * the same id and different Regions give different ones, as in AWS.
 */
#include "common/codec.h"
#include "emulator/ssm/ssm_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* The date these fake values "changed" (2024-01-01). */
#define SSM_PUBLIC_DATE 1704067200.0

static const char *const amis[] = {
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-x86_64",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-arm64-gp2",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-x86_64-gp2",
    "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
    "/aws/service/canonical/ubuntu/server/22.04/stable/current/arm64/hvm/ebs-gp2/ami-id",
    "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
    "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id",
    "/aws/service/debian/release/12/latest/amd64",
    "/aws/service/debian/release/12/latest/arm64",
    "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base",
    "/aws/service/ami-windows-latest/Windows_Server-2019-English-Full-Base",
    "/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id",
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
    "/aws/service/eks/optimized-ami/1.29/amazon-linux-2/recommended/image_id",
    "/aws/service/eks/optimized-ami/1.30/amazon-linux-2023/x86_64/standard/recommended/image_id",
    "/aws/service/bottlerocket/aws-k8s-1.30/x86_64/latest/image_id",
};

static const struct {
  const char *name, *value;
} others[] = {
    {"/aws/service/global-infrastructure/regions/us-east-1/longName", "US East (N. Virginia)"},
    {"/aws/service/global-infrastructure/regions/eu-west-1/longName", "Europe (Ireland)"},
    {"/aws/service/global-infrastructure/services/ssm/longName", "AWS Systems Manager"},
};

static json_t *record(const char *name, const char *region, const char *value,
                      const char *data_type) {
  char arn[512];
  /* Public parameters belong to no account: the ARN has an empty one. */
  snprintf(arn, sizeof(arn), "arn:aws:ssm:%s::parameter%s", region, name);
  return json_pack("{s:s, s:s, s:s, s:[], s:[{s:i, s:s, s:s, s:s, s:s, s:f, s:s, s:[]}]}", "Name",
                   name, "ARN", arn, "Region", region, "Tags", "Versions", "Version", 1, "Type",
                   "String", "Value", value, "DataType", data_type, "Tier", "Standard",
                   "LastModifiedDate", SSM_PUBLIC_DATE, "LastModifiedUser", "arn:aws:iam::aws:root",
                   "Labels");
}

static json_t *ami_record(const char *name, const char *region) {
  unsigned char digest[32];
  unsigned len = 0;
  char hex[65], value[32];
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx)
    return NULL;
  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  EVP_DigestUpdate(ctx, region, strlen(region) + 1);
  EVP_DigestUpdate(ctx, name, strlen(name));
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  codec_hex_encode(hex, digest, sizeof(digest));
  snprintf(value, sizeof(value), "ami-%.17s", hex);
  return record(name, region, value, "aws:ec2:image");
}

json_t *ssm_public_find(const char *name, const char *region) {
  for (size_t i = 0; i < sizeof(amis) / sizeof(amis[0]); i++)
    if (strcmp(amis[i], name) == 0)
      return ami_record(name, region);
  for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
    if (strcmp(others[i].name, name) == 0)
      return record(name, region, others[i].value, "text");
  return NULL;
}

json_t *ssm_public_all(const char *region) {
  json_t *all = json_array();
  for (size_t i = 0; i < sizeof(amis) / sizeof(amis[0]); i++)
    json_array_append_new(all, ami_record(amis[i], region));
  for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
    json_array_append_new(all, record(others[i].name, region, others[i].value, "text"));
  return all;
}
