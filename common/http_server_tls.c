/*
 * http_server_tls.c — libmicrohttpd's GnuTLS, loaded when TLS is first used
 * (dlopen), for the `airgap` executable only.
 *
 * Debian builds libmicrohttpd with HTTPS support, so linking it pulls in
 * GnuTLS and, through it, p11-kit, libunistring, libidn2, libtasn1, nettle,
 * hogweed and libffi: seven libraries, ~11,000 relocations and GnuTLS's
 * constructor, which measured (tests/bench/emulator_bench.py) about half of
 * the emulator's start time and 2.5 MiB of its idle memory. The emulator
 * never asks libmicrohttpd for TLS (no MHD_USE_TLS), so `airgap` links
 * libmicrohttpd's static archive together with these definitions of the
 * GnuTLS functions that archive calls: each one loads libgnutls.so.30 on its
 * first call and forwards to it, so a TLS daemon would still work, and none
 * of GnuTLS is loaded until then. libmicrohttpd's constructor calls
 * gnutls_global_init() at every start; that is only counted here and
 * replayed if the library is ever loaded (since GnuTLS 3.3 the call is a
 * reference count: the library initialises itself when loaded).
 *
 * airgap-runner and the tests link the shared libmicrohttpd, which brings
 * the real GnuTLS; this file is compiled only into `airgap` (see
 * cmake/lean_emulator.cmake).
 */
#include <dlfcn.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdlib.h>

#define HTTP_TLS_LIBRARY "libgnutls.so.30"

/* libmicrohttpd allocates PSK keys with gnutls_malloc for GnuTLS to free with
 * gnutls_free, which is free() unless an application changes it. */
gnutls_alloc_function gnutls_malloc = malloc;

static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
static void *tls_library;
static int tls_load_failed;
static unsigned tls_init_count; /* gnutls_global_init calls not yet replayed */

/* The real function `name`, loading GnuTLS on first use; NULL when it cannot
 * be loaded (the caller then fails as GnuTLS would on an internal error). */
static void *tls_symbol(const char *name) {
  pthread_mutex_lock(&tls_lock);
  if (!tls_library && !tls_load_failed) {
    tls_library = dlopen(HTTP_TLS_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    tls_load_failed = tls_library == NULL;
    int (*init)(void) =
        tls_library ? (int (*)(void))dlsym(tls_library, "gnutls_global_init") : NULL;
    for (; init && tls_init_count > 0; tls_init_count--)
      init();
  }
  void *fn = tls_library ? dlsym(tls_library, name) : NULL;
  pthread_mutex_unlock(&tls_lock);
  return fn;
}

#define TLS_REAL(name) ((__typeof__(&name))tls_symbol(#name))
#define TLS_FORWARD(fail, name, ...)                                                               \
  do {                                                                                             \
    __typeof__(&name) real = TLS_REAL(name);                                                       \
    return real ? real(__VA_ARGS__) : (fail);                                                      \
  } while (0)
#define TLS_FORWARD_VOID(name, ...)                                                                \
  do {                                                                                             \
    __typeof__(&name) real = TLS_REAL(name);                                                       \
    if (real)                                                                                      \
      real(__VA_ARGS__);                                                                           \
  } while (0)

int gnutls_global_init(void) {
  pthread_mutex_lock(&tls_lock);
  int loaded = tls_library != NULL;
  if (!loaded)
    tls_init_count++;
  pthread_mutex_unlock(&tls_lock);
  if (loaded)
    TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_global_init);
  return 0;
}

void gnutls_global_deinit(void) {
  pthread_mutex_lock(&tls_lock);
  int loaded = tls_library != NULL;
  if (!loaded && tls_init_count > 0)
    tls_init_count--;
  pthread_mutex_unlock(&tls_lock);
  if (loaded)
    TLS_FORWARD_VOID(gnutls_global_deinit);
}

const char *gnutls_strerror(int error) {
  TLS_FORWARD("GnuTLS (" HTTP_TLS_LIBRARY ") cannot be loaded", gnutls_strerror, error);
}

int gnutls_init(gnutls_session_t *session, unsigned int flags) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_init, session, flags);
}

void gnutls_deinit(gnutls_session_t session) { TLS_FORWARD_VOID(gnutls_deinit, session); }

int gnutls_handshake(gnutls_session_t session) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_handshake, session);
}

int gnutls_bye(gnutls_session_t session, gnutls_close_request_t how) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_bye, session, how);
}

ssize_t gnutls_record_recv(gnutls_session_t session, void *data, size_t data_size) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_record_recv, session, data, data_size);
}

ssize_t gnutls_record_send(gnutls_session_t session, const void *data, size_t data_size) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_record_send, session, data, data_size);
}

size_t gnutls_record_check_pending(gnutls_session_t session) {
  TLS_FORWARD(0, gnutls_record_check_pending, session);
}

int gnutls_record_get_direction(gnutls_session_t session) {
  TLS_FORWARD(0, gnutls_record_get_direction, session);
}

void *gnutls_session_get_ptr(gnutls_session_t session) {
  TLS_FORWARD(NULL, gnutls_session_get_ptr, session);
}

