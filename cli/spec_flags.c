/*
 * spec_flags.c — the one builder of a job's spec from command-line flags,
 * shared by `airgap run` and `airgap submit` (DESIGN.md, "The job spec"), so
 * that the two commands accept the same flags and mean the same by them.
 *
 * The command after `--` becomes the spec's script with every word
 * shell-quoted: `-- sh -c 'echo "a b"'` runs exactly those three words under
 * the container's /bin/sh -c, as `docker run IMAGE sh -c ...` would, and
 * `-- echo '$HOME' '*'` prints them as written. A script written for a shell
 * goes in --script.
 *
 * The builder checks what it can see on this machine and the queue cannot:
 * a repository that is not a URL ("scheme://…" or scp-like "host:path") is a
 * local directory, which must exist and is sent as an absolute path, so
 * `--repo .` means the directory the command was typed in. Everything else
 * (limits, names, sizes) is the queue's to validate: it answers with the
 * field at fault.
 */
#include "cli/cli_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct spec_flags {
  json_t *spec, *env, *secrets, *labels, *services, *resources;
  const char *repo;
  unsigned count;
};

const char spec_flags_help[] =
    "  --repo PATH|URL        git repository: a URL, or a local directory (made absolute;\n"
    "                         it must exist) (required)\n"
    "  --ref REF              branch, tag or ref (default the remote's HEAD)\n"
    "  --commit SHA           an exact commit (default the ref's)\n"
    "  --image IMAGE          container image (required)\n"
    "  --script TEXT          shell script run by /bin/sh -c, instead of -- COMMAND\n"
    "                         (default none: the command after --)\n"
    "  --env K=V              environment variable (repeatable)\n"
    "  --secret K=V           secret variable, masked in the log and in listings\n"
    "                         (repeatable)\n"
    "  --timeout S            seconds before the job is stopped (default 3600)\n"
    "  --services a,b         emulated AWS services (default all)\n"
    "  --label L              only agents offering this label run the job (repeatable;\n"
    "                         default none)\n"
    "  --memory SIZE          memory limit, e.g. 512m or 2g (default none)\n"
    "  --cpus N               CPU limit, e.g. 1.5 (default none)\n"
    "  --pids N               process limit (default 4096)\n"
    "  --mountpoint PATH      workspace path in the container (default /workspace)\n";

spec_flags *spec_flags_new(void) {
  spec_flags *s = calloc(1, sizeof(*s));
  if (!s)
    return NULL;
  s->spec = json_object();
  s->env = json_object();
  s->secrets = json_object();
  s->labels = json_array();
  s->services = json_array();
  s->resources = json_object();
  if (!s->spec || !s->env || !s->secrets || !s->labels || !s->services || !s->resources) {
    spec_flags_free(s);
    return NULL;
  }
  return s;
}

void spec_flags_free(spec_flags *s) {
  if (!s)
    return;
  json_decref(s->spec);
  json_decref(s->env);
  json_decref(s->secrets);
  json_decref(s->labels);
  json_decref(s->services);
  json_decref(s->resources);
  free(s);
}

unsigned spec_flags_count(const spec_flags *s) { return s->count; }

/* Sets obj[key] to a string; -1 (printed) when the value is not UTF-8. */
static int set_string(json_t *obj, const char *cmd, const char *flag, const char *key,
                      const char *value) {
  json_t *v = json_string(value);
  if (!v || json_object_set_new(obj, key, v) < 0) {
    fprintf(stderr, "airgap %s: %s '%s': the value must be UTF-8\n", cmd, flag, value);
    return -1;
  }
  return 0;
}

static int add_kv(json_t *obj, const char *cmd, const char *flag, const char *arg) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg) {
    fprintf(stderr, "airgap %s: %s takes KEY=VALUE (got '%s')\n", cmd, flag, arg);
    return -1;
  }
  char *key = strndup(arg, (size_t)(eq - arg));
  if (!key) {
    fprintf(stderr, "airgap %s: out of memory\n", cmd);
    return -1;
  }
  int error = set_string(obj, cmd, flag, key, eq + 1);
  free(key);
  return error;
}

