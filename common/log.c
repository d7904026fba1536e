/*
 * log.c — levelled text or JSON-lines logging (see log.h).
 *
 * Every line is built in a fixed buffer and written with one write(2): lines
 * from threads and child processes sharing stderr stay whole. Over-long
 * messages are cut, never split.
 */
#include "common/log.h"
#include "common/error.h"
#include "common/fs.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static atomic_int current_level = LOG_INFO;
static atomic_int json_mode = 0;
static atomic_int out_fd = 2;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_level_set(log_level level) { atomic_store(&current_level, (int)level); }
log_level log_level_get(void) { return (log_level)atomic_load(&current_level); }
void log_json_set(int on) { atomic_store(&json_mode, on ? 1 : 0); }
void log_fd_set(int fd) { atomic_store(&out_fd, fd); }

int log_level_parse(log_level *out, const char *name) {
  if (!name)
    return airgap_error_set(AIRGAP_EINVALID, "log level missing");
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(name, level_names[i]) == 0) {
      *out = (log_level)i;
      return 0;
    }
  }
  if (strcasecmp(name, "warning") == 0) {
    *out = LOG_WARN;
    return 0;
  }
  return airgap_error_set(AIRGAP_EINVALID,
                          "unknown log level '%s' (use debug, info, warn or error)", name);
}

static void format_time(char *buf, size_t size) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void log_write(log_level level, const char *component, const char *fmt, ...) {
  if ((int)level < atomic_load(&current_level))
    return;
  int saved_errno = errno;
  char message[LOG_LINE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof(message), fmt, ap);
  va_end(ap);

  char when[40];
  format_time(when, sizeof(when));
  const char *lname = level_names[level >= LOG_DEBUG && level <= LOG_ERROR ? level : LOG_ERROR];
  char line[LOG_LINE_MAX + 128];
  int len;
  if (atomic_load(&json_mode)) {
    /* JSON strings must be UTF-8: a message with other bytes (a job's binary
     * output) keeps its text, with '?' for every non-ASCII byte. */
    json_t *msg = json_string(message);
    if (!msg) {
      for (char *p = message; *p; p++)
        if ((unsigned char)*p >= 0x80)
          *p = '?';
      msg = json_string(message);
    }
    json_t *obj = json_pack("{s:s, s:s, s:s, s:o}", "ts", when, "level", lname, "component",
                            component ? component : "", "msg", msg);
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (text) {
      /* Escaping can make the line longer than `line`: write it whole instead
       * of cutting it into invalid JSON. Bounded: message is LOG_LINE_MAX. */
      size_t tlen = strlen(text);
      char *whole = realloc(text, tlen + 2);
      if (whole) {
        whole[tlen] = '\n';
        (void)fs_write_all(atomic_load(&out_fd), whole,
                           tlen + 1); /* nowhere left to report a logging failure */
        free(whole);
        errno = saved_errno;
        return;
      }
      free(text);
    }
    len = snprintf(line, sizeof(line),
                   "{\"level\":\"%s\",\"msg\":\"(log line lost: out of memory)\"}\n", lname);
  } else {
    len = snprintf(line, sizeof(line), "%s %-5s %s: %s\n", when, lname,
                   component ? component : "airgap", message);
  }
  if (len < 0)
    return;
  if ((size_t)len >= sizeof(line)) {
    len = sizeof(line) - 1;
    line[len - 1] = '\n';
  }
  (void)fs_write_all(atomic_load(&out_fd), line,
                     (size_t)len); /* nowhere left to report a logging failure */
  errno = saved_errno;
}
