/*
 * expr_parse.c — a recursive-descent parser for DynamoDB's expressions:
 * condition and filter (comparators, BETWEEN, IN, AND/OR/NOT, parentheses,
 * attribute_exists, attribute_not_exists, attribute_type, begins_with,
 * contains, size), key condition (the same grammar, its shape checked by the
 * Query code), projection (document paths) and update (SET with + and -,
 * if_not_exists and list_append; REMOVE; ADD; DELETE).
 *
 * Errors follow AWS's wording ("Invalid UpdateExpression: Syntax error;
 * token: \"x\", near: \"a x b\"", undefined and unused placeholders, reserved
 * words used as names). The input is untrusted: the expression length, the
 * nesting of parentheses and paths, and the node count are bounded, and the
 * parser never reads past the terminating NUL (it is fuzzed:
 * tests/fuzz/fuzz_dynamodb_expr.c).
 */
#include "emulator/dynamodb/dynamodb_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_EXPR_LEN 4096
#define MAX_NEST 64
#define MAX_PATH_DEPTH 32
#define MAX_IN_OPERANDS 100

typedef enum {
  T_EOF,
  T_IDENT,
  T_NAME,  /* #name */
  T_VALUE, /* :value */
  T_NUMBER,
  T_LPAREN,
  T_RPAREN,
  T_LBRACK,
  T_RBRACK,
  T_COMMA,
  T_DOT,
  T_EQ,
  T_NE,
  T_LT,
  T_LE,
  T_GT,
  T_GE,
  T_PLUS,
  T_MINUS,
  T_BAD,
} tok_kind;

typedef struct parser {
  const char *src;
  const char *what; /* "ConditionExpression" */
  ddb_expr_kind kind;
  ddb_expr_ctx *ctx;
  ddb_error *e;
  size_t pos;          /* after the current token */
  tok_kind tk;         /* current token */
  size_t tstart, tlen; /* its text */
  size_t pstart;       /* the previous token's start, for "near" */
  int depth;
  int failed;
} parser;

static void next(parser *p) {
  const char *s = p->src;
  size_t i = p->pos;
  p->pstart = p->tstart;
  while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
    i++;
  p->tstart = i;
  char c = s[i];
  size_t j = i + 1;
  if (c == '\0') {
    p->tk = T_EOF;
    j = i;
  } else if (isalpha((unsigned char)c) || c == '_') {
    while (isalnum((unsigned char)s[j]) || s[j] == '_')
      j++;
    p->tk = T_IDENT;
  } else if (c == '#' || c == ':') {
    while (isalnum((unsigned char)s[j]) || s[j] == '_')
      j++;
    p->tk = j == i + 1 ? T_BAD : c == '#' ? T_NAME : T_VALUE;
  } else if (isdigit((unsigned char)c)) {
    while (isdigit((unsigned char)s[j]))
      j++;
    p->tk = T_NUMBER;
  } else {
    switch (c) {
    case '(': p->tk = T_LPAREN; break;
    case ')': p->tk = T_RPAREN; break;
    case '[': p->tk = T_LBRACK; break;
    case ']': p->tk = T_RBRACK; break;
    case ',': p->tk = T_COMMA; break;
    case '.': p->tk = T_DOT; break;
    case '=': p->tk = T_EQ; break;
    case '+': p->tk = T_PLUS; break;
    case '-': p->tk = T_MINUS; break;
    case '<':
      p->tk = T_LT;
      if (s[j] == '=') {
        p->tk = T_LE;
        j++;
      } else if (s[j] == '>') {
        p->tk = T_NE;
        j++;
      }
      break;
    case '>':
      p->tk = T_GT;
      if (s[j] == '=') {
        p->tk = T_GE;
        j++;
      }
      break;
    default: p->tk = T_BAD; break;
    }
  }
  p->tlen = j - i;
  p->pos = j;
}

static int is_word(const parser *p, const char *w) {
  return p->tk == T_IDENT && strlen(w) == p->tlen &&
         strncasecmp(p->src + p->tstart, w, p->tlen) == 0;
}

static int fail(parser *p, const char *fmt, const char *arg) {
  if (!p->failed) {
    char msg[600];
    snprintf(msg, sizeof(msg), fmt, arg);
    ddb_invalid(p->e, "Invalid %s: %s", p->what, msg);
  }
  p->failed = 1;
  return -1;
}

