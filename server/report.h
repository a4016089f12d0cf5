/*
 * report: the coordinators' reports drawn from the awareness sessions
 * (issue 7). This module owns the reach report of a year or a period
 * (sessions, participants, institutions and hours, broken down by profile,
 * institution kind, département, module, format and month, and the mean
 * self-assessment scores) and the impact report (for each trained
 * institution, the notices it sent and the identifications it contributed
 * to in the 12 months before and after its first session; the definitions
 * are those of report_impact_rows() in sql/006_training.sql). Counts only:
 * no young person, no participant and no case is named or numbered.
 */
#ifndef MAILLAGE_REPORT_H
#define MAILLAGE_REPORT_H

#include "maillage.pb-c.h"

struct conn;

void report_reach(struct conn *c, const Maillage__Envelope *env);
void report_impact(struct conn *c, const Maillage__Envelope *env);

#endif
