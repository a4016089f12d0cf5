/*
 * test_watch: integration tests of real-time delivery (issue 4) against the
 * running fixture. They own the checks of the event streams as a subscriber
 * sees them: the raw Watch exchange (WatchStarted, pushed Envelopes with
 * request_id 0 and the stream's seq), the replay of what an offline
 * subscriber missed (`maillage watch --json` and its state file), need to
 * know (an event is delivered only to who could read its subject), a
 * daemon killed with SIGKILL under a running `maillage watch`, two daemons
 * on one cluster (send through one, receive through the other, a deadline
 * fired once), acknowledgement deadlines (escalation after a test-shortened
 * deadline, not before, not after an ack) and a stalled subscriber cut at
 * its output limit while a healthy one receives everything.
 *
 * Notices are sent with `maillage notice send` and acknowledged with
 * `maillage ack`, except the bulk of the offline test, sent as raw
 * NoticeSend requests on one connection (the same server path, faster);
 * parties and leads are set with raw CasePartyChange/CaseLead requests.
 * Synthetic events are written with event_emit() through `fixture.sh psql`
 * where a test needs an event the application cannot produce (a marker closing
 * a window of observation, an event about a case the institution is not a party
 * to, a flood).
 *
 * Usage: test_watch [FILTER [SKIP_FILTER]] (cmocka glob patterns).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "events.h"
#include "itest.h"

/* Generous wait for one delivery; nothing here measures speed. */
#define WAIT_EVENT_MS 10000
/* The test-shortened acknowledgement deadline, in seconds. */
#define SHORT_DEADLINE_S 3
/* Wait for an escalation: the deadline, checks every 200 ms, delivery. */
#define WAIT_ESCALATION_MS 30000
/* Notices sent while a subscriber is offline. */
#define OFFLINE_NOTICES 100
/*
 * Events written while a subscriber stalls: the fixture's daemon has
 * output_limit = 1 MiB and send_buffer = 64 KiB; an event frame is about
 * 60 bytes, so this is more than twice what the daemon and both kernels
 * may buffer.
 */
#define FLOOD_EVENTS 50000
#define FLOOD_CHUNK 2000

/* ---- events as a subscriber sees them ---- */

struct ev {
	uint64_t seq;
	int64_t case_id, person_id, notice_id;
	char what[32], at[40], kind[40], urgency[16], about[40], state[32];
};

struct evlist {
	struct ev *v;
	size_t n, cap;
};

static void evlist_add(struct evlist *l, const struct ev *e)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap == 0 ? 64 : 2 * l->cap;
		struct ev *nv = realloc(l->v, ncap * sizeof(*nv));

		assert_non_null(nv);
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = *e;
}

static void evlist_free(struct evlist *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Events of `l` with this `what` (NULL: any) and notice id (0: any). */
static size_t evlist_count(const struct evlist *l, const char *what,
			   int64_t notice_id)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++) {
		if (what != NULL && strcmp(l->v[i].what, what) != 0)
			continue;
		if (notice_id != 0 && l->v[i].notice_id != notice_id)
			continue;
		n++;
	}
	return n;
}

static const struct ev *evlist_find(const struct evlist *l, const char *what,
				    int64_t notice_id)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].what, what) == 0 &&
		    (notice_id == 0 || l->v[i].notice_id == notice_id))
			return &l->v[i];
	}
	return NULL;
}

/* Numbers strictly increasing: no duplicate, no reordering. */
static void evlist_assert_increasing(const struct evlist *l, const char *who)
{
	size_t i;

	for (i = 1; i < l->n; i++) {
		if (l->v[i].seq <= l->v[i - 1].seq)
			fail_msg("%s: event #%" PRIu64 " after #%" PRIu64
				 " (duplicate or out of order)",
				 who, l->v[i].seq, l->v[i - 1].seq);
	}
}

static void ev_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

/* An RFC 3339 UTC instant "YYYY-MM-DDTHH:MM:SSZ". */
static void assert_instant(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	if (strlen(s) != sizeof(pat) - 1)
		fail_msg("event time \"%s\" is not YYYY-MM-DDTHH:MM:SSZ", s);
	for (i = 0; pat[i] != '\0'; i++) {
		int ok = pat[i] == 'd' ? s[i] >= '0' && s[i] <= '9'
				       : s[i] == pat[i];
		if (!ok)
			fail_msg("event time \"%s\" is not "
				 "YYYY-MM-DDTHH:MM:SSZ",
				 s);
	}
}

/* ---- SQL ---- */