static int syntax_error(parser *p) {
  if (p->failed)
    return -1;
  /* "near": from the previous token to the end of the next one, as AWS shows. */
  size_t save_pos = p->pos;
  const char *s = p->src;
  size_t end = p->pos;
  size_t k = end;
  while (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r')
    k++;
  if (s[k] && p->tk != T_EOF) {
    parser q = *p;
    next(&q);
    end = q.pos;
  }
  p->pos = save_pos;
  size_t start = p->pstart < p->tstart ? p->pstart : p->tstart;
  if (p->tk == T_EOF)
    ddb_invalid(p->e, "Invalid %s: Syntax error; token: \"<EOF>\", near: \"%.*s\"", p->what,
                (int)(end - start > 200 ? 200 : end - start), s + start);
  else
    ddb_invalid(p->e, "Invalid %s: Syntax error; token: \"%.*s\", near: \"%.*s\"", p->what,
                (int)(p->tlen > 200 ? 200 : p->tlen), s + p->tstart,
                (int)(end - start > 200 ? 200 : end - start), s + start);
  p->failed = 1;
  return -1;
}

ddb_node *ddb_node_new(ddb_node_kind kind, int op) {
  ddb_node *n = calloc(1, sizeof(*n));
  if (n) {
    n->kind = kind;
    n->op = op;
  }
  return n;
}

int ddb_node_add(ddb_node *n, ddb_node *kid) {
  if (!n || !kid) {
    ddb_node_free(kid);
    return -1;
  }
  ddb_node **nk = realloc(n->kid, (n->n + 1) * sizeof(*nk));
  if (!nk) {
    ddb_node_free(kid);
    return -1;
  }
  n->kid = nk;
  n->kid[n->n++] = kid;
  return 0;
}

void ddb_node_free(ddb_node *n) {
  if (!n)
    return;
  for (size_t i = 0; i < n->n; i++)
    ddb_node_free(n->kid[i]);
  free(n->kid);
  for (size_t i = 0; i < n->plen; i++)
    free(n->path[i].name);
  free(n->path);
  json_decref(n->value);
  free(n->text);
  free(n);
}

static void mark_used(parser *p, const char *key) {
  json_object_set_new(p->ctx->used, key, json_true());
}

static char *tok_text(const parser *p) {
  char *t = malloc(p->tlen + 1);
  if (t) {
    memcpy(t, p->src + p->tstart, p->tlen);
    t[p->tlen] = '\0';
  }
  return t;
}

/* One name of a document path: an identifier (not reserved) or #name. */
static char *path_name(parser *p) {
  char *t = tok_text(p);
  if (!t)
    return NULL;
  if (p->tk == T_IDENT) {
    if (ddb_reserved_word(t)) {
      fail(p, "Attribute name is a reserved keyword; reserved keyword: %s", t);
      free(t);
      return NULL;
    }
    return t;
  }
  const char *real = p->ctx->names ? json_string_value(json_object_get(p->ctx->names, t)) : NULL;
  if (!real) {
    fail(p,
         "An expression attribute name used in the document path is not defined; attribute "
         "name: %s",
         t);
    free(t);
    return NULL;
  }
  mark_used(p, t);
  free(t);
  return strdup(real);
}

static ddb_node *parse_path(parser *p) {
  if (p->tk != T_IDENT && p->tk != T_NAME) {
    syntax_error(p);
    return NULL;
  }
  ddb_node *n = ddb_node_new(DN_PATH, 0);
  if (!n)
    return NULL;
  size_t cap = 4;
  n->path = calloc(cap, sizeof(*n->path));
  if (!n->path)
    goto fail;
  for (;;) {
    if (n->plen == cap) {
      ddb_pelem *np = realloc(n->path, cap * 2 * sizeof(*np));
      if (!np)
        goto fail;
      n->path = np;
      cap *= 2;
    }
    ddb_pelem *el = &n->path[n->plen];
    if (n->plen == 0 || p->tk == T_IDENT || p->tk == T_NAME) {
      el->name = path_name(p);
      if (!el->name)
        goto fail;
      el->index = -1;
      n->plen++;
      next(p);
    } else {
      /* '[' already consumed: a list index. */
      if (p->tk != T_NUMBER || p->tlen > 9) {
        syntax_error(p);
        goto fail;
      }
      el->name = NULL;
      el->index = strtol(p->src + p->tstart, NULL, 10);
      n->plen++;
      next(p);
      if (p->tk != T_RBRACK) {
        syntax_error(p);
        goto fail;
      }
      next(p);
    }
    if (n->plen > MAX_PATH_DEPTH) {
      fail(p, "The document path has too many nesting levels; nesting levels: %s", "33");
      goto fail;
    }
    if (p->tk == T_DOT) {
      next(p);
      if (p->tk != T_IDENT && p->tk != T_NAME) {
        syntax_error(p);
        goto fail;
      }
    } else if (p->tk == T_LBRACK) {
      next(p);
      if (p->tk != T_NUMBER) {
        syntax_error(p);
        goto fail;
      }
    } else {
      break;
    }
  }
  return n;
fail:
  if (!p->failed)
    ddb_fail(p->e, "InternalServerError", "out of memory");
  p->failed = 1;
  ddb_node_free(n);
  return NULL;
}

static ddb_node *parse_value(parser *p) {
  char *t = tok_text(p);
  if (!t)
    return NULL;
  json_t *v = p->ctx->canon ? json_object_get(p->ctx->canon, t) : NULL;
  if (!v) {
    fail(p, "An expression attribute value used in expression is not defined; attribute value: %s",
         t);
    free(t);
    return NULL;
  }
  mark_used(p, t);
  ddb_node *n = ddb_node_new(DN_VALUE, 0);
  if (!n) {
    free(t);
    return NULL;
  }
  n->value = json_incref(v);
  n->text = t;
  next(p);
  return n;
}

static const struct {
  const char *name;
  int id;
  int args;    /* exact number of operands */
  int boolean; /* usable as a condition (else as an operand) */
  int update;  /* only in update expressions */
} FUNCS[] = {
    {"attribute_exists", DDB_F_ATTRIBUTE_EXISTS, 1, 1, 0},
    {"attribute_not_exists", DDB_F_ATTRIBUTE_NOT_EXISTS, 1, 1, 0},
    {"attribute_type", DDB_F_ATTRIBUTE_TYPE, 2, 1, 0},
    {"begins_with", DDB_F_BEGINS_WITH, 2, 1, 0},
    {"contains", DDB_F_CONTAINS, 2, 1, 0},
    {"size", DDB_F_SIZE, 1, 0, 0},
    {"if_not_exists", DDB_F_IF_NOT_EXISTS, 2, 0, 1},
    {"list_append", DDB_F_LIST_APPEND, 2, 0, 1},
};

static ddb_node *parse_operand(parser *p);
static ddb_node *parse_update_operand(parser *p);

/* name '(' operand, … ')' — the current token is the name, '(' follows. */
static ddb_node *parse_function(parser *p, int want_boolean) {
  char *name = tok_text(p);
  if (!name)
    return NULL;
  int f = -1;
  for (size_t i = 0; i < sizeof(FUNCS) / sizeof(FUNCS[0]); i++)
    if (strcmp(FUNCS[i].name, name) == 0)
      f = (int)i;
  int in_update = p->kind == DDB_EXPR_UPDATE;
  if (f < 0 || FUNCS[f].update != in_update || (in_update && FUNCS[f].boolean)) {
    if (f >= 0 && p->kind != DDB_EXPR_UPDATE && FUNCS[f].update)
      fail(p, "The function is not allowed in a condition expression; function: %s", name);
    else if (f >= 0 && in_update)
      fail(p, "The function is not allowed in an update expression; function: %s", name);
    else
      fail(p, "Invalid function name; function: %s", name);
    free(name);
    return NULL;
  }
  if (FUNCS[f].boolean != want_boolean) {
    fail(p, "The function is not allowed to be used this way in an expression; function: %s", name);
    free(name);
    return NULL;
  }
  free(name);
  ddb_node *n = ddb_node_new(DN_FUNC, FUNCS[f].id);
  if (!n)
    return NULL;
  next(p); /* name */
  next(p); /* ( */
  if (++p->depth > MAX_NEST) {
    fail(p, "The expression has too many nested levels%s", "");
    goto fail;
  }
  for (;;) {
    ddb_node *a = in_update ? parse_update_operand(p) : parse_operand(p);
    if (!a || ddb_node_add(n, a) < 0)
      goto fail;
    if (p->tk == T_COMMA) {
      next(p);
      continue;
    }
    if (p->tk != T_RPAREN) {
      syntax_error(p);
      goto fail;
    }
    next(p);
    break;
  }
  p->depth--;
  if ((int)n->n != FUNCS[f].args) {
    char buf[128];
    snprintf(buf, sizeof(buf), "%s, number of operands: %zu", FUNCS[f].name, n->n);
    fail(p, "Incorrect number of operands for operator or function; operator or function: %s", buf);
    goto fail;
  }
  /* The first operand of these must be a document path. */
  if (n->op != DDB_F_LIST_APPEND && n->kid[0]->kind != DN_PATH) {
    char buf[128];
    snprintf(buf, sizeof(buf), "%s, operand type: %s", FUNCS[f].name,
             n->kid[0]->kind == DN_VALUE ? ddb_value_type(n->kid[0]->value) : "function");
    fail(p, "Incorrect operand type for operator or function; operator or function: %s", buf);
    goto fail;
  }
  if (n->op == DDB_F_ATTRIBUTE_TYPE) {
    const ddb_node *t = n->kid[1];
    const char *tn = t->kind == DN_VALUE ? json_string_value(json_object_get(t->value, "S")) : NULL;
    static const char *const types[] = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"};
    int ok = 0;
    for (size_t i = 0; tn && i < 10; i++)
      ok |= strcmp(tn, types[i]) == 0;
    if (!ok) {
      fail(p,
           "Invalid attribute type name found; type: %s, valid types: "
           "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
           tn ? tn : "?");
      goto fail;
    }
  }
  return n;
fail:
  p->failed = 1;
  ddb_node_free(n);
  return NULL;
}

/* operand ::= path | :value | size(path) (conditions). */
static ddb_node *parse_operand(parser *p) {
  if (p->tk == T_VALUE)
    return parse_value(p);
  if (p->tk == T_IDENT) {
    parser q = *p;
    next(&q);
    if (q.tk == T_LPAREN)
      return parse_function(p, 0);
  }
  if (p->tk == T_IDENT || p->tk == T_NAME)
    return parse_path(p);
  syntax_error(p);
  return NULL;
}

static ddb_node *parse_or(parser *p);

static int cmp_op(tok_kind t) {
  switch (t) {
  case T_EQ: return DDB_EQ;
  case T_NE: return DDB_NE;
  case T_LT: return DDB_LT;
  case T_LE: return DDB_LE;
  case T_GT: return DDB_GT;
  case T_GE: return DDB_GE;
  default: return -1;
  }
}

static ddb_node *parse_primary(parser *p) {
  if (p->tk == T_LPAREN) {
    if (++p->depth > MAX_NEST) {
      fail(p, "The expression has too many nested levels%s", "");
      return NULL;
    }
    next(p);
    ddb_node *n = parse_or(p);
    if (!n)
      return NULL;
    if (p->tk != T_RPAREN) {
      syntax_error(p);
      ddb_node_free(n);
      return NULL;
    }
    p->depth--;
    next(p);
    return n;
  }
  if (p->tk == T_IDENT) {
    parser q = *p;
    next(&q);
    if (q.tk == T_LPAREN) {
      /* size(...) is an operand; every other function a condition. */
      if (p->tlen == 4 && strncmp(p->src + p->tstart, "size", 4) == 0)
        goto operand;
      return parse_function(p, 1);
    }
  }
operand:;
  ddb_node *left = parse_operand(p);
  if (!left)
    return NULL;
  int op = cmp_op(p->tk);
  ddb_node *n = NULL;
  if (op >= 0) {
    next(p);
    n = ddb_node_new(DN_CMP, op);
    if (!n || ddb_node_add(n, left) < 0 || ddb_node_add(n, parse_operand(p)) < 0)
      goto fail;
    return n;
  }
  if (is_word(p, "BETWEEN")) {
    next(p);
    n = ddb_node_new(DN_BETWEEN, 0);
    if (!n || ddb_node_add(n, left) < 0 || ddb_node_add(n, parse_operand(p)) < 0)
      goto fail;
    left = NULL;
    if (!is_word(p, "AND")) {
      syntax_error(p);
      goto fail;
    }
    next(p);
    if (ddb_node_add(n, parse_operand(p)) < 0)
      goto fail;
    return n;
  }
  if (is_word(p, "IN")) {
    next(p);
    n = ddb_node_new(DN_IN, 0);
    if (!n || ddb_node_add(n, left) < 0)
      goto fail;
    left = NULL;
    if (p->tk != T_LPAREN) {
      syntax_error(p);
      goto fail;
    }
    next(p);
    for (;;) {
      if (ddb_node_add(n, parse_operand(p)) < 0)
        goto fail;
      if (n->n - 1 > MAX_IN_OPERANDS) {
        fail(p, "The IN operator is provided with too many operands; number of operands: %s",
             "101");
        goto fail;
      }
      if (p->tk == T_COMMA) {
        next(p);
        continue;
      }
      if (p->tk != T_RPAREN) {
        syntax_error(p);
        goto fail;
      }
      next(p);
      return n;
    }
  }
  syntax_error(p);
fail:
  if (!n)
    ddb_node_free(left);
  ddb_node_free(n);
  p->failed = 1;
  return NULL;
}

static ddb_node *parse_not(parser *p) {
  if (is_word(p, "NOT")) {
    if (++p->depth > MAX_NEST) {
      fail(p, "The expression has too many nested levels%s", "");
      return NULL;
    }
    next(p);
    ddb_node *n = ddb_node_new(DN_NOT, 0);
    if (!n || ddb_node_add(n, parse_not(p)) < 0) {
      ddb_node_free(n);
      return NULL;
    }
    p->depth--;
    return n;
  }
  return parse_primary(p);
}

static ddb_node *parse_and(parser *p) {
  ddb_node *left = parse_not(p);
  while (left && is_word(p, "AND")) {
    next(p);
    ddb_node *n = ddb_node_new(DN_AND, 0);
    if (!n || ddb_node_add(n, left) < 0) {
      ddb_node_free(n);
      return NULL;
    }
    if (ddb_node_add(n, parse_not(p)) < 0) {
      ddb_node_free(n);
      return NULL;
    }
    left = n;
  }
  return left;
}

static ddb_node *parse_or(parser *p) {
  ddb_node *left = parse_and(p);
  while (left && is_word(p, "OR")) {
    next(p);
    ddb_node *n = ddb_node_new(DN_OR, 0);
    if (!n || ddb_node_add(n, left) < 0) {
      ddb_node_free(n);
      return NULL;
    }
    if (ddb_node_add(n, parse_and(p)) < 0) {
      ddb_node_free(n);
      return NULL;
    }
    left = n;
  }
  return left;
}

/* ---- update expressions ---- */

/* operand ::= path | :value | if_not_exists(path, value) | list_append(a, b) */
static ddb_node *parse_update_operand(parser *p) {
  if (p->tk == T_VALUE)
    return parse_value(p);
  if (p->tk == T_IDENT) {
    parser q = *p;
    next(&q);
    if (q.tk == T_LPAREN)
      return parse_function(p, 0);
  }
  if (p->tk == T_IDENT || p->tk == T_NAME)
    return parse_path(p);
  syntax_error(p);
  return NULL;
}

static ddb_node *parse_set_value(parser *p) {
  ddb_node *left = parse_update_operand(p);
  if (!left || (p->tk != T_PLUS && p->tk != T_MINUS))
    return left;
  ddb_node *n = ddb_node_new(DN_ARITH, p->tk == T_PLUS ? '+' : '-');
  next(p);
  if (!n || ddb_node_add(n, left) < 0 || ddb_node_add(n, parse_update_operand(p)) < 0) {
    if (!n)
      ddb_node_free(left);
    ddb_node_free(n);
    return NULL;
  }
  return n;
}

static const char *const CLAUSES[] = {"SET", "REMOVE", "ADD", "DELETE"};

static int clause_of(const parser *p) {
  for (int i = 0; i < 4; i++)
    if (is_word(p, CLAUSES[i]))
      return i;
  return -1;
}

static ddb_node *parse_update(parser *p) {
  ddb_node *list = ddb_node_new(DN_LIST, 0);
  int seen[4] = {0};
  if (!list)
    return NULL;
  if (p->tk == T_EOF) {
    syntax_error(p);
    goto fail;
  }
  while (p->tk != T_EOF) {
    int c = clause_of(p);
    if (c < 0) {
      syntax_error(p);
      goto fail;
    }
    if (seen[c]++) {
      char buf[32];
      snprintf(buf, sizeof(buf), "\"%s\"", CLAUSES[c]);
      fail(p, "The %s section can only be used once in an update expression;", buf);
      goto fail;
    }
    next(p);
    for (;;) {
      ddb_node *path = parse_path(p);
      if (!path)
        goto fail;
      ddb_node *act = ddb_node_new(c == 0   ? DN_SET
                                   : c == 1 ? DN_REMOVE
                                   : c == 2 ? DN_ADD
                                            : DN_DELETE,
                                   0);
      if (!act || ddb_node_add(act, path) < 0 || ddb_node_add(list, act) < 0) {
        if (!act)
          ddb_node_free(path);
        goto fail;
      }
      if (c == 0) {
        if (p->tk != T_EQ) {
          syntax_error(p);
          goto fail;
        }
        next(p);
        if (ddb_node_add(act, parse_set_value(p)) < 0)
          goto fail;
      } else if (c >= 2) {
        if (p->tk != T_VALUE) {
          syntax_error(p);
          goto fail;
        }
        if (ddb_node_add(act, parse_value(p)) < 0)
          goto fail;
      }
      if (p->tk != T_COMMA)
        break;
      next(p);
    }
  }
  return list;
fail:
  p->failed = 1;
  ddb_node_free(list);
  return NULL;
}

static ddb_node *parse_projection(parser *p) {
  ddb_node *list = ddb_node_new(DN_LIST, 0);
  if (!list)
    return NULL;
  for (;;) {
    if (ddb_node_add(list, parse_path(p)) < 0)
      goto fail;
    if (p->tk == T_EOF)
      return list;
    if (p->tk != T_COMMA) {
      syntax_error(p);
      goto fail;
    }
    next(p);
  }
fail:
  p->failed = 1;
  ddb_node_free(list);
  return NULL;
}

/* A path as AWS prints it in messages: [a, b, [0]]. */
static void path_text(char *buf, size_t size, const ddb_node *p) {
  size_t off = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < p->plen && off < size; i++) {
    int w = p->path[i].name
                ? snprintf(buf + off, size - off, "%s%s", i ? ", " : "", p->path[i].name)
                : snprintf(buf + off, size - off, "%s[%ld]", i ? ", " : "", p->path[i].index);
    if (w < 0)
      break;
    off += (size_t)w;
  }
}

