-- 009_encryption: free texts and identity details stored encrypted.
--
-- The daemon seals every free text (notice text, the note on informed
-- consent, acknowledgement notes, close reasons, timeline notes) and every
-- identity detail that names or dates a person (given and family names,
-- birth date, place seen) with AES-256-GCM under a key the database never
-- sees (server/vault.c); the columns *_enc hold the sealed values, bound to
-- their column and row id. Ids of the rows that carry sealed values are
-- drawn by the daemon (nextval) before it seals, so that the binding names
-- the row. The clear columns stay for rows written before this migration:
-- `maillaged rotate-key` seals them and empties the clear column; no new
-- row fills one. has_name says whether an assertion names the person
-- (sealed names cannot be tested by SQL), for the choice of a case's label.
-- The functions that took clear texts are replaced by ones taking sealed
-- values; the daemon checks lengths and blanks before sealing.

ALTER TABLE notice
    ADD COLUMN body_enc bytea,
    ADD COLUMN informed_note_enc bytea;
ALTER TABLE identity_assertion
    ADD COLUMN has_name boolean NOT NULL DEFAULT false,
    ADD COLUMN given_name_enc bytea,
    ADD COLUMN family_name_enc bytea,
    ADD COLUMN birth_date_enc bytea,
    ADD COLUMN place_seen_enc bytea;
UPDATE identity_assertion
    SET has_name = btrim(concat_ws(' ', given_name, family_name)) <> '';
ALTER TABLE notice_recipient ADD COLUMN note_enc bytea;
ALTER TABLE case_file ADD COLUMN close_reason_enc bytea;
ALTER TABLE case_event ADD COLUMN note_enc bytea;

-- A sealed value's key id (bytes 2-5, big endian); NULL for NULL.
CREATE FUNCTION vault_key_id(b bytea) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT (get_byte(b, 1) << 24) | (get_byte(b, 2) << 16)
           | (get_byte(b, 3) << 8) | get_byte(b, 4)
$$;

DROP FUNCTION notice_send_tx(bigint, text, bigint, text, text, text, text,
    boolean, text, text, bigint[], text[], boolean, bigint, text, text, text,
    smallint, date, text, text, text[], text);
DROP FUNCTION notice_ack_tx(bigint, bigint, text[], text, text, text);
DROP FUNCTION casefile_close_tx(bigint, bigint, boolean, text);
DROP FUNCTION casefile_status_tx(bigint, bigint, boolean, text, text, text[]);
DROP FUNCTION casefile_summaries(bigint, boolean, text[], text[], bigint,
    text, text, text, timestamptz, bigint, integer);

-- notice_send_tx (003), with the ids drawn by the daemon and sealed texts.
CREATE FUNCTION notice_send_tx(
    p_notice_id bigint, p_identity_id bigint,
    p_account_id bigint, p_key text, p_person_id bigint,
    p_kind text, p_urgency text, p_visibility text, p_basis text,
    p_informed boolean, p_informed_note bytea, p_body bytea,
    p_recipients bigint[], p_indicators text[],
    p_require_party boolean, p_lead_id bigint,
    p_has_name boolean, p_given_name bytea, p_family_name bytea,
    p_birth_date bytea,
    p_declared_age smallint, p_age_declared_on date, p_sex text,
    p_nationality text, p_languages text[], p_place_seen bytea)
    RETURNS TABLE (notice_id bigint, case_id bigint, person_id bigint,
                   replayed boolean, new_case boolean, new_person boolean)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_inst       bigint;
    v_person     bigint;
    v_case       bigint;
    v_lead       bigint;
    v_notice     bigint;
    v_new_case   boolean := false;
    v_new_person boolean := false;
    v_old        record;
