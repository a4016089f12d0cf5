/*
 * db: asynchronous PostgreSQL pool on libpq's non-blocking API and pipeline
 * mode; see db.h. Each connection's state changes only in dbc_set_state(),
 * which logs the transition.
 *
 * Each connection prepares a statement text the first time it runs it (a
 * Prepare sent in the same pipeline, just before the statement), and runs
 * it by name afterwards, so PostgreSQL parses and plans it once per
 * connection. The connection's table of prepared texts is forgotten with
 * the connection. One connection at a time LISTENs (another takes over when
 * it is lost), so a NOTIFY reaches the daemon once.
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "log.h"

enum dbc_state { DBC_DOWN = 0, DBC_CONNECTING, DBC_IDLE, DBC_BUSY };

static const char *const dbc_state_names[] = {"down", "connecting", "idle",
					      "busy"};

struct db_stmt {
	char *sql;
	int nparams;
	char *params[DB_MAX_PARAMS];
	int binary; /* results in binary format */
};

struct dbc_prep;

struct db_job {
	TAILQ_ENTRY(db_job) entry;
	int nstmts;
	struct db_stmt stmts[DB_MAX_STMTS];
	/* Statements preceded by their Prepare in this run, and its entry. */
	uint32_t prep_mask;
	struct dbc_prep *prep[DB_MAX_STMTS];
	int in_prep;   /* the results being read are the Prepare's of `cur` */
	int prep_used; /* a statement ran by name */
	db_done_fn *done;
	void *arg;
	/* Filled while running. */
	struct db_reply reply;
	int cur;		    /* statement whose results are being read */
	int cur_seen;		    /* a result was seen for `cur` */
	enum db_status fail_status; /* for deferred failures */
	int retries;		    /* runs lost to deadlock/serialization */
	int groupable;		    /* may share a transaction (db_job_group) */
	int solo;		    /* its group failed: run it alone */
	struct db_job *gnext;	    /* next job of its group, when running */
};

TAILQ_HEAD(db_job_list, db_job);

/* One channel listened to, and where its notifications go. */
struct db_listen {
	char *channel;
	char *sql; /* "LISTEN channel" */
	db_notify_fn *notify;
	void *arg;
};

/* A statement text prepared (or being prepared) on one connection. */
struct dbc_prep {
	struct dbc_prep *next; /* in its hash bucket */
	char *sql;
	uint32_t hash;
	unsigned id; /* its name: "mg<id>" */
	int sent;    /* the Prepare was sent (and did not fail) */
};

#define DBC_PREP_BUCKETS 256
#define DBC_PREP_MAX 1024 /* more distinct texts run unprepared */

struct dbc {
	struct db_pool *pool;
	unsigned index;
	enum dbc_state state;
	PGconn *pg;
	struct event *ev; /* socket readiness */
	evutil_socket_t ev_fd;
	short ev_what;
	struct event *timer; /* connect timeout, backoff, job timeout */
	struct db_job *job;  /* running job (a group's first) when busy */
	struct db_job *rjob; /* the job whose results are being read */
	int flushing;	     /* PQflush returned 1: wait for writable */
	unsigned backoff_ms;
	int ever_up;
	struct dbc_prep *prep[DBC_PREP_BUCKETS];
	unsigned nprep;	  /* entries in the table */
	unsigned prep_id; /* next name; never reused on a connection */
	int listening;	  /* this connection holds the pool's LISTENs */
	int skip;	  /* items to read past: a group's marker */
};

struct db_pool {
	struct event_base *base;
	char *conninfo;
	char **kw, **val; /* the connection's parameters (db_conn_params) */
	unsigned size;
	unsigned connect_timeout;
	unsigned query_timeout;
	struct dbc *conns;
	struct db_job_list queue;
	unsigned queued;
	struct db_job_list failed; /* awaiting their deferred callback */
	struct event *failed_ev;
	db_ready_fn *ready;
	void *ready_arg;
	int ready_sent;
	unsigned initial_failures;
	int freeing;
	/* LISTEN on one connection, one entry per channel */
	struct db_listen listens[DB_LISTEN_MAX];
	unsigned nlistens;
	struct dbc *listener; /* the connection that LISTENs, or NULL */
	int relisten;	      /* a channel was added: LISTEN again */
	struct event *listen_ev;
};

#define DBC_BACKOFF_MIN_MS 100u
#define DB_MAX_RETRIES 3
#define DBC_BACKOFF_MAX_MS 5000u

static void dbc_connect(struct dbc *c);
static void dbc_start(struct dbc *c, struct db_job *job);
static void dbc_event(evutil_socket_t fd, short what, void *arg);
static void db_pump(struct db_pool *pool);

const char *db_status_name(enum db_status status)
{
	switch (status) {
	case DB_OK:
		return "ok";
	case DB_SQL_ERROR:
		return "sql_error";
	case DB_UNAVAILABLE:
		return "unavailable";
	case DB_TIMEOUT:
		return "timeout";
	}
	return "unknown";
}

/* ---- jobs ---------------------------------------------------------- */

