/*
 * events: subscribers, replay, live fan-out and deadlines; see events.h.
 *
 * A subscriber is in one of two states. REPLAY: it is behind its
 * institution's live head and reads pages of its own (at most one query in
 * flight, paused while its output is more than half full). LIVE: it is at
 * the head and receives what the shared live query reads for its
 * institution. The live query runs when a notification, the poll timer or a
 * new institution makes an institution dirty; at most one runs at a time,
 * and the next waits until the rows of the last are written.
 *
 * Each row read is encoded once (and once more without its notice for an
 * escalation); the frames are shared by every subscriber entitled to them.
 * The live fan-out writes EVENTS_SLICE frames per loop turn (each goes
 * straight to SSL_write when nothing is queued for its subscriber, see
 * conn_send_frame), so other work gets its turn during a large fan-out.
 * Every frame written is recorded for the delivery audit (evaudit).
 */
#include "events.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "acl.h"
#include "conn.h"
#include "db.h"
#include "evaudit.h"
#include "frame.h"
#include "log.h"
#include "policy.h"
#include "req.h"
#include "server.h"

#define EVENTS_CHANNEL "maillage_event"
#define EVENTS_PAGE 256
#define EVENTS_LIVE_MAX 2000
#define EVENTS_DEADLINE_BATCH 100
/* Frames written per loop turn by the live fan-out. */
#define EVENTS_SLICE 256

enum events_sub_state { EVENTS_SUB_REPLAY = 0, EVENTS_SUB_LIVE };

struct events_inst;

struct events_sub {
	uint64_t conn_id;
	struct events_inst *inst;
	uint64_t cursor; /* last number delivered or skipped */
	enum events_sub_state state;
	int fetching; /* a replay page is being read */
	struct acl_subject subject;
	TAILQ_ENTRY(events_sub) entry;
};

struct events_inst {
	int64_t id;
	uint64_t head; /* last number the live query has read */
	int dirty;
	unsigned nsubs;
	TAILQ_HEAD(, events_sub) subs;
	TAILQ_ENTRY(events_inst) entry;
};

/* An event's visibility when it names no notice. */
#define EVENTS_VIS_NONE (-2)

/* A frame encoded once, written to every subscriber entitled to it. */
struct events_frame {
	uint8_t *buf;
	size_t len;
};

/*
 * One event as read, reduced to what delivery decides on, with its frames:
 * `whole` as the event is, `case_only` without the notice (escalations
 * only, for those who may see the case but not the notice).
 */
struct events_row {
	int64_t inst;
	uint64_t seq;
	int64_t case_id, notice_id, person_id, author;
	int vis; /* acl_visibility, EVENTS_VIS_NONE, or -1 when unknown */
	int party, lead, escalation;
	int started; /* the live fan-out has begun with this row */
	struct events_frame whole, case_only;
};

struct events_rows {
	struct events_row *v;
	int n;
};

static struct {
	struct server *srv;
	TAILQ_HEAD(, events_inst) insts;
	unsigned nsubs;
	struct event *wake;
	struct event *poll;
	struct event *deadline;
	struct event *fan;
	struct events_rows fan_rows; /* the live read being written */
	int fan_next;		     /* its first row not fully served */
	int live_running;	     /* a live read is running or served */
	int live_again;
	int deadline_running;
} ev;

/* The columns every event query selects, in this order. */
#define EVENTS_COLUMNS                                                         \
	"e.institution_id, e.seq, to_char(e.at AT TIME ZONE 'UTC', "           \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), e.what, coalesce(e.case_id, 0), "  \
	"coalesce(e.person_id, 0), coalesce(e.notice_id, 0), "                 \
	"coalesce(e.kind, ''), coalesce(e.urgency, ''), coalesce(e.about, "    \
	"''), "                                                                \
	"coalesce(e.state, ''), coalesce(e.visibility, ''), "                  \
	"coalesce(e.author_institution_id, 0), "                               \
	"coalesce((SELECT true FROM case_party cp WHERE cp.case_id = "         \
	"e.case_id AND cp.institution_id = e.institution_id LIMIT 1), "        \
	"false), "                                                             \
	"coalesce((SELECT cf.lead_institution_id = e.institution_id "          \
	"FROM case_file cf WHERE cf.id = e.case_id), false)"

