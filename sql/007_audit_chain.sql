-- 007_audit_chain: the tamper-evident audit trail (issue 6, audit part).
--
-- Requests keep writing audit_event exactly as before, in their own
-- transaction, and nothing here adds work to that path. A sealer in each
-- daemon (server/seal.c) reads the rows that are not sealed yet, in id
-- order, computes their SHA-256 hashes in C and appends them to audit_seal
-- through audit_seal_append(), one transaction per batch under an advisory
-- lock, so that one instance seals at a time and the chain has one order:
-- the seal order (a row that commits late with a lower id is sealed later).
-- Every so many rows or seconds, an instance that holds the signing key
-- also appends a checkpoint: the head of the chain signed with Ed25519.
-- The exact hashing and signing rules (what a third party needs to verify)
-- are in SECURITY.md, "Audit".
--
-- audit_seal, audit_checkpoint and audit_key are append-only like
-- audit_event; audit_seal_gap is the sealer's own book-keeping.

-- One row per sealed audit_event row, in chain order. leaf is the hash of
-- the row's canonical serialisation (format 1), hash chains it to prev (the
-- hash of seq - 1; 32 zero bytes for seq 1). audit_id has no foreign key on
-- purpose: a seal outlives a deleted row, which is how deletion shows.
-- sealed_at is informative (seal lag) and covered by no hash.
CREATE TABLE audit_seal (
    seq       bigint PRIMARY KEY CHECK (seq > 0),
    audit_id  bigint NOT NULL UNIQUE,
    format    smallint NOT NULL DEFAULT 1,
    leaf      bytea NOT NULL CHECK (length(leaf) = 32),
    hash      bytea NOT NULL CHECK (length(hash) = 32),
    prev      bytea NOT NULL CHECK (length(prev) = 32),
    sealed_at timestamptz NOT NULL DEFAULT now()
);

-- A signed head: the chain's hash at seq, when, the previous checkpoint's
-- seq (0 for the first) and the key that signed (key_id: SHA-256 of the raw
-- 32-byte Ed25519 public key, hex). instance is informative.
CREATE TABLE audit_checkpoint (
    seq       bigint PRIMARY KEY CHECK (seq > 0),
    head      bytea NOT NULL CHECK (length(head) = 32),
    at        timestamptz NOT NULL,
    previous  bigint NOT NULL CHECK (previous >= 0 AND previous < seq),
    key_id    text NOT NULL CHECK (key_id ~ '^[0-9a-f]{64}$'),
    signature bytea NOT NULL CHECK (length(signature) = 64),
    instance  text
);

-- The public keys that signed checkpoints (PEM SubjectPublicKeyInfo), as
-- each daemon announced its own at start. Informative: a verifier trusts
-- the key it is given out of band, not this table.
CREATE TABLE audit_key (
    key_id     text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{64}$'),
    public_key text NOT NULL CHECK (length(public_key) <= 1024),
    first_seen timestamptz NOT NULL DEFAULT now(),
    instance   text
);

-- Ids the sealer found missing between rows it sealed: a transaction still
-- running (its row will commit late and be sealed then) or rolled back (the
-- id never appears). horizon is the snapshot xmax noted two seconds after
-- the gap was seen; once every transaction older than it has ended, the id
-- can no longer appear and the gap is dropped. A verifier treats a row
-- with an id below the sealed range, not sealed and not listed here, as
-- inserted behind the sealer's back.
CREATE TABLE audit_seal_gap (
    audit_id bigint PRIMARY KEY,
    seen_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    horizon  xid8
);

-- Actions that read a case's content, for `audit who-read`. Later
-- migrations add theirs (an audited event delivery, for instance).
CREATE TABLE audit_read_action (
    action text PRIMARY KEY CHECK (action ~ '^[a-z_.]{1,64}$')
);

INSERT INTO audit_read_action (action) VALUES ('case.show');

-- who-read and `audit log --case` look rows up by case.
CREATE INDEX audit_event_case_idx ON audit_event (case_id, id)
    WHERE case_id IS NOT NULL;