struct db_job *db_job_new(void)
{
	return calloc(1, sizeof(struct db_job));
}

int db_job_add(struct db_job *job, const char *sql, int nparams,
	       const char *const *params)
{
	struct db_stmt *st;
	int i;

	if (job->nstmts >= DB_MAX_STMTS || nparams < 0 ||
	    nparams > DB_MAX_PARAMS)
		return -1;
	st = &job->stmts[job->nstmts];
	memset(st, 0, sizeof(*st));
	st->sql = strdup(sql);
	if (st->sql == NULL)
		return -1;
	job->nstmts++;
	for (i = 0; i < nparams; i++) {
		if (params[i] == NULL)
			continue;
		st->params[i] = strdup(params[i]);
		if (st->params[i] == NULL)
			return -1;
	}
	st->nparams = nparams;
	return 0;
}

static void db_job_clear_results(struct db_job *job)
{
	int i;

	for (i = 0; i < job->reply.nresults; i++) {
		PQclear(job->reply.results[i]);
		job->reply.results[i] = NULL;
	}
	job->reply.nresults = 0;
}

int db_job_binary(struct db_job *job)
{
	if (job->nstmts == 0)
		return -1;
	job->stmts[job->nstmts - 1].binary = 1;
	return 0;
}

int db_job_group(struct db_job *job)
{
	job->groupable = 1;
	return 0;
}

void db_job_free(struct db_job *job)
{
	int i, j;

	if (job == NULL)
		return;
	db_job_clear_results(job);
	for (i = 0; i < job->nstmts; i++) {
		free(job->stmts[i].sql);
		for (j = 0; j < job->stmts[i].nparams; j++)
			free(job->stmts[i].params[j]);
	}
	free(job);
}

/* Run the submitter's callback once, then free the job. */
static void db_job_finish(struct db_job *job)
{
	if (job->done != NULL)
		job->done(job->arg, &job->reply);
	db_job_free(job);
}

static void db_failed_flush(evutil_socket_t fd, short what, void *arg)
{
	struct db_pool *pool = arg;
	struct db_job *job;

	(void)fd;
	(void)what;
	while ((job = TAILQ_FIRST(&pool->failed)) != NULL) {
		TAILQ_REMOVE(&pool->failed, job, entry);
		db_job_clear_results(job);
		job->reply.status = job->fail_status;
		db_job_finish(job);
	}
}

/* Fail a job from outside its callback's natural path: defer it. */
static void db_job_fail_later(struct db_pool *pool, struct db_job *job,
			      enum db_status status)
{
	job->fail_status = status;
	TAILQ_INSERT_TAIL(&pool->failed, job, entry);
	if (!pool->freeing)
		event_active(pool->failed_ev, EV_TIMEOUT, 0);
}

/* ---- connections --------------------------------------------------- */

static void dbc_set_state(struct dbc *c, enum dbc_state state)
{
	if (c->state == state)
		return;
	log_debug("db[%u]: %s -> %s", c->index, dbc_state_names[c->state],
		  dbc_state_names[state]);
	c->state = state;
}

/* Watch the libpq socket for `what`; re-reads PQsocket() every time. */
static int dbc_watch(struct dbc *c, short what)
{
	evutil_socket_t fd = PQsocket(c->pg);

	if (fd < 0)
		return -1;
	if (c->ev != NULL && c->ev_fd == fd && c->ev_what == what)
		return 0;
	if (c->ev != NULL)
		event_free(c->ev);
	c->ev = event_new(c->pool->base, fd, what | EV_PERSIST, dbc_event, c);
	if (c->ev == NULL || event_add(c->ev, NULL) != 0)
		return -1;
	c->ev_fd = fd;
	c->ev_what = what;
	return 0;
}

static void dbc_timer_set(struct dbc *c, unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(c->timer, &tv);
}

/* ---- prepared statements ------------------------------------------ */

static uint32_t dbc_prep_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* The connection's entry for `sql`, added if new; NULL when full. */
static struct dbc_prep *dbc_prep_get(struct dbc *c, const char *sql)
{
	uint32_t h = dbc_prep_hash(sql);
	struct dbc_prep **b = &c->prep[h % DBC_PREP_BUCKETS], *p;

	for (p = *b; p != NULL; p = p->next)
		if (p->hash == h && strcmp(p->sql, sql) == 0)
			return p;
	if (c->nprep >= DBC_PREP_MAX)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->sql = strdup(sql)) == NULL) {
		free(p);
		return NULL;
	}
	p->hash = h;
	p->id = c->prep_id++;
	c->nprep++;
	p->next = *b;
	*b = p;
	return p;
}

/* Forget every prepared statement (the connection is gone or stale). */
static void dbc_prep_clear(struct dbc *c)
{
	unsigned i;

	for (i = 0; i < DBC_PREP_BUCKETS; i++) {
		while (c->prep[i] != NULL) {
			struct dbc_prep *p = c->prep[i];
			c->prep[i] = p->next;
			free(p->sql);
			free(p);
		}
	}
	c->nprep = 0;
}

