/*
 * logs_pattern.c — CloudWatch Logs filter patterns (metric filters,
 * subscription filters, FilterLogEvents), parsed once into a tree and then
 * matched against each event:
 *
 *   terms       ERROR "exact phrase" -excluded %regex%
 *               ?ERROR ?WARN           — each '?' starts an alternative group;
 *                                        an event matches if any group does,
 *                                        a group if all its terms do
 *   JSON        { $.a.b[0] = "x*" && ($.n >= 10 || $.f IS TRUE) },
 *               { $.s != "y" }, { $.k NOT EXISTS }, { $.v IS NULL }
 *   delimited   [ip, user, ..., status = 4* || status = 5*, bytes > 1000]
 *
 * Terms match case-sensitively anywhere in the message; '*' in a string
 * value is a wildcard; numeric comparisons need numbers on both sides.
 * Regexes (%…%) use POSIX extended syntax restricted to the characters AWS
 * accepts (no groups), at most two per pattern. The text is at most
 * LOGS_MAX_PATTERN bytes and nesting at most PAT_MAX_DEPTH deep, so the tree
 * is bounded; a malformed pattern is an error with a message, never a
 * partial tree.
 */
#include "emulator/logs/logs_int.h"

#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAT_MAX_DEPTH 32
#define PAT_MAX_REGEX 2
#define PAT_MAX_TOKENS 256 /* fields of a delimited message considered */

typedef enum {
  OP_EQ,
  OP_NE,
  OP_LT,
  OP_LE,
  OP_GT,
  OP_GE,
  OP_EXISTS,
  OP_NOT_EXISTS,
  OP_NULL,
  OP_TRUE,
  OP_FALSE
} pat_op;

typedef struct pat_node {
  int kind; /* 0 comparison, 1 and, 2 or */
  struct pat_node *l, *r;
  char *sel; /* JSON selector or field name */
  pat_op op;
  char *str; /* value text (wildcards kept) */
  int is_num;
  double num;
  regex_t *re;
} pat_node;

typedef struct pat_term {
  char *text;
  size_t len;
  int neg;
  regex_t *re;
} pat_term;

typedef struct pat_field {
  char *name; /* NULL: "..." */
} pat_field;

struct logs_pattern {
  int kind; /* 0 match all, 1 terms, 2 JSON, 3 delimited */
  pat_term *terms;
  int *group; /* group index of each term */
  size_t nterms;
  int ngroups;
  pat_node *expr; /* JSON; delimited: conjunction of the fields' conditions */
  pat_field *fields;
  size_t nfields;
  int nregex;
};

/* ---- lexer ---- */

enum {
  TK_END,
  TK_LBRACE,
  TK_RBRACE,
  TK_LBRACK,
  TK_RBRACK,
  TK_LPAREN,
  TK_RPAREN,
  TK_COMMA,
  TK_AND,
  TK_OR,
  TK_OP,
  TK_STRING,
  TK_WORD,
  TK_ELLIPSIS,
  TK_REGEX
};

typedef struct lexer {
  const char *s;
  size_t pos, len;
  int tk;
  char *text; /* owned: string/word/regex text */
  pat_op op;
  char *err;
  size_t errlen;
  int failed, depth;
  logs_pattern *p;
} lexer;

static int fail(lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(lexer *lx, const char *fmt, ...) {
  if (!lx->failed) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err, lx->errlen, fmt, ap);
    va_end(ap);
  }
  lx->failed = 1;
  return -1;
}

static int word_char(char c, int selector) {
  if (isspace((unsigned char)c) || c == '\0')
    return 0;
  if (selector && (c == '[' || c == ']'))
    return 1;
  return !strchr("{}[](),=!<>&|\"", c);
}

static char *copy(const char *s, size_t n) {
  char *o = malloc(n + 1);
  if (o) {
    memcpy(o, s, n);
    o[n] = '\0';
  }
  return o;
}

