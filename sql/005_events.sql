-- 005_events: the durable inbox of real-time delivery. Every institution has
-- its own stream of events numbered 1, 2, 3... (inst_event), written by
-- triggers in the transaction that caused them, so an event exists exactly
-- when its cause committed. A NOTIFY on channel maillage_event (payload: the
-- institution id) wakes every daemon instance; the events themselves are
-- always read from this table, so a lost notification loses nothing.
-- Acknowledgement deadlines of runaway and urgent notices live in
-- notice_deadline and are fired by deadline_fire(), once, whichever instance
-- gets there first.

CREATE TABLE event_counter (
    institution_id bigint PRIMARY KEY REFERENCES institution (id),
    last_seq       bigint NOT NULL
);

-- No names and no free text: ids, codes and states. `visibility` and
-- `author_institution_id` are set when the event concerns a notice, so that
-- the daemon delivers it only to readers who may read that notice; `party`
-- and `lead` say what the institution was to the case when the event was
-- written.
CREATE TABLE inst_event (
    institution_id        bigint NOT NULL REFERENCES institution (id),
    seq                   bigint NOT NULL,
    at                    timestamptz NOT NULL DEFAULT clock_timestamp(),
    what                  text NOT NULL CHECK (what IN ('notice', 'ack',
                              'party_added', 'party_removed', 'lead_set',
                              'closed', 'reopened', 'status', 'escalation')),
    case_id               bigint REFERENCES case_file (id),
    person_id             bigint REFERENCES person (id),
    notice_id             bigint REFERENCES notice (id),
    kind                  text,
    urgency               text,
    about                 text,  -- institution code the event is about
    state                 text,  -- acknowledgement state or protection status
    visibility            text,
    author_institution_id bigint REFERENCES institution (id),
    party                 boolean NOT NULL DEFAULT false,
    lead                  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (institution_id, seq)
);

-- How long recipients have to acknowledge (read or beyond) a notice of a
-- kind that is a runaway or marked urgent. Editable per kind.
CREATE TABLE ack_deadline (
    kind  text PRIMARY KEY CHECK (kind IN ('sighting',
              'information_preoccupante', 'signalement', 'referral',
              'runaway', 'shelter', 'hearing', 'court_decision', 'followup',
              'closure')),
    delay interval NOT NULL CHECK (delay > interval '0')
);

INSERT INTO ack_deadline (kind, delay)
SELECT k, interval '60 minutes' FROM unnest(ARRAY['sighting',
    'information_preoccupante', 'signalement', 'referral', 'runaway',
    'shelter', 'hearing', 'court_decision', 'followup', 'closure']) AS k;

CREATE TABLE notice_deadline (
    notice_id      bigint NOT NULL REFERENCES notice (id),
    institution_id bigint NOT NULL REFERENCES institution (id),
    due_at         timestamptz NOT NULL,
    satisfied_at   timestamptz,  -- acknowledged (read or beyond) in time
    fired_at       timestamptz,  -- escalated
    PRIMARY KEY (notice_id, institution_id)
);

CREATE INDEX notice_deadline_due_idx ON notice_deadline (due_at)
    WHERE fired_at IS NULL AND satisfied_at IS NULL;

-- Append one event to an institution's stream and wake the daemons.
CREATE FUNCTION event_emit(p_inst bigint, p_what text, p_case bigint,
                           p_notice bigint, p_about text, p_state text)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    s  bigint;
    n  notice%ROWTYPE;
    cf case_file%ROWTYPE;
BEGIN
    IF p_inst IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO event_counter AS ec (institution_id, last_seq)
        VALUES (p_inst, 1)
        ON CONFLICT (institution_id)
        DO UPDATE SET last_seq = ec.last_seq + 1
        RETURNING last_seq INTO s;
    SELECT * INTO cf FROM case_file WHERE id = p_case;
    IF p_notice IS NOT NULL THEN
        SELECT * INTO n FROM notice WHERE id = p_notice;
    END IF;
    INSERT INTO inst_event (institution_id, seq, what, case_id, person_id,
        notice_id, kind, urgency, about, state, visibility,
        author_institution_id, party, lead)
    VALUES (p_inst, s, p_what, p_case, cf.person_id, p_notice, n.kind,
        n.urgency, p_about, p_state, n.visibility, n.sender_institution_id,
        EXISTS (SELECT 1 FROM case_party cp
                WHERE cp.case_id = p_case AND cp.institution_id = p_inst),
        coalesce(cf.lead_institution_id = p_inst, false));
    PERFORM pg_notify('maillage_event', p_inst::text);
    RETURN s;
END;
$$;

-- A notice reached a recipient: tell it, and start the clock when the
-- notice is a runaway or urgent.
CREATE FUNCTION event_on_recipient_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    n      notice%ROWTYPE;
    sender text;
    wait   interval;
BEGIN
    SELECT * INTO n FROM notice WHERE id = NEW.notice_id;
    SELECT code INTO sender FROM institution WHERE id = n.sender_institution_id;
    PERFORM event_emit(NEW.institution_id, 'notice', n.case_id, n.id, sender,
                       NEW.state);
    IF n.kind = 'runaway' OR n.urgency = 'urgent' THEN
        SELECT d.delay INTO wait FROM ack_deadline d WHERE d.kind = n.kind;
        INSERT INTO notice_deadline (notice_id, institution_id, due_at)
            VALUES (n.id, NEW.institution_id,
                    n.created_at + coalesce(wait, interval '60 minutes'))
            ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;