enum {
	COL_INST = 0,
	COL_SEQ,
	COL_AT,
	COL_WHAT,
	COL_CASE,
	COL_PERSON,
	COL_NOTICE,
	COL_KIND,
	COL_URGENCY,
	COL_ABOUT,
	COL_STATE,
	COL_VIS,
	COL_AUTHOR,
	COL_PARTY,
	COL_LEAD
};

/*
 * The pool prepares these once per connection, and PostgreSQL plans a
 * prepared statement for any parameters after a few runs (a generic plan).
 * Each is written so that its generic plan goes through the keys: the
 * streams are read per institution through their key (LATERAL), and the
 * party flag is one key look-up per row (a scalar sub-select, which
 * PostgreSQL does not turn into a hash of all of case_party as it does an
 * EXISTS). Written as a join, the live read scanned every event ever
 * stored: 40 ms per alert once the streams held a few hundred thousand.
 * itest_watch checks both plans.
 */
#define EVENTS_STR2(x) #x
#define EVENTS_STR(x) EVENTS_STR2(x)

/* clang-format off */
const char events_replay_sql[] =
	"SELECT " EVENTS_COLUMNS " FROM inst_event e"
	" WHERE e.institution_id = $1::bigint AND e.seq > $2::bigint"
	" AND e.seq <= $3::bigint"
	" ORDER BY e.seq LIMIT " EVENTS_STR(EVENTS_PAGE);

const char events_live_sql[] =
	"SELECT " EVENTS_COLUMNS
	" FROM unnest($1::bigint[], $2::bigint[]) AS c(inst, after)"
	" CROSS JOIN LATERAL (SELECT * FROM inst_event i"
	" WHERE i.institution_id = c.inst AND i.seq > c.after"
	" ORDER BY i.seq LIMIT " EVENTS_STR(EVENTS_LIVE_MAX) ") e"
	" ORDER BY e.institution_id, e.seq LIMIT " EVENTS_STR(EVENTS_LIVE_MAX);
/* clang-format on */

static const char events_head_sql[] =
	"SELECT coalesce((SELECT last_seq FROM event_counter"
	" WHERE institution_id = $1::bigint), 0)";

static const char events_deadline_sql[] = "SELECT deadline_fire(100)";

static void events_replay(struct events_sub *s);

/* ---- institutions ---------------------------------------------------- */

static struct events_inst *events_inst_find(int64_t id)
{
	struct events_inst *in;

	TAILQ_FOREACH(in, &ev.insts, entry)
	{
		if (in->id == id)
			return in;
	}
	return NULL;
}

static void events_kick(void)
{
	if (ev.wake != NULL)
		event_active(ev.wake, 0, 0);
}

static void events_mark_all_dirty(void)
{
	struct events_inst *in;

	TAILQ_FOREACH(in, &ev.insts, entry)
	in->dirty = 1;
}

/* ---- rows ------------------------------------------------------------ */

static void events_rows_free(struct events_rows *rows)
{
	int i;

	for (i = 0; i < rows->n; i++) {
		free(rows->v[i].whole.buf);
		free(rows->v[i].case_only.buf);
	}
	free(rows->v);
	rows->v = NULL;
	rows->n = 0;
}

/* Encode row `row` of `res`, without its notice when `case_only`. */
static int events_encode(const PGresult *res, int row, int case_only,
			 struct events_frame *f)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Event e = MAILLAGE__EVENT__INIT;

	e.what = req_str(res, row, COL_WHAT);
	e.at = req_str(res, row, COL_AT);
	e.case_id = req_int(res, row, COL_CASE);
	e.person_id = req_int(res, row, COL_PERSON);
	e.notice_id = case_only ? 0 : req_int(res, row, COL_NOTICE);
	e.kind = case_only ? (char *)"" : req_str(res, row, COL_KIND);
	e.urgency = case_only ? (char *)"" : req_str(res, row, COL_URGENCY);
	e.about = req_str(res, row, COL_ABOUT);
	e.state = req_str(res, row, COL_STATE);
	env.seq = (uint64_t)req_int(res, row, COL_SEQ);
	env.body_case = MAILLAGE__ENVELOPE__BODY_EVENT;
	env.event = &e;
	return frame_encode(&env, ev.srv->cfg.max_frame, &f->buf, &f->len);
}