static void sql_exec(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void sql_exec(const char *fmt, ...)
{
	char sql[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (itest_psql(sql, NULL, 0) != 0)
		fail_msg("query failed: %s", sql);
}

/* The last number of an institution's stream (0: none yet). */
static uint64_t stream_head(const char *inst)
{
	return (uint64_t)itest_sql_int(
		"SELECT coalesce((SELECT ec.last_seq FROM event_counter ec "
		"JOIN institution i ON i.id = ec.institution_id "
		"WHERE i.code = '%s'), 0)",
		inst);
}

/*
 * Append a `status` event about `case_id` to an institution's stream, as
 * the triggers do (event_emit); returns its number. Events are delivered in
 * order, so once a subscriber has this one it has seen everything before.
 */
static uint64_t emit_marker(const char *inst, int64_t case_id)
{
	return (uint64_t)itest_sql_int(
		"SELECT event_emit((SELECT id FROM institution WHERE code = "
		"'%s'), 'status', %" PRId64 ", NULL, NULL, 'spotted')",
		inst, case_id);
}

/*
 * Acknowledgement deadlines: shortened for a test, restored (from what
 * was saved) by the teardown even when the test fails.
 */
static char saved_delays[2048];

static void deadlines_shorten(void)
{
	if (saved_delays[0] == '\0' &&
	    (itest_psql("SELECT string_agg(format('(%L,%L)', kind, delay), "
			"',') FROM ack_deadline",
			saved_delays, sizeof(saved_delays)) != 0 ||
	     saved_delays[0] == '\0'))
		fail_msg("cannot read ack_deadline");
	sql_exec("UPDATE ack_deadline SET delay = interval '%d seconds'",
		 SHORT_DEADLINE_S);
}

static void deadlines_restore(void)
{
	char sql[4096];

	if (saved_delays[0] == '\0')
		return;
	snprintf(sql, sizeof(sql),
		 "UPDATE ack_deadline d SET delay = v.delay::interval "
		 "FROM (VALUES %s) AS v(kind, delay) WHERE d.kind = v.kind",
		 saved_delays);
	if (itest_psql(sql, NULL, 0) == 0)
		saved_delays[0] = '\0';
}

/* ---- the CLI ---- */

/*
 * Run `maillage --config WORKDIR/DIR/LOGIN.conf ARGS...` (DIR is client, or
 * client2 for the second instance). Returns the exit status.
 */
static int cli_in(struct itest_output *out, const char *dir, const char *login,
		  ...)
{
	const struct itest_env *e = itest_env();
	const char *argv[48];
	char conf[ITEST_PATH_MAX + 64];
	const char *arg;
	size_t n = 0;
	va_list ap;

	snprintf(conf, sizeof(conf), "%s/%s/%s.conf", e->workdir, dir, login);
	argv[n++] = e->client_bin;
	argv[n++] = "--config";
	argv[n++] = conf;
	va_start(ap, login);
	while ((arg = va_arg(ap, const char *)) != NULL) {
		if (n + 1 >= sizeof(argv) / sizeof(argv[0]))
			fail_msg("too many CLI arguments");
		argv[n++] = arg;
	}
	va_end(ap);
	argv[n] = NULL;
	return itest_run(argv, 60, out);
}

static json_int_t json_int(json_t *doc, const char *key, const char *what)
{
	json_t *v = json_object_get(doc, key);

	if (!json_is_integer(v))
		fail_msg("%s: JSON has no integer \"%s\"", what, key);
	return json_integer_value(v);
}

static const char *json_str(json_t *doc, const char *key, const char *what)
{
	json_t *v = json_object_get(doc, key);

	if (!json_is_string(v))
		fail_msg("%s: JSON has no string \"%s\"", what, key);
	return json_string_value(v);
}

/* ---- raw requests ---- */

struct notice_spec {
	const char *from; /* sender login */
	const char *kind;
	const char *to;		/* one recipient institution */
	const char *visibility; /* NULL: default (general) */
	const char *urgency;	/* NULL: default (normal) */
};

struct sent {
	int64_t notice_id, case_id, person_id;
};

static unsigned notice_counter;

/* A family name nobody else uses: a new person and case each time. */
static void notice_name(char *buf, size_t size)
{
	snprintf(buf, size, "Watch%ld-%u", (long)getpid(), ++notice_counter);
}

static void raw_fail(const char *what, const struct frame_msg *m,
		     const struct itest_conn *c)
{
	if (m == NULL)
		fail_msg("%s: no answer (%s)", what, c->error);
	if (m->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR)
		fail_msg("%s: Error %s field \"%s\": %s", what,
			 itest_error_name(m->env->error->code),
			 m->env->error->field, m->env->error->message);
	fail_msg("%s: answered by %s", what, frame_body_name(m->env));
}

static void raw_notice_request(Maillage__Envelope *env,
			       Maillage__NoticeSend *ns, Maillage__Identity *id,
			       char **to, char *key, size_t keysize,
			       char *family, size_t famsize,
			       const struct notice_spec *spec)
{
	notice_name(family, famsize);
	snprintf(key, keysize, "itest-watch-%" PRIu64, itest_unique_id());
	id->given_name = "Itest";
	id->family_name = family;
	to[0] = (char *)spec->to;
	ns->idempotency_key = key;
	ns->kind = (char *)spec->kind;
	ns->n_to = 1;
	ns->to = to;
	ns->identity = id;
	ns->urgency = (char *)(spec->urgency != NULL ? spec->urgency : "");
	ns->visibility =
		(char *)(spec->visibility != NULL ? spec->visibility : "");
	ns->text = "itest watch";
	env->body_case = MAILLAGE__ENVELOPE__BODY_NOTICE_SEND;
	env->notice_send = ns;
}

/* Send a notice on an open session; request id `rid`. */
static void raw_notice_on(struct itest_conn *c, uint64_t rid,
			  const struct notice_spec *spec, struct sent *out)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__NoticeSend ns = MAILLAGE__NOTICE_SEND__INIT;
	Maillage__Identity id = MAILLAGE__IDENTITY__INIT;
	char key[64], family[64], *to[1];
	struct frame_msg *m;

	raw_notice_request(&env, &ns, &id, to, key, sizeof(key), family,
			   sizeof(family), spec);
	env.request_id = rid;
	m = itest_request(c, &env, ITEST_REPLY_MS);
	if (m == NULL ||
	    m->env->body_case != MAILLAGE__ENVELOPE__BODY_NOTICE_SENT)
		raw_fail("NoticeSend", m, c);
	out->notice_id = m->env->notice_sent->notice_id;
	out->case_id = m->env->notice_sent->case_id;
	out->person_id = m->env->notice_sent->person_id;
	frame_msg_free(m);
}

static void cli_notice(const struct notice_spec *spec, struct sent *out)
{
	struct itest_output o;
	char family[64], what[160];
	json_error_t jerr;
	json_t *doc;

	notice_name(family, sizeof(family));
	snprintf(what, sizeof(what), "%s: notice send --kind %s --to %s",
		 spec->from, spec->kind, spec->to);
	cli_in(&o, "client", spec->from, "--json", "notice", "send", "--kind",
	       spec->kind, "--to", spec->to, "--given-name", "Itest",
	       "--family-name", family, "--visibility",
	       spec->visibility != NULL ? spec->visibility : "general",
	       "--urgency", spec->urgency != NULL ? spec->urgency : "normal",
	       "--text", "itest watch", NULL);
	if (o.status != 0)
		fail_msg("%s: exit status %d%s\nstdout: %s\nstderr: %s", what,
			 o.status, o.timed_out ? " (timed out)" : "", o.out,
			 o.err);
	doc = json_loads(o.out, 0, &jerr);
	if (doc == NULL)
		fail_msg("%s: not JSON (%s): %s", what, jerr.text, o.out);
	out->notice_id = json_int(doc, "notice_id", what);
	out->case_id = json_int(doc, "case_id", what);
	out->person_id = json_int(doc, "person_id", what);
	json_decref(doc);
	itest_output_free(&o);
}

/* Send a notice through instance A with `maillage notice send`. */
static void notice_send(const struct notice_spec *spec, struct sent *out)
{
	cli_notice(spec, out);
	assert_true(out->notice_id > 0);
	assert_true(out->case_id > 0);
}

/* `maillage ack NOTICE --state STATE` as `login`. */
static void notice_ack(const char *login, int64_t notice_id, const char *state)
{
	struct itest_output o;
	char id[32];

	snprintf(id, sizeof(id), "%" PRId64, notice_id);
	cli_in(&o, "client", login, "ack", id, "--state", state, NULL);
	if (o.status != 0)
		fail_msg("%s: ack %s --state %s: exit status %d\nstdout: %s\n"
			 "stderr: %s",
			 login, id, state, o.status, o.out, o.err);
	itest_output_free(&o);
}

/* A coordinator's request that answers CaseUpdated. */
static void raw_case_request(const char *login, Maillage__Envelope *env,
			     const char *what)
{
	struct itest_conn *c = itest_session(login);
	struct frame_msg *m;

	env->request_id = 2;
	m = itest_request(c, env, ITEST_REPLY_MS);
	if (m == NULL ||
	    m->env->body_case != MAILLAGE__ENVELOPE__BODY_CASE_UPDATED)
		raw_fail(what, m, c);
	frame_msg_free(m);
	itest_close(c);
}

static void case_party_add(const char *login, int64_t case_id, const char *inst)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__CasePartyChange pc = MAILLAGE__CASE_PARTY_CHANGE__INIT;

	pc.case_id = case_id;
	pc.institution = (char *)inst;
	env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_PARTY;
	env.case_party = &pc;
	raw_case_request(login, &env, "CasePartyChange");
}

static void case_lead(const char *login, int64_t case_id, const char *inst)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__CaseLead cl = MAILLAGE__CASE_LEAD__INIT;

	cl.case_id = case_id;
	cl.institution = (char *)inst;
	env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_LEAD;
	env.case_lead = &cl;
	raw_case_request(login, &env, "CaseLead");
}

/* ---- raw subscribers ---- */

static struct frame_msg *raw_watch_request(struct itest_conn *c, int from_now,
					   uint64_t after_seq, uint64_t rid)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Watch w = MAILLAGE__WATCH__INIT;

	w.after_seq = after_seq;
	w.from_now = from_now;
	env.request_id = rid;
	env.body_case = MAILLAGE__ENVELOPE__BODY_WATCH;
	env.watch = &w;
	return itest_request(c, &env, ITEST_REPLY_MS);
}

/*
 * A session as `login` that sent Watch and got WatchStarted (the test fails
 * otherwise); its head_seq and after_seq in *head and *after.
 */
static struct itest_conn *watch_raw(const char *login, int from_now,
				    uint64_t after_seq, uint64_t *head,
				    uint64_t *after)
{
	struct itest_conn *c = itest_session(login);
	struct frame_msg *m = raw_watch_request(c, from_now, after_seq, 2);
	char what[64];

	snprintf(what, sizeof(what), "Watch as %s", login);
	if (m == NULL ||
	    m->env->body_case != MAILLAGE__ENVELOPE__BODY_WATCH_STARTED)
		raw_fail(what, m, c);
	assert_int_equal(m->env->request_id, 2);
	assert_int_equal(m->env->seq, 0);
	*head = m->env->watch_started->head_seq;
	*after = m->env->watch_started->after_seq;
	frame_msg_free(m);
	return c;
}

/*
 * The next pushed event within `timeout_ms`: 1, or 0 on timeout. Fails the
 * test when the daemon closes the connection or sends an Error, or an
 * event that is not an event Envelope (request_id 0, seq > 0).
 */
static int raw_next(struct itest_conn *c, int timeout_ms, struct ev *e)
{
	int64_t deadline = itest_now_ms() + timeout_ms;

	for (;;) {
		int64_t left = deadline - itest_now_ms();
		enum itest_recv_status st;
		struct frame_msg *m =
			itest_recv(c, left > 0 ? (int)left : 0, &st);
		const Maillage__Envelope *env;

		if (m == NULL) {
			if (st == ITEST_RECV_TIMEOUT)
				return 0;
			fail_msg("watch connection %s: %s",
				 st == ITEST_RECV_CLOSED ? "closed"
							 : "bad frame",
				 c->error);
		}
		env = m->env;
		if (env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR)
			fail_msg("watch connection: Error %s: %s",
				 itest_error_name(env->error->code),
				 env->error->message);
		if (env->body_case != MAILLAGE__ENVELOPE__BODY_EVENT) {
			frame_msg_free(m);
			continue;
		}
		if (env->request_id != 0 || env->seq == 0 || env->event == NULL)
			fail_msg("event envelope with request_id %" PRIu64
				 ", seq %" PRIu64,
				 env->request_id, env->seq);
		memset(e, 0, sizeof(*e));
		e->seq = env->seq;
		e->case_id = env->event->case_id;
		e->person_id = env->event->person_id;
		e->notice_id = env->event->notice_id;
		ev_copy(e->what, sizeof(e->what), env->event->what);
		ev_copy(e->at, sizeof(e->at), env->event->at);
		ev_copy(e->kind, sizeof(e->kind), env->event->kind);
		ev_copy(e->urgency, sizeof(e->urgency), env->event->urgency);
		ev_copy(e->about, sizeof(e->about), env->event->about);
		ev_copy(e->state, sizeof(e->state), env->event->state);
		assert_instant(e->at);
		frame_msg_free(m);
		return 1;
	}
}

