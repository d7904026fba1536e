/* http_client.c — placeholder: the libcurl client lands with the foundation work. */
#include "common/http_client.h"

#include <curl/curl.h>

int http_client_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1; }
