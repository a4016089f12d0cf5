/*
 * main: maillaged's entry point. This file owns the command line (run,
 * migrate, check, audit-keygen, bootstrap-admin), start-up (configuration,
 * TLS context, database pool, listener once the database has answered or
 * been found absent), the signals (SIGTERM/SIGINT drain and exit, SIGHUP
 * reloads the TLS material and the log level) and the orderly shutdown that
 * frees everything.
 */
#include <errno.h>
#include <event2/listener.h>
#include <getopt.h>
#include <netdb.h>
#include <openssl/err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "conn.h"
#include "db.h"
#include "evaudit.h"
#include "events.h"
#include "log.h"
#include "migrate.h"
#include "policy.h"
#include "seal.h"
#include "server.h"
#include "tls.h"
#include "vault.h"
#include "match.h"
#include "rekey.h"
#include "purge.h"

#define MAIN_DEFAULT_CONFIG "/etc/maillage/maillaged.conf"

static void main_usage(FILE *f)
{
	fprintf(f,
		"usage: maillaged [-c FILE] [-d] [COMMAND]\n"
		"\n"
		"Commands:\n"
		"  run          serve (the default)\n"
		"  migrate      apply pending SQL migrations and exit\n"
		"               (--dry-run lists them without applying)\n"
		"  check        validate the configuration, TLS material and\n"
		"               keys\n"
		"  audit-keygen FILE\n"
		"               write a new Ed25519 audit signing key to FILE\n"
		"               (mode 600) and its public key to FILE.pub\n"
		"  data-keygen [--add] FILE\n"
		"               write a new data keyring FILE (mode 600) with\n"
		"               one key; --add: add a key and make it active\n"
		"  matching-keygen FILE\n"
		"               write a new network matching key to FILE\n"
		"               (mode 600); every instance uses the same\n"
		"  rotate-key [--batch N]\n"
		"               re-seal every stored text under the active "
		"data\n"
		"               key (and seal texts stored before encryption)\n"
		"  purge [--dry-run]\n"
		"               delete the cases past their retention period\n"
		"  bootstrap-admin LOGIN --institution CODE --cert FILE.pem\n"
		"               [--display-name N] [--name N --kind K\n"
		"               --departement D [--contact C]]\n"
		"               create an admin account straight in the\n"
		"               database (on the server host; README)\n"
		"\n"
		"Options:\n"
		"  -c FILE      configuration file (default %s)\n"
		"  -d           detach: log to syslog and write the pidfile\n"
		"  -V           print the version and exit\n"
		"  -h           print this help and exit\n",
		MAIN_DEFAULT_CONFIG);
}

static void main_accept(struct evconnlistener *l, evutil_socket_t fd,
			struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	conn_accept(arg, fd, sa, salen);
}

static void main_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	log_warn("accept");
}

