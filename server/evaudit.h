/*
 * evaudit: the audit of event deliveries. Every event written to a
 * subscriber is one audit_event row (action "event.deliver", outcome "ok",
 * the subscriber's account, institution, role, peer and certificate, the
 * event's number in request_id, and the case, notice and person ids the
 * event carried: no content, no names). Rows are gathered while events are
 * written and inserted afterwards, off the path of the writes: INSERTs (of
 * arrays, unnested) of EVAUDIT_BATCH rows as soon as that many are there,
 * what is left EVAUDIT_LINGER_MS after its first row at most, and
 * EVAUDIT_INFLIGHT such jobs at a time; none while a live fan-out is being
 * written (evaudit_hold), unless EVAUDIT_HOLD_MAX rows wait, so that the
 * database's work on them does not compete with the writes for the
 * machine's cores. Ids taken by transactions not yet
 * committed are gaps the sealer waits for, and it waits for at most 1000
 * at once (seal.c): these two stay well under that, even with two
 * instances. What waits is bounded (EVAUDIT_PENDING_MAX rows); past it, or
 * when the database refuses a batch, the rows are lost and counted in a
 * warning, never kept without bound.
 */
#ifndef MAILLAGE_EVAUDIT_H
#define MAILLAGE_EVAUDIT_H

#include <stdint.h>

#define EVAUDIT_BATCH 200
#define EVAUDIT_INFLIGHT 2
#define EVAUDIT_LINGER_MS 10
#define EVAUDIT_PENDING_MAX 262144 /* about 100 bytes each */
#define EVAUDIT_HOLD_MAX 32768	   /* rows held during a fan-out, at most */

struct conn;
struct server;

int evaudit_start(struct server *srv);
/* Submit what is gathered (it may still fail with the pool), then stop. */
void evaudit_stop(void);

/*
 * Record that event `seq` of the subscriber's stream was written to `c`,
 * carrying these ids (0: none).
 */
void evaudit_add(const struct conn *c, uint64_t seq, int64_t case_id,
		 int64_t notice_id, int64_t person_id);

/*
 * Hold the INSERTs while a live fan-out is written (1), or let them go (0):
 * what waits is then submitted at the next loop turn.
 */
void evaudit_hold(int held);

/*
 * Rows are gathered or being inserted: a draining daemon waits for them
 * before it exits (main.c), so that a delivery made before the signal is
 * recorded.
 */
int evaudit_busy(void);

/* Rows written, and rows lost (dropped or refused), since the start. */
uint64_t evaudit_written(void);
uint64_t evaudit_lost(void);

#endif
