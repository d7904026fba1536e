/*
 * test_docker.c — common/docker against the real Docker engine.
 *
 * Runs the locally built airgap-test/busybox image (tests/images/build; tests/run
 * builds it and makes sure dockerd answers) through the client: create, start,
 * logs, wait, kill, archive upload, list by label, remove. Every container
 * carries a label unique to this run; each test removes what it made, and the
 * last test checks that nothing with the label is left. Containers run with
 * network "none": no traffic leaves them. Image import runs for real (and
 * the image is removed); pull can only fail here, so it is tested against
 * loopback port 1, which refuses at once — no registry host is contacted.
 */
#include "common/docker.h"
#include "common/error.h"
#include "common/http_client.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define IMAGE "airgap-test/busybox"

static docker_client *client;
static char label_key[] = "airgap.test";
static char label_value[64];
static char label_filter[128];
static char import_image[128]; /* removed at the end even when a test failed */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Removes every container this run labelled. */
static void remove_labelled(void) {
  json_t *list = NULL;
  if (docker_container_list(&list, client, label_filter) < 0)
    return;
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c) {
    docker_container_remove(client, json_string_value(json_object_get(c, "Id")), 1);
  }
  json_decref(list);
}

static int group_setup(void **state) {
  snprintf(label_value, sizeof(label_value), "common-docker-%ld-%ld", (long)getpid(),
           (long)time(NULL));
  snprintf(label_filter, sizeof(label_filter), "%s=%s", label_key, label_value);
  snprintf(import_image, sizeof(import_image), "airgap-test/import-%s:t1", label_value);
  if (docker_client_new(&client, NULL) < 0 || docker_ping(client) < 0) {
    fprintf(stderr, "test_docker: %s\n(tests/run starts dockerd; see tests/lib/docker-up)\n",
            airgap_error_last());
    return -1;
  }
  json_t *image = NULL;
  if (docker_image_inspect(&image, client, IMAGE) < 0) {
    fprintf(stderr, "test_docker: %s\nbuild the test images first: tests/images/build\n",
            airgap_error_last());
    return -1;
  }
  json_decref(image);
  return 0;
}

static int group_teardown(void **state) {
  if (client) {
    remove_labelled();
    docker_image_remove(client, import_image, 1);
  }
  docker_client_free(client);
  return 0;
}

/* A container config running `sh -c script` in busybox, labelled, without network. */
static json_t *config_for(const char *script, int tty) {
  json_t *config = json_pack("{s:s, s:[s,s,s], s:{s:s}, s:b, s:{s:s}}", "Image", IMAGE, "Cmd",
                             "/bin/sh", "-c", script, "Labels", label_key, label_value, "Tty", tty,
                             "HostConfig", "NetworkMode", "none");
  assert_non_null(config);
  return config;
}

static char *create(const char *script, int tty) {
  json_t *config = config_for(script, tty);
  char *id = NULL;
  int error = docker_container_create(&id, client, NULL, config);
  if (error < 0)
    fprintf(stderr, "create: %s\n", airgap_error_last());
  assert_int_equal(error, 0);
  assert_non_null(id);
  assert_true(strlen(id) == 64);
  json_decref(config);
  return id;
}

typedef struct captured {
  char out[1 << 16];
  size_t out_len;
  char err[1 << 12];
  size_t err_len;
  size_t total[3];
  int chunks;
  int stop_after;
} captured;

static int capture(int stream, const char *data, size_t len, void *payload) {
  captured *c = payload;
  assert_true(stream == DOCKER_STREAM_STDOUT || stream == DOCKER_STREAM_STDERR);
  c->total[stream] += len;
  c->chunks++;
  char *buf = stream == DOCKER_STREAM_STDOUT ? c->out : c->err;
  size_t *used = stream == DOCKER_STREAM_STDOUT ? &c->out_len : &c->err_len;
  size_t cap = stream == DOCKER_STREAM_STDOUT ? sizeof(c->out) : sizeof(c->err);
  if (*used + len < cap) {
    memcpy(buf + *used, data, len);
    *used += len;
    buf[*used] = '\0';
  }
  return c->stop_after && c->chunks >= c->stop_after;
}

static size_t count_labelled(void) {
  json_t *list = NULL;
  assert_int_equal(docker_container_list(&list, client, label_filter), 0);
  size_t n = json_array_size(list);
  json_decref(list);
  return n;
}

