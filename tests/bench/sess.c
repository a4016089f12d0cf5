/*
 * sess: authenticated maillage sessions (TLS, Hello -> Welcome, optionally
 * Watch -> WatchStarted) opened many at a time with bounded concurrency;
 * see bench.h.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define REQ_HELLO 1
#define REQ_WATCH 2

static void opener_next(struct opener *op);

SSL_CTX *ctx_round_robin(int index)
{
	return opts.certs[index % opts.ncerts].ctx;
}

SSL_CTX *ctx_sender(int index)
{
	(void)index;
	return opts.sender.ctx;
}

void msess_send(struct msess *s, Maillage__Envelope *env)
{
	if (s->c != NULL)
		bconn_send(s->c, env);
}

static void opener_check_done(struct opener *op)
{
	if (op->ready + op->failed == op->total && op->t_done == 0)
		op->t_done = bench_now_ns();
	if (op->ready + op->failed == op->total && op->break_when_done) {
		op->break_when_done = 0;
		event_base_loopbreak(bench_base);
	}
}

static void msess_failed(struct msess *s, const char *why)
{
	struct opener *op = s->op;

	if (op->error[0] == '\0')
		snprintf(op->error, sizeof(op->error), "%s", why);
	if (opts.verbose)
		bench_log("session %d failed: %s", s->index, why);
	s->state = MSESS_FAILED;
	op->failed++;
	op->inflight--;
	opener_next(op);
	opener_check_done(op);
}

static void msess_ready(struct msess *s)
{
	struct opener *op = s->op;

	s->state = MSESS_READY;
	s->t_ready = bench_now_ns();
	samples_add(&op->connect_ms, (double)(s->t_ready - s->t_connect) / 1e6);
	op->t_last = s->t_ready;
	op->ready++;
	op->inflight--;
	opener_next(op);
	opener_check_done(op);
}

static void msess_open(struct bconn *c)
{
	struct msess *s = c->user;

	s->state = MSESS_HELLO;
	bconn_hello(c, REQ_HELLO);
}

static void msess_refused(struct msess *s, const Maillage__Envelope *env)
{
	char why[256];
	struct bconn *c = s->c;

	snprintf(why, sizeof(why), "refused: %s",
		 env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR
			 ? env->error->message
			 : frame_body_name(env));
	s->c = NULL;
	bconn_free(c);
	msess_failed(s, why);
}

static void msess_watch(struct msess *s)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Watch w = MAILLAGE__WATCH__INIT;

	w.from_now = 1;
	env.request_id = REQ_WATCH;
	env.body_case = MAILLAGE__ENVELOPE__BODY_WATCH;
	env.watch = &w;
	s->state = MSESS_WATCH;
	bconn_send(s->c, &env);
}

/* One frame; 0 to go on reading, -1 when the session is gone. */
static int msess_frame(struct msess *s, const Maillage__Envelope *env)
{
	switch (s->state) {
	case MSESS_HELLO:
		if (env->body_case != MAILLAGE__ENVELOPE__BODY_WELCOME) {
			msess_refused(s, env);
			return -1;
		}
		if (s->op->watch)
			msess_watch(s);
		else
			msess_ready(s);
		return 0;
	case MSESS_WATCH:
		if (env->body_case == MAILLAGE__ENVELOPE__BODY_EVENT)
			return 0; /* from_now: nothing is replayed */
		if (env->body_case != MAILLAGE__ENVELOPE__BODY_WATCH_STARTED) {
			msess_refused(s, env);
			return -1;
		}
		msess_ready(s);
		return 0;
	case MSESS_READY:
		if (s->op->on_frame != NULL)
			s->op->on_frame(s, env);
		return s->c != NULL ? 0 : -1;
	default:
		return -1;
	}
}

static void msess_readable(struct bconn *c, struct evbuffer *in)
{
	struct msess *s = c->user;
	struct frame_msg *msg;
	int rc;

	while ((rc = bconn_frame(in, &msg)) == 1) {
		rc = msess_frame(s, msg->env);
		frame_msg_free(msg);
		if (rc != 0)
			return;
	}
	if (rc < 0) {
		s->c = NULL;
		bconn_free(c);
		msess_failed(s, "undecodable frame from the server");
	}
}

static void msess_closed(struct bconn *c, const char *why)
{
	struct msess *s = c->user;

	s->c = NULL;
	if (s->state == MSESS_READY) {
		s->state = MSESS_FAILED;
		if (s->op->on_lost != NULL)
			s->op->on_lost(s, why);
		else if (s->op->error[0] == '\0')
			snprintf(s->op->error, sizeof(s->op->error), "lost: %s",
				 why);
		return;
	}
	msess_failed(s, why);
}

static const struct bconn_ops msess_ops = {msess_open, msess_readable,
					   msess_closed};

static void opener_next(struct opener *op)
{
	while (op->inflight < op->concurrency && op->started < op->total) {
		struct msess *s = &op->sess[op->started];

		s->index = op->started++;
		s->op = op;
		s->next_request = 100;
		s->t_connect = bench_now_ns();
		if (op->t_first == 0)
			op->t_first = s->t_connect;
		op->inflight++;
		s->c = bconn_new(op->ctx_for(s->index), &msess_ops, s,
				 s->index);
		if (s->c == NULL)
			msess_failed(s, "cannot create a connection");
	}
}

void opener_init(struct opener *op, int total, int concurrency, int watch)
{
	memset(op, 0, sizeof(*op));
	op->total = total;
	op->concurrency = concurrency > 0 ? concurrency : 1;
	op->watch = watch;
	op->ctx_for = ctx_round_robin;
	op->sess = calloc((size_t)(total > 0 ? total : 1), sizeof(*op->sess));
	if (op->sess == NULL)
		bench_die("out of memory for %d sessions", total);
}

void opener_run(struct opener *op)
{
	op->break_when_done = 1;
	opener_next(op);
	if (op->ready + op->failed < op->total)
		event_base_dispatch(bench_base);
	op->break_when_done = 0;
}

void opener_close_all(struct opener *op)
{
	int i;

	for (i = 0; i < op->started; i++) {
		if (op->sess[i].c != NULL) {
			bconn_free(op->sess[i].c);
			op->sess[i].c = NULL;
		}
	}
}

void opener_free(struct opener *op)
{
	opener_close_all(op);
	free(op->sess);
	op->sess = NULL;
	samples_free(&op->connect_ms);
}
