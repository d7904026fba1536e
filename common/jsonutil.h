/*
 * jsonutil.h — small getters over jansson for the shapes airgap reads most.
 */
#ifndef AIRGAP_COMMON_JSONUTIL_H
#define AIRGAP_COMMON_JSONUTIL_H

#include <jansson.h>

/* The string member `key` of `obj`; NULL when obj is not an object, the member
 * is missing or it is not a string. Borrowed: lives as long as the member. */
const char *jsonutil_string(const json_t *obj, const char *key);

/* The keys of object obj in byte order (strcmp), for listings that page by
 * key: a malloc'd array of *count borrowed keys (live as long as obj's
 * members; free the array, not the keys). NULL with *count 0 when obj has no
 * members or is not an object; NULL with *count 0 also when out of memory. */
const char **jsonutil_keys_sorted(const json_t *obj, size_t *count);

#endif
