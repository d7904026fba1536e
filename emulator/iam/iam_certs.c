/*
 * iam_certs.c — public-key material IAM holds: server certificates
 * (UploadServerCertificate, Get, List, Update, Delete and tags), users' signing
 * certificates (Upload, List, Update, Delete) and users' SSH public keys
 * (Upload, Get in SSH or PEM encoding, List, Update, Delete).
 *
 * Everything is parsed with OpenSSL, as AWS checks it: certificates must be
 * PEM X.509 (MalformedCertificate otherwise), a server certificate's private
 * key must match it (KeyPairMismatch) and its Expiration is the certificate's
 * notAfter; SSH keys are RSA of at least 2,048 bits, in OpenSSH's one-line form
 * or PEM, and their Fingerprint is the MD5 of the key's OpenSSH wire form, as
 * AWS computes it. Bodies are kept byte for byte.
 */
#include "emulator/iam/iam_int.h"

#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/jsonutil.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CERT_BODY_MAX 16384
#define CERT_CHAIN_MAX 2097152
#define SERVER_CERTS_MAX 20 /* ServerCertificatesQuota */
#define SIGNING_CERTS_MAX 2 /* per user */
#define SSH_KEYS_MAX 5      /* per user */
#define SSH_MIN_BITS 2048

/* A required string member of at most max bytes; ValidationError otherwise. */
static const char *body_member(iam_ctx *c, json_t *input, const char *member, const char *label,
                               size_t max, int required) {
  const char *v = jsonutil_string(input, member);
  size_t n = v ? strlen(v) : 0;
  if ((!v && required) || (v && (n < 1 || n > max))) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value at '%s' failed to satisfy constraint: Member "
             "must have length %s %zu",
             label, n > max ? "less than or equal to" : "greater than or equal to",
             n > max ? max : (size_t)1);
    return NULL;
  }
  return v;
}

/* Every certificate in pem, in order (an empty stack when there is none). */
static STACK_OF(X509) * read_certs(const char *pem) {
  STACK_OF(X509) *certs = sk_X509_new_null();
  BIO *bio = BIO_new_mem_buf(pem, -1);
  X509 *x;
  while (certs && bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
    sk_X509_push(certs, x);
  BIO_free(bio);
  return certs;
}

/* The single certificate of body; NULL after MalformedCertificate. */
static X509 *read_cert(iam_ctx *c, const char *body) {
  STACK_OF(X509) *certs = read_certs(body);
  X509 *x = NULL;
  if (certs && sk_X509_num(certs) >= 1)
    x = sk_X509_shift(certs);
  sk_X509_pop_free(certs, X509_free);
  if (!x)
    iam_fail(c, 400, "MalformedCertificate",
             "Unable to parse certificate. Please ensure the certificate is in PEM format.");
  return x;
}

static double asn1_seconds(const ASN1_TIME *t) {
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  if (ASN1_TIME_to_tm(t, &tm) != 1)
    return 0;
  return (double)timegm(&tm);
}

/* ---- server certificates ---- */

static json_t *server_cert_of(iam_ctx *c, json_t *input, const char *member) {
  const char *name = jsonutil_string(input, member);
  json_t *rec = name ? iam_get(iam_map(c, "servercerts"), name) : NULL;
  if (!rec)
    iam_no_entity(c, "The Server Certificate with name %.128s cannot be found.", name ? name : "");
  return rec;
}

static json_t *server_meta(const json_t *rec) {
  json_t *m = iam_public(rec);
  json_object_del(m, "CertificateBody");
  json_object_del(m, "CertificateChain");
  json_object_del(m, "Tags");
  return m;
}

IAM_HANDLER(iam_upload_server_certificate) {
  if (iam_check_name(c, input, "ServerCertificateName", 128, 1) < 0 ||
      iam_check_path(c, input, "Path") < 0)
    return NULL;
  const char *body = body_member(c, input, "CertificateBody", "certificateBody", CERT_BODY_MAX, 1);
  const char *key =
      body ? body_member(c, input, "PrivateKey", "privateKey", CERT_BODY_MAX, 1) : NULL;
  const char *chain =
      key ? body_member(c, input, "CertificateChain", "certificateChain", CERT_CHAIN_MAX, 0) : NULL;
  if (!key || c->failed)
    return NULL;
  const char *name = jsonutil_string(input, "ServerCertificateName");
  json_t *certs = iam_map(c, "servercerts");
  if (iam_get(certs, name))
    return iam_fail(c, 409, "EntityAlreadyExists",
                    "The Server Certificate with name %s already exists.", name);
  if (json_object_size(certs) >= SERVER_CERTS_MAX)
    return iam_fail(c, 409, "LimitExceeded",
                    "Cannot exceed quota for ServerCertificatesPerAccount: %d", SERVER_CERTS_MAX);

  json_t *out = NULL;
  X509 *cert = read_cert(c, body);
  EVP_PKEY *pkey = NULL;
  STACK_OF(X509) *chain_certs = NULL;
  if (!cert)
    goto cleanup;
  BIO *bio = BIO_new_mem_buf(key, -1);
  pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
  BIO_free(bio);
  if (!pkey) {
    iam_fail(c, 400, "MalformedCertificate",
             "Unable to parse private key. Please ensure the private key is in PEM format.");
    goto cleanup;
  }
  if (X509_check_private_key(cert, pkey) != 1) {
    iam_fail(c, 400, "KeyPairMismatch", "The private key did not match the public key provided.");
    goto cleanup;
  }
  if (chain) {
    chain_certs = read_certs(chain);
    if (!chain_certs || sk_X509_num(chain_certs) == 0) {
      iam_fail(c, 400, "MalformedCertificate",
               "Unable to parse certificate chain. Please ensure the chain is in PEM format.");
      goto cleanup;
    }
  }
  const char *path = jsonutil_string(input, "Path");
  if (!path)
    path = "/";
  char id[32];
  iam_new_id(id, "ASCA");
  char *arn = iam_arn(c, "server-certificate", path, name);
  json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:o, s:f, s:s}", "Path", path,
                          "ServerCertificateName", name, "ServerCertificateId", id, "Arn",
                          arn ? arn : "", "UploadDate", json_real(iam_now()), "Expiration",
                          asn1_seconds(X509_get0_notAfter(cert)), "CertificateBody", body);
  free(arn);
  if (chain)
    json_object_set_new(rec, "CertificateChain", json_string(chain));
  if (json_object_get(input, "Tags") && iam_tags_merge(c, rec, input) < 0) {
    json_decref(rec);
    goto cleanup;
  }
  iam_put(certs, name, rec);
  out = json_pack("{s:o}", "ServerCertificateMetadata", server_meta(rec));
  if (json_object_get(rec, "Tags"))
    json_object_set(out, "Tags", json_object_get(rec, "Tags"));
