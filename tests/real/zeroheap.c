// SPDX-License-Identifier: Apache-2.0
// A process with a large pre-touched heap of zeros (tests/data/real/rough-zeroheap):
//   zeroheap MIB
// maps MIB MiB at 0x600000000000, writes zeros over all of it (so every
// page is present, not the shared zero page), puts a marker page at
// 0x700000000000, prints where, and waits.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HEAP 0x600000000000UL
#define MARK 0x700000000000UL

static void *map_at(unsigned long addr, size_t len)
{
	void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)addr) {
		perror("mmap");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	size_t len = strtoul(argv[1], NULL, 10) << 20;
	volatile char *h = map_at(HEAP, len);
	memset((void *)h, 0, len);
	for (size_t off = 0; off < len; off += 4096)	/* touched, whatever memset did */
		h[off] = 0;
	char *m = map_at(MARK, 4096);
	strcpy(m, "ZEROHEAP-MARKER: the heap below is all zeros");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("pid %d\nheap_start %#lx\nheap_end %#lx\nmarker_addr %#lx\nready 1\n", getpid(), HEAP, HEAP + len, MARK);
	for (;;)
		pause();
}
