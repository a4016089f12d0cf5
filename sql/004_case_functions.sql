-- 004_case_functions: the writes of the case requests and the case summary
-- they answer with. The daemon decides access in C (server/acl.c) from a
-- read-only first look and passes what it decided (p_require_party: the
-- caller sees a case only as a party; p_plain / p_lead: the visibility
-- classes the caller reads as a party / as the case's lead). These functions
-- only re-check, under a lock on the case row, what a concurrent request
-- could have changed meanwhile, and raise the daemon's typed errors
-- (SQLSTATE MG400 bad request, MG404 not found, MG409 conflict; CONSTRAINT
-- names the request field) so that nothing is ever stored partly. Each
-- change updates case_file.updated_at and writes its case_event row (whose
-- trigger in 005 tells the parties). Messages carry no personal data: they
-- go to the client as they are. A closed case changes only by reopening it.

-- The institution of an account (the one acting).
CREATE FUNCTION casefile_account_institution(p_account_id bigint)
    RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_inst bigint;
BEGIN
    SELECT a.institution_id INTO v_inst FROM account a
        WHERE a.id = p_account_id;
    IF v_inst IS NULL THEN
        RAISE EXCEPTION 'unknown account' USING ERRCODE = 'MG403';
    END IF;
    RETURN v_inst;
END;
$$;

-- Before reading a case file: it exists and, when p_require_party, the
-- caller's institution p_inst is still one of its parties; MG404 on
-- "case_id" otherwise, the same answer for both. The case row is share-
-- locked (its lead cannot change while the file is read) and the party row
-- key-share-locked (the party cannot be removed before the read commits).
CREATE FUNCTION casefile_guard(p_case_id bigint, p_inst bigint,
                               p_require_party boolean)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM case_file cf WHERE cf.id = p_case_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such case'
            USING ERRCODE = 'MG404', CONSTRAINT = 'case_id';
    END IF;
    IF p_require_party THEN
        PERFORM 1 FROM case_party cp
            WHERE cp.case_id = p_case_id AND cp.institution_id = p_inst
            FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no such case'
                USING ERRCODE = 'MG404', CONSTRAINT = 'case_id';
        END IF;
    END IF;
END;
$$;

-- Lock the case row for a change (changes of one case take turns) and
-- check it is visible as casefile_guard does; with p_need_open, a closed
-- case is MG409 on "case_id".
CREATE FUNCTION casefile_lock(p_case_id bigint, p_inst bigint,
                              p_require_party boolean, p_need_open boolean)
    RETURNS case_file LANGUAGE plpgsql AS $$
DECLARE
    v_cf case_file%ROWTYPE;
BEGIN
    SELECT * INTO v_cf FROM case_file cf WHERE cf.id = p_case_id FOR UPDATE;
    IF NOT FOUND OR (p_require_party AND NOT EXISTS (
            SELECT 1 FROM case_party cp
            WHERE cp.case_id = p_case_id AND cp.institution_id = p_inst)) THEN
        RAISE EXCEPTION 'no such case'
            USING ERRCODE = 'MG404', CONSTRAINT = 'case_id';
    END IF;
    IF p_need_open AND v_cf.status <> 'open' THEN
        RAISE EXCEPTION 'the case is closed; reopen it first'
            USING ERRCODE = 'MG409', CONSTRAINT = 'case_id';
    END IF;
    RETURN v_cf;
END;
$$;

-- An enabled institution by code (p_need_enabled), or any; MG400 on
-- "institution" when there is none.
CREATE FUNCTION casefile_institution(p_code text, p_need_enabled boolean)
    RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_id      bigint;
    v_enabled boolean;
BEGIN
    SELECT i.id, i.enabled INTO v_id, v_enabled FROM institution i
        WHERE i.code = p_code;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'unknown institution'
            USING ERRCODE = 'MG400', CONSTRAINT = 'institution';
    END IF;
    IF p_need_enabled AND NOT v_enabled THEN
        RAISE EXCEPTION 'the institution is disabled'
            USING ERRCODE = 'MG400', CONSTRAINT = 'institution';
    END IF;
    RETURN v_id;
END;
$$;

-- Add (p_remove false) or remove a party. Adding needs an enabled
-- institution; adding a party again or removing an institution that is not
-- a party: MG409 on "institution". Removing the lead also clears the lead
-- (a second timeline entry lead_set with no institution).
CREATE FUNCTION casefile_party_tx(p_case_id bigint, p_account_id bigint,
                                  p_require_party boolean,
                                  p_institution text, p_remove boolean)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_by   bigint := casefile_account_institution(p_account_id);
    v_cf   case_file%ROWTYPE;
    v_inst bigint;
BEGIN
    v_cf := casefile_lock(p_case_id, v_by, p_require_party, true);
    v_inst := casefile_institution(p_institution, NOT p_remove);
    IF NOT p_remove THEN
        INSERT INTO case_party (case_id, institution_id)
            VALUES (p_case_id, v_inst) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the institution is already a party'
                USING ERRCODE = 'MG409', CONSTRAINT = 'institution';
        END IF;
        INSERT INTO case_event (case_id, what, by_account_id,
                                by_institution_id, institution_id)
            VALUES (p_case_id, 'party_added', p_account_id, v_by, v_inst);
        UPDATE case_file SET updated_at = now() WHERE id = p_case_id;
        RETURN;
    END IF;
    DELETE FROM case_party cp
        WHERE cp.case_id = p_case_id AND cp.institution_id = v_inst;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the institution is not a party'
            USING ERRCODE = 'MG409', CONSTRAINT = 'institution';
    END IF;
    INSERT INTO case_event (case_id, what, by_account_id, by_institution_id,
                            institution_id)
        VALUES (p_case_id, 'party_removed', p_account_id, v_by, v_inst);
    IF v_cf.lead_institution_id = v_inst THEN
        INSERT INTO case_event (case_id, what, by_account_id,
                                by_institution_id)
            VALUES (p_case_id, 'lead_set', p_account_id, v_by);
    END IF;
    UPDATE case_file
        SET updated_at = now(),
            lead_institution_id = CASE WHEN lead_institution_id = v_inst
                                       THEN NULL
                                       ELSE lead_institution_id END
        WHERE id = p_case_id;
END;
$$;

-- Make an enabled institution the lead (référent), a party first if it is
-- not one yet (timeline: party_added, then lead_set). Already the lead:
-- MG409 on "institution".
CREATE FUNCTION casefile_lead_tx(p_case_id bigint, p_account_id bigint,
                                 p_require_party boolean, p_institution text)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_by   bigint := casefile_account_institution(p_account_id);
    v_cf   case_file%ROWTYPE;
    v_inst bigint;
BEGIN
    v_cf := casefile_lock(p_case_id, v_by, p_require_party, true);
    v_inst := casefile_institution(p_institution, true);
    IF v_cf.lead_institution_id = v_inst THEN
        RAISE EXCEPTION 'the institution already leads the case'
            USING ERRCODE = 'MG409', CONSTRAINT = 'institution';
    END IF;
    INSERT INTO case_party (case_id, institution_id)
        VALUES (p_case_id, v_inst) ON CONFLICT DO NOTHING;
    IF FOUND THEN
        INSERT INTO case_event (case_id, what, by_account_id,
                                by_institution_id, institution_id)
            VALUES (p_case_id, 'party_added', p_account_id, v_by, v_inst);
    END IF;
    UPDATE case_file SET lead_institution_id = v_inst, updated_at = now()
        WHERE id = p_case_id;
    INSERT INTO case_event (case_id, what, by_account_id, by_institution_id,
                            institution_id)
        VALUES (p_case_id, 'lead_set', p_account_id, v_by, v_inst);
END;
$$;

-- Close an open case with a reason (the timeline entry's note). Already
-- closed: MG409 on "case_id"; no reason: MG400 on "reason".
CREATE FUNCTION casefile_close_tx(p_case_id bigint, p_account_id bigint,
                                  p_require_party boolean, p_reason text)
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
    IF coalesce(btrim(p_reason), '') = '' OR length(p_reason) > 2000 THEN
        RAISE EXCEPTION 'a reason of at most 2000 bytes is required'
            USING ERRCODE = 'MG400', CONSTRAINT = 'reason';
    END IF;
    UPDATE case_file
        SET status = 'closed', closed_at = now(), close_reason = p_reason,
            updated_at = now()
        WHERE id = p_case_id;
    INSERT INTO case_event (case_id, what, by_account_id, by_institution_id,
                            note)
        VALUES (p_case_id, 'closed', p_account_id, v_by, p_reason);
END;
$$;

-- Reopen a closed case. Already open, or the person has another open case
-- (one open case per person, whoever races): MG409 on "case_id".
CREATE FUNCTION casefile_reopen_tx(p_case_id bigint, p_account_id bigint,
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

-- Record the person's protection status on an open case, with a note and
-- the indicators behind it. The same status again: MG409 on "status"; an
-- unknown or retired indicator: MG400 on "indicators". Who may record
-- which status was decided by the daemon (acl_status_change).
CREATE FUNCTION casefile_status_tx(p_case_id bigint, p_account_id bigint,
                                   p_require_party boolean, p_status text,
                                   p_note text, p_indicators text[])
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
    IF length(p_note) > 2000 THEN
        RAISE EXCEPTION 'the note is limited to 2000 bytes'
            USING ERRCODE = 'MG400', CONSTRAINT = 'note';
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
    INSERT INTO case_event (case_id, what, by_account_id, by_institution_id,
                            status, note, indicators)
        VALUES (p_case_id, 'status', p_account_id, v_by, p_status,
                nullif(p_note, ''), v_ind);
END;
$$;

-- The summaries of the cases the caller (institution p_inst) may see: all
-- when p_sees_all, else those its institution is a party of. One case
-- (p_case_id <> 0) or a page of the list: status (open, closed or ''),
-- updated since p_since (NULL: any), kind and urgency of the last notice
-- the caller may read ('' : any); newest updated first; p_before_id, the
-- last case of the previous page, continues after it in that order (a case
-- the caller may not see gives an empty page).
--   A notice is readable when the caller's institution sent it, when its
-- class is in p_plain, or in p_lead and the caller leads the notice's case
-- (the classes are acl's decisions, see server/casefile.c). last_kind and
-- last_urgency come from the last readable notice; person_label from the
-- latest identity assertion with a name that the caller's institution made
-- or that came with a notice it may read (in a case it may see).
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
                   person_label text)
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
        coalesce(lbl.label, '')
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
        SELECT btrim(concat_ws(' ', ia.given_name, ia.family_name)) AS label
        FROM identity_assertion ia
        LEFT JOIN notice an ON an.id = ia.notice_id
        LEFT JOIN case_file acf ON acf.id = an.case_id
        WHERE ia.person_id = cf.person_id
          AND btrim(concat_ws(' ', ia.given_name, ia.family_name)) <> ''
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
