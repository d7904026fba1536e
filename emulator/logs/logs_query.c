/*
 * logs_query.c — a subset of the Logs Insights query language, parsed into a
 * pipeline of commands run over the events of the queried groups:
 *
 *   fields a, @timestamp | display a       — the columns answered
 *   filter a > 3 and (b = "x" or @message like /err/) and not c in [1, 2]
 *   sort f [asc|desc], g …                 — default: @timestamp desc
 *   limit n
 *   stats count(*), count(f), sum(f), avg(f), min(f), max(f) [as name] by f, …
 *   parse @message "user=* id=*" as user, id | parse f /(?<code>[0-9]+)/
 *
 * Each event becomes a row of fields: @timestamp, @message, @logStream, @log,
 * @ingestionTime, @ptr and, for JSON messages, every member flattened with
 * dots (a.b, list.0), as Insights discovers them. Comparisons are numeric
 * when both sides are numbers, else textual; `like` takes /regex/ (POSIX
 * extended) or a string (substring). Limits: the query text (10,000
 * characters, the API's), 32 levels of nesting, 64 commands.
 */
#include "common/codec.h"
#include "emulator/logs/logs_int.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define Q_MAX_DEPTH 32
#define Q_MAX_COMMANDS 64
#define Q_MAX_ITEMS 32 /* fields, sort keys, aggregates, by-fields per command */
#define Q_MAX_JSON_FIELDS 200

enum { E_FIELD, E_NUM, E_STR, E_REGEX, E_AND, E_OR, E_NOT, E_CMP, E_LIKE, E_IN, E_PRESENT };
enum { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

typedef struct q_expr {
  int kind, cmp;
  char *text; /* field name, string */
  double num;
  regex_t *re;
  struct q_expr *l, *r;
  struct q_expr **list; /* E_IN */
  size_t nlist;
} q_expr;

enum { CMD_FIELDS, CMD_DISPLAY, CMD_FILTER, CMD_SORT, CMD_LIMIT, CMD_STATS, CMD_PARSE };
enum { AGG_COUNT, AGG_SUM, AGG_AVG, AGG_MIN, AGG_MAX };

typedef struct q_cmd {
  int kind;
  char *names[Q_MAX_ITEMS]; /* fields/display/sort fields, stats by-fields */
  int desc[Q_MAX_ITEMS];
  size_t nnames;
  q_expr *filter;
  size_t limit;
  int agg[Q_MAX_ITEMS];
  char *agg_field[Q_MAX_ITEMS]; /* NULL: count(*) */
  char *agg_name[Q_MAX_ITEMS];
  size_t naggs;
  char *source;          /* parse: the field read */
  logs_extract *extract; /* parse */
} q_cmd;

struct logs_query {
  q_cmd cmds[Q_MAX_COMMANDS];
  size_t ncmds;
};

/* ---- lexer ---- */

enum {
  T_END,
  T_IDENT,
  T_NUM,
  T_STR,
  T_REGEX,
  T_OP,
  T_PIPE,
  T_COMMA,
  T_LPAREN,
  T_RPAREN,
  T_LBRACK,
  T_RBRACK,
  T_STAR
};

typedef struct qlex {
  const char *s;
  size_t pos, start;
  int tk, cmp;
  char *text;
  double num;
  char *err;
  size_t errlen;
  int failed, depth;
} qlex;

static int qfail(qlex *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int qfail(qlex *lx, const char *fmt, ...) {
  if (!lx->failed) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err, lx->errlen, fmt, ap);
    va_end(ap);
  }
  lx->failed = 1;
  return -1;
}

static int ident_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '@' || c == '$';
}

static int quoted(qlex *lx, char close) {
  size_t i = lx->pos + 1, n = 0;
  char *out = malloc(strlen(lx->s + lx->pos) + 1);
  if (!out)
    return qfail(lx, "out of memory");
  for (; lx->s[i]; i++) {
    if (lx->s[i] == '\\' && lx->s[i + 1]) {
      if (close == '/' && lx->s[i + 1] != '/')
        out[n++] = '\\';
      out[n++] = lx->s[++i];
    } else if (lx->s[i] == close) {
      out[n] = '\0';
      lx->text = out;
      lx->pos = i + 1;
      return 0;
    } else {
      out[n++] = lx->s[i];
    }
  }
  free(out);
  return qfail(lx, "unterminated %s starting at position %zu", close == '/' ? "regex" : "string",
               lx->start + 1);
}

