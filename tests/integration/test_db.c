/*
 * test_db: the daemon's PostgreSQL pool (server/db.c) against the fixture's
 * real cluster, for group commit: jobs marked db_job_group that queue up
 * behind a busy connection share one transaction (the same txid), each
 * gets exactly one callback with its own results; when one of them fails
 * (in a statement, or at the commit, by a deferred constraint), nothing of
 * the group stays committed and each job runs again alone, so the others
 * commit and only the faulty one reports its error; a group holds at most
 * DB_GROUP_MAX jobs and its transaction is marked (maillage.group_commit,
 * for event_emit's lock), and jobs not marked are never grouped; and a
 * statement the pool gave up on is cancelled by the server as well.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "itest.h"

#define NJOBS (DB_GROUP_MAX + 4)

struct outcome {
	int calls;
	enum db_status status;
	char sqlstate[6];
	long long txid;
	char text[16]; /* the first value, as text */
};

static struct event_base *base;
static struct db_pool *pool;
static int ready;
static int pending;

static void on_ready(void *arg, int connected)
{
	(void)arg;
	if (connected)
		ready = 1;
}

static void on_done(void *arg, const struct db_reply *reply)
{
	struct outcome *o = arg;

	o->calls++;
	o->status = reply->status;
	memcpy(o->sqlstate, reply->sqlstate, sizeof(o->sqlstate));
	if (reply->status == DB_OK && reply->nresults > 0 &&
	    PQntuples(reply->results[reply->nresults - 1]) == 1) {
		const char *v =
			PQgetvalue(reply->results[reply->nresults - 1], 0, 0);
		o->txid = strtoll(v, NULL, 10);
		snprintf(o->text, sizeof(o->text), "%s", v);
	}
	pending--;
}

static void run_until_done(void)
{
	int i;

	for (i = 0; i < 2000 && pending > 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(pending, 0);
}

/* One statement on pool `p`; the job marked for group commit or not. */
static void submit_on(struct db_pool *p, const char *sql, const char *param,
		      int group, struct outcome *o)
{
	struct db_job *job = db_job_new();
	const char *params[1] = {param};

	assert_non_null(job);
	assert_int_equal(db_job_add(job, sql, param != NULL ? 1 : 0, params),
			 0);
	if (group)
		assert_int_equal(db_job_group(job), 0);
	pending++;
	db_submit(p, job, on_done, o);
}

/* The same on the tests' pool. */
static void submit(const char *sql, const char *param, int group,
		   struct outcome *o)
{
	submit_on(pool, sql, param, group, o);
}

/* Keep the pool's only connection busy, so that what follows queues. */
static void block(struct outcome *o)
{
	submit("SELECT pg_sleep(0.3), txid_current()", NULL, 0, o);
}

static void exec_sql(const char *sql)
{
	struct outcome o = {0};

	submit(sql, NULL, 0, &o);
	run_until_done();
	assert_int_equal(o.status, DB_OK);
}

static const char insert_sql[] = "INSERT INTO itest_group (id) VALUES "
				 "($1::int) RETURNING txid_current()";

static int setup(void **state)
{
	const struct itest_env *env = itest_env();
	int i;

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	/* one connection: jobs queue behind the running one */
	pool = db_pool_new(base, env->db, 1, 5, 30, on_ready, NULL);
	assert_non_null(pool);
	for (i = 0; i < 2000 && !ready; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_true(ready);
	exec_sql("DROP TABLE IF EXISTS itest_group, itest_group_deferred");
	exec_sql("CREATE TABLE itest_group (id int PRIMARY KEY)");
	exec_sql("CREATE TABLE itest_group_deferred (id int, CONSTRAINT "
		 "itest_group_deferred_u UNIQUE (id) DEFERRABLE INITIALLY "
		 "DEFERRED)");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	exec_sql("DROP TABLE IF EXISTS itest_group, itest_group_deferred");
	db_pool_free(pool);
	event_base_free(base);
	return 0;
}

static long long count_rows(const char *table)
{
	return itest_sql_int("SELECT count(*) FROM %s", table);
}

/* An empty itest_group, the connection kept busy, then n inserts (ids
 * 1..n) queued behind it, marked for group commit or not; all answered. */
static void insert_queued(int n, int group, struct outcome *o)
{
	struct outcome blocker = {0};
	char id[16];
	int i;

	memset(o, 0, (size_t)n * sizeof(*o));
	exec_sql("TRUNCATE itest_group");
	block(&blocker);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%d", i + 1);
		submit(insert_sql, id, group, &o[i]);
	}
	run_until_done();
	assert_int_equal(blocker.status, DB_OK);
}

/* Queued groupable jobs share one transaction, at most DB_GROUP_MAX. */
static void test_group_shares_commit(void **state)
{
	struct outcome o[NJOBS];
	int i;

	(void)state;
	insert_queued(NJOBS, 1, o);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(o[i].calls, 1);
		assert_int_equal(o[i].status, DB_OK);
		assert_true(o[i].txid > 0);
	}
	/* the first DB_GROUP_MAX in one transaction, the rest in another */
	for (i = 1; i < DB_GROUP_MAX; i++)
		assert_true(o[i].txid == o[0].txid);
	assert_true(o[DB_GROUP_MAX].txid != o[0].txid);
	for (i = DB_GROUP_MAX + 1; i < NJOBS; i++)
		assert_true(o[i].txid == o[DB_GROUP_MAX].txid);
	assert_int_equal(count_rows("itest_group"), NJOBS);
}

