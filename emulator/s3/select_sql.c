/*
 * select_sql.c — S3 Select's SQL dialect: a lexer and a recursive-descent
 * parser into the query s3_int.h describes.
 *
 *   SELECT * | item [, item]...  FROM S3Object[path] [[AS] alias]
 *     [WHERE expr] [LIMIT n]
 *   item: expr [[AS] name]
 *   path: [*], [n], .name, ."name" after S3Object (JSON input)
 *   expr: OR, AND, NOT; = <> != < <= > >=; [NOT] LIKE x [ESCAPE c];
 *     [NOT] BETWEEN a AND b; [NOT] IN (list); IS [NOT] NULL | MISSING;
 *     + - || * / %; unary -; literals ('text', numbers, TRUE, FALSE, NULL,
 *     MISSING); paths (s._1, s."Name", s.a[0].b); CAST(x AS type);
 *     functions LOWER, UPPER, CHAR_LENGTH, CHARACTER_LENGTH, SUBSTRING(x,
 *     a[, n]) or SUBSTRING(x FROM a [FOR n]), TRIM([LEADING|TRAILING|BOTH]
 *     [chars] FROM x), COALESCE, NULLIF; aggregates COUNT(*), COUNT, SUM,
 *     AVG, MIN, MAX.
 *
 * Errors carry S3 Select's codes (ParseUnexpectedToken, ParseExpectedExpression,
 * LexerInvalidChar, InvalidColumnIndex, …) with the line and column. Input
 * is hostile: the text is bounded (S3SEL_MAX_EXPRESSION), nesting
 * (S3SEL_MAX_DEPTH) and nodes (S3SEL_MAX_NODES) too; every node is recorded
 * in the query so that one free releases a half-built parse.
 */
#include "emulator/s3/s3_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void s3sel_fail(s3sel_error *err, const char *code, const char *fmt, ...) {
  if (err->code)
    return; /* the first error stands */
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  va_end(ap);
}

enum { T_EOF, T_IDENT, T_QIDENT, T_STRING, T_NUMBER, T_OP };

typedef struct token {
  int type;
  const char *start;
  size_t len;
  size_t pos;
} token;

typedef struct parser {
  const char *sql;
  size_t len, pos;
  token tok;
  s3sel_query *q;
  s3sel_error *err;
  int depth;
} parser;

static void where_at(const parser *p, size_t pos, int *line, int *col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < pos && i < p->len; i++) {
    if (p->sql[i] == '\n')
      (*line)++, *col = 1;
    else
      (*col)++;
  }
}

static const char *const keywords[] = {
    "select", "from",   "where",   "limit",    "as",   "and",  "or",      "not",
    "like",   "escape", "between", "in",       "is",   "null", "missing", "true",
    "false",  "cast",   "leading", "trailing", "both", "for",  NULL};

static int is_keyword(const token *t) {
  for (size_t i = 0; keywords[i]; i++)
    if (strlen(keywords[i]) == t->len && strncasecmp(keywords[i], t->start, t->len) == 0)
      return 1;
  return 0;
}

static void unexpected(parser *p) {
  int line, col;
  where_at(p, p->tok.pos, &line, &col);
  const char *kind = p->tok.type == T_EOF                                ? "EOF"
                     : p->tok.type == T_OP                               ? "OPERATOR"
                     : p->tok.type == T_IDENT && is_keyword(&p->tok)     ? "KEYWORD"
                     : p->tok.type == T_IDENT || p->tok.type == T_QIDENT ? "IDENTIFIER"
                                                                         : "LITERAL";
  int n = p->tok.len > 64 ? 64 : (int)p->tok.len;
  s3sel_fail(p->err, "ParseUnexpectedToken",
             "Unexpected token found %s:%.*s at line %d, column %d.", kind, n,
             p->tok.type == T_EOF ? "" : p->tok.start, line, col);
}

