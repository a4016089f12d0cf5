/*
 * test_delivery_audit: integration tests of the audit of event deliveries
 * against the running fixture. A subscriber (pjj, institution pjj75) that
 * receives N events finds N audit rows `event.deliver`, one per event, with
 * its account, institution and role, the event's number in request_id and
 * the case, person and notice ids the event carried; an event it may not
 * see is not delivered and not audited; `audit who-read` of the case lists
 * the subscriber's deliveries; the rows are sealed into the chain and
 * `audit verify` passes.
 *
 * Notices are sent as raw NoticeSend requests by ase to pjj75; SQL checks go
 * through `fixture.sh psql`. Waits are generous bounds, never measured.
 *
 * Usage: test_delivery_audit [FILTER [SKIP_FILTER]] (cmocka glob patterns).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "itest.h"

/* Notices delivered in the test. */
#define NOTICES 5
/* Generous bound for a delivery, its audit rows, their seal. */
#define WAIT_MS 30000

struct sent {
	int64_t notice_id, case_id, person_id;
	uint64_t seq; /* its event's number in pjj75's stream */
};

/* Poll `sql` (a count) until it is `want`; fails after WAIT_MS. */
static void wait_count(long long want, const char *sql)
{
	int64_t deadline = itest_now_ms() + WAIT_MS;
	long long n;

	while ((n = itest_sql_int("%s", sql)) != want) {
		if (itest_now_ms() > deadline)
			fail_msg("%lld rows, expected %lld: %s", n, want, sql);
		itest_sleep_ms(100);
	}
}

static void fail_reply(const char *what, const struct frame_msg *m,
		       const struct itest_conn *c)
{
	if (m == NULL)
		fail_msg("%s: no answer (%s)", what, c->error);
	if (m->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR)
		fail_msg("%s: Error %s: %s", what,
			 itest_error_name(m->env->error->code),
			 m->env->error->message);
	fail_msg("%s: answered by %s", what, frame_body_name(m->env));
}

/* A notice of `kind` from `c` (ase) to `to`; request id `rid`. */
static void notice_send(struct itest_conn *c, uint64_t rid, const char *kind,
			const char *to, struct sent *out)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__NoticeSend ns = MAILLAGE__NOTICE_SEND__INIT;
	Maillage__Identity id = MAILLAGE__IDENTITY__INIT;
	char key[64], family[64], *dest[1];
	struct frame_msg *m;

	snprintf(key, sizeof(key), "itest-deliv-%" PRIu64, itest_unique_id());
	snprintf(family, sizeof(family), "Deliv%" PRIu64, itest_unique_id());
	id.given_name = "Itest";
	id.family_name = family;
	dest[0] = (char *)to;
	ns.idempotency_key = key;
	ns.kind = (char *)kind;
	ns.n_to = 1;
	ns.to = dest;
	ns.identity = &id;
	ns.urgency = "";
	ns.visibility = "";
	ns.text = "itest delivery audit";
	env.body_case = MAILLAGE__ENVELOPE__BODY_NOTICE_SEND;
	env.notice_send = &ns;
	env.request_id = rid;
	m = itest_request(c, &env, ITEST_REPLY_MS);
	if (m == NULL ||
	    m->env->body_case != MAILLAGE__ENVELOPE__BODY_NOTICE_SENT)
		fail_reply("NoticeSend", m, c);
	out->notice_id = m->env->notice_sent->notice_id;
	out->case_id = m->env->notice_sent->case_id;
	out->person_id = m->env->notice_sent->person_id;
	frame_msg_free(m);
}

/* A connection as `login` watching its stream from now; its head. */
static struct itest_conn *watch(const char *login, uint64_t *head)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Watch w = MAILLAGE__WATCH__INIT;
	struct itest_conn *c = itest_session(login);
	struct frame_msg *m;

	w.from_now = 1;
	env.request_id = 2;
	env.body_case = MAILLAGE__ENVELOPE__BODY_WATCH;
	env.watch = &w;
	m = itest_request(c, &env, ITEST_REPLY_MS);
	if (m == NULL ||
	    m->env->body_case != MAILLAGE__ENVELOPE__BODY_WATCH_STARTED)
		fail_reply("Watch", m, c);
	*head = m->env->watch_started->head_seq;
	frame_msg_free(m);
	return c;
}

