/*
 * test_http_server_tls.c — common/http_server_tls.c: libmicrohttpd's GnuTLS
 * functions as linked into `airgap`. Until a TLS function is called nothing
 * of GnuTLS is loaded (libmicrohttpd's gnutls_global_init at start is only
 * counted); the first call loads libgnutls.so.30 and forwards to it.
 */
#include <gnutls/gnutls.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* 1 when libgnutls is mapped into this process. */
static int gnutls_loaded(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[512];
  int found = 0;
  while (maps && fgets(line, sizeof(line), maps))
    found |= strstr(line, "libgnutls.so") != NULL;
  if (maps)
    fclose(maps);
  return found;
}

static void test_http_server_tls_loads_on_first_use(void **state) {
  (void)state;
  assert_false(gnutls_loaded());
  /* What libmicrohttpd's constructor does at every start. */
  assert_int_equal(gnutls_global_init(), 0);
  assert_false(gnutls_loaded());
  /* A real TLS call loads GnuTLS and gets its answers. */
  const char *msg = gnutls_strerror(GNUTLS_E_INTERNAL_ERROR);
  assert_true(gnutls_loaded());
  assert_non_null(strstr(msg, "internal error"));
  gnutls_certificate_credentials_t cred = NULL;
  assert_int_equal(gnutls_certificate_allocate_credentials(&cred), 0);
  assert_non_null(cred);
  gnutls_certificate_free_credentials(cred);
  gnutls_global_deinit();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_server_tls_loads_on_first_use),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
