/*
 * gen_frame_corpus: write seed inputs for fuzz_frame into DIR.
 *
 *   gen_frame_corpus DIR
 *
 * For every member of the Envelope's oneof (requests, responses, events,
 * errors; found through the protobuf-c descriptor, so that a request added
 * to maillage.proto gets seeds without touching this file) it writes:
 *   body-NAME-empty   an Envelope with only that member set, all defaults;
 *   body-NAME-full    the member with every field filled with a plausible
 *                     value chosen from the field's name (a date for
 *                     *_date, an institution code for `to`, ...), repeated
 *                     fields with two elements, nested messages filled;
 *   frame-NAME        the full body behind its 4-byte header, followed by
 *                     the empty one (a stream of two frames).
 * Then a few hand-made edge cases (empty and oversized headers, a truncated
 * body, an unknown field, a field repeated to test the decode budget).
 * File names are stable, so a rerun overwrites rather than adds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static const char *gen_dir;

/* Every block of a message tree is kept on a list, freed by gen_free_all(). */
union gen_block {
	union gen_block *next;
	max_align_t align;
};
static union gen_block *gen_blocks;

static void *gen_alloc(size_t n)
{
	union gen_block *b = calloc(1, sizeof(*b) + n);
	if (b == NULL) {
		fprintf(stderr, "gen_frame_corpus: out of memory\n");
		exit(1);
	}
	b->next = gen_blocks;
	gen_blocks = b;
	return b + 1;
}

static void gen_free_all(void)
{
	union gen_block *b;

	while ((b = gen_blocks) != NULL) {
		gen_blocks = b->next;
		free(b);
	}
}

static void gen_write(const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", gen_dir, name);
	f = fopen(path, "wb");
	if (f == NULL || (len > 0 && fwrite(buf, 1, len, f) != len) ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* A sample value for a string field, by the field's name. */
static const char *gen_string(const char *field, unsigned idx)
{
	static const char *const samples[][3] = {
		{"idempotency_key", "notice-2024-0001", "notice-2024-0002"},
		{"kind", "sighting", "referral"},
		{"to", "ase75", "pjj75"},
		{"institution", "ase75", "police75"},
		{"indicators", "DOCUMENTS_CONFISQUES", "HEBERGEMENT_PAR_TIERS"},
		{"languages", "fr", "ron"},
		{"nationality", "RO", "FR"},
		{"birth_date", "2009-02-28", "2010"},
		{"age_declared_on", "2024-02-29", "2024-03"},
		{"updated_since", "2024-02-29T10:15:00+01:00", "2024-01-01"},
		{"urgency", "urgent", "normal"},
		{"visibility", "social", "general"},
		{"state", "accepted", "received"},
		{"reason", "no_capacity", "other"},
		{"status", "open", "presumed_victim"},
		{"informed", "no", "yes"},
		{"sex", "F", "M"},
		{"category", "exploitation", ""},
		{"client_name", "maillage-cli/0.1", "fuzz/1"},
		{"given_name", "Ana-Maria", "Élodie"},
		{"family_name", "Popescu", "N'Diaye"},
		{"text", "Vue gare du Nord\nà 7 h, avec un adulte.",
		 "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80"},
	};
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		if (strcmp(samples[i][0], field) == 0)
			return samples[i][1 + idx % 2];
	if (strstr(field, "_at") != NULL || strcmp(field, "at") == 0 ||
	    strcmp(field, "since") == 0)
		return "2024-02-29T10:15:00Z";
	return idx % 2 ? "x" : "exemple";
}

static void gen_fill(ProtobufCMessage *m, int depth);

/* Store one value of field `f` at `p` (element `idx` of a repeated field). */
static void gen_value(const ProtobufCFieldDescriptor *f, void *p, unsigned idx,
		      int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		*(int32_t *)p = idx ? -7 : 3;
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*(uint32_t *)p = idx ? 1000 : 1;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		*(int64_t *)p = idx ? 1234567890123LL : 42;
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*(uint64_t *)p = idx ? 1u << 20 : 17;
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)p = 1.5f;
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)p = 2.25;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)p = 1;
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *e = f->descriptor;
		*(int *)p = e->n_values > 1 ? e->values[1].value
					    : e->values[0].value;
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		*(const char **)p = gen_string(f->name, idx);
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		b->data = (uint8_t *)"\x00\x01\xfe\xff payload";
		b->len = 12;
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *d = f->descriptor;
		ProtobufCMessage *sub = gen_alloc(d->sizeof_message);
		d->message_init(sub);
		if (depth < 4)
			gen_fill(sub, depth + 1);
		*(ProtobufCMessage **)p = sub;
		break;
	}
	}
}

static size_t gen_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

