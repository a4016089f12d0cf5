/*
 * events: subscribers, replay, live fan-out and deadlines; see events.h.
 *
 * A subscriber is in one of two states. REPLAY: it is behind its
 * institution's live head and reads pages of its own (at most one query in
 * flight, paused while its output is more than half full). LIVE: it is at
 * the head and receives what the shared live query reads for its
 * institution. The live query runs when a notification, the poll timer or a
 * new institution makes an institution dirty; at most one runs at a time.
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
#include "log.h"
#include "policy.h"
#include "req.h"
#include "server.h"

#define EVENTS_CHANNEL "maillage_event"
#define EVENTS_PAGE 256
#define EVENTS_LIVE_MAX 2000
#define EVENTS_DEADLINE_BATCH 100

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

static struct {
	struct server *srv;
	TAILQ_HEAD(, events_inst) insts;
	unsigned nsubs;
	struct event *wake;
	struct event *poll;
	struct event *deadline;
	int live_running;
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
	"EXISTS (SELECT 1 FROM case_party cp WHERE cp.case_id = e.case_id "    \
	"AND cp.institution_id = e.institution_id), "                          \
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

static const char events_replay_sql[] =
	"SELECT " EVENTS_COLUMNS " FROM inst_event e"
	" WHERE e.institution_id = $1::bigint AND e.seq > $2::bigint"
	" AND e.seq <= $3::bigint ORDER BY e.seq LIMIT 256";

static const char events_live_sql[] =
	"SELECT " EVENTS_COLUMNS " FROM inst_event e"
	" JOIN unnest($1::bigint[], $2::bigint[]) AS c(inst, after)"
	" ON e.institution_id = c.inst AND e.seq > c.after"
	" ORDER BY e.institution_id, e.seq LIMIT 2000";

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

/* ---- delivery -------------------------------------------------------- */

enum events_access {
	EVENTS_HIDDEN = 0, /* not for this subscriber */
	EVENTS_CASE_ONLY,  /* the case yes, the notice it names no */
	EVENTS_WHOLE
};

/*
 * What may the subscriber learn of the event in `row`? acl decides, on
 * what the subscriber is to the case now (party, lead: read at delivery,
 * not when the event was written), exactly as for `case show`.
 */
static enum events_access events_access(const struct events_sub *s,
					const PGresult *res, int row)
{
	struct acl_subject subj = s->subject;
	const char *vis = PQgetvalue(res, row, COL_VIS);
	const struct acl_policy *p;
	int v;

	subj.is_party = req_bool(res, row, COL_PARTY);
	subj.is_lead = req_bool(res, row, COL_LEAD);
	if (acl_case_visible(&subj) != ACL_ALLOW)
		return EVENTS_HIDDEN;
	if (vis[0] == '\0')
		return EVENTS_WHOLE;
	p = policy_current(ev.srv);
	v = acl_visibility_from_name(vis);
	if (p != NULL && v >= 0 &&
	    acl_notice_readable(p, &subj, (enum acl_visibility)v,
				req_int(res, row, COL_AUTHOR) == s->inst->id) ==
		    ACL_ALLOW)
		return EVENTS_WHOLE;
	/* A lapsed alert concerns the case whatever its notice's class. */
	if (strcmp(PQgetvalue(res, row, COL_WHAT), "escalation") == 0)
		return EVENTS_CASE_ONLY;
	return EVENTS_HIDDEN;
}

static void events_send_row(struct conn *c, const PGresult *res, int row,
			    enum events_access access)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Event e = MAILLAGE__EVENT__INIT;

	e.what = req_str(res, row, COL_WHAT);
	e.at = req_str(res, row, COL_AT);
	e.case_id = req_int(res, row, COL_CASE);
	e.person_id = req_int(res, row, COL_PERSON);
	e.notice_id = req_int(res, row, COL_NOTICE);
	e.kind = req_str(res, row, COL_KIND);
	e.urgency = req_str(res, row, COL_URGENCY);
	e.about = req_str(res, row, COL_ABOUT);
	e.state = req_str(res, row, COL_STATE);
	if (access == EVENTS_CASE_ONLY) {
		e.notice_id = 0;
		e.kind = (char *)"";
		e.urgency = (char *)"";
	}
	env.seq = (uint64_t)req_int(res, row, COL_SEQ);
	env.body_case = MAILLAGE__ENVELOPE__BODY_EVENT;
	env.event = &e;
	conn_send(c, &env);
}

/* Deliver row `row` to `s` if it is new to it; advances its cursor. */
static void events_deliver(struct events_sub *s, const PGresult *res, int row)
{
	uint64_t seq = (uint64_t)req_int(res, row, COL_SEQ);
	enum events_access access;
	struct conn *c;

	if (seq <= s->cursor)
		return;
	s->cursor = seq;
	c = conn_find(s->conn_id);
	if (c == NULL || c->state != CONN_READY)
		return;
	access = events_access(s, res, row);
	if (access != EVENTS_HIDDEN)
		events_send_row(c, res, row, access);
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
	const PGresult *res;
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
	res = reply->results[0];
	n = PQntuples(res);
	for (i = 0; i < n; i++)
		events_deliver(s, res, i);
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

static void events_live_rows(const PGresult *res)
{
	struct events_inst *in = NULL;
	struct events_sub *s;
	int i, n = PQntuples(res);

	for (i = 0; i < n; i++) {
		int64_t id = req_int(res, i, COL_INST);
		uint64_t seq = (uint64_t)req_int(res, i, COL_SEQ);

		if (in == NULL || in->id != id)
			in = events_inst_find(id);
		if (in == NULL || seq <= in->head)
			continue;
		in->head = seq;
		TAILQ_FOREACH(s, &in->subs, entry)
		{
			if (s->state == EVENTS_SUB_LIVE)
				events_deliver(s, res, i);
		}
	}
	if (n >= EVENTS_LIVE_MAX) {
		/* More to read: go round again at once. */
		events_mark_all_dirty();
		ev.live_again = 1;
	}
}

static void events_live_done(void *arg, const struct db_reply *reply)
{
	(void)arg;
	ev.live_running = 0;
	if (reply->status != DB_OK) {
		log_debug("events: live read: %s",
			  db_status_name(reply->status));
		events_mark_all_dirty();
	} else {
		events_live_rows(reply->results[0]);
	}
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
		db_submit(ev.srv->db, job, events_live_done, NULL);
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
	ev.poll = events_timer(events_poll_cb, srv->cfg.events_poll_ms);
	ev.deadline =
		events_timer(events_deadline_cb, srv->cfg.deadline_check_ms);
	if (ev.wake == NULL || ev.poll == NULL || ev.deadline == NULL ||
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
	ev.wake = ev.poll = ev.deadline = NULL;
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