static int next(qlex *lx) {
  free(lx->text);
  lx->text = NULL;
  while (isspace((unsigned char)lx->s[lx->pos]))
    lx->pos++;
  lx->start = lx->pos;
  const char *c = lx->s + lx->pos;
  static const struct {
    const char *t;
    int tk, cmp;
  } fixed[] = {{"!=", T_OP, C_NE}, {"<=", T_OP, C_LE}, {">=", T_OP, C_GE}, {"=~", T_OP, -1},
               {"=", T_OP, C_EQ},  {"<", T_OP, C_LT},  {">", T_OP, C_GT},  {"|", T_PIPE, 0},
               {",", T_COMMA, 0},  {"(", T_LPAREN, 0}, {")", T_RPAREN, 0}, {"[", T_LBRACK, 0},
               {"]", T_RBRACK, 0}, {"*", T_STAR, 0}};
  if (!*c) {
    lx->tk = T_END;
    return 0;
  }
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
    size_t n = strlen(fixed[i].t);
    if (strncmp(c, fixed[i].t, n) == 0) {
      lx->tk = fixed[i].tk;
      lx->cmp = fixed[i].cmp;
      lx->pos += n;
      return 0;
    }
  }
  if (*c == '"' || *c == '\'' || *c == '/') {
    lx->tk = *c == '/' ? T_REGEX : T_STR;
    return quoted(lx, *c);
  }
  if (*c == '`') {
    lx->tk = T_IDENT;
    return quoted(lx, '`');
  }
  if (isdigit((unsigned char)*c) || (*c == '-' && isdigit((unsigned char)c[1]))) {
    char *end = NULL;
    lx->num = strtod(c, &end);
    lx->pos += (size_t)(end - c);
    lx->tk = T_NUM;
    return 0;
  }
  size_t n = 0;
  while (ident_char(c[n]))
    n++;
  if (!n)
    return qfail(lx, "unexpected symbol found %c at line 1 and position %zu", *c, lx->pos + 1);
  lx->text = strndup(c, n);
  if (!lx->text)
    return qfail(lx, "out of memory");
  lx->pos += n;
  lx->tk = T_IDENT;
  return 0;
}

static int is_kw(const qlex *lx, const char *kw) {
  return lx->tk == T_IDENT && strcasecmp(lx->text, kw) == 0;
}

/* ---- expressions ---- */

static void expr_free(q_expr *e) {
  if (!e)
    return;
  expr_free(e->l);
  expr_free(e->r);
  for (size_t i = 0; i < e->nlist; i++)
    expr_free(e->list[i]);
  free(e->list);
  free(e->text);
  if (e->re) {
    regfree(e->re);
    free(e->re);
  }
  free(e);
}

static q_expr *mk(qlex *lx, int kind) {
  q_expr *e = calloc(1, sizeof(*e));
  if (!e)
    qfail(lx, "out of memory");
  else
    e->kind = kind;
  return e;
}

static q_expr *parse_or(qlex *lx);

static q_expr *parse_value(qlex *lx) {
  q_expr *e = NULL;
  if (lx->tk == T_NUM) {
    if ((e = mk(lx, E_NUM)))
      e->num = lx->num;
  } else if (lx->tk == T_STR || lx->tk == T_IDENT) {
    if ((e = mk(lx, lx->tk == T_STR ? E_STR : E_FIELD))) {
      e->text = lx->text;
      lx->text = NULL;
    }
  } else if (lx->tk == T_REGEX) {
    if ((e = mk(lx, E_REGEX))) {
      e->re = malloc(sizeof(*e->re));
      if (!e->re || regcomp(e->re, lx->text, REG_EXTENDED | REG_NOSUB) != 0) {
        free(e->re);
        e->re = NULL;
        expr_free(e);
        qfail(lx, "invalid regular expression /%.64s/", lx->text);
        return NULL;
      }
    }
  } else {
    qfail(lx, "unexpected symbol found at line 1 and position %zu", lx->start + 1);
    return NULL;
  }
  if (e && next(lx) < 0) {
    expr_free(e);
    return NULL;
  }
  return e;
}