/* Reads the next token into p->tok. -1 with the error set. */
static int next(parser *p) {
  const char *s = p->sql;
  while (p->pos < p->len && isspace((unsigned char)s[p->pos]))
    p->pos++;
  token *t = &p->tok;
  t->pos = p->pos;
  t->start = s + p->pos;
  if (p->pos >= p->len) {
    t->type = T_EOF, t->len = 0;
    return 0;
  }
  unsigned char c = (unsigned char)s[p->pos];
  size_t i = p->pos;
  if (isalpha(c) || c == '_') {
    while (i < p->len && (isalnum((unsigned char)s[i]) || s[i] == '_'))
      i++;
    t->type = T_IDENT;
  } else if (isdigit(c) || (c == '.' && i + 1 < p->len && isdigit((unsigned char)s[i + 1]))) {
    while (i < p->len && isdigit((unsigned char)s[i]))
      i++;
    if (i < p->len && s[i] == '.')
      for (i++; i < p->len && isdigit((unsigned char)s[i]);)
        i++;
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
      size_t j = i + 1;
      if (j < p->len && (s[j] == '+' || s[j] == '-'))
        j++;
      if (j < p->len && isdigit((unsigned char)s[j])) {
        while (j < p->len && isdigit((unsigned char)s[j]))
          j++;
        i = j;
      }
    }
    t->type = T_NUMBER;
  } else if (c == '\'' || c == '"') {
    /* 'text' with '' for a quote; "identifier" with "" likewise. */
    for (i++;; i++) {
      if (i >= p->len) {
        int line, col;
        where_at(p, t->pos, &line, &col);
        s3sel_fail(p->err, "LexerInvalidLiteral",
                   "Invalid literal at line %d, column %d: the quote is not closed.", line, col);
        return -1;
      }
      if ((unsigned char)s[i] == c) {
        if (i + 1 < p->len && (unsigned char)s[i + 1] == c)
          i++;
        else
          break;
      }
    }
    i++;
    t->type = c == '\'' ? T_STRING : T_QIDENT;
  } else {
    static const char *const two[] = {"<>", "!=", "<=", ">=", "||", NULL};
    t->type = T_OP;
    i++;
    for (size_t k = 0; two[k]; k++)
      if (p->pos + 1 < p->len && s[p->pos] == two[k][0] && s[p->pos + 1] == two[k][1])
        i = p->pos + 2;
    if (i == p->pos + 1 && !strchr("=<>+-*/%(),.[]", c)) {
      int line, col;
      where_at(p, t->pos, &line, &col);
      s3sel_fail(p->err, "LexerInvalidChar", "Invalid character at line %d, column %d.", line, col);
      return -1;
    }
  }
  t->len = i - p->pos;
  p->pos = i;
  return 0;
}

static int is_kw(const parser *p, const char *kw) {
  return p->tok.type == T_IDENT && strlen(kw) == p->tok.len &&
         strncasecmp(kw, p->tok.start, p->tok.len) == 0;
}

static int is_op(const parser *p, const char *op) {
  return p->tok.type == T_OP && strlen(op) == p->tok.len &&
         strncmp(op, p->tok.start, p->tok.len) == 0;
}

static int expect_kw(parser *p, const char *kw) {
  if (!is_kw(p, kw)) {
    unexpected(p);
    return -1;
  }
  return next(p);
}

static int expect_op(parser *p, const char *op) {
  if (!is_op(p, op)) {
    unexpected(p);
    return -1;
  }
  return next(p);
}

/* The text of a quoted token, unquoted (doubled quotes collapsed). Owned. */
static char *unquote(const token *t, size_t *len) {
  char *out = malloc(t->len);
  if (!out)
    return NULL;
  size_t n = 0;
  for (size_t i = 1; i + 1 < t->len; i++) {
    out[n++] = t->start[i];
    if (t->start[i] == t->start[0])
      i++;
  }
  out[n] = '\0';
  if (len)
    *len = n;
  return out;
}

static s3sel_node *node_new(parser *p, int kind, size_t pos) {
  if (p->q->nall >= S3SEL_MAX_NODES) {
    s3sel_fail(p->err, "ExpressionTooLong", "The SQL expression is too long: more than %d terms.",
               S3SEL_MAX_NODES);
    return NULL;
  }
  if (p->q->nall % 64 == 0) {
    s3sel_node **all = realloc(p->q->all, (p->q->nall + 64) * sizeof(*all));
    if (!all)
      goto oom;
    p->q->all = all;
  }
  s3sel_node *n = calloc(1, sizeof(*n));
  if (!n)
    goto oom;
  p->q->all[p->q->nall++] = n;
  n->kind = kind;
  int line;
  where_at(p, pos, &line, &n->col);
  return n;
oom:
  s3sel_fail(p->err, "InternalError", "out of memory");
  return NULL;
}

static int add_arg(parser *p, s3sel_node *n, s3sel_node *arg) {
  s3sel_node **args = realloc(n->args, (n->nargs + 1) * sizeof(*args));
  if (!args) {
    s3sel_fail(p->err, "InternalError", "out of memory");
    return -1;
  }
  n->args = args;
  n->args[n->nargs++] = arg;
  return 0;
}

