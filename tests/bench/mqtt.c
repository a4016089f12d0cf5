/*
 * mqtt: the fan-out reference. The same shape as `fanout`, against an MQTT
 * broker (Mosquitto) over TLS with client certificates: N subscribers
 * (clean sessions, SUBSCRIBE --topic at QoS 1, each PUBLISH acknowledged
 * with PUBACK), one publisher sending --messages PUBLISH at QoS 1, one
 * every --interval-ms, with a --payload of that many bytes (at least 12:
 * the message number and the send time ride in it). A minimal MQTT 3.1.1
 * client on the same TLS connections and event loop as the maillage
 * scenarios, so that both sides of the ratio pay the same client costs.
 */
#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MQ_KEEPALIVE 600
#define MQ_PAYLOAD_MIN 12

enum mq_state {
	MQ_CONNECTING = 0, /* TCP + TLS */
	MQ_CONNECT,	   /* CONNECT sent */
	MQ_SUBSCRIBE,	   /* SUBSCRIBE sent */
	MQ_READY,
	MQ_FAILED
};

struct mq {
	struct bconn *c;
	enum mq_state state;
	int index;
	int is_pub;
	int64_t t_connect;
};

struct mq_rec {
	uint32_t k;
	int64_t t;
};

static struct {
	struct mq *subs, pub;
	int total, started, ready, failed, inflight, lost;
	int64_t t_first, t_last;
	struct mq_rec *recs;
	size_t nrecs, caprecs;
	int64_t *t_sent;
	int nsent, acked;
	char error[200];
	struct event *tick, *timeout;
	struct bench_cpu cpu0, cpu;
	int finished, waiting_open;
	uint8_t *pkt;
	size_t pktlen;
	char run[32];
} mq;

static const struct bconn_ops mq_ops;

static void mq_fail(const char *why)
{
	if (mq.error[0] == '\0')
		snprintf(mq.error, sizeof(mq.error), "%s", why);
}

/* ---- encoding ------------------------------------------------------- */

static size_t mq_put_len(uint8_t *p, size_t n)
{
	size_t i = 0;

	do {
		uint8_t b = (uint8_t)(n % 128);
		n /= 128;
		p[i++] = (uint8_t)(b | (n > 0 ? 0x80 : 0));
	} while (n > 0);
	return i;
}

static size_t mq_put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	p[0] = (uint8_t)(n >> 8);
	p[1] = (uint8_t)n;
	memcpy(p + 2, s, n);
	return n + 2;
}

/* A packet of type byte `t` with the `n` bytes of `body`. */
static void mq_write(struct mq *m, uint8_t t, const uint8_t *body, size_t n)
{
	uint8_t hdr[5];
	size_t h;

	hdr[0] = t;
	h = 1 + mq_put_len(hdr + 1, n);
	bconn_write(m->c, hdr, h);
	if (n > 0)
		bconn_write(m->c, body, n);
}

static void mq_connect(struct mq *m)
{
	uint8_t b[128];
	char id[64];
	size_t n = 0;

	snprintf(id, sizeof(id), "%s-%s-%d", m->is_pub ? "pub" : "sub", mq.run,
		 m->index);
	n += mq_put_str(b + n, "MQTT");
	b[n++] = 4;    /* protocol level: 3.1.1 */
	b[n++] = 0x02; /* clean session */
	b[n++] = MQ_KEEPALIVE >> 8;
	b[n++] = MQ_KEEPALIVE & 0xff;
	n += mq_put_str(b + n, id);
	m->state = MQ_CONNECT;
	mq_write(m, 0x10, b, n);
}

static void mq_subscribe(struct mq *m)
{
	uint8_t b[256];
	size_t n = 0;

	b[n++] = 0;
	b[n++] = 1; /* packet id */
	n += mq_put_str(b + n, opts.topic);
	b[n++] = 1; /* QoS 1 */
	m->state = MQ_SUBSCRIBE;
	mq_write(m, 0x82, b, n);
}

