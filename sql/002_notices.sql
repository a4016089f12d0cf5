-- 002_notices: the young people (persons and the identities asserted about
-- them), joint follow-up cases and their parties, referral notices with their
-- recipients and acknowledgements, the reference list of trafficking
-- indicators, and the two need-to-know matrices the daemon's access module
-- reads (which visibility class each institution kind may read; which legal
-- basis may reach which institution kind).

-- ---- reference data ---------------------------------------------------

CREATE TABLE indicator_category (
    code     text PRIMARY KEY CHECK (code ~ '^[a-z_]{2,40}$'),
    label_fr text NOT NULL,
    label_en text NOT NULL
);

INSERT INTO indicator_category (code, label_fr, label_en) VALUES
    ('recruitment', 'Recrutement', 'Recruitment'),
    ('control', 'Signes de contrôle', 'Signs of control'),
    ('forced_offending', 'Exploitation dans la commission de délits', 'Exploitation in offending'),
    ('forced_begging', 'Mendicité forcée', 'Forced begging'),
    ('labour_exploitation', 'Exploitation par le travail', 'Labour exploitation'),
    ('sexual_exploitation', 'Exploitation sexuelle', 'Sexual exploitation'),
    ('mobility', 'Mobilité', 'Mobility'),
    ('identity', 'Doutes sur l''âge ou l''identité', 'Age or identity doubts'),
    ('living_conditions', 'Conditions de vie, santé et danger', 'Living conditions, health and danger'),
    ('attitude', 'Attitude et discours', 'Attitude and account');

-- The starting list (data/indicators, reviewed by the coordinating
-- association); later migrations add to it, codes are never reused.
CREATE TABLE indicator (
    code     text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]{1,39}$'),
    category text NOT NULL REFERENCES indicator_category (code),
    strength text NOT NULL CHECK (strength IN ('strong', 'medium', 'weak')),
    label_fr text NOT NULL,
    label_en text NOT NULL,
    retired  boolean NOT NULL DEFAULT false
);

