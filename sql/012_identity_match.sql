-- 012_identity_match: what identity matching stores (server/match.c).
-- Per identity assertion: its keyed encoding (ident/: HMAC codes of the
-- normalised names, their phonetic keys and variant groups, keyed Bloom
-- filters; birth date, sex, nationality), sealed by the daemon like every
-- identity detail (vault.c), and its keyed blocking keys, 64-bit HMACs
-- under the network's matching secret, which the database never sees. No
-- name and no date is stored in clear for matching. The candidate pairs a
-- search found above the network's threshold wait for a coordinator's
-- review in person_candidate.

CREATE TABLE identity_encoding (
    identity_id bigint PRIMARY KEY
                REFERENCES identity_assertion (id) ON DELETE CASCADE,
    person_id   bigint NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    rec         bytea NOT NULL
);

CREATE INDEX identity_encoding_person_idx ON identity_encoding (person_id);

CREATE TABLE identity_block (
    key         bigint NOT NULL,
    identity_id bigint NOT NULL
                REFERENCES identity_encoding (identity_id) ON DELETE CASCADE,
    PRIMARY KEY (key, identity_id)
);

CREATE INDEX identity_block_identity_idx ON identity_block (identity_id);

-- Pairs of persons that may be one, found when a notice's identity was
-- searched: person_id the newer, other_person_id the known one.
CREATE TABLE person_candidate (
    person_id       bigint NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    other_person_id bigint NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    score           real NOT NULL,
    notice_id       bigint REFERENCES notice (id) ON DELETE SET NULL,
    found_at        timestamptz NOT NULL DEFAULT now(),
    state           text NOT NULL DEFAULT 'open'
                        CHECK (state IN ('open', 'linked', 'dismissed')),
    PRIMARY KEY (person_id, other_person_id),
    CHECK (person_id <> other_person_id)
);

CREATE INDEX person_candidate_open_idx ON person_candidate (score DESC)
    WHERE state = 'open';

-- Store the encoding of identity p_identity_id (when the notice created it:
-- a replayed send created none) and its blocking keys.
CREATE FUNCTION identity_encoding_put(p_identity_id bigint, p_rec bytea,
                                      p_keys bigint[])
    RETURNS void LANGUAGE sql AS $$
    WITH e AS (
        INSERT INTO identity_encoding (identity_id, person_id, rec)
        SELECT ia.id, ia.person_id, p_rec FROM identity_assertion ia
        WHERE ia.id = p_identity_id
        RETURNING identity_id)
    INSERT INTO identity_block (key, identity_id)
    SELECT DISTINCT k, e.identity_id FROM e, unnest(p_keys) AS k;
$$;

-- ---- linking persons ----------------------------------------------------

-- A person linked into another (merged_into) has no identity, notice or
-- case of its own until the link is undone.
ALTER TABLE person ADD COLUMN merged_into bigint
    REFERENCES person (id) ON DELETE SET NULL;

-- A coordinator's decision that two persons are one: merged_person's
-- identities, notices and cases moved to kept_person, every moved row
-- recorded in person_link_row so that person_unlink_tx() puts back exactly
-- those. The reasons are sealed by the daemon (vault.h), bound to the
-- link's id.
CREATE TABLE person_link (
    id              bigserial PRIMARY KEY,
    kept_person     bigint NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    merged_person   bigint NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    linked_by       bigint NOT NULL REFERENCES account (id),
    linked_at       timestamptz NOT NULL DEFAULT now(),
    reason_enc      bytea NOT NULL,
    merged_case     bigint REFERENCES case_file (id) ON DELETE SET NULL,
    kept_case       bigint REFERENCES case_file (id) ON DELETE SET NULL,
    unlinked_by     bigint REFERENCES account (id),
    unlinked_at     timestamptz,
    unlink_reason_enc bytea,
    CHECK (kept_person <> merged_person)
);

CREATE INDEX person_link_persons_idx ON person_link (kept_person, merged_person);

-- What a link changed, row by row: tbl.col of row_id was old_value; for
-- 'case_party', the party row (case row_id, institution old_value) the link
-- added.
CREATE TABLE person_link_row (
    link_id   bigint NOT NULL REFERENCES person_link (id) ON DELETE CASCADE,
    tbl       text NOT NULL CHECK (tbl IN ('identity_assertion',
                  'identity_encoding', 'notice.person', 'notice.case',
                  'case_event', 'case_file', 'case_party', 'candidate')),
    row_id    bigint NOT NULL,
    old_value bigint
);