static void dbc_release(struct dbc *c)
{
	if (c->ev != NULL) {
		event_free(c->ev);
		c->ev = NULL;
	}
	c->ev_fd = -1;
	c->ev_what = 0;
	evtimer_del(c->timer);
	if (c->pg != NULL) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	c->flushing = 0;
	dbc_prep_clear(c);
	c->prep_id = 0;
}

static void db_check_ready(struct db_pool *pool, int connected)
{
	if (pool->ready_sent || pool->ready == NULL)
		return;
	if (!connected && pool->initial_failures < pool->size)
		return;
	pool->ready_sent = 1;
	pool->ready(pool->ready_arg, connected);
}

/* With no usable connection, queued jobs cannot be served: fail them. */
static void db_fail_queue_if_down(struct db_pool *pool)
{
	struct db_job *job;

	if (db_pool_up(pool) > 0)
		return;
	while ((job = TAILQ_FIRST(&pool->queue)) != NULL) {
		TAILQ_REMOVE(&pool->queue, job, entry);
		pool->queued--;
		db_job_fail_later(pool, job, DB_UNAVAILABLE);
	}
}

/*
 * Say why a connection went away: a warning when a usable connection is
 * lost or a first attempt fails, debug for the retries that follow.
 */
static void dbc_log_loss(struct dbc *c, enum db_status why)
{
	const char *msg = c->pg != NULL ? PQerrorMessage(c->pg) : "";
	int retry = c->state == DBC_CONNECTING &&
		    c->backoff_ms > DBC_BACKOFF_MIN_MS;

	if (retry && !log_enabled(CONFIG_LOG_DEBUG))
		return;
	(retry ? log_debug : log_warnx)(
		"db[%u]: %s %s%s%.200s", c->index,
		c->state == DBC_CONNECTING ? "connect" : "connection",
		why == DB_TIMEOUT ? "timed out" : "failed",
		msg[0] != '\0' ? ": " : "", msg);
}

/* The connection is gone (or timed out): fail its job, retry later. */
static void dbc_lost(struct dbc *c, enum db_status why)
{
	struct db_job *job = c->job;
	int was_busy = c->state == DBC_BUSY;
	unsigned delay;

	dbc_log_loss(c, why);
	c->job = NULL;
	c->rjob = NULL;
	dbc_release(c);
	if (c->pool->listener == c) {
		c->pool->listener = NULL;
		if (!c->pool->freeing)
			event_active(c->pool->listen_ev, EV_TIMEOUT, 0);
	}
	c->listening = 0;
	if (c->state == DBC_CONNECTING && !c->ever_up)
		c->pool->initial_failures++;
	dbc_set_state(c, DBC_DOWN);
	while (job != NULL) {
		struct db_job *next = job->gnext;
		job->gnext = NULL;
		db_job_fail_later(c->pool, job, why);
		job = next;
	}
	db_fail_queue_if_down(c->pool);
	db_check_ready(c->pool, 0);
	if (c->pool->freeing)
		return;
	/* A timed-out job's connection is healthy as far as we know. */
	delay = (why == DB_TIMEOUT && was_busy) ? 0 : c->backoff_ms;
	if (c->backoff_ms < DBC_BACKOFF_MAX_MS)
		c->backoff_ms = c->backoff_ms * 2 > DBC_BACKOFF_MAX_MS
					? DBC_BACKOFF_MAX_MS
					: c->backoff_ms * 2;
	dbc_timer_set(c, delay);
}

static void db_listen_done(void *arg, const struct db_reply *reply)
{
	struct dbc *c = arg;
	unsigned i;

	if (reply->status != DB_OK) {
		log_warnx("db[%u]: LISTEN failed: %s %s", c->index,
			  db_status_name(reply->status), reply->sqlstate);
		if (c->pool->listener == c) {
			c->pool->listener = NULL;
			c->listening = 0;
			if (!c->pool->freeing)
				event_active(c->pool->listen_ev, EV_TIMEOUT, 0);
		}
		return;
	}
	/* Subscribed again: whatever was notified meanwhile is lost. */
	for (i = 0; i < c->pool->nlistens; i++)
		c->pool->listens[i].notify(c->pool->listens[i].arg, NULL);
}

/*
 * Make idle connection `c` the pool's listener when there is none, and
 * start its LISTENs before any job; 0, or -1 (then pump).
 */
static int dbc_start_listen(struct dbc *c)
{
	struct db_job *job;
	unsigned i;

	if (c->pool->nlistens == 0 || c->state != DBC_IDLE ||
	    (c->pool->listener != NULL && c->pool->listener != c))
		return -1;
	job = db_job_new();
	for (i = 0; job != NULL && i < c->pool->nlistens; i++) {
		if (db_job_add(job, c->pool->listens[i].sql, 0, NULL) != 0) {
			db_job_free(job);
			job = NULL;
		}
	}
	if (job == NULL) {
		log_warnx("db[%u]: out of memory for LISTEN", c->index);
		return -1;
	}
	job->done = db_listen_done;
	job->arg = c;
	c->pool->listener = c;
	c->listening = 1;
	dbc_start(c, job);
	return 0;
}

