-- One order for the locks of the event streams, in grouped transactions.
-- A transaction that writes events locks the counter of each stream it
-- writes to (event_counter, until its commit, so that readers never see a
-- later number before an earlier one). The daemon commits concurrent
-- notices together (group commit, server/db.c): one transaction then
-- writes to several streams in the order of its notices, and two groups
-- could each hold a counter the other waits for. The daemon marks a
-- group's transaction with the setting maillage.group_commit; there
-- event_emit first takes one transaction-level advisory lock, the same for
-- every stream, so that groups take counters one group at a time, from
-- their first event to their commit (a section already serialised by the
-- NOTIFY each event sends: PostgreSQL serialises the commits of notifying
-- transactions). Other transactions (acknowledgements, deadlines, case
-- changes) do not take it and lock their counters as before, so that a
-- deadline firing or an acknowledgement never waits on this lock while
-- holding rows that a case change or another group needs.

CREATE OR REPLACE FUNCTION event_emit(p_inst bigint, p_what text,
                                      p_case bigint, p_notice bigint,
                                      p_about text, p_state text)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    s  bigint;
    n  notice%ROWTYPE;
    cf case_file%ROWTYPE;
BEGIN
    IF p_inst IS NULL THEN
        RETURN NULL;
    END IF;
    IF current_setting('maillage.group_commit', true) = 'on' THEN
        PERFORM pg_advisory_xact_lock(
            hashtextextended('maillage:event streams', 0));
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
