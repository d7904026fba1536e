/*
 * runtime.c — running functions: execution environments (one container
 * each, one invocation at a time), the Lambda Runtime API they call, and the
 * flow of an invocation from Invoke to its answer.
 *
 * Each environment gets a Runtime API listener of its own (127.0.0.1, a free
 * port, one libmicrohttpd thread), and AWS_LAMBDA_RUNTIME_API names it: the
 * port is how the emulator knows which container asks, and it works with
 * every runtime client (AWS's parse "host:port" themselves, so a path prefix
 * would be lost). A runtime waiting on /invocation/next is parked (its
 * request suspended, no thread held) until an invocation is given to it.
 *
 * Life of an invocation: Invoke → an idle environment of the same function,
 * version and revision gets it (answering its parked /next), else a new
 * environment is started for it (container created and started on a thread
 * of its own, since Docker calls block) up to the function's reserved
 * concurrency or LAMBDA_LIMITS_CONCURRENT_EXECUTIONS; past that a synchronous
 * call gets TooManyRequestsException and an asynchronous one waits. The
 * runtime's /response or /error answers the call; a timer enforces the
 * function's timeout (the environment is then discarded, as AWS does).
 * Asynchronous invocations that fail are retried twice
 * (LAMBDA_RETRY_BASE_DELAY_SECONDS apart, doubling).
 *
 * Locking: rt->lock guards every list here. Timers are never canceled while
 * it is held: each timer has a record on rt->timers, and a callback that
 * finds its record unlinked (shutdown) does nothing. Environments are torn
 * down on a thread of their own (freeing an http_server from its own
 * handler would deadlock), counted in rt->threads so shutdown can wait.
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/log.h"
#include "emulator/containers.h"
#include "emulator/emulator.h"
#include "emulator/lambda/lambda_runtime_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNTIME_PREFIX "/2018-06-01/runtime/"

/* ---- small helpers ---- */

static char *dupstr(const char *s) { return s ? strdup(s) : NULL; }

static void inv_free(lambda_inv *inv) {
  if (!inv)
    return;
  if (inv->done) {
    /* An in-process caller always hears the end (lambda.h). */
    lambda_result r = {"ServiceException", "the invocation was dropped", NULL, 0, NULL};
    inv->done(&r, inv->done_payload);
  }
  free(inv->key);
  free(inv->function_arn);
  free(inv->invoked_arn);
  free(inv->version);
  free(inv->client_context);
  free(inv->payload);
  free(inv->container);
  free(inv->content_type);
  json_decref(inv->config);
  json_decref(inv->code);
  json_decref(inv->async);
  free(inv);
}

static uint64_t env_count(lambda_runtime *rt, const char *key) {
  uint64_t n = 0;
  for (lambda_env *e = rt->envs; e; e = e->next)
    if (!key || strcmp(e->key, key) == 0)
      n++;
  return n;
}

/* ---- timers ---- */

static void timer_fire(void *payload);

/* Arms a timer; caller holds rt->lock. */
static void timer_arm(lambda_runtime *rt, int kind, uint64_t delay_ms, uint64_t seq, uint64_t gen,
                      lambda_inv *inv) {
  runtime_timer *t = calloc(1, sizeof(*t));
  if (!t) {
    inv_free(inv); /* a retry or forward that cannot be scheduled is dropped */
    return;
  }
  t->rt = rt;
  t->kind = kind;
  t->seq = seq;
  t->gen = gen;
  t->inv = inv;
  t->next = rt->timers;
  if (t->next)
    t->next->prev = t;
  rt->timers = t;
  t->linked = 1;
  t->handle = emulator_timer_add(rt->emu, delay_ms, timer_fire, t);
  if (!t->handle) {
    rt->timers = t->next;
    if (t->next)
      t->next->prev = NULL;
    inv_free(inv);
    free(t);
  }
}

/* Unlinks t; 1 when it was linked. O(1): every invocation arms a timer, so
 * thousands may be pending. Caller holds rt->lock. */