INSERT INTO indicator (code, category, strength, label_fr, label_en) VALUES
    ('REC_DECEPTION', 'recruitment', 'medium', 'Venu en France sur une promesse (travail, études, vie meilleure) qui ne s''est pas réalisée', 'Came to France on a promise (work, school, a better life) that did not come true'),
    ('REC_DEBT', 'recruitment', 'strong', 'Doit rembourser une dette (voyage, logement, « protection ») à un tiers', 'Owes a debt (journey, lodging, ''protection'') to a third party'),
    ('REC_FAMILY_PRESSURE', 'recruitment', 'medium', 'Confié ou « vendu » par la famille à un adulte non apparenté', 'Entrusted or ''sold'' by the family to an unrelated adult'),
    ('REC_VULNERABILITY', 'recruitment', 'weak', 'Isolé, sans famille en France, ne parle pas français', 'Isolated, no family in France, does not speak French'),
    ('CTRL_ADULT_WATCH', 'control', 'strong', 'Accompagné, surveillé ou attendu par un ou plusieurs adultes pendant l''activité', 'Accompanied, watched or waited for by one or more adults during the activity'),
    ('CTRL_NO_EARNINGS', 'control', 'strong', 'Ne garde pas le produit des délits ou de l''activité ; doit remettre une somme fixée', 'Does not keep the proceeds; must hand over a set amount'),
    ('CTRL_QUOTA', 'control', 'strong', 'Doit atteindre un objectif quotidien sous peine de punition', 'Must reach a daily quota or be punished'),
    ('CTRL_DOCUMENTS', 'control', 'strong', 'Papiers d''identité confisqués ou détenus par un tiers', 'Identity papers confiscated or held by someone else'),
    ('CTRL_PHONE', 'control', 'medium', 'Téléphone fourni ou contrôlé par un tiers ; appels fréquents pendant l''entretien', 'Phone provided or controlled by someone else; frequent calls during the interview'),
    ('CTRL_THREATS_FAMILY', 'control', 'strong', 'Peur de représailles contre soi ou la famille restée au pays', 'Fear of reprisals against self or family back home'),
    ('CTRL_VIOLENCE', 'control', 'strong', 'Traces de violences, récentes ou répétées', 'Signs of violence, recent or repeated'),
    ('CTRL_SUBSTANCE', 'control', 'medium', 'Dépendance à des produits fournis par l''entourage', 'Dependence on substances supplied by those around the minor'),
    ('CTRL_ISOLATION', 'control', 'medium', 'Interdit de contact avec des personnes extérieures au groupe', 'Forbidden to contact people outside the group'),
    ('OFF_REPEAT', 'forced_offending', 'strong', 'Interpellations répétées pour des faits similaires (vols, pickpocket, recel, trafic)', 'Repeated arrests for similar offences (theft, pickpocketing, handling, drug selling)'),
    ('OFF_MULTI_CITY', 'forced_offending', 'strong', 'Interpellé dans plusieurs villes ou pays sur une courte période', 'Arrested in several cities or countries within a short time'),
    ('OFF_GROUP_PATTERN', 'forced_offending', 'medium', 'Agit en groupe organisé de mineurs avec un mode opératoire appris', 'Acts within an organised group of minors with a learnt method'),
    ('OFF_NIGHT', 'forced_offending', 'medium', 'Activité la nuit ou sur de longues plages horaires', 'Active at night or for very long hours'),
    ('OFF_STOLEN_VOLUME', 'forced_offending', 'medium', 'Quantités ou valeurs hors de proportion avec un usage personnel', 'Quantities or values out of proportion with personal use'),
    ('ID_MULTIPLE', 'identity', 'strong', 'Donne des identités ou des âges différents selon les interlocuteurs', 'Gives different names or ages to different interlocutors'),
    ('ID_REHEARSED', 'identity', 'medium', 'Récit stéréotypé, appris, identique à celui d''autres mineurs', 'Stereotyped, learnt story, the same as other minors'''),
    ('ID_AGE_DOUBT', 'identity', 'medium', 'Se déclare majeur alors qu''il paraît mineur (ou l''inverse sur consigne)', 'Claims to be an adult while appearing to be a minor (or the reverse, as instructed)'),
    ('ID_NO_DOCUMENTS', 'identity', 'weak', 'Aucun document d''identité ou documents manifestement faux', 'No identity document, or documents that are plainly false'),
    ('MOB_RUNAWAY', 'mobility', 'strong', 'Fugue rapide après une mise à l''abri ou un placement', 'Runs away soon after being sheltered or placed'),
    ('MOB_MOVED', 'mobility', 'medium', 'Déplacé fréquemment d''une ville à l''autre par l''entourage', 'Moved often from city to city by those around the minor'),
    ('MOB_UNKNOWN_ADDRESS', 'mobility', 'weak', 'Ne connaît pas son adresse ou vit dans un squat, un campement, un hôtel payé par un tiers', 'Does not know the address, or lives in a squat, camp or hotel paid by someone else'),
    ('LIFE_NO_SCHOOL', 'living_conditions', 'weak', 'Non scolarisé, sans formation', 'Not in school or training'),
    ('LIFE_HEALTH', 'living_conditions', 'medium', 'Problèmes de santé non soignés, épuisement, malnutrition', 'Untreated health problems, exhaustion, malnutrition'),
    ('LIFE_UNRELATED_ADULTS', 'living_conditions', 'medium', 'Vit avec des adultes sans lien de parenté établi', 'Lives with adults with no established family tie'),
    ('SEX_EXPLOIT', 'sexual_exploitation', 'strong', 'Signes d''exploitation sexuelle (rencontres organisées, cadeaux, hébergement contre services)', 'Signs of sexual exploitation (arranged meetings, gifts, lodging in exchange for services)'),
    ('BEG_FORCED', 'forced_begging', 'strong', 'Mendicité contrainte avec remise des gains', 'Forced begging with earnings handed over'),
    ('LAB_FORCED', 'labour_exploitation', 'strong', 'Travail non rémunéré ou sous contrainte (chantier, restauration, domicile)', 'Unpaid or forced work (building sites, restaurants, domestic)'),
    ('FEAR_AUTHORITIES', 'attitude', 'weak', 'Méfiance ou peur marquée envers la police et les institutions, consignée par l''entourage', 'Marked distrust or fear of police and institutions, instilled by those around the minor'),
    ('SELF_NOT_VICTIM', 'attitude', 'weak', 'Ne se reconnaît pas victime ; défend l''adulte qui l''exploite', 'Does not see himself or herself as a victim; defends the exploiting adult');

-- ---- need-to-know matrices ----------------------------------------------

-- Visibility classes of a notice. The author's institution always reads its
-- own notices; lead_reads lets the case's lead institution read the class
-- whatever its kind (health notices).
CREATE TABLE visibility_class (
    code       text PRIMARY KEY CHECK (code IN ('general', 'social', 'health', 'judicial')),
    lead_reads boolean NOT NULL DEFAULT false
);

INSERT INTO visibility_class (code, lead_reads) VALUES
    ('general', false), ('social', false), ('health', true), ('judicial', false);