static int append_string(json_t *list, const char *cmd, const char *flag, const char *value,
                         size_t len) {
  json_t *v = json_stringn(value, len);
  if (!v || json_array_append_new(list, v) < 0) {
    fprintf(stderr, "airgap %s: %s '%s': the value must be UTF-8\n", cmd, flag, value);
    return -1;
  }
  return 0;
}

/* A positive number; whole unless fraction. */
static int parse_positive(double *out, const char *cmd, const char *flag, const char *arg,
                          int fraction, double max) {
  char *end = NULL;
  errno = 0;
  double v = strtod(arg, &end);
  if (errno || end == arg || *end || !(v > 0) || v > max || (!fraction && v != (long long)v)) {
    fprintf(stderr, "airgap %s: %s must be a positive %s up to %.0f (got '%s')\n", cmd, flag,
            fraction ? "number" : "whole number", max, arg);
    return -1;
  }
  *out = v;
  return 0;
}

int spec_flags_option(spec_flags *s, const char *cmd, int opt, const char *arg) {
  double v = 0;
  int error = 0;
  switch (opt) {
  case CLI_OPT_REPO: s->repo = arg; break;
  case CLI_OPT_REF: error = set_string(s->spec, cmd, "--ref", "ref", arg); break;
  case CLI_OPT_COMMIT: error = set_string(s->spec, cmd, "--commit", "commit", arg); break;
  case CLI_OPT_IMAGE: error = set_string(s->spec, cmd, "--image", "image", arg); break;
  case CLI_OPT_SCRIPT: error = set_string(s->spec, cmd, "--script", "script", arg); break;
  case CLI_OPT_MOUNTPOINT:
    error = set_string(s->spec, cmd, "--mountpoint", "mountpoint", arg);
    break;
  case CLI_OPT_MEMORY: error = set_string(s->resources, cmd, "--memory", "memory", arg); break;
  case CLI_OPT_ENV: error = add_kv(s->env, cmd, "--env", arg); break;
  case CLI_OPT_SECRET: error = add_kv(s->secrets, cmd, "--secret", arg); break;
  case CLI_OPT_LABEL: error = append_string(s->labels, cmd, "--label", arg, strlen(arg)); break;
  case CLI_OPT_SERVICES:
    json_array_clear(s->services);
    for (const char *p = arg; *p && error == 0;) {
      size_t n = strcspn(p, ",");
      if (n > 0)
        error = append_string(s->services, cmd, "--services", p, n);
      p += n;
      if (*p == ',')
        p++;
    }
    break;
  case CLI_OPT_TIMEOUT:
    if ((error = parse_positive(&v, cmd, "--timeout", arg, 0, QUEUE_MAX_TIMEOUT)) == 0)
      json_object_set_new(s->spec, "timeout", json_integer((json_int_t)v));
    break;
  case CLI_OPT_PIDS:
    if ((error = parse_positive(&v, cmd, "--pids", arg, 0, 1u << 22)) == 0)
      json_object_set_new(s->resources, "pids", json_integer((json_int_t)v));
    break;
  case CLI_OPT_CPUS:
    if ((error = parse_positive(&v, cmd, "--cpus", arg, 1, 1024)) == 0)
      json_object_set_new(s->resources, "cpus", json_real(v));
    break;
  default: return 0;
  }
  s->count++;
  return error < 0 ? -1 : 1;
}

char *spec_flags_labels(const spec_flags *s) {
  size_t len = 1, i;
  json_t *item;
  json_array_foreach(s->labels, i, item) len += strlen(json_string_value(item)) + 1;
  char *out = calloc(1, len), *p = out;
  if (!out)
    return NULL;
  json_array_foreach(s->labels, i, item) {
    const char *label = json_string_value(item);
    if (i > 0)
      *p++ = ',';
    memcpy(p, label, strlen(label));
    p += strlen(label);
  }
  *p = '\0';
  return out;
}

/* Appends word to buf (a growing script), single-quoted unless every
 * character is one the shell takes literally. */
