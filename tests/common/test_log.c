/*
 * test_log.c — common/log: levels, text and JSON-line formats, whole lines.
 *
 * Lines go to a pipe (log_fd_set) that the test reads back, so what is checked
 * is exactly what a process reading airgap's stderr would see.
 */
#include "common/error.h"
#include "common/log.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static int fds[2];

static int setup(void **state) {
  if (pipe2(fds, O_NONBLOCK) != 0)
    return -1;
  fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
  log_fd_set(fds[1]);
  log_level_set(LOG_INFO);
  log_json_set(0);
  return 0;
}

static int teardown(void **state) {
  log_fd_set(2);
  log_json_set(0);
  log_level_set(LOG_INFO);
  close(fds[0]);
  close(fds[1]);
  return 0;
}

/* Everything written so far (owned; free()). */
static char *drain(void) {
  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap + 1);
  assert_non_null(buf);
  ssize_t n;
  while ((n = read(fds[0], buf + len, cap - len)) > 0)
    len += (size_t)n;
  buf[len] = '\0';
  return buf;
}

static void test_log_text_line_format(void **state) {
  log_info("queue", "leased job %d", 42);
  char *out = drain();
  regex_t re;
  assert_int_equal(regcomp(&re,
                           "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                           "info +queue: leased job 42\n$",
                           REG_EXTENDED),
                   0);
  assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
  regfree(&re);
  free(out);
}

static void test_log_level_filters(void **state) {
  log_level_set(LOG_WARN);
  assert_int_equal(log_level_get(), LOG_WARN);
  log_debug("t", "debug line");
  log_info("t", "info line");
  log_warn("t", "warn line");
  log_error("t", "error line");
  char *out = drain();
  assert_null(strstr(out, "debug line"));
  assert_null(strstr(out, "info line"));
  assert_non_null(strstr(out, "warn line"));
  assert_non_null(strstr(out, "error line"));
  free(out);
  log_level_set(LOG_DEBUG);
  log_debug("t", "now visible");
  out = drain();
  assert_non_null(strstr(out, "debug"));
  assert_non_null(strstr(out, "now visible"));
  free(out);
}

static void test_log_json_lines(void **state) {
  log_json_set(1);
  log_error("emulator", "quote \" backslash \\ newline \n tab \t done");
  char *out = drain();
  size_t len = strlen(out);
  assert_true(len > 0 && out[len - 1] == '\n');
  assert_null(memchr(out, '\n', len - 1)); /* one line, the newline escaped */
  json_error_t err;
  json_t *obj = json_loads(out, 0, &err);
  assert_non_null(obj);
  assert_string_equal(json_string_value(json_object_get(obj, "level")), "error");
  assert_string_equal(json_string_value(json_object_get(obj, "component")), "emulator");
  assert_string_equal(json_string_value(json_object_get(obj, "msg")),
                      "quote \" backslash \\ newline \n tab \t done");
  const char *ts = json_string_value(json_object_get(obj, "ts"));
  assert_non_null(ts);
  assert_int_equal(strlen(ts), 24); /* 2026-01-02T03:04:05.678Z */
  json_decref(obj);
  free(out);
}

static void test_log_level_parse(void **state) {
  log_level level = LOG_ERROR;
  assert_int_equal(log_level_parse(&level, "DEBUG"), 0);
  assert_int_equal(level, LOG_DEBUG);
  assert_int_equal(log_level_parse(&level, "info"), 0);
  assert_int_equal(level, LOG_INFO);
  assert_int_equal(log_level_parse(&level, "Warning"), 0);
  assert_int_equal(level, LOG_WARN);
  assert_int_equal(log_level_parse(&level, "warn"), 0);
  assert_int_equal(level, LOG_WARN);
  assert_int_equal(log_level_parse(&level, "error"), 0);
  assert_int_equal(level, LOG_ERROR);
  assert_int_equal(log_level_parse(&level, "loud"), AIRGAP_EINVALID);
  assert_int_equal(level, LOG_ERROR); /* untouched on failure */
  assert_non_null(strstr(airgap_error_last(), "loud"));
  assert_int_equal(log_level_parse(&level, NULL), AIRGAP_EINVALID);
}

static void test_log_long_message_stays_one_line(void **state) {
  char big[10000];
  memset(big, 'y', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  log_warn("t", "%s", big);
  char *out = drain();
  size_t len = strlen(out);
  assert_true(len > 1000 && len < sizeof(big));
  assert_int_equal(out[len - 1], '\n');
  assert_null(memchr(out, '\n', len - 1));
  free(out);
}

/* JSON mode keeps messages with invalid UTF-8 and always writes whole JSON
 * lines, also when escaping makes a long message overflow the line buffer. */
static void test_log_json_keeps_invalid_utf8_messages(void **state) {
  log_json_set(1);
  log_warn("job", "binary \xff\xfe from a job");
  char *out = drain();
  json_t *obj = json_loads(out, 0, NULL);
  assert_non_null(obj);
  const char *msg = json_string_value(json_object_get(obj, "msg"));
  assert_non_null(msg);
  assert_non_null(strstr(msg, "binary"));
  assert_non_null(strstr(msg, "from a job"));
  json_decref(obj);
  free(out);
}

static void test_log_json_long_message_stays_valid_json(void **state) {
  log_json_set(1);
  char big[4090];
  memset(big, '"', sizeof(big) - 1); /* each byte doubles when escaped */
  big[sizeof(big) - 1] = '\0';
  log_info("t", "%s", big);
  char *out = drain();
  size_t len = strlen(out);
  assert_true(len > 0 && out[len - 1] == '\n');
  json_t *obj = json_loads(out, 0, NULL);
  assert_non_null(obj);
  json_decref(obj);
  free(out);
}

#define THREADS 4
#define LINES 200

static void *writer(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < LINES; i++)
    log_info("thread", "writer %ld line %d %s", id, i, "padding-padding-padding-padding");
  return NULL;
}

static void test_log_lines_from_threads_never_interleave(void **state) {
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)i), 0);
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  char *out = drain();
  int lines = 0;
  for (char *line = out, *end; *line; line = end + 1) {
    end = strchr(line, '\n');
    assert_non_null(end); /* every line ends with a newline */
    *end = '\0';
    lines++;
    assert_non_null(strstr(line, " info  thread: writer "));
    size_t len = strlen(line);
    assert_true(len > 31);
    assert_string_equal(line + len - 31, "padding-padding-padding-padding");
  }
  assert_int_equal(lines, THREADS * LINES);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_log_text_line_format, setup, teardown),
      cmocka_unit_test_setup_teardown(test_log_level_filters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_log_json_lines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_log_level_parse, setup, teardown),
      cmocka_unit_test_setup_teardown(test_log_long_message_stays_one_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_log_lines_from_threads_never_interleave, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_log_json_keeps_invalid_utf8_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_log_json_long_message_stays_valid_json, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