cleanup:
  X509_free(cert);
  EVP_PKEY_free(pkey);
  sk_X509_pop_free(chain_certs, X509_free);
  return out;
}

IAM_HANDLER(iam_get_server_certificate) {
  json_t *rec = server_cert_of(c, input, "ServerCertificateName");
  if (!rec)
    return NULL;
  json_t *cert =
      json_pack("{s:o, s:O, s:O}", "ServerCertificateMetadata", server_meta(rec), "CertificateBody",
                json_object_get(rec, "CertificateBody"), "Tags",
                json_object_get(rec, "Tags") ? json_object_get(rec, "Tags") : json_array());
  if (json_object_get(rec, "CertificateChain"))
    json_object_set(cert, "CertificateChain", json_object_get(rec, "CertificateChain"));
  return json_pack("{s:o}", "ServerCertificate", cert);
}

IAM_HANDLER(iam_list_server_certificates) {
  const char *prefix = jsonutil_string(input, "PathPrefix");
  json_t *items = json_array();
  const char *key;
  json_t *rec;
  json_object_foreach(iam_map(c, "servercerts"), key, rec) {
    if (!prefix || !strncmp(jsonutil_string(rec, "Path"), prefix, strlen(prefix)))
      json_array_append_new(items, server_meta(rec));
  }
  return iam_page(c, input, items, "ServerCertificateMetadataList", json_object());
}