/*
 * Collect events into `l` until one numbered `seq` or more has arrived (0)
 * or `timeout_ms` passed (-1).
 */
static int raw_until_seq(struct itest_conn *c, struct evlist *l, uint64_t seq,
			 int timeout_ms)
{
	int64_t deadline = itest_now_ms() + timeout_ms;
	struct ev e;

	if (l->n > 0 && l->v[l->n - 1].seq >= seq)
		return 0;
	for (;;) {
		int64_t left = deadline - itest_now_ms();

		if (!raw_next(c, left > 0 ? (int)left : 0, &e))
			return -1;
		evlist_add(l, &e);
		if (e.seq >= seq)
			return 0;
	}
}

/* Collect events until one `what` about `notice_id` arrived: it, or NULL. */
static const struct ev *raw_until(struct itest_conn *c, struct evlist *l,
				  const char *what, int64_t notice_id,
				  int timeout_ms)
{
	int64_t deadline = itest_now_ms() + timeout_ms;
	const struct ev *found = evlist_find(l, what, notice_id);
	struct ev e;

	while (found == NULL) {
		int64_t left = deadline - itest_now_ms();

		if (!raw_next(c, left > 0 ? (int)left : 0, &e))
			return NULL;
		evlist_add(l, &e);
		if (strcmp(e.what, what) == 0 &&
		    (notice_id == 0 || e.notice_id == notice_id))
			found = &l->v[l->n - 1];
	}
	return found;
}

/* Collect what arrives during `ms`. */
static void raw_collect(struct itest_conn *c, struct evlist *l, int ms)
{
	int64_t deadline = itest_now_ms() + ms;
	struct ev e;

	for (;;) {
		int64_t left = deadline - itest_now_ms();

		if (left <= 0 || !raw_next(c, (int)left, &e))
			return;
		evlist_add(l, &e);
	}
}

/* ---- `maillage watch` as a child process ---- */

#define MAX_CHILDREN 8

struct child {
	pid_t pid;
	int fd; /* its stdout, non-blocking */
	char name[64];
	char errpath[ITEST_PATH_MAX + 64];
	char *buf; /* a partial line */
	size_t len, cap;
	int eof;
	struct evlist ev;
};

/*
 * Children still running (each leads its own process group), killed by the
 * teardown when a test fails.
 */
static pid_t child_pids[MAX_CHILDREN];

static void child_register(pid_t pid)
{
	size_t i;

	for (i = 0; i < MAX_CHILDREN; i++) {
		if (child_pids[i] == 0) {
			child_pids[i] = pid;
			return;
		}
	}
	fail_msg("too many child processes");
}

static void child_unregister(pid_t pid)
{
	size_t i;

	for (i = 0; i < MAX_CHILDREN; i++) {
		if (child_pids[i] == pid)
			child_pids[i] = 0;
	}
}

/* Path of a file of this test run in the fixture's directory. */
static void work_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", itest_env()->workdir, name);
}

static void state_file_write(const char *path, uint64_t seq)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fprintf(f, "%" PRIu64 "\n", seq) < 0 || fclose(f) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
}

static uint64_t state_file_read(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned long long v = 0;

	if (f == NULL)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	if (fscanf(f, "%llu", &v) != 1)
		fail_msg("%s holds no number", path);
	fclose(f);
	return (uint64_t)v;
}

/*
 * Start `maillage --config WORKDIR/DIR/LOGIN.conf --json watch --state-file
 * STATE [EXTRA]` with its stdout on a pipe and its stderr in WORKDIR/NAME.err.
 */
