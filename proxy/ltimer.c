/* SPDX-License-Identifier: MIT */
/* The lazy deadline timer shared by client and upstream connections. */
#include <time.h>

#include "ltimer.h"

int
ltimer_init(struct ltimer *t, struct event_base *base, event_callback_fn cb,
    void *arg)
{
	t->set = t->armed = false;
	t->at = t->fire_at = 0;
	return evtimer_assign(&t->ev, base, cb, arg);
}

/* At least a millisecond away: a deadline already past fires at the
 * next loop pass after that, and ltimer_due reports it. */
void
ltimer_arm(struct ltimer *t, int64_t now)
{
	int64_t ms = t->at > now ? t->at - now : 1;
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	t->armed = event_add(&t->ev, &tv) == 0;
	t->fire_at = t->at;
}

void
ltimer_stop(struct ltimer *t)
{
	event_del(&t->ev);
	t->set = t->armed = false;
}

bool
ltimer_due(struct ltimer *t)
{
	int64_t now;

	t->armed = false;
	if (!t->set)
		return false;
	if ((now = ltimer_now()) < t->at) {
		ltimer_arm(t, now); /* fired for an earlier deadline */
		return false;
	}
	t->set = false;
	return true;
}