IAM_HANDLER(iam_update_server_certificate) {
  json_t *rec = server_cert_of(c, input, "ServerCertificateName");
  if (!rec || iam_check_name(c, input, "NewServerCertificateName", 128, 0) < 0 ||
      iam_check_path(c, input, "NewPath") < 0)
    return NULL;
  const char *name = jsonutil_string(rec, "ServerCertificateName");
  const char *new_name = jsonutil_string(input, "NewServerCertificateName");
  const char *new_path = jsonutil_string(input, "NewPath");
  json_t *certs = iam_map(c, "servercerts");
  if (new_name && strcasecmp(new_name, name) != 0 && iam_get(certs, new_name))
    return iam_fail(c, 409, "EntityAlreadyExists",
                    "The Server Certificate with name %s already exists.", new_name);
  json_incref(rec);
  iam_del(certs, name);
  if (new_name)
    json_object_set_new(rec, "ServerCertificateName", json_string(new_name));
  if (new_path)
    json_object_set_new(rec, "Path", json_string(new_path));
  char *arn = iam_arn(c, "server-certificate", jsonutil_string(rec, "Path"),
                      jsonutil_string(rec, "ServerCertificateName"));
  if (arn)
    json_object_set_new(rec, "Arn", json_string(arn));
  free(arn);
  iam_put(certs, jsonutil_string(rec, "ServerCertificateName"), rec);
  return NULL;
}

IAM_HANDLER(iam_delete_server_certificate) {
  json_t *rec = server_cert_of(c, input, "ServerCertificateName");
  if (rec)
    iam_del(iam_map(c, "servercerts"), jsonutil_string(rec, "ServerCertificateName"));
  return NULL;
}

IAM_HANDLER(iam_tag_server_certificate) {
  json_t *rec = server_cert_of(c, input, "ServerCertificateName");
  if (rec)
    iam_tags_merge(c, rec, input);
  return NULL;
}

IAM_HANDLER(iam_untag_server_certificate) {
  json_t *rec = server_cert_of(c, input, "ServerCertificateName");
  if (rec)
    iam_tags_remove(c, rec, input);
  return NULL;
}

IAM_HANDLER(iam_list_server_certificate_tags) {
  json_t *rec = server_cert_of(c, input, "ServerCertificateName");
  return rec ? iam_tags_page(c, rec, input) : NULL;
}

/* ---- what users own: signing certificates and SSH keys share the shape ---- */

/* UserName for answers: the user's, or the account for its root. */
static const char *owner_name(iam_ctx *c, const json_t *user) {
  const char *name = jsonutil_string(user, "UserName");
  return name ? name : c->account;
}

static json_t *owned_map(json_t *user, const char *member) {
  json_t *map = json_object_get(user, member);
  if (!map) {
    map = json_object();
    json_object_set_new(user, member, map);
  }
  return map;
}

static json_t *signing_out(iam_ctx *c, const json_t *user, const json_t *rec) {
  json_t *out = iam_public(rec);
  json_object_set_new(out, "UserName", json_string(owner_name(c, user)));
  return out;
}