CREATE INDEX person_link_row_link_idx ON person_link_row (link_id);

ALTER TABLE person_candidate ADD COLUMN decided_by bigint REFERENCES account (id);
ALTER TABLE person_candidate ADD COLUMN decided_at timestamptz;
ALTER TABLE person_candidate ADD COLUMN reason_enc bytea;

-- Link p_merge into p_keep (link id p_link_id, drawn by the daemon). Both
-- must exist and be unlinked: MG404 on "person_id" / "other_person_id",
-- MG409 when one is already linked. When both have an open case, the
-- merged one's notices, timeline and parties go to the kept one's, and it
-- is closed. Returns the kept person's open case (NULL: none) and the rows
-- moved.
CREATE FUNCTION person_link_tx(p_link_id bigint, p_keep bigint,
                               p_merge bigint, p_account_id bigint,
                               p_reason bytea)
    RETURNS TABLE (open_case_id bigint, moved bigint)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_keep person%ROWTYPE;
    v_merge person%ROWTYPE;
    v_kc bigint;
    v_mc bigint;
    v_moved bigint := 0;
    v_n bigint;
BEGIN
    IF p_keep = p_merge THEN
        RAISE EXCEPTION 'a person cannot be linked to itself'
            USING ERRCODE = 'MG400', CONSTRAINT = 'other_person_id';
    END IF;
    PERFORM 1 FROM person WHERE id IN (p_keep, p_merge) ORDER BY id
        FOR UPDATE;
    SELECT * INTO v_keep FROM person WHERE id = p_keep;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such person'
            USING ERRCODE = 'MG404', CONSTRAINT = 'person_id';
    END IF;
    SELECT * INTO v_merge FROM person WHERE id = p_merge;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such person'
            USING ERRCODE = 'MG404', CONSTRAINT = 'other_person_id';
    END IF;
    IF v_keep.merged_into IS NOT NULL OR v_merge.merged_into IS NOT NULL THEN
        RAISE EXCEPTION 'a person linked into another cannot be linked again; unlink first'
            USING ERRCODE = 'MG409', CONSTRAINT = 'person_id';
    END IF;
    SELECT id INTO v_kc FROM case_file
        WHERE person_id = p_keep AND status = 'open' FOR UPDATE;
    SELECT id INTO v_mc FROM case_file
        WHERE person_id = p_merge AND status = 'open' FOR UPDATE;
    INSERT INTO person_link (id, kept_person, merged_person, linked_by,
                             reason_enc, merged_case, kept_case)
        VALUES (p_link_id, p_keep, p_merge, p_account_id, p_reason,
                CASE WHEN v_kc IS NOT NULL THEN v_mc END, v_kc);

    IF v_kc IS NOT NULL AND v_mc IS NOT NULL THEN
        -- two open cases become one: the merged case's content moves
        WITH m AS (UPDATE notice n SET case_id = v_kc
                   WHERE n.case_id = v_mc RETURNING n.id)
        INSERT INTO person_link_row SELECT p_link_id, 'notice.case', m.id,
            v_mc FROM m;
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_moved := v_moved + v_n;
        WITH m AS (UPDATE case_event e SET case_id = v_kc
                   WHERE e.case_id = v_mc RETURNING e.id)
        INSERT INTO person_link_row SELECT p_link_id, 'case_event', m.id,
            v_mc FROM m;
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_moved := v_moved + v_n;
        WITH a AS (INSERT INTO case_party (case_id, institution_id)
                   SELECT v_kc, cp.institution_id FROM case_party cp
                   WHERE cp.case_id = v_mc
                   ON CONFLICT DO NOTHING RETURNING institution_id)
        INSERT INTO person_link_row SELECT p_link_id, 'case_party', v_kc,
            a.institution_id FROM a;
        UPDATE case_file SET status = 'closed', closed_at = now(),
            updated_at = now() WHERE id = v_mc;
        UPDATE case_file SET updated_at = now() WHERE id = v_kc;
    END IF;
    WITH m AS (UPDATE case_file c SET person_id = p_keep
               WHERE c.person_id = p_merge RETURNING c.id)
    INSERT INTO person_link_row SELECT p_link_id, 'case_file', m.id,
        p_merge FROM m;
    WITH m AS (UPDATE notice n SET person_id = p_keep
               WHERE n.person_id = p_merge RETURNING n.id)
    INSERT INTO person_link_row SELECT p_link_id, 'notice.person', m.id,
        p_merge FROM m;
    WITH m AS (UPDATE identity_assertion ia SET person_id = p_keep
               WHERE ia.person_id = p_merge RETURNING ia.id)
    INSERT INTO person_link_row SELECT p_link_id, 'identity_assertion',
        m.id, p_merge FROM m;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_moved := v_moved + v_n;
    WITH m AS (UPDATE identity_encoding ie SET person_id = p_keep
               WHERE ie.person_id = p_merge RETURNING ie.identity_id)
    INSERT INTO person_link_row SELECT p_link_id, 'identity_encoding',
        m.identity_id, p_merge FROM m;
    UPDATE person_candidate SET state = 'linked', decided_by = p_account_id,
        decided_at = now()
        WHERE state = 'open'
          AND ((person_id = p_keep AND other_person_id = p_merge)
               OR (person_id = p_merge AND other_person_id = p_keep));
    UPDATE person SET merged_into = p_keep WHERE id = p_merge;
    RETURN QUERY SELECT coalesce(v_kc, v_mc), v_moved;