/* Fill every field of `m` except oneof members (left to the caller). */
static void gen_fill(ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned i;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *member = (char *)m + f->offset;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t sz = gen_size(f);
			char *arr = gen_alloc(2 * sz);
			gen_value(f, arr, 0, depth);
			gen_value(f, arr + sz, 1, depth);
			*(size_t *)((char *)m + f->quantifier_offset) = 2;
			*(void **)member = arr;
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
		    f->quantifier_offset != 0 &&
		    f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			*(protobuf_c_boolean *)((char *)m +
						f->quantifier_offset) = 1;
		gen_value(f, member, 0, depth);
	}
}

static void gen_envelope(const ProtobufCFieldDescriptor *body, int full,
			 uint8_t **out, size_t *out_len)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	const ProtobufCMessageDescriptor *d = body->descriptor;
	ProtobufCMessage *sub = gen_alloc(d->sizeof_message);

	d->message_init(sub);
	if (full)
		gen_fill(sub, 0);
	env.request_id = full ? 7 : 1;
	*(uint32_t *)((char *)&env + body->quantifier_offset) = body->id;
	*(ProtobufCMessage **)((char *)&env + body->offset) = sub;
	if (frame_encode(&env, FRAME_ABSOLUTE_MAX, out, out_len) != 0) {
		fprintf(stderr, "gen_frame_corpus: cannot encode %s\n",
			body->name);
		exit(1);
	}
}

static void gen_edge_cases(void)
{
	static const uint8_t empty_hdr[] = {0, 0, 0, 0};
	static const uint8_t huge_hdr[] = {0xff, 0xff, 0xff, 0xff, 0x08, 0x01};
	static const uint8_t max_plus_one[] = {0x00, 0x10, 0x00, 0x01, 0x08};
	static const uint8_t truncated[] = {0, 0, 0, 9, 0x08, 0x01, 0x52, 0x02};
	/* request_id 1, then field 1023 (unknown, length-delimited) */
	static const uint8_t unknown[] = {0x08, 0x01, 0xfa, 0x3f,
					  0x03, 'a',  'b',  'c'};
	/* request_id as a 10-byte varint: the canonical form is shorter */
	static const uint8_t long_varint[] = {0x08, 0x81, 0x80, 0x80,
					      0x80, 0x80, 0x80, 0x80,
					      0x80, 0x80, 0x00};
	uint8_t many[4 + 3 * 2000];
	size_t i, n = 0;

	gen_write("edge-empty-header", empty_hdr, sizeof(empty_hdr));
	gen_write("edge-huge-header", huge_hdr, sizeof(huge_hdr));
	gen_write("edge-max-plus-one", max_plus_one, sizeof(max_plus_one));
	gen_write("edge-truncated", truncated, sizeof(truncated));
	gen_write("edge-unknown-field", unknown, sizeof(unknown));
	gen_write("edge-long-varint", long_varint, sizeof(long_varint));
	/* NoticeSend (13) holding 1,000 empty `to` strings: 2 bytes of input
	 * per allocated pointer, which the decode budget must absorb. */
	many[n++] = 0x6a; /* field 13, length-delimited */
	many[n++] = 0xd0; /* length 2000 as a varint */
	many[n++] = 0x0f;
	for (i = 0; i < 1000; i++) {
		many[n++] = 0x1a; /* field 3 (to), length-delimited */
		many[n++] = 0x00;
	}
	gen_write("edge-many-recipients", many, n);
}

int main(int argc, char **argv)
{
	const ProtobufCMessageDescriptor *d = &maillage__envelope__descriptor;
	unsigned i, count = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_frame_corpus DIR\n");
		return 2;
	}
	gen_dir = argv[1];
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		uint8_t *full, *empty, *stream;
		size_t full_len, empty_len;
		char name[256];

		if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			continue;
		gen_envelope(f, 1, &full, &full_len);
		gen_envelope(f, 0, &empty, &empty_len);
		snprintf(name, sizeof(name), "body-%s-full", f->name);
		gen_write(name, full + FRAME_HEADER_LEN,
			  full_len - FRAME_HEADER_LEN);
		snprintf(name, sizeof(name), "body-%s-empty", f->name);
		gen_write(name, empty + FRAME_HEADER_LEN,
			  empty_len - FRAME_HEADER_LEN);
		gen_free_all();
		stream = gen_alloc(full_len + empty_len);
		memcpy(stream, full, full_len);
		memcpy(stream + full_len, empty, empty_len);
		snprintf(name, sizeof(name), "frame-%s", f->name);
		gen_write(name, stream, full_len + empty_len);
		free(full);
		free(empty);
		gen_free_all();
		count++;
	}
	gen_edge_cases();
	printf("gen_frame_corpus: %u message types, %u files in %s\n", count,
	       3 * count + 7, gen_dir);
	return 0;
}