static int main_listen(struct server *srv)
{
	struct addrinfo hints, *ai = NULL;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", srv->cfg.listen_port);
	rc = getaddrinfo(srv->cfg.listen_host, port, &hints, &ai);
	if (rc != 0) {
		log_error("listen %s:%s: %s", srv->cfg.listen_host, port,
			  gai_strerror(rc));
		return -1;
	}
	srv->listener = evconnlistener_new_bind(
		srv->base, main_accept, srv,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
			LEV_OPT_CLOSE_ON_EXEC,
		1024, ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(ai);
	if (srv->listener == NULL) {
		log_warn("listen %s:%s", srv->cfg.listen_host, port);
		return -1;
	}
	evconnlistener_set_error_cb(srv->listener, main_accept_error);
	log_notice("listening on %s:%s (instance %s)", srv->cfg.listen_host,
		   port, srv->instance_id);
	return 0;
}

static void main_start_serving(struct server *srv)
{
	if (srv->listener == NULL && !srv->draining && main_listen(srv) != 0)
		event_base_loopbreak(srv->base);
}

static void main_policy_ready(struct server *srv, int loaded)
{
	if (!loaded)
		log_warnx("need-to-know matrices not loaded yet; requests "
			  "that need them get UNAVAILABLE until they are");
	main_start_serving(srv);
}

/*
 * The pool has its first connection, or could make none: load the
 * need-to-know matrices, then start serving.
 */
static void main_db_ready(void *arg, int connected)
{
	struct server *srv = arg;

	if (!connected) {
		log_warnx("database unavailable; serving, requests will get "
			  "UNAVAILABLE until it is back");
		main_start_serving(srv);
		return;
	}
	policy_load(srv, main_policy_ready);
}

static void main_reload(struct server *srv)
{
	struct config next;
	struct vault keys;
	char err[CONFIG_ERR_MAX];
	SSL_CTX *ctx;

	if (config_load(srv->config_path, &next, err, sizeof(err)) != 0 ||
	    config_validate(&next, err, sizeof(err)) != 0) {
		log_error("reload refused: %s", err);
		return;
	}
	ctx = tls_server_ctx_new(&next, err, sizeof(err));
	if (ctx == NULL) {
		log_error("reload refused: %s", err);
		return;
	}
	if (vault_load(&keys, next.data_keyring, err, sizeof(err)) != 0) {
		SSL_CTX_free(ctx);
		log_error("reload refused: %s", err);
		return;
	}
	vault_clear(&srv->vault);
	srv->vault = keys;
	vault_clear(&keys);
	SSL_CTX_free(srv->ssl_ctx);
	srv->ssl_ctx = ctx;
	memcpy(srv->cfg.tls_certificate, next.tls_certificate,
	       sizeof(next.tls_certificate));
	memcpy(srv->cfg.tls_private_key, next.tls_private_key,
	       sizeof(next.tls_private_key));
	memcpy(srv->cfg.tls_ca, next.tls_ca, sizeof(next.tls_ca));
	memcpy(srv->cfg.tls_crl, next.tls_crl, sizeof(next.tls_crl));
	srv->cfg.log_level = next.log_level;
	log_set_level(next.log_level);
	log_notice("reloaded certificates%s, data keyring (active key %u) and "
		   "log level; other options take effect at restart",
		   next.tls_crl[0] != '\0' ? ", CRL" : "",
		   (unsigned)srv->vault.active);
}

static void main_drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	static unsigned ticks;
	struct timeval tick = {0, 100000};

	(void)fd;
	(void)what;
	if ((conn_count() == 0 && !evaudit_busy() &&
	     db_pool_pending(srv->db) == 0) ||
	    ++ticks > srv->cfg.drain_timeout * 10u) {
		event_base_loopexit(srv->base, NULL);
		return;
	}
	evtimer_add(srv->drain_timer, &tick);
}

static void main_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval now = {0, 0};

	(void)what;
	if (sig == SIGHUP) {
		log_notice("SIGHUP: reloading");
		main_reload(srv);
		policy_load(srv, NULL);
		return;
	}
	if (srv->draining) {
		log_notice("second signal: exiting now");
		event_base_loopexit(srv->base, NULL);
		return;
	}
	log_notice("signal %d: draining %u connections", (int)sig,
		   conn_count());
	srv->draining = 1;
	if (srv->listener != NULL)
		evconnlistener_disable(srv->listener);
	conn_drain_all(srv);
	evtimer_add(srv->drain_timer, &now);
}