static q_expr *parse_primary(qlex *lx) {
  if (++lx->depth > Q_MAX_DEPTH) {
    qfail(lx, "the expression is nested too deeply");
    return NULL;
  }
  q_expr *e = NULL;
  if (is_kw(lx, "not")) {
    if (next(lx) < 0 || !(e = mk(lx, E_NOT)) || !(e->l = parse_primary(lx))) {
      expr_free(e);
      return NULL;
    }
  } else if (lx->tk == T_LPAREN) {
    if (next(lx) < 0 || !(e = parse_or(lx)))
      return NULL;
    if (lx->tk != T_RPAREN || next(lx) < 0) {
      qfail(lx, "expected ) at line 1 and position %zu", lx->start + 1);
      expr_free(e);
      return NULL;
    }
  } else if (is_kw(lx, "ispresent")) {
    if (next(lx) < 0 || lx->tk != T_LPAREN || next(lx) < 0 || lx->tk != T_IDENT) {
      qfail(lx, "ispresent takes a field name");
      return NULL;
    }
    if (!(e = mk(lx, E_PRESENT)))
      return NULL;
    e->text = lx->text;
    lx->text = NULL;
    if (next(lx) < 0 || lx->tk != T_RPAREN || next(lx) < 0) {
      qfail(lx, "expected ) after ispresent(%s", e->text);
      expr_free(e);
      return NULL;
    }
  } else {
    q_expr *l = parse_value(lx);
    if (!l)
      return NULL;
    int neg = 0;
    if (is_kw(lx, "not")) {
      neg = 1;
      if (next(lx) < 0) {
        expr_free(l);
        return NULL;
      }
    }
    if (lx->tk == T_OP || is_kw(lx, "like")) {
      int like = lx->tk != T_OP || lx->cmp < 0;
      if (!(e = mk(lx, like ? E_LIKE : E_CMP)) || (e->cmp = lx->cmp, next(lx) < 0) ||
          !(e->r = parse_value(lx))) {
        expr_free(l);
        expr_free(e);
        return NULL;
      }
      e->l = l;
    } else if (is_kw(lx, "in")) {
      if (!(e = mk(lx, E_IN)) || next(lx) < 0 || lx->tk != T_LBRACK || next(lx) < 0) {
        expr_free(l);
        expr_free(e);
        qfail(lx, "expected [ after in");
        return NULL;
      }
      e->l = l;
      while (lx->tk != T_RBRACK) {
        q_expr *v = e->nlist < Q_MAX_ITEMS ? parse_value(lx) : NULL;
        q_expr **grown = v ? realloc(e->list, (e->nlist + 1) * sizeof(*grown)) : NULL;
        if (!grown) {
          expr_free(v);
          expr_free(e);
          qfail(lx, "invalid list after in");
          return NULL;
        }
        e->list = grown;
        e->list[e->nlist++] = v;
        if (lx->tk == T_COMMA && next(lx) < 0) {
          expr_free(e);
          return NULL;
        }
      }
      if (next(lx) < 0) {
        expr_free(e);
        return NULL;
      }
    } else {
      if (neg) {
        expr_free(l);
        qfail(lx, "expected like or in after not");
        return NULL;
      }
      e = l; /* a bare value: true when present and not false/0 */
    }
    if (neg) {
      q_expr *n = mk(lx, E_NOT);
      if (!n) {
        expr_free(e);
        return NULL;
      }
      n->l = e;
      e = n;
    }
  }
  lx->depth--;
  return e;
}

static q_expr *parse_bin(qlex *lx, const char *kw, int kind, q_expr *(*sub)(qlex *)) {
  q_expr *l = sub(lx);
  while (l && is_kw(lx, kw)) {
    q_expr *e = mk(lx, kind);
    if (!e || next(lx) < 0 || !(e->r = sub(lx))) {
      expr_free(e);
      expr_free(l);
      return NULL;
    }
    e->l = l;
    l = e;
  }
  return l;
}

static q_expr *parse_and(qlex *lx) { return parse_bin(lx, "and", E_AND, parse_primary); }
static q_expr *parse_or(qlex *lx) { return parse_bin(lx, "or", E_OR, parse_and); }

/* ---- commands ---- */

static int parse_names(qlex *lx, q_cmd *c, int sort) {
  do {
    if (c->nnames > 0 && next(lx) < 0)
      return -1;
    if (lx->tk != T_IDENT || c->nnames >= Q_MAX_ITEMS)
      return qfail(lx, "expected a field name at line 1 and position %zu", lx->start + 1);
    c->names[c->nnames++] = lx->text;
    lx->text = NULL;
    if (next(lx) < 0)
      return -1;
    if (sort && (is_kw(lx, "asc") || is_kw(lx, "desc"))) {
      c->desc[c->nnames - 1] = is_kw(lx, "desc");
      if (next(lx) < 0)
        return -1;
    } else if (sort) {
      c->desc[c->nnames - 1] = 0; /* ascending unless desc */
    }
  } while (lx->tk == T_COMMA);
  return 0;
}

