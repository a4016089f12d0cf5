-- Identity search with a bounded cost. A search used to read every stored
-- identity sharing any of its blocking keys (each key held by at most 2000
-- identities), so a query made of several common keys read tens of
-- thousands of index entries. It now reads its keys rarest first and stops
-- taking keys once the entries already taken reach 3000: the rare keys (a
-- full birth date with a name, a Bloom-filter band, a rare name) are the
-- ones a true match shares, the common ones mostly add namesakes. Keys held
-- by more than 2000 identities are still skipped, and the first key is
-- always read. The counts are identity_block_count's (sql/012), refreshed
-- every half minute; a key not counted yet counts as rare. In PL/pgSQL,
-- whose statements keep their plans for the session: a LANGUAGE sql
-- function that is not inlined plans its body at every call (1.5 ms here,
-- a quarter of a search).

CREATE OR REPLACE FUNCTION identity_candidates(p_keys bigint[],
                                               p_not_person bigint,
                                               p_inst bigint,
                                               p_sees_all boolean,
                                               p_limit integer)
    RETURNS TABLE (identity_id bigint, person_id bigint, rec bytea,
                   visible boolean, open_case_id bigint,
                   any_open_case_id bigint)
    LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH k AS (
        SELECT q.key, coalesce(n.n, 0) AS n
        FROM (SELECT DISTINCT u.key FROM unnest(p_keys) AS u(key)) q
        LEFT JOIN identity_block_count n ON n.key = q.key
    ), taken AS (
        SELECT s.key FROM (
            SELECT k.key, k.n,
                   sum(k.n) OVER (ORDER BY k.n, k.key
                                  ROWS UNBOUNDED PRECEDING) - k.n AS before
            FROM k WHERE k.n <= 2000) s
        WHERE s.before < 3000
    )
    SELECT c.identity_id, ie.person_id, ie.rec,
        p_sees_all OR EXISTS (SELECT 1 FROM case_file cf
            JOIN case_party cp ON cp.case_id = cf.id
            WHERE cf.person_id = ie.person_id AND cp.institution_id = p_inst),
        CASE WHEN p_sees_all OR EXISTS (SELECT 1 FROM case_party cp
                 WHERE cp.case_id = oc.id AND cp.institution_id = p_inst)
             THEN coalesce(oc.id, 0) ELSE 0 END,
        coalesce(oc.id, 0)
    FROM (SELECT b.identity_id, count(*) AS hits FROM identity_block b
          WHERE b.key IN (SELECT t.key FROM taken t)
          GROUP BY b.identity_id
          ORDER BY count(*) DESC, b.identity_id DESC
          LIMIT p_limit) c
    JOIN identity_encoding ie ON ie.identity_id = c.identity_id
    LEFT JOIN case_file oc ON oc.person_id = ie.person_id
                          AND oc.status = 'open'
    WHERE ie.person_id <> p_not_person
    ORDER BY c.hits DESC, c.identity_id DESC;
END;
$$;