BEGIN
    -- One sender's sends under one key take turns: the second sees the
    -- first's notice once it has committed.
    PERFORM pg_advisory_xact_lock(
        hashtextextended('notice:' || p_account_id::text || ':' || p_key, 0));
    SELECT n.id, n.case_id, n.person_id INTO v_old FROM notice n
        WHERE n.sender_account_id = p_account_id
          AND n.idempotency_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT v_old.id, v_old.case_id, v_old.person_id, true,
                            false, false;
        RETURN;
    END IF;

    SELECT a.institution_id INTO v_inst FROM account a
        WHERE a.id = p_account_id;
    IF v_inst IS NULL THEN
        RAISE EXCEPTION 'unknown sender account' USING ERRCODE = 'MG403';
    END IF;
    IF coalesce(cardinality(p_recipients), 0) = 0
       OR EXISTS (SELECT 1 FROM unnest(p_recipients) AS t(id)
                  LEFT JOIN institution i ON i.id = t.id
                  WHERE i.id IS NULL OR NOT i.enabled) THEN
        RAISE EXCEPTION 'a recipient is no longer an enabled institution'
            USING ERRCODE = 'MG400', CONSTRAINT = 'to';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(coalesce(p_indicators, '{}')) AS t(code)
               LEFT JOIN indicator d ON d.code = t.code
               WHERE d.code IS NULL OR d.retired) THEN
        RAISE EXCEPTION 'an indicator is unknown or retired'
            USING ERRCODE = 'MG400', CONSTRAINT = 'indicators';
    END IF;

    IF p_person_id IS NULL THEN
        INSERT INTO person DEFAULT VALUES RETURNING id INTO v_person;
        v_new_person := true;
    ELSE
        PERFORM 1 FROM person p WHERE p.id = p_person_id FOR SHARE;
        IF NOT FOUND OR (p_require_party AND NOT EXISTS (
                SELECT 1 FROM case_file cf
                JOIN case_party cp ON cp.case_id = cf.id
                WHERE cf.person_id = p_person_id
                  AND cp.institution_id = v_inst)) THEN
            RAISE EXCEPTION 'no such person'
                USING ERRCODE = 'MG404', CONSTRAINT = 'person_id';
        END IF;
        v_person := p_person_id;
    END IF;

    -- The open case, or a new one: concurrent sends meet on the partial
    -- unique index case_file_one_open_idx and share one case.
    INSERT INTO case_file AS cf (person_id, last_kind, last_urgency)
        VALUES (v_person, p_kind, p_urgency)
        ON CONFLICT (person_id) WHERE status = 'open'
        DO UPDATE SET last_kind = EXCLUDED.last_kind,
                      last_urgency = EXCLUDED.last_urgency,
                      updated_at = now()
        RETURNING cf.id, cf.lead_institution_id, (cf.xmax = 0)
        INTO v_case, v_lead, v_new_case;
    -- A partner adds to an existing open case only if its institution is
    -- already a party of it: a person id it once knew opens nothing else.
    IF p_require_party AND NOT v_new_case AND NOT EXISTS (
            SELECT 1 FROM case_party cp
            WHERE cp.case_id = v_case AND cp.institution_id = v_inst) THEN
        RAISE EXCEPTION 'no such person'
            USING ERRCODE = 'MG404', CONSTRAINT = 'person_id';
    END IF;
    IF p_lead_id IS NOT NULL AND v_lead IS DISTINCT FROM p_lead_id THEN
        RAISE EXCEPTION 'the case''s lead institution changed meanwhile; send again'
            USING ERRCODE = 'MG409', CONSTRAINT = 'to';
    END IF;

    INSERT INTO notice AS n (id, case_id, person_id, sender_account_id,
        sender_institution_id, idempotency_key, kind, urgency, visibility,
        basis, informed, informed_note_enc, body_enc)
        VALUES (p_notice_id, v_case, v_person, p_account_id, v_inst, p_key,
                p_kind, p_urgency, p_visibility, p_basis, p_informed,
                p_informed_note, p_body)
        ON CONFLICT (sender_account_id, idempotency_key) DO NOTHING
        RETURNING n.id INTO v_notice;
    IF v_notice IS NULL THEN
        RAISE EXCEPTION 'a notice with this idempotency key is being stored; send again'
            USING ERRCODE = 'MG409', CONSTRAINT = 'idempotency_key';
    END IF;

    INSERT INTO notice_indicator (notice_id, code)
        SELECT DISTINCT v_notice, t.code
        FROM unnest(coalesce(p_indicators, '{}')) AS t(code);
    -- In institution order: the event triggers lock the recipients'
    -- stream counters in this order at commit (no lock-order deadlocks).
    INSERT INTO notice_recipient (notice_id, institution_id)
        SELECT DISTINCT v_notice, t.id FROM unnest(p_recipients) AS t(id)
        ORDER BY 2;
    INSERT INTO case_party (case_id, institution_id)
        SELECT DISTINCT v_case, t.id
        FROM unnest(v_inst || p_recipients) AS t(id)
        ON CONFLICT DO NOTHING;

    IF v_new_person THEN
        INSERT INTO identity_assertion (id, person_id, notice_id,
            institution_id, account_id, has_name, given_name_enc,
            family_name_enc, birth_date_enc, declared_age,
            age_declared_on, sex, nationality, languages, place_seen_enc)
            VALUES (p_identity_id, v_person, v_notice, v_inst, p_account_id,
                    coalesce(p_has_name, false), p_given_name,
                    p_family_name, p_birth_date, p_declared_age,
                    CASE WHEN p_declared_age IS NULL THEN NULL
                         ELSE coalesce(p_age_declared_on, current_date) END,
                    p_sex, p_nationality, coalesce(p_languages, '{}'),
                    p_place_seen);
    END IF;

    IF v_new_case THEN
        INSERT INTO case_event (case_id, what, by_account_id,
                                by_institution_id, notice_id)
            VALUES (v_case, 'opened', p_account_id, v_inst, v_notice);
    END IF;
    INSERT INTO case_event (case_id, what, by_account_id, by_institution_id,
                            notice_id)
        VALUES (v_case, 'notice', p_account_id, v_inst, v_notice);

    RETURN QUERY SELECT v_notice, v_case, v_person, false, v_new_case,
                        v_new_person;
