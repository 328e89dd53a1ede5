/* Latency samples and clocks for rollcall-load (load.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "load.h"
#include "rollcall/mem.h"

uint64_t
load_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A sample that cannot be stored is dropped: statistics, not state. */
void
load_lat_add(struct load_lat *l, uint64_t usec)
{
	uint32_t *v;
	size_t size;

	if (l->n == l->size) {
		size = l->size == 0 ? 4096 : l->size * 2;
		if ((v = rc_reallocarray(l->v, size, sizeof(*v))) == NULL)
			return;
		l->v = v;
		l->size = size;
	}
	l->v[l->n++] = usec > UINT32_MAX ? UINT32_MAX : (uint32_t)usec;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank quantile. */
double
load_lat_quantile(struct load_lat *l, double q)
{
	size_t i;

	if (l->n == 0)
		return 0;
	qsort(l->v, l->n, sizeof(*l->v), cmp_u32);
	i = (size_t)(q * (double)l->n);
	if (i >= l->n)
		i = l->n - 1;
	return (double)l->v[i] / 1000.0;
}

void
load_lat_free(struct load_lat *l)
{
	rc_free(l->v);
	memset(l, 0, sizeof(*l));
}
