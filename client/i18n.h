/*
 * i18n: the languages of `maillage`. This module owns the gettext set-up
 * (locale from LANG/LC_ALL/LC_MESSAGES, the "maillage" text domain and
 * where its catalogues are found: $MAILLAGE_LOCALEDIR, else the installed
 * locale directory, else the build tree's), the _() and N_() markers every
 * user-facing message goes through, and the translated labels of the
 * values the protocol carries as codes: error codes, notice kinds,
 * indicator categories and strengths, urgencies, states. JSON output
 * never goes through here: it keeps the protocol's codes and names.
 */
#ifndef MAILLAGE_I18N_H
#define MAILLAGE_I18N_H

#include <libintl.h>

#define I18N_DOMAIN "maillage"

/* A message translated now, and one only marked for translation. */
#define _(s) gettext(s)
#define N_(s) s

/* Set the locale and bind the text domain; call first thing in main. */
void i18n_init(void);

/*
 * Whether the messages are in French: the language of indicator and
 * report labels when no --lang is given.
 */
int i18n_french(void);

/* A code of the protocol and its label (N_-marked), in a table ending
 * with a NULL code. */
struct i18n_label {
	const char *code;
	const char *label;
};

/* The translated label of `code` in `table`, or `code` itself. */
const char *i18n_label(const struct i18n_label *table, const char *code);

/* The notice kinds, in the order of the protocol's documentation. */
extern const struct i18n_label i18n_notice_kinds[];
/* Indicator categories and strengths. */
extern const struct i18n_label i18n_categories[];
extern const struct i18n_label i18n_strengths[];

/* Translated label of a notice kind ("referral": "orientation..."). */
const char *i18n_notice_kind(const char *kind);

/* What a server ErrorCode means, translated ("not found or not yours"). */
const char *i18n_error_code(int code);

#endif