void gnutls_session_set_ptr(gnutls_session_t session, void *ptr) {
  TLS_FORWARD_VOID(gnutls_session_set_ptr, session, ptr);
}

void gnutls_transport_set_int2(gnutls_session_t session, int r, int s) {
  TLS_FORWARD_VOID(gnutls_transport_set_int2, session, r, s);
}

gnutls_cipher_algorithm_t gnutls_cipher_get(gnutls_session_t session) {
  TLS_FORWARD(GNUTLS_CIPHER_UNKNOWN, gnutls_cipher_get, session);
}

gnutls_protocol_t gnutls_protocol_get_version(gnutls_session_t session) {
  TLS_FORWARD(GNUTLS_VERSION_UNKNOWN, gnutls_protocol_get_version, session);
}

int gnutls_alpn_set_protocols(gnutls_session_t session, const gnutls_datum_t *protocols,
                              unsigned protocols_size, unsigned flags) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_alpn_set_protocols, session, protocols,
              protocols_size, flags);
}

int gnutls_priority_init(gnutls_priority_t *priority_cache, const char *priorities,
                         const char **err_pos) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_priority_init, priority_cache, priorities, err_pos);
}

void gnutls_priority_deinit(gnutls_priority_t priority_cache) {
  TLS_FORWARD_VOID(gnutls_priority_deinit, priority_cache);
}

int gnutls_priority_set(gnutls_session_t session, gnutls_priority_t priority) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_priority_set, session, priority);
}

int gnutls_credentials_set(gnutls_session_t session, gnutls_credentials_type_t type, void *cred) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_credentials_set, session, type, cred);
}

int gnutls_certificate_allocate_credentials(gnutls_certificate_credentials_t *res) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_certificate_allocate_credentials, res);
}

void gnutls_certificate_free_credentials(gnutls_certificate_credentials_t sc) {
  TLS_FORWARD_VOID(gnutls_certificate_free_credentials, sc);
}

void gnutls_certificate_server_set_request(gnutls_session_t session,
                                           gnutls_certificate_request_t req) {
  TLS_FORWARD_VOID(gnutls_certificate_server_set_request, session, req);
}

void gnutls_certificate_set_dh_params(gnutls_certificate_credentials_t res,
                                      gnutls_dh_params_t dh_params) {
  TLS_FORWARD_VOID(gnutls_certificate_set_dh_params, res, dh_params);
}

void gnutls_certificate_set_retrieve_function2(gnutls_certificate_credentials_t cred,
                                               gnutls_certificate_retrieve_function2 *func) {
  TLS_FORWARD_VOID(gnutls_certificate_set_retrieve_function2, cred, func);
}

void gnutls_certificate_set_retrieve_function3(gnutls_certificate_credentials_t cred,
                                               gnutls_certificate_retrieve_function3 *func) {
  TLS_FORWARD_VOID(gnutls_certificate_set_retrieve_function3, cred, func);
}

int gnutls_certificate_set_x509_key_mem(gnutls_certificate_credentials_t res,
                                        const gnutls_datum_t *cert, const gnutls_datum_t *key,
                                        gnutls_x509_crt_fmt_t type) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_certificate_set_x509_key_mem, res, cert, key, type);
}

int gnutls_certificate_set_x509_key_mem2(gnutls_certificate_credentials_t res,
                                         const gnutls_datum_t *cert, const gnutls_datum_t *key,
                                         gnutls_x509_crt_fmt_t type, const char *pass,
                                         unsigned int flags) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_certificate_set_x509_key_mem2, res, cert, key, type,
              pass, flags);
}

int gnutls_certificate_set_x509_trust_mem(gnutls_certificate_credentials_t res,
                                          const gnutls_datum_t *ca, gnutls_x509_crt_fmt_t type) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_certificate_set_x509_trust_mem, res, ca, type);
}

int gnutls_dh_params_init(gnutls_dh_params_t *dh_params) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_dh_params_init, dh_params);
}

void gnutls_dh_params_deinit(gnutls_dh_params_t dh_params) {
  TLS_FORWARD_VOID(gnutls_dh_params_deinit, dh_params);
}

int gnutls_dh_params_import_pkcs3(gnutls_dh_params_t params, const gnutls_datum_t *pkcs3_params,
                                  gnutls_x509_crt_fmt_t format) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_dh_params_import_pkcs3, params, pkcs3_params, format);
}

int gnutls_psk_allocate_server_credentials(gnutls_psk_server_credentials_t *sc) {
  TLS_FORWARD(GNUTLS_E_INTERNAL_ERROR, gnutls_psk_allocate_server_credentials, sc);
}

void gnutls_psk_free_server_credentials(gnutls_psk_server_credentials_t sc) {
  TLS_FORWARD_VOID(gnutls_psk_free_server_credentials, sc);
}

void gnutls_psk_set_server_credentials_function(gnutls_psk_server_credentials_t cred,
                                                gnutls_psk_server_credentials_function *func) {
  TLS_FORWARD_VOID(gnutls_psk_set_server_credentials_function, cred, func);
}
