/*
 * partiql.c — the subset of PartiQL that DynamoDB accepts, parsed into the
 * same condition and update trees as expressions (expr_parse.c), so one
 * evaluator serves both:
 *
 *   SELECT * | path, … FROM "table"[."index"] [WHERE condition]
 *   INSERT INTO "table" VALUE {'attr': value, …}
 *   UPDATE "table" SET path = value [, …] | REMOVE path [, …] … WHERE condition
 *   DELETE FROM "table" WHERE condition
 *
 * Values are PartiQL literals ('text', numbers, TRUE/FALSE, NULL, [lists],
 * {maps}, <<sets>>) or ? parameters taken in order from Parameters.
 * Conditions have comparators, BETWEEN, IN [..], IS [NOT] MISSING,
 * AND/OR/NOT, parentheses and DynamoDB's functions. Untrusted input: the
 * statement length and nesting are bounded.
 */
#include "emulator/dynamodb/dynamodb_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_STATEMENT 8192
#define MAX_NEST 32

typedef enum {
  P_EOF,
  P_IDENT,  /* bare word */
  P_QIDENT, /* "quoted identifier" */
  P_STRING, /* 'text' */
  P_NUMBER,
  P_PARAM, /* ? */
  P_PUNCT, /* one of the operators below, text in tok */
  P_BAD,
} ptok;

typedef struct pq {
  const char *s;
  size_t pos;
  ptok tk;
  size_t ts, tl; /* token text */
  char punct[3]; /* P_PUNCT: "=", "<>", "<<", … */
  const json_t *params;
  size_t next_param;
  ddb_error *e;
  int depth;
  int failed;
} pq;

static void lex(pq *p) {
  const char *s = p->s;
  size_t i = p->pos;
  while (isspace((unsigned char)s[i]))
    i++;
  p->ts = i;
  size_t j = i + 1;
  char c = s[i];
  p->punct[0] = '\0';
  if (!c) {
    p->tk = P_EOF;
    j = i;
  } else if (isalpha((unsigned char)c) || c == '_') {
    while (isalnum((unsigned char)s[j]) || s[j] == '_')
      j++;
    p->tk = P_IDENT;
  } else if (c == '"' || c == '\'') {
    /* A doubled quote stands for itself. */
    for (;;) {
      if (!s[j]) {
        p->tk = P_BAD;
        break;
      }
      if (s[j] == c && s[j + 1] == c) {
        j += 2;
        continue;
      }
      if (s[j] == c) {
        j++;
        p->tk = c == '"' ? P_QIDENT : P_STRING;
        break;
      }
      j++;
    }
  } else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)s[j]))) {
    while (isdigit((unsigned char)s[j]) || s[j] == '.')
      j++;
    if (s[j] == 'e' || s[j] == 'E') {
      size_t k = j + 1;
      if (s[k] == '+' || s[k] == '-')
        k++;
      if (isdigit((unsigned char)s[k])) {
        while (isdigit((unsigned char)s[k]))
          k++;
        j = k;
      }
    }
    p->tk = P_NUMBER;
  } else if (c == '?') {
    p->tk = P_PARAM;
  } else {
    static const char *const two[] = {"<>", "!=", "<=", ">=", "<<", ">>"};
    p->tk = P_PUNCT;
    p->punct[0] = c;
    p->punct[1] = '\0';
    for (size_t k = 0; k < 6; k++)
      if (c == two[k][0] && s[j] == two[k][1]) {
        p->punct[1] = s[j];
        p->punct[2] = '\0';
        j++;
        break;
      }
    if (!p->punct[1] && !strchr("*,.[](){}:=<>+-", c))
      p->tk = P_BAD;
  }
  p->tl = j - i;
  p->pos = j;
}

static int word(const pq *p, const char *w) {
  return p->tk == P_IDENT && strlen(w) == p->tl && strncasecmp(p->s + p->ts, w, p->tl) == 0;
}