/* The next pushed event: its seq and notice id, or fails. */
static uint64_t next_event(struct itest_conn *c, int64_t *notice_id)
{
	int64_t deadline = itest_now_ms() + WAIT_MS;

	for (;;) {
		int64_t left = deadline - itest_now_ms();
		enum itest_recv_status st;
		struct frame_msg *m =
			itest_recv(c, left > 0 ? (int)left : 0, &st);
		uint64_t seq;

		if (m == NULL)
			fail_msg("no event (%s)", c->error);
		if (m->env->body_case != MAILLAGE__ENVELOPE__BODY_EVENT) {
			frame_msg_free(m);
			continue;
		}
		seq = m->env->seq;
		*notice_id = m->env->event->notice_id;
		frame_msg_free(m);
		return seq;
	}
}

/* ---- tests ---- */

static struct sent sent[NOTICES];
static uint64_t first_seq, last_seq;

/*
 * pjj watches; ase sends NOTICES runaway notices to pjj75: pjj receives
 * one event each, and each is exactly one `event.deliver` row naming pjj,
 * the event's number, the notice, its case and person. A marker about a
 * case pjj75 takes no part in is not delivered, and not audited.
 */
static void test_each_delivery_one_record(void **state)
{
	struct itest_conn *w, *s;
	struct sent other;
	uint64_t head, hidden;
	char sql[1024];
	int i;

	(void)state;
	w = watch("pjj", &head);
	s = itest_session("ase");
	for (i = 0; i < NOTICES; i++) {
		int64_t nid;

		notice_send(s, (uint64_t)(10 + i), "runaway", "pjj75",
			    &sent[i]);
		sent[i].seq = next_event(w, &nid);
		assert_int_equal(nid, sent[i].notice_id);
	}
	/* An event about a case pjj75 is no party to: not for pjj. */
	notice_send(s, 99, "signalement", "police75", &other);
	hidden = (uint64_t)itest_sql_int(
		"SELECT event_emit((SELECT id FROM institution WHERE code = "
		"'pjj75'), 'status', %" PRId64 ", NULL, NULL, 'spotted')",
		other.case_id);
	itest_close(s);
	first_seq = sent[0].seq;
	last_seq = sent[NOTICES - 1].seq;
	assert_true(first_seq > head);
	assert_int_equal(last_seq, first_seq + NOTICES - 1);

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_event WHERE action = "
		 "'event.deliver' AND login = 'pjj' AND request_id BETWEEN "
		 "%" PRIu64 " AND %" PRIu64,
		 first_seq, last_seq);
	wait_count(NOTICES, sql);
	for (i = 0; i < NOTICES; i++)
		assert_int_equal(
			itest_sql_int(
				"SELECT count(*) FROM audit_event e JOIN "
				"account a ON a.id = e.account_id WHERE "
				"a.login = 'pjj' AND e.action = "
				"'event.deliver' AND e.outcome = 'ok' AND "
				"e.login = 'pjj' AND e.institution_code = "
				"'pjj75' AND e.role = 'partner' AND "
				"e.request_id = %" PRIu64 " AND e.notice_id "
				"= %" PRId64 " AND e.case_id = %" PRId64
				" AND e.person_id = %" PRId64 " AND e.peer "
				"IS NOT NULL AND e.instance IS NOT NULL AND "
				"e.cert_fingerprint IS NOT NULL",
				sent[i].seq, sent[i].notice_id, sent[i].case_id,
				sent[i].person_id),
			1);

	/* The marker: pjj gets nothing, so nothing is audited. */
	assert_true(hidden > last_seq);
	itest_sql_int(
		"SELECT event_emit((SELECT id FROM institution WHERE code = "
		"'pjj75'), 'status', %" PRId64 ", NULL, NULL, 'spotted')",
		sent[0].case_id);
	{
		int64_t nid;
		uint64_t seq = next_event(w, &nid);

		assert_true(seq > hidden);
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM audit_event WHERE action = "
			 "'event.deliver' AND login = 'pjj' AND request_id = "
			 "%" PRIu64,
			 seq);
		wait_count(1, sql);
	}
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM audit_event WHERE "
			      "action = 'event.deliver' AND login = 'pjj' "
			      "AND request_id = %" PRIu64,
			      hidden),
		0);
	itest_close(w);
}

