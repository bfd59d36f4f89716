/* SPDX-License-Identifier: Apache-2.0 */
/* The seekable zstd format as ckptfs writes it (src/pack/) and reads it
 * (src/arc/): zstd's seekable format, a seek table in a skippable frame
 * ending in a 9-byte footer, and ckptfs's member index, a skippable frame
 * just before the table (docs/formats.md §9). One home for the constants
 * both sides must agree on. */
#ifndef CK_ZSTD_FMT_H
#define CK_ZSTD_FMT_H

/* the skippable frame that holds the seek table */
#define CK_ZST_TABLE_MAGIC 0x184D2A5Eu
/* the last 4 bytes of the footer: frame count, descriptor, this */
#define CK_ZST_SEEKABLE_MAGIC 0x8F92EAB1u
#define CK_ZST_FOOTER_SIZE 9
/* the member index: its skippable frame, the id that opens its content,
 * the trailer that closes it, and its version */
#define CK_MIDX_MAGIC 0x184D2A5Bu
#define CK_MIDX_ID "ckptfsMI"
#define CK_MIDX_TRAILER "CKMI"
#define CK_MIDX_VERSION 1u

#endif
