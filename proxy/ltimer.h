/* SPDX-License-Identifier: MIT */
/* The lazy deadline timer of a connection: one libevent timer that a
 * deadline moves only when it comes earlier than the pending one. */
#ifndef PROXY_LTIMER_H
#define PROXY_LTIMER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/event_struct.h>

/*
 * A connection changes its deadline several times per request (head,
 * body, response, idle). Re-adding the event each time costs a trip
 * through libevent's timer heap; here a later deadline is only recorded,
 * and the event, when it fires before the deadline, sleeps again for what
 * is left. Only a deadline earlier than the pending event re-adds it.
 * Times are milliseconds of CLOCK_MONOTONIC_COARSE (ltimer_now), the
 * clock libevent times its events with, so an event never fires before
 * the deadline it was added for as read here.
 */
struct ltimer {
	struct event ev; /* the libevent timer */
	int64_t at;      /* the deadline, while |set| */
	int64_t fire_at; /* when |ev| fires, while |armed| */
	bool set;        /* a deadline is pending */
	bool armed;      /* |ev| is added */
};

/* Sets up |t| with no deadline on |base|; |cb| runs with |arg| when the
 * event fires and must start with ltimer_due. Returns 0, or -1 when
 * libevent refuses the event. */
int ltimer_init(struct ltimer *t, struct event_base *base, event_callback_fn cb,
    void *arg);

/* Adds |t|'s event for its deadline; the slow path of ltimer_set. */
void ltimer_arm(struct ltimer *t, int64_t now);

/* Milliseconds of the coarse monotonic clock (a vDSO read, no syscall). */
static inline int64_t
ltimer_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sets the deadline to |at| (ltimer_now() milliseconds; |now| is the
 * current reading). The event is added only when none is pending or the
 * pending one fires after |at|. Inline: it runs several times a request,
 * and almost always only records the deadline. */
static inline void
ltimer_set(struct ltimer *t, int64_t at, int64_t now)
{
	t->at = at;
	t->set = true;
	if (!t->armed || t->fire_at > at)
		ltimer_arm(t, now);
}

/* Sets the deadline |ms| milliseconds from now. */
static inline void
ltimer_after(struct ltimer *t, int ms)
{
	int64_t now = ltimer_now();

	ltimer_set(t, now + ms, now);
}

/* No deadline: a pending event fires into nothing (ltimer_due says no). */
static inline void
ltimer_clear(struct ltimer *t)
{
	t->set = false;
}

/* No deadline and no event: for a connection being closed. */
void ltimer_stop(struct ltimer *t);

/* The first call of the event's callback. Returns true when the deadline
 * has passed (it is then cleared); false when there is none, or when it
 * is still ahead, in which case the event is added again for the rest. */
bool ltimer_due(struct ltimer *t);

#endif /* PROXY_LTIMER_H */
