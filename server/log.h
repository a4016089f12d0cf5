/*
 * log: the daemon's one-line-per-event log. This module owns the level
 * filter and the sink (stderr with a timestamp, or syslog once daemonised).
 * log_warn appends strerror(errno); log_warnx does not. fatal/fatalx log and
 * exit, and are for start-up only. Callers never pass names, free text or
 * secrets: identifiers and codes only.
 */
#ifndef MAILLAGE_LOG_H
#define MAILLAGE_LOG_H

#include "config.h"

void log_init(enum config_log_level level, int use_syslog);
void log_set_level(enum config_log_level level);
int log_enabled(enum config_log_level level);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