END;
$$;

-- Undo link p_link_id exactly: every recorded row back, the parties the
-- link added removed, the merged case reopened. Unknown: MG404 on
-- "link_id"; already undone: MG409. Returns the two persons.
CREATE FUNCTION person_unlink_tx(p_link_id bigint, p_account_id bigint,
                                 p_reason bytea)
    RETURNS TABLE (kept_person bigint, merged_person bigint)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_l person_link%ROWTYPE;
BEGIN
    SELECT * INTO v_l FROM person_link WHERE id = p_link_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such link'
            USING ERRCODE = 'MG404', CONSTRAINT = 'link_id';
    END IF;
    IF v_l.unlinked_at IS NOT NULL THEN
        RAISE EXCEPTION 'this link was already undone'
            USING ERRCODE = 'MG409', CONSTRAINT = 'link_id';
    END IF;
    -- Links are undone last first: a later link of either person moved
    -- rows this one recorded.
    IF EXISTS (SELECT 1 FROM person_link l
               WHERE l.unlinked_at IS NULL AND l.id > p_link_id
                 AND (l.kept_person IN (v_l.kept_person, v_l.merged_person)
                      OR l.merged_person IN (v_l.kept_person,
                                             v_l.merged_person))) THEN
        RAISE EXCEPTION 'a later link of these persons must be undone first'
            USING ERRCODE = 'MG409', CONSTRAINT = 'link_id';
    END IF;
    PERFORM 1 FROM person WHERE id IN (v_l.kept_person, v_l.merged_person)
        ORDER BY id FOR UPDATE;
    UPDATE identity_encoding ie SET person_id = r.old_value
        FROM person_link_row r
        WHERE r.link_id = p_link_id AND r.tbl = 'identity_encoding'
          AND ie.identity_id = r.row_id AND ie.person_id = v_l.kept_person;
    UPDATE identity_assertion ia SET person_id = r.old_value
        FROM person_link_row r
        WHERE r.link_id = p_link_id AND r.tbl = 'identity_assertion'
          AND ia.id = r.row_id AND ia.person_id = v_l.kept_person;
    UPDATE notice n SET person_id = r.old_value FROM person_link_row r
        WHERE r.link_id = p_link_id AND r.tbl = 'notice.person'
          AND n.id = r.row_id AND n.person_id = v_l.kept_person;
    UPDATE notice n SET case_id = r.old_value FROM person_link_row r
        WHERE r.link_id = p_link_id AND r.tbl = 'notice.case'
          AND n.id = r.row_id AND n.case_id = v_l.kept_case;
    UPDATE case_event e SET case_id = r.old_value FROM person_link_row r
        WHERE r.link_id = p_link_id AND r.tbl = 'case_event'
          AND e.id = r.row_id AND e.case_id = v_l.kept_case;
    -- The parties the link added leave, unless they have taken part in the
    -- kept case since (a notice sent or received there) or lead it.
    DELETE FROM case_party cp USING person_link_row r
        WHERE r.link_id = p_link_id AND r.tbl = 'case_party'
          AND cp.case_id = r.row_id AND cp.institution_id = r.old_value
          AND NOT EXISTS (SELECT 1 FROM notice n
              LEFT JOIN notice_recipient nr ON nr.notice_id = n.id
              WHERE n.case_id = r.row_id
                AND (n.sender_institution_id = r.old_value
                     OR nr.institution_id = r.old_value))
          AND NOT EXISTS (SELECT 1 FROM case_file cf
              WHERE cf.id = r.row_id AND cf.lead_institution_id = r.old_value);
    UPDATE case_file c SET person_id = r.old_value FROM person_link_row r
        WHERE r.link_id = p_link_id AND r.tbl = 'case_file'
          AND c.id = r.row_id AND c.person_id = v_l.kept_person;
    IF v_l.merged_case IS NOT NULL THEN
        BEGIN
            UPDATE case_file SET status = 'open', closed_at = NULL,
                updated_at = now() WHERE id = v_l.merged_case;
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'the merged person has another open case now'
                USING ERRCODE = 'MG409', CONSTRAINT = 'link_id';
        END;
    END IF;
    UPDATE person_candidate SET state = 'open', decided_by = NULL,
        decided_at = NULL
        WHERE state = 'linked'
          AND ((person_id = v_l.kept_person
                AND other_person_id = v_l.merged_person)
               OR (person_id = v_l.merged_person
                   AND other_person_id = v_l.kept_person));
    UPDATE person SET merged_into = NULL WHERE id = v_l.merged_person;
    UPDATE person_link SET unlinked_by = p_account_id, unlinked_at = now(),
        unlink_reason_enc = p_reason WHERE id = p_link_id;
    RETURN QUERY SELECT v_l.kept_person, v_l.merged_person;