/* Two paths of one projection or update that overlap (a and a.b, or the
 * same path twice): AWS refuses them. kid_path: the path of list item i. */
static int check_overlap(parser *p, const ddb_node *list, int actions) {
  for (size_t i = 0; i < list->n; i++)
    for (size_t j = i + 1; j < list->n; j++) {
      const ddb_node *a = actions ? list->kid[i]->kid[0] : list->kid[i];
      const ddb_node *b = actions ? list->kid[j]->kid[0] : list->kid[j];
      size_t n = a->plen < b->plen ? a->plen : b->plen, k;
      for (k = 0; k < n; k++) {
        const ddb_pelem *x = &a->path[k], *y = &b->path[k];
        if ((x->name == NULL) != (y->name == NULL) ||
            (x->name ? strcmp(x->name, y->name) != 0 : x->index != y->index))
          break;
      }
      if (k == n) {
        char one[200], two[200], buf[420];
        path_text(one, sizeof(one), a);
        path_text(two, sizeof(two), b);
        snprintf(buf, sizeof(buf), "[%s], path two: [%s]", one, two);
        return fail(p,
                    "Two document paths overlap with each other; must remove or rewrite one of "
                    "these paths; path one: %s",
                    buf);
      }
    }
  return 0;
}

int ddb_expr_parse(ddb_node **out, ddb_expr_kind kind, const char *name, const char *text,
                   ddb_expr_ctx *ctx, ddb_error *e) {
  parser p = {.src = text, .what = name, .kind = kind, .ctx = ctx, .e = e};
  if (!text)
    return ddb_invalid(e, "Invalid %s: The expression can not be empty;", name);
  if (strlen(text) > MAX_EXPR_LEN)
    return ddb_invalid(e,
                       "Invalid %s: Expression size has exceeded the maximum allowed size; "
                       "expression size: %zu",
                       name, strlen(text));
  next(&p);
  if (p.tk == T_EOF)
    return ddb_invalid(e, "Invalid %s: The expression can not be empty;", name);
  ctx->parsed++;
  ddb_node *n = NULL;
  if (kind == DDB_EXPR_UPDATE)
    n = parse_update(&p);
  else if (kind == DDB_EXPR_PROJECTION)
    n = parse_projection(&p);
  else
    n = parse_or(&p);
  if (n && p.tk != T_EOF) {
    syntax_error(&p);
    ddb_node_free(n);
    n = NULL;
  }
  if (n && (kind == DDB_EXPR_UPDATE || kind == DDB_EXPR_PROJECTION) &&
      check_overlap(&p, n, kind == DDB_EXPR_UPDATE) < 0) {
    ddb_node_free(n);
    n = NULL;
  }
  if (!n) {
    if (!p.failed && !e->code)
      ddb_fail(e, "InternalServerError", "out of memory");
    return -1;
  }
  *out = n;
  return 0;
}