static int parse_stats(qlex *lx, q_cmd *c) {
  static const char *const fn[] = {"count", "sum", "avg", "min", "max"};
  for (;;) {
    int f = -1;
    for (int i = 0; i < 5; i++)
      if (is_kw(lx, fn[i]))
        f = i;
    if (f < 0 || c->naggs >= Q_MAX_ITEMS)
      return qfail(lx,
                   "expected an aggregate function (count, sum, avg, min, max) at line 1 and "
                   "position %zu",
                   lx->start + 1);
    size_t at = c->naggs++;
    c->agg[at] = f;
    if (next(lx) < 0 || lx->tk != T_LPAREN || next(lx) < 0)
      return qfail(lx, "expected ( after %s", fn[f]);
    char label[300];
    if (lx->tk == T_STAR && f == AGG_COUNT) {
      snprintf(label, sizeof(label), "count(*)");
    } else if (lx->tk == T_IDENT) {
      c->agg_field[at] = lx->text;
      lx->text = NULL;
      snprintf(label, sizeof(label), "%s(%.200s)", fn[f], c->agg_field[at]);
    } else {
      return qfail(lx, "expected a field name in %s()", fn[f]);
    }
    if (next(lx) < 0 || lx->tk != T_RPAREN || next(lx) < 0)
      return qfail(lx, "expected ) after %s(", fn[f]);
    if (is_kw(lx, "as")) {
      if (next(lx) < 0 || lx->tk != T_IDENT)
        return qfail(lx, "expected a name after as");
      c->agg_name[at] = lx->text;
      lx->text = NULL;
      if (next(lx) < 0)
        return -1;
    } else if (!(c->agg_name[at] = strdup(label))) {
      return qfail(lx, "out of memory");
    }
    if (lx->tk != T_COMMA)
      break;
    if (next(lx) < 0)
      return -1;
  }
  if (is_kw(lx, "by")) {
    if (next(lx) < 0)
      return -1;
    return parse_names(lx, c, 0);
  }
  return 0;
}

/* parse <field> "<glob>" as a, b | parse <field> /(?<a>…)/ */
static int parse_extract(qlex *lx, q_cmd *c) {
  if (lx->tk != T_IDENT)
    return qfail(lx, "parse: expected a field name at line 1 and position %zu", lx->start + 1);
  c->source = lx->text;
  lx->text = NULL;
  if (next(lx) < 0 || (lx->tk != T_STR && lx->tk != T_REGEX))
    return qfail(lx, "parse: expected a \"glob\" or a /regex/ after the field");
  int regex = lx->tk == T_REGEX;
  char *pattern = lx->text;
  lx->text = NULL;
  if (next(lx) < 0) {
    free(pattern);
    return -1;
  }
  if (!regex) {
    if (!is_kw(lx, "as") || next(lx) < 0 || parse_names(lx, c, 0) < 0) {
      free(pattern);
      return qfail(lx, "parse: a glob needs 'as' and a name for each '*'");
    }
  }
  int rc =
      logs_extract_compile(&c->extract, pattern, regex, c->names, c->nnames, lx->err, lx->errlen);
  free(pattern);
  if (rc < 0)
    lx->failed = 1;
  return rc;
}

void logs_query_free(logs_query *q) {
  if (!q)
    return;
  for (size_t i = 0; i < q->ncmds; i++) {
    q_cmd *c = &q->cmds[i];
    for (size_t k = 0; k < c->nnames; k++)
      free(c->names[k]);
    for (size_t k = 0; k < c->naggs; k++) {
      free(c->agg_field[k]);
      free(c->agg_name[k]);
    }
    expr_free(c->filter);
    free(c->source);
    logs_extract_free(c->extract);
  }
  free(q);
}

