-- How common a name is, for the search's term-frequency weights. Every
-- stored identity holds, for each of its names, an 'S' blocking key of
-- that name's pronunciation (ident_block_keys), and identity_block_count
-- already counts the identities holding each key. What was missing is the
-- number of identities those counts are out of: identity_block_count_mark
-- now keeps it (counted), moved by identity_block_count_refresh() in the
-- same transaction as the counts, so the two always describe the same
-- identities. identity_name_counts() gives a search both at once, in one
-- statement of its job: the daemon weighs an agreement on "Mohamed" by
-- how many stored identities are so called, without reading them. No
-- name is stored or sent: the keys are HMACs under the matching secret.

ALTER TABLE identity_block_count_mark
    ADD COLUMN counted bigint NOT NULL DEFAULT 0;

-- The counts start again from the identities present, with the total:
-- retention may have removed identities since they were counted, and a
-- total of those present over counts of all those ever counted would make
-- every name look more common. From here on neither is lowered when
-- identities are removed, so both keep describing the same identities.
TRUNCATE identity_block_count;
INSERT INTO identity_block_count (key, n)
    SELECT b.key, count(*) FROM identity_block b
    WHERE b.identity_id <= (SELECT last_identity
                            FROM identity_block_count_mark)
    GROUP BY b.key;
UPDATE identity_block_count_mark
    SET counted = (SELECT count(*) FROM identity_encoding
                   WHERE identity_id <= last_identity);

CREATE OR REPLACE FUNCTION identity_block_count_refresh() RETURNS bigint
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
    UPDATE identity_block_count_mark
        SET last_identity = v_to,
            counted = counted + (SELECT count(*) FROM identity_encoding e
                                 WHERE e.identity_id > v_last
                                   AND e.identity_id <= v_to);
    RETURN v_n;
END;
$$;

-- The identities counted (ord 0), then for each key of p_keys that is
-- counted, its position in p_keys (from 1) and how many identities hold
-- it. Keys not counted (a name never stored, or stored since the last
-- refresh) have no row.
CREATE FUNCTION identity_name_counts(p_keys bigint[])
    RETURNS TABLE (ord bigint, n bigint)
    LANGUAGE sql STABLE AS $$
    SELECT 0::bigint, m.counted FROM identity_block_count_mark m
    UNION ALL
    SELECT u.ord, c.n
    FROM unnest(p_keys) WITH ORDINALITY AS u(key, ord)
    JOIN identity_block_count c ON c.key = u.key;
$$;