END;
$$;

-- Set aside an open candidate pair (either order): MG404 on "person_id"
-- when there is none.
CREATE FUNCTION person_dismiss_tx(p_a bigint, p_b bigint, p_account_id bigint,
                                  p_reason bytea)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE person_candidate SET state = 'dismissed',
        decided_by = p_account_id, decided_at = now(), reason_enc = p_reason
        WHERE state = 'open'
          AND ((person_id = p_a AND other_person_id = p_b)
               OR (person_id = p_b AND other_person_id = p_a));
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no open candidate pair of these persons'
            USING ERRCODE = 'MG404', CONSTRAINT = 'person_id';
    END IF;
END;
$$;

-- ---- seen elsewhere -------------------------------------------------------

ALTER TABLE inst_event DROP CONSTRAINT inst_event_what_check;
ALTER TABLE inst_event ADD CONSTRAINT inst_event_what_check
    CHECK (what IN ('notice', 'ack', 'party_added', 'party_removed',
                    'lead_set', 'closed', 'reopened', 'status', 'escalation',
                    'seen_elsewhere'));

-- A new notice's identity matched, confidently, the person of open case
-- p_case: tell the case's lead institution and every institution with an
-- enabled coordinator account (each once). The event names the case, its
-- person and the institution that sent the notice (about); it carries no
-- notice: the new notice's content reaches only its own readers.
CREATE FUNCTION seen_elsewhere_emit(p_case bigint, p_sender bigint)
    RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_code text;
    v_inst bigint;
    v_n integer := 0;
BEGIN
    SELECT code INTO v_code FROM institution WHERE id = p_sender;
    FOR v_inst IN
        SELECT cf.lead_institution_id FROM case_file cf
        WHERE cf.id = p_case AND cf.status = 'open'
          AND cf.lead_institution_id IS NOT NULL
        UNION
        SELECT a.institution_id FROM account a
        WHERE a.role = 'coordinator' AND a.enabled
          AND EXISTS (SELECT 1 FROM case_file cf
                      WHERE cf.id = p_case AND cf.status = 'open')
        ORDER BY 1
    LOOP
        PERFORM event_emit(v_inst, 'seen_elsewhere', p_case, NULL, v_code,
                           NULL);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END;
$$;

-- ---- block sizes ----------------------------------------------------------