END;
$$;

-- notice_ack_tx (003), with a sealed note.
CREATE FUNCTION notice_ack_tx(p_notice_id bigint, p_account_id bigint,
                              p_from text[], p_to text, p_reason text,
                              p_note bytea)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_inst bigint;
    v_prev text;
BEGIN
    SELECT a.institution_id INTO v_inst FROM account a
        WHERE a.id = p_account_id;
    SELECT nr.state INTO v_prev FROM notice_recipient nr
        WHERE nr.notice_id = p_notice_id AND nr.institution_id = v_inst
        FOR UPDATE;
    -- A recipient removed from the case since has nothing to acknowledge.
    IF NOT FOUND OR NOT EXISTS (
            SELECT 1 FROM notice n
            JOIN case_party cp ON cp.case_id = n.case_id
            WHERE n.id = p_notice_id AND cp.institution_id = v_inst) THEN
        RAISE EXCEPTION 'no such notice'
            USING ERRCODE = 'MG404', CONSTRAINT = 'notice_id';
    END IF;
    IF NOT coalesce(v_prev = ANY (p_from), false) THEN
        RAISE EXCEPTION 'the acknowledgement changed meanwhile; look again'
            USING ERRCODE = 'MG409', CONSTRAINT = 'state';
    END IF;
    UPDATE notice_recipient nr
        SET state = p_to, reason = p_reason, note_enc = p_note, note = NULL,
            acked_by = p_account_id, updated_at = now()
        WHERE nr.notice_id = p_notice_id AND nr.institution_id = v_inst;
    RETURN v_prev;
END;
$$;

-- casefile_close_tx (004): the sealed reason for the case, and for the
-- timeline entry p_event_id (drawn by the daemon) sealed for that row.
CREATE FUNCTION casefile_close_tx(p_case_id bigint, p_account_id bigint,
                                  p_require_party boolean, p_reason bytea,
                                  p_event_id bigint, p_note bytea)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_by bigint := casefile_account_institution(p_account_id);
    v_cf case_file%ROWTYPE;