IAM_HANDLER(iam_upload_signing_certificate) {
  json_t *user = iam_credential_owner(c, input);
  const char *body =
      user ? body_member(c, input, "CertificateBody", "certificateBody", CERT_BODY_MAX, 1) : NULL;
  if (!body)
    return NULL;
  X509 *cert = read_cert(c, body);
  if (!cert)
    return NULL;
  unsigned char digest[32];
  unsigned digest_len = 0;
  X509_digest(cert, EVP_sha256(), digest, &digest_len);
  X509_free(cert);
  char fingerprint[65];
  codec_hex_encode(fingerprint, digest, digest_len);
  /* The same certificate may belong to one user of the account only. */
  const char *key;
  json_t *other;
  json_object_foreach(iam_map(c, "users"), key, other) {
    const char *id;
    json_t *rec;
    json_object_foreach(json_object_get(other, "_signing"), id, rec) {
      if (!strcmp(jsonutil_string(rec, "_sha256"), fingerprint))
        return iam_fail(c, 409, "DuplicateCertificate",
                        "The request was rejected because the same certificate is associated "
                        "with an IAM user in the account.");
    }
  }
  json_t *mine = owned_map(user, "_signing");
  if (json_object_size(mine) >= SIGNING_CERTS_MAX)
    return iam_fail(c, 409, "LimitExceeded",
                    "Cannot exceed quota for SigningCertificatesPerUser: %d", SIGNING_CERTS_MAX);
  char id[33];
  iam_random_chars(id, 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
  json_t *rec =
      json_pack("{s:s, s:s, s:s, s:o, s:s}", "CertificateId", id, "CertificateBody", body, "Status",
                "Active", "UploadDate", json_real(iam_now()), "_sha256", fingerprint);
  json_object_set_new(mine, id, rec);
  return json_pack("{s:o}", "Certificate", signing_out(c, user, rec));
}

static json_t *signing_of(iam_ctx *c, json_t *user, json_t *input) {
  const char *id = jsonutil_string(input, "CertificateId");
  json_t *rec = id ? json_object_get(json_object_get(user, "_signing"), id) : NULL;
  if (!rec)
    iam_no_entity(c, "The Certificate with id %.128s cannot be found.", id ? id : "");
  return rec;
}

IAM_HANDLER(iam_list_signing_certificates) {
  json_t *user = iam_credential_owner(c, input);
  if (!user)
    return NULL;
  json_t *items = json_array();
  const char *id;
  json_t *rec;
  json_object_foreach(json_object_get(user, "_signing"), id, rec) {
    json_array_append_new(items, signing_out(c, user, rec));
  }
  return iam_page(c, input, items, "Certificates", json_object());
}

IAM_HANDLER(iam_update_signing_certificate) {
  json_t *user = iam_credential_owner(c, input);
  json_t *rec = user ? signing_of(c, user, input) : NULL;
  if (rec && iam_check_status(c, input) == 0)
    json_object_set(rec, "Status", json_object_get(input, "Status"));
  return NULL;
}

IAM_HANDLER(iam_delete_signing_certificate) {
  json_t *user = iam_credential_owner(c, input);
  json_t *rec = user ? signing_of(c, user, input) : NULL;
  if (rec)
    json_object_del(json_object_get(user, "_signing"), jsonutil_string(input, "CertificateId"));
  return NULL;
}

/* ---- SSH public keys ---- */

static void put_string(dynbuf *b, const void *data, size_t n) {
  unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
  dynbuf_append(b, (const char *)len, 4);
  dynbuf_append(b, data, n);
}

/* An mpint of OpenSSH's wire form: big-endian, a leading zero when the top bit is set. */
static void put_mpint(dynbuf *b, const BIGNUM *bn) {
  unsigned char buf[2048];
  int n = BN_num_bytes(bn);
  if (n > (int)sizeof(buf) - 1)
    n = 0;
  buf[0] = 0;
  BN_bn2bin(bn, buf + 1);
  int lead = n > 0 && (buf[1] & 0x80);
  put_string(b, lead ? buf : buf + 1, (size_t)n + (size_t)lead);
}

static int read_u32(const unsigned char **p, const unsigned char *end, uint32_t *v) {
  if (end - *p < 4)
    return -1;
  *v = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 | (uint32_t)(*p)[2] << 8 | (*p)[3];
  *p += 4;
  return 0;
}

/* n and e of an OpenSSH "ssh-rsa" wire blob; -1 when it is not one. */
static int parse_ssh_blob(const unsigned char *blob, size_t len, BIGNUM **n, BIGNUM **e) {
  const unsigned char *p = blob, *end = blob + len;
  uint32_t l;
  if (read_u32(&p, end, &l) < 0 || l != 7 || (size_t)(end - p) < 7 || memcmp(p, "ssh-rsa", 7))
    return -1;
  p += 7;
  if (read_u32(&p, end, &l) < 0 || l > (size_t)(end - p))
    return -1;
  *e = BN_bin2bn(p, (int)l, NULL);
  p += l;
  *n = read_u32(&p, end, &l) == 0 && l == (size_t)(end - p) ? BN_bin2bn(p, (int)l, NULL) : NULL;
  if (*e && *n)
    return 0;
  BN_free(*e);
  BN_free(*n);
  *e = *n = NULL;
  return -1;
}

/* An RSA public key of n and e (owned), or NULL. */
static EVP_PKEY *rsa_from(const BIGNUM *n, const BIGNUM *e) {
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  EVP_PKEY *pkey = NULL;
  if (bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
      (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) == 1)
    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  EVP_PKEY_CTX_free(ctx);
  return pkey;
}

typedef struct ssh_key {
  BIGNUM *n, *e;
} ssh_key;

static void ssh_key_free(ssh_key *key) {
  BN_free(key->n);
  BN_free(key->e);
  key->n = key->e = NULL;
}

/* Parses body (OpenSSH's one line, or PEM) into key. -1 when it is malformed,
 * -2 when it is an RSA key shorter than SSH_MIN_BITS, -3 when it is in neither
 * encoding; key holds nothing after a failure. */
static int ssh_key_parse(ssh_key *key, const char *body) {
  key->n = key->e = NULL;
  if (!strncmp(body, "ssh-rsa ", 8)) {
    const char *b64 = body + 8;
    size_t len = strcspn(b64, " \r\n");
    unsigned char *blob = NULL;
    size_t blob_len = 0;
    if (codec_base64_decode(&blob, &blob_len, b64, len) < 0)
      return -1;
    int rc = parse_ssh_blob(blob, blob_len, &key->n, &key->e);
    free(blob);
    if (rc < 0)
      return -1;
  } else if (!strncmp(body, "-----BEGIN ", 11)) {
    BIO *bio = BIO_new_mem_buf(body, -1);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!pkey)
      return -1;
    int ok = EVP_PKEY_is_a(pkey, "RSA") &&
             EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &key->n) &&
             EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &key->e);
    EVP_PKEY_free(pkey);
    if (!ok) {
      ssh_key_free(key);
      return -1;
    }
  } else {
    return -3;
  }
  if (BN_num_bits(key->n) < SSH_MIN_BITS) {
    ssh_key_free(key);
    return -2;
  }
  return 0;
}

