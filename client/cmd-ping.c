/*
 * cmd-ping: `maillage ping [--count N]`, a round trip to the server and to
 * its database, with the round-trip time measured by the client.
 */
#include "cmd.h"
#include "output.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD_PING_MAX_COUNT 10000u
#define CMD_PING_PAYLOAD 16

static const struct cmd_option cmd_ping_options[] = {
	{"count", 'c', "N", N_("number of pings, 1 to 10000 (default 1)")},
	{NULL, 0, NULL, NULL},
};

static int64_t cmd_ping_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmd_ping_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	unsigned count;

	(void)argc;
	(void)argv;
	if (cmd_opt_uint(ctx, "count", 1, 1, CMD_PING_MAX_COUNT, &count) != 0)
		return MAILLAGE_EXIT_USAGE;
	return MAILLAGE_EXIT_OK;
}

static int cmd_ping_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const Maillage__Welcome *w = net_welcome(ctx->conn);
	double rtt = 0, min = 0, max = 0, sum = 0;
	char server[256], instance[256], when[OUTPUT_TIME_MAX];
	int database_ok = 1;
	unsigned count, i;
	struct cerr err;

	(void)argc;
	(void)argv;
	if (cmd_opt_uint(ctx, "count", 1, 1, CMD_PING_MAX_COUNT, &count) != 0)
		return MAILLAGE_EXIT_USAGE;
	output_clean(server, sizeof(server), w->server_name);
	output_clean(instance, sizeof(instance), w->instance_id);
	when[0] = '\0';

	for (i = 0; i < count; i++) {
		Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
		Maillage__Ping ping = MAILLAGE__PING__INIT;
		const Maillage__Pong *pong;
		struct frame_msg *resp = NULL;
		uint8_t payload[CMD_PING_PAYLOAD];
		int64_t t0, t1;
		unsigned j;

		memcpy(payload, "maillage", 8);
		for (j = 0; j < 8; j++)
			payload[8 + j] = (uint8_t)((uint64_t)i >> (56 - 8 * j));
		ping.payload.data = payload;
		ping.payload.len = sizeof(payload);
		req.body_case = MAILLAGE__ENVELOPE__BODY_PING;
		req.ping = &ping;

		t0 = cmd_ping_now_us();
		if (net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_PONG,
			     &resp, &err) != 0)
			return cmd_fail(ctx, &err);
		t1 = cmd_ping_now_us();
		pong = resp->env->pong;
		if (pong->payload.len != sizeof(payload) ||
		    memcmp(pong->payload.data, payload, sizeof(payload)) != 0) {
			frame_msg_free(resp);
			cerr_set(&err, CERR_PROTOCOL,
				 _("the server's pong does not echo the ping"));
			return cmd_fail(ctx, &err);
		}
		rtt = (double)(t1 - t0) / 1000.0;
		if (i == 0 || rtt < min)
			min = rtt;
		if (i == 0 || rtt > max)
			max = rtt;
		sum += rtt;
		if (!pong->database_ok)
			database_ok = 0;
		output_time_ms(when, pong->server_time_ms);
		if (!ctx->json) {
			printf(_("pong from %s"), server);
			if (instance[0] != '\0')
				printf(_(" (instance %s)"), instance);
			printf(_(": %.2f ms, database %s\n"), rtt,
			       pong->database_ok ? _("ok") : _("unavailable"));
			if (output_flush() != MAILLAGE_EXIT_OK ||
			    output_closed()) {
				frame_msg_free(resp);
				return output_flush();
			}
		}
		frame_msg_free(resp);
	}
	if (ctx->json) {
		json_t *doc = json_pack(
			"{s:o, s:o, s:f, s:b, s:o, s:I, s:f, s:f, s:f}",
			"server", output_jstr(w->server_name), "instance",
			output_jstr(w->instance_id), "rtt_ms", rtt,
			"database_ok", database_ok, "server_time",
			output_jtime(when), "count", (json_int_t)count,
			"rtt_min_ms", min, "rtt_avg_ms", sum / count,
			"rtt_max_ms", max);

		return output_json(doc);
	} else if (count > 1) {
		printf(_("%u pings: min/avg/max = %.3f/%.3f/%.3f ms\n"), count,
		       min, sum / count, max);
	}
	return MAILLAGE_EXIT_OK;
}

const struct cmd_entry cmd_ping_entry = {
	.name = "ping",
	.alias = NULL,
	.usage = "[--count N]",
	.summary = N_("Check that the server and its database answer"),
	.help = N_(
		"Sends a ping through an authenticated connection; the "
		"server echoes it\n"
		"after a round trip to its database (the ping is audited "
		"like any\n"
		"request). Shows the server's name and instance and the "
		"round-trip time\n"
		"seen by the client. With --count N, sends N pings one after "
		"the other\n"
		"and ends with the minimum, average and maximum times.\n"
		"\n"
		"In JSON, rtt_ms and server_time are those of the last ping, "
		"database_ok\n"
		"is true when every ping saw the database, and rtt_min_ms, "
		"rtt_avg_ms,\n"
		"rtt_max_ms sum up the N pings.\n"
		"\n"
		"Example:\n"
		"  $ maillage ping\n"
		"  pong from maillaged/0.1.0 (instance demo-1): 0.84 ms, "
		"database ok\n"
		"  $ maillage --json ping --count 10\n"),
	.exec = cmd_ping_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_ping_check,
	.options = cmd_ping_options,
	.min_args = 0,
	.max_args = 0,
};