BEGIN
    v_cf := casefile_lock(p_case_id, v_by, p_require_party, false);
    IF v_cf.status = 'closed' THEN
        RAISE EXCEPTION 'the case is already closed'
            USING ERRCODE = 'MG409', CONSTRAINT = 'case_id';
    END IF;
    IF p_reason IS NULL OR p_note IS NULL THEN
        RAISE EXCEPTION 'a reason is required'
            USING ERRCODE = 'MG400', CONSTRAINT = 'reason';
    END IF;
    UPDATE case_file
        SET status = 'closed', closed_at = now(), close_reason = NULL,
            close_reason_enc = p_reason,
            updated_at = now()
        WHERE id = p_case_id;
    INSERT INTO case_event (id, case_id, what, by_account_id,
                            by_institution_id, note_enc)
        VALUES (p_event_id, p_case_id, 'closed', p_account_id, v_by, p_note);
END;
$$;

-- casefile_reopen_tx (004): forgets the sealed reason too.
CREATE OR REPLACE FUNCTION casefile_reopen_tx(p_case_id bigint, p_account_id bigint,
                                   p_require_party boolean)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_by bigint := casefile_account_institution(p_account_id);
    v_cf case_file%ROWTYPE;
BEGIN
    v_cf := casefile_lock(p_case_id, v_by, p_require_party, false);
    IF v_cf.status = 'open' THEN
        RAISE EXCEPTION 'the case is already open'
            USING ERRCODE = 'MG409', CONSTRAINT = 'case_id';
    END IF;
    IF EXISTS (SELECT 1 FROM case_file cf
               WHERE cf.person_id = v_cf.person_id AND cf.status = 'open'
                 AND cf.id <> p_case_id) THEN
        RAISE EXCEPTION 'the person has another open case'
            USING ERRCODE = 'MG409', CONSTRAINT = 'case_id';
    END IF;
    BEGIN
        UPDATE case_file
            SET status = 'open', closed_at = NULL, close_reason = NULL,
                close_reason_enc = NULL,
                updated_at = now()
            WHERE id = p_case_id;
    EXCEPTION WHEN unique_violation THEN
        -- a concurrent notice opened a new case for the person
        RAISE EXCEPTION 'the person has another open case'
            USING ERRCODE = 'MG409', CONSTRAINT = 'case_id';
    END;
    INSERT INTO case_event (case_id, what, by_account_id, by_institution_id)
        VALUES (p_case_id, 'reopened', p_account_id, v_by);
END;
$$;

-- casefile_status_tx (004), with a sealed note on timeline entry p_event_id.
CREATE FUNCTION casefile_status_tx(p_case_id bigint, p_account_id bigint,
                                   p_require_party boolean, p_status text,
                                   p_note bytea, p_indicators text[],
                                   p_event_id bigint)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_by bigint := casefile_account_institution(p_account_id);
    v_cf case_file%ROWTYPE;
    v_ind text[];
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('spotted', 'presumed_victim',
                                            'identified', 'not_a_victim') THEN
        RAISE EXCEPTION 'unknown protection status'
            USING ERRCODE = 'MG400', CONSTRAINT = 'status';
    END IF;
    v_cf := casefile_lock(p_case_id, v_by, p_require_party, true);
    IF v_cf.protection_status = p_status THEN
        RAISE EXCEPTION 'the case already has this protection status'
            USING ERRCODE = 'MG409', CONSTRAINT = 'status';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(coalesce(p_indicators, '{}')) AS t(code)
               LEFT JOIN indicator d ON d.code = t.code
               WHERE d.code IS NULL OR d.retired) THEN
        RAISE EXCEPTION 'an indicator is unknown or retired'
            USING ERRCODE = 'MG400', CONSTRAINT = 'indicators';
    END IF;
    SELECT coalesce(array_agg(t.code ORDER BY t.first), '{}') INTO v_ind
        FROM (SELECT u.code, min(u.ord) AS first
              FROM unnest(coalesce(p_indicators, '{}'))
                   WITH ORDINALITY AS u(code, ord)
              GROUP BY u.code) AS t;
    UPDATE case_file SET protection_status = p_status, updated_at = now()
        WHERE id = p_case_id;
    INSERT INTO case_event (id, case_id, what, by_account_id,
                            by_institution_id, status, note_enc, indicators)
        VALUES (p_event_id, p_case_id, 'status', p_account_id, v_by,
                p_status, p_note, v_ind);
END;
$$;

