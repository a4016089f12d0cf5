/*
 * conf: client configuration (inih); see conf.h for what this module owns.
 * Every key of [client] is one row of conf_keys; adding a key is adding a
 * row and a field.
 */
#include "conf.h"

#include "i18n.h"

#include <errno.h>
#include <ini.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum conf_type {
	CONF_STRING, /* copied */
	CONF_PATH,   /* relative paths resolved against the file's dir */
	CONF_SERVER, /* host:port */
	CONF_SECONDS /* 1..CONF_MAX_TIMEOUT */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset; /* of the char * (or unsigned) in struct conf */
	int required;
};

static const struct conf_key conf_keys[] = {
	{"server", CONF_SERVER, offsetof(struct conf, server), 1},
	{"server_name", CONF_STRING, offsetof(struct conf, server_name), 0},
	{"certificate", CONF_PATH, offsetof(struct conf, certificate), 1},
	{"private_key", CONF_PATH, offsetof(struct conf, private_key), 1},
	{"ca", CONF_PATH, offsetof(struct conf, ca), 1},
	{"timeout", CONF_SECONDS, offsetof(struct conf, timeout), 0},
};
#define CONF_NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

struct conf_parse {
	struct conf *conf;
	FILE *fp;
	const char *dir; /* directory of the file, "" for the cwd */
	int lineno;	 /* line being parsed */
	int seen[CONF_NKEYS];
	int error_line; /* first error found by us, 0 if none */
	struct cerr *err;
};

char *conf_default_path(void)
{
	const char *base = getenv("XDG_CONFIG_HOME");
	const char *suffix = "/maillage/client.conf";
	const char *home;
	char *path;
	size_t n;

	if (base == NULL || base[0] != '/') {
		/* The XDG spec ignores relative values. */
		base = NULL;
		home = getenv("HOME");
		if (home == NULL || home[0] == '\0') {
			struct passwd *pw = getpwuid(getuid());

			home = pw != NULL ? pw->pw_dir : NULL;
		}
		if (home == NULL || home[0] == '\0')
			return NULL;
		suffix = "/.config/maillage/client.conf";
		base = home;
	}
	n = strlen(base) + strlen(suffix) + 1;
	path = malloc(n);
	if (path != NULL)
		snprintf(path, n, "%s%s", base, suffix);
	return path;
}

static void conf_error(struct conf_parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void conf_error(struct conf_parse *p, const char *fmt, ...)
{
	char what[CERR_MESSAGE_MAX];
	va_list ap;

	if (p->error_line != 0)
		return; /* keep the first */
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	p->error_line = p->lineno > 0 ? p->lineno : 1;
	cerr_set(p->err, CERR_CONFIG, "%s:%d: %s", p->conf->path, p->error_line,
		 what);
}

int conf_split_server(const char *server, char **host, char **port,
		      const char **why)
{
	const char *h, *hend, *p = NULL;
	size_t i;

	*host = *port = NULL;
	if (server[0] == '[') {
		h = server + 1;
		hend = strchr(h, ']');
		if (hend == NULL) {
			*why = _("missing ']' after an IPv6 address");
			return -1;
		}
		if (hend[1] == ':')
			p = hend + 2;
		else if (hend[1] != '\0') {
			*why = _("expected ':PORT' after ']'");
			return -1;
		}
	} else {
		h = server;
		hend = strchr(server, ':');
		if (hend != NULL) {
			if (strchr(hend + 1, ':') != NULL) {
				*why = _("write an IPv6 address as "
					 "[ADDRESS]:PORT");
				return -1;
			}
			p = hend + 1;
		} else {
			hend = server + strlen(server);
		}
	}
	if (hend == h) {
		*why = _("empty host");
		return -1;
	}
	if (p != NULL) {
		unsigned long v;

		if (p[0] == '\0' || strlen(p) > 5) {
			*why = _("the port must be a number from 1 to 65535");
			return -1;
		}
		for (i = 0; p[i] != '\0'; i++) {
			if (p[i] < '0' || p[i] > '9') {
				*why = _("the port must be a number from 1 to "
					 "65535");
				return -1;
			}
		}
		v = strtoul(p, NULL, 10);
		if (v < 1 || v > 65535) {
			*why = _("the port must be a number from 1 to 65535");
			return -1;
		}
	}
	*host = strndup(h, (size_t)(hend - h));
	*port = strdup(p != NULL ? p : CONF_DEFAULT_PORT);
	if (*host == NULL || *port == NULL) {
		free(*host);
		free(*port);
		*host = *port = NULL;
		*why = _("out of memory");
		return -1;
	}
	return 0;
}

/* Resolve `value` against the config file's directory; malloc'd. */
static char *conf_resolve(const struct conf_parse *p, const char *value)
{
	char *out;
	size_t n;

	if (value[0] == '/')
		return strdup(value);
	if (value[0] == '~' && value[1] == '/') {
		const char *home = getenv("HOME");

		if (home != NULL && home[0] == '/') {
			n = strlen(home) + strlen(value);
			out = malloc(n);
			if (out != NULL)
				snprintf(out, n, "%s%s", home, value + 1);
			return out;
		}
	}
	if (p->dir[0] == '\0')
		return strdup(value);
	n = strlen(p->dir) + 1 + strlen(value) + 1;
	out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s/%s", p->dir, value);
	return out;
}

static int conf_set(struct conf_parse *p, const struct conf_key *k,
		    const char *value)
{
	char **sp = (char **)((char *)p->conf + k->offset);
	char *copy = NULL;

	switch (k->type) {
	case CONF_SECONDS: {
		unsigned *up = (unsigned *)((char *)p->conf + k->offset);
		unsigned long v;
		char *end;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (value[0] < '0' || value[0] > '9' || *end != '\0' ||
		    errno != 0 || v < 1 || v > CONF_MAX_TIMEOUT) {
			conf_error(p,
				   _("invalid %s '%s' (expected a number of "
				     "seconds from 1 to %u)"),
				   k->name, value, CONF_MAX_TIMEOUT);
			return 0;
		}
		*up = (unsigned)v;
		return 1;
	}
	case CONF_SERVER: {
		const char *why = NULL;

		if (conf_split_server(value, &p->conf->host, &p->conf->port,
				      &why) != 0) {
			conf_error(p, _("invalid server '%s': %s"), value, why);
			return 0;
		}
		copy = strdup(value);
		break;
	}
	case CONF_PATH:
		copy = conf_resolve(p, value);
		break;
	case CONF_STRING:
		copy = strdup(value);
		break;
	}
	if (copy == NULL) {
		conf_error(p, _("out of memory"));
		return 0;
	}
	*sp = copy;
	return 1;
}

static int conf_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct conf_parse *p = user;
	size_t i;

	if (strcmp(section, "client") != 0) {
		if (section[0] == '\0')
			conf_error(p,
				   _("key '%s' outside of a section (put it "
				     "under [client])"),
				   name);
		else
			conf_error(
				p,
				_("unknown section [%s] (expected [client])"),
				section);
		return 0;
	}
	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			break;
	if (i == CONF_NKEYS) {
		conf_error(p, _("unknown key '%s' in section [client]"), name);
		return 0;
	}
	if (p->seen[i]) {
		conf_error(p, _("duplicate key '%s' in section [client]"),
			   name);
		return 0;
	}
	p->seen[i] = 1;
	if (value[0] == '\0') {
		conf_error(p, _("empty value for '%s'"), name);
		return 0;
	}
	return conf_set(p, &conf_keys[i], value);
}