static int timer_unlink(lambda_runtime *rt, runtime_timer *t) {
  if (!t->linked)
    return 0;
  if (t->prev)
    t->prev->next = t->next;
  else
    rt->timers = t->next;
  if (t->next)
    t->next->prev = t->prev;
  t->next = t->prev = NULL;
  t->linked = 0;
  return 1;
}

/* ---- environments ---- */

static void env_kill(lambda_runtime *rt, lambda_env *env);

/* Removes env's container and frees it. Caller does not hold rt->lock
 * (Docker calls block). */
static void env_teardown(lambda_env *env) {
  lambda_runtime *rt = env->rt;
  if (env->container) {
    if (rt->remove_containers)
      emulator_containers_remove(rt->containers, env->container);
    else
      emulator_containers_stop(rt->containers, env->container);
  }
  http_server_free(env->server);
  json_decref(env->config);
  json_decref(env->code);
  free(env->version);
  free(env->container);
  free(env->key);
  free(env->function_arn);
  free(env);
}

static void thread_done(lambda_runtime *rt) {
  pthread_mutex_lock(&rt->lock);
  rt->threads--;
  pthread_cond_broadcast(&rt->cond);
  pthread_mutex_unlock(&rt->lock);
}

static void *env_teardown_main(void *arg) {
  lambda_env *env = arg;
  lambda_runtime *rt = env->rt;
  env_teardown(env);
  thread_done(rt);
  return NULL;
}

/* Takes env out of service and tears it down on a thread of its own. Any
 * invocation it holds must have been answered or moved first. Caller holds
 * rt->lock. */
static void env_kill(lambda_runtime *rt, lambda_env *env) {
  for (lambda_env **p = &rt->envs; *p; p = &(*p)->next)
    if (*p == env) {
      *p = env->next;
      break;
    }
  env->state = ENV_DEAD;
  if (env->parked) {
    http_request_respond(
        env->parked, http_response_new_json(410, json_pack("{s:s}", "errorMessage",
                                                           "the environment is shutting down")));
    env->parked = NULL;
  }
  /* While its starter thread runs, that thread sees ENV_DEAD and tears down. */
  if (!env->starting) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rt->threads++;
    if (pthread_create(&t, &attr, env_teardown_main, env) != 0) {
      rt->threads--;
      /* No thread: leave the container to the next start's reaping and
       * free the rest here (the server's own thread never gets here:
       * thread creation only fails outside handlers in practice). */
      free(env->container);
      env->container = NULL;
      env_teardown(env);
    }
    pthread_attr_destroy(&attr);
  }
  /* Room for one more environment: an asynchronous invocation waiting for
   * it (of any function) gets its turn. */
  if (!rt->closing && rt->pending) {
    lambda_inv *waiting = rt->pending;
    rt->pending = waiting->next;
    waiting->next = NULL;
    lambda_inv_dispatch(rt, waiting);
  }
}

/* The headers and body of an invocation handed to a runtime. */
static http_response *next_response(lambda_inv *inv) {
  http_response *resp = http_response_new(
      200, "application/json", inv->payload ? inv->payload : "{}", inv->payload ? inv->len : 2);
  char deadline[32];
  snprintf(deadline, sizeof(deadline), "%llu", (unsigned long long)inv->deadline_wall_ms);
  http_response_header_add(resp, "Lambda-Runtime-Aws-Request-Id", inv->id);
  http_response_header_add(resp, "Lambda-Runtime-Deadline-Ms", deadline);
  http_response_header_add(resp, "Lambda-Runtime-Invoked-Function-Arn", inv->invoked_arn);
  char trace[128];
  snprintf(trace, sizeof(trace), "Root=1-%08llx-%.24s;Parent=%.16s;Sampled=0",
           (unsigned long long)(clock_wall_ms() / 1000), inv->trace, inv->trace + 4);
  http_response_header_add(resp, "Lambda-Runtime-Trace-Id", trace);
  if (inv->client_context) {
    unsigned char *cc = NULL;
    size_t n = 0;
    if (codec_base64_decode(&cc, &n, inv->client_context, strlen(inv->client_context)) == 0) {
      char *text = malloc(n + 1);
      if (text) {
        memcpy(text, cc, n);
        text[n] = '\0';
        if (!strchr(text, '\n') && !strchr(text, '\r'))
          http_response_header_add(resp, "Lambda-Runtime-Client-Context", text);
        free(text);
      }
      free(cc);
    }
  }
  return resp;
}