/* A quoted string starting at s[pos] == '"'; escapes \" and \\. */
static int lex_quoted(lexer *lx) {
  char *out = malloc(lx->len - lx->pos + 1);
  size_t n = 0;
  if (!out)
    return fail(lx, "out of memory");
  for (size_t i = lx->pos + 1; i < lx->len; i++) {
    char c = lx->s[i];
    if (c == '\\' && i + 1 < lx->len && (lx->s[i + 1] == '"' || lx->s[i + 1] == '\\')) {
      out[n++] = lx->s[++i];
    } else if (c == '"') {
      out[n] = '\0';
      lx->text = out;
      lx->pos = i + 1;
      lx->tk = TK_STRING;
      return 0;
    } else {
      out[n++] = c;
    }
  }
  free(out);
  return fail(lx, "unterminated quoted string");
}

static int lex_regex(lexer *lx) {
  const char *end = memchr(lx->s + lx->pos + 1, '%', lx->len - lx->pos - 1);
  if (!end)
    return fail(lx, "unterminated regular expression (%%...%%)");
  size_t n = (size_t)(end - (lx->s + lx->pos + 1));
  if (n == 0)
    return fail(lx, "empty regular expression");
  lx->text = copy(lx->s + lx->pos + 1, n);
  if (!lx->text)
    return fail(lx, "out of memory");
  lx->pos += n + 2;
  lx->tk = TK_REGEX;
  return 0;
}

static int lex_next(lexer *lx) {
  free(lx->text);
  lx->text = NULL;
  while (lx->pos < lx->len && isspace((unsigned char)lx->s[lx->pos]))
    lx->pos++;
  if (lx->pos >= lx->len) {
    lx->tk = TK_END;
    return 0;
  }
  const char *c = lx->s + lx->pos;
  size_t left = lx->len - lx->pos;
  static const struct {
    const char *t;
    int tk;
    pat_op op;
  } fixed[] = {{"...", TK_ELLIPSIS, OP_EQ}, {"&&", TK_AND, OP_EQ},   {"||", TK_OR, OP_EQ},
               {"!=", TK_OP, OP_NE},        {"<=", TK_OP, OP_LE},    {">=", TK_OP, OP_GE},
               {"=", TK_OP, OP_EQ},         {"<", TK_OP, OP_LT},     {">", TK_OP, OP_GT},
               {"{", TK_LBRACE, OP_EQ},     {"}", TK_RBRACE, OP_EQ}, {"[", TK_LBRACK, OP_EQ},
               {"]", TK_RBRACK, OP_EQ},     {"(", TK_LPAREN, OP_EQ}, {")", TK_RPAREN, OP_EQ},
               {",", TK_COMMA, OP_EQ}};
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
    size_t n = strlen(fixed[i].t);
    if (left >= n && memcmp(c, fixed[i].t, n) == 0) {
      lx->tk = fixed[i].tk;
      lx->op = fixed[i].op;
      lx->pos += n;
      return 0;
    }
  }
  if (*c == '"')
    return lex_quoted(lx);
  if (*c == '%')
    return lex_regex(lx);
  size_t n = 0;
  int selector = *c == '$';
  while (n < left && word_char(c[n], selector))
    n++;
  if (n == 0)
    return fail(lx, "unexpected character '%c' at offset %zu", *c, lx->pos);
  lx->text = copy(c, n);
  if (!lx->text)
    return fail(lx, "out of memory");
  lx->pos += n;
  lx->tk = TK_WORD;
  return 0;
}

/* ---- regexes ---- */

static regex_t *regex_make(lexer *lx, const char *text) {
  if (++lx->p->nregex > PAT_MAX_REGEX) {
    fail(lx, "a filter pattern may hold at most %d regular expressions", PAT_MAX_REGEX);
    return NULL;
  }
  for (const char *q = text; *q; q++)
    if (!isalnum((unsigned char)*q) && !strchr(":_#=@/;,-^$?[]{}|\\*+. ", *q)) {
      fail(lx, "character '%c' is not allowed in a regular expression", *q);
      return NULL;
    }
  regex_t *re = malloc(sizeof(*re));
  if (!re || regcomp(re, text, REG_EXTENDED | REG_NOSUB) != 0) {
    free(re);
    fail(lx, "invalid regular expression %%%.64s%%", text);
    return NULL;
  }
  return re;
}