-- A row allows the parties of that institution kind to read notices of that
-- visibility class. No row: not allowed.
CREATE TABLE visibility_rule (
    visibility       text NOT NULL REFERENCES visibility_class (code),
    institution_kind text NOT NULL CHECK (institution_kind IN ('association',
                         'child_welfare', 'youth_justice', 'police',
                         'gendarmerie', 'court', 'lawyer', 'health',
                         'education', 'other')),
    PRIMARY KEY (visibility, institution_kind)
);

INSERT INTO visibility_rule (visibility, institution_kind)
SELECT 'general', k FROM unnest(ARRAY['association', 'child_welfare',
    'youth_justice', 'police', 'gendarmerie', 'court', 'lawyer', 'health',
    'education', 'other']) AS k;
INSERT INTO visibility_rule (visibility, institution_kind) VALUES
    ('social', 'association'), ('social', 'child_welfare'),
    ('social', 'youth_justice'), ('social', 'court'),
    ('health', 'health'),
    ('judicial', 'police'), ('judicial', 'gendarmerie'),
    ('judicial', 'court'), ('judicial', 'youth_justice');

CREATE TABLE legal_basis (
    code text PRIMARY KEY CHECK (code IN ('secret_partage',
             'information_preoccupante', 'signalement', 'requisition',
             'consent'))
);

INSERT INTO legal_basis (code) VALUES ('secret_partage'),
    ('information_preoccupante'), ('signalement'), ('requisition'),
    ('consent');

-- A row allows a notice on that legal basis to be addressed to institutions
-- of that kind. Police and gendarmerie receive only signalement and
-- requisition notices.
CREATE TABLE basis_rule (
    basis            text NOT NULL REFERENCES legal_basis (code),
    institution_kind text NOT NULL CHECK (institution_kind IN ('association',
                         'child_welfare', 'youth_justice', 'police',
                         'gendarmerie', 'court', 'lawyer', 'health',
                         'education', 'other')),
    PRIMARY KEY (basis, institution_kind)
);

INSERT INTO basis_rule (basis, institution_kind) VALUES
    -- art. L226-2-2 CASF: professionals bound by secrecy who take part in
    -- the child's protection.
    ('secret_partage', 'association'), ('secret_partage', 'child_welfare'),
    ('secret_partage', 'youth_justice'), ('secret_partage', 'court'),
    ('secret_partage', 'health'), ('secret_partage', 'education'),
    -- art. L226-3 CASF: the département's intake (CRIP).
    ('information_preoccupante', 'child_welfare'),
    -- art. 40 CPP / L226-4 CASF: the prosecutor, copy to child welfare.
    ('signalement', 'court'), ('signalement', 'child_welfare'),
    ('signalement', 'police'), ('signalement', 'gendarmerie'),
    -- answer to a judicial requisition.
    ('requisition', 'police'), ('requisition', 'gendarmerie'),
    ('requisition', 'court'),
    -- the young person's (and where relevant the parents') consent.
    ('consent', 'association'), ('consent', 'child_welfare'),
    ('consent', 'youth_justice'), ('consent', 'court'),
    ('consent', 'lawyer'), ('consent', 'health'),
    ('consent', 'education'), ('consent', 'other');

-- ---- persons, identities, cases -----------------------------------------