static void child_start(struct child *ch, const char *name, const char *dir,
			const char *login, const char *state, const char *extra)
{
	const struct itest_env *e = itest_env();
	char conf[ITEST_PATH_MAX + 64];
	const char *argv[12];
	int p[2], errfd;
	size_t n = 0;

	memset(ch, 0, sizeof(*ch));
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	snprintf(conf, sizeof(conf), "%s/%s/%s.conf", e->workdir, dir, login);
	snprintf(ch->errpath, sizeof(ch->errpath), "%s/%s.err", e->workdir,
		 name);
	argv[n++] = e->client_bin;
	argv[n++] = "--config";
	argv[n++] = conf;
	argv[n++] = "--json";
	argv[n++] = "watch";
	argv[n++] = "--state-file";
	argv[n++] = state;
	if (extra != NULL)
		argv[n++] = extra;
	argv[n] = NULL;
	errfd = open(ch->errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		     0644);
	if (errfd < 0 || pipe(p) != 0)
		fail_msg("cannot set up %s: %s", name, strerror(errno));
	fflush(NULL);
	ch->pid = fork();
	if (ch->pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (ch->pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(p[1], 1);
		dup2(errfd, 2);
		close(p[0]);
		close(p[1]);
		setpgid(0, 0); /* the teardown kills the whole group */
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(ch->pid, ch->pid); /* whichever of the two runs first */
	close(p[1]);
	close(errfd);
	ch->fd = p[0];
	fcntl(ch->fd, F_SETFL, O_NONBLOCK);
	fcntl(ch->fd, F_SETFD, FD_CLOEXEC);
	child_register(ch->pid);
}

/* What the child wrote on stderr, for messages (static buffer). */
static const char *child_stderr(const struct child *ch)
{
	static char buf[4096];
	FILE *f = fopen(ch->errpath, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void child_line(struct child *ch, const char *line)
{
	json_error_t jerr;
	json_t *doc;
	struct ev e;

	doc = json_loads(line, 0, &jerr);
	if (doc == NULL || !json_is_object(doc))
		fail_msg("%s: watch --json printed a line that is not a JSON "
			 "object (%s): %s",
			 ch->name, jerr.text, line);
	memset(&e, 0, sizeof(e));
	e.seq = (uint64_t)json_int(doc, "seq", ch->name);
	e.case_id = json_int(doc, "case_id", ch->name);
	e.person_id = json_int(doc, "person_id", ch->name);
	e.notice_id = json_int(doc, "notice_id", ch->name);
	ev_copy(e.what, sizeof(e.what), json_str(doc, "what", ch->name));
	ev_copy(e.at, sizeof(e.at), json_str(doc, "at", ch->name));
	ev_copy(e.kind, sizeof(e.kind), json_str(doc, "kind", ch->name));
	ev_copy(e.urgency, sizeof(e.urgency),
		json_str(doc, "urgency", ch->name));
	ev_copy(e.about, sizeof(e.about), json_str(doc, "about", ch->name));
	ev_copy(e.state, sizeof(e.state), json_str(doc, "state", ch->name));
	json_decref(doc);
	assert_instant(e.at);
	evlist_add(&ch->ev, &e);
}

/* Parse what a finished `watch --json` printed into ch->ev (ch reset). */
static void cli_lines(struct child *ch, const char *name, char *out)
{
	char *line = out, *nl;

	memset(ch, 0, sizeof(*ch));
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	while ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		child_line(ch, line);
		line = nl + 1;
	}
	if (*line != '\0')
		fail_msg("%s: unterminated last line: %s", name, line);
}

/* Read what the child printed, waiting at most `ms`; lines become events. */
static void child_poll(struct child *ch, int ms)
{
	struct pollfd pfd = {ch->fd, POLLIN, 0};
	char tmp[8192];
	ssize_t r;
	char *nl;

	if (ch->eof || poll(&pfd, 1, ms) <= 0)
		return;
	for (;;) {
		r = read(ch->fd, tmp, sizeof(tmp));
		if (r == 0)
			ch->eof = 1;
		if (r <= 0)
			break;
		if (ch->len + (size_t)r + 1 > ch->cap) {
			size_t ncap = (ch->len + (size_t)r + 1) * 2;
			char *nb = realloc(ch->buf, ncap);

			assert_non_null(nb);
			ch->buf = nb;
			ch->cap = ncap;
		}
		memcpy(ch->buf + ch->len, tmp, (size_t)r);
		ch->len += (size_t)r;
	}
	if (ch->buf == NULL)
		return;
	ch->buf[ch->len] = '\0';
	while ((nl = strchr(ch->buf, '\n')) != NULL) {
		*nl = '\0';
		child_line(ch, ch->buf);
		ch->len -= (size_t)(nl + 1 - ch->buf);
		memmove(ch->buf, nl + 1, ch->len + 1);
	}
}

/* Wait until the child printed `n` events; 0, or -1 at the deadline. */
static int child_wait_count(struct child *ch, size_t n, int timeout_ms)
{
	int64_t deadline = itest_now_ms() + timeout_ms;

	while (ch->ev.n < n) {
		int64_t left = deadline - itest_now_ms();

		if (left <= 0 || ch->eof)
			return -1;
		child_poll(ch, left > 200 ? 200 : (int)left);
	}
	return 0;
}

/* Wait until the child printed an event `what` about `notice_id`. */
static const struct ev *child_wait_for(struct child *ch, const char *what,
				       int64_t notice_id, int timeout_ms)
{
	int64_t deadline = itest_now_ms() + timeout_ms;
	const struct ev *e;

	while ((e = evlist_find(&ch->ev, what, notice_id)) == NULL) {
		int64_t left = deadline - itest_now_ms();

		if (left <= 0 || ch->eof)
			return NULL;
		child_poll(ch, left > 200 ? 200 : (int)left);
	}
	return e;
}

/* SIGTERM (then SIGKILL after 10 s); the exit status, -1 if killed. */
static int child_stop(struct child *ch)
{
	int64_t deadline = itest_now_ms() + 10000;
	int st = 0;
	pid_t r;

	if (ch->pid <= 0)
		return -1;
	kill(ch->pid, SIGTERM);
	while ((r = waitpid(ch->pid, &st, WNOHANG)) == 0) {
		if (itest_now_ms() > deadline) {
			kill(-ch->pid, SIGKILL);
			waitpid(ch->pid, &st, 0);
			break;
		}
		child_poll(ch, 50);
	}
	child_poll(ch, 0);
	child_unregister(ch->pid);
	ch->pid = 0;
	close(ch->fd);
	ch->fd = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void child_free(struct child *ch)
{
	if (ch->pid > 0)
		child_stop(ch);
	free(ch->buf);
	ch->buf = NULL;
	evlist_free(&ch->ev);
}

/* ---- background programs ---- */

/* Start argv with stdout and stderr in `logpath`; returns the pid. */
static pid_t spawn_logged(const char *const argv[], const char *logpath)
{
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	pid_t pid;

	if (fd < 0)
		fail_msg("cannot create %s: %s", logpath, strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		setpgid(0, 0); /* fixture.sh and its psql die together */
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	setpgid(pid, pid);
	close(fd);
	return pid;
}

/* Exit status of `pid` within `timeout_ms` (killed after: -1). */
static int wait_pid(pid_t pid, int timeout_ms)
{
	int64_t deadline = itest_now_ms() + timeout_ms;
	int st = 0;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (itest_now_ms() > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(20000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Does the file hold a line containing both needles? */
static int file_has_line(const char *path, const char *needle1,
			 const char *needle2)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle1) != NULL &&
			(needle2 == NULL || strstr(line, needle2) != NULL);
	fclose(f);
	return found;
}

/* ---- setup and teardown ---- */

static int daemon2_running;
static int flood_running;

static int group_setup(void **state)
{
	(void)state;
	itest_env();
	return 0;
}

/* Whatever a failed test left behind: children, deadlines, instance B. */
static int watch_teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < MAX_CHILDREN; i++) {
		if (child_pids[i] > 0) {
			kill(-child_pids[i], SIGKILL);
			waitpid(child_pids[i], NULL, 0);
		}
		child_pids[i] = 0;
	}
	deadlines_restore();
	if (flood_running) {
		/* Killing psql does not stop the DO block in its backend. */
		itest_psql("SELECT count(pg_cancel_backend(pid)) FROM "
			   "pg_stat_activity WHERE query LIKE "
			   "'DO $$BEGIN FOR i IN %event_emit%' AND "
			   "pid <> pg_backend_pid()",
			   NULL, 0);
		flood_running = 0;
	}
	if (daemon2_running) {
		itest_fixture("daemon2-stop");
		daemon2_running = 0;
	}
	return 0;
}

/* ---- tests ---- */

/*
 * The raw exchange: Watch (from_now) answers WatchStarted with the stream's
 * head; a runaway notice sent by ase to pjj75 is pushed to pjj as an Event
 * Envelope numbered head + 1 that says what the notice is. A second Watch
 * on the same connection is a CONFLICT; an auditor receives no events.
 */
static void test_raw_watch_notice(void **state)
{
	const struct notice_spec spec = {"ase", "runaway", "pjj75", NULL, NULL};
	struct itest_conn *c, *a;
	struct frame_msg *m;
	uint64_t head, after;
	struct sent s;
	struct ev e;

	(void)state;
	/* from_now wins over after_seq. */
	c = watch_raw("pjj", 1, 1, &head, &after);
	assert_int_equal(head, stream_head("pjj75"));
	assert_int_equal(after, head);

	m = raw_watch_request(c, 1, 0, 3);
	assert_non_null(m);
	itest_assert_error(m, MAILLAGE__ERROR_CODE__CONFLICT);
	frame_msg_free(m);

	notice_send(&spec, &s);
	if (!raw_next(c, WAIT_EVENT_MS, &e))
		fail_msg("no event within %d ms for notice %" PRId64,
			 WAIT_EVENT_MS, s.notice_id);
	assert_int_equal(e.seq, head + 1);
	assert_string_equal(e.what, "notice");
	assert_string_equal(e.kind, "runaway");
	assert_int_equal(e.notice_id, s.notice_id);
	assert_int_equal(e.case_id, s.case_id);
	assert_int_equal(e.person_id, s.person_id);
	assert_string_equal(e.about, "ase75");
	assert_string_equal(e.urgency, "normal");
	assert_string_equal(e.state, "sent");
	/* Nothing else: one notice, one event. */
	assert_int_equal(raw_next(c, 500, &e), 0);
	itest_close(c);

	/* An auditor has no stream to watch. */
	a = itest_session("auditor");
	m = raw_watch_request(a, 1, 0, 2);
	assert_non_null(m);
	itest_assert_error(m, MAILLAGE__ERROR_CODE__FORBIDDEN);
	frame_msg_free(m);
	itest_close(a);
}

/*
 * pjj is offline while ase sends 100 notices; `maillage watch --json
 * --count 100` from the state file then prints exactly those, in order,
 * numbered head+1..head+100, and leaves head+100 in the state file. The
 * next run prints nothing old: only a notice sent afterwards. --from-now
 * skips what the state file would replay; --reset replays the stream from
 * #1; without --json, one line per event.
 */
static void test_offline_replay(void **state)
{
	const struct notice_spec spec = {"ase", "referral", "pjj75", NULL,
					 NULL};
	char statef[ITEST_PATH_MAX + 64], count[16];
	struct itest_output o;
	struct itest_conn *c;
	struct sent s[OFFLINE_NOTICES + 1];
	struct child ch;
	uint64_t head;
	size_t i;

	(void)state;
	work_path(statef, sizeof(statef), "watch-offline.state");
	head = stream_head("pjj75");
	state_file_write(statef, head);

	/* One after the other: commit order, hence stream order, is known. */
	c = itest_session("ase");
	for (i = 0; i < OFFLINE_NOTICES; i++)
		raw_notice_on(c, 10 + i, &spec, &s[i]);
	itest_close(c);

	snprintf(count, sizeof(count), "%d", OFFLINE_NOTICES);
	cli_in(&o, "client", "pjj", "--json", "watch", "--state-file", statef,
	       "--count", count, "--for", "45", "--no-reconnect", NULL);
	if (o.status != 0)
		fail_msg("watch --count %s: exit status %d%s\nstderr: %s",
			 count, o.status, o.timed_out ? " (timed out)" : "",
			 o.err);
	cli_lines(&ch, "watch --count 100", o.out);
	itest_output_free(&o);
	if (ch.ev.n != OFFLINE_NOTICES)
		fail_msg("watch printed %zu events, expected %d", ch.ev.n,
			 OFFLINE_NOTICES);
	for (i = 0; i < OFFLINE_NOTICES; i++) {
		const struct ev *e = &ch.ev.v[i];

		if (e->seq != head + 1 + i || e->notice_id != s[i].notice_id ||
		    strcmp(e->what, "notice") != 0)
			fail_msg("line %zu: #%" PRIu64 " %s notice %" PRId64
				 "; expected #%" PRIu64
				 " notice notice %" PRId64,
				 i + 1, e->seq, e->what, e->notice_id,
				 head + 1 + i, s[i].notice_id);
		assert_string_equal(e->kind, "referral");
		assert_int_equal(e->case_id, s[i].case_id);
	}
	assert_int_equal(state_file_read(statef), head + OFFLINE_NOTICES);
	evlist_free(&ch.ev);

	/* Nothing old is replayed... */
	cli_in(&o, "client", "pjj", "--json", "watch", "--state-file", statef,
	       "--for", "2", NULL);
	assert_int_equal(o.status, 0);
	if (o.out[0] != '\0')
		fail_msg("second run printed old events:\n%s", o.out);
	itest_output_free(&o);

	/* ...and what is new is. */
	notice_send(&spec, &s[OFFLINE_NOTICES]);
	cli_in(&o, "client", "pjj", "--json", "watch", "--state-file", statef,
	       "--count", "1", "--for", "30", "--no-reconnect", NULL);
	if (o.status != 0)
		fail_msg("watch --count 1: exit status %d\nstderr: %s",
			 o.status, o.err);
	cli_lines(&ch, "watch --count 1", o.out);
	itest_output_free(&o);
	assert_int_equal(ch.ev.n, 1);
	assert_int_equal(ch.ev.v[0].seq, head + OFFLINE_NOTICES + 1);
	assert_int_equal(ch.ev.v[0].notice_id, s[OFFLINE_NOTICES].notice_id);
	assert_int_equal(state_file_read(statef), head + OFFLINE_NOTICES + 1);
	evlist_free(&ch.ev);

	/* --from-now: nothing of what the state file would replay. */
	state_file_write(statef, head);
	cli_in(&o, "client", "pjj", "--json", "watch", "--state-file", statef,
	       "--from-now", "--for", "2", NULL);
	assert_int_equal(o.status, 0);
	if (o.out[0] != '\0')
		fail_msg("watch --from-now printed old events:\n%s", o.out);
	itest_output_free(&o);

	/* --reset: the stream from its first event. */
	cli_in(&o, "client", "pjj", "--json", "watch", "--state-file", statef,
	       "--reset", "--count", "3", "--for", "30", "--no-reconnect",
	       NULL);
	if (o.status != 0)
		fail_msg("watch --reset --count 3: exit status %d\nstderr: %s",
			 o.status, o.err);
	cli_lines(&ch, "watch --reset --count 3", o.out);
	itest_output_free(&o);
	assert_int_equal(ch.ev.n, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(ch.ev.v[i].seq, i + 1);
	assert_int_equal(state_file_read(statef), 3);
	evlist_free(&ch.ev);

	/* Without --json: one line per event. */
	cli_in(&o, "client", "pjj", "watch", "--state-file", statef, "--reset",
	       "--count", "1", "--for", "30", "--no-reconnect", NULL);
	assert_int_equal(o.status, 0);
	if (strstr(o.out, " #1 notice ") == NULL ||
	    strstr(o.out, " from ase75 (sent)\n") == NULL ||
	    strchr(o.out, '\n')[1] != '\0')
		fail_msg("watch (text) printed:\n%s", o.out);
	itest_output_free(&o);
}

/*
 * Need to know. A judicial notice addressed to pjj75 reaches pjj (youth
 * justice reads judicial). When urgent notices lapse, coord (an
 * association, which may not read judicial notices) receives the
 * escalation of a general one in full, and that of a judicial one as a
 * case-only alert: the case, the recipient and the lapsed state, but no
 * notice id, kind or urgency (the lead's decision: a lapsed alert concerns
 * the case whatever its notice's class). police75 receives no event about a
 * case it is not a party to, then the party_added that makes it one.
 */
static void test_need_to_know(void **state)
{
	const struct notice_spec judicial = {"ase", "sighting", "pjj75",
					     "judicial", "urgent"};
	const struct notice_spec general = {"ase", "sighting", "pjj75",
					    "general", "urgent"};
	const struct notice_spec to_police = {"ase", "signalement", "police75",
					      NULL, NULL};
	struct itest_conn *pjj, *coord, *police;
	struct evlist lp = {0}, lc = {0}, lpol = {0};
	uint64_t head, after, hidden = 0, marker;
	const struct ev *e;
	struct sent j, g, p;
	size_t i;

	(void)state;
	deadlines_shorten();
	pjj = watch_raw("pjj", 1, 0, &head, &after);
	coord = watch_raw("coord", 1, 0, &head, &after);
	police = watch_raw("police", 1, 0, &head, &after);

	notice_send(&judicial, &j);
	notice_send(&general, &g);
	e = raw_until(pjj, &lp, "notice", j.notice_id, WAIT_EVENT_MS);
	if (e == NULL)
		fail_msg("pjj did not receive judicial notice %" PRId64,
			 j.notice_id);
	assert_string_equal(e->kind, "sighting");
	assert_string_equal(e->urgency, "urgent");

	/* Both lapse. */
	e = raw_until(coord, &lc, "escalation", g.notice_id,
		      WAIT_ESCALATION_MS);
	if (e == NULL)
		fail_msg("coord received no escalation of general notice "
			 "%" PRId64 " within %d ms",
			 g.notice_id, WAIT_ESCALATION_MS);
	assert_string_equal(e->about, "pjj75");
	assert_string_equal(e->kind, "sighting");
	assert_int_equal(e->case_id, g.case_id);
	for (i = 0; i < 100 && hidden == 0; i++) {
		hidden = (uint64_t)itest_sql_int(
			"SELECT coalesce(max(e.seq), 0) FROM inst_event e "
			"JOIN institution i ON i.id = e.institution_id "
			"WHERE i.code = 'hlr' AND e.what = 'escalation' AND "
			"e.notice_id = %" PRId64,
			j.notice_id);
		if (hidden == 0)
			usleep(200000);
	}
	if (hidden == 0)
		fail_msg("judicial notice %" PRId64 " never escalated to hlr "
			 "(nothing to hide: the test proves nothing)",
			 j.notice_id);
	marker = emit_marker("hlr", g.case_id);
	if (raw_until_seq(coord, &lc, marker, WAIT_EVENT_MS) != 0)
		fail_msg("coord: marker #%" PRIu64 " not delivered", marker);
	for (i = 0; i < lc.n; i++) {
		if (lc.v[i].notice_id == j.notice_id)
			fail_msg("coord received #%" PRIu64 " %s naming "
				 "judicial notice %" PRId64,
				 lc.v[i].seq, lc.v[i].what, j.notice_id);
	}
	for (i = 0; i < lc.n && lc.v[i].seq != hidden; i++)
		;
	if (i == lc.n)
		fail_msg("coord did not receive #%" PRIu64 ", the escalation "
			 "about case %" PRId64 " (as a case-only alert)",
			 hidden, j.case_id);
	e = &lc.v[i];
	assert_string_equal(e->what, "escalation");
	assert_int_equal(e->case_id, j.case_id);
	assert_int_equal(e->notice_id, 0);
	assert_string_equal(e->kind, "");
	assert_string_equal(e->urgency, "");
	assert_string_equal(e->about, "pjj75");
	assert_int_equal(evlist_count(&lc, "escalation", g.notice_id), 1);
	assert_int_equal(evlist_count(&lc, "escalation", 0), 2);

	/*
	 * police75 is no party to g's case: an event about it is not for
	 * police. The notice sent to police75 afterwards closes the window
	 * (events arrive in order) before police75 becomes a party (parties
	 * are judged at delivery).
	 */
	hidden = emit_marker("police75", g.case_id);
	notice_send(&to_police, &p);
	e = raw_until(police, &lpol, "notice", p.notice_id, WAIT_EVENT_MS);
	if (e == NULL)
		fail_msg("police did not receive notice %" PRId64, p.notice_id);
	assert_true(e->seq > hidden);
	case_party_add("coord", g.case_id, "police75");
	e = raw_until(police, &lpol, "party_added", 0, WAIT_EVENT_MS);
	if (e == NULL)
		fail_msg("police received no party_added");
	assert_int_equal(e->case_id, g.case_id);
	assert_string_equal(e->about, "police75");
	for (i = 0; i < lpol.n; i++) {
		if (lpol.v[i].seq == hidden || lpol.v[i].case_id == j.case_id)
			fail_msg("police received #%" PRIu64 " about case "
				 "%" PRId64 " before being a party to it",
				 lpol.v[i].seq, lpol.v[i].case_id);
	}
	assert_int_equal(lpol.n, 2);
	/* pjj75, a party, hears of the new party too. */
	e = raw_until(pjj, &lp, "party_added", 0, WAIT_EVENT_MS);
	if (e == NULL)
		fail_msg("pjj received no party_added");
	assert_int_equal(e->case_id, g.case_id);
	evlist_assert_increasing(&lp, "pjj");
	evlist_assert_increasing(&lc, "coord");
	evlist_assert_increasing(&lpol, "police");

	evlist_free(&lp);
	evlist_free(&lc);
	evlist_free(&lpol);
	itest_close(pjj);
	itest_close(coord);
	itest_close(police);
	deadlines_restore();
}

/*
 * Escalation. With the deadline shortened to 3 s: runaway notice A to pjj75
 * is not acknowledged; coord receives its escalation, not within the first
 * second, and the deadline had lapsed when it fired. The lead institution
 * (ase75, set by coord) receives it too. Runaway notice B, which pjj reads
 * at once, never escalates; ase receives pjj's acknowledgement.
 */
static void test_escalation(void **state)
{
	const struct notice_spec spec = {"ase", "runaway", "pjj75", NULL, NULL};
	struct itest_conn *coord, *ase;
	struct evlist lc = {0}, la = {0};
	uint64_t head, after, marker;
	const struct ev *e;
	struct sent a, b;
	int64_t t0;
	size_t i;

	(void)state;
	deadlines_shorten();
	coord = watch_raw("coord", 1, 0, &head, &after);
	ase = watch_raw("ase", 1, 0, &head, &after);

	t0 = itest_now_ms();
	notice_send(&spec, &a);
	notice_send(&spec, &b);
	notice_ack("pjj", b.notice_id, "read");
	case_lead("coord", a.case_id, "ase75");

	/* Nothing in the first second. */
	raw_collect(coord, &lc, (int)(t0 + 1000 - itest_now_ms()));
	if (evlist_count(&lc, "escalation", 0) > 0)
		fail_msg("escalation of notice %" PRId64 " within a second of "
			 "sending (deadline %d s)",
			 evlist_find(&lc, "escalation", 0)->notice_id,
			 SHORT_DEADLINE_S);

	e = raw_until(coord, &lc, "escalation", a.notice_id,
		      WAIT_ESCALATION_MS);
	if (e == NULL)
		fail_msg("coord received no escalation of notice %" PRId64
			 " within %d ms",
			 a.notice_id, WAIT_ESCALATION_MS);
	print_message("escalation received %.1f s after sending (deadline "
		      "%d s)\n",
		      (double)(itest_now_ms() - t0) / 1000.0, SHORT_DEADLINE_S);
	assert_string_equal(e->kind, "runaway");
	assert_string_equal(e->about, "pjj75");
	assert_int_equal(e->case_id, a.case_id);
	assert_true(strcmp(e->state, "sent") == 0 ||
		    strcmp(e->state, "received") == 0);
	/* Fired after the deadline, which is the notice's time + 3 s. */
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice_deadline d "
			      "JOIN notice n ON n.id = d.notice_id "
			      "WHERE d.notice_id = %" PRId64
			      " AND d.fired_at >= d.due_at AND d.due_at >= "
			      "n.created_at + interval '%d seconds'",
			      a.notice_id, SHORT_DEADLINE_S),
		1);

	/* The lead institution is told too. */
	e = raw_until(ase, &la, "escalation", a.notice_id, WAIT_EVENT_MS);
	if (e == NULL)
		fail_msg("ase75 (lead) received no escalation of notice "
			 "%" PRId64,
			 a.notice_id);
	e = evlist_find(&la, "ack", b.notice_id);
	if (e == NULL)
		fail_msg("ase received no ack of notice %" PRId64, b.notice_id);
	assert_string_equal(e->about, "pjj75");
	assert_string_equal(e->state, "read");

	/* B: past its deadline by 2 s, nothing. */
	for (i = 0; i < 100; i++) {
		if (itest_sql_int("SELECT count(*) FROM notice_deadline WHERE "
				  "notice_id = %" PRId64
				  " AND due_at + interval '2 seconds' < now()",
				  b.notice_id) > 0)
			break;
		usleep(200000);
	}
	marker = emit_marker("hlr", b.case_id);
	if (raw_until_seq(coord, &lc, marker, WAIT_EVENT_MS) != 0)
		fail_msg("coord: marker #%" PRIu64 " not delivered", marker);
	assert_int_equal(evlist_count(&lc, "escalation", b.notice_id), 0);
	assert_int_equal(evlist_count(&lc, "escalation", a.notice_id), 1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM case_event WHERE "
			      "what = 'escalated' AND notice_id = %" PRId64,
			      b.notice_id),
		0);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice_deadline WHERE "
			      "notice_id = %" PRId64 " AND fired_at IS NULL "
			      "AND satisfied_at IS NOT NULL",
			      b.notice_id),
		1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM case_event WHERE "
			      "what = 'escalated' AND notice_id = %" PRId64,
			      a.notice_id),
		1);
	evlist_assert_increasing(&lc, "coord");
	evlist_assert_increasing(&la, "ase");

	evlist_free(&lc);
	evlist_free(&la);
	itest_close(coord);
	itest_close(ase);
	deadlines_restore();
}

