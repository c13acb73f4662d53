/* SPDX-License-Identifier: MIT */
/* TODO(issue 3): not written yet. */
#include "upstream.h"