-- A young person. Identity data live in identity_assertion, never here:
-- linking persons (a later migration) never rewrites what someone said.
CREATE TABLE person (
    id         bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Who said what of the person's identity, when and where.
CREATE TABLE identity_assertion (
    id              bigserial PRIMARY KEY,
    person_id       bigint NOT NULL REFERENCES person (id),
    notice_id       bigint,  -- set once the notice row exists (same transaction)
    institution_id  bigint NOT NULL REFERENCES institution (id),
    account_id      bigint NOT NULL REFERENCES account (id),
    asserted_at     timestamptz NOT NULL DEFAULT now(),
    given_name      text CHECK (length(given_name) <= 200),
    family_name     text CHECK (length(family_name) <= 200),
    birth_date      text CHECK (birth_date ~ '^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$'),
    declared_age    smallint CHECK (declared_age BETWEEN 0 AND 30),
    age_declared_on date,
    sex             text CHECK (sex IN ('F', 'M')),
    nationality     text CHECK (nationality ~ '^[A-Z]{2}$'),
    languages       text[] NOT NULL DEFAULT '{}',
    place_seen      text CHECK (length(place_seen) <= 200),
    CHECK (birth_date IS NULL OR declared_age IS NULL),
    CHECK ((declared_age IS NULL) = (age_declared_on IS NULL))
);

CREATE INDEX identity_assertion_person_idx ON identity_assertion (person_id);

CREATE TABLE case_file (
    id                  bigserial PRIMARY KEY,
    person_id           bigint NOT NULL REFERENCES person (id),
    status              text NOT NULL DEFAULT 'open'
                            CHECK (status IN ('open', 'closed')),
    protection_status   text NOT NULL DEFAULT 'spotted'
                            CHECK (protection_status IN ('spotted',
                                'presumed_victim', 'identified',
                                'not_a_victim')),
    lead_institution_id bigint REFERENCES institution (id),
    last_kind           text,
    last_urgency        text,
    opened_at           timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    closed_at           timestamptz,
    close_reason        text CHECK (length(close_reason) <= 2000),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

-- At most one open case per person: concurrent first notices about the
-- same person meet here and share one case.
CREATE UNIQUE INDEX case_file_one_open_idx ON case_file (person_id)
    WHERE status = 'open';
CREATE INDEX case_file_updated_idx ON case_file (updated_at);

CREATE TABLE case_party (
    case_id        bigint NOT NULL REFERENCES case_file (id),
    institution_id bigint NOT NULL REFERENCES institution (id),
    since          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, institution_id)
);

CREATE INDEX case_party_institution_idx ON case_party (institution_id);

-- ---- notices ------------------------------------------------------------

CREATE TABLE notice (
    id                    bigserial PRIMARY KEY,
    case_id               bigint NOT NULL REFERENCES case_file (id),
    person_id             bigint NOT NULL REFERENCES person (id),
    sender_account_id     bigint NOT NULL REFERENCES account (id),
    sender_institution_id bigint NOT NULL REFERENCES institution (id),
    idempotency_key       text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    kind                  text NOT NULL CHECK (kind IN ('sighting',
                              'information_preoccupante', 'signalement',
                              'referral', 'runaway', 'shelter', 'hearing',
                              'court_decision', 'followup', 'closure')),
    urgency               text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    visibility            text NOT NULL REFERENCES visibility_class (code),
    basis                 text NOT NULL REFERENCES legal_basis (code),
    informed              boolean,
    informed_note         text CHECK (length(informed_note) <= 2000),
    body                  text NOT NULL DEFAULT '',
    created_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sender_account_id, idempotency_key)
);

CREATE INDEX notice_case_idx ON notice (case_id, id);

ALTER TABLE identity_assertion
    ADD FOREIGN KEY (notice_id) REFERENCES notice (id);

CREATE TABLE notice_indicator (
    notice_id bigint NOT NULL REFERENCES notice (id),
    code      text NOT NULL REFERENCES indicator (code),
    PRIMARY KEY (notice_id, code)
);

-- Where each recipient stands: sent -> received -> read -> accepted |
-- declined -> ... Only forward: done may follow any state but declined
-- (a referral is normally accepted first); declined and done are final.
CREATE TABLE notice_recipient (
    notice_id      bigint NOT NULL REFERENCES notice (id),
    institution_id bigint NOT NULL REFERENCES institution (id),
    state          text NOT NULL DEFAULT 'sent' CHECK (state IN ('sent',
                       'received', 'read', 'accepted', 'declined', 'done')),
    reason         text CHECK (reason IN ('no_capacity', 'not_competent',
                       'already_followed', 'unable_to_contact', 'other',
                       'successful', 'unsuccessful')),
    note           text CHECK (length(note) <= 2000),
    acked_by       bigint REFERENCES account (id),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (notice_id, institution_id)
);

CREATE INDEX notice_recipient_inbox_idx
    ON notice_recipient (institution_id, notice_id);

-- The timeline of a case other than its notices.
CREATE TABLE case_event (
    id                bigserial PRIMARY KEY,
    case_id           bigint NOT NULL REFERENCES case_file (id),
    at                timestamptz NOT NULL DEFAULT now(),
    what              text NOT NULL CHECK (what IN ('opened', 'notice',
                          'party_added', 'party_removed', 'lead_set',
                          'closed', 'reopened', 'status', 'escalated')),
    by_account_id     bigint REFERENCES account (id),
    by_institution_id bigint REFERENCES institution (id),
    institution_id    bigint REFERENCES institution (id),
    status            text,
    note              text CHECK (length(note) <= 2000),
    indicators        text[] NOT NULL DEFAULT '{}',
    notice_id         bigint REFERENCES notice (id)
);

CREATE INDEX case_event_case_idx ON case_event (case_id, id);
