/*
 * config: table-driven parsing of maillaged.conf through inih; see config.h.
 * Each option is one row of config_options: where it lives, how it is parsed
 * and bounded, and its default. Adding an option is adding a row.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"

enum config_type {
	CONFIG_STRING, /* copied as is */
	CONFIG_PATH,   /* relative paths resolved against the file's dir */
	CONFIG_UINT,   /* decimal, within [min, max] */
	CONFIG_LISTEN, /* host:port or [v6]:port */
	CONFIG_LEVEL,  /* log level name */
	CONFIG_TLSVER  /* 1.2 or 1.3 */
};

struct config_option {
	const char *section;
	const char *key;
	enum config_type type;
	size_t offset;
	size_t size; /* buffer size for strings, sizeof(uint32_t) for UINT */
	uint32_t min;
	uint32_t max;
	const char *def;
};

#define OPT_STR(sec, key, type, field, def)                                    \
	{                                                                      \
		sec, key, type, offsetof(struct config, field),                \
			sizeof(((struct config *)0)->field), 0, 0, def         \
	}
#define OPT_UINT(sec, key, field, lo, hi, def)                                 \
	{                                                                      \
		sec, key, CONFIG_UINT, offsetof(struct config, field),         \
			sizeof(uint32_t), lo, hi, def                          \
	}

static const struct config_option config_options[] = {
	{"server", "listen", CONFIG_LISTEN, 0, 0, 0, 0, "127.0.0.1:7443"},
	OPT_STR("server", "instance_id", CONFIG_STRING, instance_id, ""),
	OPT_UINT("server", "max_frame", max_frame, 1024, FRAME_ABSOLUTE_MAX,
		 "1048576"),
	OPT_UINT("server", "max_connections", max_connections, 1, 1000000,
		 "10000"),
	OPT_UINT("server", "handshake_timeout", handshake_timeout, 1, 3600,
		 "10"),
	OPT_UINT("server", "idle_timeout", idle_timeout, 1, 86400, "600"),
	OPT_UINT("server", "output_limit", output_limit, 262144,
		 1024u * 1024u * 1024u, "4194304"),
	OPT_UINT("server", "drain_timeout", drain_timeout, 0, 3600, "10"),
	OPT_UINT("server", "send_buffer", send_buffer, 0, 64u * 1024u * 1024u,
		 "0"),
	{"server", "log_level", CONFIG_LEVEL, 0, 0, 0, 0, "info"},
	OPT_STR("server", "pidfile", CONFIG_PATH, pidfile, ""),
	OPT_STR("tls", "certificate", CONFIG_PATH, tls_certificate, ""),
	OPT_STR("tls", "private_key", CONFIG_PATH, tls_private_key, ""),
	OPT_STR("tls", "ca", CONFIG_PATH, tls_ca, ""),
	OPT_STR("tls", "crl", CONFIG_PATH, tls_crl, ""),
	{"tls", "min_version", CONFIG_TLSVER, 0, 0, 0, 0, "1.3"},
	OPT_STR("database", "conninfo", CONFIG_STRING, db_conninfo, ""),
	OPT_UINT("database", "pool_size", db_pool_size, 1, 64, "4"),
	OPT_UINT("database", "connect_timeout", db_connect_timeout, 1, 600,
		 "5"),
	OPT_UINT("database", "query_timeout", db_query_timeout, 1, 3600, "10"),
	OPT_STR("database", "migrations_dir", CONFIG_PATH, migrations_dir,
		MAILLAGE_SQLDIR),
	OPT_UINT("limits", "notice_text_max", notice_text_max, 256,
		 1024u * 1024u, "32768"),
	OPT_UINT("limits", "notice_recipients_max", notice_recipients_max, 1,
		 256, "32"),
	OPT_UINT("limits", "notice_indicators_max", notice_indicators_max, 1,
		 256, "64"),
	OPT_UINT("limits", "list_limit_max", list_limit_max, 10, 100000,
		 "1000"),
	OPT_UINT("events", "poll_interval_ms", events_poll_ms, 50, 60000,
		 "1000"),
	OPT_UINT("events", "deadline_check_ms", deadline_check_ms, 50, 600000,
		 "5000"),
	OPT_UINT("audit", "seal_interval_ms", seal_interval_ms, 50, 60000,
		 "500"),
	OPT_UINT("audit", "seal_batch", seal_batch, 10, 10000, "1000"),
	OPT_UINT("audit", "checkpoint_rows", checkpoint_rows, 1, 100000000,
		 "1000"),
	OPT_UINT("audit", "checkpoint_interval_ms", checkpoint_interval_ms, 100,
		 86400000, "10000"),
	OPT_STR("audit", "signing_key", CONFIG_PATH, audit_signing_key, ""),
	OPT_STR("storage", "data_keyring", CONFIG_PATH, data_keyring, ""),
	OPT_UINT("retention", "closed_days", retention_closed_days, 1, 36500,
		 "1826"),
	OPT_UINT("retention", "not_a_victim_days", retention_not_victim_days, 1,
		 36500, "365"),
	OPT_UINT("retention", "purge_batch", purge_batch, 1, 10000, "100"),
	OPT_STR("identity", "matching_key", CONFIG_PATH, matching_key, ""),
	OPT_UINT("identity", "candidate_threshold", candidate_threshold, 0,
		 1000, "160"),
	OPT_UINT("identity", "confident_threshold", confident_threshold, 0,
		 1000, "250"),
	OPT_UINT("identity", "max_candidates", max_candidates, 1, 20, "5"),
	OPT_UINT("identity", "auto_link_threshold", auto_link_threshold, 0,
		 1000, "0"),
};