static int add_step(parser *p, s3sel_step **steps, size_t *n, s3sel_step step) {
  if (*n >= 256) {
    s3sel_fail(p->err, "ExpressionTooLong", "The path has too many components.");
    free(step.name);
    return -1;
  }
  s3sel_step *more = realloc(*steps, (*n + 1) * sizeof(*more));
  if (!more) {
    free(step.name);
    s3sel_fail(p->err, "InternalError", "out of memory");
    return -1;
  }
  *steps = more;
  (*steps)[(*n)++] = step;
  return 0;
}

/* [*], [n], ['name'], .name, ."name" after a path's first component. */
static int path_steps(parser *p, s3sel_step **steps, size_t *n) {
  for (;;) {
    s3sel_step st = {0};
    if (is_op(p, "[")) {
      if (next(p) < 0)
        return -1;
      if (is_op(p, "*")) {
        st.kind = S3SEL_PATH_WILD;
      } else if (p->tok.type == T_NUMBER) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%.*s", (int)(p->tok.len < 31 ? p->tok.len : 31), p->tok.start);
        char *end;
        errno = 0;
        st.index = strtol(buf, &end, 10);
        if (*end || errno) {
          unexpected(p);
          return -1;
        }
        st.kind = S3SEL_PATH_INDEX;
      } else if (p->tok.type == T_STRING) {
        st.kind = S3SEL_PATH_MEMBER;
        st.quoted = 1;
        if (!(st.name = unquote(&p->tok, NULL))) {
          s3sel_fail(p->err, "InternalError", "out of memory");
          return -1;
        }
      } else {
        unexpected(p);
        return -1;
      }
      if (next(p) < 0 || add_step(p, steps, n, st) < 0 || expect_op(p, "]") < 0)
        return -1;
    } else if (is_op(p, ".")) {
      if (next(p) < 0)
        return -1;
      if (p->tok.type != T_IDENT && p->tok.type != T_QIDENT) {
        unexpected(p);
        return -1;
      }
      st.kind = S3SEL_PATH_MEMBER;
      st.quoted = p->tok.type == T_QIDENT;
      st.name = st.quoted ? unquote(&p->tok, NULL) : strndup(p->tok.start, p->tok.len);
      if (!st.name) {
        s3sel_fail(p->err, "InternalError", "out of memory");
        return -1;
      }
      if (add_step(p, steps, n, st) < 0 || next(p) < 0)
        return -1;
    } else {
      return 0;
    }
  }
}

static s3sel_node *expr(parser *p);

static int type_of(const token *t) {
  static const struct {
    const char *name;
    int type;
  } types[] = {{"int", S3SEL_INT},       {"integer", S3SEL_INT}, {"bigint", S3SEL_INT},
               {"smallint", S3SEL_INT},  {"float", S3SEL_FLOAT}, {"real", S3SEL_FLOAT},
               {"double", S3SEL_FLOAT},  {"decimal", S3SEL_DEC}, {"numeric", S3SEL_DEC},
               {"string", S3SEL_STR},    {"varchar", S3SEL_STR}, {"char", S3SEL_STR},
               {"character", S3SEL_STR}, {"bool", S3SEL_BOOL},   {"boolean", S3SEL_BOOL}};
  if (t->type != T_IDENT)
    return -1;
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
    if (strlen(types[i].name) == t->len && strncasecmp(types[i].name, t->start, t->len) == 0)
      return types[i].type;
  return -1;
}

