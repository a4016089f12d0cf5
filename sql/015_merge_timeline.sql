-- Links of persons in the case timelines. When two persons with an open
-- case each are linked, the kept case's timeline says so ('merged', naming
-- the case that was merged into it and the link); when the link is undone,
-- both cases' timelines say so ('unmerged', each naming the other). The
-- entries are written by triggers on person_link, so person_link_tx() and
-- person_unlink_tx() (sql/012) are unchanged: the 'merged' entry is written
-- as the link row is inserted, before the merged case's entries move, and
-- it is not one of the rows the link moves, so an unlink leaves it where it
-- is. A timeline is history: an unlink adds to it and removes nothing.
-- other_case_id and link_id are plain numbers, not references: the other
-- case may be purged later (sql/013) and the entry keeps its meaning.

ALTER TABLE case_event ADD COLUMN other_case_id bigint;
ALTER TABLE case_event ADD COLUMN link_id bigint;

ALTER TABLE case_event DROP CONSTRAINT case_event_what_check;
ALTER TABLE case_event ADD CONSTRAINT case_event_what_check
    CHECK (what IN ('opened', 'notice', 'party_added', 'party_removed',
                    'lead_set', 'closed', 'reopened', 'status', 'escalated',
                    'merged', 'unmerged'));

CREATE FUNCTION person_link_timeline() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    v_by_inst bigint;
BEGIN
    IF NEW.kept_case IS NULL OR NEW.merged_case IS NULL THEN
        RETURN NULL;  -- no two open cases: no case was merged
    END IF;
    IF TG_OP = 'INSERT' THEN
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
            VALUES (NEW.kept_case, 'unmerged', NEW.unlinked_by, v_by_inst,
                    NEW.merged_case, NEW.id),
                   (NEW.merged_case, 'unmerged', NEW.unlinked_by, v_by_inst,
                    NEW.kept_case, NEW.id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER person_link_timeline
    AFTER INSERT OR UPDATE OF unlinked_at ON person_link
    FOR EACH ROW EXECUTE FUNCTION person_link_timeline();