static void test_docker_ping_and_version(void **state) {
  assert_int_equal(docker_ping(client), 0);
  /* docker.io 20.10 serves 1.41; an older engine would have lowered it. */
  assert_non_null(docker_api_version(client));
  assert_true(strcmp(docker_api_version(client), "1.41") <= 0);
}

static void test_docker_image_inspect(void **state) {
  json_t *image = NULL;
  assert_int_equal(docker_image_inspect(&image, client, IMAGE), 0);
  json_t *labels = json_object_get(json_object_get(image, "Config"), "Labels");
  assert_non_null(json_string_value(json_object_get(labels, "airgap.recipe")));
  json_decref(image);

  image = NULL;
  assert_int_equal(docker_image_inspect(&image, client, "airgap-test/no-such-image:nope"),
                   AIRGAP_ENOTFOUND);
  assert_null(image);
  assert_non_null(strstr(airgap_error_last(), "404"));
  /* A reference that would change the URL is refused before any request. */
  assert_int_equal(docker_image_inspect(&image, client, "busybox/../../containers/json?x"),
                   AIRGAP_EINVALID);
}

static void test_docker_run_logs_wait_remove(void **state) {
  char *id = create("echo out; echo err >&2; printf 'no newline'; exit 3", 0);

  json_t *list = NULL;
  assert_int_equal(docker_container_list(&list, client, label_filter), 0);
  assert_int_equal(json_array_size(list), 1);
  json_t *first = json_array_get(list, 0);
  assert_string_equal(json_string_value(json_object_get(first, "Id")), id);
  assert_string_equal(json_string_value(json_object_get(first, "State")), "created");
  json_decref(list);

  assert_int_equal(docker_container_start(client, id), 0);
  int code = -1;
  assert_int_equal(docker_container_wait(&code, client, id, 60000), 0);
  assert_int_equal(code, 3);

  captured *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  assert_int_equal(docker_container_logs(client, id, NULL, capture, c), 0);
  assert_string_equal(c->out, "out\nno newline");
  assert_string_equal(c->err, "err\n");
  free(c);

  json_t *info = NULL;
  assert_int_equal(docker_container_inspect(&info, client, id), 0);
  json_t *st = json_object_get(info, "State");
  assert_int_equal(json_integer_value(json_object_get(st, "ExitCode")), 3);
  assert_false(json_is_true(json_object_get(st, "Running")));
  json_decref(info);

  assert_int_equal(docker_container_remove(client, id, 0), 0);
  info = NULL;
  assert_int_equal(docker_container_inspect(&info, client, id), AIRGAP_ENOTFOUND);
  assert_int_equal(docker_container_remove(client, id, 1), AIRGAP_ENOTFOUND);
  assert_int_equal(count_labelled(), 0);
  free(id);
}

static void test_docker_logs_large_and_followed(void **state) {
  /* 50000 lines of 11 bytes: many frames, split across curl's chunks. stderr in between. */
  char *id = create("yes abcdefghij | head -n 50000; echo done >&2; for i in 1 2 3; do echo "
                    "tick$i >&2; sleep 0.2; done",
                    0);
  assert_int_equal(docker_container_start(client, id), 0);
  captured *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  /* follow: returns only once the container has stopped, with everything. */
  docker_logs_options follow = {.follow = 1, .timeout_ms = 60000};
  assert_int_equal(docker_container_logs(client, id, &follow, capture, c), 0);
  assert_int_equal(c->total[DOCKER_STREAM_STDOUT], 50000 * 11);
  assert_string_equal(c->err, "done\ntick1\ntick2\ntick3\n");
  assert_true(strncmp(c->out, "abcdefghij\nabcdefghij\n", 22) == 0);

  /* A receiver that stops early ends the call with ECANCELED. */
  memset(c, 0, sizeof(*c));
  c->stop_after = 1;
  assert_int_equal(docker_container_logs(client, id, NULL, capture, c), AIRGAP_ECANCELED);
  assert_int_equal(c->chunks, 1);
  free(c);

  int code = -1;
  assert_int_equal(docker_container_wait(&code, client, id, 60000), 0);
  assert_int_equal(code, 0);
  assert_int_equal(docker_container_remove(client, id, 0), 0);
  free(id);
}