static int events_row_read(const PGresult *res, int i, struct events_row *r)
{
	const char *vis = PQgetvalue(res, i, COL_VIS);

	r->inst = req_int(res, i, COL_INST);
	r->seq = (uint64_t)req_int(res, i, COL_SEQ);
	r->case_id = req_int(res, i, COL_CASE);
	r->notice_id = req_int(res, i, COL_NOTICE);
	r->person_id = req_int(res, i, COL_PERSON);
	r->author = req_int(res, i, COL_AUTHOR);
	r->vis = vis[0] == '\0' ? EVENTS_VIS_NONE
				: acl_visibility_from_name(vis);
	r->party = req_bool(res, i, COL_PARTY);
	r->lead = req_bool(res, i, COL_LEAD);
	r->escalation = strcmp(PQgetvalue(res, i, COL_WHAT), "escalation") == 0;
	if (events_encode(res, i, 0, &r->whole) != 0)
		return -1;
	if (r->escalation && events_encode(res, i, 1, &r->case_only) != 0)
		return -1;
	return 0;
}

/* Every row of `res`, encoded; 0, or -1 (out of memory: none kept). */
static int events_rows_read(const PGresult *res, struct events_rows *rows)
{
	int i, n = PQntuples(res);

	rows->n = 0;
	rows->v = calloc((size_t)(n > 0 ? n : 1), sizeof(*rows->v));
	if (rows->v == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		rows->n = i + 1;
		if (events_row_read(res, i, &rows->v[i]) != 0) {
			events_rows_free(rows);
			return -1;
		}
	}
	return 0;
}

/* ---- delivery -------------------------------------------------------- */

enum events_access {
	EVENTS_HIDDEN = 0, /* not for this subscriber */
	EVENTS_CASE_ONLY,  /* the case yes, the notice it names no */
	EVENTS_WHOLE
};

/*
 * What may the subscriber learn of the event? acl decides, on what the
 * subscriber is to the case now (party, lead: read at delivery, not when
 * the event was written), exactly as for `case show`.
 */
static enum events_access events_access(const struct events_sub *s,
					const struct events_row *r)
{
	struct acl_subject subj = s->subject;
	const struct acl_policy *p;

	subj.is_party = r->party;
	subj.is_lead = r->lead;
	if (acl_case_visible(&subj) != ACL_ALLOW)
		return EVENTS_HIDDEN;
	if (r->vis == EVENTS_VIS_NONE)
		return EVENTS_WHOLE;
	p = policy_current(ev.srv);
	if (p != NULL && r->vis >= 0 &&
	    acl_notice_readable(p, &subj, (enum acl_visibility)r->vis,
				r->author == s->inst->id) == ACL_ALLOW)
		return EVENTS_WHOLE;
	/* A lapsed alert concerns the case whatever its notice's class. */
	if (r->escalation)
		return EVENTS_CASE_ONLY;
	return EVENTS_HIDDEN;
}

/*
 * Deliver `r` to `s` if it is new to it; advances its cursor. Each event
 * written is one delivery audit record, with the ids the frame carried.
 * Returns 1 when a frame was written.
 */
static int events_deliver(struct events_sub *s, const struct events_row *r)
{
	enum events_access access;
	const struct events_frame *f;
	struct conn *c;

	if (r->seq <= s->cursor)
		return 0;
	s->cursor = r->seq;
	c = conn_find(s->conn_id);
	if (c == NULL || c->state != CONN_READY)
		return 0;
	access = events_access(s, r);
	if (access == EVENTS_HIDDEN)
		return 0;
	f = access == EVENTS_WHOLE ? &r->whole : &r->case_only;
	if (conn_send_frame(c, f->buf, f->len) != 0)
		return 0;
	evaudit_add(c, r->seq, r->case_id,
		    access == EVENTS_WHOLE ? r->notice_id : 0, r->person_id);
	return 1;
}

