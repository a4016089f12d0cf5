/*
 * notice: the requests about referral notices: sending one (validation,
 * need-to-know checks on every recipient, then person, case, parties,
 * notice, indicators, recipients and audit in one transaction, idempotent
 * by the client's key), the institution's inbox (which marks what it
 * delivers as received), acknowledgements, and the indicator reference
 * list.
 */
#ifndef MAILLAGE_NOTICE_H
#define MAILLAGE_NOTICE_H

#include "maillage.pb-c.h"

struct conn;

void notice_send(struct conn *c, const Maillage__Envelope *env);
void notice_inbox(struct conn *c, const Maillage__Envelope *env);
void notice_ack(struct conn *c, const Maillage__Envelope *env);
void notice_indicators(struct conn *c, const Maillage__Envelope *env);

#endif
