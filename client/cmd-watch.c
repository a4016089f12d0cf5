/*
 * cmd-watch: `maillage watch`, the institution's events as they happen.
 * This module owns the watch loop: connect, ask the server to replay the
 * stream after the last sequence number handled (kept in a state file next
 * to the configuration), print each event as one line (or one JSON object
 * per line), remember its number, and on a lost connection reconnect by
 * itself with backoff and resume. Delivery is at least once: an event
 * already handled (number not above the last one) is dropped.
 */
#include "cmd.h"
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WATCH_PING_MS 30000
/* Longest wait in one receive: how soon a signal (Ctrl-C) is noticed. */
#define WATCH_SLICE_MS 500
#define WATCH_BACKOFF_MIN 1
#define WATCH_BACKOFF_MAX 30

struct watch {
	struct cmd_ctx *ctx;
	char *state_path;
	uint64_t last; /* last sequence number handled */
	unsigned long count;
	unsigned long max_count; /* 0: no limit */
	time_t deadline;	 /* 0: none (--for) */
	int quiet;
	int rc; /* output failure */
};

static volatile sig_atomic_t watch_stop;

static void watch_on_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* ---- state file ------------------------------------------------------ */

static char *watch_default_state(const char *config)
{
	size_t n = strlen(config) + sizeof(".watch");
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s.watch", config);
	return p;
}

static uint64_t watch_state_read(const char *path)
{
	FILE *fp = fopen(path, "r");
	unsigned long long v = 0;

	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%llu", &v) != 1)
		v = 0;
	fclose(fp);
	return (uint64_t)v;
}

/* Write the number atomically (temporary file, then rename). */
static int watch_state_write(const char *path, uint64_t seq)
{
	size_t n = strlen(path) + sizeof(".tmp");
	char *tmp = malloc(n);
	FILE *fp;
	int ok;

	if (tmp == NULL)
		return -1;
	snprintf(tmp, n, "%s.tmp", path);
	fp = fopen(tmp, "w");
	if (fp == NULL) {
		free(tmp);
		return -1;
	}
	ok = fprintf(fp, "%" PRIu64 "\n", seq) > 0;
	ok = fflush(fp) == 0 && ok;
	ok = fsync(fileno(fp)) == 0 && ok;
	ok = fclose(fp) == 0 && ok;
	ok = ok && rename(tmp, path) == 0;
	if (!ok)
		unlink(tmp);
	free(tmp);
	return ok ? 0 : -1;
}

/* ---- printing -------------------------------------------------------- */

static void watch_print_json(uint64_t seq, const Maillage__Event *e)
{
	json_t *doc = json_pack(
		"{s:I, s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "seq",
		(json_int_t)seq, "what", output_jstr(e->what), "at",
		output_jstr(e->at), "case_id", (json_int_t)e->case_id,
		"person_id", (json_int_t)e->person_id, "notice_id",
		(json_int_t)e->notice_id, "kind", output_jstr(e->kind),
		"urgency", output_jstr(e->urgency), "about",
		output_jstr(e->about), "state", output_jstr(e->state));
	char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(doc);
}

/* The human line: what happened, to which case and notice, by whom. */
static void watch_print_text(uint64_t seq, const Maillage__Event *e)
{
	char what[64], kind[64], about[64], state[64], at[OUTPUT_DATE_MAX];

	output_clean(what, sizeof(what), e->what);
	output_clean(kind, sizeof(kind), e->kind);
	output_clean(about, sizeof(about), e->about);
	output_clean(state, sizeof(state), e->state);
	output_date(at, e->at);
	printf("%s #%" PRIu64 " %s", at, seq, what);
	if (strcmp(e->urgency, "urgent") == 0)
		printf("%s%s%s", output_sgr(OUTPUT_URGENT), _(" URGENT"),
		       output_sgr(OUTPUT_RESET));
	if (kind[0] != '\0')
		printf(" %s", kind);
	if (e->notice_id > 0)
		printf(_(" notice %" PRId64), e->notice_id);
	if (e->case_id > 0)
		printf(_(" case %" PRId64), e->case_id);
	if (strcmp(e->what, "notice") == 0)
		printf(_(" from %s"), about);
	else if (about[0] != '\0')
		printf(" %s %s",
		       strcmp(e->what, "escalation") == 0
			       ? _("unacknowledged by")
		       : strcmp(e->what, "seen_elsewhere") == 0
			       ? _("(the young person may have been seen) by")
			       : _("by"),
		       about);
	if (state[0] != '\0')
		printf(" (%s)", state);
	printf("\n");
}