CREATE FUNCTION audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_seal_no_update BEFORE UPDATE OR DELETE ON audit_seal
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_seal_no_truncate BEFORE TRUNCATE ON audit_seal
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE OR DELETE
    ON audit_checkpoint FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE
    ON audit_checkpoint FOR EACH STATEMENT
    EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_key_no_update BEFORE UPDATE OR DELETE ON audit_key
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_key_no_truncate BEFORE TRUNCATE ON audit_key
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- Append one batch to the chain. The sealer read the head (p_head_seq,
-- p_head_hash; 0 and NULL for an empty chain) and the last checkpoint's seq
-- (p_last_cp), computed the leaves and hashes of p_ids in C (32 bytes each,
-- concatenated in p_leaves and p_hashes) and found p_gaps missing. Under the
-- advisory lock (one sealer at a time across instances) the head and the
-- last checkpoint are checked again: if another instance moved them, nothing
-- is written ('stale') and the sealer reads again. The optional checkpoint
-- (p_cp_* non-NULL) must cover the new head. Gaps are aged and dropped here
-- too. Returns the status ('ok', 'busy', 'stale'), the rows sealed and the
-- gaps dropped.
CREATE FUNCTION audit_seal_append(
    p_head_seq bigint, p_head_hash bytea, p_last_cp bigint,
    p_ids bigint[], p_leaves bytea, p_hashes bytea, p_gaps bigint[],
    p_cp_at timestamptz, p_cp_key text, p_cp_sig bytea, p_instance text,
    OUT status text, OUT sealed integer, OUT expired integer)
    LANGUAGE plpgsql AS $$
DECLARE
    cur_seq  bigint;
    cur_hash bytea;
    cur_cp   bigint;
    n        integer := coalesce(cardinality(p_ids), 0);
    zero     bytea := decode(repeat('00', 32), 'hex');
BEGIN
    sealed := 0;
    expired := 0;
    -- 'maillage' 'seal': one sealer at a time, whichever instance.
    IF NOT pg_try_advisory_xact_lock(1835100524, 1936024940) THEN
        status := 'busy';
        RETURN;
    END IF;
    SELECT s.seq, s.hash INTO cur_seq, cur_hash
        FROM audit_seal s ORDER BY s.seq DESC LIMIT 1;
    SELECT coalesce(max(c.seq), 0) INTO cur_cp FROM audit_checkpoint c;
    IF coalesce(cur_seq, 0) <> p_head_seq
       OR cur_hash IS DISTINCT FROM p_head_hash
       OR cur_cp <> p_last_cp THEN
        status := 'stale';
        RETURN;
    END IF;
    IF length(coalesce(p_leaves, '')) <> 32 * n
       OR length(coalesce(p_hashes, '')) <> 32 * n THEN
        RAISE EXCEPTION 'audit_seal_append: % ids, % leaf bytes, % hash bytes',
            n, length(p_leaves), length(p_hashes);
    END IF;

    IF n > 0 THEN
        INSERT INTO audit_seal (seq, audit_id, leaf, hash, prev)
        SELECT p_head_seq + u.o, u.id,
               substring(p_leaves FROM (u.o::integer - 1) * 32 + 1 FOR 32),
               substring(p_hashes FROM (u.o::integer - 1) * 32 + 1 FOR 32),
               CASE WHEN u.o = 1 THEN coalesce(p_head_hash, zero)
                    ELSE substring(p_hashes
                                   FROM (u.o::integer - 2) * 32 + 1 FOR 32)
               END
          FROM unnest(p_ids) WITH ORDINALITY AS u (id, o)
         ORDER BY u.o;
        sealed := n;
        DELETE FROM audit_seal_gap WHERE audit_id = ANY (p_ids);
    END IF;

    IF cardinality(p_gaps) > 0 THEN
        INSERT INTO audit_seal_gap (audit_id)
        SELECT g FROM unnest(p_gaps) AS g
        ON CONFLICT (audit_id) DO NOTHING;
    END IF;
    UPDATE audit_seal_gap SET horizon = pg_snapshot_xmax(pg_current_snapshot())
     WHERE horizon IS NULL AND seen_at < clock_timestamp() - interval '2 seconds';
    DELETE FROM audit_seal_gap
     WHERE horizon IS NOT NULL
       AND horizon < pg_snapshot_xmin(pg_current_snapshot());
    GET DIAGNOSTICS expired = ROW_COUNT;

    IF p_cp_sig IS NOT NULL THEN
        INSERT INTO audit_checkpoint (seq, head, at, previous, key_id,
                                      signature, instance)
        VALUES (p_head_seq + n,
                CASE WHEN n = 0 THEN p_head_hash
                     ELSE substring(p_hashes FROM (n - 1) * 32 + 1 FOR 32) END,
                p_cp_at, p_last_cp, p_cp_key, p_cp_sig, p_instance);
    END IF;
    status := 'ok';
END;
$$;