static void mq_puback(struct mq *m, const uint8_t *pid)
{
	mq_write(m, 0x40, pid, 2);
}

static void mq_publish(int k)
{
	size_t t = strlen(opts.topic), n = 0;
	uint8_t *b = mq.pkt;
	int64_t now;
	int i;

	n += mq_put_str(b + n, opts.topic);
	b[n++] = (uint8_t)((k + 1) >> 8);
	b[n++] = (uint8_t)(k + 1);
	(void)t;
	now = bench_now_ns();
	for (i = 0; i < 4; i++)
		b[n + (size_t)i] = (uint8_t)((uint32_t)k >> (24 - 8 * i));
	for (i = 0; i < 8; i++)
		b[n + 4 + (size_t)i] = (uint8_t)((uint64_t)now >> (56 - 8 * i));
	mq.t_sent[k] = now;
	mq_write(&mq.pub, 0x32, b, mq.pktlen);
}

/* ---- sessions ------------------------------------------------------- */

static void mq_next(void);

static void mq_check_open(void)
{
	if (mq.ready + mq.failed == mq.total && mq.t_last == 0)
		mq.t_last = bench_now_ns();
	if (mq.waiting_open && mq.ready + mq.failed == mq.total &&
	    (mq.pub.state == MQ_READY || mq.pub.state == MQ_FAILED)) {
		mq.waiting_open = 0;
		event_base_loopbreak(bench_base);
	}
}

static void mq_check_done(void)
{
	size_t expected = (size_t)(mq.ready - mq.lost) * (size_t)opts.messages;

	if (!mq.finished && mq.nsent == opts.messages &&
	    mq.acked >= opts.messages && mq.nrecs >= expected) {
		mq.finished = 1;
		cpu_since(&mq.cpu0, &mq.cpu);
		event_base_loopbreak(bench_base);
	}
}

static void mq_session_failed(struct mq *m, const char *why)
{
	mq_fail(why);
	if (m->is_pub) {
		m->state = MQ_FAILED;
		mq_check_open();
		return;
	}
	if (m->state == MQ_READY) {
		m->state = MQ_FAILED;
		mq.lost++;
		mq_check_done();
		return;
	}
	m->state = MQ_FAILED;
	mq.failed++;
	mq.inflight--;
	mq_next();
	mq_check_open();
}

static void mq_ready(struct mq *m)
{
	m->state = MQ_READY;
	if (!m->is_pub) {
		mq.ready++;
		mq.inflight--;
		mq_next();
	}
	mq_check_open();
}

static void mq_open(struct bconn *c)
{
	mq_connect(c->user);
}

static void mq_on_publish(struct mq *m, uint8_t flags, const uint8_t *p,
			  size_t n)
{
	int qos = (flags >> 1) & 3;
	size_t tl, off;
	uint32_t k = 0;
	uint64_t t = 0;
	int i;

	if (n < 2)
		return;
	tl = ((size_t)p[0] << 8) | p[1];
	off = 2 + tl;
	if (qos > 0) {
		if (off + 2 > n)
			return;
		mq_puback(m, p + off);
		off += 2;
	}
	if (off + MQ_PAYLOAD_MIN > n)
		return;
	for (i = 0; i < 4; i++)
		k = (k << 8) | p[off + (size_t)i];
	for (i = 0; i < 8; i++)
		t = (t << 8) | p[off + 4 + (size_t)i];
	if (mq.nrecs == mq.caprecs) {
		size_t cap = mq.caprecs == 0 ? 65536 : mq.caprecs * 2;
		struct mq_rec *r = realloc(mq.recs, cap * sizeof(*r));
		if (r == NULL)
			bench_die("out of memory for deliveries");
		mq.recs = r;
		mq.caprecs = cap;
	}
	mq.recs[mq.nrecs].k = k;
	mq.recs[mq.nrecs].t = bench_now_ns() - (int64_t)t;
	mq.nrecs++;
	mq_check_done();
}

