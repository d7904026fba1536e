/*
 * sns_sign.c — message signatures: SNS signs every notification and
 * confirmation it sends (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA)
 * over a documented string of "Name\nvalue\n" pairs, with a key whose
 * certificate sits at SigningCertURL. Here the key and a self-signed
 * certificate are made per emulator with OpenSSL — on first use, so that an
 * emulator that never publishes does not pay for an RSA key generation — and
 * the certificate is served at /_aws/sns/<name>.pem, so a subscriber that
 * verifies signatures can do so against it.
 */
#include "emulator/sns/sns_int.h"

#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/error.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct sns_signer {
  pthread_mutex_t lock;
  EVP_PKEY *key;
  char *pem;
  char name[80];
};

int sns_signer_new(sns_signer **out) {
  sns_signer *s = calloc(1, sizeof(*s));
  if (!s)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  pthread_mutex_init(&s->lock, NULL);
  unsigned char rnd[16];
  char hex[33];
  /* getrandom(2): RAND_bytes here would make every emulator's start pay for
   * OpenSSL's first use (~3.5 ms), which only publishing needs. */
  if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
    memset(rnd, 0x5a, sizeof(rnd));
  codec_hex_encode(hex, rnd, sizeof(rnd));
  snprintf(s->name, sizeof(s->name), "SimpleNotificationService-%s.pem", hex);
  *out = s;
  return 0;
}

void sns_signer_free(sns_signer *s) {
  if (!s)
    return;
  EVP_PKEY_free(s->key);
  free(s->pem);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

const char *sns_signer_cert_name(const sns_signer *s) { return s->name; }

/* Makes the key and certificate once (under s->lock). */
static int ensure_key(sns_signer *s) {
  if (s->key)
    return 0;
  EVP_PKEY *key = EVP_RSA_gen(2048);
  X509 *cert = X509_new();
  BIO *bio = BIO_new(BIO_s_mem());
  int rc = -1;
  if (!key || !cert || !bio)
    goto cleanup;
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME *name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"sns.amazonaws.com",
                             -1, -1, 0);
  X509_set_issuer_name(cert, name);
  if (!X509_sign(cert, key, EVP_sha256()) || !PEM_write_bio_X509(bio, cert))
    goto cleanup;
  char *data = NULL;
  long len = BIO_get_mem_data(bio, &data);
  s->pem = malloc((size_t)len + 1);
  if (!s->pem)
    goto cleanup;
  memcpy(s->pem, data, (size_t)len);
  s->pem[len] = '\0';
  s->key = key;
  key = NULL;
  rc = 0;
cleanup:
  EVP_PKEY_free(key);
  X509_free(cert);
  BIO_free(bio);
  return rc;
}

const char *sns_signer_cert_pem(const sns_signer *cs) {
  sns_signer *s = (sns_signer *)cs;
  pthread_mutex_lock(&s->lock);
  ensure_key(s);
  const char *pem = s->pem ? s->pem : "";
  pthread_mutex_unlock(&s->lock);
  return pem;
}

void sns_sign(const sns_signer *cs, json_t *msg, int version) {
  sns_signer *s = (sns_signer *)cs;
  /* The fields SNS signs, in its order; absent ones are skipped. */
  static const char *const notification[] = {"Message",  "MessageId", "Subject", "Timestamp",
                                             "TopicArn", "Type",      NULL};
  static const char *const confirmation[] = {"Message", "MessageId", "SubscribeURL", "Timestamp",
                                             "Token",   "TopicArn",  "Type",         NULL};
  const char *type = json_string_value(json_object_get(msg, "Type"));
  if (!type)
    type = "";
  const char *const *fields = strcmp(type, "Notification") ? confirmation : notification;
  dynbuf b;
  dynbuf_init(&b, 2 * SNS_MAX_MESSAGE);
  for (size_t i = 0; fields[i]; i++) {
    const char *v = json_string_value(json_object_get(msg, fields[i]));
    if (!v)
      continue;
    dynbuf_printf(&b, "%s\n", fields[i]);
    dynbuf_puts(&b, v);
    dynbuf_puts(&b, "\n");
  }
  unsigned char sig[512];
  size_t sig_len = sizeof(sig);
  int ok = 0;
  pthread_mutex_lock(&s->lock);
  if (!dynbuf_failed(&b) && ensure_key(s) == 0) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ok =
        md &&
        EVP_DigestSignInit(md, NULL, version == 2 ? EVP_sha256() : EVP_sha1(), NULL, s->key) == 1 &&
        EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)b.data, b.len) == 1;
    EVP_MD_CTX_free(md);
  }
  pthread_mutex_unlock(&s->lock);
  dynbuf_free(&b);
  char *b64 = ok ? codec_base64_encode(sig, sig_len) : NULL;
  json_object_set_new(msg, "Signature", json_string(b64 ? b64 : ""));
  free(b64);
}
