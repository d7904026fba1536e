/*
 * value.c — the helpers every protocol file shares, so that they depend on
 * this file and not on each other or on the dispatcher (protocol.c): AWS
 * errors, the parse context, timestamps, and the conversions between the
 * neutral value form (service.h) and text or JSON, driven by model shapes.
 *
 * Conversions are strict on input (a value of the wrong type is the
 * protocol's type error, never coerced) and forgiving on output: a handler
 * value that does not fit its shape is left out rather than sent malformed.
 * Every recursive walk carries a depth bounded by AWS_MAX_DEPTH.
 */
#include "emulator/protocol/protocol_int.h"
#include "common/codec.h"
#include "common/error.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void aws_http_out_free(aws_http_out *out) {
  if (!out)
    return;
  free(out->body);
  json_decref(out->headers);
  memset(out, 0, sizeof(*out));
}

/* ---- errors ---- */

/* Replaces every byte that is not part of a valid UTF-8 sequence with '?', so
 * that messages quoting client input (possibly cut mid-character) stay valid
 * JSON strings. */
/* AWS quotes offending values in full: STS's two-error answer for a
 * 2,049-character roleArn of 4-byte characters is over 16 KiB. */
#define AWS_ERROR_MAX_MESSAGE 65536

static void utf8_sanitize(char *s) {
  unsigned char *p = (unsigned char *)s;
  while (*p) {
    size_t n = *p < 0x80             ? 1
               : (*p & 0xE0) == 0xC0 ? 2
               : (*p & 0xF0) == 0xE0 ? 3
               : (*p & 0xF8) == 0xF0 ? 4
                                     : 0;
    size_t i = 1;
    for (; n && i < n; i++)
      if ((p[i] & 0xC0) != 0x80)
        break;
    if (n == 0 || i < n || (n == 2 && *p < 0xC2)) {
      *p++ = '?';
      continue;
    }
    p += n;
  }
}

int aws_error_setv(aws_error *err, int status, const char *code, const char *fmt, va_list ap) {
  /* Most messages are short; a few quote what they measured (Lambda's 4 KB
   * environment limit), so the buffer grows up to AWS_ERROR_MAX_MESSAGE. */
  char small[1024], *message = small;
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  if (n >= (int)sizeof(small)) {
    size_t size = (size_t)n + 1 < AWS_ERROR_MAX_MESSAGE ? (size_t)n + 1 : AWS_ERROR_MAX_MESSAGE;
    char *big = malloc(size);
    if (big) {
      vsnprintf(big, size, fmt, again);
      message = big;
    }
  }
  va_end(again);
  utf8_sanitize(message);
  aws_error_clear(err);
  err->status = status;
  err->code = strdup(code ? code : "InternalFailure");
  err->message = strdup(message);
  if (message != small)
    free(message);
  return AIRGAP_EINVALID;
}

int aws_error_set(aws_error *err, int status, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = aws_error_setv(err, status, code, fmt, ap);
  va_end(ap);
  return rc;
}

void aws_error_clear(aws_error *err) {
  if (!err)
    return;
  free(err->code);
  free(err->message);
  json_decref(err->fields);
  memset(err, 0, sizeof(*err));
}

void aws_parse_ctx_init(aws_parse_ctx *ctx, const aws_model *m, aws_protocol p, aws_error *err) {
  memset(ctx, 0, sizeof(*ctx));
  ctx->m = m;
  ctx->err = err;
  int query_codes = p == AWS_PROTOCOL_QUERY || p == AWS_PROTOCOL_QUERY_JSON ||
                    (m && aws_model_query_compatible(m));
  switch (p) {
  case AWS_PROTOCOL_QUERY:
  case AWS_PROTOCOL_QUERY_JSON: ctx->malformed_code = "MalformedQueryString"; break;
  case AWS_PROTOCOL_JSON:
  case AWS_PROTOCOL_REST_JSON:
    ctx->malformed_code = "SerializationException";
    ctx->use_location_names = m && strcmp(aws_model_protocol(m), "query") != 0;
    break;
  case AWS_PROTOCOL_REST_XML: ctx->malformed_code = "MalformedXML"; break;
  }
  const char *prefix = m ? aws_model_meta(m, "endpointPrefix") : NULL;
  if (query_codes && prefix && strcmp(prefix, "sts") == 0) {
    ctx->type_code = "InvalidParameterValue";
    ctx->missing_code = "ValidationError";
    ctx->missing_as_validation = 1;
    ctx->malformed_numbers = 1;
  } else if (query_codes) {
    ctx->type_code = "InvalidParameterValue";
    ctx->missing_code = "MissingParameter";
  } else if (p == AWS_PROTOCOL_REST_XML) {
    ctx->type_code = "InvalidArgument";
    ctx->missing_code = "InvalidArgument";
  } else {
    ctx->type_code = "SerializationException";
    ctx->missing_code = "ValidationException";
  }
}

