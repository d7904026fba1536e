/*
 * select_eval.c — S3 Select's values and the evaluation of a parsed query's
 * expressions over one record (select_sql.c builds them, select.c runs them).
 *
 * PartiQL's rules as S3 Select applies them: NULL and MISSING propagate
 * through operators and functions (MISSING IS NULL holds), logic is
 * three-valued and WHERE keeps a record only when it is TRUE; integers stay
 * integers (5 / 2 is 2) until they overflow, decimals stay exact with their
 * scale (1.50 * 2 is 3.00; GMP integers), floats are IEEE doubles. CSV fields
 * are strings: compared with or added to a number, a numeric string counts
 * as that number (a non-numeric one compares as unknown). Strings are UTF-8;
 * lengths and positions count code points.
 */
#include "emulator/s3/s3_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- strings ---- */

static size_t utf8_next(const char *s, size_t len, size_t i) {
  i++;
  while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
    i++;
  return i;
}

static size_t utf8_count(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i = utf8_next(s, len, i))
    n++;
  return n;
}

/* LIKE with % and _ (one code point) and an optional escape character. */
static int like(const char *s, size_t slen, const char *p, size_t plen, const char *esc,
                size_t esclen) {
  size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;
  while (si < slen) {
    if (pi < plen) {
      int escaped = esclen && plen - pi >= esclen && memcmp(p + pi, esc, esclen) == 0;
      size_t lit = escaped ? pi + esclen : pi;
      if (!escaped && p[pi] == '%') {
        star_p = ++pi;
        star_s = si;
        continue;
      }
      if (!escaped && p[pi] == '_') {
        si = utf8_next(s, slen, si);
        pi++;
        continue;
      }
      if (lit < plen) {
        size_t cl = utf8_next(p, plen, lit) - lit;
        if (cl <= slen - si && memcmp(s + si, p + lit, cl) == 0) {
          si += cl;
          pi = lit + cl;
          continue;
        }
      }
    }
    if (star_p == (size_t)-1)
      return 0;
    pi = star_p;
    star_s = utf8_next(s, slen, star_s);
    si = star_s;
  }
  while (pi < plen && p[pi] == '%')
    pi++;
  return pi == plen;
}

/* ---- paths ---- */

static int name_is(const s3sel_step *st, const char *name) {
  return st->quoted ? strcmp(st->name, name) == 0 : strcasecmp(st->name, name) == 0;
}

static json_t *json_member(json_t *obj, const s3sel_step *st) {
  json_t *v = json_object_get(obj, st->name);
  if (v || st->quoted)
    return v;
  const char *k;
  json_object_foreach(obj, k, v) if (strcasecmp(k, st->name) == 0) return v;
  return NULL;
}

static int eval_path(const s3sel_query *q, const s3sel_node *n, const s3sel_record *rec,
                     s3sel_value *out, s3sel_error *err) {
  memset(out, 0, sizeof(*out));
  size_t i = 0;
  if (q->alias && n->path[0].kind == S3SEL_PATH_MEMBER &&
      strcasecmp(n->path[0].name, q->alias) == 0)
    i = 1;
  if (!rec->json) {
    if (i == n->npath) { /* the alias alone: the record as an object */
      json_t *o = json_object();
      for (size_t f = 0; o && f < rec->nfields; f++) {
        char name[32];
        snprintf(name, sizeof(name), "_%zu", f + 1);
        json_object_set_new(o, f < rec->nnames ? rec->names[f] : name,
                            json_stringn(rec->fields[f], rec->lens[f]));
      }
      if (!o)
        return s3sel_oom(err);
      out->t = S3SEL_JSON;
      out->j = o;
      return 0;
    }
    const s3sel_step *st = &n->path[i];
    if (i + 1 != n->npath || st->kind != S3SEL_PATH_MEMBER)
      return 0; /* MISSING */
    const char *nm = st->name;
    if (!st->quoted && nm[0] == '_' && nm[1] && strspn(nm + 1, "0123456789") == strlen(nm + 1)) {
      unsigned long long col = strtoull(nm + 1, NULL, 10);
      if (col >= 1 && col <= rec->nfields)
        return s3sel_set_str(out, rec->fields[col - 1], rec->lens[col - 1]) < 0 ? s3sel_oom(err)
                                                                                : 0;
      return 0;
    }
    for (size_t f = 0; f < rec->nnames && f < rec->nfields; f++)
      if (name_is(st, rec->names[f]))
        return s3sel_set_str(out, rec->fields[f], rec->lens[f]) < 0 ? s3sel_oom(err) : 0;
    return 0;
  }
  json_t *cur = rec->json;
  for (; i < n->npath && cur; i++) {
    const s3sel_step *st = &n->path[i];
    if (st->kind == S3SEL_PATH_MEMBER)
      cur = json_is_object(cur) ? json_member(cur, st) : NULL;
    else if (st->kind == S3SEL_PATH_INDEX)
      cur = json_is_array(cur) && st->index >= 0 ? json_array_get(cur, (size_t)st->index) : NULL;
    else
      cur = NULL;
  }
  if (!cur)
    return 0;
  return s3sel_value_from_json(out, cur) < 0 ? s3sel_oom(err) : 0;
}