/* The listener was lost: an idle connection takes over (or the next). */
static void db_listen_move(evutil_socket_t fd, short what, void *arg)
{
	struct db_pool *pool = arg;
	unsigned i;

	(void)fd;
	(void)what;
	for (i = 0; i < pool->size && pool->listener == NULL; i++)
		dbc_start_listen(&pool->conns[i]);
}

/* Hand the notifications libpq has read to the channels' listeners. */
static void dbc_notifies(struct dbc *c)
{
	PGnotify *n;
	unsigned i;

	while ((n = PQnotifies(c->pg)) != NULL) {
		for (i = 0; i < c->pool->nlistens; i++) {
			const struct db_listen *l = &c->pool->listens[i];
			if (strcmp(l->channel, n->relname) == 0)
				l->notify(l->arg, n->extra);
		}
		PQfreemem(n);
	}
}

static void dbc_up(struct dbc *c)
{
	if (PQsetnonblocking(c->pg, 1) != 0 ||
	    PQenterPipelineMode(c->pg) != 1) {
		dbc_lost(c, DB_UNAVAILABLE);
		return;
	}
	evtimer_del(c->timer);
	c->backoff_ms = DBC_BACKOFF_MIN_MS;
	c->ever_up = 1;
	dbc_set_state(c, DBC_IDLE);
	if (dbc_watch(c, EV_READ) != 0) {
		dbc_lost(c, DB_UNAVAILABLE);
		return;
	}
	log_info("db[%u]: connected", c->index);
	db_check_ready(c->pool, 1);
	if (c->state == DBC_IDLE && dbc_start_listen(c) == 0)
		return;
	db_pump(c->pool);
}

static void dbc_connect_poll(struct dbc *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		if (dbc_watch(c, EV_READ) != 0)
			dbc_lost(c, DB_UNAVAILABLE);
		return;
	case PGRES_POLLING_WRITING:
		if (dbc_watch(c, EV_WRITE) != 0)
			dbc_lost(c, DB_UNAVAILABLE);
		return;
	case PGRES_POLLING_OK:
		dbc_up(c);
		return;
	case PGRES_POLLING_FAILED:
	default:
		dbc_lost(c, DB_UNAVAILABLE);
		return;
	}
}

static void dbc_connect(struct dbc *c)
{
	c->pg = c->pool->kw != NULL
			? PQconnectStartParams(
				  (const char *const *)c->pool->kw,
				  (const char *const *)c->pool->val, 0)
			: PQconnectStart(c->pool->conninfo);
	dbc_set_state(c, DBC_CONNECTING);
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
		dbc_lost(c, DB_UNAVAILABLE);
		return;
	}
	/* libpq does not enforce connect_timeout in async mode: our timer. */
	dbc_timer_set(c, c->pool->connect_timeout * 1000u);
	if (dbc_watch(c, EV_WRITE) != 0)
		dbc_lost(c, DB_UNAVAILABLE);
}

static void dbc_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dbc *c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case DBC_DOWN:
		dbc_connect(c);
		break;
	case DBC_CONNECTING:
	case DBC_BUSY:
		dbc_lost(c, DB_TIMEOUT);
		break;
	case DBC_IDLE:
		break;
	}
}

/* Send the job's statements and its Sync; flushing may need more calls. */
/* Send one statement: by name, after its Prepare the first time. */
static int dbc_send_stmt(struct dbc *c, struct db_job *job, int i)
{
	struct db_stmt *st = &job->stmts[i];
	struct dbc_prep *p = dbc_prep_get(c, st->sql);
	char name[16];

	if (p == NULL)
		return PQsendQueryParams(c->pg, st->sql, st->nparams, NULL,
					 (const char *const *)st->params, NULL,
					 NULL, st->binary);
	snprintf(name, sizeof(name), "mg%u", p->id);
	job->prep_used = 1;
	if (!p->sent) {
		if (!PQsendPrepare(c->pg, name, st->sql, st->nparams, NULL))
			return 0;
		p->sent = 1;
		job->prep_mask |= 1u << i;
		job->prep[i] = p;
	}
	return PQsendQueryPrepared(c->pg, name, st->nparams,
				   (const char *const *)st->params, NULL, NULL,
				   st->binary);
}

/*
 * Marks a transaction as a group's, for its lifetime: event_emit() then
 * takes the event streams' lock before any stream's counter
 * (sql/019_event_order.sql), so that two groups never wait for each
 * other's counters.
 */
static const char dbc_group_marker_sql[] =
	"SELECT set_config('maillage.group_commit', 'on', true)";

/* Send the statements of a job, or of each job of a group (after the
 * group's marker), then one Sync: one implicit transaction. */
