/*
 * conf: the client configuration file. This module owns where the file is
 * looked for by default ($XDG_CONFIG_HOME/maillage/client.conf, else
 * ~/.config/maillage/client.conf), its parsing through inih (one [client]
 * section; unknown sections or keys, duplicates and empty values are
 * errors, reported as FILE:LINE: ...), the splitting of `server` into host
 * and port, and the resolution of relative paths against the directory of
 * the file itself.
 */
#ifndef MAILLAGE_CONF_H
#define MAILLAGE_CONF_H

#include "cerr.h"

#define CONF_DEFAULT_PORT "7443"
#define CONF_DEFAULT_TIMEOUT 10u
#define CONF_MAX_TIMEOUT 3600u

struct conf {
	char *path;	   /* the file read */
	char *server;	   /* as written: host:port, [v6]:port or host */
	char *host;	   /* without brackets */
	char *port;	   /* decimal */
	char *server_name; /* name checked in the server certificate;
			    * defaults to host */
	char *certificate; /* paths, resolved */
	char *private_key;
	char *ca;
	unsigned timeout; /* seconds, 1..CONF_MAX_TIMEOUT */
};

/*
 * Default configuration path (malloc'd), or NULL when neither
 * XDG_CONFIG_HOME nor a home directory is known.
 */
char *conf_default_path(void);

/*
 * Read and check `path`. 0 and *out on success; on failure -1 with `err`
 * set (kind CERR_CONFIG), or -2 when the file itself cannot be opened.
 */
int conf_load(const char *path, struct conf **out, struct cerr *err);
void conf_free(struct conf *c);

/*
 * Split "host:port", "[v6addr]:port" or "host" into malloc'd host and port
 * (CONF_DEFAULT_PORT when absent). 0, or -1 with a reason in `why`.
 */
int conf_split_server(const char *server, char **host, char **port,
		      const char **why);

#endif