static int punct(const pq *p, const char *op) {
  return p->tk == P_PUNCT && strcmp(p->punct, op) == 0;
}

static int syntax(pq *p) {
  if (!p->failed) {
    if (p->tk == P_EOF)
      ddb_invalid(p->e, "Statement wasn't well formed, can't be processed: Unexpected end of "
                        "statement");
    else
      ddb_invalid(p->e, "Statement wasn't well formed, can't be processed: Unexpected token: %.*s",
                  (int)(p->tl > 100 ? 100 : p->tl), p->s + p->ts);
  }
  p->failed = 1;
  return -1;
}

static int expect(pq *p, const char *op) {
  if (!punct(p, op))
    return syntax(p);
  lex(p);
  return 0;
}

/* The text of a quoted token without its quotes, doubled quotes undone. */
static char *unquote(const pq *p) {
  char *out = malloc(p->tl);
  if (!out)
    return NULL;
  size_t k = 0;
  char q = p->s[p->ts];
  for (size_t i = p->ts + 1; i + 1 < p->ts + p->tl; i++) {
    out[k++] = p->s[i];
    if (p->s[i] == q)
      i++;
  }
  out[k] = '\0';
  return out;
}

static char *token_text(const pq *p) {
  if (p->tk == P_QIDENT || p->tk == P_STRING)
    return unquote(p);
  return strndup(p->s + p->ts, p->tl);
}

/* ---- values ---- */

static json_t *literal(pq *p);

static json_t *set_literal(pq *p) {
  json_t *members = json_array();
  const char *type = NULL;
  lex(p); /* << */
  while (!punct(p, ">>")) {
    json_t *v = literal(p);
    const char *t = ddb_value_type(v);
    if (!v || !t || (strcmp(t, "S") && strcmp(t, "N") && strcmp(t, "B")) ||
        (type && strcmp(type, t) != 0)) {
      if (v && !p->failed) {
        ddb_invalid(p->e, "Statement wasn't well formed, can't be processed: sets hold strings, "
                          "numbers or binaries of one type");
        p->failed = 1;
      }
      json_decref(v);
      json_decref(members);
      return NULL;
    }
    type = t;
    json_array_append(members, json_object_get(v, t));
    json_decref(v);
    if (punct(p, ","))
      lex(p);
    else if (!punct(p, ">>")) {
      syntax(p);
      json_decref(members);
      return NULL;
    }
  }
  lex(p);
  char name[3] = {type ? type[0] : 'S', 'S', 0};
  json_t *raw = json_pack("{s:o}", name, members), *out = NULL;
  if (ddb_value_check(&out, raw, p->e) < 0)
    p->failed = 1;
  json_decref(raw);
  return out;
}