/* ---- replay ---------------------------------------------------------- */

struct events_replay_arg {
	uint64_t conn_id;
	uint64_t upto;
};

static struct events_sub *events_sub_of(uint64_t conn_id)
{
	struct conn *c = conn_find(conn_id);

	return c != NULL ? c->sub : NULL;
}

static void events_replay_done(void *arg, const struct db_reply *reply)
{
	struct events_replay_arg *a = arg;
	struct events_sub *s = events_sub_of(a->conn_id);
	struct events_rows rows;
	int i, n;

	if (s == NULL)
		goto out;
	s->fetching = 0;
	if (reply->status != DB_OK) {
		/* The poll timer tries again. */
		log_debug("events: replay for conn %" PRIu64 ": %s", a->conn_id,
			  db_status_name(reply->status));
		goto out;
	}
	n = PQntuples(reply->results[0]);
	if (events_rows_read(reply->results[0], &rows) != 0) {
		log_warnx("events: out of memory for a replay page");
		goto out;
	}
	for (i = 0; i < rows.n; i++)
		events_deliver(s, &rows.v[i]);
	events_rows_free(&rows);
	if (n < EVENTS_PAGE && s->cursor < a->upto)
		s->cursor = a->upto;
	if (s->cursor >= s->inst->head)
		s->state = EVENTS_SUB_LIVE;
	else
		events_replay(s);
out:
	free(a);
}

static void events_replay(struct events_sub *s)
{
	struct conn *c = conn_find(s->conn_id);
	struct events_replay_arg *a;
	struct db_job *job;
	char inst[24], after[24], upto[24];
	const char *params[3];

	if (c == NULL || s->fetching || s->state != EVENTS_SUB_REPLAY)
		return;
	/* A slow reader: let it drain first (the poll timer comes back). */
	if (conn_output_pending(c) > ev.srv->cfg.output_limit / 2)
		return;
	a = calloc(1, sizeof(*a));
	job = db_job_new();
	params[0] = req_fmt_int(inst, s->inst->id);
	params[1] = req_fmt_int(after, (int64_t)s->cursor);
	params[2] = req_fmt_int(upto, (int64_t)s->inst->head);
	if (a == NULL || job == NULL ||
	    db_job_add(job, events_replay_sql, 3, params) != 0) {
		free(a);
		db_job_free(job);
		return;
	}
	a->conn_id = s->conn_id;
	a->upto = s->inst->head;
	s->fetching = 1;
	db_submit(ev.srv->db, job, events_replay_done, a);
}

/* ---- live ------------------------------------------------------------ */

/*
 * Serve row `r` to the live subscribers of its institution that do not
 * have it yet, within `*budget` frames. 1 when done with the row, 0 when
 * the budget ran out first (the next turn starts the list again: the
 * cursors say who has it already).
 */
static int events_fan_row(struct events_row *r, unsigned *budget)
{
	struct events_inst *in = events_inst_find(r->inst);
	struct events_sub *s, *next;

	if (in == NULL)
		return 1;
	if (!r->started) {
		if (r->seq <= in->head)
			return 1;
		in->head = r->seq;
		r->started = 1;
	}
	for (s = TAILQ_FIRST(&in->subs); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->state != EVENTS_SUB_LIVE || s->cursor >= r->seq)
			continue;
		if (*budget == 0)
			return 0;
		*budget -= (unsigned)events_deliver(s, r);
	}
	return 1;
}

/* The live read is served: allow the next one. */
static void events_fan_end(void)
{
	if (ev.fan_rows.n >= EVENTS_LIVE_MAX) {
		/* More to read: go round again at once. */
		events_mark_all_dirty();
		ev.live_again = 1;
	}
	events_rows_free(&ev.fan_rows);
	ev.fan_next = 0;
	ev.live_running = 0;
	evaudit_hold(0);
	if (ev.live_again) {
		ev.live_again = 0;
		events_kick();
	}
}

