/*
 * migrate: ordered, checksummed SQL migrations; see migrate.h.
 */
#include "migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_MAX_FILE (16L * 1024 * 1024)
#define MIGRATE_LOCK_KEY "7172010461"

static const char migrate_table_sql[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version text PRIMARY KEY,"
	" name text NOT NULL,"
	" sha256 text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now())";

/* A migration file name: three or more digits, '_', a name, ".sql". */
static int migrate_is_name(const char *name)
{
	size_t n = strlen(name), digits = 0;

	while (isdigit((unsigned char)name[digits]))
		digits++;
	return digits >= 3 && name[digits] == '_' && n > digits + 5 &&
	       strcmp(name + n - 4, ".sql") == 0;
}

static int migrate_filter(const struct dirent *d)
{
	return migrate_is_name(d->d_name);
}

static char *migrate_read(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    n > MIGRATE_MAX_FILE || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)n + 1);
	if (buf == NULL)
		goto out;
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = n;
out:
	fclose(f);
	return buf;
}

static void migrate_sha256(const char *data, long len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	EVP_Digest(data, (size_t)len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static int migrate_exec(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
		 PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "maillaged: migrate: %s", PQerrorMessage(pg));
	PQclear(res);
	return ok ? 0 : -1;
}

/* 1 if applied with the same checksum, 0 if not applied, -1 on error. */
static int migrate_check_applied(PGconn *pg, const char *version,
				 const char *file, const char *sha)
{
	const char *params[1] = {version};
	PGresult *res = PQexecParams(
		pg,
		"SELECT name, sha256 FROM schema_migrations WHERE version = $1",
		1, NULL, params, NULL, NULL, 0);
	int rc;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "maillaged: migrate: %s", PQerrorMessage(pg));
		rc = -1;
	} else if (PQntuples(res) == 0) {
		rc = 0;
	} else if (strcmp(PQgetvalue(res, 0, 1), sha) != 0) {
		fprintf(stderr,
			"maillaged: migrate: %s was changed after it was "
			"applied (recorded sha256 %s, file has %s); refusing "
			"to continue\n",
			file, PQgetvalue(res, 0, 1), sha);
		rc = -1;
	} else {
		rc = 1;
	}
	PQclear(res);
	return rc;
}

static int migrate_apply(PGconn *pg, const char *version, const char *file,
			 const char *sql, const char *sha)
{
	const char *params[3] = {version, file, sha};
	PGresult *res;

	if (migrate_exec(pg, "BEGIN") != 0)
		return -1;
	if (migrate_exec(pg, sql) != 0) {
		fprintf(stderr, "maillaged: migrate: %s failed; rolled back\n",
			file);
		(void)migrate_exec(pg, "ROLLBACK");
		return -1;
	}
	res = PQexecParams(
		pg,
		"INSERT INTO schema_migrations (version, name, sha256)"
		" VALUES ($1, $2, $3)",
		3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "maillaged: migrate: %s", PQerrorMessage(pg));
		PQclear(res);
		(void)migrate_exec(pg, "ROLLBACK");
		return -1;
	}
	PQclear(res);
	return migrate_exec(pg, "COMMIT");
}

/* Check one file and apply it if pending. 0 ok, -1 error. */
static int migrate_one(PGconn *pg, const char *dir, const char *file,
		       int dry_run, int *applied)
{
	char path[CONFIG_PATH_MAX + 256], version[32], sha[65];
	size_t digits = strspn(file, "0123456789");
	char *sql;
	long len = 0;
	int rc;

	if (digits >= sizeof(version))
		return -1;
	memcpy(version, file, digits);
	version[digits] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	sql = migrate_read(path, &len);
	if (sql == NULL) {
		fprintf(stderr, "maillaged: migrate: cannot read %s: %s\n",
			path, errno ? strerror(errno) : "too large");
		return -1;
	}
	migrate_sha256(sql, len, sha);
	rc = migrate_check_applied(pg, version, file, sha);
	if (rc == 0 && dry_run) {
		printf("pending %s\n", file);
	} else if (rc == 0) {
		rc = migrate_apply(pg, version, file, sql, sha);
		if (rc == 0) {
			printf("applied %s\n", file);
			(*applied)++;
		}
	}
	free(sql);
	return rc < 0 ? -1 : 0;
}

int migrate_run(const struct config *cfg, int dry_run)
{
	struct dirent **list = NULL;
	PGconn *pg;
	int n, i, rc = 0, applied = 0;

	n = scandir(cfg->migrations_dir, &list, migrate_filter, alphasort);
	if (n < 0) {
		fprintf(stderr, "maillaged: migrate: cannot list %s: %s\n",
			cfg->migrations_dir, strerror(errno));
		return 1;
	}
	pg = PQconnectdb(cfg->db_conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "maillaged: migrate: cannot connect: %s",
			PQerrorMessage(pg));
		rc = 1;
		goto out;
	}
	/* a migration may build an index on a large table: no timeout */
	if (migrate_exec(pg, "SET client_min_messages = warning") != 0 ||
	    migrate_exec(pg, "SET statement_timeout = 0") != 0 ||
	    migrate_exec(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")") !=
		    0 ||
	    migrate_exec(pg, migrate_table_sql) != 0) {
		rc = 1;
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (i > 0 &&
		    strspn(list[i]->d_name, "0123456789") ==
			    strspn(list[i - 1]->d_name, "0123456789") &&
		    strncmp(list[i]->d_name, list[i - 1]->d_name,
			    strspn(list[i]->d_name, "0123456789")) == 0) {
			fprintf(stderr,
				"maillaged: migrate: %s and %s share a "
				"version number\n",
				list[i - 1]->d_name, list[i]->d_name);
			rc = 1;
			break;
		}
		if (migrate_one(pg, cfg->migrations_dir, list[i]->d_name,
				dry_run, &applied) != 0)
			rc = 1;
	}
	if (rc == 0 && applied == 0 && !dry_run)
		printf("schema up to date (%d migrations)\n", n);
out:
	PQfinish(pg);
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return rc;
}
