/*
 * cerr: typed client errors and exit codes; see cerr.h for what this module
 * owns.
 */
#include "cerr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cerr_set(struct cerr *e, enum cerr_kind kind, const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	e->code = 0;
	e->field[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

static void cerr_copy(char *dst, size_t size, const char *src)
{
	size_t n;

	if (src == NULL)
		src = "";
	n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void cerr_from_server(struct cerr *e, const Maillage__Error *pe)
{
	e->kind = CERR_SERVER;
	e->code = pe != NULL ? (int)pe->code : 0;
	cerr_copy(e->message, sizeof(e->message),
		  pe != NULL ? pe->message : NULL);
	cerr_copy(e->field, sizeof(e->field), pe != NULL ? pe->field : NULL);
}

int cerr_exit_code(const struct cerr *e)
{
	switch (e->kind) {
	case CERR_NONE:
		return MAILLAGE_EXIT_OK;
	case CERR_USAGE:
	case CERR_CONFIG:
		return MAILLAGE_EXIT_USAGE;
	case CERR_SERVER:
		if (e->code == MAILLAGE__ERROR_CODE__UNAVAILABLE ||
		    e->code == MAILLAGE__ERROR_CODE__TIMEOUT)
			return MAILLAGE_EXIT_UNAVAILABLE;
		return MAILLAGE_EXIT_REFUSED;
	case CERR_LOCAL:
	case CERR_NETWORK:
	case CERR_TIMEOUT:
	case CERR_TLS:
	case CERR_CERT_REFUSED:
	case CERR_PROTOCOL:
	default:
		return MAILLAGE_EXIT_UNAVAILABLE;
	}
}

const char *cerr_code_name(int code)
{
	const ProtobufCEnumValue *v;

	v = protobuf_c_enum_descriptor_get_value(
		&maillage__error_code__descriptor, code);
	return v != NULL ? v->name : "UNKNOWN";
}