/*
 * Write the rows of the live read to the subscribers, EVENTS_SLICE frames
 * per loop turn, so that the first ones leave before the last are queued.
 * The rest waits for a zero timer, not event_active(): timers run after
 * the next poll, so the sockets made writable by this slice are written
 * first.
 */
static void events_fan(void)
{
	const struct timeval now = {0, 0};
	unsigned budget = EVENTS_SLICE;

	while (ev.fan_next < ev.fan_rows.n) {
		if (!events_fan_row(&ev.fan_rows.v[ev.fan_next], &budget)) {
			evtimer_add(ev.fan, &now);
			return;
		}
		ev.fan_next++;
	}
	events_fan_end();
}

static void events_fan_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	events_fan();
}

static void events_live_done(void *arg, const struct db_reply *reply)
{
	(void)arg;
	if (reply->status != DB_OK) {
		log_debug("events: live read: %s",
			  db_status_name(reply->status));
	} else if (events_rows_read(reply->results[0], &ev.fan_rows) != 0) {
		log_warnx("events: out of memory for the live read");
	} else {
		ev.fan_next = 0;
		/* the deliveries' audit rows go once the copies are written */
		evaudit_hold(1);
		events_fan();
		return;
	}
	events_mark_all_dirty();
	ev.live_running = 0;
	if (ev.live_again) {
		ev.live_again = 0;
		events_kick();
	}
}

/* Build the two array literals of the dirty institutions; count or -1. */
static int events_live_arrays(char **ids, char **heads)
{
	struct events_inst *in;
	size_t n = 0, cap, ui = 0, uh = 0;

	TAILQ_FOREACH(in, &ev.insts, entry)
	n += in->dirty && in->nsubs > 0;
	if (n == 0)
		return 0;
	cap = n * 22 + 3;
	*ids = malloc(cap);
	*heads = malloc(cap);
	if (*ids == NULL || *heads == NULL) {
		free(*ids);
		free(*heads);
		return -1;
	}
	(*ids)[ui++] = '{';
	(*heads)[uh++] = '{';
	TAILQ_FOREACH(in, &ev.insts, entry)
	{
		if (!in->dirty || in->nsubs == 0)
			continue;
		in->dirty = 0;
		ui += (size_t)snprintf(*ids + ui, cap - ui, "%s%" PRId64,
				       ui > 1 ? "," : "", in->id);
		uh += (size_t)snprintf(*heads + uh, cap - uh, "%s%" PRIu64,
				       uh > 1 ? "," : "", in->head);
	}
	snprintf(*ids + ui, cap - ui, "}");
	snprintf(*heads + uh, cap - uh, "}");
	return (int)n;
}

static void events_live(void)
{
	char *ids = NULL, *heads = NULL;
	const char *params[2];
	struct db_job *job;
	int n;

	if (ev.live_running) {
		ev.live_again = 1;
		return;
	}
	n = events_live_arrays(&ids, &heads);
	if (n <= 0)
		return;
	params[0] = ids;
	params[1] = heads;
	job = db_job_new();
	if (job == NULL || db_job_add(job, events_live_sql, 2, params) != 0) {
		db_job_free(job);
		events_mark_all_dirty();
	} else {
		ev.live_running = 1;
		db_submit_first(ev.srv->db, job, events_live_done, NULL);
	}
	free(ids);
	free(heads);
}

static void events_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	events_live();
}

static void events_notified(void *arg, const char *payload)
{
	struct events_inst *in;

	(void)arg;
	if (payload == NULL) {
		events_mark_all_dirty();
	} else {
		in = events_inst_find(strtoll(payload, NULL, 10));
		if (in == NULL)
			return;
		in->dirty = 1;
	}
	events_kick();
}

/* ---- timers ---------------------------------------------------------- */

static void events_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct events_inst *in;
	struct events_sub *s;

	(void)fd;
	(void)what;
	(void)arg;
	events_mark_all_dirty();
	events_live();
	TAILQ_FOREACH(in, &ev.insts, entry)
	{
		TAILQ_FOREACH(s, &in->subs, entry)
		{
			if (s->state == EVENTS_SUB_REPLAY && !s->fetching)
				events_replay(s);
		}
	}
}

