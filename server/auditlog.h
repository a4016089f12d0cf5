/*
 * auditlog: the auditor's requests on the audit trail. This module owns
 * AuditLog (audit_event rows by case, account, institution, action, time
 * range and outcome, newest or oldest first, paged by id), AuditWhoRead
 * (who accessed a case: the accounts whose requests read it, per action,
 * with counts and first and last times; the actions that count as reads
 * are the rows of audit_read_action) and AuditChain (one page of the
 * sealed chain: seals with their rows, the checkpoints in the page, the
 * rows no seal covers, the latest checkpoint and the signing keys), from
 * which the client verifies and exports. Only the auditor role may ask
 * (acl_role_may(ACL_OP_AUDIT)); every answer is bounded by the list limit
 * and by the frame size, and is audited like any request.
 */
#ifndef MAILLAGE_AUDITLOG_H
#define MAILLAGE_AUDITLOG_H

#include "maillage.pb-c.h"

struct conn;

void auditlog_log(struct conn *c, const Maillage__Envelope *env);
void auditlog_who_read(struct conn *c, const Maillage__Envelope *env);
void auditlog_chain(struct conn *c, const Maillage__Envelope *env);

#endif
