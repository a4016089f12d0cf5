/*
 * fanout: N subscribers Watch (from now on) with the accounts of --cert
 * (round-robin: their institutions are the streams); once all are
 * watching, one sender (--sender) sends --messages runaway notices
 * addressed to every institution of --to, one every --interval-ms. The
 * latency of one delivery is from the write of NoticeSend to the arrival
 * of the Event naming that notice at one subscriber, on the same clock.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define FAN_REQ_BASE 1000

struct fan_rec {
	int64_t notice_id;
	int64_t t;
};

struct fan_sent {
	int64_t notice_id; /* 0 until NoticeSent */
	int64_t t;	   /* NoticeSend written */
	int k;
};

static struct {
	struct opener subs, sender;
	struct fan_rec *recs;
	size_t nrecs, caprecs;
	struct fan_sent *sent;
	int nsent, nanswered, errors;
	uint64_t event_bytes;
	int lost;
	char first_error[200];
	struct event *tick, *timeout;
	struct bench_cpu cpu0, cpu;
	char run[32];
	char *text;
	int finished;
	struct bench_samples stored; /* NoticeSend -> NoticeSent */
} fo;

static size_t fan_expected(void)
{
	return (size_t)(fo.subs.ready - fo.lost) * (size_t)opts.messages;
}

static void fan_check_done(void)
{
	if (fo.finished || fo.nsent < opts.messages)
		return;
	if (fo.nanswered + fo.errors >= opts.messages &&
	    fo.nrecs >= fan_expected()) {
		fo.finished = 1;
		cpu_since(&fo.cpu0, &fo.cpu);
		event_base_loopbreak(bench_base);
	}
}

static void fan_sub_frame(struct msess *s, const Maillage__Envelope *env)
{
	if (env->body_case != MAILLAGE__ENVELOPE__BODY_EVENT ||
	    strcmp(env->event->what, "notice") != 0)
		return;
	if (fo.nrecs == fo.caprecs) {
		size_t cap = fo.caprecs == 0 ? 65536 : fo.caprecs * 2;
		struct fan_rec *r = realloc(fo.recs, cap * sizeof(*r));
		if (r == NULL)
			bench_die("out of memory for deliveries");
		fo.recs = r;
		fo.caprecs = cap;
	}
	fo.recs[fo.nrecs].notice_id = env->event->notice_id;
	fo.recs[fo.nrecs].t = bench_now_ns();
	fo.nrecs++;
	s->events++;
	fo.event_bytes +=
		maillage__envelope__get_packed_size(env) + FRAME_HEADER_LEN;
	fan_check_done();
}

static void fan_sub_lost(struct msess *s, const char *why)
{
	(void)s;
	fo.lost++;
	if (fo.first_error[0] == '\0')
		snprintf(fo.first_error, sizeof(fo.first_error),
			 "subscriber lost: %s", why);
	fan_check_done();
}

static void fan_sender_frame(struct msess *s, const Maillage__Envelope *env)
{
	uint64_t k = env->request_id - FAN_REQ_BASE;

	(void)s;
	if (env->request_id < FAN_REQ_BASE || k >= (uint64_t)fo.nsent)
		return;
	if (env->body_case == MAILLAGE__ENVELOPE__BODY_NOTICE_SENT) {
		fo.sent[k].notice_id = env->notice_sent->notice_id;
		fo.nanswered++;
		samples_add(&fo.stored,
			    (double)(bench_now_ns() - fo.sent[k].t) / 1e6);
	} else {
		fo.errors++;
		if (fo.first_error[0] == '\0')
			snprintf(fo.first_error, sizeof(fo.first_error),
				 "send: %s",
				 env->body_case ==
						 MAILLAGE__ENVELOPE__BODY_ERROR
					 ? env->error->message
					 : frame_body_name(env));
	}
	fan_check_done();
}

static void fan_send(int k)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__NoticeSend n = MAILLAGE__NOTICE_SEND__INIT;
	Maillage__Identity id = MAILLAGE__IDENTITY__INIT;
	char key[96], family[48];

	snprintf(key, sizeof(key), "fanout-%s-%d", fo.run, k);
	snprintf(family, sizeof(family), "Fugue%d", k);
	id.given_name = (char *)"Bench";
	id.family_name = family;
	id.declared_age = 15;
	id.sex = (char *)"M";
	id.place_seen = (char *)"Porte de la Chapelle";
	n.idempotency_key = key;
	n.kind = opts.kind;
	n.urgency = (char *)"urgent";
	n.n_to = (size_t)opts.nto;
	n.to = opts.to;
	n.identity = &id;
	n.text = fo.text;
	env.request_id = FAN_REQ_BASE + (uint64_t)k;
	env.body_case = MAILLAGE__ENVELOPE__BODY_NOTICE_SEND;
	env.notice_send = &n;
	fo.sent[k].k = k;
	fo.sent[k].t = bench_now_ns();
	msess_send(&fo.sender.sess[0], &env);
}

static void fan_tick(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = {opts.interval_ms / 1000,
			     (opts.interval_ms % 1000) * 1000};
	struct timeval late = {15, 0};

	(void)fd;
	(void)what;
	(void)arg;
	if (fo.nsent == 0)
		cpu_mark(&fo.cpu0);
	fan_send(fo.nsent++);
	if (fo.nsent < opts.messages)
		evtimer_add(fo.tick, &tv);
	else
		evtimer_add(fo.timeout, &late);
}