/* ---- functions and casts ---- */

static int cast(const s3sel_node *n, s3sel_value *v, s3sel_error *err) {
  if (v->t == S3SEL_NULL || v->t == S3SEL_MISSING || (int)v->t == n->op)
    return 0;
  s3sel_value r = {0};
  const char *fail = NULL;
  switch (n->op) {
  case S3SEL_STR: {
    dynbuf b;
    dynbuf_init(&b, S3SEL_MAX_RECORD);
    s3sel_value_text(&b, v);
    size_t len;
    char *text = dynbuf_take(&b, &len);
    if (!text)
      return s3sel_oom(err);
    r.t = S3SEL_STR;
    r.s = text;
    r.len = len;
    break;
  }
  case S3SEL_BOOL:
    if (v->t == S3SEL_STR && (strcasecmp(v->s, "true") == 0 || strcasecmp(v->s, "false") == 0)) {
      r.t = S3SEL_BOOL;
      r.b = strcasecmp(v->s, "true") == 0;
    } else if (s3sel_is_num(v)) {
      r.t = S3SEL_BOOL;
      r.b = v->t == S3SEL_INT ? v->i != 0 : v->t == S3SEL_FLOAT ? v->f != 0 : mpz_sgn(v->d) != 0;
    } else {
      fail = "BOOL";
    }
    break;
  case S3SEL_FLOAT: {
    if (v->t == S3SEL_STR) {
      char *end;
      errno = 0;
      double d = strtod(v->s, &end);
      while (isspace((unsigned char)*end))
        end++;
      if (end == v->s || *end || errno == ERANGE)
        fail = "FLOAT";
      r.t = S3SEL_FLOAT;
      r.f = d;
    } else if (s3sel_is_num(v)) {
      r.t = S3SEL_FLOAT;
      r.f = s3sel_to_double(v);
    } else if (v->t == S3SEL_BOOL) {
      r.t = S3SEL_FLOAT;
      r.f = v->b;
    } else {
      fail = "FLOAT";
    }
    break;
  }
  case S3SEL_INT:
  case S3SEL_DEC: {
    s3sel_value num = {0};
    if (v->t == S3SEL_STR) {
      if (s3sel_number_from_text(&num, v->s, v->len) < 0)
        fail = n->op == S3SEL_INT ? "INT" : "DECIMAL";
    } else if (v->t == S3SEL_FLOAT) {
      char buf[64];
      s3sel_float_text(buf, sizeof(buf), v->f);
      if (!isfinite(v->f) || s3sel_dec_from_text(&num, buf, strlen(buf)) < 0)
        fail = n->op == S3SEL_INT ? "INT" : "DECIMAL";
    } else if (v->t == S3SEL_BOOL) {
      num.t = S3SEL_INT;
      num.i = v->b;
    } else if (s3sel_is_num(v)) {
      s3sel_copy(&num, v);
    } else {
      fail = n->op == S3SEL_INT ? "INT" : "DECIMAL";
    }
    if (!fail && n->op == S3SEL_INT && num.t == S3SEL_DEC) {
      /* truncated toward zero; too large for 64 bits fails */
      mpz_t p;
      mpz_init(p);
      mpz_ui_pow_ui(p, 10, (unsigned long)num.scale);
      mpz_tdiv_q(num.d, num.d, p);
      mpz_clear(p);
      if (!mpz_fits_slong_p(num.d) || sizeof(long) < 8) {
        fail = "INT";
      } else {
        long x = mpz_get_si(num.d);
        s3sel_value_clear(&num);
        num.t = S3SEL_INT;
        num.i = x;
      }
    }
    if (!fail && n->op == S3SEL_DEC && num.t == S3SEL_INT) {
      int64_t x = num.i;
      s3sel_set_dec_ui(&num, x);
    }
    if (fail)
      s3sel_value_clear(&num);
    else
      r = num;
    break;
  }
  default: fail = "type";
  }
  if (fail) {
    s3sel_value_clear(&r);
    s3sel_fail(err, "CastFailed",
               "Attempt to convert from one data type to another using CAST failed in the SQL "
               "expression at line 1, column %d.",
               n->col);
    return -1;
  }
  s3sel_value_clear(v);
  *v = r;
  return 0;
}

