-- pgbench reference "rows" (deploy/bench, BENCHMARKS.md): one notice per
-- transaction, written with plain INSERTs and nothing else: the notice, its
-- recipient and its audit record, into the maillage schema itself (so the
-- recipient's deferred event trigger writes its stream row at commit, as it
-- does for the daemon). The notice is added to a case made beforehand, one
-- per client (no two clients lock the same case row). This is the ceiling
-- for one notice per transaction on this cluster.
--
-- Variables (pgbench -D): sender_id sender_inst rcv_base nrcv case_base
-- person_base ncase body fp. Client i writes to recipient rcv_base + i % nrcv,
-- like maillage-bench's client i.
\set r :rcv_base + :client_id % :nrcv
\set c :case_base + :client_id % :ncase
\set p :person_base + :client_id % :ncase
\set k random(1, 1000000000000000)
BEGIN;
INSERT INTO notice (case_id, person_id, sender_account_id,
    sender_institution_id, idempotency_key, kind, urgency, visibility, basis,
    body)
VALUES (:c, :p, :sender_id, :sender_inst,
    'pgb-' || :client_id::text || '-' || :k::text, 'referral', 'normal',
    'general', 'secret_partage', :body);
INSERT INTO notice_recipient (notice_id, institution_id)
VALUES (currval('notice_id_seq'), :r);
INSERT INTO audit_event (account_id, login, institution_code, role, action,
    outcome, error_code, peer, request_id, instance, cert_fingerprint,
    case_id, notice_id, person_id)
VALUES (:sender_id, 'bsend0', 'bsrc', 'partner', 'notice.send', 'ok', NULL,
    '127.0.0.1:40000', :k, 'pgbench', :fp, :c, currval('notice_id_seq'), :p);
END;