static void regex_free(regex_t *re) {
  if (re) {
    regfree(re);
    free(re);
  }
}

/* ---- expressions (JSON and delimited conditions) ---- */

static void node_free(pat_node *n) {
  if (!n)
    return;
  node_free(n->l);
  node_free(n->r);
  free(n->sel);
  free(n->str);
  regex_free(n->re);
  free(n);
}

static int parse_number(const char *s, double *out) {
  char *end = NULL;
  if (!*s)
    return 0;
  double v = strtod(s, &end);
  if (!end || *end || !(isdigit((unsigned char)*s) || *s == '-' || *s == '+' || *s == '.'))
    return 0;
  *out = v;
  return 1;
}

static pat_node *parse_or(lexer *lx, int json);

/* selector-or-name op value | selector IS [NOT] NULL/TRUE/FALSE | selector [NOT] EXISTS */
static pat_node *parse_cmp(lexer *lx, int json) {
  if (lx->tk != TK_WORD || (json && lx->text[0] != '$') ||
      (!json && !(isalpha((unsigned char)lx->text[0]) || lx->text[0] == '_'))) {
    fail(lx,
         json ? "expected a selector ($.field) at offset %zu"
              : "expected a field name at offset %zu",
         lx->pos);
    return NULL;
  }
  if (json && (strlen(lx->text) < 2 || (lx->text[1] != '.' && lx->text[1] != '['))) {
    fail(lx, "invalid selector '%.64s'", lx->text);
    return NULL;
  }
  pat_node *n = calloc(1, sizeof(*n));
  if (!n) {
    fail(lx, "out of memory");
    return NULL;
  }
  n->sel = lx->text;
  lx->text = NULL;
  if (lex_next(lx) < 0)
    goto bad;
  if (lx->tk == TK_WORD && json && strcmp(lx->text, "IS") == 0) {
    if (lex_next(lx) < 0 || lx->tk != TK_WORD)
      goto expect;
    if (strcmp(lx->text, "NULL") == 0)
      n->op = OP_NULL;
    else if (strcmp(lx->text, "TRUE") == 0)
      n->op = OP_TRUE;
    else if (strcmp(lx->text, "FALSE") == 0)
      n->op = OP_FALSE;
    else
      goto expect;
    if (lex_next(lx) < 0)
      goto bad;
    return n;
  }
  if (lx->tk == TK_WORD && json && strcmp(lx->text, "NOT") == 0) {
    if (lex_next(lx) < 0 || lx->tk != TK_WORD || strcmp(lx->text, "EXISTS") != 0)
      goto expect;
    n->op = OP_NOT_EXISTS;
    if (lex_next(lx) < 0)
      goto bad;
    return n;
  }
  if (lx->tk == TK_WORD && json && strcmp(lx->text, "EXISTS") == 0) {
    n->op = OP_EXISTS;
    if (lex_next(lx) < 0)
      goto bad;
    return n;
  }
  if (lx->tk != TK_OP) {
    if (!json) { /* a bare field name */
      n->op = OP_EXISTS;
      return n;
    }
    goto expect;
  }
  n->op = lx->op;
  if (lex_next(lx) < 0)
    goto bad;
  if (lx->tk == TK_REGEX) {
    if (n->op != OP_EQ && n->op != OP_NE) {
      fail(lx, "a regular expression needs = or !=");
      goto bad;
    }
    if (!(n->re = regex_make(lx, lx->text)))
      goto bad;
  } else if (lx->tk == TK_STRING || lx->tk == TK_WORD) {
    n->is_num = lx->tk == TK_WORD && parse_number(lx->text, &n->num);
    if (!n->is_num && n->op != OP_EQ && n->op != OP_NE) {
      fail(lx, "'%.64s' is not a number: only = and != compare strings", lx->text);
      goto bad;
    }
    n->str = lx->text;
    lx->text = NULL;
  } else {
    goto expect;
  }
  if (lex_next(lx) < 0)
    goto bad;
  return n;
expect:
  fail(lx, "expected a comparison after %.64s at offset %zu", n->sel, lx->pos);
bad:
  node_free(n);
  return NULL;
}