int logs_query_parse(logs_query **out, const char *text, char *err, size_t errlen) {
  logs_query *q = calloc(1, sizeof(*q));
  qlex lx = {.s = text, .err = err, .errlen = errlen};
  if (!q) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (next(&lx) < 0)
    goto bad;
  while (lx.tk != T_END) {
    if (q->ncmds >= Q_MAX_COMMANDS) {
      qfail(&lx, "too many commands (at most %d)", Q_MAX_COMMANDS);
      goto bad;
    }
    q_cmd *c = &q->cmds[q->ncmds++];
    if (is_kw(&lx, "fields") || is_kw(&lx, "display")) {
      c->kind = is_kw(&lx, "fields") ? CMD_FIELDS : CMD_DISPLAY;
      if (next(&lx) < 0 || parse_names(&lx, c, 0) < 0)
        goto bad;
    } else if (is_kw(&lx, "filter")) {
      c->kind = CMD_FILTER;
      if (next(&lx) < 0 || !(c->filter = parse_or(&lx)))
        goto bad;
    } else if (is_kw(&lx, "sort")) {
      c->kind = CMD_SORT;
      if (next(&lx) < 0 || parse_names(&lx, c, 1) < 0)
        goto bad;
    } else if (is_kw(&lx, "limit")) {
      c->kind = CMD_LIMIT;
      if (next(&lx) < 0 || lx.tk != T_NUM || lx.num < 1 || lx.num > 10000 ||
          lx.num != (double)(size_t)lx.num) {
        qfail(&lx, "limit takes a whole number from 1 to 10000");
        goto bad;
      }
      c->limit = (size_t)lx.num;
      if (next(&lx) < 0)
        goto bad;
    } else if (is_kw(&lx, "parse")) {
      c->kind = CMD_PARSE;
      if (next(&lx) < 0 || parse_extract(&lx, c) < 0)
        goto bad;
    } else if (is_kw(&lx, "stats")) {
      c->kind = CMD_STATS;
      if (next(&lx) < 0 || parse_stats(&lx, c) < 0)
        goto bad;
    } else {
      qfail(&lx, "unexpected symbol found %.64s at line 1 and position %zu", lx.text ? lx.text : "",
            lx.start + 1);
      goto bad;
    }
    if (lx.tk == T_PIPE) {
      if (next(&lx) < 0)
        goto bad;
    } else if (lx.tk != T_END) {
      qfail(&lx, "unexpected symbol found at line 1 and position %zu", lx.start + 1);
      goto bad;
    }
  }
  free(lx.text);
  *out = q;
  return 0;
bad:
  free(lx.text);
  logs_query_free(q);
  return -1;
}

/* ---- evaluation ---- */

static int as_number(json_t *v, double *out) {
  if (json_is_number(v)) {
    *out = json_number_value(v);
    return 1;
  }
  const char *s = json_string_value(v);
  char *end = NULL;
  if (!s || !*s)
    return 0;
  *out = strtod(s, &end);
  return end && !*end;
}

/* The value of a leaf (borrowed for fields, new for literals: *owned set). */
static json_t *leaf(const q_expr *e, json_t *row, int *owned) {
  *owned = 0;
  if (e->kind == E_FIELD)
    return json_object_get(row, e->text);
  *owned = 1;
  if (e->kind == E_NUM)
    return json_real(e->num);
  if (e->kind == E_STR)
    return json_string(e->text);
  *owned = 0;
  return NULL;
}

static int cmp_values(json_t *a, json_t *b, int *out) {
  double x, y;
  if (!a || !b)
    return 0;
  if (as_number(a, &x) && as_number(b, &y) && (json_is_number(a) || json_is_number(b))) {
    *out = x < y ? -1 : x > y;
    return 1;
  }
  const char *s = json_string_value(a), *t = json_string_value(b);
  char bx[64], by[64];
  if (!s && json_is_number(a))
    snprintf(bx, sizeof(bx), "%.17g", json_number_value(a)), s = bx;
  if (!t && json_is_number(b))
    snprintf(by, sizeof(by), "%.17g", json_number_value(b)), t = by;
  if (!s || !t)
    return 0;
  int c = strcmp(s, t);
  *out = c < 0 ? -1 : c > 0;
  return 1;
}

