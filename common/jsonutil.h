/*
 * jsonutil.h — small getters over jansson for the shapes airgap reads most.
 */
#ifndef AIRGAP_COMMON_JSONUTIL_H
#define AIRGAP_COMMON_JSONUTIL_H

#include <jansson.h>

/* The string member `key` of `obj`; NULL when obj is not an object, the member
 * is missing or it is not a string. Borrowed: lives as long as the member. */
const char *jsonutil_string(const json_t *obj, const char *key);

#endif
