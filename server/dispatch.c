/*
 * dispatch: request routing table; see dispatch.h.
 */
#include "dispatch.h"

#include <stddef.h>

#include "audit.h"
#include "conn.h"
#include "session.h"

struct dispatch_entry {
	Maillage__Envelope__BodyCase body;
	const char *action;
	void (*handler)(struct conn *c, const Maillage__Envelope *env);
};

static const struct dispatch_entry dispatch_table[] = {
	{MAILLAGE__ENVELOPE__BODY_PING, "ping", session_ping},
	{MAILLAGE__ENVELOPE__BODY_WHOAMI, "whoami", session_whoami},
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