/* name( … ): functions and aggregates; p->tok is the '('. */
static s3sel_node *call(parser *p, const token *name) {
  char up[16] = "";
  for (size_t i = 0; i < name->len && i < sizeof(up) - 1; i++)
    up[i] = (char)toupper((unsigned char)name->start[i]);
  if (name->len >= sizeof(up))
    up[0] = '\0';
  static const char *const aggs[] = {"COUNT", "SUM", "AVG", "MIN", "MAX", NULL};
  static const char *const funcs[] = {"LOWER",     "UPPER", "CHAR_LENGTH", "CHARACTER_LENGTH",
                                      "SUBSTRING", "TRIM",  "COALESCE",    "NULLIF",
                                      NULL};
  int agg = 0, known = 0;
  for (size_t i = 0; aggs[i]; i++)
    agg |= strcmp(up, aggs[i]) == 0;
  for (size_t i = 0; funcs[i]; i++)
    known |= strcmp(up, funcs[i]) == 0;
  int line, col;
  where_at(p, name->pos, &line, &col);
  if (strcmp(up, "CAST") == 0) {
    s3sel_node *n = node_new(p, S3SEL_N_CAST, name->pos);
    s3sel_node *x = n && next(p) == 0 ? expr(p) : NULL;
    if (!x || add_arg(p, n, x) < 0 || expect_kw(p, "as") < 0)
      return NULL;
    n->op = type_of(&p->tok);
    if (n->op < 0) {
      s3sel_fail(p->err, "ParseInvalidTypeParam",
                 "The SQL expression contains an invalid parameter value at line %d, column %d.",
                 line, col);
      return NULL;
    }
    if (next(p) < 0 || expect_op(p, ")") < 0)
      return NULL;
    return n;
  }
  if (!agg && !known) {
    s3sel_fail(p->err, "UnsupportedFunction",
               "The SQL expression contains an unsupported function %.*s at line %d, column %d.",
               (int)(name->len > 64 ? 64 : name->len), name->start, line, col);
    return NULL;
  }
  s3sel_node *n = node_new(p, agg ? S3SEL_N_AGG : S3SEL_N_FUNC, name->pos);
  if (!n || next(p) < 0)
    return NULL;
  snprintf(n->name, sizeof(n->name), "%s", up);
  if (agg) {
    if (is_op(p, "*")) {
      if (strcmp(up, "COUNT") != 0) {
        s3sel_fail(p->err, "ParseUnsupportedCallWithStar",
                   "Only COUNT with (*) as a parameter is supported in the SQL expression.");
        return NULL;
      }
      n->star = 1;
      if (next(p) < 0 || expect_op(p, ")") < 0)
        return NULL;
    } else {
      s3sel_node *x = expr(p);
      if (!x || add_arg(p, n, x) < 0 || expect_op(p, ")") < 0)
        return NULL;
    }
    s3sel_node **aggs_more = realloc(p->q->aggs, (p->q->naggs + 1) * sizeof(*aggs_more));
    if (!aggs_more) {
      s3sel_fail(p->err, "InternalError", "out of memory");
      return NULL;
    }
    p->q->aggs = aggs_more;
    n->slot = p->q->naggs;
    p->q->aggs[p->q->naggs++] = n;
    return n;
  }
  if (strcmp(up, "TRIM") == 0) {
    n->op = 'B';
    if (is_kw(p, "leading") || is_kw(p, "trailing") || is_kw(p, "both")) {
      n->op = toupper((unsigned char)p->tok.start[0]);
      if (next(p) < 0)
        return NULL;
    }
    s3sel_node *chars = NULL, *x = NULL;
    if (!is_kw(p, "from") && !(x = expr(p)))
      return NULL;
    if (is_kw(p, "from")) {
      chars = x;
      if (next(p) < 0 || !(x = expr(p)))
        return NULL;
    }
    if (!x) {
      unexpected(p);
      return NULL;
    }
    if (add_arg(p, n, x) < 0 || (chars && add_arg(p, n, chars) < 0) || expect_op(p, ")") < 0)
      return NULL;
    return n;
  }
  if (is_op(p, ")")) {
    if (next(p) < 0)
      return NULL;
  } else {
    for (;;) {
      s3sel_node *x = expr(p);
      if (!x || add_arg(p, n, x) < 0)
        return NULL;
      if (strcmp(up, "SUBSTRING") == 0 && (is_kw(p, "from") || is_kw(p, "for"))) {
        if (next(p) < 0)
          return NULL;
        continue;
      }
      if (is_op(p, ",")) {
        if (next(p) < 0)
          return NULL;
        continue;
      }
      if (expect_op(p, ")") < 0)
        return NULL;
      break;
    }
  }
  size_t lo = 1, hi = 1;
  if (strcmp(up, "SUBSTRING") == 0)
    lo = 2, hi = 3;
  else if (strcmp(up, "COALESCE") == 0)
    lo = 1, hi = 1000;
  else if (strcmp(up, "NULLIF") == 0)
    lo = hi = 2;
  if (n->nargs < lo || n->nargs > hi) {
    s3sel_fail(p->err, "IncorrectSqlFunctionArgumentType",
               "Incorrect number of arguments in the call to %s at line %d, column %d.", up, line,
               col);
    return NULL;
  }
  return n;
}