/* ---- shapes ---- */

const char *aws_shape_type(const json_t *shape) {
  const char *t = aws_json_str(shape, "type");
  return t ? t : "";
}

const char *aws_timestamp_format_of(const json_t *ref, const json_t *shape, const char *dflt) {
  const char *f = aws_json_str(ref, "timestampFormat");
  if (!f)
    f = aws_json_str(shape, "timestampFormat");
  return f ? f : dflt;
}

/* ---- timestamps ---- */

static int parse_digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i]))
      return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

static int parse_iso8601(double *out, const char *s) {
  const char *p = s;
  int y, mo, d, h, mi, sec;
  if (parse_digits(&p, 4, &y) < 0 || *p++ != '-' || parse_digits(&p, 2, &mo) < 0 || *p++ != '-' ||
      parse_digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
    return -1;
  p++;
  if (parse_digits(&p, 2, &h) < 0 || *p++ != ':' || parse_digits(&p, 2, &mi) < 0 || *p++ != ':' ||
      parse_digits(&p, 2, &sec) < 0)
    return -1;
  double frac = 0, scale = 0.1;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p))
      return -1;
    for (int n = 0; isdigit((unsigned char)*p); p++, n++)
      if (n < 9) {
        frac += (*p - '0') * scale;
        scale /= 10;
      }
  }
  long offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, oh, om;
    p++;
    if (parse_digits(&p, 2, &oh) < 0)
      return -1;
    if (*p == ':')
      p++;
    if (parse_digits(&p, 2, &om) < 0)
      return -1;
    offset = sign * (oh * 3600L + om * 60L);
  }
  if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return -1;
  struct tm tm = {.tm_year = y - 1900,
                  .tm_mon = mo - 1,
                  .tm_mday = d,
                  .tm_hour = h,
                  .tm_min = mi,
                  .tm_sec = sec};
  time_t t = timegm(&tm);
  *out = (double)t - (double)offset + frac;
  return 0;
}

int aws_timestamp_parse(double *out, const char *text) {
  if (!text || !*text || strlen(text) > 64)
    return AIRGAP_EINVALID;
  double v;
  if (parse_iso8601(&v, text) == 0) {
    *out = v;
    return 0;
  }
  char *end = NULL;
  errno = 0;
  v = strtod(text, &end);
  if (errno == 0 && end && *end == '\0' && isfinite(v) && !isspace((unsigned char)text[0])) {
    *out = v;
    return 0;
  }
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  const char *rest = strptime(text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest && *rest == '\0') {
    *out = (double)timegm(&tm);
    return 0;
  }
  return AIRGAP_EINVALID;
}

void aws_timestamp_format(char *buf, size_t size, double t, const char *format) {
  if (format && strcmp(format, "unixTimestamp") == 0) {
    double whole;
    if (modf(t, &whole) == 0.0)
      snprintf(buf, size, "%.0f", t);
    else
      snprintf(buf, size, "%.3f", t);
    return;
  }
  double whole;
  double fraction = modf(t, &whole); /* floor(t) without libm (libc has modf) */
  time_t secs = (time_t)whole - (fraction < 0.0);
  int ms = (int)((t - (double)secs) * 1000.0 + 0.5);
  if (ms >= 1000) {
    secs++;
    ms -= 1000;
  }
  struct tm tm;
  gmtime_r(&secs, &tm);
  if (format && strcmp(format, "rfc822") == 0) {
    strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return;
  }
  char base[64];
  strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
  if (ms)
    snprintf(buf, size, "%s.%03dZ", base, ms);
  else
    snprintf(buf, size, "%sZ", base);
}

int aws_timestamp_value(double *out, const json_t *v) {
  if (json_is_integer(v))
    *out = (double)json_integer_value(v);
  else if (json_is_real(v))
    *out = json_real_value(v);
  else if (json_is_string(v))
    return aws_timestamp_parse(out, json_string_value(v)) == 0 ? 0 : -1;
  else
    return -1;
  return 0;
}

json_t *aws_timestamp_json(double t) {
  if (fabs(t) < 9e15 && t == (double)(json_int_t)t)
    return json_integer((json_int_t)t);
  return json_real(t);
}

/* ---- scalars ---- */

int aws_type_error(aws_parse_ctx *ctx, const char *name, const char *expected) {
  return aws_error_set(ctx->err, 400, ctx->type_code,
                       "Value for parameter %s is invalid: expected %s.", name ? name : "(input)",
                       expected);
}