/* One packet; -1 when the session is gone. */
static int mq_packet(struct mq *m, uint8_t type, const uint8_t *p, size_t n)
{
	char why[64];

	switch (type >> 4) {
	case 2: /* CONNACK */
		if (m->state != MQ_CONNECT || n < 2 || p[1] != 0) {
			snprintf(why, sizeof(why), "CONNACK refused (%d)",
				 n >= 2 ? p[1] : -1);
			goto fail;
		}
		if (m->is_pub)
			mq_ready(m);
		else
			mq_subscribe(m);
		return 0;
	case 9: /* SUBACK */
		if (m->state != MQ_SUBSCRIBE || n < 3 || p[2] > 2) {
			snprintf(why, sizeof(why), "SUBACK refused");
			goto fail;
		}
		mq_ready(m);
		return 0;
	case 3: /* PUBLISH */
		mq_on_publish(m, type & 0x0f, p, n);
		return 0;
	case 4: /* PUBACK */
		if (m->is_pub) {
			mq.acked++;
			mq_check_done();
		}
		return 0;
	default:
		return 0;
	}
fail : {
	struct bconn *c = m->c;
	m->c = NULL;
	bconn_free(c);
	mq_session_failed(m, why);
	return -1;
}
}

static void mq_readable(struct bconn *c, struct evbuffer *in)
{
	struct mq *m = c->user;
	uint8_t hdr[5];
	size_t avail, len, mult, h, i;
	unsigned char *p;

	for (;;) {
		avail = evbuffer_get_length(in);
		if (avail < 2)
			return;
		evbuffer_copyout(in, hdr, avail < 5 ? avail : 5);
		len = 0;
		mult = 1;
		for (i = 1; i < 5 && i < avail; i++) {
			len += (size_t)(hdr[i] & 0x7f) * mult;
			mult *= 128;
			if (!(hdr[i] & 0x80))
				break;
		}
		if (i == 5 || i == avail)
			return; /* length incomplete (or broken) */
		h = i + 1;
		if (avail < h + len)
			return;
		p = evbuffer_pullup(in, (ev_ssize_t)(h + len));
		if (mq_packet(m, hdr[0], p + h, len) != 0)
			return;
		evbuffer_drain(in, h + len);
	}
}

static void mq_closed(struct bconn *c, const char *why)
{
	struct mq *m = c->user;

	m->c = NULL;
	mq_session_failed(m, why);
}

static const struct bconn_ops mq_ops = {mq_open, mq_readable, mq_closed};

static void mq_next(void)
{
	while (mq.inflight < opts.concurrency && mq.started < mq.total) {
		struct mq *m = &mq.subs[mq.started];

		m->index = mq.started++;
		m->t_connect = bench_now_ns();
		if (mq.t_first == 0)
			mq.t_first = m->t_connect;
		mq.inflight++;
		m->c = bconn_new(ctx_round_robin(m->index), &mq_ops, m,
				 m->index);
		if (m->c == NULL)
			mq_session_failed(m, "cannot create a connection");
	}
}

/* ---- the run -------------------------------------------------------- */

static void mq_tick(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = {opts.interval_ms / 1000,
			     (opts.interval_ms % 1000) * 1000};
	struct timeval late = {15, 0};

	(void)fd;
	(void)what;
	(void)arg;
	if (mq.nsent == 0)
		cpu_mark(&mq.cpu0);
	mq_publish(mq.nsent++);
	if (mq.nsent < opts.messages)
		evtimer_add(mq.tick, &tv);
	else
		evtimer_add(mq.timeout, &late);
}

static void mq_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	bench_log("fanout-mqtt: %zu deliveries after 15 s; giving up",
		  mq.nrecs);
	if (!mq.finished) {
		mq.finished = 1;
		cpu_since(&mq.cpu0, &mq.cpu);
	}
	event_base_loopbreak(bench_base);
}