-- casefile_summaries (004), returning the sealed close reason and the
-- label's identity assertion (id, sealed names); person_label and
-- close_reason carry only values stored before 009.
CREATE FUNCTION casefile_summaries(p_inst bigint, p_sees_all boolean,
                                   p_plain text[], p_lead text[],
                                   p_case_id bigint, p_status text,
                                   p_kind text, p_urgency text,
                                   p_since timestamptz, p_before_id bigint,
                                   p_limit integer)
    RETURNS TABLE (case_id bigint, person_id bigint, status text,
                   protection_status text, lead text, last_kind text,
                   last_urgency text, opened_at text, updated_at text,
                   closed_at text, close_reason text, parties text,
                   person_label text, label_id bigint,
                   given_name_enc bytea, family_name_enc bytea,
                   close_reason_enc bytea)
    LANGUAGE sql STABLE AS $$
    WITH cursor_case AS (
        SELECT c2.updated_at, c2.id FROM case_file c2
        WHERE c2.id = p_before_id
          AND (p_sees_all OR EXISTS (SELECT 1 FROM case_party cp
               WHERE cp.case_id = c2.id AND cp.institution_id = p_inst))),
    sel AS (
        SELECT cf.* FROM case_file cf
        WHERE (p_case_id = 0 OR cf.id = p_case_id)
          AND (p_sees_all OR EXISTS (SELECT 1 FROM case_party cp
               WHERE cp.case_id = cf.id AND cp.institution_id = p_inst))
          AND (p_status = '' OR cf.status = p_status)
          AND (p_since IS NULL OR cf.updated_at >= p_since)
          AND (p_before_id = 0 OR (cf.updated_at, cf.id) <
               (SELECT cc.updated_at, cc.id FROM cursor_case cc)))
    SELECT cf.id, cf.person_id, cf.status, cf.protection_status,
        coalesce(li.code, ''), coalesce(ln.kind, ''),
        coalesce(ln.urgency, ''),
        to_char(cf.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        to_char(cf.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        coalesce(to_char(cf.closed_at AT TIME ZONE 'UTC',
                         'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
        coalesce(cf.close_reason, ''), coalesce(pa.codes, ''),
        coalesce(lbl.label, ''), lbl.id, lbl.given_name_enc,
        lbl.family_name_enc, cf.close_reason_enc
    FROM sel cf
    LEFT JOIN institution li ON li.id = cf.lead_institution_id
    LEFT JOIN LATERAL (
        SELECT n.kind, n.urgency FROM notice n
        WHERE n.case_id = cf.id
          AND (n.sender_institution_id = p_inst
               OR n.visibility = ANY (p_plain)
               OR (n.visibility = ANY (p_lead)
                   AND cf.lead_institution_id = p_inst))
        ORDER BY n.id DESC LIMIT 1) ln ON true
    LEFT JOIN LATERAL (
        SELECT string_agg(i.code, ',' ORDER BY i.code) AS codes
        FROM case_party cp JOIN institution i ON i.id = cp.institution_id
        WHERE cp.case_id = cf.id) pa ON true
    LEFT JOIN LATERAL (
        SELECT btrim(concat_ws(' ', ia.given_name, ia.family_name)) AS label,
            ia.id, ia.given_name_enc, ia.family_name_enc
        FROM identity_assertion ia
        LEFT JOIN notice an ON an.id = ia.notice_id
        LEFT JOIN case_file acf ON acf.id = an.case_id
        WHERE ia.person_id = cf.person_id
          AND ia.has_name
          AND (ia.institution_id = p_inst
               OR (an.id IS NOT NULL
                   AND (p_sees_all OR EXISTS (SELECT 1 FROM case_party cp
                        WHERE cp.case_id = an.case_id
                          AND cp.institution_id = p_inst))
                   AND (an.sender_institution_id = p_inst
                        OR an.visibility = ANY (p_plain)
                        OR (an.visibility = ANY (p_lead)
                            AND acf.lead_institution_id = p_inst))))
        ORDER BY ia.id DESC LIMIT 1) lbl ON true
    WHERE (p_kind = '' OR ln.kind = p_kind)
      AND (p_urgency = '' OR ln.urgency = p_urgency)
    ORDER BY cf.updated_at DESC, cf.id DESC
    LIMIT p_limit;
$$;
