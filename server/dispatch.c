/*
 * dispatch: request routing table; see dispatch.h.
 */
#include "dispatch.h"

#include <stddef.h>

#include "admin.h"
#include "audit.h"
#include "auditlog.h"
#include "casefile.h"
#include "conn.h"
#include "events.h"
#include "notice.h"
#include "person.h"
#include "report.h"
#include "session.h"
#include "training.h"

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
	{MAILLAGE__ENVELOPE__BODY_AUDIT_LOG, "audit.log", auditlog_log},
	{MAILLAGE__ENVELOPE__BODY_AUDIT_WHO_READ, "audit.who_read",
	 auditlog_who_read},
	{MAILLAGE__ENVELOPE__BODY_AUDIT_CHAIN, "audit.chain", auditlog_chain},
	{MAILLAGE__ENVELOPE__BODY_NETWORK_LIST, "network.list",
	 training_network_list},
	{MAILLAGE__ENVELOPE__BODY_NETWORK_SHOW, "network.show",
	 training_network_show},
	{MAILLAGE__ENVELOPE__BODY_TRAINING_ADD, "training.add", training_add},
	{MAILLAGE__ENVELOPE__BODY_TRAINING_EDIT, "training.edit",
	 training_edit},
	{MAILLAGE__ENVELOPE__BODY_TRAINING_LIST, "training.list",
	 training_list},
	{MAILLAGE__ENVELOPE__BODY_TRAINING_SHOW, "training.show",
	 training_show},
	{MAILLAGE__ENVELOPE__BODY_TRAINING_REFERENCE, "training.reference",
	 training_reference},
	{MAILLAGE__ENVELOPE__BODY_REPORT_REACH, "report.reach", report_reach},
	{MAILLAGE__ENVELOPE__BODY_REPORT_IMPACT, "report.impact",
	 report_impact},
	{MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_ADD,
	 "admin.institution.add", admin_institution_add},
	{MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_LIST,
	 "admin.institution.list", admin_institution_list},
	{MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_SET,
	 "admin.institution.set", admin_institution_set},
	{MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_ADD, "admin.account.add",
	 admin_account_add},
	{MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_LIST, "admin.account.list",
	 admin_account_list},
	{MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_SET, "admin.account.set",
	 admin_account_set},
	{MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_ROTATE, "admin.account.rotate",
	 admin_account_rotate},
	{MAILLAGE__ENVELOPE__BODY_PERSON_SEARCH, "person.search",
	 person_search},
	{MAILLAGE__ENVELOPE__BODY_PERSON_LINK, "person.link", person_link},
	{MAILLAGE__ENVELOPE__BODY_PERSON_UNLINK, "person.unlink",
	 person_unlink},
	{MAILLAGE__ENVELOPE__BODY_PERSON_CANDIDATES, "person.candidates",
	 person_candidates},
	{MAILLAGE__ENVELOPE__BODY_PERSON_DISMISS, "person.dismiss",
	 person_dismiss},
	{MAILLAGE__ENVELOPE__BODY_PERSON_SHOW, "person.show", person_show},
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
