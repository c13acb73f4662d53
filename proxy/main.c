/* SPDX-License-Identifier: MIT */
#include <stdio.h>
int
main(void)
{
	fprintf(stderr, "bearerd: not written yet\n");
	return 1;
}
