-- pgbench reference "daemon SQL" (deploy/bench, BENCHMARKS.md): the
-- statements maillaged runs for one NoticeSend about a new person, without
-- the daemon: the facts job (four reads in one pipeline, one implicit
-- transaction) then the write job (notice_send_tx and the audit record in
-- one statement). Copied from server/notice.c (notice_facts_*_sql,
-- notice_send_sql): keep in step with it. Two differences: the ids the
-- daemon draws in its facts job (nextval) are drawn inside the write
-- statement (pgbench cannot carry a result out of a pipeline), and the
-- sealed texts are bytes of the sealed length (text + 28), not AES-GCM
-- output. The identity-matching statements the daemon adds to the write
-- job when a notice names a person (identity_encoding_put,
-- identity_candidates) are not here.
--
-- Variables (pgbench -D): sender_id rcv_base nrcv body fp. Client i writes
-- to the institution "brcv" || (i % nrcv), whose id is rcv_base + i % nrcv,
-- like maillage-bench's client i.
\set rr :client_id % :nrcv
\set r :rcv_base + :rr
\set k random(1, 1000000000000000)
\startpipeline
SELECT t.code, i.id, i.kind, i.enabled
  FROM unnest(ARRAY['brcv' || :rr::text]) WITH ORDINALITY AS t(code, n)
  LEFT JOIN institution i ON i.code = t.code ORDER BY t.n;
SELECT t.code, d.code IS NULL
  FROM unnest('{}'::text[]) WITH ORDINALITY AS t(code, n)
  LEFT JOIN indicator d ON d.code = t.code
 WHERE d.code IS NULL OR d.retired ORDER BY t.n LIMIT 1;
SELECT p.id, CASE WHEN oc.id IS NOT NULL THEN EXISTS (SELECT 1
    FROM case_party cp WHERE cp.case_id = oc.id
    AND cp.institution_id = a.institution_id)
    ELSE EXISTS (SELECT 1 FROM case_file cf
    JOIN case_party cp ON cp.case_id = cf.id
    WHERE cf.person_id = p.id AND cp.institution_id = a.institution_id)
    END, oc.id, oc.lead_institution_id
  FROM person p JOIN account a ON a.id = :sender_id::bigint
  LEFT JOIN case_file oc ON oc.person_id = p.id AND oc.status = 'open'
 WHERE p.id = 0::bigint;
SELECT n.id, n.case_id, n.person_id FROM notice n
 WHERE n.sender_account_id = :sender_id::bigint
   AND n.idempotency_key = 'pgt-' || :client_id::text || '-' || :k::text;
\endpipeline
WITH r AS (SELECT * FROM notice_send_tx(nextval('notice_id_seq'),
    nextval('identity_assertion_id_seq'), :sender_id::bigint,
    'pgt-' || :client_id::text || '-' || :k::text, NULL::bigint, 'referral',
    'normal', 'general', 'secret_partage', NULL::boolean, NULL::bytea,
    convert_to(:body || '0123456789abcdef0123456789ab', 'UTF8'),
    ARRAY[:r::bigint], '{}'::text[], true, NULL::bigint, true,
    convert_to('Bench0123456789abcdef0123456789ab', 'UTF8'),
    convert_to('Pgbench' || :k::text || '0123456789abcdef0123456789ab',
               'UTF8'),
    convert_to('2010-050123456789abcdef0123456789ab', 'UTF8'),
    NULL::smallint, NULL::date, 'F', 'FR', '{fr}'::text[],
    convert_to('Gare du Nord0123456789abcdef0123456789ab', 'UTF8'))),
 a AS (INSERT INTO audit_event (account_id, login, institution_code,
    role, action, outcome, error_code, peer, request_id, instance,
    cert_fingerprint, case_id, notice_id, person_id)
    SELECT :sender_id::bigint, 'bsend0', 'bsrc', 'partner', 'notice.send',
    'ok', NULL, '127.0.0.1:40000', :k::bigint, 'pgbench', :fp, r.case_id,
    r.notice_id, r.person_id FROM r)
SELECT notice_id, case_id, person_id, replayed, new_case, new_person FROM r;