static int dbc_send_job(struct dbc *c, struct db_job *job)
{
	int i, r;

	c->skip = 0;
	if (job->gnext != NULL) {
		if (!PQsendQueryParams(c->pg, dbc_group_marker_sql, 0, NULL,
				       NULL, NULL, NULL, 0))
			return -1;
		c->skip = 1;
	}
	for (; job != NULL; job = job->gnext) {
		for (i = 0; i < job->nstmts; i++)
			if (!dbc_send_stmt(c, job, i))
				return -1;
		job->in_prep = (int)(job->prep_mask & 1u);
	}
	if (!PQpipelineSync(c->pg))
		return -1;
	r = PQflush(c->pg);
	if (r < 0)
		return -1;
	c->flushing = r == 1;
	return dbc_watch(c, c->flushing ? EV_READ | EV_WRITE : EV_READ);
}

static void dbc_start(struct dbc *c, struct db_job *job)
{
	struct db_job *j;

	for (j = job; j != NULL; j = j->gnext) {
		memset(&j->reply, 0, sizeof(j->reply));
		j->reply.failed_stmt = -1;
		j->cur = 0;
		j->cur_seen = 0;
		j->in_prep = 0;
		j->prep_mask = 0;
		j->prep_used = 0;
		memset(j->prep, 0, sizeof(j->prep));
	}
	c->job = job;
	c->rjob = job;
	dbc_set_state(c, DBC_BUSY);
	dbc_timer_set(c, c->pool->query_timeout * 1000u);
	if (dbc_send_job(c, job) != 0)
		dbc_lost(c, DB_UNAVAILABLE);
}

static void dbc_record_result(struct db_job *job, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (job->cur >= job->nstmts) {
		/*
		 * An error after the last statement is the commit's (deferred
		 * triggers, a full disk, a serialization failure): nothing
		 * was stored, and the job must not count as done.
		 */
		if (st == PGRES_FATAL_ERROR && job->reply.failed_stmt < 0) {
			const char *state =
				PQresultErrorField(res, PG_DIAG_SQLSTATE);
			job->reply.failed_stmt = job->nstmts - 1;
			job->reply.status = DB_SQL_ERROR;
			snprintf(job->reply.sqlstate,
				 sizeof(job->reply.sqlstate), "%s",
				 state != NULL ? state : "");
			job->reply.constraint = NULL;
		}
		PQclear(res);
		return;
	}
	if (job->cur_seen || job->reply.results[job->cur] != NULL) {
		PQclear(res);
		return;
	}
	job->cur_seen = 1;
	job->reply.results[job->cur] = res;
	job->reply.nresults = job->cur + 1;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return;
	if (job->reply.failed_stmt < 0) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		job->reply.failed_stmt = job->cur;
		/* 57014: cancelled, by the server's copy of query_timeout
		 * (db_conn_params) should it go off before ours */
		job->reply.status = state != NULL && strcmp(state, "57014") == 0
					    ? DB_TIMEOUT
					    : DB_SQL_ERROR;
		snprintf(job->reply.sqlstate, sizeof(job->reply.sqlstate), "%s",
			 state != NULL ? state : "");
		job->reply.constraint =
			PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	}
}

/*
 * The result of the Prepare of statement `cur`. A failed Prepare is the
 * statement's failure (and the statement is prepared again next time).
 */
static void dbc_prep_result(struct db_job *job, PGresult *res)
{
	struct dbc_prep *p = job->prep[job->cur];

	if (job->cur_seen) {
		PQclear(res);
		return;
	}
	job->cur_seen = 1;
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		PQclear(res);
		return;
	}
	if (p != NULL)
		p->sent = 0;
	dbc_record_result(job, res);
}

/* One pipeline item's results are over: the next is a Prepare or not,
 * of this job or, past its last statement, of the next of its group. */
static void dbc_item_end(struct dbc *c, struct db_job *job)
{
	job->cur_seen = 0;
	if (job->in_prep) {
		job->in_prep = 0;
		return;
	}
	job->cur++;
	job->in_prep = job->cur < DB_MAX_STMTS &&
		       (job->prep_mask & (1u << job->cur)) != 0;
	if (job->cur >= job->nstmts && job->gnext != NULL)
		c->rjob = job->gnext;
}

/*
 * A transaction that lost a deadlock or a serialization conflict committed
 * nothing: run it again (at the head of the queue), a few times at most.
 * So is one that ran prepared statements whose plans the schema outdated
 * (0A000, "cached plan must not change result type"), prepared anew.
 */
static int db_job_retry(struct db_pool *pool, struct db_job *job)
{
	if (job->reply.status != DB_SQL_ERROR ||
	    job->retries >= DB_MAX_RETRIES ||
	    (strcmp(job->reply.sqlstate, "40P01") != 0 &&
	     strcmp(job->reply.sqlstate, "40001") != 0 &&
	     (strcmp(job->reply.sqlstate, "0A000") != 0 || !job->prep_used)))
		return 0;
	job->retries++;
	log_info("db: transaction rolled back (sqlstate %s), running it again",
		 job->reply.sqlstate);
	db_job_clear_results(job);
	TAILQ_INSERT_HEAD(&pool->queue, job, entry);
	pool->queued++;
	return 1;
}

/*
 * A group's transaction failed: nothing of it was committed. Run each of
 * its jobs again, alone, at the head of the queue and in their order:
 * the one at fault then fails by itself, the others commit.
 */
