/*
 * casefile: the requests about joint follow-up cases: listing the cases the
 * caller may see, showing one (identities, parties, lead, and the timeline
 * of the notices the caller may read, with each recipient's state), and the
 * coordinators' changes (parties, lead, close, reopen) and protection status
 * changes. Every change and its case_event timeline entry and audit record
 * commit together.
 */
#ifndef MAILLAGE_CASEFILE_H
#define MAILLAGE_CASEFILE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "maillage.pb-c.h"

struct conn;
struct acl_policy;
struct acl_subject;

/*
 * The identity assertions as the case and person views read them (add the
 * WHERE): the columns casefile_identity_readable() and the views read, for
 * the caller's institution $2, the sealed details in columns 18 to 21.
 */
#define CASEFILE_IDENTITY_SELECT                                               \
	"SELECT ia.id, coalesce(ia.given_name, ''),"                           \
	" coalesce(ia.family_name, ''), coalesce(ia.birth_date, ''),"          \
	" coalesce(ia.declared_age, 0),"                                       \
	" coalesce(to_char(ia.age_declared_on, 'YYYY-MM-DD'), ''),"            \
	" coalesce(ia.sex, ''), coalesce(ia.nationality, ''),"                 \
	" array_to_string(ia.languages, ','), coalesce(ia.place_seen, ''),"    \
	" ai.code,"                                                            \
	" to_char(ia.asserted_at AT TIME ZONE 'UTC',"                          \
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                                  \
	" coalesce(ia.notice_id, 0), ia.institution_id,"                       \
	" coalesce(an.visibility, ''), coalesce(an.sender_institution_id, 0)," \
	" coalesce(EXISTS (SELECT 1 FROM case_party cp"                        \
	" WHERE cp.case_id = an.case_id AND cp.institution_id = $2::bigint),"  \
	" false),"                                                             \
	" coalesce(acf.lead_institution_id = $2::bigint, false),"              \
	" ia.given_name_enc, ia.family_name_enc, ia.birth_date_enc,"           \
	" ia.place_seen_enc"                                                   \
	" FROM identity_assertion ia"                                          \
	" JOIN institution ai ON ai.id = ia.institution_id"                    \
	" LEFT JOIN notice an ON an.id = ia.notice_id"                         \
	" LEFT JOIN case_file acf ON acf.id = an.case_id"

/*
 * May the caller (`subject`, of institution `inst`) read identity row `i`
 * of a CASEFILE_IDENTITY_SELECT result? When its institution asserted it,
 * or it came with a notice the caller may read in a case it may see.
 */
int casefile_identity_readable(const struct acl_policy *p,
			       const struct acl_subject *subject, int64_t inst,
			       const PGresult *res, int i);

void casefile_list(struct conn *c, const Maillage__Envelope *env);
void casefile_show(struct conn *c, const Maillage__Envelope *env);
void casefile_party(struct conn *c, const Maillage__Envelope *env);
void casefile_lead(struct conn *c, const Maillage__Envelope *env);
void casefile_close(struct conn *c, const Maillage__Envelope *env);
void casefile_reopen(struct conn *c, const Maillage__Envelope *env);
void casefile_status(struct conn *c, const Maillage__Envelope *env);

#endif