/* inih reader: counts lines so that our messages carry the right one. */
static char *conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;

	if (fgets(str, num, p->fp) == NULL)
		return NULL;
	p->lineno++;
	if (strchr(str, '\n') == NULL && !feof(p->fp)) {
		conf_error(p, _("line too long (at most %d characters)"),
			   num - 2);
		return NULL;
	}
	return str;
}

void conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->server);
	free(c->host);
	free(c->port);
	free(c->server_name);
	free(c->certificate);
	free(c->private_key);
	free(c->ca);
	free(c);
}

int conf_load(const char *path, struct conf **out, struct cerr *err)
{
	struct conf_parse p;
	struct conf *c;
	char *dir = NULL, *slash;
	int rc;
	size_t i;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(path)) == NULL ||
	    (dir = strdup(path)) == NULL) {
		cerr_set(err, CERR_LOCAL, _("out of memory"));
		free(dir);
		conf_free(c);
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL)
		dir[0] = '\0';
	else if (slash == dir)
		dir[1] = '\0'; /* "/client.conf": keep "/" */
	else
		*slash = '\0';
	p.conf = c;
	p.dir = dir;
	p.err = err;
	c->timeout = CONF_DEFAULT_TIMEOUT;

	p.fp = fopen(path, "r");
	if (p.fp == NULL) {
		cerr_set(err, CERR_CONFIG,
			 _("cannot open configuration file %s: %s"), path,
			 strerror(errno));
		free(dir);
		conf_free(c);
		return -2;
	}
	err->kind = CERR_NONE;
	rc = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	if (ferror(p.fp) && p.error_line == 0)
		cerr_set(err, CERR_CONFIG, _("cannot read %s: %s"), path,
			 strerror(errno));
	else if (rc > 0 && (p.error_line == 0 || rc < p.error_line))
		/* inih found a malformed line before any error of ours */
		cerr_set(err, CERR_CONFIG,
			 _("%s:%d: syntax error (expected [section] or "
			   "key = value)"),
			 path, rc);
	else if (rc == -2 && p.error_line == 0)
		cerr_set(err, CERR_LOCAL, _("out of memory"));
	fclose(p.fp);
	free(dir);
	if (err->kind != CERR_NONE) {
		conf_free(c);
		return -1;
	}
	for (i = 0; i < CONF_NKEYS; i++) {
		if (conf_keys[i].required && !p.seen[i]) {
			cerr_set(err, CERR_CONFIG,
				 _("%s: missing key '%s' in section [client]"),
				 path, conf_keys[i].name);
			conf_free(c);
			return -1;
		}
	}
	if (c->server_name == NULL &&
	    (c->server_name = strdup(c->host)) == NULL) {
		cerr_set(err, CERR_LOCAL, _("out of memory"));
		conf_free(c);
		return -1;
	}
	*out = c;
	return 0;
}
