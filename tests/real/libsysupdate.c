// SPDX-License-Identifier: Apache-2.0
// The library that tests/real/make-real preloads (LD_PRELOAD) into one
// child of the triage tree; it only leaves a marker in the process.
#include <stdlib.h>

char ckpt_preload_marker[64] = "ckpt-plant-preloaded";

__attribute__((constructor)) static void sysupdate_init(void)
{
	ckpt_preload_marker[0] = 'C';
}
