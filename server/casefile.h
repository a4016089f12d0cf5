/*
 * casefile: the requests about joint follow-up cases: listing the cases the
 * caller may see, showing one (identities, parties, lead, and the timeline
 * of the notices the caller may read, with each recipient's state), and the
 * coordinators' changes (parties, lead, close, reopen) and protection status
 * changes. Every change and its case_event timeline entry and audit record
 * commit together.
 */
#ifndef MAILLAGE_CASEFILE_H
#define MAILLAGE_CASEFILE_H

#include "maillage.pb-c.h"

struct conn;

void casefile_list(struct conn *c, const Maillage__Envelope *env);
void casefile_show(struct conn *c, const Maillage__Envelope *env);
void casefile_party(struct conn *c, const Maillage__Envelope *env);
void casefile_lead(struct conn *c, const Maillage__Envelope *env);
void casefile_close(struct conn *c, const Maillage__Envelope *env);
void casefile_reopen(struct conn *c, const Maillage__Envelope *env);
void casefile_status(struct conn *c, const Maillage__Envelope *env);

#endif