static s3sel_node *primary(parser *p) {
  token t = p->tok;
  s3sel_node *n;
  if (t.type == T_NUMBER) {
    if (!(n = node_new(p, S3SEL_N_LIT, t.pos)))
      return NULL;
    char buf[128];
    if (t.len >= sizeof(buf)) {
      unexpected(p);
      return NULL;
    }
    snprintf(buf, sizeof(buf), "%.*s", (int)t.len, t.start);
    if (strpbrk(buf, "eE")) {
      n->lit.t = S3SEL_FLOAT;
      n->lit.f = strtod(buf, NULL);
    } else if (strchr(buf, '.')) {
      /* A decimal literal, kept exact: digits over a power of ten. */
      char digits[128], *d = digits;
      size_t scale = 0;
      int after = 0;
      for (const char *c = buf; *c; c++) {
        if (*c == '.') {
          after = 1;
          continue;
        }
        *d++ = *c;
        scale += after;
      }
      *d = '\0';
      n->lit.t = S3SEL_DEC;
      mpz_init_set_str(n->lit.d, digits, 10);
      n->lit.scale = (int)scale;
    } else {
      errno = 0;
      long long v = strtoll(buf, NULL, 10);
      if (errno) {
        n->lit.t = S3SEL_DEC;
        mpz_init_set_str(n->lit.d, buf, 10);
      } else {
        n->lit.t = S3SEL_INT;
        n->lit.i = v;
      }
    }
    return next(p) < 0 ? NULL : n;
  }
  if (t.type == T_STRING) {
    if (!(n = node_new(p, S3SEL_N_LIT, t.pos)))
      return NULL;
    n->lit.t = S3SEL_STR;
    if (!(n->lit.s = unquote(&t, &n->lit.len))) {
      s3sel_fail(p->err, "InternalError", "out of memory");
      return NULL;
    }
    return next(p) < 0 ? NULL : n;
  }
  if (is_op(p, "(")) {
    if (next(p) < 0 || !(n = expr(p)) || expect_op(p, ")") < 0)
      return NULL;
    return n;
  }
  if (t.type == T_IDENT &&
      (is_kw(p, "true") || is_kw(p, "false") || is_kw(p, "null") || is_kw(p, "missing"))) {
    if (!(n = node_new(p, S3SEL_N_LIT, t.pos)))
      return NULL;
    n->lit.t = is_kw(p, "null") ? S3SEL_NULL : is_kw(p, "missing") ? S3SEL_MISSING : S3SEL_BOOL;
    n->lit.b = is_kw(p, "true");
    return next(p) < 0 ? NULL : n;
  }
  if (t.type == T_IDENT && is_keyword(&t) && !is_kw(p, "cast")) {
    int line, col;
    where_at(p, t.pos, &line, &col);
    s3sel_fail(p->err, "ParseExpectedExpression",
               "Expected an expression but found KEYWORD:%.*s at line %d, column %d.",
               (int)(t.len > 64 ? 64 : t.len), t.start, line, col);
    return NULL;
  }
  if (t.type == T_IDENT || t.type == T_QIDENT) {
    if (next(p) < 0)
      return NULL;
    if (t.type == T_IDENT && is_op(p, "("))
      return call(p, &t);
    if (!(n = node_new(p, S3SEL_N_PATH, t.pos)))
      return NULL;
    s3sel_step first = {.kind = S3SEL_PATH_MEMBER, .quoted = t.type == T_QIDENT};
    first.name = first.quoted ? unquote(&t, NULL) : strndup(t.start, t.len);
    if (!first.name) {
      s3sel_fail(p->err, "InternalError", "out of memory");
      return NULL;
    }
    if (add_step(p, &n->path, &n->npath, first) < 0 || path_steps(p, &n->path, &n->npath) < 0)
      return NULL;
    /* _0 names no column: CSV columns count from _1. */
    for (size_t i = 0; i < n->npath && i < 2; i++) {
      const char *nm = n->path[i].name;
      if (nm && !n->path[i].quoted && nm[0] == '_' && nm[1] &&
          strspn(nm + 1, "0123456789") == strlen(nm + 1)) {
        if (strtoll(nm + 1, NULL, 10) < 1) {
          s3sel_fail(p->err, "InvalidColumnIndex",
                     "The column index at line 1, column %d is invalid. Please check the service "
                     "documentation and try again.",
                     n->col);
          return NULL;
        }
      }
    }
    return n;
  }
  if (t.type == T_EOF || is_op(p, ")") || is_op(p, ",")) {
    int line, col;
    where_at(p, t.pos, &line, &col);
    s3sel_fail(p->err, "ParseExpectedExpression", "Expected an expression at line %d, column %d.",
               line, col);
    return NULL;
  }
  unexpected(p);
  return NULL;
}