static int wrong_type(const s3sel_node *n, s3sel_error *err) {
  s3sel_fail(err, "IncorrectSqlFunctionArgumentType",
             "Incorrect type of arguments in function call at line 1, column %d.", n->col);
  return -1;
}

static int int_arg(const s3sel_value *v, int64_t *out) {
  s3sel_value t = {0};
  const s3sel_value *x = s3sel_as_number(v, &t);
  int ok = x && x->t == S3SEL_INT;
  if (ok)
    *out = x->i;
  s3sel_value_clear(&t);
  return ok;
}

static int func(const s3sel_query *q, const s3sel_node *n, const s3sel_record *rec,
                s3sel_value *out, s3sel_error *err) {
  memset(out, 0, sizeof(*out));
  s3sel_value a[3] = {{0}};
  int rc = 0;
  if (strcmp(n->name, "COALESCE") == 0) {
    for (size_t i = 0; i < n->nargs; i++) {
      if (s3sel_eval(q, n->args[i], rec, out, err) < 0)
        return -1;
      if (out->t != S3SEL_NULL && out->t != S3SEL_MISSING)
        return 0;
      s3sel_value_clear(out);
    }
    out->t = S3SEL_NULL;
    return 0;
  }
  for (size_t i = 0; i < n->nargs && i < 3; i++)
    if (s3sel_eval(q, n->args[i], rec, &a[i], err) < 0)
      goto fail;
  if (strcmp(n->name, "NULLIF") == 0) {
    if (s3sel_compare(&a[0], &a[1]) == 0)
      out->t = S3SEL_NULL;
    else
      s3sel_copy(out, &a[0]);
    goto done;
  }
  for (size_t i = 0; i < n->nargs && i < 3; i++) {
    if (a[i].t == S3SEL_MISSING || a[i].t == S3SEL_NULL) {
      out->t = a[i].t;
      goto done;
    }
  }
  if (a[0].t != S3SEL_STR) {
    rc = wrong_type(n, err);
    goto done;
  }
  const char *s = a[0].s;
  size_t len = a[0].len;
  if (strcmp(n->name, "LOWER") == 0 || strcmp(n->name, "UPPER") == 0) {
    if (s3sel_set_str(out, s, len) < 0) {
      rc = s3sel_oom(err);
      goto done;
    }
    for (size_t i = 0; i < len; i++)
      out->s[i] =
          (char)(n->name[0] == 'L' ? tolower((unsigned char)s[i]) : toupper((unsigned char)s[i]));
  } else if (strstr(n->name, "LENGTH")) {
    out->t = S3SEL_INT;
    out->i = (int64_t)utf8_count(s, len);
  } else if (strcmp(n->name, "SUBSTRING") == 0) {
    int64_t start, count = INT64_MAX;
    if (!int_arg(&a[1], &start) || (n->nargs == 3 && !int_arg(&a[2], &count))) {
      rc = wrong_type(n, err);
      goto done;
    }
    if (count < 0) {
      s3sel_fail(err, "EvaluatorInvalidArguments",
                 "SUBSTRING's length cannot be negative at line 1, column %d.", n->col);
      rc = -1;
      goto done;
    }
    /* SQL: characters [start, start + count) of 1-based positions. */
    int64_t end = count == INT64_MAX || start > INT64_MAX - count ? INT64_MAX : start + count;
    size_t from = len, to = len, i = 0;
    int64_t pos = 1;
    for (; i <= len; i = i < len ? utf8_next(s, len, i) : len + 1, pos++) {
      if (pos == (start < 1 ? 1 : start) && from == len)
        from = i;
      if (pos == end) {
        to = i;
        break;
      }
      if (i == len)
        break;
    }
    if (end <= 1 || from > to)
      from = to = 0;
    if (s3sel_set_str(out, s + from, to - from) < 0)
      rc = s3sel_oom(err);
  } else if (strcmp(n->name, "TRIM") == 0) {
    const char *set = " ";
    size_t setlen = 1;
    if (n->nargs == 2) {
      if (a[1].t != S3SEL_STR) {
        rc = wrong_type(n, err);
        goto done;
      }
      set = a[1].s, setlen = a[1].len;
    }
    size_t b = 0, e = len;
    if (n->op != 'T')
      while (b < e && memchr(set, s[b], setlen))
        b++;
    if (n->op != 'L')
      while (e > b && memchr(set, s[e - 1], setlen))
        e--;
    if (s3sel_set_str(out, s + b, e - b) < 0)
      rc = s3sel_oom(err);
  }
done:
  for (size_t i = 0; i < 3; i++)
    s3sel_value_clear(&a[i]);
  return rc;
fail:
  for (size_t i = 0; i < 3; i++)
    s3sel_value_clear(&a[i]);
  return -1;
}

