/*
 * session: the requests that concern the session itself: authentication of
 * the certificate after Hello (account lookup by fingerprint and the
 * 'connect' audit record, in one statement), Ping and WhoAmI. Each answers
 * only after its audit record has committed.
 */
#ifndef MAILLAGE_SESSION_H
#define MAILLAGE_SESSION_H

#include <stdint.h>

#include "maillage.pb-c.h"

struct conn;

void session_authenticate(struct conn *c, uint64_t request_id);
void session_ping(struct conn *c, const Maillage__Envelope *env);
void session_whoami(struct conn *c, const Maillage__Envelope *env);

#endif