static s3sel_node *unary(parser *p) {
  if (is_op(p, "-") || is_op(p, "+")) {
    int neg = is_op(p, "-");
    size_t pos = p->tok.pos;
    if (++p->depth > S3SEL_MAX_DEPTH) {
      s3sel_fail(p->err, "ExpressionTooLong", "The SQL expression nests deeper than %d levels.",
                 S3SEL_MAX_DEPTH);
      return NULL;
    }
    if (next(p) < 0)
      return NULL;
    s3sel_node *x = unary(p);
    p->depth--;
    if (!x || !neg)
      return x;
    s3sel_node *n = node_new(p, S3SEL_N_NEG, pos);
    return n && add_arg(p, n, x) == 0 ? n : NULL;
  }
  return primary(p);
}

static s3sel_node *binary(parser *p, int kind, int op, s3sel_node *l, s3sel_node *r) {
  s3sel_node *n = node_new(p, kind, 0);
  if (!n || add_arg(p, n, l) < 0 || add_arg(p, n, r) < 0)
    return NULL;
  n->col = l->col;
  n->op = op;
  return n;
}

static s3sel_node *mul(parser *p) {
  s3sel_node *l = unary(p);
  while (l && (is_op(p, "*") || is_op(p, "/") || is_op(p, "%"))) {
    int op = p->tok.start[0];
    s3sel_node *r = next(p) == 0 ? unary(p) : NULL;
    l = r ? binary(p, S3SEL_N_ARITH, op, l, r) : NULL;
  }
  return l;
}

static s3sel_node *add(parser *p) {
  s3sel_node *l = mul(p);
  while (l && (is_op(p, "+") || is_op(p, "-") || is_op(p, "||"))) {
    int op = p->tok.len == 2 ? '|' : p->tok.start[0];
    s3sel_node *r = next(p) == 0 ? mul(p) : NULL;
    l = r ? binary(p, S3SEL_N_ARITH, op, l, r) : NULL;
  }
  return l;
}

static s3sel_node *comparison(parser *p) {
  s3sel_node *l = add(p);
  if (!l)
    return NULL;
  static const struct {
    const char *text;
    int op;
  } cmps[] = {{"=", '='},  {"<>", '!'}, {"!=", '!'}, {"<", '<'},
              {"<=", 'l'}, {">", '>'},  {">=", 'g'}};
  for (size_t i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++) {
    if (is_op(p, cmps[i].text)) {
      s3sel_node *r = next(p) == 0 ? add(p) : NULL;
      return r ? binary(p, S3SEL_N_CMP, cmps[i].op, l, r) : NULL;
    }
  }
  if (is_kw(p, "is")) {
    s3sel_node *n = node_new(p, S3SEL_N_IS, 0);
    if (!n || next(p) < 0 || add_arg(p, n, l) < 0)
      return NULL;
    n->col = l->col;
    if (is_kw(p, "not")) {
      n->negate = 1;
      if (next(p) < 0)
        return NULL;
    }
    if (!is_kw(p, "null") && !is_kw(p, "missing")) {
      unexpected(p);
      return NULL;
    }
    n->op = is_kw(p, "null") ? 'N' : 'M';
    return next(p) < 0 ? NULL : n;
  }
  int negate = 0;
  if (is_kw(p, "not")) {
    negate = 1;
    if (next(p) < 0)
      return NULL;
    if (!is_kw(p, "like") && !is_kw(p, "between") && !is_kw(p, "in")) {
      unexpected(p);
      return NULL;
    }
  }
  s3sel_node *n = NULL;
  if (is_kw(p, "like")) {
    n = node_new(p, S3SEL_N_LIKE, 0);
    s3sel_node *pat = n && next(p) == 0 ? add(p) : NULL;
    if (!pat || add_arg(p, n, l) < 0 || add_arg(p, n, pat) < 0)
      return NULL;
    if (is_kw(p, "escape")) {
      s3sel_node *esc = next(p) == 0 ? add(p) : NULL;
      if (!esc || add_arg(p, n, esc) < 0)
        return NULL;
    }
  } else if (is_kw(p, "between")) {
    n = node_new(p, S3SEL_N_BETWEEN, 0);
    s3sel_node *lo = n && next(p) == 0 ? add(p) : NULL;
    if (!lo || expect_kw(p, "and") < 0)
      return NULL;
    s3sel_node *hi = add(p);
    if (!hi || add_arg(p, n, l) < 0 || add_arg(p, n, lo) < 0 || add_arg(p, n, hi) < 0)
      return NULL;
  } else if (is_kw(p, "in")) {
    n = node_new(p, S3SEL_N_IN, 0);
    if (!n || next(p) < 0 || expect_op(p, "(") < 0 || add_arg(p, n, l) < 0)
      return NULL;
    for (;;) {
      s3sel_node *x = expr(p);
      if (!x || add_arg(p, n, x) < 0)
        return NULL;
      if (is_op(p, ",")) {
        if (next(p) < 0)
          return NULL;
        continue;
      }
      if (expect_op(p, ")") < 0)
        return NULL;
      break;
    }
  } else {
    return l;
  }
  if (n) {
    n->negate = negate;
    n->col = l->col;
  }
  return n;
}

