/*
 * expr_eval.c — evaluates parsed expressions (expr_parse.c) against items:
 * conditions and filters, update actions, projections.
 *
 * Semantics follow DynamoDB's documentation: a comparison with a missing
 * attribute is false (except <>, which is true), values of different types
 * are never equal and never ordered, every SET operand reads the item as it
 * was before the update, number arithmetic is exact (number.c), and a path
 * into something that is not a map or list is "invalid for update".
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/codec.h"

#include <stdlib.h>
#include <string.h>

json_t *ddb_path_get(const json_t *item, const ddb_pelem *path, size_t plen) {
  if (plen == 0 || !path[0].name)
    return NULL;
  json_t *cur = json_object_get(item, path[0].name);
  for (size_t i = 1; cur && i < plen; i++) {
    if (path[i].name) {
      json_t *m = json_object_get(cur, "M");
      cur =
          json_is_object(m) && json_object_size(cur) == 1 ? json_object_get(m, path[i].name) : NULL;
    } else {
      json_t *l = json_object_get(cur, "L");
      cur = json_is_array(l) && json_object_size(cur) == 1
                ? json_array_get(l, (size_t)path[i].index)
                : NULL;
    }
  }
  return cur;
}

/* The value of an operand as a new reference; NULL when it has none. */
static json_t *operand(const ddb_node *n, const json_t *item) {
  if (n->kind == DN_VALUE)
    return json_incref(n->value);
  if (n->kind == DN_PATH)
    return json_incref(ddb_path_get(item, n->path, n->plen));
  if (n->kind == DN_FUNC && n->op == DDB_F_SIZE) {
    json_t *v = ddb_path_get(item, n->kid[0]->path, n->kid[0]->plen);
    const char *t = ddb_value_type(v);
    if (!t)
      return NULL;
    json_t *p = json_object_get(v, t);
    size_t size;
    if (strcmp(t, "S") == 0)
      size = json_string_length(p);
    else if (strcmp(t, "B") == 0) {
      ddb_bytes b;
      if (ddb_key_bytes(&b, v, 'B') < 0)
        return NULL;
      size = b.len;
      ddb_bytes_free(&b);
    } else if (json_is_array(p))
      size = json_array_size(p);
    else if (strcmp(t, "M") == 0)
      size = json_object_size(p);
    else
      return NULL;
    char buf[32];
    snprintf(buf, sizeof(buf), "%zu", size);
    return ddb_number_value(buf);
  }
  return NULL;
}

static int in_set(const json_t *set, const char *s) {
  size_t i;
  json_t *m;
  json_array_foreach(set, i, m) if (strcmp(json_string_value(m), s) == 0) return 1;
  return 0;
}

static int func_type_error(const char *fn, const json_t *v, ddb_error *e) {
  const char *t = ddb_value_type(v);
  return ddb_invalid(e,
                     "Invalid ConditionExpression: Incorrect operand type for operator or "
                     "function; operator or function: %s, operand type: %s",
                     fn, t ? t : "?");
}