/* A group's transaction is marked for event_emit (sql/019); a job alone
 * is not. */
static void test_group_marked(void **state)
{
	static const char sql[] =
		"SELECT coalesce(current_setting('maillage.group_commit', "
		"true), '') || '|'";
	struct outcome blocker = {0}, o[3], alone = {0};
	int i;

	(void)state;
	memset(o, 0, sizeof(o));
	block(&blocker);
	for (i = 0; i < 3; i++)
		submit(sql, NULL, 1, &o[i]);
	run_until_done();
	for (i = 0; i < 3; i++)
		assert_string_equal(o[i].text, "on|");
	submit(sql, NULL, 1, &alone);
	run_until_done();
	assert_string_equal(alone.text, "|");
}

/* Jobs not marked never share a transaction. */
static void test_not_marked_alone(void **state)
{
	struct outcome o[4];
	int i;

	(void)state;
	insert_queued(4, 0, o);
	for (i = 0; i < 4; i++) {
		assert_int_equal(o[i].status, DB_OK);
		if (i > 0)
			assert_true(o[i].txid != o[i - 1].txid);
	}
}

/* A statement of the group fails: the others commit, alone. */
static void test_group_statement_failure(void **state)
{
	struct outcome blocker = {0}, o[5];
	static const char *const ids[5] = {"11", "12", "1", "13", "14"};
	int i;

	(void)state;
	memset(o, 0, sizeof(o));
	exec_sql("TRUNCATE itest_group");
	exec_sql("INSERT INTO itest_group VALUES (1)");
	block(&blocker);
	for (i = 0; i < 5; i++)
		submit(insert_sql, ids[i], 1, &o[i]);
	run_until_done();
	for (i = 0; i < 5; i++) {
		assert_int_equal(o[i].calls, 1);
		if (i == 2) {
			assert_int_equal(o[i].status, DB_SQL_ERROR);
			assert_string_equal(o[i].sqlstate, "23505");
			continue;
		}
		assert_int_equal(o[i].status, DB_OK);
	}
	/* run again one by one: four transactions */
	assert_true(o[0].txid != o[1].txid && o[1].txid != o[3].txid &&
		    o[3].txid != o[4].txid);
	assert_int_equal(count_rows("itest_group"), 5);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM itest_group WHERE id IN "
			      "(11, 12, 13, 14)"),
		4);
}

/* The group's commit fails (a deferred constraint between two of its
 * jobs): nothing stays; alone, the first commits, the second fails. */
static void test_group_commit_failure(void **state)
{
	static const char sql[] = "INSERT INTO itest_group_deferred (id) "
				  "VALUES ($1::int) RETURNING txid_current()";
	struct outcome blocker = {0}, o[3];
	static const char *const ids[3] = {"7", "8", "7"};
	int i;

	(void)state;
	memset(o, 0, sizeof(o));
	exec_sql("TRUNCATE itest_group_deferred");
	block(&blocker);
	for (i = 0; i < 3; i++)
		submit(sql, ids[i], 1, &o[i]);
	run_until_done();
	assert_int_equal(o[0].status, DB_OK);
	assert_int_equal(o[1].status, DB_OK);
	assert_int_equal(o[2].status, DB_SQL_ERROR);
	assert_string_equal(o[2].sqlstate, "23505");
	for (i = 0; i < 3; i++)
		assert_int_equal(o[i].calls, 1);
	assert_true(o[0].txid != o[1].txid);
	assert_int_equal(count_rows("itest_group_deferred"), 2);
}

/* A statement the pool gave up on (query_timeout) is cancelled by the
 * server too (statement_timeout), instead of running on with its locks. */
static void test_timeout_ends_statement(void **state)
{
	const struct itest_env *env = itest_env();
	static const char active[] =
		"SELECT count(*) FROM pg_stat_activity WHERE query = "
		"'SELECT pg_sleep(30), 2718' AND state = 'active'";
	struct outcome o = {0};
	struct db_pool *p;
	int64_t t0;
	int i;

	(void)state;
	p = db_pool_new(base, env->db, 1, 5, 1, NULL, NULL);
	assert_non_null(p);
	for (i = 0; i < 4000 && db_pool_up(p) < 1; i++)
		event_base_loop(base, EVLOOP_ONCE);
	submit_on(p, "SELECT pg_sleep(30), 2718", NULL, 0, &o);
	t0 = itest_now_ms();
	while (pending > 0 && itest_now_ms() - t0 < 20000)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(pending, 0);
	assert_int_equal(o.status, DB_TIMEOUT);
	/* the server's own timer goes off half a second after the pool's,
	 * long before the thirty seconds the statement asked for (waited
	 * for at most ten) */
	for (i = 0; i < 100 && itest_sql_int(active) != 0; i++)
		itest_sleep_ms(100);
	assert_int_equal(itest_sql_int(active), 0);
	db_pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_shares_commit),
		cmocka_unit_test(test_group_marked),
		cmocka_unit_test(test_not_marked_alone),
		cmocka_unit_test(test_group_statement_failure),
		cmocka_unit_test(test_group_commit_failure),
		cmocka_unit_test(test_timeout_ends_statement),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
