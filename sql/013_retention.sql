-- 013_retention: purge of closed cases past their retention period
-- (`maillaged purge`, server/purge.c). A case closed as "not a victim" is
-- kept p_not_victim after its closure, any other closed case p_closed. The
-- purge removes the case with everything it holds: its notices (texts,
-- indicators, recipients and acknowledgements, deadlines), the identities
-- asserted with them, its timeline, parties and event-stream entries, and
-- the person when nothing else refers to it (its matching encodings and
-- candidate pairs go with it: sql/012). A case that an active person link
-- closed into another is kept until the link is undone. The audit trail,
-- which holds no content, stays: it is append-only.

-- The cases due, oldest closure first, with what a purge would remove.
CREATE FUNCTION purge_due(p_closed interval, p_not_victim interval,
                          p_limit integer)
    RETURNS TABLE (case_id bigint, person_id bigint, protection_status text,
                   closed_at text, notices bigint, identities bigint,
                   person_goes boolean)
    LANGUAGE sql STABLE AS $$
    SELECT cf.id, cf.person_id, cf.protection_status,
        to_char(cf.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        (SELECT count(*) FROM notice n WHERE n.case_id = cf.id),
        (SELECT count(*) FROM identity_assertion ia
         JOIN notice n ON n.id = ia.notice_id WHERE n.case_id = cf.id),
        NOT EXISTS (SELECT 1 FROM case_file o
                    WHERE o.person_id = cf.person_id AND o.id <> cf.id)
    FROM case_file cf
    WHERE cf.status = 'closed'
      AND cf.closed_at < now() - CASE WHEN cf.protection_status =
                                            'not_a_victim'
                                       THEN p_not_victim ELSE p_closed END
      AND NOT EXISTS (SELECT 1 FROM person_link l
                      WHERE l.unlinked_at IS NULL AND l.merged_case = cf.id)
    ORDER BY cf.closed_at, cf.id
    LIMIT p_limit;
$$;

-- Purge one case if it is still closed and due (a concurrent reopen or a
-- new notice wins: then nothing is removed and false is returned).
CREATE FUNCTION purge_case(p_case_id bigint, p_closed interval,
                           p_not_victim interval)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_cf case_file%ROWTYPE;
    v_notices bigint[];
    v_keep interval;
BEGIN
    SELECT * INTO v_cf FROM case_file WHERE id = p_case_id FOR UPDATE;
    IF NOT FOUND OR v_cf.status <> 'closed' THEN
        RETURN false;
    END IF;
    v_keep := p_closed;
    IF v_cf.protection_status = 'not_a_victim' THEN
        v_keep := p_not_victim;
    END IF;
    IF v_cf.closed_at >= now() - v_keep THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM person_link l
               WHERE l.unlinked_at IS NULL AND l.merged_case = p_case_id) THEN
        RETURN false;
    END IF;
    SELECT coalesce(array_agg(n.id), '{}') INTO v_notices
        FROM notice n WHERE n.case_id = p_case_id;
    DELETE FROM notice_deadline WHERE notice_id = ANY (v_notices);
    DELETE FROM inst_event
        WHERE case_id = p_case_id OR notice_id = ANY (v_notices);
    DELETE FROM notice_indicator WHERE notice_id = ANY (v_notices);
    DELETE FROM notice_recipient WHERE notice_id = ANY (v_notices);
    DELETE FROM case_event
        WHERE case_id = p_case_id OR notice_id = ANY (v_notices);
    DELETE FROM identity_assertion WHERE notice_id = ANY (v_notices);
    DELETE FROM notice WHERE id = ANY (v_notices);
    DELETE FROM case_party WHERE case_id = p_case_id;
    DELETE FROM case_file WHERE id = p_case_id;
    IF NOT EXISTS (SELECT 1 FROM case_file WHERE person_id = v_cf.person_id)
       AND NOT EXISTS (SELECT 1 FROM identity_assertion
                       WHERE person_id = v_cf.person_id)
       AND NOT EXISTS (SELECT 1 FROM notice
                       WHERE person_id = v_cf.person_id) THEN
        DELETE FROM inst_event WHERE person_id = v_cf.person_id;
        DELETE FROM person WHERE id = v_cf.person_id;
    END IF;
    RETURN true;
END;
$$;
