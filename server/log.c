/*
 * log: level-filtered, one-line log records to stderr or syslog; see log.h.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static enum config_log_level log_level = CONFIG_LOG_INFO;
static int log_syslog;

void log_init(enum config_log_level level, int use_syslog)
{
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog("maillaged", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum config_log_level level)
{
	log_level = level;
}

int log_enabled(enum config_log_level level)
{
	return level >= log_level;
}

static int log_priority(enum config_log_level level)
{
	switch (level) {
	case CONFIG_LOG_DEBUG:
		return LOG_DEBUG;
	case CONFIG_LOG_INFO:
		return LOG_INFO;
	case CONFIG_LOG_NOTICE:
		return LOG_NOTICE;
	case CONFIG_LOG_WARNING:
		return LOG_WARNING;
	case CONFIG_LOG_ERROR:
	default:
		return LOG_ERR;
	}
}

__attribute__((format(printf, 3, 0))) static void
log_vwrite(enum config_log_level level, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	size_t n;

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	}
	/* One record, one line. */
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_syslog) {
		syslog(log_priority(level), "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s %s\n", stamp, ts.tv_nsec / 1000000L,
		config_log_level_name(level), msg);
}

#define LOG_FN(name, level, with_errno)                                        \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		int saved = errno;                                             \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vwrite(level, with_errno ? saved : 0, fmt, ap);            \
		va_end(ap);                                                    \
		errno = saved;                                                 \
	}

LOG_FN(log_debug, CONFIG_LOG_DEBUG, 0)
LOG_FN(log_info, CONFIG_LOG_INFO, 0)
LOG_FN(log_notice, CONFIG_LOG_NOTICE, 0)
LOG_FN(log_warn, CONFIG_LOG_WARNING, 1)
LOG_FN(log_warnx, CONFIG_LOG_WARNING, 0)
LOG_FN(log_error, CONFIG_LOG_ERROR, 0)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(CONFIG_LOG_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(CONFIG_LOG_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
