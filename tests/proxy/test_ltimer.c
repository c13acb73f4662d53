/* SPDX-License-Identifier: MIT */
/* Tests for proxy/ltimer.c on a real event_base: which deadline moves
 * libevent's timer, an early fire sleeping again for the rest, clear and
 * stop, and the callback's one call at or after its deadline. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <event2/event.h>

#include "ltimer.h"
#include "../unit/tap.h"

#define GUARD_MS 5000 /* a run that reaches this has failed */

static struct event_base *base;
static struct event *guard;
static bool guard_hit;

/* One timer and what its callback saw. */
struct probe {
	struct ltimer t;
	int fires;      /* the event ran */
	int due;        /* ltimer_due said the deadline passed */
	int64_t due_at; /* ltimer_now() then */
	bool rearmed;   /* pending again after the first, early, fire */
};

/* The loop stops once nothing of the probe's is pending any more: after
 * that, the timer can never fire again. */
static void
probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	p->fires++;
	if (ltimer_due(&p->t)) {
		p->due++;
		p->due_at = ltimer_now();
	} else if (p->fires == 1) {
		p->rearmed = evtimer_pending(&p->t.ev, NULL) != 0;
	}
	if (!evtimer_pending(&p->t.ev, NULL))
		event_base_loopbreak(base);
}

static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
	guard_hit = true;
	event_base_loopbreak(base);
}

static void
probe_init(struct probe *p)
{
	p->fires = p->due = 0;
	p->due_at = 0;
	p->rearmed = false;
	if (ltimer_init(&p->t, base, probe_cb, p) != 0)
		abort();
}

/* A fresh probe with a first deadline |ms| from now; returns now. */
static int64_t
probe_start(struct probe *p, int ms)
{
	int64_t now;

	probe_init(p);
	now = ltimer_now();
	ltimer_set(&p->t, now + ms, now);
	return now;
}

/* Runs the loop until the probe is done or |ms| passed. */
static void
run(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	guard_hit = false;
	evtimer_add(guard, &tv);
	event_base_dispatch(base);
	evtimer_del(guard);
}

/* When |t|'s event fires, in microseconds of the wall clock libevent
 * reports; -1 when it is not pending. */
static int64_t
fires_at_us(struct ltimer *t)
{
	struct timeval tv;

	if (!evtimer_pending(&t->ev, &tv))
		return -1;
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void
test_earlier_later(void)
{
	struct probe p;
	int64_t now, first, later, earlier;

	probe_init(&p);
	ok(fires_at_us(&p.t) == -1, "a new timer has no event");
	now = probe_start(&p, 60000);
	first = fires_at_us(&p.t);
	ok(first != -1, "a first deadline adds the event");
	ltimer_set(&p.t, now + 120000, now);
	later = fires_at_us(&p.t);
	/* re-adding would move the event by 60 s */
	ok(later != -1 && llabs(later - first) < 1000000,
	    "a later deadline leaves the event where it was");
	ltimer_set(&p.t, now + 50, now);
	earlier = fires_at_us(&p.t);
	ok(earlier != -1 && earlier < first - 50000000,
	    "an earlier deadline moves the event earlier");
	run(GUARD_MS);
	ok(!guard_hit, "the earlier deadline fired, long before the guard");
	is_int(p.due, 1, "the callback saw its deadline pass once");
	ok(p.due_at >= now + 50, "at or after the deadline");
	is_int(fires_at_us(&p.t), -1, "nothing pending afterwards");
	ltimer_stop(&p.t);
}

static void
test_early_fire(void)
{
	struct probe p;
	int64_t now = probe_start(&p, 30);

	ltimer_set(&p.t, now + 150, now); /* the event stays at +30 */
	run(GUARD_MS);
	ok(!guard_hit, "the moved deadline fired before the guard");
	ok(p.fires >= 2, "the event fired early, then again (%d)", p.fires);
	ok(p.rearmed, "the early fire added the event again for the rest");
	is_int(p.due, 1, "the deadline passed once");
	ok(p.due_at >= now + 150, "at or after the later deadline (%lld ms)",
	    (long long)(p.due_at - now));
	is_int(fires_at_us(&p.t), -1, "nothing pending afterwards");
	ltimer_stop(&p.t);
}

static void
test_after_and_past(void)
{
	struct probe p;
	int64_t now;

	probe_init(&p);
	now = ltimer_now();
	ltimer_after(&p.t, 20);
	run(GUARD_MS);
	is_int(p.due, 1, "ltimer_after: the deadline passed once");
	ok(p.due_at >= now + 20, "no earlier than asked");
	now = probe_start(&p, -5);
	ok(fires_at_us(&p.t) != -1, "a deadline already past adds the event");
	run(GUARD_MS);
	is_int(p.due, 1, "and fires at the next pass");
	is_int(p.fires, 1, "at once, with no early fire");
	ltimer_stop(&p.t);
}

static void
test_clear_stop(void)
{
	struct probe p;
	int64_t now;

	probe_start(&p, 30);
	ltimer_clear(&p.t);
	ok(fires_at_us(&p.t) != -1, "clear leaves the event to fire");
	run(GUARD_MS);
	ok(!guard_hit, "the cleared timer's event ran");
	is_int(p.fires, 1, "once");
	is_int(p.due, 0, "into nothing: no deadline passed");
	is_int(fires_at_us(&p.t), -1, "and was not added again");

	now = ltimer_now();
	ltimer_set(&p.t, now + 10, now);
	run(GUARD_MS);
	is_int(p.due, 1, "a cleared timer takes a new deadline");

	probe_start(&p, 20);
	ltimer_stop(&p.t);
	is_int(fires_at_us(&p.t), -1, "stop removes the event");
	run(100);
	ok(guard_hit, "the loop ran until the guard");
	is_int(p.fires, 0, "a stopped timer never fires");
	now = ltimer_now();
	ltimer_set(&p.t, now + 10, now);
	run(GUARD_MS);
	is_int(p.due, 1, "a stopped timer takes a new deadline");
	ltimer_stop(&p.t);
}

int
main(void)
{
	if ((base = event_base_new()) == NULL ||
	    (guard = evtimer_new(base, guard_cb, NULL)) == NULL)
		return 1;
	test_earlier_later();
	test_early_fire();
	test_after_and_past();
	test_clear_stop();
	event_free(guard);
	event_base_free(base);
	return tap_done();
}
