/*
 * i18n: locale, text domain and the translated labels of protocol codes;
 * see i18n.h for what this module owns.
 */
#include "i18n.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "maillage.pb-c.h"

#ifndef MAILLAGE_LOCALEDIR
#define MAILLAGE_LOCALEDIR "/usr/local/share/locale"
#endif

#ifdef MAILLAGE_BUILD_LOCALEDIR
/* Whether `dir` holds a French catalogue of the domain. */
static int i18n_has_catalogue(const char *dir)
{
	char path[4096];
	struct stat st;

	if (strlen(dir) > sizeof(path) - 64)
		return 0;
	strcpy(path, dir);
	strcat(path, "/fr/LC_MESSAGES/" I18N_DOMAIN ".mo");
	return stat(path, &st) == 0;
}
#endif

void i18n_init(void)
{
	const char *dir = getenv("MAILLAGE_LOCALEDIR");

	setlocale(LC_ALL, "");
	if (dir == NULL || dir[0] == '\0') {
		dir = MAILLAGE_LOCALEDIR;
#ifdef MAILLAGE_BUILD_LOCALEDIR
		/* Run from the build tree, before any installation. */
		if (!i18n_has_catalogue(dir) &&
		    i18n_has_catalogue(MAILLAGE_BUILD_LOCALEDIR))
			dir = MAILLAGE_BUILD_LOCALEDIR;
#endif
	}
	bindtextdomain(I18N_DOMAIN, dir);
	textdomain(I18N_DOMAIN);
}

int i18n_french(void)
{
	/*
	 * TRANSLATORS: the two-letter code of the language of this
	 * catalogue (en, fr): it picks the language of the indicator labels.
	 */
	return strcmp(_("language-code:en"), "language-code:fr") == 0;
}

const char *i18n_label(const struct i18n_label *table, const char *code)
{
	size_t i;

	if (code == NULL)
		return "";
	for (i = 0; table[i].code != NULL; i++)
		if (strcmp(table[i].code, code) == 0)
			return _(table[i].label);
	return code;
}

const struct i18n_label i18n_notice_kinds[] = {
	{"sighting", N_("sighting (repérage)")},
	{"information_preoccupante",
	 N_("information préoccupante (to the CRIP)")},
	{"signalement", N_("signalement (to the public prosecutor)")},
	{"referral", N_("referral, request for support")},
	{"runaway", N_("runaway alert")},
	{"shelter", N_("shelter placement")},
	{"hearing", N_("hearing")},
	{"court_decision", N_("court decision")},
	{"followup", N_("follow-up note")},
	{"closure", N_("closure")},
	{NULL, NULL},
};

const struct i18n_label i18n_categories[] = {
	{"recruitment", N_("Recruitment")},
	{"control", N_("Signs of control")},
	{"forced_offending", N_("Exploitation in offending")},
	{"forced_begging", N_("Forced begging")},
	{"labour_exploitation", N_("Labour exploitation")},
	{"sexual_exploitation", N_("Sexual exploitation")},
	{"mobility", N_("Mobility")},
	{"identity", N_("Age or identity doubts")},
	{"living_conditions", N_("Living conditions, health and danger")},
	{"attitude", N_("Attitude and account")},
	{NULL, NULL},
};

const struct i18n_label i18n_strengths[] = {
	{"strong", N_("strong")},
	{"medium", N_("medium")},
	{"weak", N_("weak")},
	{NULL, NULL},
};

const char *i18n_notice_kind(const char *kind)
{
	return i18n_label(i18n_notice_kinds, kind);
}

const char *i18n_error_code(int code)
{
	switch (code) {
	case MAILLAGE__ERROR_CODE__BAD_REQUEST:
		return _("the request is not valid");
	case MAILLAGE__ERROR_CODE__UNAUTHENTICATED:
		return _("this certificate belongs to no enabled account");
	case MAILLAGE__ERROR_CODE__FORBIDDEN:
		return _("your role does not allow this");
	case MAILLAGE__ERROR_CODE__NOT_FOUND:
		return _("not found, or not visible to you");
	case MAILLAGE__ERROR_CODE__CONFLICT:
		return _("the current state does not allow this");
	case MAILLAGE__ERROR_CODE__UNAVAILABLE:
		return _("the service is unavailable; try again later");
	case MAILLAGE__ERROR_CODE__FRAME_TOO_LARGE:
		return _("the request is too large");
	case MAILLAGE__ERROR_CODE__PROTOCOL_ERROR:
		return _("protocol error");
	case MAILLAGE__ERROR_CODE__UNSUPPORTED_VERSION:
		return _("this version of maillage is not supported by the "
			 "server");
	case MAILLAGE__ERROR_CODE__INTERNAL:
		return _("internal error of the server");
	case MAILLAGE__ERROR_CODE__RATE_LIMITED:
		return _("too many requests; slow down");
	case MAILLAGE__ERROR_CODE__TIMEOUT:
		return _("the server took too long");
	default:
		return _("the server refused the request");
	}
}
