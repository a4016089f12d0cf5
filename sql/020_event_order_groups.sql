-- The event streams' lock (sql/019) only in a group's transaction. The
-- daemon marks the transactions in which it commits several notices
-- together with the setting maillage.group_commit; there event_emit takes
-- the lock before any stream's counter, so that two groups never wait for
-- each other's counters. Other transactions (acknowledgements, deadlines,
-- case changes) lock their counters as before sql/019, so that a deadline
-- firing or an acknowledgement never waits on this lock while holding
-- rows that a case change or another group needs.

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