static void events_deadline_done(void *arg, const struct db_reply *reply)
{
	int64_t fired;

	(void)arg;
	ev.deadline_running = 0;
	if (reply->status != DB_OK) {
		log_debug("events: deadlines: %s %s",
			  db_status_name(reply->status), reply->sqlstate);
		return;
	}
	fired = req_int(reply->results[0], 0, 0);
	if (fired > 0)
		log_notice("events: %" PRId64 " acknowledgement deadline%s "
			   "lapsed, escalated",
			   fired, fired > 1 ? "s" : "");
}

static void events_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_job *job;

	(void)fd;
	(void)what;
	(void)arg;
	if (ev.deadline_running || db_pool_up(ev.srv->db) == 0)
		return;
	job = db_job_new();
	if (job == NULL || db_job_add(job, events_deadline_sql, 0, NULL) != 0) {
		db_job_free(job);
		return;
	}
	ev.deadline_running = 1;
	db_submit(ev.srv->db, job, events_deadline_done, NULL);
}

static struct event *events_timer(event_callback_fn cb, unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000};
	struct event *e = event_new(ev.srv->base, -1, EV_PERSIST, cb, NULL);

	if (e != NULL && event_add(e, &tv) != 0) {
		event_free(e);
		return NULL;
	}
	return e;
}

int events_start(struct server *srv)
{
	memset(&ev, 0, sizeof(ev));
	TAILQ_INIT(&ev.insts);
	ev.srv = srv;
	ev.wake = event_new(srv->base, -1, 0, events_wake_cb, NULL);
	ev.fan = evtimer_new(srv->base, events_fan_cb, NULL);
	ev.poll = events_timer(events_poll_cb, srv->cfg.events_poll_ms);
	ev.deadline =
		events_timer(events_deadline_cb, srv->cfg.deadline_check_ms);
	if (ev.wake == NULL || ev.fan == NULL || ev.poll == NULL ||
	    ev.deadline == NULL || evaudit_start(srv) != 0 ||
	    db_pool_listen(srv->db, EVENTS_CHANNEL, events_notified, NULL) !=
		    0) {
		events_stop();
		return -1;
	}
	return 0;
}

void events_stop(void)
{
	struct events_inst *in;
	struct events_sub *s;

	while ((in = TAILQ_FIRST(&ev.insts)) != NULL) {
		while ((s = TAILQ_FIRST(&in->subs)) != NULL) {
			struct conn *c = conn_find(s->conn_id);
			if (c != NULL)
				c->sub = NULL;
			TAILQ_REMOVE(&in->subs, s, entry);
			free(s);
		}
		TAILQ_REMOVE(&ev.insts, in, entry);
		free(in);
	}
	if (ev.wake != NULL)
		event_free(ev.wake);
	if (ev.poll != NULL)
		event_free(ev.poll);
	if (ev.deadline != NULL)
		event_free(ev.deadline);
	if (ev.fan != NULL)
		event_free(ev.fan);
	ev.wake = ev.poll = ev.deadline = ev.fan = NULL;
	events_rows_free(&ev.fan_rows);
	evaudit_stop();
	ev.nsubs = 0;
}

unsigned events_subscribers(void)
{
	return ev.nsubs;
}

/* ---- subscriptions --------------------------------------------------- */

void events_unsubscribe(struct conn *c)
{
	struct events_sub *s = c->sub;
	struct events_inst *in;

	if (s == NULL)
		return;
	in = s->inst;
	TAILQ_REMOVE(&in->subs, s, entry);
	in->nsubs--;
	ev.nsubs--;
	if (in->nsubs == 0) {
		TAILQ_REMOVE(&ev.insts, in, entry);
		free(in);
	}
	free(s);
	c->sub = NULL;
}