static void dbc_group_retry(struct dbc *c, struct db_job *job)
{
	struct db_job *prev = NULL, *next;

	for (; job != NULL; job = next) {
		next = job->gnext;
		job->gnext = NULL;
		if (job->reply.status == DB_SQL_ERROR && job->prep_used &&
		    strcmp(job->reply.sqlstate, "0A000") == 0)
			dbc_prep_clear(c);
		db_job_clear_results(job);
		job->solo = 1;
		if (prev == NULL)
			TAILQ_INSERT_HEAD(&c->pool->queue, job, entry);
		else
			TAILQ_INSERT_AFTER(&c->pool->queue, prev, job, entry);
		c->pool->queued++;
		prev = job;
	}
}

static void dbc_job_done(struct dbc *c)
{
	struct db_job *job = c->job, *j;

	c->job = NULL;
	c->rjob = NULL;
	evtimer_del(c->timer);
	dbc_set_state(c, DBC_IDLE);
	if (job->gnext != NULL) {
		int failed = 0;

		for (j = job; j != NULL; j = j->gnext)
			failed |= j->reply.status != DB_OK;
		if (failed) {
			log_debug("db[%u]: a group of transactions rolled "
				  "back, each runs again alone",
				  c->index);
			dbc_group_retry(c, job);
			return;
		}
		while (job != NULL) {
			j = job->gnext;
			job->gnext = NULL;
			db_job_finish(job);
			job = j;
		}
		return;
	}
	/*
	 * "cached plan must not change result type": the schema changed under
	 * the prepared statements. Prepare them again (new names), run again.
	 */
	if (job->reply.status == DB_SQL_ERROR && job->prep_used &&
	    strcmp(job->reply.sqlstate, "0A000") == 0)
		dbc_prep_clear(c);
	if (db_job_retry(c->pool, job))
		return;
	if (job->reply.status == DB_SQL_ERROR)
		log_debug("db[%u]: statement %d failed: sqlstate %s", c->index,
			  job->reply.failed_stmt, job->reply.sqlstate);
	db_job_finish(job);
}

/* Read every result that is ready. Returns 1 when the job finished. */
static int dbc_read_results(struct dbc *c)
{
	int nulls = 0;

	while (!PQisBusy(c->pg)) {
		PGresult *res = PQgetResult(c->pg);
		struct db_job *job = c->rjob;
		if (c->skip > 0 &&
		    (res == NULL ||
		     PQresultStatus(res) != PGRES_PIPELINE_SYNC)) {
			/* the group's marker: its result, then its end */
			if (res != NULL) {
				PQclear(res);
				nulls = 0;
			} else {
				c->skip--;
			}
			continue;
		}
		if (res == NULL) {
			/* End of one item's results (a Prepare's or not). */
			if (job->cur_seen)
				dbc_item_end(c, job);
			if (++nulls > 1)
				return 0;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			dbc_job_done(c);
			return 1;
		}
		if (job->in_prep)
			dbc_prep_result(job, res);
		else
			dbc_record_result(job, res);
	}
	return 0;
}

static void dbc_event(evutil_socket_t fd, short what, void *arg)
{
	struct dbc *c = arg;

	(void)fd;
	if (c->state == DBC_CONNECTING) {
		dbc_connect_poll(c);
		return;
	}
	if (c->state == DBC_BUSY && c->flushing && (what & EV_WRITE)) {
		int r = PQflush(c->pg);
		if (r < 0) {
			dbc_lost(c, DB_UNAVAILABLE);
			return;
		}
		c->flushing = r == 1;
		if (!c->flushing && dbc_watch(c, EV_READ) != 0) {
			dbc_lost(c, DB_UNAVAILABLE);
			return;
		}
	}
	if (!(what & EV_READ))
		return;
	if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
		dbc_lost(c, DB_UNAVAILABLE);
		return;
	}
	/* Notifications first: a busy pool must not delay the wake-ups. */
	dbc_notifies(c);
	if (c->state == DBC_BUSY && dbc_read_results(c)) {
		/* Reading the results may have parsed more notifications. */
		if (c->pg != NULL)
			dbc_notifies(c);
		db_pump(c->pool);
	}
}

/* ---- pool ---------------------------------------------------------- */

/*
 * Hand queued jobs to idle connections, the listener last (an idle
 * listener hears a NOTIFY at once). A pool without a listener gets one.
 */
/*
 * The next job of the queue, with the jobs that may share its transaction
 * (group commit): consecutive groupable jobs, up to DB_GROUP_MAX, each
 * answered only after the common commit. Concurrent notices then cost
 * one commit, one WAL flush and one NOTIFY between them.
 */
static struct db_job *db_take(struct db_pool *pool)
{
	struct db_job *job = TAILQ_FIRST(&pool->queue), *last, *next;
	int n = 1;

	TAILQ_REMOVE(&pool->queue, job, entry);
	pool->queued--;
	job->gnext = NULL;
	if (!job->groupable || job->solo)
		return job;
	last = job;
	while (n < DB_GROUP_MAX && (next = TAILQ_FIRST(&pool->queue)) != NULL &&
	       next->groupable && !next->solo) {
		TAILQ_REMOVE(&pool->queue, next, entry);
		pool->queued--;
		next->gnext = NULL;
		last->gnext = next;
		last = next;
		n++;
	}
	return job;
}

