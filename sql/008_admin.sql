-- 008_admin: administration of institutions and accounts (issue 6, admin
-- part). The daemon's admin requests (server/admin.c) end in the functions
-- below, which re-check in the database what a concurrent request could
-- have changed and raise the daemon's typed errors (SQLSTATE MG404 not
-- found, MG409 conflict; CONSTRAINT names the request field). Triggers on
-- account and institution announce on channel maillage_admin every change
-- that must cut live connections, whoever makes it (an admin request,
-- deploy/enrol, a database administrator): every instance listens and
-- closes the connections concerned. The audit record of an admin request
-- names the account and institution it is about (target_* columns: ids,
-- never names).

-- The account and institution an audit record is about (admin actions).
ALTER TABLE audit_event
    ADD COLUMN target_account_id bigint,
    ADD COLUMN target_institution_id bigint;

CREATE INDEX audit_event_target_account_idx
    ON audit_event (target_account_id, id)
    WHERE target_account_id IS NOT NULL;
CREATE INDEX audit_event_target_institution_idx
    ON audit_event (target_institution_id, id)
    WHERE target_institution_id IS NOT NULL;

-- When the bound certificate expires, as the daemon read it when an admin
-- bound it (NULL for accounts enrolled by deploy/enrol).
ALTER TABLE account ADD COLUMN cert_not_after timestamptz;

