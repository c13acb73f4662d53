/* SPDX-License-Identifier: MIT */
/* TODO(issue 2): not written yet. */
#include "auth.h"
