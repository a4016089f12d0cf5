/*
 * fuzz_client_conf: the client's configuration file parser (conf_load, its
 * inih reader and handler, path resolution) and conf_split_server. The
 * input is the file's content, written to an in-memory file that conf_load
 * opens as /proc/self/fd/N; its first line (cut at CR, LF or NUL) is also
 * given to conf_split_server. A loaded configuration must have every
 * required key, a host, a decimal port from 1 to 65535 and a timeout in
 * bounds; a refused one must carry a message.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
				"fuzz_client_conf: %s:%d: check failed: %s\n", \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

static int fuzz_fd = -1;
static char fuzz_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* `~/` in a path resolves against HOME. */
	setenv("HOME", "/home/fuzz", 1);
	fuzz_fd = memfd_create("client.conf", 0);
	if (fuzz_fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
	return 0;
}

static void fuzz_port(const char *port)
{
	size_t i, len = strlen(port);
	unsigned long v;

	FUZZ_CHECK(len >= 1 && len <= 5);
	for (i = 0; i < len; i++)
		FUZZ_CHECK(port[i] >= '0' && port[i] <= '9');
	v = strtoul(port, NULL, 10);
	FUZZ_CHECK(v >= 1 && v <= 65535);
}

static void fuzz_split(const uint8_t *data, size_t size)
{
	size_t n = 0;
	char *line, *host = NULL, *port = NULL;
	const char *why = NULL;

	while (n < size && data[n] != '\n' && data[n] != '\r' && data[n] != 0)
		n++;
	line = malloc(n + 1);
	if (line == NULL)
		return;
	memcpy(line, data, n);
	line[n] = '\0';
	if (conf_split_server(line, &host, &port, &why) == 0) {
		FUZZ_CHECK(host != NULL && host[0] != '\0');
		FUZZ_CHECK(strlen(host) <= n);
		fuzz_port(port);
	} else {
		FUZZ_CHECK(host == NULL && port == NULL && why != NULL);
	}
	free(host);
	free(port);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL;
	struct cerr err;
	int rc;

	if (fuzz_fd < 0)
		LLVMFuzzerInitialize(NULL, NULL);
	fuzz_split(data, size);

	if (ftruncate(fuzz_fd, 0) != 0 || lseek(fuzz_fd, 0, SEEK_SET) != 0 ||
	    (size > 0 && write(fuzz_fd, data, size) != (ssize_t)size)) {
		perror("memfd");
		abort();
	}
	memset(&err, 0, sizeof(err));
	rc = conf_load(fuzz_path, &c, &err);
	if (rc == 0) {
		FUZZ_CHECK(c != NULL && err.kind == CERR_NONE);
		FUZZ_CHECK(c->server != NULL && c->host != NULL &&
			   c->port != NULL && c->server_name != NULL);
		FUZZ_CHECK(c->certificate != NULL && c->private_key != NULL &&
			   c->ca != NULL);
		FUZZ_CHECK(c->host[0] != '\0');
		fuzz_port(c->port);
		FUZZ_CHECK(c->timeout >= 1 && c->timeout <= CONF_MAX_TIMEOUT);
		conf_free(c);
	} else {
		FUZZ_CHECK(rc == -1 && c == NULL);
		FUZZ_CHECK(err.kind != CERR_NONE && err.message[0] != '\0');
		FUZZ_CHECK(memchr(err.message, '\0', sizeof(err.message)));
	}
	return 0;
}