static s3sel_node *not_expr(parser *p) {
  if (is_kw(p, "not")) {
    size_t pos = p->tok.pos;
    if (++p->depth > S3SEL_MAX_DEPTH)
      goto deep;
    if (next(p) < 0)
      return NULL;
    s3sel_node *x = not_expr(p);
    p->depth--;
    s3sel_node *n = x ? node_new(p, S3SEL_N_NOT, pos) : NULL;
    return n && add_arg(p, n, x) == 0 ? n : NULL;
  }
  return comparison(p);
deep:
  s3sel_fail(p->err, "ExpressionTooLong", "The SQL expression nests deeper than %d levels.",
             S3SEL_MAX_DEPTH);
  return NULL;
}

static s3sel_node *and_expr(parser *p) {
  s3sel_node *l = not_expr(p);
  while (l && is_kw(p, "and")) {
    s3sel_node *r = next(p) == 0 ? not_expr(p) : NULL;
    l = r ? binary(p, S3SEL_N_AND, 0, l, r) : NULL;
  }
  return l;
}

static s3sel_node *expr(parser *p) {
  if (++p->depth > S3SEL_MAX_DEPTH) {
    s3sel_fail(p->err, "ExpressionTooLong", "The SQL expression nests deeper than %d levels.",
               S3SEL_MAX_DEPTH);
    return NULL;
  }
  s3sel_node *l = and_expr(p);
  while (l && is_kw(p, "or")) {
    s3sel_node *r = next(p) == 0 ? and_expr(p) : NULL;
    l = r ? binary(p, S3SEL_N_OR, 0, l, r) : NULL;
  }
  p->depth--;
  return l;
}

static int has_agg(const s3sel_node *n) {
  if (n->kind == S3SEL_N_AGG)
    return 1;
  for (size_t i = 0; i < n->nargs; i++)
    if (has_agg(n->args[i]))
      return 1;
  return 0;
}

/* A path outside any aggregate call, in an aggregate query. */
static int bare_path(const s3sel_node *n) {
  if (n->kind == S3SEL_N_AGG)
    return 0;
  if (n->kind == S3SEL_N_PATH)
    return 1;
  for (size_t i = 0; i < n->nargs; i++)
    if (bare_path(n->args[i]))
      return 1;
  return 0;
}

static int alias_name(parser *p, char **out) {
  if (is_kw(p, "as")) {
    if (next(p) < 0)
      return -1;
    if (p->tok.type != T_IDENT && p->tok.type != T_QIDENT) {
      unexpected(p);
      return -1;
    }
  } else if (!(p->tok.type == T_QIDENT || (p->tok.type == T_IDENT && !is_keyword(&p->tok)))) {
    return 0;
  }
  *out = p->tok.type == T_QIDENT ? unquote(&p->tok, NULL) : strndup(p->tok.start, p->tok.len);
  if (!*out) {
    s3sel_fail(p->err, "InternalError", "out of memory");
    return -1;
  }
  return next(p);
}