static int eval_func(const ddb_node *n, const json_t *item, int *out, ddb_error *e) {
  json_t *a = ddb_path_get(item, n->kid[0]->path, n->kid[0]->plen);
  *out = 0;
  if (n->op == DDB_F_ATTRIBUTE_EXISTS || n->op == DDB_F_ATTRIBUTE_NOT_EXISTS) {
    *out = (a != NULL) == (n->op == DDB_F_ATTRIBUTE_EXISTS);
    return 0;
  }
  json_t *b = operand(n->kid[1], item);
  int rc = 0;
  const char *ta = ddb_value_type(a), *tb = ddb_value_type(b);
  if (n->op == DDB_F_ATTRIBUTE_TYPE) {
    const char *want = json_string_value(json_object_get(b, "S"));
    *out = ta && want && strcmp(ta, want) == 0;
  } else if (n->op == DDB_F_BEGINS_WITH) {
    if (n->kid[1]->kind == DN_VALUE && tb && strcmp(tb, "S") != 0 && strcmp(tb, "B") != 0) {
      rc = func_type_error("begins_with", b, e);
    } else if (ta && tb && strcmp(ta, tb) == 0 && (!strcmp(ta, "S") || !strcmp(ta, "B"))) {
      ddb_bytes x, y;
      if (ddb_key_bytes(&x, a, ta[0]) == 0) {
        if (ddb_key_bytes(&y, b, ta[0]) == 0) {
          *out = ddb_bytes_prefix(&x, &y);
          ddb_bytes_free(&y);
        }
        ddb_bytes_free(&x);
      }
    }
  } else if (n->op == DDB_F_CONTAINS && ta && tb) {
    json_t *pa = json_object_get(a, ta), *pb = json_object_get(b, tb);
    if (strcmp(ta, "S") == 0 && strcmp(tb, "S") == 0)
      *out = strstr(json_string_value(pa), json_string_value(pb)) != NULL;
    else if ((strcmp(ta, "SS") == 0 && strcmp(tb, "S") == 0) ||
             (strcmp(ta, "NS") == 0 && strcmp(tb, "N") == 0) ||
             (strcmp(ta, "BS") == 0 && strcmp(tb, "B") == 0))
      *out = in_set(pa, json_string_value(pb));
    else if (strcmp(ta, "L") == 0) {
      size_t i;
      json_t *m;
      json_array_foreach(pa, i, m) if (ddb_value_equal(m, b)) *out = 1;
    }
  }
  json_decref(b);
  return rc;
}

int ddb_cond_eval(const ddb_node *n, const json_t *item, int *out, ddb_error *e) {
  int a = 0, b = 0;
  switch (n->kind) {
  case DN_AND:
    if (ddb_cond_eval(n->kid[0], item, &a, e) < 0)
      return -1;
    if (a && ddb_cond_eval(n->kid[1], item, &b, e) < 0)
      return -1;
    *out = a && b;
    return 0;
  case DN_OR:
    if (ddb_cond_eval(n->kid[0], item, &a, e) < 0)
      return -1;
    if (!a && ddb_cond_eval(n->kid[1], item, &b, e) < 0)
      return -1;
    *out = a || b;
    return 0;
  case DN_NOT:
    if (ddb_cond_eval(n->kid[0], item, &a, e) < 0)
      return -1;
    *out = !a;
    return 0;
  case DN_FUNC: return eval_func(n, item, out, e);
  case DN_CMP: {
    json_t *x = operand(n->kid[0], item), *y = operand(n->kid[1], item);
    int c = 0;
    if (!x || !y)
      *out = n->op == DDB_NE;
    else if (n->op == DDB_EQ || n->op == DDB_NE)
      *out = ddb_value_equal(x, y) == (n->op == DDB_EQ);
    else if (ddb_value_order(&c, x, y) < 0)
      *out = 0;
    else
      *out = n->op == DDB_LT ? c < 0 : n->op == DDB_LE ? c <= 0 : n->op == DDB_GT ? c > 0 : c >= 0;
    json_decref(x);
    json_decref(y);
    return 0;
  }
  case DN_BETWEEN: {
    json_t *x = operand(n->kid[0], item), *lo = operand(n->kid[1], item),
           *hi = operand(n->kid[2], item);
    int c1 = 0, c2 = 0, c3 = 0, rc = 0;
    *out = 0;
    if (lo && hi && ddb_value_order(&c3, lo, hi) == 0 && c3 > 0)
      rc = ddb_invalid(e,
                       "Invalid ConditionExpression: The BETWEEN operator requires upper bound "
                       "to be greater than or equal to lower bound; lower bound operand: "
                       "AttributeValue: {%s}, upper bound operand: AttributeValue: {%s}",
                       ddb_value_type(lo), ddb_value_type(hi));
    else if (x && lo && hi && ddb_value_order(&c1, lo, x) == 0 && ddb_value_order(&c2, x, hi) == 0)
      *out = c1 <= 0 && c2 <= 0;
    json_decref(x);
    json_decref(lo);
    json_decref(hi);
    return rc;
  }
  case DN_IN: {
    json_t *x = operand(n->kid[0], item);
    *out = 0;
    for (size_t i = 1; x && i < n->n && !*out; i++) {
      json_t *y = operand(n->kid[i], item);
      *out = y && ddb_value_equal(x, y);
      json_decref(y);
    }
    json_decref(x);
    return 0;
  }
  default: return ddb_invalid(e, "Invalid ConditionExpression: not a condition");
  }
}

