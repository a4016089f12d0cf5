/*
 * db: the asynchronous PostgreSQL pool that runs inside the daemon's event
 * loop. This module owns the pool's connections (each an explicit state
 * machine: down -> connecting -> idle <-> busy, back to down on loss), the
 * queue of jobs waiting for a connection, and the timers that bound a
 * connect and a job. A job is a short list of parameterised statements sent
 * in pipeline mode behind one Sync, so they commit together or not at all;
 * each connection prepares a statement text once and runs it by name.
 * Jobs marked for group commit that wait in the queue together share one
 * transaction (one commit, one WAL flush), each answered after it.
 * The submitter always gets exactly one callback, never from inside
 * db_submit(): with every result, or with DB_UNAVAILABLE / DB_TIMEOUT when
 * the database is gone. Nothing here blocks.
 */
#ifndef MAILLAGE_DB_H
#define MAILLAGE_DB_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdint.h>

#define DB_MAX_STMTS 16
#define DB_MAX_PARAMS 40
#define DB_QUEUE_MAX 4096
#define DB_LISTEN_MAX 4 /* channels a pool may listen to */
#define DB_GROUP_MAX 8	/* jobs committed together at most (db_job_group) */

enum db_status {
	DB_OK = 0,	/* every statement succeeded; the job committed */
	DB_SQL_ERROR,	/* a statement failed; nothing was committed */
	DB_UNAVAILABLE, /* no connection to the database */
	DB_TIMEOUT	/* the job did not finish in query_timeout */
};

struct db_reply {
	enum db_status status;
	int nresults;
	PGresult *results[DB_MAX_STMTS]; /* owned by db; valid in callback */
	char sqlstate[6];		 /* first error's SQLSTATE, or "" */
	const char *constraint;		 /* violated constraint, or NULL */
	int failed_stmt;		 /* index of the failing statement */
};

typedef void db_done_fn(void *arg, const struct db_reply *reply);
typedef void db_ready_fn(void *arg, int connected);

struct db_pool;
struct db_job;

struct db_pool *db_pool_new(struct event_base *base, const char *conninfo,
			    unsigned size, unsigned connect_timeout,
			    unsigned query_timeout, db_ready_fn *ready,
			    void *ready_arg);
/* Fails every queued and running job with DB_UNAVAILABLE, then frees. */
void db_pool_free(struct db_pool *pool);
/* Number of connections currently usable (idle or busy). */
unsigned db_pool_up(const struct db_pool *pool);
/* Jobs running or queued. */
unsigned db_pool_pending(const struct db_pool *pool);

struct db_job *db_job_new(void);
/*
 * Append a statement. `params` (may contain NULL for SQL NULL) are copied.
 * Returns 0, or -1 when the job is full or memory is exhausted; the job must
 * then be discarded with db_job_free().
 */
int db_job_add(struct db_job *job, const char *sql, int nparams,
	       const char *const *params);
/*
 * The statement added last returns its rows in binary format (PostgreSQL's
 * send functions: bigint as 8 bytes big-endian, boolean as one byte, bytea
 * as its bytes), for large bytea values read in bulk. 0, or -1 if none.
 */
int db_job_binary(struct db_job *job);
/*
 * The job may share a transaction with other such jobs queued behind it
 * (group commit): their statements run one after the other behind one
 * Sync, and each gets its callback after the common commit. A failure
 * rolls the group back and runs each of its jobs again alone, so a job
 * commits with its group or by itself, never partly. For independent
 * writes of many clients (notices). 0.
 */
int db_job_group(struct db_job *job);
void db_job_free(struct db_job *job);
/* Queue the job; ownership passes to the pool. */
void db_submit(struct db_pool *pool, struct db_job *job, db_done_fn *done,
	       void *arg);
/*
 * The same, at the head of the queue: for a short read someone is waiting
 * on in real time (the live event stream), ahead of batched writes.
 */
void db_submit_first(struct db_pool *pool, struct db_job *job, db_done_fn *done,
		     void *arg);

/*
 * LISTEN on `channel` (an SQL identifier chosen by the program, never by a
 * client, in lower case) on one connection of the pool (the listener; when
 * it is lost, another connection subscribes again). notify(arg, payload) is
 * called once for every notification on that channel, and notify(arg,
 * NULL) each time a connection has subscribed (notifications may have been
 * missed meanwhile). Up to DB_LISTEN_MAX channels, each with its own
 * callback; calling again for a channel replaces its callback. The listener
 * also runs jobs, when the other connections are busy. 0, or -1.
 */
typedef void db_notify_fn(void *arg, const char *payload);
int db_pool_listen(struct db_pool *pool, const char *channel,
		   db_notify_fn *notify, void *arg);

const char *db_status_name(enum db_status status);

#endif