static pat_node *parse_unary(lexer *lx, int json) {
  if (lx->tk != TK_LPAREN)
    return parse_cmp(lx, json);
  if (++lx->depth > PAT_MAX_DEPTH) {
    fail(lx, "parentheses nested too deeply");
    return NULL;
  }
  if (lex_next(lx) < 0)
    return NULL;
  pat_node *n = parse_or(lx, json);
  if (n && lx->tk != TK_RPAREN) {
    fail(lx, "expected ')' at offset %zu", lx->pos);
    node_free(n);
    return NULL;
  }
  lx->depth--;
  if (n && lex_next(lx) < 0) {
    node_free(n);
    return NULL;
  }
  return n;
}

static pat_node *binary(lexer *lx, int kind, pat_node *l, pat_node *r) {
  pat_node *n = calloc(1, sizeof(*n));
  if (!n) {
    node_free(l);
    node_free(r);
    fail(lx, "out of memory");
    return NULL;
  }
  n->kind = kind;
  n->l = l;
  n->r = r;
  return n;
}

static pat_node *parse_and(lexer *lx, int json) {
  pat_node *l = parse_unary(lx, json);
  while (l && lx->tk == TK_AND) {
    if (lex_next(lx) < 0) {
      node_free(l);
      return NULL;
    }
    pat_node *r = parse_unary(lx, json);
    if (!r) {
      node_free(l);
      return NULL;
    }
    l = binary(lx, 1, l, r);
  }
  return l;
}

static pat_node *parse_or(lexer *lx, int json) {
  pat_node *l = parse_and(lx, json);
  while (l && lx->tk == TK_OR) {
    if (lex_next(lx) < 0) {
      node_free(l);
      return NULL;
    }
    pat_node *r = parse_and(lx, json);
    if (!r) {
      node_free(l);
      return NULL;
    }
    l = binary(lx, 2, l, r);
  }
  return l;
}

/* ---- the three pattern kinds ---- */

static int parse_json(lexer *lx) {
  lx->pos++; /* past '{' */
  if (lex_next(lx) < 0)
    return -1;
  lx->p->expr = parse_or(lx, 1);
  if (!lx->p->expr)
    return fail(lx, "invalid JSON filter pattern");
  if (lx->tk != TK_RBRACE)
    return fail(lx, "expected '}' at offset %zu", lx->pos);
  if (lex_next(lx) < 0 || lx->tk != TK_END)
    return fail(lx, "unexpected text after '}'");
  lx->p->kind = 2;
  return 0;
}

/* The name a delimited field's condition is about (its first name). */
static const char *node_name(const pat_node *n) { return n->kind ? node_name(n->l) : n->sel; }

static int parse_delimited(lexer *lx) {
  logs_pattern *p = lx->p;
  lx->pos++; /* past '[' */
  if (lex_next(lx) < 0)
    return -1;
  size_t cap = 0;
  for (;;) {
    if (p->nfields == cap) {
      cap = cap ? cap * 2 : 8;
      pat_field *f = realloc(p->fields, cap * sizeof(*f));
      if (!f)
        return fail(lx, "out of memory");
      p->fields = f;
    }
    pat_field *f = &p->fields[p->nfields];
    f->name = NULL;
    if (lx->tk == TK_ELLIPSIS) {
      p->nfields++;
      if (lex_next(lx) < 0)
        return -1;
    } else {
      pat_node *cond = parse_or(lx, 0);
      if (!cond)
        return fail(lx, "invalid field in a space-delimited filter pattern");
      f->name = strdup(node_name(cond));
      p->nfields++;
      if (!f->name) {
        node_free(cond);
        return fail(lx, "out of memory");
      }
      if (cond->kind == 0 && cond->op == OP_EXISTS) {
        node_free(cond);
      } else {
        p->expr = p->expr ? binary(lx, 1, p->expr, cond) : cond;
        if (!p->expr)
          return -1;
      }
    }
    if (lx->tk == TK_RBRACK)
      break;
    if (lx->tk != TK_COMMA)
      return fail(lx, "expected ',' or ']' at offset %zu", lx->pos);
    if (lex_next(lx) < 0)
      return -1;
  }
  if (lex_next(lx) < 0 || lx->tk != TK_END)
    return fail(lx, "unexpected text after ']'");
  p->kind = 3;
  return 0;
}