static void test_docker_logs_tty_are_raw(void **state) {
  char *id = create("echo from-tty; echo also >&2", 1);
  assert_int_equal(docker_container_start(client, id), 0);
  int code = -1;
  assert_int_equal(docker_container_wait(&code, client, id, 60000), 0);
  captured *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  assert_int_equal(docker_container_logs(client, id, NULL, capture, c), 0);
  /* A TTY merges the streams and turns \n into \r\n. */
  assert_string_equal(c->out, "from-tty\r\nalso\r\n");
  assert_int_equal(c->err_len, 0);
  free(c);
  assert_int_equal(docker_container_remove(client, id, 0), 0);
  free(id);
}

static void test_docker_kill_and_wait_timeout(void **state) {
  char *id = create("sleep 300", 0);
  assert_int_equal(docker_container_start(client, id), 0);
  assert_int_equal(docker_container_start(client, id), 0); /* already started: fine */

  int code = -1;
  double start = now_s();
  assert_int_equal(docker_container_wait(&code, client, id, 300), AIRGAP_ETIMEOUT);
  assert_true(now_s() - start < 5);
  assert_int_equal(code, -1);

  json_t *info = NULL;
  assert_int_equal(docker_container_inspect(&info, client, id), 0);
  assert_true(json_is_true(json_object_get(json_object_get(info, "State"), "Running")));
  json_decref(info);

  assert_int_equal(docker_container_kill(client, id, NULL), 0);
  assert_int_equal(docker_container_wait(&code, client, id, 60000), 0);
  assert_int_equal(code, 137);                                       /* 128 + SIGKILL */
  assert_int_equal(docker_container_kill(client, id, "SIGTERM"), 0); /* not running: fine */
  assert_int_equal(docker_container_kill(client, id, "SIG;rm"), AIRGAP_EINVALID);
  assert_int_equal(docker_container_remove(client, id, 0), 0);
  assert_int_equal(docker_container_kill(client, id, NULL), AIRGAP_ENOTFOUND);
  free(id);
}

static void test_docker_remove_force_running(void **state) {
  char *id = create("sleep 300", 0);
  assert_int_equal(docker_container_start(client, id), 0);
  assert_true(docker_container_remove(client, id, 0) < 0); /* running, no force: refused */
  assert_int_equal(docker_container_remove(client, id, 1), 0);
  assert_int_equal(count_labelled(), 0);
  free(id);
}

static void test_docker_archive_put_entries(void **state) {
  char *id = create("cat /data/hello.txt; stat -c '%a %u %F' /data/hello.txt /data/bin; "
                    "readlink /data/link; /data/bin/run",
                    0);
  const char script[] = "#!/bin/sh\necho ran\n";
  docker_archive_entry entries[] = {
      {.path = "data", .is_dir = 1},
      {.path = "data/hello.txt", .data = "hello, container\n", .len = 17, .mode = 0600},
      {.path = "data/bin", .is_dir = 1, .mode = 0750},
      {.path = "data/bin/run", .data = script, .len = sizeof(script) - 1, .mode = 0755},
      {.path = "data/link", .target = "hello.txt"},
  };
  assert_int_equal(docker_container_archive_put(client, id, "/", entries, 5), 0);
  assert_int_equal(docker_container_start(client, id), 0);
  int code = -1;
  assert_int_equal(docker_container_wait(&code, client, id, 60000), 0);
  captured *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  assert_int_equal(docker_container_logs(client, id, NULL, capture, c), 0);
  assert_string_equal(c->out, "hello, container\n600 0 regular file\n750 0 directory\n"
                              "hello.txt\nran\n");
  assert_string_equal(c->err, "");
  assert_int_equal(code, 0);
  free(c);

  /* Entries that would escape the destination are refused before any request. */
  docker_archive_entry bad[] = {{.path = "../etc/passwd", .data = "x", .len = 1}};
  assert_int_equal(docker_container_archive_put(client, id, "/tmp", bad, 1), AIRGAP_EINVALID);
  docker_archive_entry absolute[] = {{.path = "/etc/passwd", .data = "x", .len = 1}};
  assert_int_equal(docker_container_archive_put(client, id, "/tmp", absolute, 1), AIRGAP_EINVALID);
  /* A destination that does not exist in the container. */
  docker_archive_entry ok[] = {{.path = "f", .data = "x", .len = 1}};
  assert_true(docker_container_archive_put(client, id, "/no/such/dir", ok, 1) < 0);
  assert_int_equal(docker_container_remove(client, id, 0), 0);
  free(id);
}