/* ---- updates ---- */

#define MSG_BAD_TYPE "An operand in the update expression has an incorrect data type"
#define MSG_BAD_PATH "The document path provided in the update expression is invalid for update"

static json_t *set_value(const ddb_node *n, const json_t *orig, ddb_error *e) {
  if (n->kind == DN_VALUE)
    return json_incref(n->value);
  if (n->kind == DN_PATH) {
    json_t *v = ddb_path_get(orig, n->path, n->plen);
    if (!v)
      ddb_invalid(e, "The provided expression refers to an attribute that does not exist in the "
                     "item");
    return json_incref(v);
  }
  if (n->kind == DN_FUNC && n->op == DDB_F_IF_NOT_EXISTS) {
    json_t *v = ddb_path_get(orig, n->kid[0]->path, n->kid[0]->plen);
    return v ? json_incref(v) : set_value(n->kid[1], orig, e);
  }
  if (n->n != 2 || (n->kind == DN_FUNC && n->op != DDB_F_LIST_APPEND) ||
      (n->kind != DN_FUNC && n->kind != DN_ARITH)) {
    ddb_invalid(e, "Invalid UpdateExpression: The function is not allowed in an update "
                   "expression");
    return NULL;
  }
  json_t *a = set_value(n->kid[0], orig, e);
  json_t *b = a ? set_value(n->kid[1], orig, e) : NULL;
  json_t *r = NULL;
  if (!a || !b)
    goto done;
  if (n->kind == DN_FUNC) { /* list_append */
    json_t *la = json_object_get(a, "L"), *lb = json_object_get(b, "L");
    if (!json_is_array(la) || !json_is_array(lb) || json_object_size(a) != 1 ||
        json_object_size(b) != 1) {
      ddb_invalid(e, MSG_BAD_TYPE);
      goto done;
    }
    json_t *l = json_copy(la);
    json_array_extend(l, lb);
    r = json_pack("{s:o}", "L", l);
    goto done;
  }
  const char *na = json_string_value(json_object_get(a, "N"));
  const char *nb = json_string_value(json_object_get(b, "N"));
  if (!na || !nb || json_object_size(a) != 1 || json_object_size(b) != 1) {
    ddb_invalid(e, MSG_BAD_TYPE);
    goto done;
  }
  ddb_num x, y;
  ddb_num_init(&x);
  ddb_num_init(&y);
  if (ddb_num_parse(&x, na, e) == 0 && ddb_num_parse(&y, nb, e) == 0 &&
      ddb_num_add(&x, &x, &y, n->op == '-', e) == 0) {
    char *t = ddb_num_text(&x);
    if (t)
      r = ddb_number_value(t);
    free(t);
  }
  ddb_num_clear(&x);
  ddb_num_clear(&y);
done:
  json_decref(a);
  json_decref(b);
  return r;
}

/* The container (object of an M or array of an L, or the item itself) that
 * holds the last element of path; NULL when the path does not lead there. */
static json_t *parent_of(json_t *item, const ddb_pelem *path, size_t plen) {
  if (plen == 1)
    return item;
  json_t *v = ddb_path_get(item, path, plen - 1);
  const ddb_pelem *last = &path[plen - 1];
  if (!v || json_object_size(v) != 1)
    return NULL;
  json_t *c = json_object_get(v, last->name ? "M" : "L");
  return (last->name ? json_is_object(c) : json_is_array(c)) ? c : NULL;
}