int aws_integer_in_range(const char *type, json_int_t v) {
  if (strcmp(type, "integer") == 0)
    return v >= INT32_MIN && v <= INT32_MAX;
  if (strcmp(type, "short") == 0)
    return v >= INT16_MIN && v <= INT16_MAX;
  if (strcmp(type, "byte") == 0)
    return v >= INT8_MIN && v <= INT8_MAX;
  return 1;
}

static int is_integer_type(const char *type) {
  return strcmp(type, "integer") == 0 || strcmp(type, "long") == 0 || strcmp(type, "short") == 0 ||
         strcmp(type, "byte") == 0;
}

static int is_float_type(const char *type) {
  return strcmp(type, "float") == 0 || strcmp(type, "double") == 0;
}

int aws_scalar_from_text(json_t **out, aws_parse_ctx *ctx, const json_t *ref, const json_t *shape,
                         const char *text, const char *name, const char *ts_default) {
  const char *type = aws_shape_type(shape);
  json_t *v = NULL;
  if (strcmp(type, "string") == 0 || strcmp(type, "character") == 0) {
    v = json_string(text);
    if (!v)
      return aws_type_error(ctx, name, "a UTF-8 string");
  } else if (is_integer_type(type)) {
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (!*text || isspace((unsigned char)*text) || errno || !end || *end ||
        !aws_integer_in_range(type, n)) {
      if (ctx->malformed_numbers)
        return aws_error_set(ctx->err, 400, "MalformedInput", "%s",
                             *text ? "" : "missing value for decimal type");
      return aws_type_error(ctx, name,
                            strcmp(type, "long") == 0 ? "a 64-bit integer" : "an integer");
    }
    v = json_integer(n);
  } else if (strcmp(type, "boolean") == 0) {
    if (strcasecmp(text, "true") == 0)
      v = json_true();
    else if (strcasecmp(text, "false") == 0)
      v = json_false();
    else
      return aws_type_error(ctx, name, "true or false");
  } else if (is_float_type(type)) {
    char *end = NULL;
    errno = 0;
    double d = strtod(text, &end);
    if (!*text || isspace((unsigned char)*text) || errno || !end || *end || !isfinite(d))
      return aws_type_error(ctx, name, "a number");
    v = json_real(d);
  } else if (strcmp(type, "timestamp") == 0) {
    (void)ts_default; /* any of the three formats is accepted on input */
    double t;
    if (aws_timestamp_parse(&t, text) < 0)
      return aws_type_error(ctx, name, "a timestamp");
    v = aws_timestamp_json(t);
  } else if (strcmp(type, "blob") == 0) {
    if (!codec_base64_valid(text, strlen(text)))
      return aws_type_error(ctx, name, "base64-encoded data");
    v = json_string(text);
  } else {
    (void)ref;
    return aws_type_error(ctx, name, type[0] ? type : "a known shape");
  }
  if (!v)
    return aws_error_set(ctx->err, 500, "InternalFailure", "out of memory");
  *out = v;
  return 0;
}

char *aws_scalar_to_text(const json_t *ref, const json_t *shape, const json_t *v,
                         const char *ts_default) {
  const char *type = aws_shape_type(shape);
  char buf[128];
  if (strcmp(type, "string") == 0 || strcmp(type, "blob") == 0 || strcmp(type, "character") == 0) {
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
  } else if (is_integer_type(type)) {
    if (!json_is_integer(v))
      return NULL;
    snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
  } else if (strcmp(type, "boolean") == 0) {
    if (!json_is_boolean(v))
      return NULL;
    return strdup(json_is_true(v) ? "true" : "false");
  } else if (is_float_type(type)) {
    if (!json_is_number(v))
      return NULL;
    double d = json_number_value(v);
    snprintf(buf, sizeof(buf), "%.15g", d);
    if (strtod(buf, NULL) != d)
      snprintf(buf, sizeof(buf), "%.17g", d);
  } else if (strcmp(type, "timestamp") == 0) {
    double t;
    if (aws_timestamp_value(&t, v) < 0)
      return NULL;
    aws_timestamp_format(buf, sizeof(buf), t, aws_timestamp_format_of(ref, shape, ts_default));
  } else {
    return NULL;
  }
  return strdup(buf);
}

/* ---- JSON ---- */

static const char *json_member_key(const aws_parse_ctx *ctx, const char *member,
                                   const json_t *ref) {
  const char *loc = ctx->use_location_names ? aws_model_ref_name(ctx->m, ref) : NULL;
  return loc ? loc : member;
}