static void write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

static void test_docker_archive_put_dir(void **state) {
  char dir[] = "/tmp/airgap-test-docker-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof(path), "%s/a.txt", dir);
  write_file(path, "file a\n", 0644);
  snprintf(path, sizeof(path), "%s/sub", dir);
  assert_int_equal(mkdir(path, 0755), 0);
  snprintf(path, sizeof(path), "%s/sub/b.sh", dir);
  write_file(path, "#!/bin/sh\necho script b\n", 0755);
  snprintf(path, sizeof(path), "%s/sub/link", dir);
  assert_int_equal(symlink("../a.txt", path), 0);

  char *id = create("cat /workspace/a.txt /workspace/sub/link; /workspace/sub/b.sh; "
                    "stat -c '%u %a' /workspace/sub/b.sh",
                    0);
  assert_int_equal(docker_container_archive_put_dir(client, id, "/workspace", dir), 0);
  assert_int_equal(docker_container_start(client, id), 0);
  int code = -1;
  assert_int_equal(docker_container_wait(&code, client, id, 60000), 0);
  captured *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  assert_int_equal(docker_container_logs(client, id, NULL, capture, c), 0);
  assert_string_equal(c->out, "file a\nfile a\nscript b\n0 755\n");
  assert_int_equal(code, 0);
  free(c);
  assert_int_equal(docker_container_archive_put_dir(client, id, "/workspace",
                                                    "/tmp/airgap-test-docker-no-such-dir"),
                   AIRGAP_ENOTFOUND);
  assert_int_equal(docker_container_remove(client, id, 0), 0);
  free(id);

  unlink(path);
  snprintf(path, sizeof(path), "%s/sub/b.sh", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/sub", dir);
  rmdir(path);
  snprintf(path, sizeof(path), "%s/a.txt", dir);
  unlink(path);
  assert_int_equal(rmdir(dir), 0);
}

static void test_docker_create_errors(void **state) {
  char *id = NULL;
  json_t *config = config_for("true", 0);
  json_object_set_new(config, "Image", json_string("airgap-test/no-such-image:nope"));
  assert_int_equal(docker_container_create(&id, client, NULL, config), AIRGAP_ENOTFOUND);
  assert_null(id);
  json_decref(config);

  /* A name in use: EEXISTS. */
  char name[96];
  snprintf(name, sizeof(name), "%s-named", label_value);
  config = config_for("true", 0);
  assert_int_equal(docker_container_create(&id, client, name, config), 0);
  char *again = NULL;
  assert_int_equal(docker_container_create(&again, client, name, config), AIRGAP_EEXISTS);
  assert_null(again);
  /* The name works wherever an id does. */
  json_t *info = NULL;
  assert_int_equal(docker_container_inspect(&info, client, name), 0);
  assert_string_equal(json_string_value(json_object_get(info, "Id")), id);
  json_decref(info);
  assert_int_equal(docker_container_remove(client, name, 1), 0);
  json_decref(config);
  free(id);

  assert_int_equal(docker_container_create(&id, client, NULL, NULL), AIRGAP_EINVALID);
  assert_int_equal(docker_container_create(&id, client, "bad name", NULL), AIRGAP_EINVALID);
}

static void test_docker_hosts(void **state) {
  docker_client *other = NULL;
  assert_int_equal(docker_client_new(&other, "tcp://127.0.0.1:2375"), AIRGAP_EINVALID);
  assert_non_null(strstr(airgap_error_last(), "unix"));
  assert_int_equal(docker_client_new(&other, "unix:///tmp/airgap-no-such-dir/docker.sock"), 0);
  assert_string_equal(docker_client_socket(other), "/tmp/airgap-no-such-dir/docker.sock");
  assert_int_equal(docker_ping(other), AIRGAP_ERROR);
  assert_non_null(strstr(airgap_error_last(), "/tmp/airgap-no-such-dir/docker.sock"));
  assert_non_null(strstr(airgap_error_last(), "DOCKER_HOST"));
  docker_client_free(other);

  /* DOCKER_HOST is honoured when no host is given. */
  const char *saved = getenv("DOCKER_HOST");
  char *copy = saved ? strdup(saved) : NULL;
  setenv("DOCKER_HOST", "unix:///tmp/airgap-elsewhere.sock", 1);
  assert_int_equal(docker_client_new(&other, NULL), 0);
  assert_string_equal(docker_client_socket(other), "/tmp/airgap-elsewhere.sock");
  docker_client_free(other);
  if (copy)
    setenv("DOCKER_HOST", copy, 1);
  else
    unsetenv("DOCKER_HOST");
  free(copy);
}

/* The Python test image (tests/images/python.recipe) runs a real AWS client. */
static void test_docker_python_image_has_boto3(void **state) {
  json_t *config = json_pack("{s:s, s:[s,s,s], s:{s:s}, s:{s:s}}", "Image", "airgap-test/python",
                             "Cmd", "/usr/bin/python3", "-c",
                             "import boto3, sys; print('boto3', boto3.__version__.split('.')[0])",
                             "Labels", label_key, label_value, "HostConfig", "NetworkMode", "none");
  char *id = NULL;
  int error = docker_container_create(&id, client, NULL, config);
  if (error < 0)
    fprintf(stderr, "%s\n(build it with tests/images/build python)\n", airgap_error_last());
  assert_int_equal(error, 0);
  json_decref(config);
  assert_int_equal(docker_container_start(client, id), 0);
  int code = -1;
  assert_int_equal(docker_container_wait(&code, client, id, 120000), 0);
  captured *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  assert_int_equal(docker_container_logs(client, id, NULL, capture, c), 0);
  assert_string_equal(c->out, "boto3 1\n");
  assert_int_equal(code, 0);
  free(c);
  assert_int_equal(docker_container_remove(client, id, 0), 0);
  free(id);
}

/* A tar archive (libarchive, in memory) holding one regular file. */
static void tar_with_file(char **out, size_t *out_len, const char *name, const char *data,
                          size_t len) {
  size_t cap = len + 64 * 1024, used = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  struct archive *a = archive_write_new();
  assert_non_null(a);
  assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)len);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
  archive_entry_free(e);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  *out = buf;
  *out_len = used;
}