/* Hands inv to the runtime waiting in env (parked /next) and starts its
 * clock. Caller holds rt->lock; env->inv is inv, not yet delivered. */
static void env_deliver(lambda_runtime *rt, lambda_env *env, http_request *next) {
  lambda_inv *inv = env->inv;
  inv->started_ms = clock_monotonic_ms();
  inv->deadline_wall_ms = clock_wall_ms() + (uint64_t)inv->timeout_ms;
  inv->delivered = 1;
  free(inv->container);
  inv->container = dupstr(env->container);
  inv->log_since_ms = clock_wall_ms();
  snprintf(inv->stream, sizeof(inv->stream), "%s", env->stream);
  inv->init_ms = env->served ? -1 : env->init_ms;
  env->served = 1;
  env->state = ENV_BUSY;
  env->gen++;
  timer_arm(rt, TIMER_TIMEOUT, (uint64_t)inv->timeout_ms, inv->seq, 0, NULL);
  http_request_respond(next, next_response(inv));
  inv->t_handed_ns = lambda_clock_ns();
}

/* Gives inv to env (idle or just started). Caller holds rt->lock. */
static void env_give(lambda_runtime *rt, lambda_env *env, lambda_inv *inv) {
  env->inv = inv;
  inv->env = env;
  env->state = ENV_BUSY;
  env->gen++;
  if (env->parked) {
    http_request *next = env->parked;
    env->parked = NULL;
    env_deliver(rt, env, next);
  }
}

static void *env_start_main(void *arg);

/* Starts a new environment for inv. Caller holds rt->lock. Returns -1 (inv
 * untouched) when it cannot. */
static int env_start(lambda_runtime *rt, lambda_inv *inv) {
  lambda_env *env = calloc(1, sizeof(*env));
  if (!env)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  env->rt = rt;
  env->seq = ++rt->seq;
  env->key = strdup(inv->key);
  env->function_arn = strdup(inv->function_arn);
  env->state = ENV_STARTING;
  env->starting = 1;
  env->created_ms = clock_monotonic_ms();
  env->init_ms = 0;
  logs_lambda_stream_name(env->stream, (int64_t)clock_wall_ms(), inv->version);
  http_server_options so = {
      .listen = "127.0.0.1:0",
      .max_body = LAMBDA_MAX_SYNC_PAYLOAD + 65536,
      .threads = 1,
      .connection_timeout = 0,
      .handler = lambda_runtime_api_handle,
      .early = lambda_runtime_api_early, /* streamed responses (stream.c) */
      .payload = env,
  };
  /* In a sandbox of the emulator's own, the listener is opened in there. */
  int fd = -1;
  if (emulator_placement_separate(rt->placement)) {
    if (emulator_placement_listen(&fd, rt->placement, 0) < 0) {
      free(env->key);
      free(env->function_arn);
      free(env);
      return -1;
    }
    so.listen = NULL;
    so.listen_fds = &fd;
    so.listen_fd_count = 1;
  }
  if (!env->key || !env->function_arn || http_server_start(&env->server, &so) < 0) {
    http_server_free(env->server);
    free(env->key);
    free(env->function_arn);
    free(env);
    return -1;
  }
  env->port = http_server_port(env->server);
  env->inv = inv;
  inv->env = env;
  env->next = rt->envs;
  rt->envs = env;
  /* The starter thread reads inv's config and code: copies, since inv may
   * be answered (timeout at shutdown) before it runs. */
  env->config = json_deep_copy(inv->config);
  env->code = json_deep_copy(inv->code);
  env->version = strdup(inv->version);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  rt->threads++;
  int rc = pthread_create(&t, &attr, env_start_main, env);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    rt->threads--;
    rt->envs = env->next;
    inv->env = NULL;
    http_server_free(env->server);
    json_decref(env->config);
    json_decref(env->code);
    free(env->version);
    free(env->key);
    free(env->function_arn);
    free(env);
    return airgap_error_set(AIRGAP_ERROR, "cannot start a thread for the function's container");
  }
  timer_arm(rt, TIMER_INIT, rt->init_timeout_ms, env->seq, 0, NULL);
  return 0;
}

