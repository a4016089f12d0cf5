/*
 * config: the daemon's configuration. This module owns the table of options
 * (section, key, type, bounds, default, documentation) and the parsing of the
 * INI file through inih: every key is validated against its bounds when read,
 * an unknown section or key is an error naming the file and line, and a
 * reload builds a fresh struct that replaces the old one only when it is
 * whole. Nothing here touches the network or the database.
 */
#ifndef MAILLAGE_CONFIG_H
#define MAILLAGE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_PATH_MAX 1024
#define CONFIG_ERR_MAX 512

enum config_log_level {
	CONFIG_LOG_DEBUG = 0,
	CONFIG_LOG_INFO,
	CONFIG_LOG_NOTICE,
	CONFIG_LOG_WARNING,
	CONFIG_LOG_ERROR
};

struct config {
	/* [server] */
	char listen_host[256];
	uint16_t listen_port;
	char instance_id[64];
	uint32_t max_frame;
	uint32_t max_connections;
	uint32_t handshake_timeout; /* seconds */
	uint32_t idle_timeout;	    /* seconds */
	uint32_t output_limit;	    /* bytes */
	uint32_t drain_timeout;	    /* seconds */
	uint32_t send_buffer;	    /* SO_SNDBUF of client sockets, 0: OS */
	enum config_log_level log_level;
	char pidfile[CONFIG_PATH_MAX];
	/* [tls] */
	char tls_certificate[CONFIG_PATH_MAX];
	char tls_private_key[CONFIG_PATH_MAX];
	char tls_ca[CONFIG_PATH_MAX];
	char tls_crl[CONFIG_PATH_MAX];
	int tls_min_version; /* 12 or 13 */
	/* [database] */
	char db_conninfo[2048];
	uint32_t db_pool_size;
	uint32_t db_connect_timeout; /* seconds */
	uint32_t db_query_timeout;   /* seconds */
	char migrations_dir[CONFIG_PATH_MAX];
	/* [limits] */
	uint32_t notice_text_max;	/* bytes of a notice's text */
	uint32_t notice_recipients_max; /* institutions per notice */
	uint32_t notice_indicators_max; /* indicator codes per notice */
	uint32_t list_limit_max;	/* items per list request */
	/* [events] */
	uint32_t events_poll_ms; /* re-read the streams at least this often */
	uint32_t deadline_check_ms; /* look for lapsed deadlines this often */
	/* [audit] (server/seal.c) */
	uint32_t seal_interval_ms;	 /* look for unsealed rows this often */
	uint32_t seal_batch;		 /* rows sealed per transaction */
	uint32_t checkpoint_rows;	 /* sign a checkpoint every N rows */
	uint32_t checkpoint_interval_ms; /* or when the last is this old */
	char audit_signing_key[CONFIG_PATH_MAX]; /* Ed25519 PEM, or "" */
	/* [storage] (server/vault.c) */
	char data_keyring[CONFIG_PATH_MAX]; /* keys sealing stored texts */
	/* [retention] (server/purge.c) */
	uint32_t retention_closed_days;	    /* closed cases kept this long */
	uint32_t retention_not_victim_days; /* closed as not a victim */
	uint32_t purge_batch;		    /* cases purged per transaction */
	/* [identity] (server/match.c) */
	char matching_key[CONFIG_PATH_MAX]; /* network secret, or "": off */
	uint32_t candidate_threshold;	    /* tenths: score to propose */
	uint32_t confident_threshold;	    /* tenths: score called confident */
	uint32_t max_candidates;	    /* candidates returned per search */
	uint32_t auto_link_threshold; /* tenths: link without review; 0 never */
};

/* Fill `cfg` with the defaults of every option. */
void config_defaults(struct config *cfg);

/*
 * Parse `path` into `cfg` (defaults first). Returns 0, or -1 with a message
 * naming the file, line and key in `err`. Relative paths in the file are
 * resolved against the directory of `path`.
 */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

/* Parse from a string (for tests); relative paths resolve against `base`. */
int config_load_string(const char *text, const char *base, struct config *cfg,
		       char *err, size_t errlen);

/* Check cross-option consistency (required keys present). */
int config_validate(const struct config *cfg, char *err, size_t errlen);

const char *config_log_level_name(enum config_log_level level);

#endif