static void test_docker_image_import_and_remove(void **state) {
  const char *image = import_image;
  char content[5000];
  memset(content, 'x', sizeof(content));
  char *tar = NULL;
  size_t len = 0;
  tar_with_file(&tar, &len, "data/blob.txt", content, sizeof(content));

  assert_int_equal(docker_image_import(client, image, tar, len), 0);
  json_t *info = NULL;
  assert_int_equal(docker_image_inspect(&info, client, image), 0);
  /* The engine unpacked our file: the layer is at least its size. */
  assert_true(json_integer_value(json_object_get(info, "Size")) >= (json_int_t)sizeof(content));
  char first_id[160];
  snprintf(first_id, sizeof(first_id), "%s", json_string_value(json_object_get(info, "Id")));
  json_decref(info);
  /* Importing again moves the tag to a new image (no error); the first one is
   * left untagged, so remove it by id: the test leaves no image behind. */
  assert_int_equal(docker_image_import(client, image, tar, len), 0);
  free(tar);
  info = NULL;
  assert_int_equal(docker_image_inspect(&info, client, image), 0);
  int moved = strcmp(json_string_value(json_object_get(info, "Id")), first_id) != 0;
  json_decref(info);
  if (moved)
    assert_int_equal(docker_image_remove(client, first_id, 1), 0);
  info = NULL;
  assert_int_equal(docker_image_inspect(&info, client, moved ? first_id : image),
                   moved ? AIRGAP_ENOTFOUND : 0);
  json_decref(info);

  /* Garbage is refused with the engine's reason, and nothing is tagged. */
  char bad[128];
  snprintf(bad, sizeof(bad), "airgap-test/import-%s:bad", label_value);
  assert_int_equal(docker_image_import(client, bad, "not a tar archive", 17), AIRGAP_ERROR);
  assert_non_null(strstr(airgap_error_last(), "tar"));
  info = NULL;
  assert_int_equal(docker_image_inspect(&info, client, bad), AIRGAP_ENOTFOUND);
  /* Names that are not a plain repo[:tag] are refused before any request. */
  assert_int_equal(docker_image_import(client, "airgap-test/x@sha256:00", "", 0), AIRGAP_EINVALID);
  assert_int_equal(docker_image_import(client, "airgap test", "", 0), AIRGAP_EINVALID);
  assert_int_equal(docker_image_import(client, "airgap-test/x:", "", 0), AIRGAP_EINVALID);

  assert_int_equal(docker_image_remove(client, image, 0), 0);
  assert_int_equal(docker_image_inspect(&info, client, image), AIRGAP_ENOTFOUND);
  assert_int_equal(docker_image_remove(client, image, 0), AIRGAP_ENOTFOUND);
}