/* ---- aggregates ---- */

void s3sel_aggs_reset(s3sel_query *q) {
  for (size_t i = 0; i < q->naggs; i++) {
    q->aggs[i]->count = 0;
    s3sel_value_clear(&q->aggs[i]->acc);
  }
}

int s3sel_aggs_feed(s3sel_query *q, const s3sel_record *rec, s3sel_error *err) {
  for (size_t i = 0; i < q->naggs; i++) {
    s3sel_node *n = q->aggs[i];
    if (n->star) {
      n->count++;
      continue;
    }
    s3sel_value v;
    if (s3sel_eval(q, n->args[0], rec, &v, err) < 0)
      return -1;
    if (v.t == S3SEL_NULL || v.t == S3SEL_MISSING) {
      s3sel_value_clear(&v);
      continue;
    }
    int rc = 0;
    if (strcmp(n->name, "SUM") == 0 || strcmp(n->name, "AVG") == 0) {
      if (!n->count) {
        s3sel_value z = {.t = S3SEL_INT, .i = 0};
        rc = s3sel_arith('+', &z, &v, &n->acc, n, err);
      } else {
        s3sel_value sum;
        rc = s3sel_arith('+', &n->acc, &v, &sum, n, err);
        if (rc == 0) {
          s3sel_value_clear(&n->acc);
          n->acc = sum;
        }
      }
    } else if (strcmp(n->name, "MIN") == 0 || strcmp(n->name, "MAX") == 0) {
      int c = n->count ? s3sel_compare(&v, &n->acc) : 0;
      if (!n->count || (c != 2 && (n->name[1] == 'I' ? c < 0 : c > 0))) {
        s3sel_value_clear(&n->acc);
        s3sel_copy(&n->acc, &v);
      }
    }
    s3sel_value_clear(&v);
    if (rc < 0)
      return -1;
    n->count++;
  }
  return 0;
}