-- ---- cutting live connections ------------------------------------------
--
-- Payloads on channel maillage_admin:
--   a:ID       cut every connection of account ID (disabled or deleted)
--   r:ID       the same, for an account whose role, institution or login
--              changed (its connections hold the old ones: connect again)
--   a:ID:FP    cut the connections of account ID that present another
--              certificate than FP (the account's certificate was replaced)
--   i:ID       cut every connection of an account of institution ID
--              (disabled or deleted)
--   k:ID       the same, for an institution whose kind or code changed
-- A disabled row announces itself again on every update, so that saying
-- "disable" twice retries a notification that an instance could have
-- missed; PostgreSQL folds identical notifications of one transaction.

CREATE FUNCTION account_cut_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('maillage_admin', 'a:' || OLD.id);
    ELSIF NOT NEW.enabled THEN
        PERFORM pg_notify('maillage_admin', 'a:' || NEW.id);
    ELSIF NEW.role IS DISTINCT FROM OLD.role
          OR NEW.institution_id IS DISTINCT FROM OLD.institution_id
          OR NEW.login IS DISTINCT FROM OLD.login THEN
        PERFORM pg_notify('maillage_admin', 'r:' || NEW.id);
    ELSIF NEW.cert_fingerprint IS DISTINCT FROM OLD.cert_fingerprint THEN
        PERFORM pg_notify('maillage_admin',
                          'a:' || NEW.id || ':' || NEW.cert_fingerprint);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER account_cut AFTER UPDATE OR DELETE ON account
    FOR EACH ROW EXECUTE FUNCTION account_cut_notify();

CREATE FUNCTION institution_cut_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('maillage_admin', 'i:' || OLD.id);
    ELSIF NOT NEW.enabled THEN
        PERFORM pg_notify('maillage_admin', 'i:' || NEW.id);
    ELSIF NEW.kind IS DISTINCT FROM OLD.kind
          OR NEW.code IS DISTINCT FROM OLD.code THEN
        PERFORM pg_notify('maillage_admin', 'k:' || NEW.id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER institution_cut AFTER UPDATE OR DELETE ON institution
    FOR EACH ROW EXECUTE FUNCTION institution_cut_notify();

-- Of the live connections an instance holds (parallel arrays: the
-- account id and the certificate fingerprint each authenticated with),
-- those that would no longer authenticate, by their position (1-based)
-- and why: 'account' (disabled or gone), 'institution' (disabled) or
-- 'certificate' (replaced). The daemon asks after a notification and after
-- re-subscribing, to catch a connection that was authenticating while the
-- change committed, or a notification lost with a database connection. (A
-- role or institution changed under a live connection is cut by the
-- trigger's notification alone.)
CREATE FUNCTION admin_sweep(p_accounts bigint[], p_fingerprints text[])
    RETURNS TABLE (pos bigint, reason text)
    LANGUAGE sql STABLE AS $$
    SELECT c.pos,
           CASE WHEN a.id IS NULL OR NOT a.enabled THEN 'account'
                WHEN NOT i.enabled THEN 'institution'
                ELSE 'certificate' END
      FROM unnest(p_accounts, p_fingerprints) WITH ORDINALITY
           AS c(account_id, fingerprint, pos)
      LEFT JOIN account a ON a.id = c.account_id
      LEFT JOIN institution i ON i.id = a.institution_id
     WHERE a.id IS NULL OR NOT a.enabled OR NOT i.enabled
        OR a.cert_fingerprint IS DISTINCT FROM c.fingerprint
$$;

-- ---- institutions ---------------------------------------------------------

-- A new institution (enabled). The daemon has checked every shape; an
-- existing code is MG409 on "code". Returns its id.
CREATE FUNCTION admin_institution_add(p_code text, p_name text, p_kind text,
                                      p_departement text, p_contact text)
    RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO institution (code, name, kind, departement, contact)
    VALUES (p_code, p_name, p_kind, p_departement, nullif(p_contact, ''))
    ON CONFLICT (code) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'an institution with this code exists'
            USING ERRCODE = 'MG409', CONSTRAINT = 'code';
    END IF;
    RETURN v_id;
END;
$$;

-- Enable or disable institution p_code on behalf of an admin of
-- institution p_caller_institution, who may not disable their own (MG409
-- on "code"). MG404 on "code" if there is none. Returns whether the state
-- changed; disabling again is no error (and announces again).
CREATE FUNCTION admin_institution_set(p_code text, p_enabled boolean,
                                      p_caller_institution bigint)
    RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
    v_id      bigint;
    v_enabled boolean;
BEGIN
    SELECT id, enabled INTO v_id, v_enabled
      FROM institution WHERE code = p_code FOR UPDATE;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'no institution with this code'
            USING ERRCODE = 'MG404', CONSTRAINT = 'code';
    END IF;
    IF NOT p_enabled AND v_id = p_caller_institution THEN
        RAISE EXCEPTION 'an administrator cannot disable their own '
                        'institution: ask another administrator'
            USING ERRCODE = 'MG409', CONSTRAINT = 'code';
    END IF;
    IF v_enabled = p_enabled AND p_enabled THEN
        RETURN false;
    END IF;
    UPDATE institution SET enabled = p_enabled, updated_at = now()
     WHERE id = v_id;
    RETURN v_enabled IS DISTINCT FROM p_enabled;
END;
$$;

-- ---- accounts -----------------------------------------------------------------

-- The unique violations of account, as typed errors on the request field.
CREATE FUNCTION admin_account_conflict(p_constraint text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF p_constraint = 'account_login_key' THEN
        RAISE EXCEPTION 'an account with this login exists'
            USING ERRCODE = 'MG409', CONSTRAINT = 'login';
    END IF;
    RAISE EXCEPTION 'this certificate is already bound to an account'
        USING ERRCODE = 'MG409', CONSTRAINT = 'cert';
END;
$$;

-- A new account (enabled) of institution p_institution, bound to the
-- certificate whose fingerprint the daemon computed. MG404 on
-- "institution"; MG409 on "login" (taken) or "cert" (bound to an account).
CREATE FUNCTION admin_account_add(p_login text, p_institution text,
                                  p_role text, p_fingerprint text,
                                  p_not_after timestamptz,
                                  p_display_name text)
    RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    v_inst bigint;
    v_id   bigint;
    v_constraint text;
BEGIN
    SELECT id INTO v_inst FROM institution WHERE code = p_institution;
    IF v_inst IS NULL THEN
        RAISE EXCEPTION 'no institution with this code'
            USING ERRCODE = 'MG404', CONSTRAINT = 'institution';
    END IF;
    IF EXISTS (SELECT 1 FROM account WHERE login = p_login) THEN
        PERFORM admin_account_conflict('account_login_key');
    END IF;
    IF EXISTS (SELECT 1 FROM account
                WHERE cert_fingerprint = p_fingerprint) THEN
        PERFORM admin_account_conflict('account_cert_fingerprint_key');
    END IF;
    BEGIN
        INSERT INTO account (login, institution_id, role, cert_fingerprint,
                             cert_not_after, display_name)
        VALUES (p_login, v_inst, p_role, p_fingerprint, p_not_after,
                nullif(p_display_name, ''))
        RETURNING id INTO v_id;
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        PERFORM admin_account_conflict(v_constraint);
    END;
    RETURN v_id;
END;
$$;

-- Enable or disable account p_login on behalf of admin p_caller, who may
-- not disable their own (MG409 on "login"). MG404 on "login". Returns
-- whether the state changed; disabling again announces again.
CREATE FUNCTION admin_account_set(p_login text, p_enabled boolean,
                                  p_caller bigint)
    RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
    v_id      bigint;
    v_enabled boolean;
BEGIN
    SELECT id, enabled INTO v_id, v_enabled
      FROM account WHERE login = p_login FOR UPDATE;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'no account with this login'
            USING ERRCODE = 'MG404', CONSTRAINT = 'login';
    END IF;
    IF NOT p_enabled AND v_id = p_caller THEN
        RAISE EXCEPTION 'an administrator cannot disable their own '
                        'account: ask another administrator'
            USING ERRCODE = 'MG409', CONSTRAINT = 'login';
    END IF;
    IF v_enabled = p_enabled AND p_enabled THEN
        RETURN false;
    END IF;
    UPDATE account SET enabled = p_enabled, updated_at = now()
     WHERE id = v_id;
    RETURN v_enabled IS DISTINCT FROM p_enabled;
END;
$$;

-- Bind account p_login to another certificate on behalf of admin p_caller
-- (not their own: MG409 on "login", their connection would be cut before
-- the answer). MG404 on "login"; MG409 on "cert" when it is the account's
-- certificate already or bound to another account.
CREATE FUNCTION admin_account_rotate(p_login text, p_fingerprint text,
                                     p_not_after timestamptz, p_caller bigint)
    RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_fp text;
    v_constraint text;
BEGIN
    SELECT id, cert_fingerprint INTO v_id, v_fp
      FROM account WHERE login = p_login FOR UPDATE;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'no account with this login'
            USING ERRCODE = 'MG404', CONSTRAINT = 'login';
    END IF;
    IF v_id = p_caller THEN
        RAISE EXCEPTION 'an administrator cannot replace their own '
                        'certificate: ask another administrator'
            USING ERRCODE = 'MG409', CONSTRAINT = 'login';
    END IF;
    IF v_fp = p_fingerprint THEN
        RAISE EXCEPTION 'the account is already bound to this certificate'
            USING ERRCODE = 'MG409', CONSTRAINT = 'cert';
    END IF;
    BEGIN
        UPDATE account SET cert_fingerprint = p_fingerprint,
                           cert_not_after = p_not_after, updated_at = now()
         WHERE id = v_id;
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        PERFORM admin_account_conflict(v_constraint);
    END;
END;
$$;

-- MG404 on "institution" when no institution has code p_code (the filter
-- of an account list).
CREATE FUNCTION admin_institution_guard(p_code text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM institution WHERE code = p_code) THEN
        RAISE EXCEPTION 'no institution with this code'
            USING ERRCODE = 'MG404', CONSTRAINT = 'institution';
    END IF;
END;
$$;