/* The OpenSSH wire form of key (owned, *len bytes). */
static char *ssh_blob(const ssh_key *key, size_t *len) {
  dynbuf b;
  dynbuf_init(&b, 8192);
  put_string(&b, "ssh-rsa", 7);
  put_mpint(&b, key->e);
  put_mpint(&b, key->n);
  return dynbuf_take(&b, len);
}

static json_t *ssh_of(iam_ctx *c, json_t *user, json_t *input) {
  const char *id = jsonutil_string(input, "SSHPublicKeyId");
  json_t *rec = id ? json_object_get(json_object_get(user, "_ssh"), id) : NULL;
  if (!rec)
    iam_no_entity(c, "The Public Key with id %.128s cannot be found.", id ? id : "");
  return rec;
}

static json_t *ssh_out(const json_t *user, const json_t *rec, int full) {
  json_t *out =
      json_pack("{s:s, s:O, s:O, s:O}", "UserName", jsonutil_string(user, "UserName"),
                "SSHPublicKeyId", json_object_get(rec, "SSHPublicKeyId"), "Status",
                json_object_get(rec, "Status"), "UploadDate", json_object_get(rec, "UploadDate"));
  if (full) {
    json_object_set(out, "Fingerprint", json_object_get(rec, "Fingerprint"));
    json_object_set(out, "SSHPublicKeyBody", json_object_get(rec, "SSHPublicKeyBody"));
  }
  return out;
}

IAM_HANDLER(iam_upload_ssh_public_key) {
  json_t *user = iam_principal(c, IAM_USER, input);
  const char *body =
      user ? body_member(c, input, "SSHPublicKeyBody", "sSHPublicKeyBody", CERT_BODY_MAX, 1) : NULL;
  if (!body)
    return NULL;
  ssh_key key;
  int rc = ssh_key_parse(&key, body);
  if (rc == -3)
    return iam_fail(c, 400, "UnrecognizedPublicKeyEncoding",
                    "The request was rejected because the public key encoding format is "
                    "unsupported or unrecognized.");
  if (rc < 0)
    return iam_fail(c, 400, "InvalidPublicKey",
                    rc == -2 ? "The request was rejected because the public key is shorter than "
                               "2048 bits."
                             : "The request was rejected because the public key is malformed or "
                               "otherwise invalid.");
  size_t blob_len = 0;
  char *blob = ssh_blob(&key, &blob_len);
  ssh_key_free(&key);
  unsigned char md5[16];
  unsigned md_len = 0;
  EVP_Digest(blob ? blob : "", blob_len, md5, &md_len, EVP_md5(), NULL);
  free(blob);
  char fingerprint[48];
  for (int i = 0; i < 16; i++)
    snprintf(fingerprint + i * 3, 4, i < 15 ? "%02x:" : "%02x", md5[i]);
  json_t *mine = owned_map(user, "_ssh");
  const char *id;
  json_t *rec;
  json_object_foreach(mine, id, rec) {
    if (!strcmp(jsonutil_string(rec, "Fingerprint"), fingerprint))
      return iam_fail(c, 400, "DuplicateSSHPublicKey",
                      "The request was rejected because the SSH public key is already associated "
                      "with the specified IAM user.");
  }
  if (json_object_size(mine) >= SSH_KEYS_MAX)
    return iam_fail(c, 409, "LimitExceeded", "Cannot exceed quota for PublicKeysPerUser: %d",
                    SSH_KEYS_MAX);
  char new_id[32];
  iam_new_id(new_id, "APKA");
  rec = json_pack("{s:s, s:s, s:s, s:s, s:o}", "SSHPublicKeyId", new_id, "Fingerprint", fingerprint,
                  "SSHPublicKeyBody", body, "Status", "Active", "UploadDate", json_real(iam_now()));
  json_object_set_new(mine, new_id, rec);
  return json_pack("{s:o}", "SSHPublicKey", ssh_out(user, rec, 1));
}

