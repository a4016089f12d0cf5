/*
 * frame: the wire framing shared by maillaged and its clients. A frame is a
 * 4-byte big-endian body length followed by one serialized maillage.Envelope.
 * This module owns the header arithmetic (the announced length is judged
 * against the configured maximum before any body byte is awaited), the
 * encoding of an Envelope into one contiguous frame, and the byte-budgeted
 * decoding of a body: every allocation protobuf-c makes while unpacking is
 * charged against a budget proportional to the body size, so a small frame
 * cannot build a large tree. Pure C, no I/O.
 */
#ifndef MAILLAGE_FRAME_H
#define MAILLAGE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "maillage.pb-c.h"

#define FRAME_HEADER_LEN 4
#define FRAME_DEFAULT_MAX (1024u * 1024u)
/* Hard ceiling for any configured maximum (64 MiB). */
#define FRAME_ABSOLUTE_MAX (64u * 1024u * 1024u)

enum frame_status {
	FRAME_NEED_MORE = 0, /* fewer bytes than a whole frame available */
	FRAME_READY,	     /* a whole frame is available */
	FRAME_TOO_LARGE,     /* announced length exceeds the maximum */
	FRAME_EMPTY	     /* announced length is zero: never valid */
};

/*
 * Judge the bytes at the front of a stream. On FRAME_READY and
 * FRAME_NEED_MORE with a complete header, *body_len holds the announced
 * length; on FRAME_TOO_LARGE it holds it too (for logging). Never reads past
 * `avail` bytes.
 */
enum frame_status frame_peek(const uint8_t *buf, size_t avail, uint32_t max,
			     uint32_t *body_len);

void frame_put_header(uint8_t out[FRAME_HEADER_LEN], uint32_t body_len);

/*
 * Encode `env` as one frame (header + body) in a newly malloc'd buffer.
 * Returns 0 and sets *out and *out_len, or -1 if the body would exceed `max`
 * or memory is exhausted.
 */
int frame_encode(const Maillage__Envelope *env, uint32_t max, uint8_t **out,
		 size_t *out_len);

/* Allocation budget of a decode, in bytes per body byte plus a constant. */
#define FRAME_BUDGET_FACTOR 16u
#define FRAME_BUDGET_SLACK 4096u

struct frame_budget {
	size_t remaining;
	size_t blocks;
};

/* A decoded frame: the envelope and the allocator that owns its tree. */
struct frame_msg {
	Maillage__Envelope *env;
	struct frame_budget budget;
	ProtobufCAllocator allocator;
};

/*
 * Decode one body (without its header). Allocations are bounded by a budget
 * of FRAME_BUDGET_FACTOR * len + FRAME_BUDGET_SLACK bytes; NULL when the body
 * is undecodable or the budget is exceeded. Free with frame_msg_free().
 */
struct frame_msg *frame_decode(const uint8_t *body, size_t len);
void frame_msg_free(struct frame_msg *msg);

/* Name of the body case, for logs ("hello", "ping", ...). */
const char *frame_body_name(const Maillage__Envelope *env);

#endif