static int eval(const q_expr *e, json_t *row) {
  switch (e->kind) {
  case E_AND: return eval(e->l, row) && eval(e->r, row);
  case E_OR: return eval(e->l, row) || eval(e->r, row);
  case E_NOT: return !eval(e->l, row);
  case E_PRESENT: return json_object_get(row, e->text) != NULL;
  case E_FIELD: {
    json_t *v = json_object_get(row, e->text);
    return v && !json_is_false(v) && !json_is_null(v) &&
           !(json_is_number(v) && json_number_value(v) == 0);
  }
  case E_LIKE: {
    int owned;
    json_t *v = leaf(e->l, row, &owned);
    const char *s = json_string_value(v);
    int ok = 0;
    if (s && e->r->kind == E_REGEX)
      ok = regexec(e->r->re, s, 0, NULL, 0) == 0;
    else if (s && e->r->kind == E_STR)
      ok = strstr(s, e->r->text) != NULL;
    if (owned)
      json_decref(v);
    return ok;
  }
  case E_CMP:
  case E_IN: {
    int ol, or_ = 0, c = 0, ok = 0;
    json_t *a = leaf(e->l, row, &ol);
    if (e->kind == E_IN) {
      for (size_t i = 0; i < e->nlist && !ok; i++) {
        json_t *b = leaf(e->list[i], row, &or_);
        ok = cmp_values(a, b, &c) && c == 0;
        if (or_)
          json_decref(b);
      }
    } else {
      json_t *b = leaf(e->r, row, &or_);
      if (cmp_values(a, b, &c)) {
        static const int want[][3] = {{0, 1, 0}, {1, 0, 1}, {1, 0, 0},
                                      {1, 1, 0}, {0, 0, 1}, {0, 1, 1}};
        ok = want[e->cmp][c + 1];
      }
      if (or_)
        json_decref(b);
    }
    if (ol)
      json_decref(a);
    return ok;
  }
  default: return 0;
  }
}

/* ---- rows ---- */

static void flatten(json_t *row, const char *prefix, json_t *v, int *budget) {
  char key[300];
  if (*budget <= 0)
    return;
  if (json_is_object(v) || json_is_array(v)) {
    const char *k;
    json_t *m;
    size_t i;
    if (json_is_object(v)) {
      json_object_foreach(v, k, m) {
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k);
        flatten(row, key, m, budget);
      }
    } else {
      json_array_foreach(v, i, m) {
        snprintf(key, sizeof(key), "%s%s%zu", prefix, *prefix ? "." : "", i);
        flatten(row, key, m, budget);
      }
    }
    return;
  }
  if (!*prefix || json_object_get(row, prefix))
    return;
  (*budget)--;
  if (json_is_string(v) || json_is_number(v))
    json_object_set(row, prefix, v);
  else
    json_object_set_new(row, prefix,
                        json_string(json_is_null(v)   ? "null"
                                    : json_is_true(v) ? "true"
                                                      : "false"));
}

static void format_time(char *out, size_t n, int64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char day[32];
  strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(out, n, "%s.%03d", day, (int)(ms % 1000));
}

static json_t *make_row(const logs_group *g, const logs_stream *s, const logs_event *e) {
  char log[700], ptr_src[1400];
  snprintf(log, sizeof(log), "%s:%s", g->account, g->name);
  json_t *row = json_pack("{s:I, s:s%, s:s, s:s, s:I}", "@timestamp", (json_int_t)e->ts, "@message",
                          e->msg, e->len, "@logStream", s->name, "@log", log, "@ingestionTime",
                          (json_int_t)e->ingest);
  snprintf(ptr_src, sizeof(ptr_src), "%s\n%s\n%llu", g->key, s->name, (unsigned long long)e->id);
  char *ptr = codec_base64_encode(ptr_src, strlen(ptr_src));
  if (ptr)
    json_object_set_new(row, "@ptr", json_string(ptr));
  free(ptr);
  if (e->len && e->msg[0] == '{') {
    json_t *doc = json_loadb(e->msg, e->len, 0, NULL);
    int budget = Q_MAX_JSON_FIELDS;
    if (doc)
      flatten(row, "", doc, &budget);
    json_decref(doc);
  }
  return row;
}

static int row_cmp(const void *a, const void *b, void *payload) {
  const q_cmd *c = payload;
  json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  for (size_t i = 0; i < c->nnames; i++) {
    json_t *u = json_object_get(x, c->names[i]), *v = json_object_get(y, c->names[i]);
    int r = 0;
    if (!u || !v)
      r = !u - !v; /* missing values last */
    else if (!cmp_values(u, v, &r))
      r = 0;
    else if (c->desc[i])
      r = -r;
    if (r)
      return r;
  }
  return 0;
}

static void sort_rows(json_t **rows, size_t n, const q_cmd *c) {
  qsort_r(rows, n, sizeof(*rows), row_cmp, (void *)c);
}