static int statement(parser *p) {
  s3sel_query *q = p->q;
  if (next(p) < 0 || expect_kw(p, "select") < 0)
    return -1;
  if (is_op(p, "*")) {
    q->star = 1;
    if (next(p) < 0)
      return -1;
  } else {
    for (;;) {
      if (q->nitems % 16 == 0) {
        s3sel_item *more = realloc(q->items, (q->nitems + 16) * sizeof(*more));
        if (!more) {
          s3sel_fail(p->err, "InternalError", "out of memory");
          return -1;
        }
        q->items = more;
      }
      s3sel_item *it = &q->items[q->nitems];
      it->alias = NULL;
      if (is_op(p, "*")) {
        s3sel_fail(p->err, "ParseAsteriskIsNotAloneInSelectList",
                   "Other expressions are not allowed in the SELECT list when '*' is used "
                   "without dot notation in the SQL expression.");
        return -1;
      }
      if (!(it->expr = expr(p)))
        return -1;
      q->nitems++;
      if (alias_name(p, &it->alias) < 0)
        return -1;
      if (!is_op(p, ","))
        break;
      if (next(p) < 0)
        return -1;
    }
  }
  if (!is_kw(p, "from")) {
    if (p->tok.type == T_EOF) {
      s3sel_fail(p->err, "ParseSelectMissingFrom",
                 "The SQL expression contains a missing FROM after the SELECT list.");
      return -1;
    }
    unexpected(p);
    return -1;
  }
  if (next(p) < 0)
    return -1;
  if (!(p->tok.type == T_IDENT && p->tok.len == 8 &&
        strncasecmp(p->tok.start, "s3object", 8) == 0)) {
    if (p->tok.type != T_IDENT || is_keyword(&p->tok)) {
      unexpected(p);
      return -1;
    }
    s3sel_fail(p->err, "UnsupportedSyntax", "The FROM clause must name S3Object.");
    return -1;
  }
  if (next(p) < 0 || path_steps(p, &q->from, &q->nfrom) < 0 || alias_name(p, &q->alias) < 0)
    return -1;
  if (is_kw(p, "where")) {
    if (next(p) < 0 || !(q->where = expr(p)))
      return -1;
    if (has_agg(q->where)) {
      s3sel_fail(p->err, "ParseUnsupportedSyntax",
                 "Aggregate functions are not allowed in the WHERE clause.");
      return -1;
    }
  }
  q->limit = -1;
  if (is_kw(p, "limit")) {
    if (next(p) < 0)
      return -1;
    if (is_op(p, "-")) {
      s3sel_fail(p->err, "EvaluatorNegativeLimit", "The LIMIT clause cannot be negative.");
      return -1;
    }
    if (p->tok.type != T_NUMBER || memchr(p->tok.start, '.', p->tok.len) ||
        memchr(p->tok.start, 'e', p->tok.len) || memchr(p->tok.start, 'E', p->tok.len)) {
      unexpected(p);
      return -1;
    }
    errno = 0;
    char buf[32];
    snprintf(buf, sizeof(buf), "%.*s", (int)(p->tok.len < 31 ? p->tok.len : 31), p->tok.start);
    q->limit = strtoll(buf, NULL, 10);
    if (errno || p->tok.len > 30)
      q->limit = INT64_MAX;
    if (next(p) < 0)
      return -1;
  }
  if (p->tok.type != T_EOF) {
    unexpected(p);
    return -1;
  }
  for (size_t i = 0; i < q->nitems; i++)
    q->aggregate |= has_agg(q->items[i].expr);
  for (size_t i = 0; q->aggregate && i < q->nitems; i++) {
    if (bare_path(q->items[i].expr)) {
      s3sel_fail(p->err, "ParseNonUnaryAgregateFunctionCall",
                 "Only one argument is supported for aggregate functions, and the SELECT list "
                 "cannot mix aggregate functions with non-aggregate expressions.");
      p->err->code = "UnsupportedSyntax";
      return -1;
    }
  }
  for (size_t i = 0; i < q->naggs; i++) {
    for (size_t j = 0; j < q->aggs[i]->nargs; j++) {
      if (has_agg(q->aggs[i]->args[j])) {
        s3sel_fail(p->err, "ParseUnsupportedSyntax", "Aggregate functions cannot be nested.");
        return -1;
      }
    }
  }
  return 0;
}

int s3sel_parse(s3sel_query **out, const char *sql, size_t len, s3sel_error *err) {
  if (len > S3SEL_MAX_EXPRESSION) {
    s3sel_fail(err, "ExpressionTooLong",
               "The SQL expression is too long: The maximum byte-length for the SQL expression "
               "is 256 KB.");
    return -1;
  }
  s3sel_query *q = calloc(1, sizeof(*q));
  if (!q) {
    s3sel_fail(err, "InternalError", "out of memory");
    return -1;
  }
  parser p = {.sql = sql, .len = len, .q = q, .err = err};
  if (statement(&p) < 0) {
    if (!err->code)
      s3sel_fail(err, "InternalError", "out of memory");
    s3sel_query_free(q);
    return -1;
  }
  *out = q;
  return 0;
}

static void steps_free(s3sel_step *steps, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(steps[i].name);
  free(steps);
}

void s3sel_query_free(s3sel_query *q) {
  if (!q)
    return;
  for (size_t i = 0; i < q->nall; i++) {
    s3sel_node *n = q->all[i];
    s3sel_value_clear(&n->lit);
    s3sel_value_clear(&n->acc);
    free(n->args);
    steps_free(n->path, n->npath);
    free(n);
  }
  free(q->all);
  for (size_t i = 0; i < q->nitems; i++)
    free(q->items[i].alias);
  free(q->items);
  steps_free(q->from, q->nfrom);
  free(q->alias);
  free(q->aggs);
  free(q);
}