static int assign(json_t *item, const ddb_node *path, json_t *v, ddb_error *e) {
  json_t *parent = parent_of(item, path->path, path->plen);
  const ddb_pelem *last = &path->path[path->plen - 1];
  if (!parent)
    return ddb_invalid(e, MSG_BAD_PATH);
  if (last->name)
    return json_object_set(parent, last->name, v);
  if ((size_t)last->index < json_array_size(parent))
    return json_array_set(parent, (size_t)last->index, v);
  return json_array_append(parent, v);
}

static void remove_at(json_t *item, const ddb_node *path) {
  json_t *parent = parent_of(item, path->path, path->plen);
  const ddb_pelem *last = &path->path[path->plen - 1];
  if (!parent)
    return;
  if (last->name)
    json_object_del(parent, last->name);
  else
    json_array_remove(parent, (size_t)last->index);
}

static const char *type_word(const char *t) {
  static const struct {
    const char *t, *w;
  } words[] = {{"S", "STRING"},  {"N", "NUMBER"}, {"B", "BINARY"}, {"BOOL", "BOOLEAN"},
               {"NULL", "NULL"}, {"M", "MAP"},    {"L", "LIST"},   {"SS", "SET"},
               {"NS", "SET"},    {"BS", "SET"}};
  for (size_t i = 0; t && i < sizeof(words) / sizeof(words[0]); i++)
    if (strcmp(words[i].t, t) == 0)
      return words[i].w;
  return "UNKNOWN";
}

static int add_or_delete(json_t *item, const ddb_node *act, ddb_error *e) {
  const ddb_node *path = act->kid[0];
  json_t *v = act->kid[1]->value;
  const char *tv = ddb_value_type(v);
  int is_add = act->kind == DN_ADD;
  int is_set = tv && (!strcmp(tv, "SS") || !strcmp(tv, "NS") || !strcmp(tv, "BS"));
  if (!(is_set || (is_add && tv && strcmp(tv, "N") == 0)))
    return ddb_invalid(e,
                       "Invalid UpdateExpression: Incorrect operand type for operator or "
                       "function; operator: %s, operand type: %s",
                       is_add ? "ADD" : "DELETE", type_word(tv));
  json_t *cur = ddb_path_get(item, path->path, path->plen);
  if (!cur) {
    if (!is_add)
      return 0;
    return assign(item, path, v, e);
  }
  const char *tc = ddb_value_type(cur);
  if (!tc || strcmp(tc, tv) != 0)
    return ddb_invalid(e, MSG_BAD_TYPE);
  if (strcmp(tv, "N") == 0) {
    ddb_num x, y;
    ddb_num_init(&x);
    ddb_num_init(&y);
    int rc = -1;
    if (ddb_num_parse(&x, json_string_value(json_object_get(cur, "N")), e) == 0 &&
        ddb_num_parse(&y, json_string_value(json_object_get(v, "N")), e) == 0 &&
        ddb_num_add(&x, &x, &y, 0, e) == 0) {
      char *t = ddb_num_text(&x);
      json_t *nv = t ? ddb_number_value(t) : NULL;
      rc = nv ? assign(item, path, nv, e) : -1;
      json_decref(nv);
      free(t);
    }
    ddb_num_clear(&x);
    ddb_num_clear(&y);
    return rc;
  }
  json_t *have = json_object_get(cur, tc), *with = json_object_get(v, tv);
  json_t *res = json_array();
  size_t i;
  json_t *m;
  if (is_add) {
    json_array_extend(res, have);
    json_array_foreach(with, i, m) {
      if (!in_set(res, json_string_value(m)))
        json_array_append(res, m);
    }
  } else {
    json_array_foreach(have, i, m) {
      if (!in_set(with, json_string_value(m)))
        json_array_append(res, m);
    }
  }
  int rc = 0;
  if (json_array_size(res) == 0) {
    remove_at(item, path);
  } else {
    json_t *nv = json_pack("{s:O}", tc, res);
    rc = assign(item, path, nv, e);
    json_decref(nv);
  }
  json_decref(res);
  return rc;
}