/*
 * `maillage watch` runs while the daemon is SIGKILLed and restarted on the
 * same port: it reconnects by itself and prints every notice exactly once,
 * in stream order: those sent before the kill (delivered or not) and those
 * sent after the restart. A runaway notice sent just before the kill, with
 * the deadline shortened to 3 s, escalates once after the restart: the
 * deadline lives in the database, not in the daemon.
 */
static void test_daemon_killed(void **state)
{
	const struct notice_spec spec = {"ase", "referral", "pjj75", NULL,
					 NULL};
	const struct notice_spec runaway = {"ase", "runaway", "pjj75", NULL,
					    NULL};
	enum { BEFORE = 3, AROUND = 2, AFTER = 5, TOTAL = 10 };
	char statef[ITEST_PATH_MAX + 64], statec[ITEST_PATH_MAX + 64];
	struct sent s[TOTAL];
	struct child ch, coord;
	const struct ev *e;
	pid_t old_pid;
	uint64_t head;
	size_t i, n = 0;
	int rc;

	(void)state;
	work_path(statef, sizeof(statef), "watch-kill.state");
	head = stream_head("pjj75");
	state_file_write(statef, head);
	child_start(&ch, "watch-kill", "client", "pjj", statef, NULL);
	work_path(statec, sizeof(statec), "watch-kill-coord.state");
	state_file_write(statec, stream_head("hlr"));
	child_start(&coord, "watch-kill-coord", "client", "coord", statec,
		    NULL);

	for (i = 0; i < BEFORE; i++)
		notice_send(&spec, &s[n++]);
	if (child_wait_count(&ch, BEFORE, WAIT_EVENT_MS) != 0)
		fail_msg("watch printed %zu of %d events before the kill\n"
			 "stderr: %s",
			 ch.ev.n, BEFORE, child_stderr(&ch));

	/* Sent, then the daemon dies before or after delivering them. */
	deadlines_shorten();
	for (i = 0; i < AROUND; i++)
		notice_send(i == 0 ? &runaway : &spec, &s[n++]);
	old_pid = itest_env()->daemon_pid;
	if (itest_fixture("daemon-kill") != 0)
		fail_msg("fixture.sh daemon-kill failed");
	itest_env_reload();
	assert_true(itest_env()->daemon_pid != old_pid);
	assert_true(itest_daemon_alive());

	for (i = 0; i < AFTER; i++)
		notice_send(&spec, &s[n++]);
	if (child_wait_count(&ch, TOTAL, 60000) != 0)
		fail_msg("watch printed %zu of %d events after the restart\n"
			 "stderr: %s",
			 ch.ev.n, TOTAL, child_stderr(&ch));
	/* No late duplicate either. */
	child_poll(&ch, 1500);
	if (!file_has_line(ch.errpath, "reconnecting", NULL))
		fail_msg("watch did not report a reconnection: did it notice "
			 "the kill?\nstderr: %s",
			 child_stderr(&ch));
	rc = child_stop(&ch);
	if (rc != 0)
		fail_msg("watch exit status %d after SIGTERM\nstderr: %s", rc,
			 child_stderr(&ch));
	if (ch.ev.n != TOTAL)
		fail_msg("watch printed %zu events, expected %d", ch.ev.n,
			 TOTAL);
	for (i = 0; i < TOTAL; i++) {
		if (ch.ev.v[i].seq != head + 1 + i ||
		    ch.ev.v[i].notice_id != s[i].notice_id)
			fail_msg("line %zu: #%" PRIu64 " notice %" PRId64
				 "; expected #%" PRIu64 " notice %" PRId64,
				 i + 1, ch.ev.v[i].seq, ch.ev.v[i].notice_id,
				 head + 1 + i, s[i].notice_id);
	}
	assert_int_equal(state_file_read(statef), head + TOTAL);
	child_free(&ch);

	e = child_wait_for(&coord, "escalation", s[BEFORE].notice_id,
			   WAIT_ESCALATION_MS);
	if (e == NULL)
		fail_msg("coord did not print the escalation of runaway notice "
			 "%" PRId64 " sent before the kill\nstderr: %s",
			 s[BEFORE].notice_id, child_stderr(&coord));
	child_poll(&coord, 1000);
	assert_int_equal(
		evlist_count(&coord.ev, "escalation", s[BEFORE].notice_id), 1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM case_event WHERE "
			      "what = 'escalated' AND notice_id = %" PRId64,
			      s[BEFORE].notice_id),
		1);
	assert_int_equal(child_stop(&coord), 0);
	child_free(&coord);
	deadlines_restore();
}

