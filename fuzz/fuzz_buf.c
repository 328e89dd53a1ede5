/*
 * Fuzz target for the read cursor: the input is a little program whose
 * bytes choose reads (u8, u16, u32, bytes, sub-cursor, until) over the rest
 * of the input; the invariants are that off never passes len and a failed
 * read consumes nothing.
 */
#include <stdlib.h>

#include "rollcall/buf.h"

static void
check(const struct rc_buf *b)
{
	if (b->off > b->len)
		abort();
}

static void
step(struct rc_buf *b, uint8_t op, int depth)
{
	const uint8_t *p;
	struct rc_buf sub;
	size_t before, n;
	uint32_t u32;
	uint16_t u16;
	uint8_t u8;
	int rc;

	before = b->off;
	switch (op % 7) {
	case 0:
		rc = rc_buf_get_u8(b, &u8);
		break;
	case 1:
		rc = rc_buf_get_u16be(b, &u16);
		break;
	case 2:
		rc = rc_buf_get_u32be(b, &u32);
		break;
	case 3:
		rc = rc_buf_get0_bytes(b, op >> 3, &p);
		break;
	case 4:
		rc = rc_buf_get_sub(b, op >> 3, &sub);
		while (rc == RC_OK && depth < 4 &&
		    rc_buf_get_u8(&sub, &u8) == RC_OK)
			step(&sub, u8, depth + 1);
		break;
	case 5:
		rc = rc_buf_get0_until(b, op >> 3, &p, &n);
		break;
	default:
		rc = rc_buf_skip(b, op >> 4);
		break;
	}
	if (rc != RC_OK && b->off != before)
		abort();
	check(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rc_buf b;
	uint8_t op;

	rc_buf_init(&b, data, size);
	while (rc_buf_get_u8(&b, &op) == RC_OK)
		step(&b, op, 0);
	return 0;
}
