/* SPDX-License-Identifier: Apache-2.0 */
/* The one door for tests into the modules' internals. The build gives the
 * tests, like every module, only the modules' public headers (the links in
 * src/<module>/include/); a test that needs a module's private interface
 * includes this header instead, which names those private headers by their
 * place in the source tree. Nothing under src/ includes it, or any header by
 * a relative path (tests/arch/check.py checks that). */
#ifndef CK_TEST_INTERNAL_H
#define CK_TEST_INTERNAL_H

#include "../src/arc/arc-pipe.h"	/* test-arc-pipe: the decoder thread */
#include "../src/arc/arc-seek-priv.h"	/* test-arc-seek, fuzz-seek: the seekable formats */
#include "../src/arc/arc-midx.h"	/* test-midx: the member index */
#include "../src/arc/arc-priv.h"	/* test-midx: an archive indexed from it */
#include "../src/img/img-priv.h"	/* imgbuild.h and the image tests: framing, magics */

#endif
