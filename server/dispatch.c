/*
 * dispatch: request routing table; see dispatch.h.
 */
#include "dispatch.h"

#include <stddef.h>

#include "audit.h"
#include "casefile.h"
#include "conn.h"
#include "events.h"
#include "notice.h"
#include "session.h"

struct dispatch_entry {
	Maillage__Envelope__BodyCase body;
	const char *action;
	void (*handler)(struct conn *c, const Maillage__Envelope *env);
};

static const struct dispatch_entry dispatch_table[] = {
	{MAILLAGE__ENVELOPE__BODY_PING, "ping", session_ping},
	{MAILLAGE__ENVELOPE__BODY_WHOAMI, "whoami", session_whoami},
	{MAILLAGE__ENVELOPE__BODY_NOTICE_SEND, "notice.send", notice_send},
	{MAILLAGE__ENVELOPE__BODY_INBOX, "inbox", notice_inbox},
	{MAILLAGE__ENVELOPE__BODY_ACK, "ack", notice_ack},
	{MAILLAGE__ENVELOPE__BODY_INDICATORS, "indicators", notice_indicators},
	{MAILLAGE__ENVELOPE__BODY_CASE_LIST, "case.list", casefile_list},
	{MAILLAGE__ENVELOPE__BODY_CASE_SHOW, "case.show", casefile_show},
	{MAILLAGE__ENVELOPE__BODY_CASE_PARTY, "case.party", casefile_party},
	{MAILLAGE__ENVELOPE__BODY_CASE_LEAD, "case.lead", casefile_lead},
	{MAILLAGE__ENVELOPE__BODY_CASE_CLOSE, "case.close", casefile_close},
	{MAILLAGE__ENVELOPE__BODY_CASE_REOPEN, "case.reopen", casefile_reopen},
	{MAILLAGE__ENVELOPE__BODY_CASE_STATUS, "case.status", casefile_status},
	{MAILLAGE__ENVELOPE__BODY_WATCH, "watch", events_watch},
};

void dispatch_request(struct conn *c, const Maillage__Envelope *env)
{
	struct audit_rec rec = {0};
	size_t i;

	for (i = 0; i < sizeof(dispatch_table) / sizeof(dispatch_table[0]);
	     i++) {
		if (dispatch_table[i].body == env->body_case) {
			dispatch_table[i].handler(c, env);
			return;
		}
	}
	rec.action = "unknown";
	rec.outcome = "refused";
	rec.error_code = "BAD_REQUEST";
	rec.request_id = env->request_id;
	audit_submit(c, &rec);
	conn_send_error(c, env->request_id, MAILLAGE__ERROR_CODE__BAD_REQUEST,
			"body", "not a request this server knows");
	conn_request_done(c);
}
