/* SPDX-License-Identifier: MIT */
/* TODO(issue 3): not written yet. */
#include "conf.h"