static void fan_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	bench_log("fanout: %zu of %zu deliveries after 15 s; giving up",
		  fo.nrecs, fan_expected());
	if (!fo.finished) {
		fo.finished = 1;
		cpu_since(&fo.cpu0, &fo.cpu);
	}
	event_base_loopbreak(bench_base);
}

static int fan_cmp_sent(const void *a, const void *b)
{
	int64_t x = ((const struct fan_sent *)a)->notice_id;
	int64_t y = ((const struct fan_sent *)b)->notice_id;

	return x < y ? -1 : x > y;
}

int scen_fanout(void)
{
	struct bench_samples lat = {0};
	struct timeval now = {0, 0};
	struct fan_sent *by_id;
	double *first, *last, ms;
	size_t i, matched = 0;
	int k;

	if (opts.ncerts == 0 || !opts.has_sender || opts.nto == 0)
		bench_die("fanout needs --cert, --sender and --to");
	if (opts.kind[0] == '\0')
		snprintf(opts.kind, sizeof(opts.kind), "runaway");
	snprintf(fo.run, sizeof(fo.run), "%d-%" PRId64, (int)getpid(),
		 bench_now_ns() / 1000000);
	fo.text = calloc(1, (size_t)opts.text_bytes + 1);
	fo.sent = calloc((size_t)opts.messages, sizeof(*fo.sent));
	if (fo.text == NULL || fo.sent == NULL)
		bench_die("out of memory");
	memset(fo.text, 'r', (size_t)opts.text_bytes);

	opener_init(&fo.subs, opts.subs, opts.concurrency, 1);
	fo.subs.on_frame = fan_sub_frame;
	fo.subs.on_lost = fan_sub_lost;
	opener_run(&fo.subs);
	bench_log("fanout: %d subscribers watching (%d failed) in %.2f s",
		  fo.subs.ready, fo.subs.failed,
		  (double)(fo.subs.t_done - fo.subs.t_first) / 1e9);
	opener_init(&fo.sender, 1, 1, 0);
	fo.sender.ctx_for = ctx_sender;
	fo.sender.on_frame = fan_sender_frame;
	opener_run(&fo.sender);
	if (fo.subs.ready == 0 || fo.sender.ready == 0) {
		printf("RESULT fanout subs=%d ready=%d failed=%d error=%s\n",
		       opts.subs, fo.subs.ready, fo.subs.failed,
		       result_word(fo.subs.error[0] != '\0' ? fo.subs.error
							    : fo.sender.error));
		return 1;
	}

	fo.tick = evtimer_new(bench_base, fan_tick, NULL);
	fo.timeout = evtimer_new(bench_base, fan_timeout, NULL);
	evtimer_add(fo.tick, &now);
	event_base_dispatch(bench_base);
	event_free(fo.tick);
	event_free(fo.timeout);
	opener_close_all(&fo.subs);
	opener_close_all(&fo.sender);

	first = malloc((size_t)opts.messages * sizeof(*first));
	last = malloc((size_t)opts.messages * sizeof(*last));
	if (first == NULL || last == NULL)
		bench_die("out of memory");
	for (k = 0; k < opts.messages; k++)
		first[k] = last[k] = -1;
	by_id = fo.sent;
	qsort(by_id, (size_t)fo.nsent, sizeof(*by_id), fan_cmp_sent);
	for (i = 0; i < fo.nrecs; i++) {
		struct fan_sent key = {fo.recs[i].notice_id, 0, 0}, *hit;

		hit = bsearch(&key, by_id, (size_t)fo.nsent, sizeof(*by_id),
			      fan_cmp_sent);
		if (hit == NULL || hit->notice_id == 0)
			continue;
		matched++;
		ms = (double)(fo.recs[i].t - hit->t) / 1e6;
		samples_add(&lat, ms);
		if (first[hit->k] < 0 || ms < first[hit->k])
			first[hit->k] = ms;
		if (ms > last[hit->k])
			last[hit->k] = ms;
	}
	printf("RESULT fanout subs=%d ready=%d failed=%d lost=%d messages=%d "
	       "answered=%d errors=%d delivered=%zu expected=%zu "
	       "event_bytes=%.0f",
	       opts.subs, fo.subs.ready, fo.subs.failed, fo.lost, fo.nsent,
	       fo.nanswered, fo.errors, matched, fan_expected(),
	       fo.nrecs > 0 ? (double)fo.event_bytes / (double)fo.nrecs : 0);
	samples_print(&lat, "");
	spread_print(first, last, fo.nsent);
	free(first);
	free(last);
	printf(" stored_p50_ms=%.3f stored_max_ms=%.3f connect_s=%.2f",
	       samples_quantile(&fo.stored, 0.5), samples_max(&fo.stored),
	       (double)(fo.subs.t_done - fo.subs.t_first) / 1e9);
	cpu_print(&fo.cpu, (double)matched);
	printf(" error=%s\n", result_word(fo.first_error));
	samples_free(&lat);
	samples_free(&fo.stored);
	opener_free(&fo.subs);
	opener_free(&fo.sender);
	free(fo.recs);
	free(fo.sent);
	free(fo.text);
	return matched > 0 ? 0 : 1;
}
