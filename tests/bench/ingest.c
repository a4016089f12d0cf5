/*
 * ingest: N clients, each on its own connection, send notices one after the
 * other, the next as soon as NoticeSent (the daemon's "stored", after
 * commit) comes back. Throughput counts the notices stored inside the
 * measurement window; latency is from the write of NoticeSend to the
 * arrival of NoticeSent.
 *
 * Every notice is about a new young person (an identity, no person id), so
 * that each one stores what a first referral stores: person, case, notice,
 * recipient, parties, identity, timeline, event and audit rows. Client i
 * sends to --to[i % n], with certificate --cert[i % n].
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static struct {
	struct opener op;
	int64_t t_measure, t_end;
	int measuring, stopping;
	uint64_t stored, outstanding, errors;
	char first_error[200];
	struct bench_samples lat;
	struct bench_cpu cpu0, cpu;
	char *text;
	char run[32];
	struct event *tick;
} in;

static void ingest_send(struct msess *s)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__NoticeSend n = MAILLAGE__NOTICE_SEND__INIT;
	Maillage__Identity id = MAILLAGE__IDENTITY__INIT;
	char key[96], family[48];
	char *to[1], *langs[1] = {(char *)"fr"};

	snprintf(key, sizeof(key), "bench-%s-%d-%" PRIu64, in.run, s->index,
		 s->sent);
	snprintf(family, sizeof(family), "Client%d-%" PRIu64, s->index,
		 s->sent);
	id.given_name = (char *)"Bench";
	id.family_name = family;
	id.birth_date = (char *)"2010-05";
	id.sex = (char *)"F";
	id.nationality = (char *)"FR";
	id.n_languages = 1;
	id.languages = langs;
	id.place_seen = (char *)"Gare du Nord";
	to[0] = opts.to[s->index % opts.nto];
	n.idempotency_key = key;
	n.kind = opts.kind;
	n.n_to = 1;
	n.to = to;
	n.identity = &id;
	n.text = in.text;
	env.request_id = s->next_request++;
	env.body_case = MAILLAGE__ENVELOPE__BODY_NOTICE_SEND;
	env.notice_send = &n;
	s->sent++;
	s->t_sent = bench_now_ns();
	in.outstanding++;
	msess_send(s, &env);
}

static void ingest_maybe_done(void)
{
	if (in.stopping && in.outstanding == 0)
		event_base_loopbreak(bench_base);
}

static void ingest_frame(struct msess *s, const Maillage__Envelope *env)
{
	int64_t now = bench_now_ns();

	if (env->request_id == 0)
		return; /* an event: not ours */
	s->done++;
	in.outstanding--;
	if (env->body_case == MAILLAGE__ENVELOPE__BODY_NOTICE_SENT) {
		if (in.measuring && now <= in.t_end) {
			in.stored++;
			samples_add(&in.lat, (double)(now - s->t_sent) / 1e6);
		}
	} else {
		in.errors++;
		if (in.first_error[0] == '\0')
			snprintf(in.first_error, sizeof(in.first_error),
				 "%s: %s", frame_body_name(env),
				 env->body_case ==
						 MAILLAGE__ENVELOPE__BODY_ERROR
					 ? env->error->message
					 : "");
	}
	if (!in.stopping)
		ingest_send(s);
	ingest_maybe_done();
}

static void ingest_lost(struct msess *s, const char *why)
{
	in.errors++;
	if (s->sent > s->done)
		in.outstanding--; /* its request in flight never comes back */
	if (in.first_error[0] == '\0')
		snprintf(in.first_error, sizeof(in.first_error), "lost: %s",
			 why);
	ingest_maybe_done();
}

static void ingest_tick(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = bench_now_ns();
	struct timeval tv = {0, 0};

	(void)fd;
	(void)what;
	(void)arg;
	if (!in.measuring && now >= in.t_measure) {
		in.measuring = 1;
		in.t_measure = now; /* the window starts here */
		cpu_mark(&in.cpu0);
	}
	if (now >= in.t_end) {
		cpu_since(&in.cpu0, &in.cpu);
		in.stopping = 1;
		ingest_maybe_done();
		return;
	}
	tv.tv_usec = 20000;
	evtimer_add(in.tick, &tv);
}

/* Stop waiting for stragglers after this long. */
static void ingest_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	bench_log("ingest: %" PRIu64 " requests still unanswered; giving up",
		  in.outstanding);
	event_base_loopbreak(bench_base);
}

int scen_ingest(void)
{
	struct timeval tv = {0, 0}, late = {30, 0};
	struct event *timeout;
	double secs;
	int i, conc;

	if (opts.ncerts == 0 || opts.nto == 0)
		bench_die("ingest needs --cert and --to");
	if (opts.kind[0] == '\0')
		snprintf(opts.kind, sizeof(opts.kind), "referral");
	in.text = malloc((size_t)opts.text_bytes + 1);
	if (in.text == NULL)
		bench_die("out of memory");
	for (i = 0; i < opts.text_bytes; i++)
		in.text[i] = "abcdefghij klmnopqrstuvwxyz. "[i % 29];
	in.text[opts.text_bytes] = '\0';
	snprintf(in.run, sizeof(in.run), "%d-%" PRId64, (int)getpid(),
		 bench_now_ns() / 1000000);

	conc = opts.concurrency < opts.clients ? opts.concurrency
					       : opts.clients;
	opener_init(&in.op, opts.clients, conc, 0);
	in.op.on_frame = ingest_frame;
	in.op.on_lost = ingest_lost;
	opener_run(&in.op);
	bench_log("ingest: %d clients connected (%d failed)", in.op.ready,
		  in.op.failed);
	if (in.op.ready == 0) {
		printf("RESULT ingest clients=%d ready=0 failed=%d error=%s\n",
		       opts.clients, in.op.failed, result_word(in.op.error));
		return 1;
	}

	in.t_measure = bench_now_ns() + (int64_t)(opts.warmup * 1e9);
	in.t_end = in.t_measure + (int64_t)(opts.duration * 1e9);
	in.tick = evtimer_new(bench_base, ingest_tick, NULL);
	evtimer_add(in.tick, &tv);
	for (i = 0; i < in.op.total; i++)
		if (in.op.sess[i].state == MSESS_READY)
			ingest_send(&in.op.sess[i]);
	event_base_dispatch(bench_base);
	if (in.outstanding > 0) {
		timeout = evtimer_new(bench_base, ingest_timeout, NULL);
		evtimer_add(timeout, &late);
		event_base_dispatch(bench_base);
		event_free(timeout);
	}
	event_free(in.tick);

	secs = (double)(in.t_end - in.t_measure) / 1e9;
	printf("RESULT ingest clients=%d ready=%d failed=%d seconds=%.2f "
	       "stored=%" PRIu64 " rate=%.1f errors=%" PRIu64,
	       opts.clients, in.op.ready, in.op.failed, secs, in.stored,
	       secs > 0 ? (double)in.stored / secs : 0, in.errors);
	samples_print(&in.lat, "");
	cpu_print(&in.cpu, (double)in.stored);
	printf(" error=%s\n",
	       result_word(in.first_error[0] != '\0' ? in.first_error
						     : in.op.error));
	opener_free(&in.op);
	samples_free(&in.lat);
	free(in.text);
	return in.stored > 0 ? 0 : 1;
}