/* stats: rows grouped by the by-fields, one output row per group. */
static size_t run_stats(json_t **rows, size_t n, const q_cmd *c) {
  json_t *groups = json_object(), *order = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *key = json_array();
    for (size_t k = 0; k < c->nnames; k++) {
      json_t *v = json_object_get(rows[i], c->names[k]);
      json_array_append(key, v ? v : json_null());
    }
    char *ks = json_dumps(key, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *acc = ks ? json_object_get(groups, ks) : NULL;
    if (ks && !acc) {
      acc = json_pack("{s:O, s:[]}", "key", key, "vals");
      for (size_t a = 0; a < c->naggs; a++)
        json_array_append_new(json_object_get(acc, "vals"),
                              json_pack("[f, f, f, f]", 0.0, 0.0, DBL_MAX, -DBL_MAX));
      json_object_set_new(groups, ks, acc);
      json_array_append(order, acc);
    }
    for (size_t a = 0; acc && a < c->naggs; a++) {
      json_t *st = json_array_get(json_object_get(acc, "vals"), a);
      double x = 0;
      json_t *v = c->agg_field[a] ? json_object_get(rows[i], c->agg_field[a]) : json_true();
      int num = as_number(v, &x);
      if (!v || (c->agg[a] != AGG_COUNT && !num))
        continue;
      double cnt = json_real_value(json_array_get(st, 0)) + 1,
             sum = json_real_value(json_array_get(st, 1)) + x;
      double mn = json_real_value(json_array_get(st, 2)),
             mx = json_real_value(json_array_get(st, 3));
      json_array_set_new(st, 0, json_real(cnt));
      json_array_set_new(st, 1, json_real(sum));
      json_array_set_new(st, 2, json_real(x < mn ? x : mn));
      json_array_set_new(st, 3, json_real(x > mx ? x : mx));
    }
    free(ks);
    json_decref(key);
  }
  for (size_t i = 0; i < n; i++)
    json_decref(rows[i]);
  size_t out = 0, i;
  json_t *acc;
  json_array_foreach(order, i, acc) {
    json_t *row = json_object();
    for (size_t k = 0; k < c->nnames; k++) {
      json_t *v = json_array_get(json_object_get(acc, "key"), k);
      if (!json_is_null(v))
        json_object_set(row, c->names[k], v);
    }
    for (size_t a = 0; a < c->naggs; a++) {
      json_t *st = json_array_get(json_object_get(acc, "vals"), a);
      double cnt = json_real_value(json_array_get(st, 0));
      double v = c->agg[a] == AGG_COUNT ? cnt
                 : c->agg[a] == AGG_SUM ? json_real_value(json_array_get(st, 1))
                 : c->agg[a] == AGG_AVG ? (cnt ? json_real_value(json_array_get(st, 1)) / cnt : 0)
                 : c->agg[a] == AGG_MIN ? json_real_value(json_array_get(st, 2))
                                        : json_real_value(json_array_get(st, 3));
      if (cnt || c->agg[a] == AGG_COUNT)
        json_object_set_new(row, c->agg_name[a], json_real(v));
    }
    rows[out++] = row; /* at most n groups */
  }
  json_decref(groups);
  json_decref(order);
  return out;
}

static json_t *cell(const char *field, json_t *v) {
  char buf[64];
  const char *s = json_string_value(v);
  if (!s && json_is_number(v)) {
    double d = json_number_value(v);
    if (strcmp(field, "@timestamp") == 0 || strcmp(field, "@ingestionTime") == 0)
      format_time(buf, sizeof(buf), (int64_t)d);
    else if (fabs(d) < 1e15 && d == (double)(long long)d)
      snprintf(buf, sizeof(buf), "%lld", (long long)d);
    else
      snprintf(buf, sizeof(buf), "%.6g", d);
    s = buf;
  }
  return json_pack("{s:s, s:s}", "field", field, "value", s ? s : "");
}

