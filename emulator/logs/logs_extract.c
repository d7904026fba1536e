/*
 * logs_extract.c — the `parse` command of Logs Insights: fields extracted
 * from a field's text by a glob ("user=* action=*" as user, action: each '*'
 * takes the text up to the next literal part, the last one to the end) or by
 * a regular expression with named groups (/user=(?<user>\S+)/). POSIX
 * extended expressions have no named groups, so the names are taken out and
 * remembered with their group numbers; "(?:" becomes a plain group. At most
 * EXTRACT_MAX_FIELDS fields.
 */
#include "emulator/logs/logs_int.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXTRACT_MAX_FIELDS 32
#define EXTRACT_MAX_GROUPS 64

struct logs_extract {
  int regex;
  char *lits[EXTRACT_MAX_FIELDS + 1]; /* glob: the literal parts around the '*'s */
  size_t nlits;
  char *names[EXTRACT_MAX_FIELDS];
  int group[EXTRACT_MAX_FIELDS]; /* regex: each name's group number */
  size_t nnames;
  regex_t re;
};

void logs_extract_free(logs_extract *x) {
  if (!x)
    return;
  for (size_t i = 0; i < x->nlits; i++)
    free(x->lits[i]);
  for (size_t i = 0; i < x->nnames; i++)
    free(x->names[i]);
  if (x->regex)
    regfree(&x->re);
  free(x);
}

static int compile_glob(logs_extract *x, const char *pattern, char *const *names, size_t n,
                        char *err, size_t errlen) {
  const char *p = pattern;
  for (;;) {
    const char *star = strchr(p, '*');
    size_t len = star ? (size_t)(star - p) : strlen(p);
    if (x->nlits > EXTRACT_MAX_FIELDS) {
      snprintf(err, errlen, "parse: at most %d wildcards", EXTRACT_MAX_FIELDS);
      return -1;
    }
    if (!(x->lits[x->nlits++] = strndup(p, len))) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    if (!star)
      break;
    p = star + 1;
  }
  if (x->nlits - 1 != n || n == 0) {
    snprintf(err, errlen, "parse: the pattern has %zu wildcards but %zu names follow 'as'",
             x->nlits - 1, n);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    if (!(x->names[x->nnames++] = strdup(names[i]))) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
  return 0;
}

static int compile_regex(logs_extract *x, const char *pattern, char *err, size_t errlen) {
  size_t len = strlen(pattern);
  char *out = malloc(len + 1);
  size_t o = 0;
  int groups = 0;
  if (!out) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < len; i++) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < len) {
      out[o++] = c;
      out[o++] = pattern[++i];
      continue;
    }
    if (c == '[') { /* a bracket expression: copied whole, ']' first is literal */
      size_t j = i + 1;
      if (j < len && pattern[j] == '^')
        j++;
      if (j < len && pattern[j] == ']')
        j++;
      while (j < len && pattern[j] != ']')
        j++;
      size_t end = j < len ? j : len - 1;
      memcpy(out + o, pattern + i, end - i + 1);
      o += end - i + 1;
      i = end;
      continue;
    }
    out[o++] = c;
    if (c != '(')
      continue;
    if (++groups > EXTRACT_MAX_GROUPS)
      break;
    if (pattern[i + 1] == '?' && pattern[i + 2] == ':') {
      i += 2;
    } else if (pattern[i + 1] == '?' && pattern[i + 2] == '<') {
      const char *name = pattern + i + 3, *close = strchr(name, '>');
      if (!close || close == name || x->nnames >= EXTRACT_MAX_FIELDS) {
        free(out);
        snprintf(err, errlen, "parse: invalid named group at position %zu", i + 1);
        return -1;
      }
      x->group[x->nnames] = groups;
      if (!(x->names[x->nnames++] = strndup(name, (size_t)(close - name)))) {
        free(out);
        snprintf(err, errlen, "out of memory");
        return -1;
      }
      i = (size_t)(close - pattern);
    }
  }
  out[o] = '\0';
  int rc = groups > EXTRACT_MAX_GROUPS || x->nnames == 0 ? -1 : regcomp(&x->re, out, REG_EXTENDED);
  free(out);
  if (rc != 0) {
    snprintf(err, errlen,
             groups > EXTRACT_MAX_GROUPS
                 ? "parse: too many groups"
                 : (x->nnames == 0 ? "parse: the regular expression names no field (?<name>…)"
                                   : "parse: invalid regular expression"));
    return -1;
  }
  x->regex = 1;
  return 0;
}

int logs_extract_compile(logs_extract **out, const char *pattern, int regex, char *const *names,
                         size_t n, char *err, size_t errlen) {
  logs_extract *x = calloc(1, sizeof(*x));
  if (!x) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  int rc = regex ? compile_regex(x, pattern, err, errlen)
                 : compile_glob(x, pattern, names, n, err, errlen);
  if (rc < 0) {
    logs_extract_free(x);
    return -1;
  }
  *out = x;
  return 0;
}

void logs_extract_apply(const logs_extract *x, const char *text, json_t *row) {
  if (x->regex) {
    regmatch_t m[EXTRACT_MAX_GROUPS + 1];
    if (regexec(&x->re, text, EXTRACT_MAX_GROUPS + 1, m, 0) != 0)
      return;
    for (size_t i = 0; i < x->nnames; i++) {
      regmatch_t g = m[x->group[i]];
      if (g.rm_so >= 0)
        json_object_set_new(row, x->names[i],
                            json_stringn(text + g.rm_so, (size_t)(g.rm_eo - g.rm_so)));
    }
    return;
  }
  const char *p = strstr(text, x->lits[0]);
  if (!p)
    return;
  p += strlen(x->lits[0]);
  json_t *found = json_array();
  for (size_t i = 1; i < x->nlits; i++) {
    const char *end = i == x->nlits - 1 && !*x->lits[i] ? p + strlen(p) : strstr(p, x->lits[i]);
    if (!end) {
      json_decref(found);
      return;
    }
    json_array_append_new(found, json_stringn(p, (size_t)(end - p)));
    p = end + strlen(x->lits[i]);
  }
  for (size_t i = 0; i < x->nnames; i++)
    json_object_set(row, x->names[i], json_array_get(found, i));
  json_decref(found);
}