static int agg_result(const s3sel_node *n, s3sel_value *out, s3sel_error *err) {
  memset(out, 0, sizeof(*out));
  if (strcmp(n->name, "COUNT") == 0) {
    out->t = S3SEL_INT;
    out->i = n->count;
    return 0;
  }
  if (!n->count) {
    out->t = S3SEL_NULL;
    return 0;
  }
  if (strcmp(n->name, "AVG") == 0) {
    if (n->acc.t == S3SEL_FLOAT) {
      out->t = S3SEL_FLOAT;
      out->f = n->acc.f / (double)n->count;
      return 0;
    }
    s3sel_value c = {.t = S3SEL_INT, .i = n->count};
    if (n->acc.t != S3SEL_INT && n->acc.t != S3SEL_DEC)
      return s3sel_oom(err);
    s3sel_dec_div(out, &n->acc, &c);
    return 0;
  }
  s3sel_copy(out, &n->acc);
  return 0;
}

/* ---- evaluation ---- */

int s3sel_eval(const s3sel_query *q, const s3sel_node *n, const s3sel_record *rec, s3sel_value *out,
               s3sel_error *err) {
  memset(out, 0, sizeof(*out));
  s3sel_value a = {0}, b = {0}, c = {0};
  int rc = 0;
  switch (n->kind) {
  case S3SEL_N_LIT: s3sel_copy(out, &n->lit); return 0;
  case S3SEL_N_PATH: return eval_path(q, n, rec, out, err);
  case S3SEL_N_AGG: return agg_result(n, out, err);
  case S3SEL_N_FUNC: return func(q, n, rec, out, err);
  case S3SEL_N_CAST:
    if (s3sel_eval(q, n->args[0], rec, out, err) < 0)
      return -1;
    if (cast(n, out, err) < 0) {
      s3sel_value_clear(out);
      return -1;
    }
    return 0;
  case S3SEL_N_NEG: {
    s3sel_value zero = {.t = S3SEL_INT, .i = 0};
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    rc = s3sel_arith('-', &zero, &a, out, n, err);
    break;
  }
  case S3SEL_N_NOT: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    int t = s3sel_truth(&a);
    s3sel_set_truth(out, t < 0 ? -1 : !t);
    break;
  }
  case S3SEL_N_AND:
  case S3SEL_N_OR: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    int x = s3sel_truth(&a), want = n->kind == S3SEL_N_OR;
    if (x == want) {
      s3sel_set_truth(out, want);
      break;
    }
    if (s3sel_eval(q, n->args[1], rec, &b, err) < 0) {
      rc = -1;
      break;
    }
    int y = s3sel_truth(&b);
    s3sel_set_truth(out, y == want ? want : (x < 0 || y < 0) ? -1 : !want);
    break;
  }
  case S3SEL_N_ARITH:
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    if (s3sel_eval(q, n->args[1], rec, &b, err) < 0) {
      rc = -1;
      break;
    }
    rc = s3sel_arith(n->op, &a, &b, out, n, err);
    break;
  case S3SEL_N_CMP: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    if (s3sel_eval(q, n->args[1], rec, &b, err) < 0) {
      rc = -1;
      break;
    }
    if (a.t <= S3SEL_NULL || b.t <= S3SEL_NULL) {
      out->t = a.t == S3SEL_MISSING || b.t == S3SEL_MISSING ? S3SEL_MISSING : S3SEL_NULL;
      break;
    }
    int cmp = s3sel_compare(&a, &b);
    if (cmp == 2) {
      s3sel_set_truth(out, n->op == '=' ? 0 : n->op == '!' ? 1 : -1);
      break;
    }
    int t = n->op == '='   ? cmp == 0
            : n->op == '!' ? cmp != 0
            : n->op == '<' ? cmp < 0
            : n->op == 'l' ? cmp <= 0
            : n->op == '>' ? cmp > 0
                           : cmp >= 0;
    s3sel_set_truth(out, t);
    break;
  }
  case S3SEL_N_IS: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    int t = n->op == 'M' ? a.t == S3SEL_MISSING : a.t <= S3SEL_NULL;
    s3sel_set_truth(out, n->negate ? !t : t);
    break;
  }
  case S3SEL_N_BETWEEN: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0 ||
        s3sel_eval(q, n->args[1], rec, &b, err) < 0 ||
        s3sel_eval(q, n->args[2], rec, &c, err) < 0) {
      rc = -1;
      break;
    }
    if (a.t <= S3SEL_NULL || b.t <= S3SEL_NULL || c.t <= S3SEL_NULL) {
      out->t = S3SEL_NULL;
      break;
    }
    int lo = s3sel_compare(&a, &b), hi = s3sel_compare(&a, &c);
    int t = lo == 2 || hi == 2 ? -1 : lo >= 0 && hi <= 0;
    s3sel_set_truth(out, t < 0 ? -1 : n->negate ? !t : t);
    break;
  }
  case S3SEL_N_IN: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    int found = 0, unknown = a.t <= S3SEL_NULL;
    for (size_t i = 1; i < n->nargs && !found && !unknown; i++) {
      if (s3sel_eval(q, n->args[i], rec, &b, err) < 0) {
        rc = -1;
        break;
      }
      int cmp = b.t <= S3SEL_NULL ? 2 : s3sel_compare(&a, &b);
      found = cmp == 0;
      unknown |= b.t <= S3SEL_NULL;
      s3sel_value_clear(&b);
    }
    int t = found ? 1 : unknown ? -1 : 0;
    s3sel_set_truth(out, t < 0 ? -1 : n->negate ? !t : t);
    break;
  }
  case S3SEL_N_LIKE: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0 ||
        s3sel_eval(q, n->args[1], rec, &b, err) < 0 ||
        (n->nargs == 3 && s3sel_eval(q, n->args[2], rec, &c, err) < 0)) {
      rc = -1;
      break;
    }
    if (a.t <= S3SEL_NULL || b.t <= S3SEL_NULL || (n->nargs == 3 && c.t <= S3SEL_NULL)) {
      out->t = S3SEL_NULL;
      break;
    }
    if (a.t != S3SEL_STR || b.t != S3SEL_STR || (n->nargs == 3 && c.t != S3SEL_STR)) {
      s3sel_fail(err, "LikeInvalidInputs",
                 "Invalid argument given to the LIKE clause in the SQL expression at line 1, "
                 "column %d.",
                 n->col);
      rc = -1;
      break;
    }
    if (n->nargs == 3 && (c.len == 0 || utf8_next(c.s, c.len, 0) != c.len)) {
      s3sel_fail(err, "EvaluatorLikePatternInvalidEscapeSequence",
                 "The LIKE ESCAPE must be a single character at line 1, column %d.", n->col);
      rc = -1;
      break;
    }
    int t = like(a.s, a.len, b.s, b.len, n->nargs == 3 ? c.s : NULL, n->nargs == 3 ? c.len : 0);
    s3sel_set_truth(out, n->negate ? !t : t);
    break;
  }
  default: out->t = S3SEL_MISSING;
  }
  s3sel_value_clear(&a);
  s3sel_value_clear(&b);
  s3sel_value_clear(&c);
  return rc;
}

int s3sel_where(const s3sel_query *q, const s3sel_record *rec, s3sel_error *err) {
  if (!q->where)
    return 1;
  s3sel_value v;
  if (s3sel_eval(q, q->where, rec, &v, err) < 0)
    return -1;
  int t = s3sel_truth(&v) == 1;
  s3sel_value_clear(&v);
  return t;
}

void s3sel_item_name(const s3sel_query *q, size_t i, char *out, size_t size) {
  const s3sel_item *it = &q->items[i];
  if (it->alias) {
    snprintf(out, size, "%s", it->alias);
    return;
  }
  const s3sel_node *n = it->expr;
  if (n->kind == S3SEL_N_PATH && n->path[n->npath - 1].kind == S3SEL_PATH_MEMBER &&
      !(n->npath == 1 && q->alias && strcasecmp(n->path[0].name, q->alias) == 0)) {
    snprintf(out, size, "%s", n->path[n->npath - 1].name);
    return;
  }
  snprintf(out, size, "_%zu", i + 1);
}