/* Terms: split on spaces outside quotes. */
static int parse_terms(lexer *lx) {
  logs_pattern *p = lx->p;
  size_t cap = 0;
  int group = 0;
  const char *s = lx->s;
  size_t i = 0;
  while (i < lx->len) {
    while (i < lx->len && isspace((unsigned char)s[i]))
      i++;
    if (i >= lx->len)
      break;
    int alt = 0, neg = 0;
    if (s[i] == '?') {
      alt = 1;
      i++;
    }
    if (i < lx->len && s[i] == '-' && i + 1 < lx->len && !isspace((unsigned char)s[i + 1])) {
      neg = 1;
      i++;
    }
    if (alt && (p->nterms > 0 || group > 0))
      group++;
    if (p->nterms == cap) {
      cap = cap ? cap * 2 : 8;
      pat_term *t = realloc(p->terms, cap * sizeof(*t));
      int *g = realloc(p->group, cap * sizeof(*g));
      if (t)
        p->terms = t;
      if (g)
        p->group = g;
      if (!t || !g)
        return fail(lx, "out of memory");
    }
    pat_term *t = &p->terms[p->nterms];
    memset(t, 0, sizeof(*t));
    t->neg = neg;
    p->group[p->nterms] = group;
    lx->pos = i;
    if (i < lx->len && (s[i] == '"' || s[i] == '%')) {
      if ((s[i] == '"' ? lex_quoted(lx) : lex_regex(lx)) < 0)
        return -1;
      if (s[i] == '%' && !(t->re = regex_make(lx, lx->text)))
        return -1;
      t->text = lx->text;
      lx->text = NULL;
      i = lx->pos;
    } else {
      size_t start = i;
      while (i < lx->len && !isspace((unsigned char)s[i]))
        i++;
      if (i == start)
        return fail(lx, "empty term at offset %zu", start);
      for (size_t k = start; k < i; k++)
        if (s[k] == '"' || strchr("{}[]", s[k]))
          return fail(lx,
                      "invalid character '%c' in term; quote terms with non-alphanumeric "
                      "characters",
                      s[k]);
      t->text = copy(s + start, i - start);
      if (!t->text)
        return fail(lx, "out of memory");
    }
    t->len = strlen(t->text);
    p->nterms++;
  }
  p->ngroups = group + 1;
  p->kind = p->nterms ? 1 : 0;
  return 0;
}

void logs_pattern_free(logs_pattern *p) {
  if (!p)
    return;
  for (size_t i = 0; i < p->nterms; i++) {
    free(p->terms[i].text);
    regex_free(p->terms[i].re);
  }
  free(p->terms);
  free(p->group);
  for (size_t i = 0; i < p->nfields; i++)
    free(p->fields[i].name);
  free(p->fields);
  node_free(p->expr);
  free(p);
}

int logs_pattern_parse(logs_pattern **out, const char *text, char *err, size_t errlen) {
  logs_pattern *p = calloc(1, sizeof(*p));
  lexer lx = {.s = text, .len = strlen(text), .err = err, .errlen = errlen, .p = p};
  if (!p) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (lx.len > LOGS_MAX_PATTERN) {
    fail(&lx, "the pattern is longer than %d characters", LOGS_MAX_PATTERN);
  } else {
    size_t i = 0;
    while (i < lx.len && isspace((unsigned char)text[i]))
      i++;
    lx.pos = i;
    if (i < lx.len && text[i] == '{')
      parse_json(&lx);
    else if (i < lx.len && text[i] == '[')
      parse_delimited(&lx);
    else
      parse_terms(&lx);
  }
  free(lx.text);
  if (lx.failed) {
    logs_pattern_free(p);
    return -1;
  }
  *out = p;
  return 0;
}