-- How many identities hold each blocking key, counted incrementally by
-- identity_block_count_refresh() (each instance runs it every half
-- minute; one at a time). A search skips the keys held by more than 2000
-- identities: a key of a very common name alone would make it a scan. The
-- counts are a heuristic: a block purged or linked away is still counted,
-- and an identity committed after a refresh passed its id is not.
CREATE TABLE identity_block_count (
    key bigint PRIMARY KEY,
    n   bigint NOT NULL
);

CREATE TABLE identity_block_count_mark (
    one           boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_identity bigint NOT NULL
);

INSERT INTO identity_block_count_mark (last_identity) VALUES (0);

CREATE FUNCTION identity_block_count_refresh() RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    v_last bigint;
    v_to bigint;
    v_n bigint;
BEGIN
    SELECT last_identity INTO v_last FROM identity_block_count_mark
        FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;  -- another instance is counting
    END IF;
    SELECT coalesce(max(identity_id), 0) INTO v_to FROM identity_encoding;
    IF v_to <= v_last THEN
        RETURN 0;
    END IF;
    INSERT INTO identity_block_count AS c (key, n)
        SELECT b.key, count(*) FROM identity_block b
        WHERE b.identity_id > v_last AND b.identity_id <= v_to
        GROUP BY b.key
        ON CONFLICT (key) DO UPDATE SET n = c.n + EXCLUDED.n;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    UPDATE identity_block_count_mark SET last_identity = v_to;
    RETURN v_n;
END;
$$;

-- The stored identities sharing a blocking key with p_keys (skipping keys
-- held by more than 2000 identities), most keys in common first, other
-- than those of person p_not_person (0: none), at most p_limit; visible: the institution p_inst may learn of the person (it sees
-- every case, or is a party of one of the person's cases). The person's
-- open case when p_inst may see it (else 0), and whichever (for the
-- daemon's seen_elsewhere, never sent to the caller).
CREATE FUNCTION identity_candidates(p_keys bigint[], p_not_person bigint,
                                    p_inst bigint, p_sees_all boolean,
                                    p_limit integer)
    RETURNS TABLE (identity_id bigint, person_id bigint, rec bytea,
                   visible boolean, open_case_id bigint,
                   any_open_case_id bigint)
    LANGUAGE sql STABLE AS $$
    SELECT c.identity_id, ie.person_id, ie.rec,
        p_sees_all OR EXISTS (SELECT 1 FROM case_file cf
            JOIN case_party cp ON cp.case_id = cf.id
            WHERE cf.person_id = ie.person_id AND cp.institution_id = p_inst),
        CASE WHEN p_sees_all OR EXISTS (SELECT 1 FROM case_party cp
                 WHERE cp.case_id = oc.id AND cp.institution_id = p_inst)
             THEN coalesce(oc.id, 0) ELSE 0 END,
        coalesce(oc.id, 0)
    FROM (SELECT b.identity_id, count(*) AS hits FROM identity_block b
          WHERE b.key IN (SELECT k.key FROM unnest(p_keys) AS k(key)
                          LEFT JOIN identity_block_count n ON n.key = k.key
                          WHERE coalesce(n.n, 0) <= 2000)
          GROUP BY b.identity_id
          ORDER BY count(*) DESC, b.identity_id DESC
          LIMIT p_limit) c
    JOIN identity_encoding ie ON ie.identity_id = c.identity_id
    LEFT JOIN case_file oc ON oc.person_id = ie.person_id
                          AND oc.status = 'open'
    WHERE ie.person_id <> p_not_person
    ORDER BY c.hits DESC, c.identity_id DESC;
$$;

-- A person linked into another takes no new notice (notice_send_tx locks
-- the person FOR SHARE, so a link and a send take turns): the sender is
-- told which person to write about.
CREATE FUNCTION notice_person_not_merged() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    v_into bigint;
BEGIN
    SELECT merged_into INTO v_into FROM person WHERE id = NEW.person_id;
    IF v_into IS NOT NULL THEN
        RAISE EXCEPTION 'this person was linked into person %; send about that person', v_into
            USING ERRCODE = 'MG409', CONSTRAINT = 'person_id';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER notice_person_not_merged BEFORE INSERT ON notice
    FOR EACH ROW EXECUTE FUNCTION notice_person_not_merged();
