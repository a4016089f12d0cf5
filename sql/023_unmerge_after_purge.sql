-- An unlink of a link that merged two cases tells each of them that still
-- exists. Since sql/015, an unlink wrote its 'unmerged' entries only when
-- both cases were still there; but the kept case of a link may be purged
-- once closed and past retention (sql/013 guards only the merged case), its
-- number then set to NULL in person_link. Undoing that link reopens the
-- merged case, whose timeline must say why: it now gets its 'unmerged'
-- entry, with no other case named (other_case_id NULL: `case show` says
-- "separated from another case"). merged_case is set only when the link
-- merged a case (person_link_tx, sql/012), and the merged case is never
-- purged while the link stands: a link that merged nothing (the other
-- person had no open case) writes no entry, as before. The 'merged' entry
-- is written, as before, only when a link merges two cases.

CREATE OR REPLACE FUNCTION person_link_timeline() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    v_by_inst bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.kept_case IS NULL OR NEW.merged_case IS NULL THEN
            RETURN NULL;  -- no two open cases: no case was merged
        END IF;
        SELECT institution_id INTO v_by_inst FROM account
            WHERE id = NEW.linked_by;
        INSERT INTO case_event (case_id, what, by_account_id,
                                by_institution_id, other_case_id, link_id)
            VALUES (NEW.kept_case, 'merged', NEW.linked_by, v_by_inst,
                    NEW.merged_case, NEW.id);
    ELSIF OLD.unlinked_at IS NULL AND NEW.unlinked_at IS NOT NULL THEN
        SELECT institution_id INTO v_by_inst FROM account
            WHERE id = NEW.unlinked_by;
        INSERT INTO case_event (case_id, what, by_account_id,
                                by_institution_id, other_case_id, link_id)
            SELECT c.case_id, 'unmerged', NEW.unlinked_by, v_by_inst,
                   c.other_case_id, NEW.id
            FROM (VALUES (NEW.kept_case, NEW.merged_case),
                         (NEW.merged_case, NEW.kept_case))
                 AS c(case_id, other_case_id)
            WHERE NEW.merged_case IS NOT NULL AND c.case_id IS NOT NULL;
    END IF;
    RETURN NULL;
END;
$$;
