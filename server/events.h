/*
 * events: real-time delivery of each institution's event stream
 * (inst_event, written by triggers in sql/005_events.sql). This module owns
 * the subscribers (connections that sent Watch), grouped by institution;
 * each subscriber first replays what it missed (its own paged queries from
 * its sequence number), then goes live, where one query per wake-up serves
 * every institution that has subscribers, however many subscribers each has.
 * Wake-ups come from PostgreSQL NOTIFY (on any instance), backed by a
 * periodic poll so that a lost notification delays nothing for long. Each
 * event goes to a subscriber only if acl says the account may read what it
 * is about, and each event written is one delivery audit record (evaudit).
 * It also owns the timer that fires lapsed acknowledgement deadlines
 * (deadline_fire(), once across instances).
 */
#ifndef MAILLAGE_EVENTS_H
#define MAILLAGE_EVENTS_H

#include "maillage.pb-c.h"

struct conn;
struct server;

/* Subscribe to notifications and start the poll and deadline timers. */
int events_start(struct server *srv);
void events_stop(void);

/* The Watch request. */
void events_watch(struct conn *c, const Maillage__Envelope *env);

/* Forget the connection's subscription, if any (connection closing). */
void events_unsubscribe(struct conn *c);

/* Number of subscribers (for logs and tests). */
unsigned events_subscribers(void);

/* The statements reading the streams (the tests check their plans):
 * replay ($1 institution, $2 after, $3 up to) and live ($1 institutions,
 * $2 the seq each was read up to). */
extern const char events_replay_sql[];
extern const char events_live_sql[];

#endif