/* REMOVE of list elements: by descending index, so earlier removals do not
 * shift later ones (DynamoDB removes the elements the indexes named). */
static int remove_cmp(const void *x, const void *y) {
  const ddb_node *a = *(const ddb_node *const *)x, *b = *(const ddb_node *const *)y;
  long ia = a->kid[0]->path[a->kid[0]->plen - 1].index;
  long ib = b->kid[0]->path[b->kid[0]->plen - 1].index;
  return ia < ib ? 1 : ia > ib ? -1 : 0;
}

int ddb_update_apply(const ddb_node *n, json_t *item, const char *const key_names[2],
                     ddb_error *e) {
  for (size_t i = 0; i < n->n; i++) {
    const char *top = n->kid[i]->kid[0]->path[0].name;
    for (int k = 0; k < 2; k++)
      if (key_names[k] && strcmp(top, key_names[k]) == 0)
        return ddb_invalid(e,
                           "One or more parameter values were invalid: Cannot update attribute "
                           "%s. This attribute is part of the key",
                           top);
  }
  json_t *orig = json_deep_copy(item);
  const ddb_node **removes = calloc(n->n + 1, sizeof(*removes));
  size_t nrem = 0;
  int rc = 0;
  if (!orig || !removes) {
    rc = ddb_fail(e, "InternalServerError", "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n->n && rc == 0; i++) {
    const ddb_node *act = n->kid[i];
    if (act->kind == DN_SET) {
      json_t *v = set_value(act->kid[1], orig, e);
      if (!v) {
        rc = -1;
        break;
      }
      if (assign(item, act->kid[0], v, e) < 0)
        rc = -1;
      json_decref(v);
    } else if (act->kind == DN_REMOVE) {
      removes[nrem++] = act;
    } else {
      rc = add_or_delete(item, act, e);
    }
  }
  if (rc == 0) {
    qsort(removes, nrem, sizeof(*removes), remove_cmp);
    for (size_t i = 0; i < nrem; i++)
      remove_at(item, removes[i]->kid[0]);
  }
done:
  json_decref(orig);
  free(removes);
  return rc;
}

/* ---- projections ---- */

static void put_path(json_t *dst, const ddb_pelem *path, size_t plen, json_t *v) {
  json_t *cur = dst; /* an attribute map, M payload or L payload */
  for (size_t i = 0; i < plen; i++) {
    int last = i + 1 == plen;
    const ddb_pelem *el = &path[i];
    json_t *child = NULL;
    if (json_is_object(cur)) {
      if (!el->name)
        return;
      child = json_object_get(cur, el->name);
      if (last) {
        json_object_set(cur, el->name, v);
        return;
      }
      if (!child) {
        child = path[i + 1].name ? json_pack("{s:{}}", "M") : json_pack("{s:[]}", "L");
        json_object_set_new(cur, el->name, child);
      }
    } else {
      if (el->name)
        return;
      if (last) {
        json_array_append(cur, v);
        return;
      }
      child = path[i + 1].name ? json_pack("{s:{}}", "M") : json_pack("{s:[]}", "L");
      json_array_append_new(cur, child);
    }
    cur = json_object_get(child, path[i + 1].name ? "M" : "L");
    if (!cur)
      return;
  }
}

json_t *ddb_project(const ddb_node *n, const json_t *item) {
  json_t *out = json_object();
  for (size_t i = 0; n && i < n->n; i++) {
    const ddb_node *p = n->kid[i];
    json_t *v = ddb_path_get(item, p->path, p->plen);
    if (v)
      put_path(out, p->path, p->plen, v);
  }
  return out;
}

json_t *ddb_project_updated(const ddb_node *update, const json_t *item) {
  json_t *out = json_object();
  for (size_t i = 0; update && i < update->n; i++) {
    const ddb_node *p = update->kid[i]->kid[0];
    json_t *v = ddb_path_get(item, p->path, p->plen);
    if (v)
      put_path(out, p->path, p->plen, v);
  }
  return out;
}
