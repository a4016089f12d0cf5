/*
 * fuzz_ident_csv: the CSV reader of maillage-link (ident/csv.c). The first
 * input byte chooses the record bound, the rest is the file. Checked:
 *   - ident_csv_next: every record has 1..IDENT_CSV_MAX_FIELDS fields whose
 *     bytes add up to at most the bound; record lines never go back; an
 *     error names the file and is final (the next call fails too);
 *   - round trip: the records read, written back with every field quoted,
 *     read again to the same records (and the same end);
 *   - ident_table_read on the same bytes (through a memory file): on
 *     success every row has a non-empty id, ids are unique, dates and
 *     nationalities are in range; on failure the message is set.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
				"fuzz_ident_csv: %s:%d: check failed: %s\n",   \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#define FUZZ_NAME "fuzz.csv"
/* Records kept for the round trip; inputs with more skip it. */
#define FUZZ_MAX_RECORDS 4096

/* The records of a file, fields NUL-separated, field counts apart. */
struct fuzz_records {
	char *bytes;
	size_t len, cap;
	size_t counts[FUZZ_MAX_RECORDS];
	size_t n;
	int end; /* 0 end of file, -1 error */
	int overflow;
};

static void fuzz_append(struct fuzz_records *r, const char *s, size_t n)
{
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;

		while (cap < r->len + n)
			cap *= 2;
		r->bytes = realloc(r->bytes, cap);
		FUZZ_CHECK(r->bytes != NULL);
		r->cap = cap;
	}
	memcpy(r->bytes + r->len, s, n);
	r->len += n;
}

static FILE *fuzz_open(const uint8_t *data, size_t size)
{
	/* fmemopen refuses an empty buffer */
	if (size == 0)
		return fopen("/dev/null", "rb");
	return fmemopen((void *)data, size, "rb");
}

/* Read all records of `data`, checking the reader's promises. */
static void fuzz_read(const uint8_t *data, size_t size, size_t max,
		      struct fuzz_records *out)
{
	FILE *f = fuzz_open(data, size);
	ident_csv *c;
	unsigned long last_line = 0;
	char **fields;
	size_t n, i;
	int r;

	FUZZ_CHECK(f != NULL);
	c = ident_csv_new(f, FUZZ_NAME, max);
	FUZZ_CHECK(c != NULL);
	while ((r = ident_csv_next(c, &fields, &n)) == 1) {
		FUZZ_CHECK(n >= 1 && n <= IDENT_CSV_MAX_FIELDS);
		FUZZ_CHECK(ident_csv_line(c) >= 1);
		FUZZ_CHECK(ident_csv_line(c) > last_line);
		last_line = ident_csv_line(c);
		size_t total = 0;
		for (i = 0; i < n; i++) {
			size_t flen = strlen(fields[i]);

			total += flen;
			if (!out->overflow)
				fuzz_append(out, fields[i], flen + 1);
		}
		FUZZ_CHECK(total <= max);
		if (out->n == FUZZ_MAX_RECORDS)
			out->overflow = 1;
		if (!out->overflow)
			out->counts[out->n++] = n;
	}
	FUZZ_CHECK(r == 0 || r == -1);
	out->end = r;
	if (r < 0) {
		const char *e = ident_csv_error(c);

		FUZZ_CHECK(e != NULL && strncmp(e, FUZZ_NAME ":",
						strlen(FUZZ_NAME) + 1) == 0);
		FUZZ_CHECK(ident_csv_next(c, &fields, &n) == -1);
	} else {
		FUZZ_CHECK(ident_csv_next(c, &fields, &n) == 0);
	}
	ident_csv_free(c);
	fclose(f);
}

/* The records written back as CSV, every field quoted, LF endings. */
static char *fuzz_write(const struct fuzz_records *r, size_t *len)
{
	struct fuzz_records w;
	const char *p = r->bytes;
	size_t i, k;

	memset(&w, 0, sizeof(w));
	for (i = 0; i < r->n; i++) {
		for (k = 0; k < r->counts[i]; k++) {
			size_t flen = strlen(p), j;

			fuzz_append(&w, k ? ",\"" : "\"", k ? 2 : 1);
			for (j = 0; j < flen; j++) {
				fuzz_append(&w, p + j, 1);
				if (p[j] == '"')
					fuzz_append(&w, "\"", 1);
			}
			fuzz_append(&w, "\"", 1);
			p += flen + 1;
		}
		fuzz_append(&w, "\n", 1);
	}
	*len = w.len;
	return w.bytes;
}

static void fuzz_round_trip(const struct fuzz_records *a, size_t max)
{
	struct fuzz_records *b;
	size_t len;
	char *text;

	if (a->overflow)
		return;
	text = fuzz_write(a, &len);
	b = calloc(1, sizeof(*b));
	FUZZ_CHECK(b != NULL);
	fuzz_read((const uint8_t *)text, len, max, b);
	FUZZ_CHECK(b->end == 0);
	FUZZ_CHECK(b->n == a->n);
	FUZZ_CHECK(b->len == a->len);
	FUZZ_CHECK(memcmp(b->counts, a->counts, a->n * sizeof(a->counts[0])) ==
		   0);
	FUZZ_CHECK(a->len == 0 || memcmp(b->bytes, a->bytes, a->len) == 0);
	free(b->bytes);
	free(b);
	free(text);
}

static void fuzz_table(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	ident_table t;
	int fd = memfd_create("fuzz_ident_csv", MFD_CLOEXEC);

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	if (ident_table_read(path, &t, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < t.n; i++) {
			const ident_row *row = &t.rows[i];

			FUZZ_CHECK(row->id != NULL && row->id[0] != '\0');
			FUZZ_CHECK(row->birth.year == 0 ||
				   (row->birth.year >= 1900 &&
				    row->birth.year <= 2100));
			FUZZ_CHECK(row->birth.month <= 12 &&
				   row->birth.day <= 31);
			FUZZ_CHECK(row->nationality == NULL ||
				   strlen(row->nationality) == 2);
			/* quadratic, but inputs are small */
			for (size_t j = 0; j < i && j < 512; j++)
				FUZZ_CHECK(strcmp(t.rows[j].id, row->id) != 0);
		}
		ident_table_free(&t);
	} else {
		FUZZ_CHECK(err[0] != '\0');
		ident_table_free(&t);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_records *a;
	size_t max;

	if (size == 0)
		return 0;
	/* bounds from 1 byte to a few KiB, and the default */
	max = data[0] == 0xff ? IDENT_CSV_MAX_RECORD : 1 + (size_t)data[0] * 16;
	a = calloc(1, sizeof(*a));
	FUZZ_CHECK(a != NULL);
	fuzz_read(data + 1, size - 1, max, a);
	fuzz_round_trip(a, max);
	free(a->bytes);
	free(a);
	fuzz_table(data + 1, size - 1);
	return 0;
}