-- Deferred to commit: every row of the transaction (parties, lead) is in
-- place when the event is written, and the stream's counter is locked only
-- for the commit itself.
CREATE CONSTRAINT TRIGGER notice_recipient_event
    AFTER INSERT ON notice_recipient
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION event_on_recipient_insert();

-- A recipient acknowledged: tell the sender's institution (closed loop) and
-- stop the clock once the notice has been read.
CREATE FUNCTION event_on_recipient_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    n         notice%ROWTYPE;
    recipient text;
BEGIN
    IF OLD.state = NEW.state THEN
        RETURN NULL;
    END IF;
    SELECT * INTO n FROM notice WHERE id = NEW.notice_id;
    SELECT code INTO recipient FROM institution WHERE id = NEW.institution_id;
    PERFORM event_emit(n.sender_institution_id, 'ack', n.case_id, n.id,
                       recipient, NEW.state);
    IF NEW.state NOT IN ('sent', 'received') THEN
        UPDATE notice_deadline SET satisfied_at = now()
            WHERE notice_id = NEW.notice_id
              AND institution_id = NEW.institution_id
              AND fired_at IS NULL AND satisfied_at IS NULL;
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER notice_recipient_ack_event
    AFTER UPDATE ON notice_recipient
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION event_on_recipient_update();

-- A change to a case: tell every party.
CREATE FUNCTION event_on_case_event() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    inst  bigint;
    about text;
BEGIN
    IF NEW.what NOT IN ('party_added', 'party_removed', 'lead_set', 'closed',
                        'reopened', 'status') THEN
        RETURN NULL;
    END IF;
    SELECT code INTO about FROM institution WHERE id = NEW.institution_id;
    -- The parties as they are now: a removed party no longer sees the
    -- case, and is not told about it either.
    FOR inst IN
        SELECT cp.institution_id FROM case_party cp
            WHERE cp.case_id = NEW.case_id
        ORDER BY 1
    LOOP
        PERFORM event_emit(inst, NEW.what, NEW.case_id, NULL, about,
                           NEW.status);
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER case_event_event
    AFTER INSERT ON case_event
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION event_on_case_event();

-- Fire the lapsed deadlines (at most p_max): each lapsed, unacknowledged
-- recipient of a notice is escalated once to the network's coordinators and
-- to the case's lead institution, and recorded in the case's timeline.
-- SKIP LOCKED lets several instances run it at once without firing one
-- deadline twice. Returns the number of escalations.
CREATE FUNCTION deadline_fire(p_max integer) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    d         record;
    n         notice%ROWTYPE;
    st        text;
    lead      bigint;
    recipient text;
    target    bigint;
    fired     integer := 0;
BEGIN
    FOR d IN
        SELECT nd.notice_id, nd.institution_id FROM notice_deadline nd
            WHERE nd.fired_at IS NULL AND nd.satisfied_at IS NULL
              AND nd.due_at <= now()
            ORDER BY nd.due_at
            LIMIT p_max
            FOR UPDATE SKIP LOCKED
    LOOP
        SELECT nr.state INTO st FROM notice_recipient nr
            JOIN notice n2 ON n2.id = nr.notice_id
            JOIN case_file cf ON cf.id = n2.case_id AND cf.status = 'open'
            JOIN case_party cp ON cp.case_id = cf.id
                              AND cp.institution_id = nr.institution_id
            WHERE nr.notice_id = d.notice_id
              AND nr.institution_id = d.institution_id;
        -- Read in time, or no longer expected (case closed, recipient no
        -- longer a party): nothing to escalate.
        IF st IS NULL OR st NOT IN ('sent', 'received') THEN
            UPDATE notice_deadline SET satisfied_at = now()
                WHERE notice_id = d.notice_id
                  AND institution_id = d.institution_id;
            CONTINUE;
        END IF;
        UPDATE notice_deadline SET fired_at = now()
            WHERE notice_id = d.notice_id AND institution_id = d.institution_id;
        SELECT * INTO n FROM notice WHERE id = d.notice_id;
        SELECT lead_institution_id INTO lead FROM case_file WHERE id = n.case_id;
        SELECT code INTO recipient FROM institution WHERE id = d.institution_id;
        INSERT INTO case_event (case_id, what, institution_id, notice_id, status)
            VALUES (n.case_id, 'escalated', d.institution_id, n.id, st);
        FOR target IN
            SELECT a.institution_id FROM account a
                JOIN institution i ON i.id = a.institution_id
                WHERE a.role = 'coordinator' AND a.enabled AND i.enabled
            UNION
            SELECT lead WHERE lead IS NOT NULL
            ORDER BY 1
        LOOP
            PERFORM event_emit(target, 'escalation', n.case_id, n.id,
                               recipient, st);
        END LOOP;
        fired := fired + 1;
    END LOOP;
    RETURN fired;
END;
$$;