static void *env_start_main(void *arg) {
  lambda_env *env = arg;
  lambda_runtime *rt = env->rt;
  char *id = NULL;
  int error = lambda_container_create(&id, rt, env);
  pthread_mutex_lock(&rt->lock);
  env->starting = 0;
  if (error == 0)
    env->container = id;
  json_decref(env->config);
  json_decref(env->code);
  free(env->version);
  env->config = env->code = NULL;
  env->version = NULL;
  if (env->state == ENV_DEAD) {
    /* Killed while starting (shutdown, init timeout, forgotten). */
    pthread_mutex_unlock(&rt->lock);
    env_teardown(env);
    thread_done(rt);
    return NULL;
  }
  if (error < 0) {
    lambda_inv *inv = env->inv;
    env->inv = NULL;
    if (inv) {
      inv->env = NULL;
      lambda_inv_fail(rt, inv, 502, "ServiceException", airgap_error_last());
    }
    env_kill(rt, env);
  }
  rt->threads--;
  pthread_cond_broadcast(&rt->cond);
  pthread_mutex_unlock(&rt->lock);
  return NULL;
}

/* ---- dispatching ---- */

/* Gives inv to an idle environment, starts one, waits (async) or throttles
 * (sync). Caller holds rt->lock; inv is owned by the runtime afterwards. */
void lambda_inv_dispatch(lambda_runtime *rt, lambda_inv *inv) {
  if (rt->closing) {
    lambda_inv_fail(rt, inv, 503, "ServiceException", "the emulator is shutting down");
    return;
  }
  for (lambda_env *e = rt->envs; e; e = e->next)
    if (e->state == ENV_IDLE && !e->inv && strcmp(e->key, inv->key) == 0) {
      env_give(rt, e, inv);
      return;
    }
  uint64_t mine = 0;
  for (lambda_env *e = rt->envs; e; e = e->next)
    if (strncmp(e->key, inv->function_arn, strlen(inv->function_arn)) == 0 &&
        e->key[strlen(inv->function_arn)] == '#')
      mine++;
  int over = (inv->reserved >= 0 && mine >= (uint64_t)inv->reserved) ||
             env_count(rt, NULL) >= (uint64_t)rt->max_concurrency;
  if (over) {
    if (inv->call || inv->done) {
      lambda_inv_fail(rt, inv, 429, "TooManyRequestsException", "Rate Exceeded.");
      return;
    }
    inv->next = NULL;
    lambda_inv **p = &rt->pending;
    while (*p)
      p = &(*p)->next;
    *p = inv;
    return;
  }
  if (env_start(rt, inv) < 0)
    lambda_inv_fail(rt, inv, 502, "ServiceException", airgap_error_last());
}

/* The first waiting invocation for key (unlinked), or NULL. */
static lambda_inv *pending_take(lambda_runtime *rt, const char *key) {
  for (lambda_inv **p = &rt->pending; *p; p = &(*p)->next)
    if (strcmp((*p)->key, key) == 0) {
      lambda_inv *inv = *p;
      *p = inv->next;
      inv->next = NULL;
      return inv;
    }
  return NULL;
}

/* env finished its invocation: take the next waiting one or idle, or go
 * when it is retired. Returns 1 when it went (env is then gone). Caller
 * holds rt->lock. */