/* A literal or ? as a checked AttributeValue (new reference). */
static json_t *literal(pq *p) {
  if (++p->depth > MAX_NEST) {
    ddb_invalid(p->e, "Statement wasn't well formed, can't be processed: nested too deeply");
    p->failed = 1;
    return NULL;
  }
  json_t *out = NULL;
  if (p->tk == P_PARAM) {
    json_t *v = json_array_get(p->params, p->next_param++);
    if (!v) {
      ddb_invalid(p->e, "Number of parameters in request and statement don't match.");
      p->failed = 1;
    } else if (ddb_value_check(&out, v, p->e) < 0) {
      p->failed = 1;
    }
    lex(p);
  } else if (p->tk == P_STRING) {
    char *t = unquote(p);
    out = t ? json_pack("{s:s}", "S", t) : NULL;
    free(t);
    lex(p);
  } else if (p->tk == P_NUMBER || punct(p, "-")) {
    int neg = punct(p, "-");
    if (neg)
      lex(p);
    if (p->tk != P_NUMBER) {
      syntax(p);
      p->depth--;
      return NULL;
    }
    char *t = malloc(p->tl + 2), *c = NULL;
    if (t) {
      t[0] = '-';
      memcpy(t + 1, p->s + p->ts, p->tl);
      t[p->tl + 1] = '\0';
      if (ddb_num_canonical(&c, neg ? t : t + 1, p->e) == 0)
        out = ddb_number_value(c);
      else
        p->failed = 1;
    }
    free(c);
    free(t);
    lex(p);
  } else if (word(p, "TRUE") || word(p, "FALSE")) {
    out = json_pack("{s:b}", "BOOL", word(p, "TRUE"));
    lex(p);
  } else if (word(p, "NULL")) {
    out = json_pack("{s:b}", "NULL", 1);
    lex(p);
  } else if (punct(p, "[")) {
    json_t *l = json_array();
    lex(p);
    while (!punct(p, "]")) {
      json_t *v = literal(p);
      if (!v) {
        json_decref(l);
        return NULL;
      }
      json_array_append_new(l, v);
      if (punct(p, ","))
        lex(p);
      else if (!punct(p, "]")) {
        syntax(p);
        json_decref(l);
        return NULL;
      }
    }
    lex(p);
    out = json_pack("{s:o}", "L", l);
  } else if (punct(p, "{")) {
    json_t *m = json_object();
    lex(p);
    while (!punct(p, "}")) {
      if (p->tk != P_STRING) {
        syntax(p);
        json_decref(m);
        return NULL;
      }
      char *k = unquote(p);
      lex(p);
      json_t *v = NULL;
      if (!k || expect(p, ":") < 0 || !(v = literal(p))) {
        free(k);
        json_decref(m);
        return NULL;
      }
      json_object_set_new(m, k, v);
      free(k);
      if (punct(p, ","))
        lex(p);
      else if (!punct(p, "}")) {
        syntax(p);
        json_decref(m);
        return NULL;
      }
    }
    lex(p);
    out = json_pack("{s:o}", "M", m);
  } else if (punct(p, "<<")) {
    out = set_literal(p);
  } else {
    syntax(p);
  }
  p->depth--;
  return out;
}

static int starts_literal(const pq *p) {
  return p->tk == P_PARAM || p->tk == P_STRING || p->tk == P_NUMBER || word(p, "TRUE") ||
         word(p, "FALSE") || word(p, "NULL") || punct(p, "[") || punct(p, "{") || punct(p, "<<") ||
         punct(p, "-");
}

/* ---- paths and conditions ---- */

static ddb_node *path(pq *p) {
  if (p->tk != P_IDENT && p->tk != P_QIDENT) {
    syntax(p);
    return NULL;
  }
  ddb_node *n = ddb_node_new(DN_PATH, 0);
  size_t cap = 0;
  while (n) {
    if (n->plen == cap) {
      cap = cap ? cap * 2 : 4;
      ddb_pelem *np = realloc(n->path, cap * sizeof(*np));
      if (!np)
        break;
      n->path = np;
    }
    ddb_pelem *el = &n->path[n->plen];
    if (p->tk == P_IDENT || p->tk == P_QIDENT) {
      el->name = token_text(p);
      el->index = -1;
      if (!el->name)
        break;
      n->plen++;
      lex(p);
    } else if (p->tk == P_NUMBER && p->tl < 10) {
      el->name = NULL;
      el->index = strtol(p->s + p->ts, NULL, 10);
      n->plen++;
      lex(p);
      if (expect(p, "]") < 0)
        break;
    } else {
      syntax(p);
      break;
    }
    if (n->plen > 32) {
      syntax(p);
      break;
    }
    if (punct(p, ".") || punct(p, "[")) {
      lex(p);
      continue;
    }
    return n;
  }
  if (!p->failed)
    ddb_fail(p->e, "InternalServerError", "out of memory");
  p->failed = 1;
  ddb_node_free(n);
  return NULL;
}

static ddb_node *value_node(pq *p) {
  json_t *v = literal(p);
  if (!v)
    return NULL;
  ddb_node *n = ddb_node_new(DN_VALUE, 0);
  if (!n) {
    json_decref(v);
    return NULL;
  }
  n->value = v;
  return n;
}