#define CONFIG_NOPTIONS (sizeof(config_options) / sizeof(config_options[0]))

static const char *const config_level_names[] = {"debug", "info", "notice",
						 "warning", "error"};

struct config_parse {
	struct config *cfg;
	const char *base;
	char *err;
	size_t errlen;
	const char *file;
	int failed;
	char detail[256];
};

const char *config_log_level_name(enum config_log_level level)
{
	if ((unsigned)level >=
	    sizeof(config_level_names) / sizeof(config_level_names[0]))
		return "error";
	return config_level_names[level];
}

static int config_parse_uint(const char *value, uint32_t lo, uint32_t hi,
			     uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (value[0] == '\0' || !isdigit((unsigned char)value[0]))
		return -1;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int config_parse_listen(const char *value, struct config *cfg)
{
	const char *colon;
	size_t hostlen;
	uint32_t port;

	if (value[0] == '[') {
		const char *close = strchr(value, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		hostlen = (size_t)(close - value - 1);
		value++;
		colon = close + 1;
	} else {
		colon = strrchr(value, ':');
		if (colon == NULL)
			return -1;
		hostlen = (size_t)(colon - value);
	}
	if (hostlen == 0 || hostlen >= sizeof(cfg->listen_host))
		return -1;
	if (config_parse_uint(colon + 1, 1, 65535, &port) != 0)
		return -1;
	memcpy(cfg->listen_host, value, hostlen);
	cfg->listen_host[hostlen] = '\0';
	cfg->listen_port = (uint16_t)port;
	return 0;
}

static int config_parse_path(const char *value, const char *base, char *out,
			     size_t size)
{
	int n;

	if (value[0] == '\0' || value[0] == '/' || base == NULL ||
	    base[0] == '\0')
		n = snprintf(out, size, "%s", value);
	else
		n = snprintf(out, size, "%s/%s", base, value);
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

static int config_apply(const struct config_option *opt, const char *value,
			const char *base, struct config *cfg)
{
	char *field = (char *)cfg + opt->offset;
	size_t i;

	switch (opt->type) {
	case CONFIG_STRING:
		if (strlen(value) >= opt->size)
			return -1;
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case CONFIG_PATH:
		return config_parse_path(value, base, field, opt->size);
	case CONFIG_UINT:
		return config_parse_uint(value, opt->min, opt->max,
					 (uint32_t *)(void *)field);
	case CONFIG_LISTEN:
		return config_parse_listen(value, cfg);
	case CONFIG_LEVEL:
		for (i = 0; i < sizeof(config_level_names) /
					sizeof(config_level_names[0]);
		     i++) {
			if (strcmp(value, config_level_names[i]) == 0) {
				cfg->log_level = (enum config_log_level)i;
				return 0;
			}
		}
		return -1;
	case CONFIG_TLSVER:
		if (strcmp(value, "1.3") == 0)
			cfg->tls_min_version = 13;
		else if (strcmp(value, "1.2") == 0)
			cfg->tls_min_version = 12;
		else
			return -1;
		return 0;
	}
	return -1;
}

void config_defaults(struct config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < CONFIG_NOPTIONS; i++)
		(void)config_apply(&config_options[i], config_options[i].def,
				   NULL, cfg);
}

static const struct config_option *config_find(const char *section,
					       const char *key, int *known_sec)
{
	size_t i;

	*known_sec = 0;
	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (strcmp(config_options[i].section, section) != 0)
			continue;
		*known_sec = 1;
		if (strcmp(config_options[i].key, key) == 0)
			return &config_options[i];
	}
	return NULL;
}

/* inih reports the line of the first handler failure as its result. */
static int config_handler(void *user, const char *section, const char *key,
			  const char *value)
{
	struct config_parse *p = user;
	const struct config_option *opt;
	int known_sec;

	if (p->failed)
		return 0;
	opt = config_find(section, key, &known_sec);
	if (opt == NULL) {
		snprintf(p->detail, sizeof(p->detail), "unknown %s [%s]%s%s",
			 known_sec ? "key" : "section", section,
			 known_sec ? " " : "", known_sec ? key : "");
		p->failed = 1;
		return 0;
	}
	if (config_apply(opt, value, p->base, p->cfg) != 0) {
		if (opt->type == CONFIG_UINT)
			snprintf(p->detail, sizeof(p->detail),
				 "[%s] %s: expected an integer between %u "
				 "and %u",
				 section, key, opt->min, opt->max);
		else
			snprintf(p->detail, sizeof(p->detail),
				 "[%s] %s: invalid value", section, key);
		p->failed = 1;
		return 0;
	}
	return 1;
}

static int config_finish(struct config_parse *p, int rc)
{
	if (p->failed) {
		snprintf(p->err, p->errlen, "%s:%d: %s", p->file, rc,
			 p->detail);
		return -1;
	}
	if (rc > 0) {
		snprintf(p->err, p->errlen, "%s:%d: syntax error", p->file, rc);
		return -1;
	}
	if (rc < 0) {
		snprintf(p->err, p->errlen, "%s: cannot read: %s", p->file,
			 rc == -1 ? strerror(errno) : "out of memory");
		return -1;
	}
	return 0;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct config_parse p = {cfg, NULL, err, errlen, path, 0, ""};
	char base[CONFIG_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int rc;

	if (slash == NULL) {
		if (getcwd(base, sizeof(base)) == NULL)
			base[0] = '\0';
	} else if ((size_t)(slash - path) < sizeof(base)) {
		memcpy(base, path, (size_t)(slash - path));
		base[slash - path] = '\0';
		if (base[0] == '\0')
			strcpy(base, "/");
	} else {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	p.base = base;
	config_defaults(cfg);
	rc = ini_parse(path, config_handler, &p);
	return config_finish(&p, rc);
}

int config_load_string(const char *text, const char *base, struct config *cfg,
		       char *err, size_t errlen)
{
	struct config_parse p = {cfg, base, err, errlen, "(string)", 0, ""};
	int rc;

	config_defaults(cfg);
	rc = ini_parse_string(text, config_handler, &p);
	return config_finish(&p, rc);
}

int config_validate(const struct config *cfg, char *err, size_t errlen)
{
	static const struct {
		size_t offset;
		const char *name;
	} required[] = {
		{offsetof(struct config, tls_certificate), "[tls] certificate"},
		{offsetof(struct config, tls_private_key), "[tls] private_key"},
		{offsetof(struct config, tls_ca), "[tls] ca"},
		{offsetof(struct config, db_conninfo), "[database] conninfo"},
		{offsetof(struct config, data_keyring),
		 "[storage] data_keyring"},
	};
	size_t i;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const char *v = (const char *)cfg + required[i].offset;
		if (v[0] == '\0') {
			snprintf(err, errlen, "%s is required",
				 required[i].name);
			return -1;
		}
	}
	return 0;
}