/* ---- matching ---- */

/* '*' matches any run of characters. */
static int wildcard(const char *pat, const char *s) {
  const char *star = NULL, *back = NULL;
  while (*s) {
    if (*pat == '*') {
      star = pat++;
      back = s;
    } else if (*pat == *s) {
      pat++;
      s++;
    } else if (star) {
      pat = star + 1;
      s = ++back;
    } else {
      return 0;
    }
  }
  while (*pat == '*')
    pat++;
  return *pat == '\0';
}

/* Compares a value (string text, or number when have_num) with a condition. */
static int compare(const pat_node *n, const char *text, int have_num, double num) {
  if (n->re) {
    int m = regexec(n->re, text, 0, NULL, 0) == 0;
    return n->op == OP_EQ ? m : !m;
  }
  if (n->is_num && have_num) {
    switch (n->op) {
    case OP_EQ: return num == n->num;
    case OP_NE: return num != n->num;
    case OP_LT: return num < n->num;
    case OP_LE: return num <= n->num;
    case OP_GT: return num > n->num;
    case OP_GE: return num >= n->num;
    default: return 0;
    }
  }
  if (n->op == OP_EQ)
    return wildcard(n->str, text);
  if (n->op == OP_NE)
    return !wildcard(n->str, text);
  return 0;
}

/* The JSON value a selector ("$.a.b[0]") names, or NULL. */
static json_t *select_json(json_t *doc, const char *sel) {
  const char *q = sel + 1;
  json_t *cur = doc;
  while (*q && cur) {
    if (*q == '.') {
      const char *e = ++q;
      while (*e && *e != '.' && *e != '[')
        e++;
      char key[256];
      size_t n = (size_t)(e - q);
      if (n == 0 || n >= sizeof(key))
        return NULL;
      memcpy(key, q, n);
      key[n] = '\0';
      cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
      q = e;
    } else if (*q == '[') {
      char *end = NULL;
      unsigned long idx = strtoul(q + 1, &end, 10);
      if (!end || *end != ']' || !isdigit((unsigned char)q[1]))
        return NULL;
      cur = json_is_array(cur) ? json_array_get(cur, idx) : NULL;
      q = end + 1;
    } else {
      return NULL;
    }
  }
  return cur;
}

static int eval_json(const pat_node *n, json_t *doc, json_t *extracted) {
  if (n->kind == 1)
    return eval_json(n->l, doc, extracted) && eval_json(n->r, doc, extracted);
  if (n->kind == 2)
    return eval_json(n->l, doc, extracted) || eval_json(n->r, doc, extracted);
  json_t *v = select_json(doc, n->sel);
  if (extracted && v) {
    char *text = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
    if (text)
      json_object_set_new(extracted, n->sel, json_string(text));
    free(text);
  }
  switch (n->op) {
  case OP_EXISTS: return v != NULL;
  case OP_NOT_EXISTS: return v == NULL;
  case OP_NULL: return json_is_null(v);
  case OP_TRUE: return json_is_true(v);
  case OP_FALSE: return json_is_false(v);
  default: break;
  }
  if (!v)
    return 0;
  if (json_is_number(v))
    return n->is_num ? compare(n, "", 1, json_number_value(v)) : 0;
  if (json_is_string(v))
    return compare(n, json_string_value(v), 0, 0);
  if (json_is_boolean(v) || json_is_null(v))
    return compare(n, json_is_null(v) ? "null" : json_is_true(v) ? "true" : "false", 0, 0);
  return 0;
}

/* Splits a message into space-delimited fields ("quoted" and [bracketed]
 * fields are one each, without their delimiters). */
static size_t split_fields(char *buf, char **tok, size_t max) {
  size_t n = 0;
  char *p = buf;
  while (*p && n < max) {
    while (*p && isspace((unsigned char)*p))
      p++;
    if (!*p)
      break;
    char close = *p == '"' ? '"' : *p == '[' ? ']' : 0;
    if (close) {
      char *e = strchr(p + 1, close);
      if (e) {
        tok[n++] = p + 1;
        *e = '\0';
        p = e + 1;
        continue;
      }
    }
    tok[n++] = p;
    while (*p && !isspace((unsigned char)*p))
      p++;
    if (*p)
      *p++ = '\0';
  }
  return n;
}