/*
 * Two daemons on one cluster. pjj and coord watch through instance B
 * (client2 configurations); ase sends runaway notices through instance A:
 * pjj sees each (the issue wants it within a second; the time is printed,
 * not judged), and once the shortened deadline lapses coord sees one
 * escalation per notice. Both instances check deadlines every 200 ms, yet
 * each fires once: one timeline entry per notice, one event per notice in
 * each target institution's stream.
 */
static void test_two_instances(void **state)
{
	const struct notice_spec spec = {"ase", "runaway", "pjj75", NULL, NULL};
	enum { N = 4 };
	char statep[ITEST_PATH_MAX + 64], statec[ITEST_PATH_MAX + 64];
	struct child pjj, coord;
	struct sent s[N];
	int64_t t0;
	size_t i;

	(void)state;
	if (itest_fixture("daemon2-start") != 0)
		fail_msg("fixture.sh daemon2-start failed");
	daemon2_running = 1;
	deadlines_shorten();

	work_path(statep, sizeof(statep), "watch-b-pjj.state");
	work_path(statec, sizeof(statec), "watch-b-coord.state");
	state_file_write(statep, stream_head("pjj75"));
	state_file_write(statec, stream_head("hlr"));
	child_start(&pjj, "watch-b-pjj", "client2", "pjj", statep, NULL);
	child_start(&coord, "watch-b-coord", "client2", "coord", statec, NULL);

	for (i = 0; i < N; i++) {
		const struct ev *e;

		t0 = itest_now_ms();
		notice_send(&spec, &s[i]);
		e = child_wait_for(&pjj, "notice", s[i].notice_id,
				   WAIT_EVENT_MS);
		if (e == NULL)
			fail_msg("pjj on instance B did not print notice "
				 "%" PRId64 " sent through A\nstderr: %s",
				 s[i].notice_id, child_stderr(&pjj));
		print_message("notice %" PRId64 " through A, printed by watch "
			      "on B %" PRId64 " ms after `notice send` "
			      "started\n",
			      s[i].notice_id, itest_now_ms() - t0);
		assert_string_equal(e->kind, "runaway");
	}
	for (i = 0; i < N; i++) {
		if (child_wait_for(&coord, "escalation", s[i].notice_id,
				   WAIT_ESCALATION_MS) == NULL)
			fail_msg("coord on instance B did not print the "
				 "escalation of notice %" PRId64 "\nstderr: %s",
				 s[i].notice_id, child_stderr(&coord));
	}
	/* Give both instances time to fire again, if they would. */
	child_poll(&coord, 2000);
	for (i = 0; i < N; i++) {
		long long targets = itest_sql_int(
			"SELECT count(*) FROM (SELECT a.institution_id FROM "
			"account a JOIN institution i ON i.id = "
			"a.institution_id WHERE a.role = 'coordinator' AND "
			"a.enabled AND i.enabled UNION SELECT "
			"lead_institution_id FROM case_file WHERE id = "
			"%" PRId64 " AND lead_institution_id IS NOT NULL) t",
			s[i].case_id);

		assert_int_equal(
			itest_sql_int("SELECT count(*) FROM case_event "
				      "WHERE what = 'escalated' AND "
				      "notice_id = %" PRId64,
				      s[i].notice_id),
			1);
		assert_int_equal(
			itest_sql_int("SELECT count(*) FROM inst_event "
				      "WHERE what = 'escalation' AND "
				      "notice_id = %" PRId64,
				      s[i].notice_id),
			targets);
		assert_int_equal(
			itest_sql_int("SELECT count(DISTINCT "
				      "institution_id) FROM inst_event "
				      "WHERE what = 'escalation' AND "
				      "notice_id = %" PRId64,
				      s[i].notice_id),
			targets);
		assert_int_equal(
			evlist_count(&coord.ev, "escalation", s[i].notice_id),
			1);
	}
	evlist_assert_increasing(&pjj.ev, "pjj on B");
	evlist_assert_increasing(&coord.ev, "coord on B");
	assert_int_equal(child_stop(&pjj), 0);
	assert_int_equal(child_stop(&coord), 0);
	child_free(&pjj);
	child_free(&coord);
	deadlines_restore();
	if (itest_fixture("daemon2-stop") != 0)
		fail_msg("fixture.sh daemon2-stop failed");
	daemon2_running = 0;
}

