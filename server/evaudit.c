/*
 * evaudit: delivery audit records, gathered into array literals and
 * inserted in batches; see evaudit.h.
 */
#include "evaudit.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "conn.h"
#include "db.h"
#include "log.h"
#include "server.h"

/* One array per column of the INSERT, in this order. */
enum {
	EA_ACCOUNT = 0,
	EA_LOGIN,
	EA_INST,
	EA_ROLE,
	EA_PEER,
	EA_SEQ,
	EA_FP,
	EA_CASE,
	EA_NOTICE,
	EA_PERSON,
	EA_NCOLS
};

static const char evaudit_sql[] =
	"INSERT INTO audit_event (account_id, login, institution_code, role,"
	" action, outcome, peer, request_id, instance, cert_fingerprint,"
	" case_id, notice_id, person_id)"
	" SELECT d.account, d.login, d.inst, d.role, 'event.deliver', 'ok',"
	" d.peer, d.seq, $11, d.fp, d.case_id, d.notice_id, d.person_id"
	" FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],"
	" $5::text[], $6::bigint[], $7::text[], $8::bigint[], $9::bigint[],"
	" $10::bigint[]) AS d(account, login, inst, role, peer, seq, fp,"
	" case_id, notice_id, person_id)";

struct evaudit_col {
	char *s;
	size_t len, cap;
};

struct evaudit_batch {
	TAILQ_ENTRY(evaudit_batch) entry;
	size_t rows;
	int broken; /* an append failed: the batch is lost */
	struct evaudit_col col[EA_NCOLS];
};

TAILQ_HEAD(evaudit_list, evaudit_batch);

static struct {
	struct server *srv;
	struct event *flush;
	struct evaudit_list full; /* waiting for a free job slot */
	struct evaudit_batch *cur;
	size_t pending; /* rows in `cur` and `full` */
	unsigned inflight;
	int held; /* a live fan-out is being written (evaudit_hold) */
	uint64_t written, lost;
	int warned; /* a drop was logged since the last success */
} ea;

/* ---- batches ------------------------------------------------------- */

static void evaudit_batch_free(struct evaudit_batch *b)
{
	int i;

	if (b == NULL)
		return;
	for (i = 0; i < EA_NCOLS; i++)
		free(b->col[i].s);
	free(b);
}

static int evaudit_put(struct evaudit_col *col, const char *s, size_t n)
{
	if (col->len + n + 2 > col->cap) {
		size_t cap = col->cap == 0 ? 1024 : col->cap;
		char *p;

		while (col->len + n + 2 > cap)
			cap *= 2;
		p = realloc(col->s, cap);
		if (p == NULL)
			return -1;
		col->s = p;
		col->cap = cap;
	}
	memcpy(col->s + col->len, s, n);
	col->len += n;
	col->s[col->len] = '\0';
	return 0;
}

/* The separator before an element: '{' for the first, ',' after. */
static int evaudit_sep(struct evaudit_col *col)
{
	return evaudit_put(col, col->len == 0 ? "{" : ",", 1);
}

/* A bigint element; NULL for ids <= 0. */
static int evaudit_int(struct evaudit_col *col, int64_t v, int zero_is_null)
{
	char buf[24];
	int n;

	if (evaudit_sep(col) != 0)
		return -1;
	if (zero_is_null && v <= 0)
		return evaudit_put(col, "NULL", 4);
	n = snprintf(buf, sizeof(buf), "%" PRId64, v);
	return evaudit_put(col, buf, (size_t)n);
}

/* A text element, always quoted; NULL for NULL or "". */
static int evaudit_text(struct evaudit_col *col, const char *s)
{
	const char *p;

	if (evaudit_sep(col) != 0)
		return -1;
	if (s == NULL || s[0] == '\0')
		return evaudit_put(col, "NULL", 4);
	if (evaudit_put(col, "\"", 1) != 0)
		return -1;
	/* runs without a quote or backslash in one copy, each of those
	 * escaped */
	for (p = s; *p != '\0';) {
		size_t n = strcspn(p, "\"\\");

		if (n > 0 && evaudit_put(col, p, n) != 0)
			return -1;
		p += n;
		if (*p == '\0')
			break;
		if (evaudit_put(col, "\\", 1) != 0 ||
		    evaudit_put(col, p, 1) != 0)
			return -1;
		p++;
	}
	return evaudit_put(col, "\"", 1);
}

static int evaudit_row(struct evaudit_batch *b, const struct conn *c,
		       uint64_t seq, int64_t case_id, int64_t notice_id,
		       int64_t person_id)
{
	struct evaudit_col *col = b->col;

	return evaudit_int(&col[EA_ACCOUNT], c->account.id, 1) |
	       evaudit_text(&col[EA_LOGIN], c->account.login) |
	       evaudit_text(&col[EA_INST], c->account.institution) |
	       evaudit_text(&col[EA_ROLE], conn_role_name(c->account.role)) |
	       evaudit_text(&col[EA_PEER], c->peer) |
	       evaudit_int(&col[EA_SEQ], (int64_t)seq, 0) |
	       evaudit_text(&col[EA_FP], c->fingerprint) |
	       evaudit_int(&col[EA_CASE], case_id, 1) |
	       evaudit_int(&col[EA_NOTICE], notice_id, 1) |
	       evaudit_int(&col[EA_PERSON], person_id, 1);
}

/* ---- jobs ---------------------------------------------------------- */

/* A live fan-out is being written, and not too much waits. */
static int evaudit_holding(void)
{
	return ea.held && ea.pending < EVAUDIT_HOLD_MAX;
}