static void db_pump(struct db_pool *pool)
{
	unsigned i, pass;

	if (pool->relisten && pool->listener != NULL &&
	    pool->listener->state == DBC_IDLE) {
		pool->relisten = 0;
		dbc_start_listen(pool->listener);
	}
	for (i = 0; i < pool->size && pool->listener == NULL; i++)
		dbc_start_listen(&pool->conns[i]);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < pool->size && !TAILQ_EMPTY(&pool->queue); i++) {
			struct dbc *c = &pool->conns[i];
			struct db_job *job;

			if (c->state != DBC_IDLE ||
			    (pool->listener == c) != (pass == 1))
				continue;
			job = db_take(pool);
			dbc_start(c, job);
		}
	}
}

unsigned db_pool_up(const struct db_pool *pool)
{
	unsigned i, n = 0;

	for (i = 0; i < pool->size; i++)
		if (pool->conns[i].state == DBC_IDLE ||
		    pool->conns[i].state == DBC_BUSY)
			n++;
	return n;
}

unsigned db_pool_pending(const struct db_pool *pool)
{
	unsigned i, n = pool->queued;

	for (i = 0; i < pool->size; i++) {
		const struct db_job *j;
		for (j = pool->conns[i].job; j != NULL; j = j->gnext)
			n++;
	}
	return n;
}

static void db_enqueue(struct db_pool *pool, struct db_job *job,
		       db_done_fn *done, void *arg, int first)
{
	job->done = done;
	job->arg = arg;
	/* freeing: a callback of a failed job submits more work (an audit
	 * record of a request whose connection is gone); it fails too */
	if (pool->freeing || db_pool_up(pool) == 0 ||
	    pool->queued >= DB_QUEUE_MAX || job->nstmts == 0) {
		db_job_fail_later(pool, job, DB_UNAVAILABLE);
		return;
	}
	if (first)
		TAILQ_INSERT_HEAD(&pool->queue, job, entry);
	else
		TAILQ_INSERT_TAIL(&pool->queue, job, entry);
	pool->queued++;
	db_pump(pool);
}

void db_submit(struct db_pool *pool, struct db_job *job, db_done_fn *done,
	       void *arg)
{
	db_enqueue(pool, job, done, arg, 0);
}

void db_submit_first(struct db_pool *pool, struct db_job *job, db_done_fn *done,
		     void *arg)
{
	db_enqueue(pool, job, done, arg, 1);
}

static void db_conn_params_free(struct db_pool *pool)
{
	size_t i;

	/* filled in order; a slot half filled (out of memory) is freed too */
	for (i = 0; pool->kw != NULL && pool->val != NULL &&
		    (pool->kw[i] != NULL || pool->val[i] != NULL);
	     i++) {
		free(pool->kw[i]);
		free(pool->val[i]);
	}
	free(pool->kw);
	free(pool->val);
	pool->kw = pool->val = NULL;
}

/*
 * The connection's parameters: those of the configured conninfo (a
 * keyword/value string or a URI), with the server told to cancel any
 * statement that runs past query_timeout, half a second after the pool
 * gives up on it (-c statement_timeout, added to
 * the conninfo's own options), so that a statement the pool gave up on
 * ends there too and stops holding its locks; PGOPTIONS, which an
 * explicit options parameter would hide, is merged in. 0, or -1 (out of
 * memory). A conninfo libpq cannot parse, or one naming a service (whose
 * file may set options of its own, which ours would hide) is used as it
 * is (pool->kw NULL: no statement_timeout from the pool).
 */
static int db_conn_params(struct db_pool *pool)
{
	PQconninfoOption *opts = PQconninfoParse(pool->conninfo, NULL), *o;
	char timeout[64];
	size_t n = 0, i = 0;
	int options_seen = 0;

	if (opts == NULL)
		return 0;
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "service") == 0 &&
		    (o->val != NULL || getenv("PGSERVICE") != NULL)) {
			PQconninfoFree(opts);
			return 0;
		}
		n += o->val != NULL;
	}
	pool->kw = calloc(n + 2, sizeof(*pool->kw));
	pool->val = calloc(n + 2, sizeof(*pool->val));
	if (pool->kw == NULL || pool->val == NULL)
		goto fail;
	/* half a second after the pool's own timer */
	snprintf(timeout, sizeof(timeout), "-c statement_timeout=%u",
		 pool->query_timeout * 1000u + 500u);
	for (o = opts; o->keyword != NULL; o++) {
		const char *v = o->val;
		char *merged = NULL;

		if (v == NULL)
			continue;
		if (strcmp(o->keyword, "options") == 0) {
			size_t len = strlen(v) + strlen(timeout) + 2;

			options_seen = 1;
			merged = malloc(len);
			if (merged == NULL)
				goto fail;
			snprintf(merged, len, "%s %s", v, timeout);
		}
		pool->kw[i] = strdup(o->keyword);
		pool->val[i] = merged != NULL ? merged : strdup(v);
		i++;
		if (pool->kw[i - 1] == NULL || pool->val[i - 1] == NULL)
			goto fail;
	}
	if (!options_seen) {
		const char *env = getenv("PGOPTIONS");
		size_t len =
			(env != NULL ? strlen(env) : 0) + strlen(timeout) + 2;

		pool->kw[i] = strdup("options");
		pool->val[i] = malloc(len);
		if (pool->kw[i] == NULL || pool->val[i] == NULL)
			goto fail;
		snprintf(pool->val[i], len, "%s%s%s", env != NULL ? env : "",
			 env != NULL ? " " : "", timeout);
	}
	PQconninfoFree(opts);
	return 0;