/* STS's wording: "N validation error(s) detected: Value null at 'member'
 * failed to satisfy constraint: Member must not be null" for every absent
 * member, named with a lower-case first letter as AWS names them. */
static int missing_as_validation(aws_parse_ctx *ctx, const json_t *shape, const json_t *obj,
                                 const char *name) {
  dynbuf b;
  dynbuf_init(&b, 4096);
  size_t i, count = 0;
  json_t *req;
  json_array_foreach(json_object_get(shape, "required"), i, req) {
    const char *member = json_string_value(req);
    if (!member || !member[0] || json_object_get(obj, member))
      continue;
    dynbuf_puts(&b, count++ ? "; Value null at '" : "Value null at '");
    if (name)
      dynbuf_printf(&b, "%c%s.", tolower((unsigned char)name[0]), name + 1);
    dynbuf_printf(&b, "%c%s' failed to satisfy constraint: Member must not be null",
                  tolower((unsigned char)member[0]), member + 1);
  }
  char *text = dynbuf_take(&b, NULL);
  if (!count) {
    free(text);
    return 0;
  }
  int error = aws_error_set(ctx->err, 400, ctx->missing_code, "%zu validation error%s detected: %s",
                            count, count == 1 ? "" : "s", text ? text : "");
  free(text);
  return error;
}

int aws_check_required(aws_parse_ctx *ctx, const json_t *shape, const json_t *obj,
                       const char *name) {
  if (ctx->missing_as_validation)
    return missing_as_validation(ctx, shape, obj, name);
  size_t i;
  json_t *req;
  json_array_foreach(json_object_get(shape, "required"), i, req) {
    const char *member = json_string_value(req);
    if (member && !json_object_get(obj, member)) {
      if (name)
        return aws_error_set(ctx->err, 400, ctx->missing_code,
                             "The request must contain the parameter %s.%s.", name, member);
      return aws_error_set(ctx->err, 400, ctx->missing_code,
                           "The request must contain the parameter %s.", member);
    }
  }
  return 0;
}

int aws_value_from_json(json_t **out, aws_parse_ctx *ctx, const json_t *ref, const json_t *shape,
                        const json_t *v, const char *name, int depth) {
  const char *type = aws_shape_type(shape);
  json_t *result = NULL;
  int error = 0;
  if (depth > AWS_MAX_DEPTH)
    return aws_error_set(ctx->err, 400, ctx->type_code, "Input nests deeper than %d levels.",
                         AWS_MAX_DEPTH);
  if (strcmp(type, "structure") == 0) {
    if (!json_is_object(v))
      return aws_type_error(ctx, name, "an object");
    result = json_object();
    const char *member;
    json_t *mref;
    json_object_foreach(json_object_get(shape, "members"), member, mref) {
      const json_t *item = json_object_get(v, json_member_key(ctx, member, mref));
      if (!item || json_is_null(item))
        continue;
      json_t *conv = NULL;
      error = aws_value_from_json(&conv, ctx, mref, aws_model_ref_shape(ctx->m, mref), item, member,
                                  depth + 1);
      if (error < 0)
        goto cleanup;
      json_object_set_new(result, member, conv);
    }
    error = aws_check_required(ctx, shape, result, name);
  } else if (strcmp(type, "list") == 0) {
    if (!json_is_array(v))
      return aws_type_error(ctx, name, "a list");
    if (json_array_size(v) > AWS_MAX_LIST_ITEMS)
      return aws_error_set(ctx->err, 400, ctx->type_code, "Too many items in %s.", name);
    const json_t *mref = json_object_get(shape, "member");
    const json_t *mshape = aws_model_ref_shape(ctx->m, mref);
    result = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
      json_t *conv = NULL;
      error = aws_value_from_json(&conv, ctx, mref, mshape, item, name, depth + 1);
      if (error < 0)
        goto cleanup;
      json_array_append_new(result, conv);
    }
  } else if (strcmp(type, "map") == 0) {
    if (!json_is_object(v))
      return aws_type_error(ctx, name, "a map");
    if (json_object_size(v) > AWS_MAX_LIST_ITEMS)
      return aws_error_set(ctx->err, 400, ctx->type_code, "Too many entries in %s.", name);
    const json_t *vref = json_object_get(shape, "value");
    const json_t *vshape = aws_model_ref_shape(ctx->m, vref);
    result = json_object();
    const char *key;
    json_t *item;
    json_object_foreach((json_t *)v, key, item) {
      json_t *conv = NULL;
      error = aws_value_from_json(&conv, ctx, vref, vshape, item, key, depth + 1);
      if (error < 0)
        goto cleanup;
      json_object_set_new(result, key, conv);
    }
  } else if (strcmp(type, "string") == 0 || strcmp(type, "character") == 0) {
    if (!json_is_string(v))
      return aws_type_error(ctx, name, "a string");
    result = json_incref((json_t *)v);
  } else if (is_integer_type(type)) {
    if (!json_is_integer(v) || !aws_integer_in_range(type, json_integer_value(v)))
      return aws_type_error(ctx, name, "an integer");
    result = json_incref((json_t *)v);
  } else if (strcmp(type, "boolean") == 0) {
    if (!json_is_boolean(v))
      return aws_type_error(ctx, name, "a boolean");
    result = json_incref((json_t *)v);
  } else if (is_float_type(type)) {
    if (!json_is_number(v))
      return aws_type_error(ctx, name, "a number");
    result = json_real(json_number_value(v));
  } else if (strcmp(type, "timestamp") == 0) {
    double t;
    if ((!json_is_number(v) && !json_is_string(v)) || aws_timestamp_value(&t, v) < 0)
      return aws_type_error(ctx, name, "a timestamp");
    result = aws_timestamp_json(t);
  } else if (strcmp(type, "blob") == 0) {
    if (!json_is_string(v) || !codec_base64_valid(json_string_value(v), json_string_length(v)))
      return aws_type_error(ctx, name, "base64-encoded data");
    result = json_incref((json_t *)v);
  } else {
    return aws_type_error(ctx, name, "a value the model describes");
  }
  (void)ref;
