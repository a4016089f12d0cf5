/*
 * fuzz_config: the daemon's configuration parser (config_load_string, the
 * inih callback, every option type's parser) and config_validate. The input
 * is the text of a maillaged.conf (cut at its first NUL byte, as a C string
 * would be). On success every string option must be NUL-terminated inside
 * its buffer and every number within the bounds the option table declares;
 * on failure the error message must be set.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
				"fuzz_config: %s:%d: check failed: %s\n",      \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#define FUZZ_TERMINATED(field) FUZZ_CHECK(memchr(field, '\0', sizeof(field)))
#define FUZZ_RANGE(v, lo, hi) FUZZ_CHECK((v) >= (lo) && (v) <= (hi))

static void fuzz_check_config(const struct config *c)
{
	FUZZ_TERMINATED(c->listen_host);
	FUZZ_TERMINATED(c->instance_id);
	FUZZ_TERMINATED(c->pidfile);
	FUZZ_TERMINATED(c->tls_certificate);
	FUZZ_TERMINATED(c->tls_private_key);
	FUZZ_TERMINATED(c->tls_ca);
	FUZZ_TERMINATED(c->tls_crl);
	FUZZ_TERMINATED(c->db_conninfo);
	FUZZ_TERMINATED(c->migrations_dir);
	FUZZ_CHECK(c->listen_host[0] != '\0');
	FUZZ_CHECK(c->listen_port != 0);
	FUZZ_RANGE(c->max_frame, 1024u, FRAME_ABSOLUTE_MAX);
	FUZZ_RANGE(c->max_connections, 1u, 1000000u);
	FUZZ_RANGE(c->handshake_timeout, 1u, 3600u);
	FUZZ_RANGE(c->idle_timeout, 1u, 86400u);
	FUZZ_RANGE(c->output_limit, 65536u, 1024u * 1024u * 1024u);
	FUZZ_CHECK(c->drain_timeout <= 3600u);
	FUZZ_CHECK(c->send_buffer <= 64u * 1024u * 1024u);
	FUZZ_RANGE((int)c->log_level, (int)CONFIG_LOG_DEBUG,
		   (int)CONFIG_LOG_ERROR);
	FUZZ_CHECK(c->tls_min_version == 12 || c->tls_min_version == 13);
	FUZZ_RANGE(c->db_pool_size, 1u, 64u);
	FUZZ_RANGE(c->db_connect_timeout, 1u, 600u);
	FUZZ_RANGE(c->db_query_timeout, 1u, 3600u);
	FUZZ_RANGE(c->notice_text_max, 256u, 1024u * 1024u);
	FUZZ_RANGE(c->notice_recipients_max, 1u, 256u);
	FUZZ_RANGE(c->notice_indicators_max, 1u, 256u);
	FUZZ_RANGE(c->list_limit_max, 10u, 100000u);
	FUZZ_RANGE(c->events_poll_ms, 50u, 60000u);
	FUZZ_RANGE(c->deadline_check_ms, 50u, 600000u);
	FUZZ_CHECK(config_log_level_name(c->log_level) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly size + 1 bytes, so that a sanitizer sees any overread. */
	char *text = malloc(size + 1);
	struct config *cfg = malloc(sizeof(*cfg));
	char err[CONFIG_ERR_MAX];
	static const char *const bases[] = {"/etc/maillage", "", NULL};
	size_t i;

	if (text == NULL || cfg == NULL) {
		free(text);
		free(cfg);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	/* The base directory changes how relative paths are resolved. */
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		err[0] = '\0';
		if (config_load_string(text, bases[i], cfg, err, sizeof(err)) ==
		    0) {
			fuzz_check_config(cfg);
			err[0] = '\0';
			if (config_validate(cfg, err, sizeof(err)) != 0)
				FUZZ_CHECK(err[0] != '\0');
		} else {
			FUZZ_CHECK(err[0] != '\0');
			FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		}
	}
	free(text);
	free(cfg);
	return 0;
}