fail:
	PQconninfoFree(opts);
	db_conn_params_free(pool);
	return -1;
}

struct db_pool *db_pool_new(struct event_base *base, const char *conninfo,
			    unsigned size, unsigned connect_timeout,
			    unsigned query_timeout, db_ready_fn *ready,
			    void *ready_arg)
{
	struct db_pool *pool = calloc(1, sizeof(*pool));
	unsigned i;

	if (pool == NULL)
		return NULL;
	pool->base = base;
	pool->conninfo = strdup(conninfo);
	pool->size = size;
	pool->connect_timeout = connect_timeout;
	pool->query_timeout = query_timeout;
	pool->ready = ready;
	pool->ready_arg = ready_arg;
	TAILQ_INIT(&pool->queue);
	TAILQ_INIT(&pool->failed);
	pool->conns = calloc(size, sizeof(*pool->conns));
	pool->failed_ev = event_new(base, -1, 0, db_failed_flush, pool);
	pool->listen_ev = event_new(base, -1, 0, db_listen_move, pool);
	if (pool->conninfo == NULL || pool->conns == NULL ||
	    pool->failed_ev == NULL || pool->listen_ev == NULL ||
	    db_conn_params(pool) != 0) {
		db_conn_params_free(pool);
		free(pool->conninfo);
		free(pool->conns);
		if (pool->failed_ev != NULL)
			event_free(pool->failed_ev);
		if (pool->listen_ev != NULL)
			event_free(pool->listen_ev);
		free(pool);
		return NULL;
	}
	for (i = 0; i < size; i++) {
		struct dbc *c = &pool->conns[i];
		c->pool = pool;
		c->index = i;
		c->ev_fd = -1;
		c->backoff_ms = DBC_BACKOFF_MIN_MS;
		c->timer = evtimer_new(base, dbc_timer, c);
	}
	for (i = 0; i < size; i++)
		dbc_connect(&pool->conns[i]);
	return pool;
}

int db_pool_listen(struct db_pool *pool, const char *channel,
		   db_notify_fn *notify, void *arg)
{
	size_t len = strlen(channel) + sizeof("LISTEN ");
	struct db_listen *l = NULL;
	unsigned i;

	for (i = 0; i < pool->nlistens; i++)
		if (strcmp(pool->listens[i].channel, channel) == 0)
			l = &pool->listens[i];
	if (l == NULL) {
		if (pool->nlistens == DB_LISTEN_MAX)
			return -1;
		l = &pool->listens[pool->nlistens];
		l->channel = strdup(channel);
		l->sql = malloc(len);
		if (l->channel == NULL || l->sql == NULL) {
			free(l->channel);
			free(l->sql);
			memset(l, 0, sizeof(*l));
			return -1;
		}
		snprintf(l->sql, len, "LISTEN %s", channel);
		pool->nlistens++;
	}
	l->notify = notify;
	l->arg = arg;
	/* An idle connection subscribes now; otherwise the first idle. */
	if (pool->listener != NULL)
		pool->relisten = 1;
	db_pump(pool);
	return 0;
}

void db_pool_free(struct db_pool *pool)
{
	unsigned i;
	struct db_job *job;

	if (pool == NULL)
		return;
	pool->freeing = 1;
	for (i = 0; i < pool->size; i++) {
		struct dbc *c = &pool->conns[i];
		job = c->job;
		c->job = NULL;
		c->rjob = NULL;
		while (job != NULL) {
			struct db_job *next = job->gnext;
			job->gnext = NULL;
			db_job_fail_later(pool, job, DB_UNAVAILABLE);
			job = next;
		}
		dbc_release(c);
		event_free(c->timer);
	}
	while ((job = TAILQ_FIRST(&pool->queue)) != NULL) {
		TAILQ_REMOVE(&pool->queue, job, entry);
		db_job_fail_later(pool, job, DB_UNAVAILABLE);
	}
	db_failed_flush(-1, 0, pool);
	event_free(pool->failed_ev);
	event_free(pool->listen_ev);
	for (i = 0; i < pool->nlistens; i++) {
		free(pool->listens[i].channel);
		free(pool->listens[i].sql);
	}
	free(pool->conns);
	db_conn_params_free(pool);
	free(pool->conninfo);
	free(pool);
}