/* Attach a new subscriber at `cursor`; the institution's head is `head`. */
static int events_subscribe(struct conn *c, const struct acl_subject *subj,
			    uint64_t cursor, uint64_t head)
{
	struct events_inst *in = events_inst_find(c->account.institution_id);
	struct events_sub *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	if (in == NULL) {
		in = calloc(1, sizeof(*in));
		if (in == NULL) {
			free(s);
			return -1;
		}
		in->id = c->account.institution_id;
		in->head = head;
		TAILQ_INIT(&in->subs);
		TAILQ_INSERT_TAIL(&ev.insts, in, entry);
	}
	s->conn_id = c->id;
	s->inst = in;
	s->cursor = cursor;
	s->subject = *subj;
	s->state = cursor < in->head ? EVENTS_SUB_REPLAY : EVENTS_SUB_LIVE;
	TAILQ_INSERT_TAIL(&in->subs, s, entry);
	in->nsubs++;
	ev.nsubs++;
	c->sub = s;
	/* Whatever happened since the head was read comes with the live read.
	 */
	in->dirty = 1;
	events_kick();
	if (s->state == EVENTS_SUB_REPLAY)
		events_replay(s);
	return 0;
}

struct events_watch_arg {
	uint64_t after_seq;
	int from_now;
};

static void events_watch_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct events_watch_arg *w = r->data;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__WatchStarted ws = MAILLAGE__WATCH_STARTED__INIT;
	struct acl_subject subj;
	uint64_t head, cursor;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	if (c->sub != NULL || req_subject(c, &subj) != 0) {
		req_refuse(c, r, MAILLAGE__ERROR_CODE__CONFLICT, NULL,
			   "this connection is already watching");
		goto out;
	}
	head = (uint64_t)req_int(reply->results[0], 0, 0);
	cursor = w->from_now || w->after_seq > head ? head : w->after_seq;
	if (!w->from_now && w->after_seq > head)
		log_notice("conn %" PRIu64 " %s: watch after %" PRIu64
			   " but the stream ends at %" PRIu64 "; from there",
			   c->id, c->peer, w->after_seq, head);
	ws.head_seq = head;
	ws.after_seq = cursor;
	env.body_case = MAILLAGE__ENVELOPE__BODY_WATCH_STARTED;
	env.watch_started = &ws;
	req_reply(c, r, &env);
	conn_set_watching(c);
	if (events_subscribe(c, &subj, cursor, head) != 0)
		conn_close(c, "out of memory for a subscription");
out:
	req_free(r);
}

void events_watch(struct conn *c, const Maillage__Envelope *env)
{
	struct acl_subject subj;
	struct events_watch_arg *w;
	struct req *r;
	struct db_job *job;
	char inst[24];
	const char *params[1];

	if (req_subject(c, &subj) != 0 ||
	    acl_role_may(subj.role, ACL_OP_WATCH) != ACL_ALLOW) {
		req_refuse_early(c, env->request_id, "watch",
				 MAILLAGE__ERROR_CODE__FORBIDDEN, NULL,
				 "this role receives no events");
		return;
	}
	if (c->sub != NULL) {
		req_refuse_early(c, env->request_id, "watch",
				 MAILLAGE__ERROR_CODE__CONFLICT, NULL,
				 "this connection is already watching");
		return;
	}
	/*
	 * Without the matrices every notice event would be judged unreadable
	 * and skipped for good (the cursor passes it): refuse until loaded.
	 */
	if (policy_current(ev.srv) == NULL) {
		req_refuse_early(c, env->request_id, "watch",
				 MAILLAGE__ERROR_CODE__UNAVAILABLE, NULL,
				 "access rules not loaded yet, retry later");
		return;
	}
	r = req_new(c, env->request_id, "watch", sizeof(*w));
	if (r == NULL) {
		req_oom(c, env->request_id);
		return;
	}
	w = r->data;
	w->after_seq = env->watch->after_seq;
	w->from_now = env->watch->from_now;
	params[0] = req_fmt_int(inst, c->account.institution_id);
	job = db_job_new();
	if (job != NULL && (db_job_add(job, events_head_sql, 1, params) != 0 ||
			    req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, events_watch_done);
}