static int shell_quote_append(char **buf, size_t *len, const char *word) {
  static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "_-./=:,+@%";
  size_t wlen = strlen(word);
  int plain = wlen > 0 && strspn(word, safe) == wlen;
  size_t need = *len + 4 * wlen + 4;
  char *grown = realloc(*buf, need);
  if (!grown)
    return -1;
  *buf = grown;
  char *p = *buf + *len;
  if (*len > 0)
    *p++ = ' ';
  if (plain) {
    memcpy(p, word, wlen);
    p += wlen;
  } else {
    *p++ = '\'';
    for (const char *w = word; *w; w++) {
      if (*w == '\'') {
        memcpy(p, "'\\''", 4); /* close, an escaped quote, reopen */
        p += 4;
      } else {
        *p++ = *w;
      }
    }
    *p++ = '\'';
  }
  *p = '\0';
  *len = (size_t)(p - *buf);
  return 0;
}

/* A URL the way overlay/ reads one: "scheme://…", or scp-like "[user@]host:path"
 * (a colon before any slash). Anything else is a path on this machine. */
static int repo_is_url(const char *repo) {
  if (strstr(repo, "://"))
    return 1;
  const char *colon = strchr(repo, ':'), *slash = strchr(repo, '/');
  return colon && (!slash || colon < slash);
}

/* The local repository as an absolute path (owned), or -1 (printed). */
static int resolve_repo(char **out, const char *cmd, const char *repo) {
  struct stat st;
  if (stat(repo, &st) < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      fprintf(stderr,
              "airgap %s: --repo %s: no such directory (give a git URL or a local "
              "repository's directory)\n",
              cmd, repo);
    else
      fprintf(stderr, "airgap %s: --repo %s: %s\n", cmd, repo, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    fprintf(stderr, "airgap %s: --repo %s: not a directory\n", cmd, repo);
    return -1;
  }
  char *path = realpath(repo, NULL);
  if (!path) {
    fprintf(stderr, "airgap %s: --repo %s: %s\n", cmd, repo, strerror(errno));
    return -1;
  }
  *out = path;
  return 0;
}

int spec_flags_build(char **out, spec_flags *s, const char *cmd, int count, char **words) {
  char *script = NULL, *repo = NULL, *text = NULL;
  size_t script_len = 0;
  int error = -1;
  for (int i = 0; i < count; i++)
    if (shell_quote_append(&script, &script_len, words[i]) < 0) {
      fprintf(stderr, "airgap %s: out of memory\n", cmd);
      goto cleanup;
    }
  if (script && json_object_get(s->spec, "script")) {
    cli_usage_error(cmd, "give either --script or a command after --, not both");
    goto cleanup;
  }
  if (!s->repo || !json_object_get(s->spec, "image") ||
      (!script && !json_object_get(s->spec, "script"))) {
    cli_usage_error(cmd, "--repo, --image and a command (after --) or --script are required");
    goto cleanup;
  }
  if (script && set_string(s->spec, cmd, "a command word", "script", script) < 0)
    goto cleanup;
  if (repo_is_url(s->repo)) {
    if (set_string(s->spec, cmd, "--repo", "repo", s->repo) < 0)
      goto cleanup;
  } else if (resolve_repo(&repo, cmd, s->repo) < 0 ||
             set_string(s->spec, cmd, "--repo", "repo", repo) < 0) {
    goto cleanup;
  }
  if (json_object_size(s->env))
    json_object_set(s->spec, "env", s->env);
  if (json_object_size(s->secrets))
    json_object_set(s->spec, "secrets", s->secrets);
  if (json_array_size(s->labels))
    json_object_set(s->spec, "labels", s->labels);
  if (json_array_size(s->services))
    json_object_set(s->spec, "services", s->services);
  if (json_object_size(s->resources))
    json_object_set(s->spec, "resources", s->resources);
  if (!(text = json_dumps(s->spec, JSON_COMPACT))) {
    fprintf(stderr, "airgap %s: out of memory\n", cmd);
    goto cleanup;
  }
  *out = text;
  error = 0;
cleanup:
  free(script);
  free(repo);
  return error;
}