static const struct {
  const char *name;
  int id, args, boolean, update;
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

static ddb_node *operand(pq *p, int in_update);

static ddb_node *function(pq *p, int boolean, int in_update) {
  int f = -1;
  for (size_t i = 0; i < sizeof(FUNCS) / sizeof(FUNCS[0]); i++)
    if (strlen(FUNCS[i].name) == p->tl && strncasecmp(FUNCS[i].name, p->s + p->ts, p->tl) == 0)
      f = (int)i;
  if (f < 0 || FUNCS[f].boolean != boolean || (FUNCS[f].update && !in_update) ||
      (in_update && FUNCS[f].id == DDB_F_SIZE)) {
    ddb_invalid(p->e, "Statement wasn't well formed, can't be processed: Invalid function: %.*s",
                (int)(p->tl > 64 ? 64 : p->tl), p->s + p->ts);
    p->failed = 1;
    return NULL;
  }
  ddb_node *n = ddb_node_new(DN_FUNC, FUNCS[f].id);
  lex(p);
  if (expect(p, "(") < 0)
    goto fail;
  for (;;) {
    if (ddb_node_add(n, operand(p, in_update)) < 0)
      goto fail;
    if (punct(p, ",")) {
      lex(p);
      continue;
    }
    if (expect(p, ")") < 0)
      goto fail;
    break;
  }
  if ((int)n->n != FUNCS[f].args || (n->op != DDB_F_LIST_APPEND && n->kid[0]->kind != DN_PATH)) {
    ddb_invalid(p->e,
                "Statement wasn't well formed, can't be processed: Invalid arguments for "
                "function %s",
                FUNCS[f].name);
    p->failed = 1;
    goto fail;
  }
  return n;
fail:
  p->failed = 1;
  ddb_node_free(n);
  return NULL;
}

static int next_is_paren(const pq *p) {
  pq q = *p;
  lex(&q);
  return punct(&q, "(");
}

static ddb_node *operand(pq *p, int in_update) {
  if (starts_literal(p))
    return value_node(p);
  if (p->tk == P_IDENT && next_is_paren(p))
    return function(p, 0, in_update);
  return path(p);
}

static ddb_node *cond_or(pq *p);

static int cmp_of(const pq *p) {
  static const struct {
    const char *op;
    int id;
  } ops[] = {{"=", DDB_EQ},  {"<>", DDB_NE}, {"!=", DDB_NE}, {"<", DDB_LT},
             {"<=", DDB_LE}, {">", DDB_GT},  {">=", DDB_GE}};
  for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
    if (punct(p, ops[i].op))
      return ops[i].id;
  return -1;
}

static ddb_node *primary(pq *p) {
  if (punct(p, "(")) {
    if (++p->depth > MAX_NEST)
      return syntax(p), NULL;
    lex(p);
    ddb_node *n = cond_or(p);
    if (n && expect(p, ")") < 0) {
      ddb_node_free(n);
      return NULL;
    }
    p->depth--;
    return n;
  }
  if (p->tk == P_IDENT && next_is_paren(p) &&
      !(p->tl == 4 && strncasecmp(p->s + p->ts, "size", 4) == 0))
    return function(p, 1, 0);
  ddb_node *left = operand(p, 0), *n = NULL;
  if (!left)
    return NULL;
  int op = cmp_of(p);
  if (op >= 0) {
    lex(p);
    n = ddb_node_new(DN_CMP, op);
    if (ddb_node_add(n, left) < 0 || ddb_node_add(n, operand(p, 0)) < 0)
      goto fail;
    return n;
  }
  if (word(p, "BETWEEN")) {
    lex(p);
    n = ddb_node_new(DN_BETWEEN, 0);
    if (ddb_node_add(n, left) < 0 || ddb_node_add(n, operand(p, 0)) < 0)
      goto fail;
    if (!word(p, "AND")) {
      syntax(p);
      goto fail;
    }
    lex(p);
    if (ddb_node_add(n, operand(p, 0)) < 0)
      goto fail;
    return n;
  }
  if (word(p, "IN")) {
    lex(p);
    n = ddb_node_new(DN_IN, 0);
    if (ddb_node_add(n, left) < 0)
      goto fail;
    const char *close = punct(p, "[") ? "]" : ")";
    if (!punct(p, "[") && !punct(p, "(")) {
      syntax(p);
      goto fail;
    }
    lex(p);
    for (;;) {
      if (ddb_node_add(n, operand(p, 0)) < 0)
        goto fail;
      if (n->n > 101) {
        syntax(p);
        goto fail;
      }
      if (punct(p, ",")) {
        lex(p);
        continue;
      }
      if (expect(p, close) < 0)
        goto fail;
      return n;
    }
  }
  if (word(p, "IS")) {
    lex(p);
    int negate = 0;
    if (word(p, "NOT")) {
      negate = 1;
      lex(p);
    }
    if (!word(p, "MISSING") || left->kind != DN_PATH) {
      syntax(p);
      goto fail;
    }
    lex(p);
    n = ddb_node_new(DN_FUNC, negate ? DDB_F_ATTRIBUTE_EXISTS : DDB_F_ATTRIBUTE_NOT_EXISTS);
    if (ddb_node_add(n, left) < 0)
      goto fail;
    return n;
  }
  syntax(p);
  ddb_node_free(left);
  return NULL;
fail:
  if (!n)
    ddb_node_free(left);
  ddb_node_free(n);
  p->failed = 1;
  return NULL;
}

static ddb_node *cond_not(pq *p) {
  if (word(p, "NOT")) {
    if (++p->depth > MAX_NEST)
      return syntax(p), NULL;
    lex(p);
    ddb_node *n = ddb_node_new(DN_NOT, 0);
    if (ddb_node_add(n, cond_not(p)) < 0) {
      ddb_node_free(n);
      return NULL;
    }
    p->depth--;
    return n;
  }
  return primary(p);
}

static ddb_node *binary(pq *p, const char *w, ddb_node_kind kind, ddb_node *(*sub)(pq *)) {
  ddb_node *left = sub(p);
  while (left && word(p, w)) {
    lex(p);
    ddb_node *n = ddb_node_new(kind, 0);
    if (ddb_node_add(n, left) < 0 || ddb_node_add(n, sub(p)) < 0) {
      ddb_node_free(n);
      return NULL;
    }
    left = n;
  }
  return left;
}

static ddb_node *cond_and(pq *p) { return binary(p, "AND", DN_AND, cond_not); }
static ddb_node *cond_or(pq *p) { return binary(p, "OR", DN_OR, cond_and); }

/* ---- statements ---- */

static int table_name(pq *p, ddb_pq_stmt *st) {
  if (p->tk != P_IDENT && p->tk != P_QIDENT)
    return syntax(p);
  st->table = token_text(p);
  lex(p);
  if (punct(p, ".")) {
    lex(p);
    if (p->tk != P_IDENT && p->tk != P_QIDENT)
      return syntax(p);
    st->index = token_text(p);
    lex(p);
  }
  return st->table ? 0 : -1;
}

static int where(pq *p, ddb_pq_stmt *st, int required) {
  if (!word(p, "WHERE")) {
    if (required)
      return syntax(p);
    return 0;
  }
  lex(p);
  st->where = cond_or(p);
  return st->where ? 0 : -1;
}

static int update_actions(pq *p, ddb_pq_stmt *st) {
  st->update = ddb_node_new(DN_LIST, 0);
  if (!st->update)
    return -1;
  while (word(p, "SET") || word(p, "REMOVE")) {
    int set = word(p, "SET");
    lex(p);
    for (;;) {
      ddb_node *act = ddb_node_new(set ? DN_SET : DN_REMOVE, 0);
      if (ddb_node_add(st->update, act) < 0 || ddb_node_add(act, path(p)) < 0)
        return -1;
      if (set) {
        if (expect(p, "=") < 0)
          return -1;
        ddb_node *v = operand(p, 1);
        if (v && (punct(p, "+") || punct(p, "-"))) {
          ddb_node *a = ddb_node_new(DN_ARITH, p->punct[0]);
          lex(p);
          if (ddb_node_add(a, v) < 0 || ddb_node_add(a, operand(p, 1)) < 0) {
            ddb_node_free(a);
            return -1;
          }
          v = a;
        }
        if (ddb_node_add(act, v) < 0)
          return -1;
      }
      if (!punct(p, ","))
        break;
      lex(p);
    }
  }
  if (st->update->n == 0)
    return syntax(p);
  return 0;
}

void ddb_pq_free(ddb_pq_stmt *st) {
  free(st->table);
  free(st->index);
  ddb_node_free(st->where);
  ddb_node_free(st->proj);
  ddb_node_free(st->update);
  json_decref(st->item);
  memset(st, 0, sizeof(*st));
}

int ddb_pq_parse(ddb_pq_stmt *st, const char *text, const json_t *params, ddb_error *e) {
  memset(st, 0, sizeof(*st));
  if (!text || !*text || strlen(text) > MAX_STATEMENT)
    return ddb_invalid(e,
                       "1 validation error detected: Value at 'statement' failed to satisfy "
                       "constraint: Member must have length between 1 and %d",
                       MAX_STATEMENT);
  pq p = {.s = text, .params = params, .e = e};
  int rc = -1;
  lex(&p);
  if (word(&p, "SELECT")) {
    st->kind = DDB_PQ_SELECT;
    lex(&p);
    if (punct(&p, "*")) {
      lex(&p);
    } else {
      st->proj = ddb_node_new(DN_LIST, 0);
      for (;;) {
        if (ddb_node_add(st->proj, path(&p)) < 0)
          goto done;
        if (!punct(&p, ","))
          break;
        lex(&p);
      }
    }
    if (!word(&p, "FROM")) {
      syntax(&p);
      goto done;
    }
    lex(&p);
    if (table_name(&p, st) < 0 || where(&p, st, 0) < 0)
      goto done;
  } else if (word(&p, "INSERT")) {
    st->kind = DDB_PQ_INSERT;
    lex(&p);
    if (!word(&p, "INTO")) {
      syntax(&p);
      goto done;
    }
    lex(&p);
    if (table_name(&p, st) < 0)
      goto done;
    if (!word(&p, "VALUE")) {
      syntax(&p);
      goto done;
    }
    lex(&p);
    json_t *v = literal(&p);
    if (!v)
      goto done;
    st->item = json_incref(json_object_get(v, "M"));
    json_decref(v);
    if (!st->item) {
      ddb_invalid(e, "Statement wasn't well formed, can't be processed: INSERT takes a tuple "
                     "({...}) of attributes");
      goto done;
    }
  } else if (word(&p, "UPDATE")) {
    st->kind = DDB_PQ_UPDATE;
    lex(&p);
    if (table_name(&p, st) < 0 || update_actions(&p, st) < 0 || where(&p, st, 1) < 0)
      goto done;
  } else if (word(&p, "DELETE")) {
    st->kind = DDB_PQ_DELETE;
    lex(&p);
    if (!word(&p, "FROM")) {
      syntax(&p);
      goto done;
    }
    lex(&p);
    if (table_name(&p, st) < 0 || where(&p, st, 1) < 0)
      goto done;
  } else {
    syntax(&p);
    goto done;
  }
  if (p.tk != P_EOF) {
    syntax(&p);
    goto done;
  }
  if (p.next_param != json_array_size(params)) {
    ddb_invalid(e, "Number of parameters in request and statement don't match.");
    goto done;
  }
  rc = 0;
done:
  if (rc < 0) {
    if (!e->code)
      ddb_invalid(e, "Statement wasn't well formed, can't be processed");
    ddb_pq_free(st);
  }
  return rc;
}
