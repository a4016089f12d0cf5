/*
 * conns: the `connections` scenario (many idle authenticated connections:
 * the server's memory per connection and the time to open them) and the
 * `handshakes` scenario (full handshakes per second, against maillaged or
 * the bare TLS echo server).
 */
#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- connections ---------------------------------------------------- */

static void conns_wait(double seconds)
{
	struct timeval tv = {
		(time_t)seconds,
		(suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};

	event_base_loopexit(bench_base, &tv);
	event_base_dispatch(bench_base);
}

static int conns_lost;

static void conns_on_lost(struct msess *s, const char *why)
{
	(void)s;
	if (conns_lost++ == 0)
		bench_log("connections: a connection was lost: %s", why);
}

int scen_connections(void)
{
	struct opener op;
	struct bench_cpu cpu0, cpu;
	long rss0, rss1;
	double secs;
	int rc;

	if (opts.ncerts == 0)
		bench_die("connections needs --cert");
	rss0 = proc_rss_kib(opts.server_pid);
	cpu_mark(&cpu0);
	opener_init(&op, opts.conns, opts.concurrency, 0);
	op.on_lost = conns_on_lost;
	opener_run(&op);
	cpu_since(&cpu0, &cpu);
	secs = op.t_done > op.t_first ? (double)(op.t_done - op.t_first) / 1e9
				      : 0;
	bench_log("connections: %d open (%d failed) in %.2f s", op.ready,
		  op.failed, secs);
	/* Let the server finish what the opening left (audit rows...). */
	conns_wait(2.0);
	rss1 = proc_rss_kib(opts.server_pid);
	printf("RESULT connections conns=%d ready=%d failed=%d seconds=%.2f "
	       "rate=%.1f",
	       opts.conns, op.ready, op.failed, secs,
	       secs > 0 ? op.ready / secs : 0);
	samples_print(&op.connect_ms, "connect_");
	printf(" rss_before_kib=%ld rss_after_kib=%ld per_conn_kib=%.2f", rss0,
	       rss1,
	       op.ready > 0 && rss0 >= 0 && rss1 >= 0
		       ? (double)(rss1 - rss0) / op.ready
		       : 0);
	cpu_print(&cpu, op.ready);
	if (opts.hold > 0) {
		bench_log("connections: holding them for %.0f s", opts.hold);
		conns_wait(opts.hold);
	}
	printf(" lost=%d error=%s\n", conns_lost, result_word(op.error));
	rc = op.ready > 0 ? 0 : 1;
	opener_free(&op);
	return rc;
}

/* ---- handshakes ------------------------------------------------------- */

enum hs_mode { HS_MAILLAGE = 0, HS_TLS, HS_ECHO };

static struct {
	enum hs_mode mode;
	int inflight, stopping, started;
	uint64_t done, failed;
	int64_t t_end;
	struct bench_samples lat;
	char error[200];
	struct bench_cpu cpu0, cpu;
} hs;

static void hs_start(void);

static void hs_finish(struct bconn *c, int ok, const char *why)
{
	int64_t now = bench_now_ns();

	if (ok) {
		if (now <= hs.t_end) {
			hs.done++;
			samples_add(&hs.lat, (double)(now - c->t_start) / 1e6);
		}
	} else {
		hs.failed++;
		if (hs.error[0] == '\0')
			snprintf(hs.error, sizeof(hs.error), "%s", why);
	}
	hs.inflight--;
	hs_start();
	if (hs.stopping && hs.inflight == 0)
		event_base_loopbreak(bench_base);
}

static void hs_open(struct bconn *c)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Hello h = MAILLAGE__HELLO__INIT;

	switch (hs.mode) {
	case HS_MAILLAGE:
		bconn_hello(c, 1);
		break;
	case HS_TLS:
		/* Refused before any database work: TLS and framing only. */
		h.protocol_version = 99;
		h.client_name = (char *)"maillage-bench/0.1";
		env.request_id = 1;
		env.body_case = MAILLAGE__ENVELOPE__BODY_HELLO;
		env.hello = &h;
		bconn_send(c, &env);
		break;
	case HS_ECHO:
		bconn_write(c, "x", 1);
		break;
	}
}

static void hs_readable(struct bconn *c, struct evbuffer *in)
{
	struct frame_msg *msg = NULL;
	int rc, ok;

	if (hs.mode == HS_ECHO) {
		if (evbuffer_get_length(in) < 1)
			return;
		hs_finish(c, 1, NULL);
		bconn_free(c);
		return;
	}
	rc = bconn_frame(in, &msg);
	if (rc == 0)
		return;
	if (rc < 0) {
		ok = 0;
	} else if (hs.mode == HS_MAILLAGE) {
		ok = msg->env->body_case == MAILLAGE__ENVELOPE__BODY_WELCOME;
	} else {
		ok = msg->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR &&
		     msg->env->error->code ==
			     MAILLAGE__ERROR_CODE__UNSUPPORTED_VERSION;
	}
	hs_finish(c, ok,
		  msg != NULL && msg->env->body_case ==
					  MAILLAGE__ENVELOPE__BODY_ERROR
			  ? msg->env->error->message
			  : "unexpected answer");
	frame_msg_free(msg);
	bconn_free(c);
}

static void hs_closed(struct bconn *c, const char *why)
{
	hs_finish(c, 0, why);
}

static const struct bconn_ops hs_ops = {hs_open, hs_readable, hs_closed};

static void hs_start(void)
{
	while (!hs.stopping && hs.inflight < opts.concurrency) {
		struct bconn *c;

		hs.inflight++;
		c = bconn_new(ctx_round_robin(hs.started), &hs_ops, NULL,
			      hs.started);
		hs.started++;
		if (c == NULL) {
			hs.inflight--;
			hs.failed++;
			if (hs.error[0] == '\0')
				snprintf(hs.error, sizeof(hs.error),
					 "cannot create a connection");
			break;
		}
	}
}

static void hs_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	cpu_since(&hs.cpu0, &hs.cpu);
	hs.stopping = 1;
	if (hs.inflight == 0)
		event_base_loopbreak(bench_base);
}

int scen_handshakes(void)
{
	struct timeval tv = {
		(time_t)opts.duration,
		(suseconds_t)((opts.duration - (double)(time_t)opts.duration) *
			      1e6)};
	struct event *stop;

	if (opts.ncerts == 0)
		bench_die("handshakes needs --cert");
	if (strcmp(opts.mode, "maillage") == 0)
		hs.mode = HS_MAILLAGE;
	else if (strcmp(opts.mode, "tls") == 0)
		hs.mode = HS_TLS;
	else if (strcmp(opts.mode, "echo") == 0)
		hs.mode = HS_ECHO;
	else
		bench_die("--mode is maillage, tls or echo");
	stop = evtimer_new(bench_base, hs_stop, NULL);
	cpu_mark(&hs.cpu0);
	hs.t_end = bench_now_ns() + (int64_t)(opts.duration * 1e9);
	evtimer_add(stop, &tv);
	hs_start();
	event_base_dispatch(bench_base);
	event_free(stop);
	printf("RESULT handshakes mode=%s concurrency=%d seconds=%.2f "
	       "done=%" PRIu64 " failed=%" PRIu64 " rate=%.1f",
	       opts.mode, opts.concurrency, opts.duration, hs.done, hs.failed,
	       opts.duration > 0 ? (double)hs.done / opts.duration : 0);
	samples_print(&hs.lat, "");
	cpu_print(&hs.cpu, (double)hs.done);
	printf(" error=%s\n", result_word(hs.error));
	samples_free(&hs.lat);
	return hs.done > 0 ? 0 : 1;
}
