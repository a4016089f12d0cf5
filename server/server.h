/*
 * server: the daemon's process-wide state, in the manner of Redis's `server`
 * struct: the event base, the configuration in force, the TLS context that
 * new connections use, the listener, the database pool and the drain flag.
 * One instance per process, created by main.c; modules reach it through the
 * pointer each connection carries.
 */
#ifndef MAILLAGE_SERVER_H
#define MAILLAGE_SERVER_H

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "acl.h"
#include "config.h"
#include "db.h"
#include "vault.h"

#define SERVER_NAME "maillaged/" MAILLAGE_VERSION

struct server {
	struct event_base *base;
	struct config cfg;
	char config_path[CONFIG_PATH_MAX];
	SSL_CTX *ssl_ctx;
	struct evconnlistener *listener;
	struct db_pool *db;
	char instance_id[64];
	int draining;
	struct event *ev_term;
	struct event *ev_int;
	struct event *ev_hup;
	struct event *drain_timer;
	/* need-to-know matrices in force (policy.c) */
	struct acl_policy policy;
	int policy_loaded;
	int policy_loading;
	/* keys sealing stored texts (vault.c), from [storage] data_keyring */
	struct vault vault;
};

#endif