/*
 * Flush at the next loop turn when a full batch waits, otherwise within
 * EVAUDIT_LINGER_MS: a fan-out written in slices fills whole batches
 * instead of sending one small INSERT per slice. Nothing while held.
 */
static void evaudit_schedule(void)
{
	const struct timeval now = {0, 0};
	const struct timeval linger = {0, EVAUDIT_LINGER_MS * 1000};

	if (ea.flush == NULL || evaudit_holding())
		return;
	if (!TAILQ_EMPTY(&ea.full))
		evtimer_add(ea.flush, &now);
	else if (!evtimer_pending(ea.flush, NULL))
		evtimer_add(ea.flush, &linger);
}

static void evaudit_count_lost(size_t rows, const char *why)
{
	ea.lost += rows;
	if (ea.warned)
		return;
	ea.warned = 1;
	log_warnx("events: %zu delivery audit record%s not written (%s); "
		  "%" PRIu64 " lost since start",
		  rows, rows == 1 ? "" : "s", why, ea.lost);
}

struct evaudit_done_arg {
	size_t rows;
};

static void evaudit_done(void *arg, const struct db_reply *reply)
{
	struct evaudit_done_arg *a = arg;

	if (ea.inflight > 0)
		ea.inflight--;
	if (reply->status == DB_OK) {
		ea.written += a->rows;
		ea.warned = 0;
	} else {
		char why[48];

		snprintf(why, sizeof(why), "%s %s",
			 db_status_name(reply->status), reply->sqlstate);
		evaudit_count_lost(a->rows, why);
	}
	free(a);
	if (ea.pending > 0)
		evaudit_schedule();
}

/* Close the arrays and submit `b` (freed here whatever happens). */
static void evaudit_submit(struct evaudit_batch *b)
{
	struct evaudit_done_arg *a = malloc(sizeof(*a));
	struct db_job *job = db_job_new();
	const char *params[EA_NCOLS + 1];
	int i, bad = b->broken || a == NULL || job == NULL;

	for (i = 0; i < EA_NCOLS && !bad; i++) {
		bad = evaudit_put(&b->col[i], "}", 1) != 0;
		params[i] = b->col[i].s;
	}
	params[EA_NCOLS] = ea.srv->instance_id;
	if (bad || db_job_add(job, evaudit_sql, EA_NCOLS + 1, params) != 0) {
		evaudit_count_lost(b->rows, "out of memory");
		free(a);
		db_job_free(job);
		evaudit_batch_free(b);
		return;
	}
	a->rows = b->rows;
	ea.inflight++;
	evaudit_batch_free(b);
	db_submit(ea.srv->db, job, evaudit_done, a);
}

static void evaudit_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	/* a linger timer armed before the hold: evaudit_hold(0) flushes */
	if (evaudit_holding())
		return;
	while (ea.inflight < EVAUDIT_INFLIGHT) {
		struct evaudit_batch *b = TAILQ_FIRST(&ea.full);

		if (b != NULL) {
			TAILQ_REMOVE(&ea.full, b, entry);
		} else if (ea.cur != NULL) {
			b = ea.cur;
			ea.cur = NULL;
		} else {
			return;
		}
		ea.pending -= b->rows;
		evaudit_submit(b);
	}
}

/* ---- interface ----------------------------------------------------- */

void evaudit_add(const struct conn *c, uint64_t seq, int64_t case_id,
		 int64_t notice_id, int64_t person_id)
{
	if (ea.srv == NULL)
		return;
	if (ea.pending >= EVAUDIT_PENDING_MAX) {
		evaudit_count_lost(1, "too many waiting");
		return;
	}
	if (ea.cur == NULL) {
		ea.cur = calloc(1, sizeof(*ea.cur));
		if (ea.cur == NULL) {
			evaudit_count_lost(1, "out of memory");
			return;
		}
	}
	if (evaudit_row(ea.cur, c, seq, case_id, notice_id, person_id) != 0)
		ea.cur->broken = 1;
	ea.cur->rows++;
	ea.pending++;
	if (ea.cur->rows >= EVAUDIT_BATCH) {
		TAILQ_INSERT_TAIL(&ea.full, ea.cur, entry);
		ea.cur = NULL;
	}
	evaudit_schedule();
}

int evaudit_start(struct server *srv)
{
	memset(&ea, 0, sizeof(ea));
	TAILQ_INIT(&ea.full);
	ea.flush = evtimer_new(srv->base, evaudit_flush_cb, NULL);
	if (ea.flush == NULL)
		return -1;
	ea.srv = srv;
	return 0;
}

void evaudit_stop(void)
{
	struct evaudit_batch *b;

	if (ea.srv == NULL)
		return;
	while ((b = TAILQ_FIRST(&ea.full)) != NULL) {
		TAILQ_REMOVE(&ea.full, b, entry);
		evaudit_submit(b);
	}
	if (ea.cur != NULL)
		evaudit_submit(ea.cur);
	ea.cur = NULL;
	ea.pending = 0;
	event_free(ea.flush);
	ea.flush = NULL;
	ea.srv = NULL;
}

void evaudit_hold(int held)
{
	ea.held = held;
	if (!held && ea.pending > 0)
		evaudit_schedule();
}

int evaudit_busy(void)
{
	return ea.pending > 0 || ea.inflight > 0;
}

uint64_t evaudit_written(void)
{
	return ea.written;
}

uint64_t evaudit_lost(void)
{
	return ea.lost;
}