static int main_pidfile(const char *path)
{
	FILE *f;

	if (path[0] == '\0')
		return 0;
	f = fopen(path, "w");
	if (f == NULL) {
		log_warn("pidfile %s", path);
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return 0;
}

static int main_setup(struct server *srv)
{
	char err[CONFIG_ERR_MAX];

	if (srv->cfg.instance_id[0] != '\0') {
		snprintf(srv->instance_id, sizeof(srv->instance_id), "%s",
			 srv->cfg.instance_id);
	} else {
		char host[48] = "localhost";
		gethostname(host, sizeof(host) - 1);
		snprintf(srv->instance_id, sizeof(srv->instance_id), "%s:%ld",
			 host, (long)getpid());
	}
	srv->ssl_ctx = tls_server_ctx_new(&srv->cfg, err, sizeof(err));
	if (srv->ssl_ctx == NULL) {
		log_error("%s", err);
		return -1;
	}
	if (vault_load(&srv->vault, srv->cfg.data_keyring, err, sizeof(err)) !=
	    0) {
		log_error("[storage] data_keyring: %s", err);
		return -1;
	}
	if (match_init(&srv->cfg, err, sizeof(err)) != 0) {
		log_error("[identity] matching_key: %s", err);
		return -1;
	}
	if (!match_enabled())
		log_warnx("no [identity] matching_key: identities are not "
			  "matched across notices");
	srv->base = event_base_new();
	if (srv->base == NULL)
		return -1;
	srv->ev_term = evsignal_new(srv->base, SIGTERM, main_signal, srv);
	srv->ev_int = evsignal_new(srv->base, SIGINT, main_signal, srv);
	srv->ev_hup = evsignal_new(srv->base, SIGHUP, main_signal, srv);
	srv->drain_timer = evtimer_new(srv->base, main_drain_check, srv);
	if (srv->ev_term == NULL || srv->ev_int == NULL ||
	    srv->ev_hup == NULL || srv->drain_timer == NULL ||
	    event_add(srv->ev_term, NULL) != 0 ||
	    event_add(srv->ev_int, NULL) != 0 ||
	    event_add(srv->ev_hup, NULL) != 0)
		return -1;
	srv->db =
		db_pool_new(srv->base, srv->cfg.db_conninfo,
			    srv->cfg.db_pool_size, srv->cfg.db_connect_timeout,
			    srv->cfg.db_query_timeout, main_db_ready, srv);
	if (srv->db == NULL)
		return -1;
	if (events_start(srv) != 0)
		return -1;
	if (admin_start(srv) != 0)
		return -1;
	if (match_start(srv) != 0)
		return -1;
	return seal_start(srv);
}

static void main_teardown(struct server *srv)
{
	conn_free_all();
	events_stop();
	seal_stop();
	admin_stop();
	match_stop();
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	db_pool_free(srv->db);
	if (srv->drain_timer != NULL)
		event_free(srv->drain_timer);
	if (srv->ev_term != NULL)
		event_free(srv->ev_term);
	if (srv->ev_int != NULL)
		event_free(srv->ev_int);
	if (srv->ev_hup != NULL)
		event_free(srv->ev_hup);
	if (srv->base != NULL)
		event_base_free(srv->base);
	SSL_CTX_free(srv->ssl_ctx);
	vault_clear(&srv->vault);
	match_free();
	if (srv->cfg.pidfile[0] != '\0')
		(void)unlink(srv->cfg.pidfile);
}

static int main_run(struct server *srv, int detach)
{
	int rc = 0;

	if (detach && daemon(0, 0) != 0)
		fatal("daemon");
	log_init(srv->cfg.log_level, detach);
	signal(SIGPIPE, SIG_IGN);
	if (main_pidfile(srv->cfg.pidfile) != 0)
		return 1;
	if (main_setup(srv) != 0) {
		main_teardown(srv);
		return 1;
	}
	log_notice("%s starting", SERVER_NAME);
	if (event_base_dispatch(srv->base) < 0 ||
	    event_base_got_break(srv->base))
		rc = 1;
	log_notice("%s stopped", SERVER_NAME);
	main_teardown(srv);
	return rc;
}

static int main_check(struct server *srv)
{
	char err[CONFIG_ERR_MAX];
	SSL_CTX *ctx = tls_server_ctx_new(&srv->cfg, err, sizeof(err));

	if (ctx == NULL) {
		fprintf(stderr, "maillaged: %s\n", err);
		return 1;
	}
	SSL_CTX_free(ctx);
	if (vault_load(&srv->vault, srv->cfg.data_keyring, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "maillaged: [storage] data_keyring: %s\n", err);
		return 1;
	}
	vault_clear(&srv->vault);
	if (match_init(&srv->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "maillaged: [identity] matching_key: %s\n",
			err);
		return 1;
	}
	match_free();
	if (seal_check_config(&srv->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "maillaged: [audit] signing_key: %s\n", err);
		return 1;
	}
	printf("configuration %s is valid\n", srv->config_path);
	return 0;
}

/* `maillaged audit-keygen FILE`: a new signing key for the audit trail. */
static int main_audit_keygen(int argc, char **argv)
{
	char err[CONFIG_ERR_MAX], key_id[SEAL_KEY_ID_LEN + 1];

	if (argc != 1) {
		main_usage(stderr);
		return 2;
	}
	if (seal_keygen(argv[0], key_id, err, sizeof(err)) != 0) {
		fprintf(stderr, "maillaged: %s\n", err);
		return 1;
	}
	printf("audit signing key: %s (mode 600)\n"
	       "public key:        %s.pub (give it to the auditors)\n"
	       "key id:            %s\n"
	       "Set [audit] signing_key = %s in maillaged.conf.\n",
	       argv[0], argv[0], key_id, argv[0]);
	return 0;
}

/* `maillaged data-keygen [--add] FILE`: a new data keyring, or key. */
static int main_data_keygen(int argc, char **argv)
{
	char err[CONFIG_ERR_MAX];
	uint32_t id = 0;
	int add = argc == 2 && strcmp(argv[0], "--add") == 0;

	if (argc != 1 + add) {
		main_usage(stderr);
		return 2;
	}
	if (vault_keygen(argv[add], add, &id, err, sizeof(err)) != 0) {
		fprintf(stderr, "maillaged: %s\n", err);
		return 1;
	}
	printf("%s: data key %u is active%s\n", argv[add], (unsigned)id,
	       add ? "; reload every instance (SIGHUP), then run "
		     "`maillaged rotate-key`"
		   : "");
	return 0;
}

int main(int argc, char **argv)
{
	static struct server srv;
	const char *path = MAIN_DEFAULT_CONFIG;
	const char *cmd = "run";
	char err[CONFIG_ERR_MAX];
	int detach = 0, dry_run = 0, ch, boot_argc = 0, cmd_argc = 0;
	char **cmd_argv = NULL;
	char **boot_argv = NULL;

	/* "+": options end at the command (its own options follow it). */
	while ((ch = getopt(argc, argv, "+c:dVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			detach = 1;
			break;
		case 'V':
			printf("%s\n", SERVER_NAME);
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			main_usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	/* Needs no configuration: run before reading one. */
	if (strcmp(cmd, "audit-keygen") == 0)
		return main_audit_keygen(argc - optind, argv + optind);
	if (strcmp(cmd, "data-keygen") == 0)
		return main_data_keygen(argc - optind, argv + optind);
	if (strcmp(cmd, "matching-keygen") == 0) {
		if (argc - optind != 1) {
			main_usage(stderr);
			return 2;
		}
		if (match_keygen(argv[optind], err, sizeof(err)) != 0) {
			fprintf(stderr, "maillaged: %s\n", err);
			return 1;
		}
		printf("%s: matching key written; give the same file to every "
		       "instance of the network\n",
		       argv[optind]);
		return 0;
	}
	if (strcmp(cmd, "rotate-key") == 0 || strcmp(cmd, "purge") == 0) {
		cmd_argc = argc - optind;
		cmd_argv = argv + optind;
		optind = argc;
	}
	if (optind < argc && strcmp(cmd, "migrate") == 0 &&
	    strcmp(argv[optind], "--dry-run") == 0) {
		dry_run = 1;
		optind++;
	}
	if (strcmp(cmd, "bootstrap-admin") == 0) {
		boot_argc = argc - optind + 1;
		boot_argv = argv + optind - 1;
		optind = argc;
	}
	if (optind < argc) {
		main_usage(stderr);
		return 2;
	}
	snprintf(srv.config_path, sizeof(srv.config_path), "%s", path);
	if (config_load(path, &srv.cfg, err, sizeof(err)) != 0 ||
	    (strcmp(cmd, "migrate") != 0 &&
	     config_validate(&srv.cfg, err, sizeof(err)) != 0)) {
		fprintf(stderr, "maillaged: %s\n", err);
		return 2;
	}
	if (strcmp(cmd, "migrate") == 0) {
		if (srv.cfg.db_conninfo[0] == '\0') {
			fprintf(stderr, "maillaged: [database] conninfo is "
					"required\n");
			return 2;
		}
		return migrate_run(&srv.cfg, dry_run);
	}
	if (strcmp(cmd, "check") == 0)
		return main_check(&srv);
	if (strcmp(cmd, "bootstrap-admin") == 0)
		return admin_bootstrap(&srv.cfg, boot_argc, boot_argv);
	if (strcmp(cmd, "rotate-key") == 0)
		return rekey_run(&srv.cfg, cmd_argc, cmd_argv);
	if (strcmp(cmd, "purge") == 0)
		return purge_run(&srv.cfg, cmd_argc, cmd_argv);
	if (strcmp(cmd, "run") != 0) {
		main_usage(stderr);
		return 2;
	}
	return main_run(&srv, detach);
}