/* The daemon's idle_timeout (seconds) from WORKDIR/maillaged.conf. */
static int daemon_idle_timeout(void)
{
	char path[ITEST_PATH_MAX + 64], line[512];
	FILE *f;
	int v = -1;

	work_path(path, sizeof(path), "maillaged.conf");
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	while (v < 0 && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "idle_timeout = %d", &v) != 1)
			v = -1;
	}
	fclose(f);
	if (v <= 0)
		fail_msg("no idle_timeout in %s", path);
	return v;
}

/*
 * A subscriber that says nothing for longer than the daemon's idle timeout
 * (a quiet night: no events, no requests) is not cut: it still receives the
 * next notice.
 */
static void test_quiet_subscriber_kept(void **state)
{
	const struct notice_spec spec = {"ase", "referral", "pjj75", NULL,
					 NULL};
	struct itest_conn *c;
	uint64_t head, after;
	struct sent s;
	struct ev e;
	int idle = daemon_idle_timeout();

	(void)state;
	c = watch_raw("pjj", 1, 0, &head, &after);
	if (raw_next(c, (idle + 3) * 1000, &e))
		fail_msg("unexpected event #%" PRIu64 " %s while quiet", e.seq,
			 e.what);
	notice_send(&spec, &s);
	if (!raw_next(c, WAIT_EVENT_MS, &e))
		fail_msg("no event after %d s of quiet", idle + 3);
	assert_int_equal(e.seq, head + 1);
	assert_int_equal(e.notice_id, s.notice_id);
	itest_close(c);
}

/* The local port of a connection, to find it in the daemon's log. */
static unsigned local_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
	    sa.sin_family != AF_INET)
		fail_msg("getsockname: %s", strerror(errno));
	return ntohs(sa.sin_port);
}

/*
 * Scan the daemon's log from *off (advanced past the whole lines read) for
 * a line holding both needles: 1 when found.
 */
static int log_scan(const char *path, long *off, const char *needle1,
		    const char *needle2)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int found = 0;

	if (f == NULL)
		return 0;
	if (fseek(f, *off, SEEK_SET) == 0) {
		while (!found && fgets(line, sizeof(line), f) != NULL) {
			size_t n = strlen(line);

			if (line[n - 1] != '\n' && n < sizeof(line) - 1)
				break; /* being written: read it next time */
			*off += (long)n;
			found = strstr(line, needle1) != NULL &&
				strstr(line, needle2) != NULL;
		}
	}
	fclose(f);
	return found;
}

static long file_size(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;

	if (f != NULL) {
		if (fseek(f, 0, SEEK_END) == 0)
			n = ftell(f);
		fclose(f);
	}
	return n;
}

/*
 * Read a subscriber the daemon cut until it is closed: events numbered on
 * from `first`, then the Error saying why (RATE_LIMITED), then the end.
 * Returns the number of events; *last the last one's number.
 */
static size_t drain_cut(struct itest_conn *c, uint64_t first, uint64_t *last)
{
	enum itest_recv_status st;
	struct frame_msg *m;
	size_t n = 0;
	int reason = 0;

	while ((m = itest_recv(c, 15000, &st)) != NULL) {
		const Maillage__Envelope *env = m->env;

		if (reason)
			fail_msg("cut subscriber: %s after the Error",
				 frame_body_name(env));
		if (env->body_case == MAILLAGE__ENVELOPE__BODY_EVENT) {
			if (env->seq != first + n)
				fail_msg("cut subscriber: #%" PRIu64
					 " where #%" PRIu64 " was expected",
					 env->seq, first + n);
			*last = env->seq;
			n++;
		} else if (env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR) {
			if (env->error->code !=
			    MAILLAGE__ERROR_CODE__RATE_LIMITED)
				fail_msg("cut subscriber: Error %s: %s",
					 itest_error_name(env->error->code),
					 env->error->message);
			assert_int_equal(env->request_id, 0);
			reason = 1;
		} else {
			fail_msg("cut subscriber: unexpected %s",
				 frame_body_name(env));
		}
		frame_msg_free(m);
	}
	if (st != ITEST_RECV_CLOSED)
		fail_msg("cut subscriber still connected after %zu events", n);
	if (!reason)
		fail_msg("cut subscriber closed without the Error saying why "
			 "(after %zu events)",
			 n);
	return n;
}