static int env_done(lambda_runtime *rt, lambda_env *env) {
  env->inv = NULL;
  env->state = ENV_IDLE;
  env->gen++;
  if (env->retire) {
    env_kill(rt, env);
    return 1;
  }
  lambda_inv *next = pending_take(rt, env->key);
  if (next)
    env_give(rt, env, next);
  return 0;
}

/* ---- timers' actions ---- */

static void timer_fire(void *payload) {
  runtime_timer *t = payload;
  lambda_runtime *rt = t->rt;
  pthread_mutex_lock(&rt->lock);
  if (!timer_unlink(rt, t)) {
    /* Shutdown took it off the list: it owns nothing any more. */
    pthread_mutex_unlock(&rt->lock);
    free(t);
    return;
  }
  if (t->kind == TIMER_FORWARD) {
    /* Resolving the function takes st->lock, never taken under rt->lock. */
    pthread_mutex_unlock(&rt->lock);
    lambda_invoke_internal(rt->st, t->inv->function_arn, t->inv->payload, t->inv->len, NULL, NULL);
    inv_free(t->inv);
    free(t);
    return;
  }
  if (t->kind == TIMER_RETRY) {
    lambda_inv_dispatch(rt, t->inv);
  } else {
    for (lambda_env *e = rt->envs; e; e = e->next) {
      if (t->kind == TIMER_TIMEOUT && e->inv && e->inv->seq == t->seq && e->inv->delivered) {
        lambda_inv *inv = e->inv;
        e->inv = NULL;
        inv->env = NULL;
        lambda_inv_timed_out(rt, inv);
        env_kill(rt, e);
        break;
      }
      if (t->kind == TIMER_IDLE && e->seq == t->seq) {
        /* One idle timer per environment: it goes when it has been idle
         * for the keep-alive, else the timer is armed again for the rest. */
        e->idle_armed = 0;
        if (e->state == ENV_DEAD)
          break;
        int idle = e->state == ENV_IDLE && !e->inv;
        uint64_t since = clock_monotonic_ms() - e->idle_since_ms;
        if (idle && since >= rt->keepalive_ms) {
          env_kill(rt, e);
          break;
        }
        e->idle_armed = 1;
        timer_arm(rt, TIMER_IDLE, idle ? rt->keepalive_ms - since : rt->keepalive_ms, e->seq, 0,
                  NULL);
        break;
      }
      if (t->kind == TIMER_INIT && e->seq == t->seq && (e->state == ENV_STARTING)) {
        lambda_inv *inv = e->inv;
        e->inv = NULL;
        if (inv) {
          inv->env = NULL;
          char why[160];
          snprintf(why, sizeof(why),
                   "The function's runtime did not ask for an invocation within %llu ms "
                   "(LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)",
                   (unsigned long long)rt->init_timeout_ms);
          lambda_inv_fail(rt, inv, 502, "ServiceException", why);
        }
        env_kill(rt, e);
        break;
      }
    }
  }
  pthread_mutex_unlock(&rt->lock);
  free(t);
}

void lambda_runtime_retry_later(lambda_runtime *rt, lambda_inv *inv, uint64_t delay_ms) {
  timer_arm(rt, TIMER_RETRY, delay_ms, inv->seq, 0, inv);
}

void lambda_runtime_forward(lambda_runtime *rt, const char *function_arn, const char *payload,
                            size_t len) {
  lambda_inv *carrier = calloc(1, sizeof(*carrier));
  if (carrier) {
    carrier->function_arn = dupstr(function_arn);
    carrier->payload = malloc(len + 1);
  }
  if (!carrier || !carrier->function_arn || !carrier->payload) {
    inv_free(carrier);
    return;
  }
  memcpy(carrier->payload, payload, len);
  carrier->payload[len] = '\0';
  carrier->len = len;
  timer_arm(rt, TIMER_FORWARD, 0, 0, 0, carrier);
}

/* ---- the Runtime API ---- */

