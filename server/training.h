/*
 * training: the directory of the partner network and its awareness sessions
 * (issue 7). This module owns the requests that read the directory (every
 * account: code, name, kind, département, contact point, whether the
 * institution is connected, when its staff were last trained, and whether
 * the optional network policy finds its training lapsed), and those that
 * record, edit, list and show the sessions and their reference lists
 * (coordinators): the checks of every field of a session (dates, duration,
 * format, attendance by institution and profile, modules, trainers, scores,
 * each refused with a typed error naming the field), and the one statement
 * that stores a session whole with its audit record (sql/006_training.sql).
 * The reports drawn from the sessions are in report.c.
 */
#ifndef MAILLAGE_TRAINING_H
#define MAILLAGE_TRAINING_H

#include "maillage.pb-c.h"

struct conn;

void training_network_list(struct conn *c, const Maillage__Envelope *env);
void training_network_show(struct conn *c, const Maillage__Envelope *env);
void training_add(struct conn *c, const Maillage__Envelope *env);
void training_edit(struct conn *c, const Maillage__Envelope *env);
void training_list(struct conn *c, const Maillage__Envelope *env);
void training_show(struct conn *c, const Maillage__Envelope *env);
void training_reference(struct conn *c, const Maillage__Envelope *env);

/* A département code: two or three digits, 2A or 2B. */
int training_valid_departement(const char *s);

#endif