static void watch_handle(struct watch *w, const struct frame_msg *msg)
{
	const Maillage__Envelope *env = msg->env;

	/* The server says why it is about to close (account disabled,
	 * output limit): tell the user; an account that may no longer
	 * connect ends the watch. */
	if (env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR &&
	    env->request_id == 0 && env->error != NULL) {
		struct cerr err;

		cerr_from_server(&err, env->error);
		output_error(&err);
		if (env->error->code == MAILLAGE__ERROR_CODE__UNAUTHENTICATED) {
			w->rc = MAILLAGE_EXIT_REFUSED;
			watch_stop = 1;
		}
		return;
	}
	if (env->body_case != MAILLAGE__ENVELOPE__BODY_EVENT ||
	    env->event == NULL || env->seq <= w->last)
		return;
	if (w->ctx->json)
		watch_print_json(env->seq, env->event);
	else
		watch_print_text(env->seq, env->event);
	if (output_flush() != MAILLAGE_EXIT_OK || output_closed()) {
		w->rc = MAILLAGE_EXIT_UNAVAILABLE;
		watch_stop = 1;
	}
	w->last = env->seq;
	w->count++;
	if (watch_state_write(w->state_path, w->last) != 0 && !w->quiet) {
		output_warnx(_("cannot write the state file %s: %s"),
			     w->state_path, strerror(errno));
		w->quiet = 1;
	}
	if (w->max_count > 0 && w->count >= w->max_count)
		watch_stop = 1;
}

static void watch_event_cb(struct net_conn *conn, const struct frame_msg *msg,
			   void *arg)
{
	(void)conn;
	watch_handle(arg, msg);
}

/* ---- the loop -------------------------------------------------------- */

static int watch_remaining_ms(const struct watch *w)
{
	time_t now = time(NULL);

	if (w->deadline == 0)
		return WATCH_PING_MS;
	if (now >= w->deadline)
		return 0;
	return (w->deadline - now) * 1000 < WATCH_PING_MS
		       ? (int)(w->deadline - now) * 1000
		       : WATCH_PING_MS;
}

static int watch_start(struct watch *w, struct net_conn *conn, int from_now,
		       struct cerr *err)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__Watch wr = MAILLAGE__WATCH__INIT;
	struct frame_msg *resp = NULL;

	wr.after_seq = w->last;
	wr.from_now = from_now;
	req.body_case = MAILLAGE__ENVELOPE__BODY_WATCH;
	req.watch = &wr;
	if (net_call(conn, &req, MAILLAGE__ENVELOPE__BODY_WATCH_STARTED, &resp,
		     err) != 0)
		return -1;
	if (from_now)
		w->last = resp->env->watch_started->after_seq;
	frame_msg_free(resp);
	return 0;
}

/* Ping to find out whether a quiet connection is still alive. */
static int watch_ping(struct net_conn *conn, struct cerr *err)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__Ping ping = MAILLAGE__PING__INIT;
	struct frame_msg *resp = NULL;

	req.body_case = MAILLAGE__ENVELOPE__BODY_PING;
	req.ping = &ping;
	if (net_call(conn, &req, MAILLAGE__ENVELOPE__BODY_PONG, &resp, err) !=
	    0)
		return -1;
	frame_msg_free(resp);
	return 0;
}

static int64_t watch_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One connection: returns 0 when asked to stop, -1 with `err` when lost.
 * Receives in slices of WATCH_SLICE_MS (net_recv retries interrupted waits,
 * so a signal is seen only when it returns) and pings after WATCH_PING_MS
 * of silence.
 */
static int watch_session(struct watch *w, int from_now, struct cerr *err)
{
	struct net_conn *conn = NULL;
	struct frame_msg *msg;
	int64_t heard;
	int r, ms;

	if (net_connect(w->ctx->conf, "maillage-watch/" MAILLAGE_VERSION, &conn,
			err) != 0)
		return -1;
	net_set_event_cb(conn, watch_event_cb, w);
	if (watch_start(w, conn, from_now, err) != 0) {
		net_close(conn);
		return -1;
	}
	heard = watch_now_ms();
	while (!watch_stop) {
		ms = watch_remaining_ms(w);
		if (ms == 0)
			break;
		r = net_recv(conn, ms < WATCH_SLICE_MS ? ms : WATCH_SLICE_MS,
			     &msg, err);
		if (r < 0) {
			net_close(conn);
			return -1;
		}
		if (r == 0) {
			watch_handle(w, msg);
			frame_msg_free(msg);
			heard = watch_now_ms();
		} else if (watch_now_ms() - heard >= WATCH_PING_MS &&
			   (w->deadline == 0 || time(NULL) < w->deadline)) {
			if (watch_ping(conn, err) != 0) {
				net_close(conn);
				return -1;
			}
			heard = watch_now_ms();
		}
	}
	net_close(conn);
	return 0;
}