/* body in the other encoding: PEM from OpenSSH's line, or the line from PEM (owned). */
static char *ssh_convert(const char *body, int to_pem) {
  ssh_key key;
  if (ssh_key_parse(&key, body) < 0)
    return NULL;
  char *out = NULL;
  if (to_pem) {
    EVP_PKEY *pkey = rsa_from(key.n, key.e);
    BIO *bio = BIO_new(BIO_s_mem());
    if (pkey && bio && PEM_write_bio_PUBKEY(bio, pkey) == 1) {
      char *data = NULL;
      long len = BIO_get_mem_data(bio, &data);
      /* The BIO's data has no NUL: copy it with one. */
      out = len >= 0 ? malloc((size_t)len + 1) : NULL;
      if (out) {
        memcpy(out, data, (size_t)len);
        out[len] = '\0';
      }
    }
    BIO_free(bio);
    EVP_PKEY_free(pkey);
  } else {
    size_t len = 0;
    char *blob = ssh_blob(&key, &len);
    char *b64 = blob ? codec_base64_encode(blob, len) : NULL;
    if (b64 && asprintf(&out, "ssh-rsa %s", b64) < 0)
      out = NULL;
    free(b64);
    free(blob);
  }
  ssh_key_free(&key);
  return out;
}

IAM_HANDLER(iam_get_ssh_public_key) {
  json_t *user = iam_principal(c, IAM_USER, input);
  json_t *rec = user ? ssh_of(c, user, input) : NULL;
  if (!rec)
    return NULL;
  const char *encoding = jsonutil_string(input, "Encoding");
  if (!encoding || (strcmp(encoding, "SSH") != 0 && strcmp(encoding, "PEM") != 0))
    return iam_fail(c, 400, "ValidationError",
                    "1 validation error detected: Value '%.32s' at 'encoding' failed to satisfy "
                    "constraint: Member must satisfy enum value set: [SSH, PEM]",
                    encoding ? encoding : "null");
  json_t *out = ssh_out(user, rec, 1);
  const char *body = jsonutil_string(rec, "SSHPublicKeyBody");
  int is_pem = !strncmp(body, "-----BEGIN ", 11);
  int want_pem = !strcmp(encoding, "PEM");
  if (is_pem != want_pem) {
    char *converted = ssh_convert(body, want_pem);
    if (!converted) {
      json_decref(out);
      return iam_fail(c, 400, "UnrecognizedPublicKeyEncoding",
                      "The request was rejected because the public key encoding format is "
                      "unsupported or unrecognized.");
    }
    json_object_set_new(out, "SSHPublicKeyBody", json_string(converted));
    free(converted);
  }
  return json_pack("{s:o}", "SSHPublicKey", out);
}

IAM_HANDLER(iam_list_ssh_public_keys) {
  json_t *user = iam_credential_owner(c, input);
  if (!user)
    return NULL;
  json_t *items = json_array();
  const char *id;
  json_t *rec;
  json_object_foreach(json_object_get(user, "_ssh"), id, rec) {
    json_array_append_new(items, ssh_out(user, rec, 0));
  }
  return iam_page(c, input, items, "SSHPublicKeys", json_object());
}

IAM_HANDLER(iam_update_ssh_public_key) {
  json_t *user = iam_principal(c, IAM_USER, input);
  json_t *rec = user ? ssh_of(c, user, input) : NULL;
  if (rec && iam_check_status(c, input) == 0)
    json_object_set(rec, "Status", json_object_get(input, "Status"));
  return NULL;
}

IAM_HANDLER(iam_delete_ssh_public_key) {
  json_t *user = iam_principal(c, IAM_USER, input);
  json_t *rec = user ? ssh_of(c, user, input) : NULL;
  if (rec)
    json_object_del(json_object_get(user, "_ssh"), jsonutil_string(input, "SSHPublicKeyId"));
  return NULL;
}
