-- 006_training: the partner network's awareness sessions (sensibilisations)
-- and what the directory and the reports read from them. The reference lists
-- of a session (participants' profiles, modules, formats) and the labels of
-- the institution kinds in reports are data, here; later migrations add to
-- them, codes are never reused. A session records its date, duration,
-- format, the institutions that attended with their participants by profile,
-- the modules covered, the trainers and optional self-assessment scores
-- (the participants' mean, 0 to 10, before and after). No young person and
-- no participant is named anywhere: participants are counts.
--
-- Writes go through training_save_tx(), one statement that re-checks every
-- reference in the database and raises the daemon's typed errors (SQLSTATE
-- MG400 bad request, MG404 not found, MG409 conflict; CONSTRAINT names the
-- request field), so that nothing is ever stored partly. Messages carry no
-- personal data: they go to the client as they are.

-- ---- reference data ---------------------------------------------------

CREATE TABLE training_profile (
    code     text PRIMARY KEY CHECK (code ~ '^[a-z_]{2,40}$'),
    position smallint NOT NULL UNIQUE,
    label_fr text NOT NULL,
    label_en text NOT NULL
);

INSERT INTO training_profile (code, position, label_fr, label_en) VALUES
    ('social_worker', 1, 'Travailleur social', 'Social worker'),
    ('educator', 2, 'Éducateur', 'Educator'),
    ('child_welfare_staff', 3, 'Personnel de l''aide sociale à l''enfance', 'Child-welfare staff'),
    ('youth_justice_staff', 4, 'Personnel de la protection judiciaire de la jeunesse', 'Youth-justice staff'),
    ('police_officer', 5, 'Policier', 'Police officer'),
    ('gendarme', 6, 'Gendarme', 'Gendarme'),
    ('magistrate', 7, 'Magistrat', 'Magistrate'),
    ('lawyer', 8, 'Avocat', 'Lawyer'),
    ('health_professional', 9, 'Professionnel de santé', 'Health professional'),
    ('volunteer', 10, 'Bénévole', 'Volunteer'),
    ('other', 11, 'Autre', 'Other');

CREATE TABLE training_module (
    code     text PRIMARY KEY CHECK (code ~ '^[a-z_]{2,40}$'),
    position smallint NOT NULL UNIQUE,
    label_fr text NOT NULL,
    label_en text NOT NULL
);

INSERT INTO training_module (code, position, label_fr, label_en) VALUES
    ('phenomenon', 1, 'Le phénomène de la traite des mineurs', 'The phenomenon of child trafficking'),
    ('exploitation_forms', 2, 'Les formes d''exploitation', 'Forms of exploitation'),
    ('identification', 3, 'Les indicateurs d''identification', 'Identification indicators'),
    ('reporting_legal', 4, 'Le signalement et le cadre juridique', 'Reporting and the legal framework'),
    ('support', 5, 'L''accompagnement socio-éducatif et psychologique', 'Socio-educational and psychological support'),
    ('partnership', 6, 'Le travail en partenariat', 'Partnership work');

CREATE TABLE training_format (
    code     text PRIMARY KEY CHECK (code ~ '^[a-z_]{2,40}$'),
    position smallint NOT NULL UNIQUE,
    label_fr text NOT NULL,
    label_en text NOT NULL
);

INSERT INTO training_format (code, position, label_fr, label_en) VALUES
    ('on_site', 1, 'En présentiel', 'On site'),
    ('remote', 2, 'À distance', 'Remote');

-- Labels of the institution kinds, for the reports.
CREATE TABLE report_kind_label (
    code     text PRIMARY KEY CHECK (code IN ('association', 'child_welfare',
                 'youth_justice', 'police', 'gendarmerie', 'court', 'lawyer',
                 'health', 'education', 'other')),
    position smallint NOT NULL UNIQUE,
    label_fr text NOT NULL,
    label_en text NOT NULL
);

INSERT INTO report_kind_label (code, position, label_fr, label_en) VALUES
    ('association', 1, 'Association', 'Association'),
    ('child_welfare', 2, 'Aide sociale à l''enfance (ASE, CRIP)', 'Child welfare (ASE, CRIP)'),
    ('youth_justice', 3, 'Protection judiciaire de la jeunesse (PJJ)', 'Youth justice (PJJ)'),
    ('police', 4, 'Police', 'Police'),
    ('gendarmerie', 5, 'Gendarmerie', 'Gendarmerie'),
    ('court', 6, 'Juridiction', 'Court'),
    ('lawyer', 7, 'Avocat', 'Lawyer'),
    ('health', 8, 'Santé', 'Health'),
    ('education', 9, 'Éducation', 'Education'),
    ('other', 10, 'Autre', 'Other');

-- The optional network policy: an institution none of whose staff attended
-- a session in the last lapse_years years is shown as lapsed in the
-- directory. NULL (the default): off. One row; set it with
--   UPDATE training_policy SET lapse_years = 3;
CREATE TABLE training_policy (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    lapse_years smallint CHECK (lapse_years BETWEEN 1 AND 50)
);

INSERT INTO training_policy (singleton, lapse_years) VALUES (true, NULL);

-- ---- sessions -----------------------------------------------------------

CREATE TABLE training_session (
    id               bigserial PRIMARY KEY,
    held_on          date NOT NULL CHECK (held_on >= DATE '2000-01-01'),
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
    format           text NOT NULL REFERENCES training_format (code),
    title            text NOT NULL DEFAULT '' CHECK (length(title) <= 200),
    trainers         text[] NOT NULL DEFAULT '{}'
                         CHECK (cardinality(trainers) <= 10),
    pre_score        numeric(4, 2) CHECK (pre_score BETWEEN 0 AND 10),
    post_score       numeric(4, 2) CHECK (post_score BETWEEN 0 AND 10),
    version          integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    idempotency_key  text NOT NULL
                         CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    created_by       bigint NOT NULL REFERENCES account (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       bigint NOT NULL REFERENCES account (id),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (created_by, idempotency_key)
);

CREATE INDEX training_session_held_on_idx ON training_session (held_on, id);

CREATE TABLE training_session_module (
    session_id bigint NOT NULL REFERENCES training_session (id),
    module     text NOT NULL REFERENCES training_module (code),
    PRIMARY KEY (session_id, module)
);

-- Participants of one institution and one profile at one session.
CREATE TABLE training_attendance (
    session_id     bigint NOT NULL REFERENCES training_session (id),
    institution_id bigint NOT NULL REFERENCES institution (id),
    profile        text NOT NULL REFERENCES training_profile (code),
    participants   integer NOT NULL CHECK (participants BETWEEN 1 AND 1000),
    PRIMARY KEY (session_id, institution_id, profile)
);

CREATE INDEX training_attendance_institution_idx
    ON training_attendance (institution_id, session_id);

-- The audit record of a request about a session names it.
ALTER TABLE audit_event ADD COLUMN training_id bigint;

-- What the impact report counts, by institution and time.
CREATE INDEX notice_sender_created_idx
    ON notice (sender_institution_id, created_at);
CREATE INDEX case_event_status_by_idx ON case_event (by_institution_id, at)
    WHERE what = 'status';

-- ---- writes ---------------------------------------------------------------

-- Record a session (p_session_id NULL) or replace one whole (p_session_id
-- set, p_version the version the editor read: another edit in between is
-- MG409 on "version"). The attendance comes as three parallel arrays, one
-- element per (institution, profile) with its count; the daemon has checked
-- the shapes, bounds and duplicates. Recording is idempotent per (account,
-- key): a second call with the same key stores nothing and returns the
-- first session with replayed = true.
CREATE FUNCTION training_save_tx(
    p_session_id bigint, p_version integer, p_account_id bigint, p_key text,
    p_held_on date, p_duration integer, p_format text, p_title text,
    p_trainers text[], p_pre numeric, p_post numeric, p_modules text[],
    p_institutions text[], p_profiles text[], p_counts integer[])
    RETURNS TABLE (session_id bigint, version integer, replayed boolean)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_id      bigint;
    v_version integer;
    v_bad     text;
BEGIN
    IF p_session_id IS NULL THEN
        PERFORM pg_advisory_xact_lock(
            hashtextextended('training:' || p_account_id::text || ':' || p_key, 0));
        SELECT s.id, s.version INTO v_id, v_version FROM training_session s
            WHERE s.created_by = p_account_id AND s.idempotency_key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT v_id, v_version, true;
            RETURN;
        END IF;
    ELSE
        SELECT s.version INTO v_version FROM training_session s
            WHERE s.id = p_session_id FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no such session'
                USING ERRCODE = 'MG404', CONSTRAINT = 'id';
        END IF;
        IF v_version <> p_version THEN
            RAISE EXCEPTION 'the session was changed meanwhile (now version %); show it and edit again', v_version
                USING ERRCODE = 'MG409', CONSTRAINT = 'version';
        END IF;
    END IF;

    PERFORM 1 FROM training_format f WHERE f.code = p_format;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown format: on_site or remote'
            USING ERRCODE = 'MG400', CONSTRAINT = 'format';
    END IF;
    SELECT t.code INTO v_bad FROM unnest(coalesce(p_modules, '{}'))
        WITH ORDINALITY AS t(code, n)
        LEFT JOIN training_module m ON m.code = t.code
        WHERE m.code IS NULL ORDER BY t.n LIMIT 1;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown module: %', v_bad
            USING ERRCODE = 'MG400', CONSTRAINT = 'modules';
    END IF;
    SELECT t.code INTO v_bad FROM unnest(coalesce(p_institutions, '{}'))
        WITH ORDINALITY AS t(code, n)
        LEFT JOIN institution i ON i.code = t.code
        WHERE i.id IS NULL ORDER BY t.n LIMIT 1;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown institution: %', v_bad
            USING ERRCODE = 'MG400', CONSTRAINT = 'institution';
    END IF;
    SELECT t.code INTO v_bad FROM unnest(coalesce(p_profiles, '{}'))
        WITH ORDINALITY AS t(code, n)
        LEFT JOIN training_profile p ON p.code = t.code
        WHERE p.code IS NULL ORDER BY t.n LIMIT 1;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown profile: %', v_bad
            USING ERRCODE = 'MG400', CONSTRAINT = 'profile';
    END IF;

    IF p_session_id IS NULL THEN
        INSERT INTO training_session AS s (held_on, duration_minutes, format,
            title, trainers, pre_score, post_score, idempotency_key,
            created_by, updated_by)
            VALUES (p_held_on, p_duration, p_format, coalesce(p_title, ''),
                    coalesce(p_trainers, '{}'), p_pre, p_post, p_key,
                    p_account_id, p_account_id)
            RETURNING s.id, s.version INTO v_id, v_version;
    ELSE
        UPDATE training_session AS s
            SET held_on = p_held_on, duration_minutes = p_duration,
                format = p_format, title = coalesce(p_title, ''),
                trainers = coalesce(p_trainers, '{}'), pre_score = p_pre,
                post_score = p_post, version = s.version + 1,
                updated_by = p_account_id, updated_at = now()
            WHERE s.id = p_session_id
            RETURNING s.id, s.version INTO v_id, v_version;
        DELETE FROM training_session_module m WHERE m.session_id = v_id;
        DELETE FROM training_attendance a WHERE a.session_id = v_id;
    END IF;

    INSERT INTO training_session_module (session_id, module)
        SELECT DISTINCT v_id, t.code FROM unnest(coalesce(p_modules, '{}')) AS t(code);
    INSERT INTO training_attendance (session_id, institution_id, profile,
                                     participants)
        SELECT v_id, i.id, t.profile, t.n
        FROM unnest(p_institutions, p_profiles, p_counts) AS t(code, profile, n)
        JOIN institution i ON i.code = t.code;

    RETURN QUERY SELECT v_id, v_version, false;
END;
$$;

-- ---- reads --------------------------------------------------------------

-- Before reading a session: MG404 on "id" when there is none.
CREATE FUNCTION training_session_guard(p_id bigint)
    RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM 1 FROM training_session s WHERE s.id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such session'
            USING ERRCODE = 'MG404', CONSTRAINT = 'id';
    END IF;
END;
$$;

-- Sessions newest first (held_on, then id), held from p_from to p_to (NULL:
-- no bound), attended by the institution of code p_inst ('' for any: an
-- unknown code is MG400 on "institution"), after the session p_before_id
-- in that order (0: from the start), at most p_limit.
CREATE FUNCTION training_list(p_from date, p_to date, p_inst text,
                              p_before_id bigint, p_limit integer)
    RETURNS TABLE (id bigint, held_on text, format text,
                   duration_minutes integer, title text, participants bigint,
                   institutions text, modules text, version integer)
    LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    v_inst bigint;
BEGIN
    IF p_inst <> '' THEN
        SELECT i.id INTO v_inst FROM institution i WHERE i.code = p_inst;
        IF v_inst IS NULL THEN
            RAISE EXCEPTION 'unknown institution: %', p_inst
                USING ERRCODE = 'MG400', CONSTRAINT = 'institution';
        END IF;
    END IF;
    RETURN QUERY
        SELECT s.id, to_char(s.held_on, 'YYYY-MM-DD'), s.format,
            s.duration_minutes, s.title,
            coalesce((SELECT sum(a.participants) FROM training_attendance a
                      WHERE a.session_id = s.id), 0),
            coalesce((SELECT string_agg(DISTINCT i.code, ',' ORDER BY i.code)
                      FROM training_attendance a
                      JOIN institution i ON i.id = a.institution_id
                      WHERE a.session_id = s.id), ''),
            coalesce((SELECT string_agg(m.code, ',' ORDER BY m.position)
                      FROM training_session_module sm
                      JOIN training_module m ON m.code = sm.module
                      WHERE sm.session_id = s.id), ''),
            s.version
        FROM training_session s
        WHERE (p_from IS NULL OR s.held_on >= p_from)
          AND (p_to IS NULL OR s.held_on <= p_to)
          AND (v_inst IS NULL OR EXISTS (SELECT 1 FROM training_attendance a
               WHERE a.session_id = s.id AND a.institution_id = v_inst))
          AND (p_before_id = 0 OR (s.held_on, s.id) <
               (SELECT c.held_on, c.id FROM training_session c
                WHERE c.id = p_before_id))
        ORDER BY s.held_on DESC, s.id DESC
        LIMIT p_limit;
END;
$$;

-- ---- the directory ------------------------------------------------------

-- Before reading one institution of the directory: MG404 on "code" when
-- there is none.
CREATE FUNCTION network_guard(p_code text)
    RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM 1 FROM institution i WHERE i.code = p_code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such institution'
            USING ERRCODE = 'MG404', CONSTRAINT = 'code';
    END IF;
END;
$$;

-- Institutions with what the directory says of them: enabled ones only
-- (p_code '') filtered by kind and département ('' for any), or the one of
-- code p_code whatever its state. lapsed: the policy is on and no session in
-- its last lapse_years years (p_today: the daemon's date).
CREATE FUNCTION network_directory(p_code text, p_kind text, p_dep text,
                                  p_today date)
    RETURNS TABLE (code text, name text, kind text, departement text,
                   contact text, enabled boolean, connected boolean,
                   last_trained text, sessions bigint, participants bigint,
                   lapsed boolean, lapse_years integer)
    LANGUAGE sql STABLE AS $$
    SELECT i.code, i.name, i.kind, i.departement, coalesce(i.contact, ''),
        i.enabled,
        i.enabled AND EXISTS (SELECT 1 FROM account a
                              WHERE a.institution_id = i.id AND a.enabled),
        coalesce(to_char(tr.last_on, 'YYYY-MM-DD'), ''),
        coalesce(tr.sessions, 0), coalesce(tr.participants, 0),
        pol.lapse_years IS NOT NULL
            AND (tr.last_on IS NULL
                 OR tr.last_on < (p_today - make_interval(years => pol.lapse_years))::date),
        coalesce(pol.lapse_years, 0)::integer
    FROM institution i
    CROSS JOIN training_policy pol
    LEFT JOIN LATERAL (
        SELECT max(s.held_on) AS last_on, count(DISTINCT s.id) AS sessions,
               sum(a.participants) AS participants
        FROM training_attendance a
        JOIN training_session s ON s.id = a.session_id
        WHERE a.institution_id = i.id) tr ON true
    WHERE (p_code <> '' AND i.code = p_code)
       OR (p_code = '' AND i.enabled
           AND (p_kind = '' OR i.kind = p_kind)
           AND (p_dep = '' OR i.departement = p_dep))
    ORDER BY i.departement, i.kind, i.code;
$$;

-- ---- reports --------------------------------------------------------------

-- The reach of the sessions held from p_from to p_to (inclusive): one row
-- per (section, key), in display order. Sections: profile, kind, module,
-- format (every reference code, even at zero), departement (those reached),
-- month (every month of the period, "YYYY-MM"). sessions: sessions that
-- count in the row (a session attended by two institutions of one kind
-- counts once for that kind); participants: people trained in the row;
-- institutions: distinct institutions among them.
CREATE FUNCTION report_reach_rows(p_from date, p_to date)
    RETURNS TABLE (section text, pos integer, key text, label_fr text,
                   label_en text, sessions bigint, participants bigint,
                   institutions bigint)
    LANGUAGE sql STABLE AS $$
    WITH s AS (
        SELECT * FROM training_session ts
        WHERE ts.held_on BETWEEN p_from AND p_to),
    att AS (
        SELECT a.session_id, a.profile, a.participants, a.institution_id,
               i.kind, i.departement
        FROM training_attendance a
        JOIN s ON s.id = a.session_id
        JOIN institution i ON i.id = a.institution_id),
    sess AS (
        SELECT s.id, s.format, s.held_on,
               coalesce((SELECT sum(att.participants) FROM att
                         WHERE att.session_id = s.id), 0) AS participants
        FROM s)
    SELECT 'profile', p.position::integer, p.code, p.label_fr, p.label_en,
        count(DISTINCT att.session_id), coalesce(sum(att.participants), 0),
        count(DISTINCT att.institution_id)
    FROM training_profile p LEFT JOIN att ON att.profile = p.code
    GROUP BY p.code, p.label_fr, p.label_en, p.position
    UNION ALL
    SELECT 'kind', k.position::integer, k.code, k.label_fr, k.label_en,
        count(DISTINCT att.session_id), coalesce(sum(att.participants), 0),
        count(DISTINCT att.institution_id)
    FROM report_kind_label k LEFT JOIN att ON att.kind = k.code
    GROUP BY k.code, k.label_fr, k.label_en, k.position
    UNION ALL
    SELECT 'departement', 0, att.departement, att.departement, att.departement,
        count(DISTINCT att.session_id), sum(att.participants),
        count(DISTINCT att.institution_id)
    FROM att GROUP BY att.departement
    UNION ALL
    SELECT 'module', m.position::integer, m.code, m.label_fr, m.label_en,
        count(sess.id), coalesce(sum(sess.participants), 0),
        (SELECT count(DISTINCT att.institution_id) FROM att
         JOIN training_session_module sm2 ON sm2.session_id = att.session_id
         WHERE sm2.module = m.code)
    FROM training_module m
    LEFT JOIN training_session_module sm ON sm.module = m.code
    LEFT JOIN sess ON sess.id = sm.session_id
    GROUP BY m.code, m.label_fr, m.label_en, m.position
    UNION ALL
    SELECT 'format', f.position::integer, f.code, f.label_fr, f.label_en,
        count(sess.id), coalesce(sum(sess.participants), 0),
        (SELECT count(DISTINCT att.institution_id) FROM att
         JOIN s s2 ON s2.id = att.session_id WHERE s2.format = f.code)
    FROM training_format f LEFT JOIN sess ON sess.format = f.code
    GROUP BY f.code, f.label_fr, f.label_en, f.position
    UNION ALL
    SELECT 'month', 0, to_char(mo.m, 'YYYY-MM'), to_char(mo.m, 'YYYY-MM'),
        to_char(mo.m, 'YYYY-MM'),
        count(sess.id), coalesce(sum(sess.participants), 0),
        (SELECT count(DISTINCT att.institution_id) FROM att
         JOIN s s2 ON s2.id = att.session_id
         WHERE date_trunc('month', s2.held_on::timestamp) = mo.m)
    FROM generate_series(date_trunc('month', p_from::timestamp),
                         date_trunc('month', p_to::timestamp),
                         interval '1 month') AS mo(m)
    LEFT JOIN sess ON date_trunc('month', sess.held_on::timestamp) = mo.m
    GROUP BY mo.m
    ORDER BY 1, 2, 3;
$$;

-- The totals of the same period: sessions, participants, distinct
-- institutions, minutes, and the self-assessment scores' means over the
-- sessions that have them, each weighted by the session's participants.
CREATE FUNCTION report_reach_totals(p_from date, p_to date)
    RETURNS TABLE (sessions bigint, participants bigint, institutions bigint,
                   minutes bigint, scored_sessions bigint, pre_mean numeric,
                   post_mean numeric)
    LANGUAGE sql STABLE AS $$
    WITH s AS (
        SELECT ts.*, coalesce((SELECT sum(a.participants)
                               FROM training_attendance a
                               WHERE a.session_id = ts.id), 0) AS people
        FROM training_session ts
        WHERE ts.held_on BETWEEN p_from AND p_to)
    SELECT (SELECT count(*) FROM s),
        (SELECT coalesce(sum(s.people), 0) FROM s),
        (SELECT count(DISTINCT a.institution_id) FROM training_attendance a
         JOIN s ON s.id = a.session_id),
        (SELECT coalesce(sum(s.duration_minutes), 0) FROM s),
        (SELECT count(*) FROM s
         WHERE s.pre_score IS NOT NULL AND s.post_score IS NOT NULL),
        (SELECT round(sum(s.pre_score * s.people) / nullif(sum(s.people), 0), 2)
         FROM s WHERE s.pre_score IS NOT NULL AND s.post_score IS NOT NULL),
        (SELECT round(sum(s.post_score * s.people) / nullif(sum(s.people), 0), 2)
         FROM s WHERE s.pre_score IS NOT NULL AND s.post_score IS NOT NULL);
$$;

-- Impact: for each institution whose staff attended at least one session
-- (filtered by kind and département, '' for any), the sessions attended and
-- people trained, and around its first session (day d0, in the network's
-- time zone Europe/Paris) the notices it sent and the identifications it
-- contributed to in the 12 months before, [d0 - 12 months, d0), and the 12
-- months after, [d0 + 1 day, d0 + 1 day + 12 months); the day of the session
-- itself counts in neither. An identification is a case whose protection
-- status the institution recorded as presumed_victim or identified (a
-- case_event 'status' by that institution), counted once per case and
-- window. after_days: days of the after window elapsed at p_now (365 or 366
-- when it is complete). Counts only: no name, no case, no notice id.
CREATE FUNCTION report_impact_rows(p_kind text, p_dep text, p_now timestamptz)
    RETURNS TABLE (code text, name text, kind text, departement text,
                   sessions bigint, participants bigint, first_session text,
                   last_session text, notices_before bigint,
                   notices_after bigint, identifications_before bigint,
                   identifications_after bigint, after_days integer)
    LANGUAGE sql STABLE AS $$
    WITH tr AS (
        SELECT a.institution_id, min(s.held_on) AS d0, max(s.held_on) AS d1,
               count(DISTINCT s.id) AS sessions,
               sum(a.participants) AS participants
        FROM training_attendance a
        JOIN training_session s ON s.id = a.session_id
        GROUP BY a.institution_id),
    w AS (
        SELECT tr.*, i.code, i.name, i.kind, i.departement,
            ((tr.d0 - interval '12 months')::timestamp
                AT TIME ZONE 'Europe/Paris') AS b0,
            (tr.d0::timestamp AT TIME ZONE 'Europe/Paris') AS b1,
            ((tr.d0 + 1)::timestamp AT TIME ZONE 'Europe/Paris') AS a0,
            ((tr.d0 + 1 + interval '12 months')::timestamp
                AT TIME ZONE 'Europe/Paris') AS a1
        FROM tr JOIN institution i ON i.id = tr.institution_id
        WHERE (p_kind = '' OR i.kind = p_kind)
          AND (p_dep = '' OR i.departement = p_dep))
    SELECT w.code, w.name, w.kind, w.departement, w.sessions, w.participants,
        to_char(w.d0, 'YYYY-MM-DD'), to_char(w.d1, 'YYYY-MM-DD'),
        (SELECT count(*) FROM notice n
         WHERE n.sender_institution_id = w.institution_id
           AND n.created_at >= w.b0 AND n.created_at < w.b1),
        (SELECT count(*) FROM notice n
         WHERE n.sender_institution_id = w.institution_id
           AND n.created_at >= w.a0 AND n.created_at < w.a1),
        (SELECT count(DISTINCT ce.case_id) FROM case_event ce
         WHERE ce.what = 'status' AND ce.by_institution_id = w.institution_id
           AND ce.status IN ('presumed_victim', 'identified')
           AND ce.at >= w.b0 AND ce.at < w.b1),
        (SELECT count(DISTINCT ce.case_id) FROM case_event ce
         WHERE ce.what = 'status' AND ce.by_institution_id = w.institution_id
           AND ce.status IN ('presumed_victim', 'identified')
           AND ce.at >= w.a0 AND ce.at < w.a1),
        CASE WHEN p_now <= w.a0 THEN 0
             ELSE ((least(p_now, w.a1) AT TIME ZONE 'Europe/Paris')::date
                   - (w.a0 AT TIME ZONE 'Europe/Paris')::date)
        END
    FROM w
    ORDER BY w.departement, w.kind, w.code;
$$;