/* ---- placeholders ---- */

int ddb_expr_ctx_init(ddb_expr_ctx *ctx, const json_t *names, const json_t *values, ddb_error *e) {
  memset(ctx, 0, sizeof(*ctx));
  ctx->names = names;
  ctx->values = values;
  ctx->used = json_object();
  ctx->canon = json_object();
  if (names && json_object_size(names) == 0)
    return ddb_invalid(e, "ExpressionAttributeNames must not be empty");
  if (values && json_object_size(values) == 0)
    return ddb_invalid(e, "ExpressionAttributeValues must not be empty");
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)names, k, v) {
    if (k[0] != '#' || !json_is_string(v))
      return ddb_invalid(e,
                         "ExpressionAttributeNames contains invalid key: Syntax error; key: "
                         "\"%.200s\"",
                         k);
  }
  json_object_foreach((json_t *)values, k, v) {
    if (k[0] != ':')
      return ddb_invalid(e,
                         "ExpressionAttributeValues contains invalid key: Syntax error; key: "
                         "\"%.200s\"",
                         k);
    json_t *c = NULL;
    if (ddb_value_check(&c, v, e) < 0) {
      char msg[sizeof(e->message)];
      snprintf(msg, sizeof(msg), "%s", e->message);
      return ddb_invalid(e, "ExpressionAttributeValues contains invalid value: %s for key %s", msg,
                         k);
    }
    json_object_set_new(ctx->canon, k, c);
  }
  return 0;
}