static void respond_json(http_request *req, int status, const char *fmt, const char *arg) {
  char body[512];
  snprintf(body, sizeof(body), fmt, arg);
  http_request_respond(req, http_response_new(status, "application/json", body, strlen(body)));
}

void lambda_runtime_api_handle(http_request *req, void *payload) {
  uint64_t arrived_ns = lambda_clock_ns();
  lambda_env *env = payload;
  lambda_runtime *rt = env->rt;
  const char *path = http_request_path(req);
  const char *method = http_request_method(req);
  if (strncmp(path, RUNTIME_PREFIX, strlen(RUNTIME_PREFIX)) != 0) {
    respond_json(req, 404, "{\"errorMessage\":\"Unknown path %.100s\"}", path);
    return;
  }
  const char *rest = path + strlen(RUNTIME_PREFIX);
  pthread_mutex_lock(&rt->lock);
  if (env->state == ENV_DEAD || rt->closing) {
    pthread_mutex_unlock(&rt->lock);
    respond_json(req, 410, "{\"errorMessage\":\"%s\"}", "the environment is shutting down");
    return;
  }
  if (strcmp(rest, "invocation/next") == 0 && strcmp(method, "GET") == 0) {
    if (!env->initialized)
      env->init_ms = (double)(clock_monotonic_ms() - env->created_ms);
    env->initialized = 1;
    if (env->inv && env->inv->delivered) {
      /* Asked for the next before answering this one: the runtime lost it. */
      lambda_inv *inv = env->inv;
      env->inv = NULL;
      inv->env = NULL;
      static const char lost[] = "{\"errorMessage\":\"The runtime asked for the next "
                                 "invocation without answering this one\",\"errorType\":"
                                 "\"Runtime.Unknown\"}";
      lambda_inv_finish(rt, inv, lost, sizeof(lost) - 1, "Unhandled");
      if (env_done(rt, env)) {
        pthread_mutex_unlock(&rt->lock);
        respond_json(req, 410, "{\"errorMessage\":\"%s\"}", "the environment is retired");
        return;
      }
    }
    if (env->state == ENV_STARTING)
      env->state = env->inv ? ENV_BUSY : ENV_IDLE;
    if (env->inv) {
      /* The invocation waited for the runtime to ask: its time, not ours. */
      if (arrived_ns > env->inv->t_arrive_ns)
        env->inv->t_arrive_ns = arrived_ns;
      env_deliver(rt, env, req);
    } else {
      if (env->parked) /* a second waiting /next: the first one is stale */
        http_request_respond(env->parked, http_response_new(410, "text/plain", "", 0));
      env->parked = req;
      env->state = ENV_IDLE;
      env->idle_since_ms = clock_monotonic_ms();
      if (!env->idle_armed) {
        env->idle_armed = 1;
        timer_arm(rt, TIMER_IDLE, rt->keepalive_ms, env->seq, 0, NULL);
      }
    }
    pthread_mutex_unlock(&rt->lock);
    return;
  }
  if (strcmp(rest, "init/error") == 0 && strcmp(method, "POST") == 0) {
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    lambda_inv *inv = env->inv;
    env->inv = NULL;
    if (inv) {
      inv->env = NULL;
      lambda_inv_finish(rt, inv, body, len, "Unhandled");
    }
    env_kill(rt, env);
    pthread_mutex_unlock(&rt->lock);
    respond_json(req, 202, "{\"status\":\"%s\"}", "OK");
    return;
  }
  /* invocation/<id>/response | invocation/<id>/error */
  char id[64];
  const char *slash = strncmp(rest, "invocation/", 11) == 0 ? strchr(rest + 11, '/') : NULL;
  size_t idlen = slash ? (size_t)(slash - (rest + 11)) : 0;
  if (!slash || idlen == 0 || idlen >= sizeof(id) || strcmp(method, "POST") != 0 ||
      (strcmp(slash, "/response") != 0 && strcmp(slash, "/error") != 0)) {
    pthread_mutex_unlock(&rt->lock);
    respond_json(req, 404, "{\"errorMessage\":\"Unknown path %.100s\"}", path);
    return;
  }
  memcpy(id, rest + 11, idlen);
  id[idlen] = '\0';
  lambda_inv *inv = env->inv;
  if (!inv || !inv->delivered || strcmp(inv->id, id) != 0) {
    pthread_mutex_unlock(&rt->lock);
    respond_json(req, 400,
                 "{\"errorMessage\":\"Invalid request ID: %.64s\","
                 "\"errorType\":\"InvalidRequestID\"}",
                 id);
    return;
  }
  size_t len = 0;
  const char *body = http_request_body(req, &len);
  if (!body && len) {
    pthread_mutex_unlock(&rt->lock);
    respond_json(req, 413, "{\"errorMessage\":\"%s\"}", "response too large");
    return;
  }
  env->inv = NULL;
  inv->env = NULL;
  inv->t_back_ns = arrived_ns;
  char *streamed_error = NULL;
  size_t streamed_len = 0;
  if (strcmp(slash, "/response") == 0 &&
      lambda_stream_error(&streamed_error, &streamed_len, req, inv)) {
    static const char oom[] = "{\"errorMessage\":\"out of memory\",\"errorType\":\"Unhandled\"}";
    lambda_inv_finish(rt, inv, streamed_error ? streamed_error : oom,
                      streamed_error ? streamed_len : sizeof(oom) - 1, "Unhandled");
    free(streamed_error);
  } else if (strcmp(slash, "/response") == 0) {
    if (len > LAMBDA_MAX_SYNC_PAYLOAD) {
      char msg[256];
      snprintf(msg, sizeof(msg),
               "{\"errorMessage\":\"Response payload size exceeded maximum allowed payload size "
               "(%u bytes).\",\"errorType\":\"Function.ResponseSizeTooLarge\"}",
               LAMBDA_MAX_SYNC_PAYLOAD);
      lambda_inv_finish(rt, inv, msg, strlen(msg), "Unhandled");
    } else {
      lambda_inv_finish(rt, inv, body, len, NULL);
    }
  } else {
    const char *type = http_request_header(req, "Lambda-Runtime-Function-Error-Type");
    char fallback[256];
    if (len == 0) {
      snprintf(fallback, sizeof(fallback), "{\"errorMessage\":\"\",\"errorType\":\"%.100s\"}",
               type && !strpbrk(type, "\"\\") ? type : "Unhandled");
      body = fallback;
      len = strlen(fallback);
    }
    lambda_inv_finish(rt, inv, body, len, "Unhandled");
  }
  env_done(rt, env);
  pthread_mutex_unlock(&rt->lock);
  respond_json(req, 202, "{\"status\":\"%s\"}", "OK");
}

