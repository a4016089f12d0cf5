/*
 * person: the requests about young persons as such, across their
 * identities: `person search` (the known persons an identity may be,
 * scored by match.c; coordinators search every person, partners the
 * persons of the cases their institution is a party of), `person show`
 * (its readable identities and visible cases), and the
 * coordinators' decisions: the review queue of candidate pairs (`person
 * candidates`), `person link` (two persons are one: identities, notices
 * and cases move, recorded row by row), `person unlink` (undone exactly)
 * and `person dismiss` (not one). Each request writes one audit record
 * (person.search, .link, .unlink, .candidates, .dismiss) with ids only;
 * the reasons a coordinator gives are stored sealed (vault.h).
 */
#ifndef MAILLAGE_PERSON_H
#define MAILLAGE_PERSON_H

#include "conn.h"
#include "maillage.pb-c.h"

void person_search(struct conn *c, const Maillage__Envelope *env);
void person_link(struct conn *c, const Maillage__Envelope *env);
void person_unlink(struct conn *c, const Maillage__Envelope *env);
void person_candidates(struct conn *c, const Maillage__Envelope *env);
void person_dismiss(struct conn *c, const Maillage__Envelope *env);
void person_show(struct conn *c, const Maillage__Envelope *env);

#endif
