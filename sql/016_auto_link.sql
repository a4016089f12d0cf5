-- Links made by the network's policy rather than by a coordinator
-- ([identity] auto_link_threshold, off by default): the new person of a
-- notice whose identity matched one known person well enough is linked
-- into it at once. Such a link has no account (linked_by NULL) and no
-- reason; it names the notice and the score that made it. It is undone
-- like any other, by a coordinator, with person_unlink_tx().

ALTER TABLE person_link ALTER COLUMN linked_by DROP NOT NULL;
ALTER TABLE person_link ALTER COLUMN reason_enc DROP NOT NULL;
ALTER TABLE person_link ADD COLUMN auto_notice_id bigint
    REFERENCES notice (id) ON DELETE SET NULL;
ALTER TABLE person_link ADD COLUMN auto_score real;

-- Link p_merge (the person notice p_notice, sent by institution p_sender,
-- created) into p_keep, which its identity matched with score p_score. The
-- pair is recorded as linked in person_candidate. The coordinators (and
-- the case's lead) are told: when p_keep had an open case, the notice's
-- seen_elsewhere event already went to them (the match was confident);
-- otherwise the case the notice opened, now p_keep's, is their
-- seen_elsewhere. Errors as person_link_tx(). Returns the link, the open
-- case the notice is in (0: none) and the rows moved.
CREATE FUNCTION person_autolink_tx(p_keep bigint, p_merge bigint,
                                   p_notice bigint, p_score real,
                                   p_sender bigint)
    RETURNS TABLE (link_id bigint, open_case_id bigint, moved bigint)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_link bigint := nextval('person_link_id_seq');
    v_case bigint;
    v_moved bigint;
BEGIN
    INSERT INTO person_candidate (person_id, other_person_id, score,
                                  notice_id)
        VALUES (p_merge, p_keep, p_score, p_notice)
        ON CONFLICT (person_id, other_person_id) DO NOTHING;
    SELECT l.open_case_id, l.moved INTO v_case, v_moved
        FROM person_link_tx(v_link, p_keep, p_merge, NULL, NULL) AS l;
    UPDATE person_link SET auto_notice_id = p_notice, auto_score = p_score
        WHERE id = v_link;
    IF v_case IS NOT NULL AND NOT EXISTS (SELECT 1 FROM person_link l
            WHERE l.id = v_link AND l.kept_case IS NOT NULL) THEN
        PERFORM seen_elsewhere_emit(v_case, p_sender);
    END IF;
    RETURN QUERY SELECT v_link, coalesce(v_case, 0), v_moved;
END;
$$;
