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

-- Link p_merge (the person notice p_notice created) into p_keep, which its
-- identity matched with score p_score. The pair goes into the review queue
-- as linked (a coordinator can see it there and undo it). Errors as
-- person_link_tx(). Returns the link, the kept person's open case (0:
-- none) and the rows moved.
CREATE FUNCTION person_autolink_tx(p_keep bigint, p_merge bigint,
                                   p_notice bigint, p_score real)
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
    RETURN QUERY SELECT v_link, coalesce(v_case, 0), v_moved;
END;
$$;
