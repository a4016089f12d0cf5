-- 003_notice_functions: the writes of the notice requests, each one
-- statement that guards itself against concurrent requests. The daemon
-- decides access in C (server/acl.c) from a read-only first look; these
-- functions only re-check what a concurrent transaction could have changed
-- meanwhile, and raise the daemon's typed errors (SQLSTATE MG400 bad
-- request, MG404 not found, MG409 conflict; CONSTRAINT names the request
-- field) so that nothing is ever stored partly. Messages carry no personal
-- data: they go to the client as they are.

-- Store one notice: the person (and what the sender said of its identity)
-- when p_person_id is NULL, the person's open case or a new one (one open
-- case per person, whoever races), the notice, its indicators and
-- recipients, the parties, the timeline entries. Idempotent per (account,
-- key): a second call with the same key, even a concurrent one, stores
-- nothing and returns the first notice's ids with replayed = true.
--   p_recipients    institution ids, already checked enabled and allowed
--   p_require_party the caller sees only the cases its institution is a
--                   party of (partners): the person must have one
--   p_lead_id       a recipient was allowed only as the case's lead: the
--                   open case must still be led by this institution
CREATE FUNCTION notice_send_tx(
    p_account_id bigint, p_key text, p_person_id bigint,
    p_kind text, p_urgency text, p_visibility text, p_basis text,
    p_informed boolean, p_informed_note text, p_body text,
    p_recipients bigint[], p_indicators text[],
    p_require_party boolean, p_lead_id bigint,
    p_given_name text, p_family_name text, p_birth_date text,
    p_declared_age smallint, p_age_declared_on date, p_sex text,
    p_nationality text, p_languages text[], p_place_seen text)
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
        PERFORM 1 FROM person p WHERE p.id = p_person_id;
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

    INSERT INTO notice AS n (case_id, person_id, sender_account_id,
        sender_institution_id, idempotency_key, kind, urgency, visibility,
        basis, informed, informed_note, body)
        VALUES (v_case, v_person, p_account_id, v_inst, p_key, p_kind,
                p_urgency, p_visibility, p_basis, p_informed,
                p_informed_note, coalesce(p_body, ''))
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
        INSERT INTO identity_assertion (person_id, notice_id, institution_id,
            account_id, given_name, family_name, birth_date, declared_age,
            age_declared_on, sex, nationality, languages, place_seen)
            VALUES (v_person, v_notice, v_inst, p_account_id, p_given_name,
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

-- Move one recipient's acknowledgement to p_to, from one of the states
-- p_from the daemon found allowed for that move (server/acl.c). Another
-- acknowledgement that got there first: MG409 on "state". Returns the
-- state the row had.
CREATE FUNCTION notice_ack_tx(p_notice_id bigint, p_account_id bigint,
                              p_from text[], p_to text, p_reason text,
                              p_note text)
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
        SET state = p_to, reason = p_reason, note = p_note,
            acked_by = p_account_id, updated_at = now()
        WHERE nr.notice_id = p_notice_id AND nr.institution_id = v_inst;
    RETURN v_prev;
END;
$$;

-- The indicator reference list, by category then code, without the
-- retired ones; p_category '' for every category, an unknown category:
-- MG400 on "category".
CREATE FUNCTION notice_indicator_list(p_category text, p_max integer)
    RETURNS TABLE (code text, category text, label_fr text, label_en text,
                   strength text)
    LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    IF coalesce(p_category, '') <> '' AND NOT EXISTS (
            SELECT 1 FROM indicator_category c WHERE c.code = p_category) THEN
        RAISE EXCEPTION 'unknown indicator category'
            USING ERRCODE = 'MG400', CONSTRAINT = 'category';
    END IF;
    RETURN QUERY
        SELECT d.code, d.category, d.label_fr, d.label_en, d.strength
        FROM indicator d
        WHERE NOT d.retired
          AND (coalesce(p_category, '') = '' OR d.category = p_category)
        ORDER BY d.category, d.code
        LIMIT p_max;
END;
$$;