/* ---- the interface ---- */

int lambda_runtime_invoke(lambda_runtime *rt, aws_call *call, const lambda_invocation_spec *spec) {
  uint64_t arrived_ns = lambda_clock_ns();
  lambda_inv *inv = calloc(1, sizeof(*inv));
  const char *rev = json_string_value(json_object_get(spec->config, "RevisionId"));
  const char *sha = json_string_value(json_object_get(spec->config, "CodeSha256"));
  size_t keylen = strlen(spec->function_arn) + strlen(spec->version) + 80 + (sha ? strlen(sha) : 0);
  if (inv)
    inv->key = malloc(keylen);
  if (!inv || !inv->key) {
    free(inv);
    if (call)
      aws_call_fail(call, 500, "ServiceException", "out of memory");
    return -1;
  }
  snprintf(inv->key, keylen, "%s#%s#%s#%s", spec->function_arn, spec->version, rev ? rev : "",
           sha ? sha : "");
  inv->t_arrive_ns = arrived_ns;
  codec_uuid4(inv->id);
  unsigned char r[12];
  RAND_bytes(r, sizeof(r));
  codec_hex_encode(inv->trace, r, sizeof(r));
  inv->call = spec->event ? NULL : call;
  inv->function_arn = dupstr(spec->function_arn);
  inv->invoked_arn = dupstr(spec->invoked_arn);
  inv->version = dupstr(spec->version);
  inv->client_context = dupstr(spec->client_context);
  inv->config = json_deep_copy(spec->config);
  inv->code = json_deep_copy(spec->code);
  inv->reserved = spec->reserved;
  inv->tail = spec->tail;
  inv->streaming = spec->stream;
  inv->async = spec->async ? json_deep_copy(spec->async) : NULL;
  inv->created_ms = clock_wall_ms();
  json_int_t timeout = json_integer_value(json_object_get(spec->config, "Timeout"));
  inv->timeout_ms = (int)(timeout > 0 ? timeout : LAMBDA_DEFAULT_TIMEOUT) * 1000;
  if (spec->payload_len) {
    inv->payload = malloc(spec->payload_len + 1);
    if (inv->payload) {
      memcpy(inv->payload, spec->payload, spec->payload_len);
      inv->payload[spec->payload_len] = '\0';
      inv->len = spec->payload_len;
    }
  }
  if (!inv->function_arn || !inv->invoked_arn || !inv->version || !inv->config || !inv->code ||
      (spec->payload_len && !inv->payload)) {
    inv_free(inv);
    if (call)
      aws_call_fail(call, 500, "ServiceException", "out of memory");
    return -1;
  }
  inv->done = spec->done;
  inv->done_payload = spec->done_payload;
  inv->chunk = spec->done ? spec->chunk : NULL;
  pthread_mutex_lock(&rt->lock);
  inv->seq = ++rt->seq;
  lambda_inv_dispatch(rt, inv);
  pthread_mutex_unlock(&rt->lock);
  if (spec->event && call)
    aws_call_reply(call, json_pack("{s:i}", "StatusCode", 202));
  return 0;
}

