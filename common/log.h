/*
 * log.h — levelled logging to stderr, as text lines with timestamps or as JSON lines.
 *
 * Thread-safe: each line is formatted into one buffer and written with a single
 * write(2), so lines from different threads or processes never interleave.
 */
#ifndef AIRGAP_COMMON_LOG_H
#define AIRGAP_COMMON_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 } log_level;

/* Sets the least severe level printed (default LOG_INFO). */
void log_level_set(log_level level);
log_level log_level_get(void);

/* Parses "debug", "info", "warn"/"warning", "error" (any case). Returns 0 or
 * AIRGAP_EINVALID, writing *out only on success. */
int log_level_parse(log_level *out, const char *name);

/* JSON lines ({"ts":…,"level":…,"component":…,"msg":…}) instead of text when on. */
void log_json_set(int on);

/* Where lines go (default 2, stderr). */
void log_fd_set(int fd);

/* Logs one line. `component` names the module ("queue", "emulator", …). */
void log_write(log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(component, ...) log_write(LOG_DEBUG, component, __VA_ARGS__)
#define log_info(component, ...) log_write(LOG_INFO, component, __VA_ARGS__)
#define log_warn(component, ...) log_write(LOG_WARN, component, __VA_ARGS__)
#define log_error(component, ...) log_write(LOG_ERROR, component, __VA_ARGS__)

#endif