/* Errors that another attempt cannot cure end the command. */
static int watch_fatal(const struct cerr *err)
{
	if (err->kind == CERR_SERVER)
		return err->code != MAILLAGE__ERROR_CODE__UNAVAILABLE &&
		       err->code != MAILLAGE__ERROR_CODE__TIMEOUT &&
		       err->code != MAILLAGE__ERROR_CODE__RATE_LIMITED;
	return err->kind == CERR_CONFIG || err->kind == CERR_CERT_REFUSED ||
	       err->kind == CERR_TLS || err->kind == CERR_USAGE ||
	       err->kind == CERR_LOCAL;
}

static void watch_sleep(unsigned secs)
{
	struct timespec ts = {1, 0};

	while (secs-- > 0 && !watch_stop)
		nanosleep(&ts, NULL);
}

static int watch_loop(struct watch *w, int from_now, int reconnect)
{
	unsigned backoff = WATCH_BACKOFF_MIN;
	struct cerr err;

	while (!watch_stop) {
		memset(&err, 0, sizeof(err));
		if (watch_session(w, from_now, &err) == 0)
			break;
		if (watch_stop)
			break;
		if (!reconnect || watch_fatal(&err))
			return cmd_fail(w->ctx, &err);
		from_now = 0; /* resume from what was handled */
		output_error(&err);
		output_warnx(
			_("reconnecting in %u s, resuming after #%" PRIu64),
			backoff, w->last);
		watch_sleep(backoff);
		backoff = backoff * 2 > WATCH_BACKOFF_MAX ? WATCH_BACKOFF_MAX
							  : backoff * 2;
		if (w->deadline != 0 && time(NULL) >= w->deadline)
			break;
	}
	return w->rc;
}

static int cmd_watch_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct watch w;
	const char *state = cmd_opt_value(ctx, "state-file");
	unsigned count = 0, secs = 0;
	struct sigaction sa;
	int rc;

	(void)argc;
	(void)argv;
	memset(&w, 0, sizeof(w));
	if (cmd_opt_uint(ctx, "count", 0, 1, 1000000000u, &count) != 0 ||
	    cmd_opt_uint(ctx, "for", 0, 1, 1000000000u, &secs) != 0)
		return MAILLAGE_EXIT_USAGE;
	w.ctx = ctx;
	w.max_count = count;
	w.deadline = secs > 0 ? time(NULL) + (time_t)secs : 0;
	w.state_path = state != NULL ? strdup(state)
				     : watch_default_state(ctx->conf->path);
	if (w.state_path == NULL) {
		output_warnx(_("out of memory"));
		return MAILLAGE_EXIT_UNAVAILABLE;
	}
	w.last = cmd_opt_isset(ctx, "reset") ? 0
					     : watch_state_read(w.state_path);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = watch_loop(&w, cmd_opt_isset(ctx, "from-now"),
			!cmd_opt_isset(ctx, "no-reconnect"));
	free(w.state_path);
	return rc;
}

static const struct cmd_option cmd_watch_options[] = {
	{"from-now", 0, NULL,
	 N_("skip what happened before (the default resumes after the last "
	    "event handled)")},
	{"reset", 0, NULL,
	 N_("forget the state file: replay the whole stream")},
	{"state-file", 0, "PATH",
	 N_("where the last event number is kept (default: CONFIG.watch)")},
	{"count", 'n', "N", N_("stop after N events")},
	{"for", 0, "SECONDS", N_("stop after this many seconds")},
	{"no-reconnect", 0, NULL, N_("exit when the connection is lost")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_watch_entry = {
	.name = "watch",
	.alias = NULL,
	.usage = "[--from-now|--reset] [--state-file PATH] [--count N] "
		 "[--for SECONDS]",
	.summary = N_("Print your institution's events as they happen"),
	.help = N_(
		"Keeps a connection open and prints one line per event: new "
		"notices\n"
		"addressed to your institution, acknowledgements of the "
		"notices it sent,\n"
		"changes to the cases it is a party to, and escalations of "
		"unacknowledged\n"
		"urgent notices (coordinators and lead institutions). With "
		"--json, one\n"
		"JSON object per line (keys: seq, what, at, case_id, "
		"person_id,\n"
		"notice_id, kind, urgency, about, state).\n"
		"\n"
		"Each event carries its number in your institution's stream. "
		"The last\n"
		"number handled is kept in CONFIG.watch; on restart, or when "
		"the\n"
		"connection drops (watch reconnects by itself, waiting 1 s, "
		"2 s, ... up\n"
		"to 30 s), the server replays everything after it: nothing is "
		"missed,\n"
		"and nothing is printed twice. Events about what you may not "
		"read are\n"
		"not sent to you. Stop with Ctrl-C.\n"
		"\n"
		"Example:\n"
		"  $ maillage watch\n"
		"  2026-11-28T14:03:07Z #12 notice URGENT runaway notice 17 "
		"case 3 from ase75 (sent)\n"),
	.exec = cmd_watch_exec,
	.flags = CMD_NEEDS_CONFIG,
	.options = cmd_watch_options,
	.min_args = 0,
	.max_args = 0,
};