/*
 * Every event written to a subscriber is one delivery audit record, inserted
 * in batches after the writes: wait (bounded) until their number stops
 * growing, so that the suites after this flood start from a quiet trail.
 */
static void delivery_audit_settle(void)
{
	long long n = -1, was;
	int i;

	for (i = 0; i < 120; i++) {
		was = n;
		n = itest_sql_int(
			"SELECT count(*) FROM audit_event WHERE action = "
			"'event.deliver'");
		if (n == was)
			return;
		usleep(1000000);
	}
}

/*
 * A stalled subscriber (Watch, then never reads) and a healthy one, both of
 * pjj75, while 50,000 events are written to pjj75's stream: the healthy
 * one receives every one of them, in order; the stalled one is cut at its
 * output limit (logged; once it reads, it gets part of the flood, then an
 * Error RATE_LIMITED, then the end); reconnecting after the last number it
 * got, it receives the rest.
 */
static void test_stalled_subscriber(void **state)
{
	const struct notice_spec spec = {"ase", "referral", "pjj75", NULL,
					 NULL};
	const struct itest_env *env = itest_env();
	char sql[512], floodlog[ITEST_PATH_MAX + 64];
	char daemonlog[ITEST_PATH_MAX + 64], peer[64];
	struct itest_conn *stalled, *healthy, *again;
	uint64_t head, after, first, last_stalled = 0, expect;
	size_t got_stalled = 0;
	struct frame_msg *m;
	int cut = 0, drained = 0, i, rc;
	struct sent s;
	long logoff;
	pid_t flood;
	struct ev e;

	(void)state;
	work_path(daemonlog, sizeof(daemonlog), "maillaged.log");
	notice_send(&spec, &s); /* a case pjj75 is a party to */
	stalled = watch_raw("pjj", 1, 0, &head, &after);
	healthy = watch_raw("pjj", 1, 0, &head, &after);
	first = stream_head("pjj75") + 1;
	snprintf(peer, sizeof(peer), "127.0.0.1:%u:", local_port(stalled->fd));
	logoff = file_size(daemonlog);

	/*
	 * In transactions of FLOOD_CHUNK events: one transaction bumping one
	 * counter row 50,000 times takes PostgreSQL half a minute.
	 */
	snprintf(sql, sizeof(sql),
		 "DO $$BEGIN FOR i IN 1..%d LOOP PERFORM event_emit((SELECT "
		 "id FROM institution WHERE code = 'pjj75'), 'status', "
		 "%" PRId64 ", NULL, NULL, 'spotted') FROM generate_series(1, "
		 "%d); COMMIT; END LOOP; END$$",
		 FLOOD_EVENTS / FLOOD_CHUNK, s.case_id, FLOOD_CHUNK);
	work_path(floodlog, sizeof(floodlog), "watch-flood.log");
	{
		const char *argv[] = {env->fixture, "psql", env->workdir, sql,
				      NULL};

		flood = spawn_logged(argv, floodlog);
		child_register(flood);
		flood_running = 1;
	}

	/*
	 * The healthy one reads as the flood is written. As soon as the
	 * daemon logs the stalled one's cut, the stalled one reads what was
	 * queued for it (within the daemon's close grace period).
	 */
	expect = first;
	while (expect < first + FLOOD_EVENTS) {
		if (!raw_next(healthy, 60000, &e))
			fail_msg("healthy subscriber: nothing for 60 s after "
				 "#%" PRIu64 " (expected up to #%" PRIu64 ")",
				 expect - 1, first + FLOOD_EVENTS - 1);
		if (e.seq != expect)
			fail_msg("healthy subscriber: #%" PRIu64
				 " where #%" PRIu64 " was expected",
				 e.seq, expect);
		if (strcmp(e.what, "status") != 0 || e.case_id != s.case_id)
			fail_msg("healthy subscriber: #%" PRIu64 " %s case "
				 "%" PRId64,
				 e.seq, e.what, e.case_id);
		expect++;
		if (!cut && expect % 500 == 0 &&
		    log_scan(daemonlog, &logoff, peer, "output limit")) {
			got_stalled = drain_cut(stalled, first, &last_stalled);
			cut = drained = 1;
		}
	}
	rc = wait_pid(flood, 60000);
	child_unregister(flood);
	flood_running = 0;
	if (rc != 0)
		fail_msg("the flood query failed (%d); see %s", rc, floodlog);
	for (i = 0; i < 150 && !cut; i++) {
		cut = log_scan(daemonlog, &logoff, peer, "output limit");
		if (!cut)
			usleep(100000);
	}
	if (!cut)
		fail_msg("no \"output limit\" line for %s in %s: the stalled "
			 "subscriber was not cut",
			 peer, daemonlog);
	if (!drained)
		got_stalled = drain_cut(stalled, first, &last_stalled);
	itest_close(stalled);
	print_message("stalled subscriber cut after %zu of %d events\n",
		      got_stalled, FLOOD_EVENTS);
	assert_true(got_stalled < FLOOD_EVENTS);

	/* The healthy one is still there, and nothing more came. */
	assert_int_equal(raw_next(healthy, 300, &e), 0);
	m = itest_ping(healthy, 99, "x", 1);
	assert_non_null(m);
	assert_int_equal(m->env->body_case, MAILLAGE__ENVELOPE__BODY_PONG);
	frame_msg_free(m);
	itest_close(healthy);

	/* Resuming from the last number received gives the rest. */
	if (got_stalled == 0)
		last_stalled = first - 1;
	again = watch_raw("pjj", 0, last_stalled, &head, &after);
	assert_int_equal(after, last_stalled);
	assert_true(head >= first + FLOOD_EVENTS - 1);
	expect = last_stalled + 1;
	while (expect < first + FLOOD_EVENTS) {
		if (!raw_next(again, 60000, &e))
			fail_msg("resumed subscriber: nothing for 60 s after "
				 "#%" PRIu64,
				 expect - 1);
		if (e.seq != expect)
			fail_msg("resumed subscriber: #%" PRIu64
				 " where #%" PRIu64 " was expected",
				 e.seq, expect);
		expect++;
	}
	itest_close(again);
	delivery_audit_settle();
}

/* ---- plans of the stream reads ---- */

/*
 * The daemon prepares its stream reads, and PostgreSQL soon plans them for
 * any parameters. With a large stream, the plan of the live read (each
 * alert's) and of a replay must go through the streams' key and look up
 * each row's party flag, never read a whole table (the live read used to
 * scan every event stored: 40 ms per alert after a day of notices).
 */
static void test_stream_reads_use_keys(void **state)
{
	int64_t inst;

	(void)state;
	inst = itest_sql_int(
		"INSERT INTO institution (code, name, kind, departement) "
		"VALUES ('plan-probe', 'Plan probe', 'other', '75') "
		"RETURNING id");
	sql_exec("INSERT INTO inst_event (institution_id, seq, what) "
		 "SELECT %" PRId64 ", g, 'status' "
		 "FROM generate_series(1, 30000) g; ANALYZE inst_event",
		 inst);
	itest_assert_plan_keyed("bigint[], bigint[]", events_live_sql,
				"'{1,2}', '{0,0}'", "inst_event",
				"institution_id", 0);
	itest_assert_plan_keyed("bigint, bigint, bigint", events_replay_sql,
				"1, 0, 10", "inst_event", "institution_id", 0);
	/* each row's party and lead flags: one key look-up each (the
	 * fixture's tables are small: planned without sequential scans) */
	itest_assert_plan_keyed("bigint[], bigint[]", events_live_sql,
				"'{1,2}', '{0,0}'", "case_party", "case_id", 1);
	itest_assert_plan_keyed("bigint[], bigint[]", events_live_sql,
				"'{1,2}', '{0,0}'", "case_file", "id", 1);
	sql_exec("DELETE FROM inst_event WHERE institution_id = %" PRId64
		 "; DELETE FROM institution WHERE id = %" PRId64,
		 inst, inst);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_raw_watch_notice,
					  watch_teardown),
		cmocka_unit_test_teardown(test_offline_replay, watch_teardown),
		cmocka_unit_test_teardown(test_quiet_subscriber_kept,
					  watch_teardown),
		cmocka_unit_test_teardown(test_need_to_know, watch_teardown),
		cmocka_unit_test_teardown(test_escalation, watch_teardown),
		cmocka_unit_test_teardown(test_daemon_killed, watch_teardown),
		cmocka_unit_test_teardown(test_two_instances, watch_teardown),
		cmocka_unit_test_teardown(test_stalled_subscriber,
					  watch_teardown),
		cmocka_unit_test(test_stream_reads_use_keys),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (argc > 2)
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests_name("watch", tests, group_setup, NULL);
}