void lambda_runtime_forget(lambda_runtime *rt, const char *function_arn) {
  if (!rt || !function_arn)
    return;
  size_t n = strlen(function_arn);
  pthread_mutex_lock(&rt->lock);
  lambda_env *e = rt->envs;
  while (e) {
    lambda_env *next = e->next;
    /* Idle ones go now; busy ones when their invocation is answered. */
    if (strncmp(e->key, function_arn, n) == 0 && e->key[n] == '#') {
      if (e->state == ENV_IDLE && !e->inv)
        env_kill(rt, e);
      else
        e->retire = 1;
    }
    e = next;
  }
  pthread_mutex_unlock(&rt->lock);
}

void lambda_runtime_shutdown(lambda_runtime *rt) {
  pthread_mutex_lock(&rt->lock);
  rt->closing = 1;
  pthread_cond_broadcast(&rt->log_cond);
  /* Waiting invocations and those in progress get an answer. */
  while (rt->pending) {
    lambda_inv *inv = rt->pending;
    rt->pending = inv->next;
    lambda_inv_fail(rt, inv, 503, "ServiceException", "the emulator is shutting down");
  }
  while (rt->envs) {
    lambda_env *e = rt->envs;
    lambda_inv *inv = e->inv;
    e->inv = NULL;
    if (inv) {
      inv->env = NULL;
      lambda_inv_fail(rt, inv, 503, "ServiceException", "the emulator is shutting down");
    }
    env_kill(rt, e);
  }
  runtime_timer *timers = rt->timers;
  rt->timers = NULL;
  for (runtime_timer *t = timers; t; t = t->next)
    t->linked = 0; /* a callback already running finds itself unlinked */
  pthread_mutex_unlock(&rt->lock);
  while (timers) {
    runtime_timer *t = timers;
    timers = t->next;
    if (emulator_timer_cancel(t->handle) == 1) {
      inv_free(t->inv);
      free(t);
    }
  }
  pthread_mutex_lock(&rt->lock);
  while (rt->threads > 0)
    pthread_cond_wait(&rt->cond, &rt->lock);
  pthread_mutex_unlock(&rt->lock);
}

void lambda_inv_release(lambda_inv *inv) { inv_free(inv); }
