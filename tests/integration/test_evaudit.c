/*
 * test_evaudit: the delivery audit's writer (server/evaudit.c) against the
 * fixture's real cluster, driven without the daemon: rows added are
 * written within the linger time; while a live fan-out is being written
 * (evaudit_hold(1)) nothing is sent to PostgreSQL, however long it lasts,
 * and everything held is written once the hold ends, each row once.
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
#include <unistd.h>

#include "conn.h"
#include "db.h"
#include "evaudit.h"
#include "itest.h"
#include "server.h"

static struct event_base *base;
static struct server srv;
static struct conn sub;
static int ready;

static void on_ready(void *arg, int connected)
{
	(void)arg;
	if (connected)
		ready = 1;
}

/* Run the loop for `ms` milliseconds. */
static void run_for(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Run the loop until `n` rows were written in all (10 s at most). */
static void run_until_written(uint64_t n)
{
	int i;

	for (i = 0; i < 200 && evaudit_written() < n; i++)
		run_for(50);
	assert_int_equal(evaudit_written(), n);
	assert_false(evaudit_busy());
}

/* The delivery rows of this test's subscriber in audit_event. */
static long long rows_stored(void)
{
	return itest_sql_int("SELECT count(*) FROM audit_event WHERE action = "
			     "'event.deliver' AND login = '%s'",
			     sub.account.login);
}

static int setup(void **state)
{
	const struct itest_env *env = itest_env();
	int i;

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	memset(&srv, 0, sizeof(srv));
	srv.base = base;
	snprintf(srv.instance_id, sizeof(srv.instance_id), "itest-evaudit");
	srv.db = db_pool_new(base, env->db, 2, 5, 30, on_ready, NULL);
	assert_non_null(srv.db);
	for (i = 0; i < 2000 && !ready; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_true(ready);
	assert_int_equal(evaudit_start(&srv), 0);
	memset(&sub, 0, sizeof(sub));
	snprintf(sub.account.login, sizeof(sub.account.login),
		 "itest-evaudit-%ld", (long)getpid());
	snprintf(sub.account.institution, sizeof(sub.account.institution),
		 "itest");
	sub.account.role = MAILLAGE__ROLE__PARTNER;
	snprintf(sub.peer, sizeof(sub.peer), "127.0.0.1:1");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	evaudit_stop();
	run_for(200);
	db_pool_free(srv.db);
	event_base_free(base);
	return 0;
}

/* Not held: the rows are written within the linger time. */
static void test_written_when_not_held(void **state)
{
	uint64_t before = evaudit_written();
	long long stored = rows_stored();
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		evaudit_add(&sub, (uint64_t)i + 1, 0, 0, 0);
	run_until_written(before + 5);
	assert_int_equal(rows_stored(), stored + 5);
}

/* Held: nothing is sent however long the hold lasts; all once released. */
static void test_held_until_released(void **state)
{
	uint64_t before = evaudit_written();
	long long stored = rows_stored();
	int i;

	(void)state;
	evaudit_hold(1);
	for (i = 0; i < 3 * EVAUDIT_BATCH + 7; i++)
		evaudit_add(&sub, (uint64_t)i + 100, 0, 0, 0);
	/* thirty times the linger, and full batches waiting */
	run_for(30 * EVAUDIT_LINGER_MS);
	assert_true(evaudit_busy());
	assert_int_equal(evaudit_written(), before);
	assert_int_equal(rows_stored(), stored);
	evaudit_hold(0);
	run_until_written(before + 3 * EVAUDIT_BATCH + 7);
	assert_int_equal(rows_stored(), stored + 3 * EVAUDIT_BATCH + 7);
	assert_int_equal(evaudit_lost(), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_written_when_not_held),
		cmocka_unit_test(test_held_until_released),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
