-- 001_foundation: institutions of the network, the accounts that act for them
-- (each bound to one client certificate by its SHA-256 fingerprint), and the
-- append-only audit trail of every request.

CREATE TABLE institution (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9_-]{2,32}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('association', 'child_welfare',
                    'youth_justice', 'police', 'gendarmerie', 'court',
                    'lawyer', 'health', 'education', 'other')),
    departement text NOT NULL CHECK (departement ~ '^([0-9]{2,3}|2A|2B)$'),
    contact     text CHECK (length(contact) <= 200),
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE account (
    id               bigserial PRIMARY KEY,
    login            text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9._-]{2,64}$'),
    institution_id   bigint NOT NULL REFERENCES institution (id),
    role             text NOT NULL CHECK (role IN ('partner', 'coordinator',
                         'auditor', 'admin')),
    cert_fingerprint text NOT NULL UNIQUE CHECK (cert_fingerprint ~ '^[0-9a-f]{64}$'),
    display_name     text CHECK (length(display_name) <= 200),
    enabled          boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX account_institution_idx ON account (institution_id);

-- One row per request, accepted or refused, written in the same transaction
-- as the request's effect. No names and no free text: identifiers, codes and
-- outcomes only.
CREATE TABLE audit_event (
    id               bigserial PRIMARY KEY,
    at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    account_id       bigint REFERENCES account (id),
    login            text,
    institution_code text,
    role             text,
    action           text NOT NULL CHECK (action ~ '^[a-z_.]{1,64}$'),
    outcome          text NOT NULL CHECK (outcome IN ('ok', 'refused', 'error')),
    error_code       text,
    peer             text,
    request_id       bigint,
    instance         text,
    cert_fingerprint text CHECK (cert_fingerprint ~ '^[0-9a-f]{64}$'),
    case_id          bigint,
    notice_id        bigint,
    person_id        bigint
);

CREATE INDEX audit_event_at_idx ON audit_event (at);
CREATE INDEX audit_event_account_idx ON audit_event (account_id, at);

-- The audit trail is append-only: no row is ever changed or removed through
-- SQL, whoever asks (a superuser can still disable triggers: the hash chain of
-- a later migration makes that evident).
CREATE FUNCTION audit_event_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only'
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