/* Assigns tokens to fields; '...' takes any number. val[i] gets field i's.
 * memo marks (field, token) states known to fail, so several ellipses cost
 * at most fields x tokens x tokens steps instead of exponential time. */
static int assign(const logs_pattern *p, size_t f, char **tok, size_t t, size_t ntok,
                  const char **val, unsigned char *memo) {
  unsigned char *seen = &memo[f * (ntok + 1) + t];
  if (*seen)
    return 0;
  int ok;
  if (f == p->nfields) {
    ok = t == ntok;
  } else if (!p->fields[f].name) {
    ok = 0;
    for (size_t k = t; k <= ntok && !ok; k++)
      ok = assign(p, f + 1, tok, k, ntok, val, memo);
  } else {
    ok = t < ntok;
    if (ok) {
      val[f] = tok[t];
      ok = assign(p, f + 1, tok, t + 1, ntok, val, memo);
    }
  }
  *seen = !ok;
  return ok;
}

static int eval_fields(const pat_node *n, const logs_pattern *p, const char **val) {
  if (n->kind == 1)
    return eval_fields(n->l, p, val) && eval_fields(n->r, p, val);
  if (n->kind == 2)
    return eval_fields(n->l, p, val) || eval_fields(n->r, p, val);
  const char *v = NULL;
  for (size_t i = 0; i < p->nfields && !v; i++)
    if (p->fields[i].name && strcmp(p->fields[i].name, n->sel) == 0)
      v = val[i];
  if (!v)
    return 0;
  double num = 0;
  int have = parse_number(v, &num);
  return compare(n, v, have, num);
}

static int match_delimited(const logs_pattern *p, const char *msg, size_t len, json_t *extracted) {
  char *buf = copy(msg, len);
  char **tok = calloc(PAT_MAX_TOKENS, sizeof(*tok));
  const char **val = calloc(p->nfields + 1, sizeof(*val));
  unsigned char *memo = calloc((p->nfields + 1) * (PAT_MAX_TOKENS + 1), 1);
  int ok = 0;
  if (buf && tok && val && memo) {
    size_t ntok = split_fields(buf, tok, PAT_MAX_TOKENS);
    ok = assign(p, 0, tok, 0, ntok, val, memo) && (!p->expr || eval_fields(p->expr, p, val));
    for (size_t i = 0; ok && extracted && i < p->nfields; i++) {
      if (p->fields[i].name) {
        char key[300];
        snprintf(key, sizeof(key), "$%s", p->fields[i].name);
        json_object_set_new(extracted, key, json_string(val[i]));
      }
    }
  }
  free(buf);
  free(tok);
  free(val);
  free(memo);
  return ok;
}

static int term_found(const pat_term *t, const char *msg, size_t len) {
  if (t->re)
    return regexec(t->re, msg, 0, NULL, 0) == 0;
  return memmem(msg, len, t->text, t->len) != NULL;
}

int logs_pattern_match(const logs_pattern *p, const char *msg, size_t len, json_t *extracted) {
  if (!p || p->kind == 0)
    return 1;
  if (p->kind == 1) {
    for (int g = 0; g < p->ngroups; g++) {
      int ok = 1, any = 0;
      for (size_t i = 0; i < p->nterms && ok; i++) {
        if (p->group[i] != g)
          continue;
        any = 1;
        ok = term_found(&p->terms[i], msg, len) != p->terms[i].neg;
      }
      if (any && ok)
        return 1;
    }
    return 0;
  }
  if (p->kind == 2) {
    json_t *doc = json_loadb(msg, len, 0, NULL);
    if (!doc)
      return 0;
    int ok = eval_json(p->expr, doc, extracted);
    json_decref(doc);
    return ok;
  }
  return match_delimited(p, msg, len, extracted);
}