/* who-read of a delivered notice's case lists pjj's delivery. */
static void test_who_read_lists_deliveries(void **state)
{
	char case_id[24];
	json_t *doc, *r;
	size_t i;
	int found = 0;

	(void)state;
	if (sent[0].case_id == 0)
		skip();
	snprintf(case_id, sizeof(case_id), "%" PRId64, sent[0].case_id);
	doc = itest_cli_json_ok("auditor",
				ITEST_ARGS("audit", "who-read", case_id));
	json_array_foreach(json_object_get(doc, "readers"), i, r)
	{
		if (strcmp(itest_jstr(r, "action"), "event.deliver") == 0 &&
		    strcmp(itest_jstr(r, "login"), "pjj") == 0) {
			found = 1;
			assert_string_equal(itest_jstr(r, "institution_code"),
					    "pjj75");
			/* The notice's event and the marker: two. */
			assert_int_equal(
				json_integer_value(json_object_get(r, "count")),
				2);
		}
	}
	assert_true(found);
	found = 0;
	json_array_foreach(json_object_get(doc, "read_actions"), i, r) found |=
		strcmp(json_string_value(r), "event.deliver") == 0;
	assert_true(found);
	json_decref(doc);
}

/* The delivery rows are sealed into the chain, which still verifies. */
static void test_chain_covers_deliveries(void **state)
{
	char sql[512];
	json_t *doc;

	(void)state;
	if (last_seq == 0)
		skip();
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_event e JOIN audit_seal s ON "
		 "s.audit_id = e.id WHERE e.action = 'event.deliver' AND "
		 "e.login = 'pjj' AND e.request_id BETWEEN %" PRIu64
		 " AND %" PRIu64,
		 first_seq, last_seq);
	wait_count(NOTICES, sql);
	doc = itest_cli_json_ok("auditor", ITEST_ARGS("audit", "verify"));
	if (!json_is_true(json_object_get(doc, "ok")))
		fail_msg("audit verify failed: %s",
			 json_dumps(doc, JSON_COMPACT));
	json_decref(doc);
}

/*
 * A delivery made just before SIGTERM is recorded: the draining daemon
 * waits for the rows it has gathered (it used to exit within their 10 ms
 * of lingering and lose them).
 */
static void test_delivery_recorded_across_shutdown(void **state)
{
	struct itest_conn *w, *s;
	struct sent one;
	uint64_t head, seq;
	int64_t nid;
	int i;

	(void)state;
	w = watch("pjj", &head);
	s = itest_session("ase");
	notice_send(s, 500, "runaway", "pjj75", &one);
	seq = next_event(w, &nid);
	assert_int_equal(nid, one.notice_id);
	assert_int_equal(kill(itest_env()->daemon_pid, SIGTERM), 0);
	for (i = 0; i < 150 && itest_daemon_alive(); i++)
		itest_sleep_ms(100);
	assert_false(itest_daemon_alive());
	itest_close(s);
	itest_close(w);
	/* gone: what it recorded is in the database now, or never */
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM audit_event WHERE "
			      "action = 'event.deliver' AND login = 'pjj' "
			      "AND request_id = %" PRIu64
			      " AND notice_id = %" PRId64,
			      seq, one.notice_id),
		1);
	assert_int_equal(itest_fixture("daemon-restart"), 0);
	itest_env_reload();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_delivery_one_record),
		cmocka_unit_test(test_who_read_lists_deliveries),
		cmocka_unit_test(test_chain_covers_deliveries),
		cmocka_unit_test(test_delivery_recorded_across_shutdown),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (argc > 2)
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