cleanup:
  if (error < 0) {
    json_decref(result);
    return error;
  }
  if (!result)
    return aws_error_set(ctx->err, 500, "InternalFailure", "out of memory");
  *out = result;
  return 0;
}

json_t *aws_value_to_json(const aws_model *m, const json_t *ref, const json_t *shape,
                          const json_t *v, int use_location_names, int depth) {
  const char *type = aws_shape_type(shape);
  if (depth > AWS_MAX_DEPTH || !v)
    return NULL;
  if (strcmp(type, "structure") == 0) {
    if (!json_is_object(v))
      return NULL;
    json_t *obj = json_object();
    const char *member;
    json_t *mref;
    json_object_foreach(json_object_get(shape, "members"), member, mref) {
      const json_t *item = json_object_get(v, member);
      if (!item)
        continue;
      json_t *conv = aws_value_to_json(m, mref, aws_model_ref_shape(m, mref), item,
                                       use_location_names, depth + 1);
      const char *loc = use_location_names ? aws_model_ref_name(m, mref) : NULL;
      if (conv)
        json_object_set_new(obj, loc ? loc : member, conv);
    }
    return obj;
  }
  if (strcmp(type, "list") == 0) {
    if (!json_is_array(v))
      return NULL;
    const json_t *mref = json_object_get(shape, "member");
    const json_t *mshape = aws_model_ref_shape(m, mref);
    json_t *arr = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
      json_t *conv = aws_value_to_json(m, mref, mshape, item, use_location_names, depth + 1);
      if (conv)
        json_array_append_new(arr, conv);
    }
    return arr;
  }
  if (strcmp(type, "map") == 0) {
    if (!json_is_object(v))
      return NULL;
    const json_t *vref = json_object_get(shape, "value");
    const json_t *vshape = aws_model_ref_shape(m, vref);
    json_t *obj = json_object();
    const char *key;
    json_t *item;
    json_object_foreach((json_t *)v, key, item) {
      json_t *conv = aws_value_to_json(m, vref, vshape, item, use_location_names, depth + 1);
      if (conv)
        json_object_set_new(obj, key, conv);
    }
    return obj;
  }
  if (strcmp(type, "timestamp") == 0) {
    double t;
    if (aws_timestamp_value(&t, v) < 0)
      return NULL;
    const char *format = aws_timestamp_format_of(ref, shape, "unixTimestamp");
    if (strcmp(format, "unixTimestamp") == 0)
      return aws_timestamp_json(t);
    char buf[64];
    aws_timestamp_format(buf, sizeof(buf), t, format);
    return json_string(buf);
  }
  if (strcmp(type, "string") == 0 || strcmp(type, "blob") == 0 || strcmp(type, "character") == 0)
    return json_is_string(v) ? json_incref((json_t *)v) : NULL;
  if (is_integer_type(type))
    return json_is_integer(v) ? json_incref((json_t *)v) : NULL;
  if (strcmp(type, "boolean") == 0)
    return json_is_boolean(v) ? json_incref((json_t *)v) : NULL;
  if (is_float_type(type))
    return json_is_number(v) ? json_incref((json_t *)v) : NULL;
  return NULL;
}