int scen_fanout_mqtt(void)
{
	struct bench_samples lat = {0};
	struct timeval now = {0, 0};
	size_t i, payload, tl = strlen(opts.topic), matched = 0;
	double *first, *last, ms;
	int k;

	if (opts.ncerts == 0)
		bench_die("fanout-mqtt needs --cert");
	if (opts.messages > 65535)
		bench_die("fanout-mqtt: at most 65535 messages");
	snprintf(mq.run, sizeof(mq.run), "%d", (int)getpid());
	payload = opts.payload < MQ_PAYLOAD_MIN ? MQ_PAYLOAD_MIN
						: (size_t)opts.payload;
	mq.pktlen = 2 + tl + 2 + payload;
	mq.pkt = calloc(1, mq.pktlen);
	mq.t_sent = calloc((size_t)opts.messages, sizeof(*mq.t_sent));
	mq.total = opts.subs;
	mq.subs = calloc((size_t)opts.subs, sizeof(*mq.subs));
	if (mq.pkt == NULL || mq.t_sent == NULL || mq.subs == NULL)
		bench_die("out of memory");
	memset(mq.pkt + 2 + tl + 2, 'p', payload);

	mq.waiting_open = 1;
	mq.pub.is_pub = 1;
	mq.pub.index = 0;
	mq.pub.c = bconn_new(opts.has_sender ? opts.sender.ctx
					     : ctx_round_robin(0),
			     &mq_ops, &mq.pub, 0);
	if (mq.pub.c == NULL)
		bench_die("cannot create the publisher's connection");
	mq_next();
	event_base_dispatch(bench_base);
	bench_log("fanout-mqtt: %d subscribers subscribed (%d failed) in %.2f "
		  "s",
		  mq.ready, mq.failed, (double)(mq.t_last - mq.t_first) / 1e9);
	if (mq.ready == 0 || mq.pub.state != MQ_READY) {
		printf("RESULT fanout-mqtt subs=%d ready=%d failed=%d "
		       "error=%s\n",
		       opts.subs, mq.ready, mq.failed, result_word(mq.error));
		return 1;
	}

	mq.tick = evtimer_new(bench_base, mq_tick, NULL);
	mq.timeout = evtimer_new(bench_base, mq_timeout, NULL);
	evtimer_add(mq.tick, &now);
	event_base_dispatch(bench_base);
	event_free(mq.tick);
	event_free(mq.timeout);
	for (k = 0; k < mq.total; k++)
		if (mq.subs[k].c != NULL)
			bconn_free(mq.subs[k].c);
	if (mq.pub.c != NULL)
		bconn_free(mq.pub.c);

	first = malloc((size_t)opts.messages * sizeof(*first));
	last = malloc((size_t)opts.messages * sizeof(*last));
	if (first == NULL || last == NULL)
		bench_die("out of memory");
	for (k = 0; k < opts.messages; k++)
		first[k] = last[k] = -1;
	for (i = 0; i < mq.nrecs; i++) {
		uint32_t m = mq.recs[i].k;

		if (m >= (uint32_t)mq.nsent)
			continue;
		matched++;
		ms = (double)mq.recs[i].t / 1e6;
		samples_add(&lat, ms);
		if (first[m] < 0 || ms < first[m])
			first[m] = ms;
		if (ms > last[m])
			last[m] = ms;
	}
	printf("RESULT fanout-mqtt subs=%d ready=%d failed=%d lost=%d "
	       "messages=%d answered=%d delivered=%zu expected=%zu "
	       "payload=%zu",
	       opts.subs, mq.ready, mq.failed, mq.lost, mq.nsent, mq.acked,
	       matched, (size_t)(mq.ready - mq.lost) * (size_t)opts.messages,
	       payload);
	samples_print(&lat, "");
	spread_print(first, last, mq.nsent);
	free(first);
	free(last);
	printf(" connect_s=%.2f", (double)(mq.t_last - mq.t_first) / 1e9);
	cpu_print(&mq.cpu, (double)matched);
	printf(" error=%s\n", result_word(mq.error));
	samples_free(&lat);
	free(mq.recs);
	free(mq.t_sent);
	free(mq.subs);
	free(mq.pkt);
	return matched > 0 ? 0 : 1;
}