void logs_query_run(json_t **results, json_t **stats, const logs_query *q, logs_group **groups,
                    size_t n, int64_t start, int64_t end, size_t limit) {
  size_t nrows = 0, cap = 0, scanned = 0;
  uint64_t bytes = 0;
  json_t **rows = NULL;
  for (size_t gi = 0; gi < n; gi++) {
    for (size_t si = 0; si < groups[gi]->nstreams; si++) {
      logs_stream *s = groups[gi]->streams[si];
      for (size_t i = 0; i < s->n; i++) {
        if (s->ev[i].ts < start || s->ev[i].ts > end)
          continue;
        scanned++;
        bytes += s->ev[i].len;
        if (nrows == cap) {
          size_t nc = cap ? cap * 2 : 256;
          json_t **r = realloc(rows, nc * sizeof(*r));
          if (!r)
            continue;
          rows = r;
          cap = nc;
        }
        rows[nrows++] = make_row(groups[gi], s, &s->ev[i]);
      }
    }
  }
  const char *visible[Q_MAX_ITEMS * 2];
  size_t nvis = 0;
  int sorted = 0, stats_done = 0;
  size_t matched = nrows;
  for (size_t ci = 0; ci < q->ncmds; ci++) {
    const q_cmd *c = &q->cmds[ci];
    if (c->kind == CMD_FIELDS || c->kind == CMD_DISPLAY) {
      if (c->kind == CMD_DISPLAY)
        nvis = 0;
      for (size_t k = 0; k < c->nnames && nvis < Q_MAX_ITEMS * 2; k++)
        visible[nvis++] = c->names[k];
    } else if (c->kind == CMD_FILTER) {
      size_t keep = 0;
      for (size_t i = 0; i < nrows; i++) {
        if (eval(c->filter, rows[i]))
          rows[keep++] = rows[i];
        else
          json_decref(rows[i]);
      }
      nrows = keep;
      if (!stats_done)
        matched = nrows;
    } else if (c->kind == CMD_PARSE) {
      for (size_t i = 0; i < nrows; i++) {
        const char *text = json_string_value(json_object_get(rows[i], c->source));
        if (text)
          logs_extract_apply(c->extract, text, rows[i]);
      }
    } else if (c->kind == CMD_SORT) {
      sort_rows(rows, nrows, c);
      sorted = 1;
    } else if (c->kind == CMD_LIMIT) {
      while (nrows > c->limit)
        json_decref(rows[--nrows]);
    } else if (c->kind == CMD_STATS) {
      nrows = run_stats(rows, nrows, c);
      stats_done = 1;
      nvis = 0;
      for (size_t k = 0; k < c->nnames; k++)
        visible[nvis++] = c->names[k];
      for (size_t k = 0; k < c->naggs; k++)
        visible[nvis++] = c->agg_name[k];
    }
  }
  if (!sorted && !stats_done) {
    static const q_cmd by_time = {
        .kind = CMD_SORT, .names = {"@timestamp"}, .desc = {1}, .nnames = 1};
    sort_rows(rows, nrows, &by_time);
  }
  if (!nvis) {
    visible[nvis++] = "@timestamp";
    visible[nvis++] = "@message";
  }
  json_t *out = json_array();
  for (size_t i = 0; i < nrows; i++) {
    if (i < limit) {
      json_t *r = json_array();
      for (size_t k = 0; k < nvis; k++) {
        json_t *v = json_object_get(rows[i], visible[k]);
        if (v)
          json_array_append_new(r, cell(visible[k], v));
      }
      json_t *ptr = json_object_get(rows[i], "@ptr");
      if (ptr && !stats_done)
        json_array_append_new(r, cell("@ptr", ptr));
      json_array_append_new(out, r);
    }
    json_decref(rows[i]);
  }
  free(rows);
  *results = out;
  *stats = json_pack("{s:f, s:f, s:f}", "recordsMatched", (double)matched, "recordsScanned",
                     (double)scanned, "bytesScanned", (double)bytes);
}

json_t *logs_query_fields(logs_group **groups, size_t n, int64_t start, int64_t end) {
  json_t *counts = json_object();
  size_t total = 0;
  for (size_t gi = 0; gi < n; gi++) {
    for (size_t si = 0; si < groups[gi]->nstreams; si++) {
      logs_stream *s = groups[gi]->streams[si];
      for (size_t i = 0; i < s->n; i++) {
        if (s->ev[i].ts < start || s->ev[i].ts > end)
          continue;
        json_t *row = make_row(groups[gi], s, &s->ev[i]);
        const char *k;
        json_t *v;
        json_object_del(row, "@ptr");
        json_object_foreach(row, k, v) {
          json_int_t c = json_integer_value(json_object_get(counts, k));
          json_object_set_new(counts, k, json_integer(c + 1));
        }
        json_decref(row);
        total++;
      }
    }
  }
  json_t *out = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(counts, k, v) {
    json_array_append_new(out,
                          json_pack("{s:s, s:I}", "name", k, "percent",
                                    (json_int_t)(json_integer_value(v) * 100 / (json_int_t)total)));
  }
  json_decref(counts);
  return out;
}
