/* SPDX-License-Identifier: Apache-2.0 */
/* The /proc-like tree (placeholder until proc.c lands). */
#ifndef CK_PROC_H
#define CK_PROC_H
#include "ckpt.h"
#endif