void ddb_expr_ctx_free(ddb_expr_ctx *ctx) {
  json_decref(ctx->used);
  json_decref(ctx->canon);
  ctx->used = ctx->canon = NULL;
}

static int unused(const json_t *map, const json_t *used, const char *what, ddb_error *e) {
  char buf[512];
  size_t off = 0;
  const char *k;
  json_t *v;
  buf[0] = '\0';
  json_object_foreach((json_t *)map, k, v) {
    if (json_object_get(used, k))
      continue;
    int w = snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? ", " : "", k);
    if (w < 0 || (size_t)w >= sizeof(buf) - off)
      break;
    off += (size_t)w;
  }
  if (off)
    return ddb_invalid(e, "Value provided in %s unused in expressions: keys: {%s}", what, buf);
  return 0;
}

int ddb_expr_check_unused(const ddb_expr_ctx *ctx, ddb_error *e) {
  if (!ctx->parsed && (ctx->names || ctx->values))
    return ddb_invalid(e, "%s can only be specified when using expressions",
                       ctx->values ? "ExpressionAttributeValues" : "ExpressionAttributeNames");
  if (ctx->names && unused(ctx->names, ctx->used, "ExpressionAttributeNames", e) < 0)
    return -1;
  if (ctx->values && unused(ctx->values, ctx->used, "ExpressionAttributeValues", e) < 0)
    return -1;
  return 0;
}