static int count_progress(const char *text, void *payload) {
  (void)text;
  (*(int *)payload)++;
  return 0;
}

/* No registry is reachable here, so the pull that fails is the one we can test
 * for real: loopback port 1 refuses at once, and no other host is contacted. */
static void test_docker_image_pull_unreachable_registry(void **state) {
  const char *image = "localhost:1/airgap-test-none:latest";
  int calls = 0;
  double t0 = now_s();
  assert_int_equal(docker_image_pull(client, image, count_progress, &calls), AIRGAP_ERROR);
  assert_true(now_s() - t0 < 20);
  const char *msg = airgap_error_last();
  assert_non_null(strstr(msg, image));
  assert_non_null(strstr(msg, "connection refused"));
  assert_non_null(strstr(msg, "registry"));
  assert_int_equal(calls, 0);
  json_t *info = NULL;
  assert_int_equal(docker_image_inspect(&info, client, image), AIRGAP_ENOTFOUND);
  /* Malformed references never reach the engine. */
  assert_int_equal(docker_image_pull(client, "bad image", NULL, NULL), AIRGAP_EINVALID);
  assert_int_equal(docker_image_pull(client, "localhost:1/x:", NULL, NULL), AIRGAP_EINVALID);
  assert_int_equal(docker_image_pull(client, "../images/json", NULL, NULL), AIRGAP_EINVALID);
}

/* A logging driver that cannot be read makes the engine answer the logs
 * request with an error: that is an error with the engine's words, not a
 * malformed stream, and no byte reaches the callback. */
static void test_docker_logs_engine_error(void **state) {
  json_t *config = config_for("echo hidden", 0);
  json_object_set_new(json_object_get(config, "HostConfig"), "LogConfig",
                      json_pack("{s:s}", "Type", "none"));
  char *id = NULL;
  assert_int_equal(docker_container_create(&id, client, NULL, config), 0);
  json_decref(config);
  assert_int_equal(docker_container_start(client, id), 0);
  int code = -1;
  assert_int_equal(docker_container_wait(&code, client, id, 60000), 0);
  captured *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  assert_int_equal(docker_container_logs(client, id, NULL, capture, c), AIRGAP_ERROR);
  assert_non_null(strstr(airgap_error_last(), "does not support reading"));
  assert_null(strstr(airgap_error_last(), "malformed"));
  assert_int_equal(c->chunks, 0);
  free(c);
  assert_int_equal(docker_container_remove(client, id, 1), 0);
  free(id);
}

static void test_docker_nothing_left_behind(void **state) { assert_int_equal(count_labelled(), 0); }

int main(void) {
  http_client_global_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_docker_ping_and_version),
      cmocka_unit_test(test_docker_image_inspect),
      cmocka_unit_test(test_docker_run_logs_wait_remove),
      cmocka_unit_test(test_docker_logs_large_and_followed),
      cmocka_unit_test(test_docker_logs_tty_are_raw),
      cmocka_unit_test(test_docker_kill_and_wait_timeout),
      cmocka_unit_test(test_docker_remove_force_running),
      cmocka_unit_test(test_docker_archive_put_entries),
      cmocka_unit_test(test_docker_archive_put_dir),
      cmocka_unit_test(test_docker_create_errors),
      cmocka_unit_test(test_docker_hosts),
      cmocka_unit_test(test_docker_python_image_has_boto3),
      cmocka_unit_test(test_docker_image_import_and_remove),
      cmocka_unit_test(test_docker_image_pull_unreachable_registry),
      cmocka_unit_test(test_docker_logs_engine_error),
      cmocka_unit_test(test_docker_nothing_left_behind),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
