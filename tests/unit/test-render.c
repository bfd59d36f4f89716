/* SPDX-License-Identifier: Apache-2.0 */
/* TAP tests for the /proc text renderers (render.c, render-fd.c). The model
 * is built by hand below, modelled on the wl-alpha fixture; the expected
 * texts follow the kernel's formats (fs/proc/array.c, task_mmu.c, fd.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "tap.h"

/* cmdline/environ need memory. These stand-ins only serve the cases where
 * p->mem is NULL (they are never called then); when mem.c is linked in its
 * definitions take precedence. */
__attribute__((weak)) ssize_t mem_read(const struct mem_space *m, uint64_t addr, void *buf, size_t len)
{
	(void)m;
	(void)addr;
	(void)buf;
	(void)len;
	return -EIO;
}

__attribute__((weak)) bool mem_is_dumped(const struct mem_space *m, uint64_t addr, uint64_t len)
{
	(void)m;
	(void)addr;
	(void)len;
	return false;
}

#define U64MAX UINT64_MAX
#define MAP_PRIV 0x02u
#define MAP_SHR 0x01u
#define MAP_ANON_ 0x20u
#define MAP_GROWSDOWN_ 0x0100u
#define MAP_LOCKED_ 0x2000u
#define R 1u
#define W 2u
#define X 4u
#define REGF (IMG_VMA_AREA_REGULAR | IMG_VMA_FILE_PRIVATE)
#define ANON (IMG_VMA_AREA_REGULAR | IMG_VMA_ANON_PRIVATE)

/* ---- the model ---- */

static struct img_file files[] = {
	{ .id = 1, .type = IMG_FD_REG, .name = "/usr/bin/workload", .has_mnt_id = true, .mnt_id = 77 },
	{ .id = 3, .type = IMG_FD_REG, .flags = 0100002, .name = "/dev/null", .has_mnt_id = true, .mnt_id = 79 },
	{ .id = 4, .type = IMG_FD_PIPE, .flags = 01, .ino = 23599 },
	{ .id = 10, .type = IMG_FD_UNIXSK, .flags = 02, .ino = 23621, .has_mnt_id = true, .mnt_id = 77 },
	{ .id = 13, .type = IMG_FD_INETSK, .flags = 02, .ino = 23624 },
	{ .id = 14, .type = IMG_FD_NETLINKSK, .flags = 02, .ino = 555 },
	{ .id = 15, .type = IMG_FD_PACKETSK, .flags = 02 },
	{ .id = 17, .type = IMG_FD_FIFO, .ino = 1073317, .regf_id = 18 },
	{ .id = 18, .type = IMG_FD_REG, .flags = 0100002, .name = "/tmp/work/fifo", .has_mnt_id = true, .mnt_id = 77 },
	{ .id = 19, .type = IMG_FD_REG, .flags = 0100002, .pos = 24, .name = "/tmp/work/ghost.txt", .has_mnt_id = true, .mnt_id = 77 },
	{ .id = 20, .type = IMG_FD_REG, .flags = 0102001, .pos = 26, .name = "/tmp/work/app.log", .has_mnt_id = true, .mnt_id = 77 },
	{ .id = 21, .type = IMG_FD_MEMFD, .flags = 0100002, .pos = 19, .memfd_inode_id = 1 },
	{ .id = 22, .type = IMG_FD_EVENTFD, .flags = 02, .efd_counter = 7 },
	{ .id = 23, .type = IMG_FD_TIMERFD, .flags = 02, .clockid = 1, .ticks = 0, .settime_flags = 0,
	  .vsec = 3596, .vnsec = 122588871, .isec = 3600, .insec = 0 },
	{ .id = 24, .type = IMG_FD_SIGNALFD, .flags = 04002, .sigmask = 0x4a02 },
	{ .id = 25, .type = IMG_FD_EVENTPOLL, .flags = 02 },
	{ .id = 26, .type = IMG_FD_INOTIFY },
	{ .id = 27, .type = IMG_FD_FANOTIFY },
	{ .id = 28, .type = IMG_FD_BPFMAP },
	{ .id = 29, .type = IMG_FD_PIDFD, .flags = 02, .ino = 8572 },
	{ .id = 30, .type = IMG_FD_TTY, .flags = 02, .regf_id = 31 },
	{ .id = 31, .type = IMG_FD_REG, .flags = 02, .name = "/dev/pts/0", .has_mnt_id = true, .mnt_id = 80 },
	{ .id = 32, .type = IMG_FD_NS, .name = "net" },
	{ .id = 33, .type = IMG_FD_TUNF, .flags = 02 },
	{ .id = 34, .type = IMG_FD_EXT },
	{ .id = 35, .type = IMG_FD_MEMFD, .flags = 02, .memfd_inode_id = 2 },
	{ .id = 36, .type = IMG_FD_REG, .name = "/tmp/linked.bin" },
	{ .id = 37, .type = IMG_FD_REG, .name = "/proc/77" },
	{ .id = 38, .type = IMG_FD_REG, .name = "/tmp/work" },
	{ .id = 39, .type = IMG_FD_MEMFD, .memfd_inode_id = 99 },
};

static struct img_remap remaps[] = {
	{ .orig_id = 19, .remap_id = 1, .type = 1 },	/* GHOST */
	{ .orig_id = 36, .remap_id = 2, .type = 0 },	/* LINKED */
	{ .orig_id = 37, .remap_id = 3, .type = 2 },	/* PROCFS: not deleted */
};

static struct img_memfd memfds[] = {
	{ .inode_id = 1, .name = "secret-memfd", .size = 19, .shmid = 1033 },
	{ .inode_id = 2, .name = "/dev/zero", .size = 4096, .shmid = 1040 },
};

static int64_t seccomp_prev[] = { -1, 0 };

static struct img_vma vmas[] = {
	{ 0x400000, 0x401000, 0, 1, R, MAP_PRIV, REGF, -1 },
	{ 0x401000, 0x48d000, 0x1000, 1, R | X, MAP_PRIV, REGF, -1 },
	{ 0x4bb000, 0x4be000, 0xbb000, 1, R | W, MAP_PRIV, REGF, -1 },
	{ 0x2f59000, 0x2f7b000, 0, 0, R | W, MAP_PRIV | MAP_ANON_, ANON | IMG_VMA_AREA_HEAP, -1 },
	{ 0x7ff67bae3000, 0x7ff67bae5000, 0, 19, R | W, MAP_SHR, IMG_VMA_AREA_REGULAR | IMG_VMA_FILE_SHARED, -1 },
	{ 0x7ff67bae5000, 0x7ff67bae6000, 0, 21, R | W, MAP_SHR,
	  IMG_VMA_AREA_REGULAR | IMG_VMA_FILE_SHARED | IMG_VMA_AREA_MEMFD, -1 },
	{ 0x7ff67bae6000, 0x7ff67bae7000, 0, 35, R | W, MAP_SHR | MAP_ANON_,
	  IMG_VMA_AREA_REGULAR | IMG_VMA_ANON_SHARED | IMG_VMA_AREA_MEMFD, -1 },
	{ 0x7ff67bae7000, 0x7ff67bae8000, 0, 7, R | W, MAP_SHR | MAP_ANON_,
	  IMG_VMA_AREA_REGULAR | IMG_VMA_ANON_SHARED, -1 },
	{ 0x7ff67bae8000, 0x7ff67bae9000, 0, 65538, R | W, MAP_SHR,
	  IMG_VMA_AREA_REGULAR | IMG_VMA_AREA_SYSVIPC, -1 },
	{ 0x7ff67bae9000, 0x7ff67baeb000, 0, 0, R | W, MAP_PRIV | MAP_ANON_ | MAP_LOCKED_, ANON, -1 },
	{ 0x7ff67bbe6000, 0x7ff67bbec000, 0, 0, R, MAP_PRIV | MAP_ANON_, ANON | IMG_VMA_AREA_VVAR, -1 },
	{ 0x7ff67bbec000, 0x7ff67bbee000, 0, 0, R | X, MAP_PRIV | MAP_ANON_, ANON | IMG_VMA_AREA_VDSO, -1 },
	{ 0x7ff67bbee000, 0x7ff67bbef000, 0x2000, 36, R, MAP_PRIV, REGF, -1 },
	{ 0x7ff67bbef000, 0x7ff67bbf0000, 0, 37, R, MAP_PRIV, REGF, -1 },
	{ 0x7ffe3c90c000, 0x7ffe3c92d000, 0, 0, R | W, MAP_PRIV | MAP_ANON_ | MAP_GROWSDOWN_, ANON, -1 },
	{ 0xffffffffff600000, 0xffffffffff601000, 0, 0, X, MAP_PRIV | MAP_ANON_,
	  IMG_VMA_AREA_VSYSCALL | IMG_VMA_ANON_PRIVATE, -1 },
};

/* AT_PHDR, AT_PAGESZ, AT_RANDOM, then a dangling word: no AT_NULL was kept */
static uint64_t auxv_cut[] = { 3, 0x400040, 6, 4096, 25, 0x7ffe3c92cd79, 31 };
static uint64_t auxv_null[] = { 6, 4096, 0, 0, 7, 8 };

static struct img_mm mm1 = {
	.mm_start_code = 0x401000, .mm_end_code = 0x48c7f1,
	.mm_start_data = 0x4b7670, .mm_end_data = 0x4bd370,
	.mm_start_stack = 0x7ffe3c92b5a0, .mm_start_brk = 0x2f59000, .mm_brk = 0x2f7b000,
	.mm_arg_start = 0x7ffe3c92cf18, .mm_arg_end = 0x7ffe3c92cf30,
	.mm_env_start = 0x7ffe3c92cf30, .mm_env_end = 0x7ffe3c92cfe6,
	.exe_file_id = 1,
	.auxv = auxv_cut, .n_auxv = ARRAY_SIZE(auxv_cut),
	.vmas = vmas, .n_vmas = ARRAY_SIZE(vmas),
};

static struct img_mm mm_null = {
	.mm_start_stack = 0x7ffe00000000,
	.auxv = auxv_null, .n_auxv = ARRAY_SIZE(auxv_null),
};

static uint32_t groups[] = { 10, 20 };

#define CREDS1 { \
	.uid = 1000, .euid = 1001, .suid = 1002, .fsuid = 1003, \
	.gid = 100, .egid = 101, .sgid = 102, .fsgid = 103, \
	.cap_inh = { 0, 0 }, .cap_prm = { 2147747323u, 0 }, .cap_eff = { 2147747323u, 0 }, \
	.cap_bnd = { 0xffffffffu, 0x1ff }, .cap_amb = { 0, 0 }, .has_cap_amb = true, \
	.groups = groups, .n_groups = ARRAY_SIZE(groups), \
	.has_no_new_privs = true, .no_new_privs = true, \
}

static struct img_core core1 = {
	.mtype = 1, .has_tc = true, .task_state = 1, .flags = 4194560,
	.has_tc_blk_sigset = true, .tc_blk_sigset = 0, .tc_comm = "ckpt-workload",
	.n_rlimits = 16,
	.rlim_cur = { U64MAX, U64MAX, U64MAX, 8388608, 0, U64MAX, 1024, 1024, 8388608, U64MAX, U64MAX,
		      96365, 819200, 0, 0, U64MAX },
	.rlim_max = { U64MAX, U64MAX, U64MAX, U64MAX, U64MAX, U64MAX, 1024, 1024, 8388608, U64MAX, U64MAX,
		      96365, 819200, 0, 0, U64MAX },
	.n_sigactions = 62,
	/* [1] SIGINT caught, [2] SIGQUIT ignored, [15] SIGCHLD caught,
	 * [17] SIGTSTP ignored (19 is skipped), [61] signal 64 caught */
	.sigaction_handler = { [1] = 0x463250, [2] = 1, [15] = 0x463300, [17] = 1, [61] = 0x463400 },
	.shdpnd = 1u << 14,
	.has_thread_core = true, .has_blk_sigset = true, .blk_sigset = 0x80000002,
	.comm = "ckpt-workload",
	.has_sched_nice = true, .sched_nice = -5, .has_sched_policy = true, .sched_policy = 0,
	.has_sched_prio = true, .sched_prio = 0,
	.has_seccomp_mode = true, .seccomp_mode = 2, .has_seccomp_filter = true, .seccomp_filter = 1,
	.has_creds = true, .creds = CREDS1,
	.sigpnd = 1u << 9,
};

static struct img_core core7 = {
	.mtype = 1, .has_thread_core = true, .has_blk_sigset = true, .blk_sigset = 0,
	.comm = "worker-1", .has_creds = true,
	.has_sched_nice = true, .sched_nice = 0, .has_sched_policy = true, .sched_policy = 0,
};

static struct img_core core8 = {
	.mtype = 1, .has_thread_core = true, .has_blk_sigset = true, .blk_sigset = 1u << 13,
	.comm = "worker-2", .has_creds = true,
	.has_sched_nice = true, .sched_nice = 0, .has_sched_policy = true, .sched_policy = 1,
	.has_sched_prio = true, .sched_prio = 10,
	.has_seccomp_mode = true, .seccomp_mode = 1,
};

static struct img_core core9 = {
	.mtype = 1, .has_thread_core = true, .comm = "worker-3", .has_creds = true,
	.has_seccomp_mode = true, .seccomp_mode = 2, .has_seccomp_filter = true, .seccomp_filter = 5,
};

static struct img_core core_zombie = {
	.mtype = 1, .has_tc = true, .task_state = 2, .flags = 0x40040c, .exit_code = 9, .tc_comm = "zomb",
};

static struct img_core core_stopped = {
	.mtype = 1, .has_tc = true, .task_state = 3, .has_stop_signo = true, .stop_signo = 19,
	.tc_comm = "stopme", .has_thread_core = true, .comm = "a\\b\nc",
};

static struct ckpt_thread threads1[] = {
	{ 1, &core1, 0 }, { 7, &core7, 0 }, { 8, &core8, 0 }, { 9, &core9, 0 },
};
static struct ckpt_thread threads_zombie[] = { { 6, &core_zombie, 0 } };
static struct ckpt_thread threads_stopped[] = { { 12, &core_stopped, 0 } };
static struct ckpt_thread threads_bad_mm[] = { { 20, &core1, 0 } };
static struct ckpt_thread threads_bad_core[] = { { 21, NULL, -EBADMSG } };
static struct ckpt_thread threads_nulls[] = { { 22, &core1, 0 } };
static struct ckpt_thread threads_badmem[] = { { 23, &core1, 0 } };

static struct img_fdinfo fds1[] = {
	{ 0, 3, IMG_FD_REG, 1 },
	{ 1, 4, IMG_FD_PIPE, 0 },
};

enum { P1, PZOMBIE, PSTOPPED, PBADMM, PBADCORE, PNULLS, PBADMEM, NPROCS };

static struct ckpt_proc procs[NPROCS] = {
	[P1] = { .pid = 1, .ppid = 0, .pgid = 1, .sid = 1, .threads = threads1, .n_threads = 4,
		 .mm = &mm1, .fs = { 38, 38, true, 18 }, .has_fs = true,
		 .fds = fds1, .n_fds = ARRAY_SIZE(fds1) },
	[PZOMBIE] = { .pid = 6, .ppid = 1, .pgid = 1, .sid = 1, .threads = threads_zombie, .n_threads = 1,
		      .mm_err = -ENOENT, .fs_err = -ENOENT, .ids_err = -ENOENT, .mem_err = -ENOENT },
	[PSTOPPED] = { .pid = 12, .ppid = 1, .pgid = 12, .sid = 1, .threads = threads_stopped,
		       .n_threads = 1, .mm = &mm_null, .fs = { 38, 38, true, 077 }, .has_fs = true },
	[PBADMM] = { .pid = 20, .ppid = 1, .pgid = 1, .sid = 1, .threads = threads_bad_mm, .n_threads = 1,
		     .mm_err = -EBADMSG, .fs = { 38, 38, true, 022 }, .has_fs = true },
	[PBADCORE] = { .pid = 21, .ppid = 1, .pgid = 1, .sid = 1, .threads = threads_bad_core,
		       .n_threads = 1, .mm = &mm1, .fs = { 38, 38, true, 022 }, .has_fs = true },
	[PNULLS] = { .pid = 22, .ppid = 1, .pgid = 1, .sid = 1, .threads = threads_nulls, .n_threads = 1,
		     .mm = &mm_null, .fs = { 38, 38, true, 0 }, .has_fs = true },
	[PBADMEM] = { .pid = 23, .ppid = 1, .pgid = 1, .sid = 1, .threads = threads_badmem,
		      .n_threads = 1, .mm = &mm1, .fs = { 38, 38, true, 0 }, .has_fs = true,
		      .mem_err = -EBADMSG },
};

static struct ckpt ck = {
	.procs = procs, .n_procs = NPROCS,
	.files = files, .n_files = ARRAY_SIZE(files),
	.remaps = remaps, .n_remaps = ARRAY_SIZE(remaps),
	.memfds = memfds, .n_memfds = ARRAY_SIZE(memfds),
	.seccomp_prev = seccomp_prev, .n_seccomp = ARRAY_SIZE(seccomp_prev),
	.page_size = 4096,
};

/* files.img failed to decode: nothing to look up */
static struct ckpt ck_nofiles = { .files_err = -EBADMSG, .page_size = 4096 };

/* ---- expected texts ---- */

static const char status1[] =
	"Name:\tckpt-workload\n"
	"Umask:\t0022\n"
	"State:\tS (sleeping)\n"
	"Tgid:\t1\n"
	"Ngid:\t0\n"
	"Pid:\t1\n"
	"PPid:\t0\n"
	"TracerPid:\t0\n"
	"Uid:\t1000\t1001\t1002\t1003\n"
	"Gid:\t100\t101\t102\t103\n"
	"Groups:\t10 20 \n"
	"NStgid:\t1\n"
	"NSpid:\t1\n"
	"NSpgid:\t1\n"
	"NSsid:\t1\n"
	"Kthread:\t0\n"
	"VmSize:\t     916 kB\n"
	"VmLck:\t       8 kB\n"
	"VmRSS:\t       0 kB\n"
	"RssAnon:\t       0 kB\n"
	"RssFile:\t       0 kB\n"
	"RssShmem:\t       0 kB\n"
	"VmData:\t     156 kB\n"
	"VmStk:\t     132 kB\n"
	"VmExe:\t     560 kB\n"
	"VmLib:\t       8 kB\n"
	"Threads:\t4\n"
	"SigPnd:\t0000000000000200\n"
	"ShdPnd:\t0000000000004000\n"
	"SigBlk:\t0000000080000002\n"
	"SigIgn:\t0000000000080004\n"
	"SigCgt:\t8000000000010002\n"
	"CapInh:\t0000000000000000\n"
	"CapPrm:\t00000000800405fb\n"
	"CapEff:\t00000000800405fb\n"
	"CapBnd:\t000001ffffffffff\n"
	"CapAmb:\t0000000000000000\n"
	"NoNewPrivs:\t1\n"
	"Seccomp:\t2\n"
	"Seccomp_filters:\t2\n";

static const char status7[] =
	"Name:\tworker-1\n"
	"Umask:\t0022\n"
	"State:\tS (sleeping)\n"
	"Tgid:\t1\n"
	"Ngid:\t0\n"
	"Pid:\t7\n"
	"PPid:\t0\n"
	"TracerPid:\t0\n"
	"Uid:\t0\t0\t0\t0\n"
	"Gid:\t0\t0\t0\t0\n"
	"Groups:\t \n"
	"NStgid:\t1\n"
	"NSpid:\t7\n"
	"NSpgid:\t1\n"
	"NSsid:\t1\n"
	"Kthread:\t0\n"
	"VmSize:\t     916 kB\n"
	"VmLck:\t       8 kB\n"
	"VmRSS:\t       0 kB\n"
	"RssAnon:\t       0 kB\n"
	"RssFile:\t       0 kB\n"
	"RssShmem:\t       0 kB\n"
	"VmData:\t     156 kB\n"
	"VmStk:\t     132 kB\n"
	"VmExe:\t     560 kB\n"
	"VmLib:\t       8 kB\n"
	"Threads:\t4\n"
	"SigPnd:\t0000000000000000\n"
	"ShdPnd:\t0000000000004000\n"
	"SigBlk:\t0000000000000000\n"
	"SigIgn:\t0000000000080004\n"
	"SigCgt:\t8000000000010002\n"
	"CapInh:\t0000000000000000\n"
	"CapPrm:\t0000000000000000\n"
	"CapEff:\t0000000000000000\n"
	"CapBnd:\t0000000000000000\n";

static const char status_zombie[] =
	"Name:\tzomb\n"
	"State:\tZ (zombie)\n"
	"Tgid:\t6\n"
	"Ngid:\t0\n"
	"Pid:\t6\n"
	"PPid:\t1\n"
	"TracerPid:\t0\n"
	"NStgid:\t6\n"
	"NSpid:\t6\n"
	"NSpgid:\t1\n"
	"NSsid:\t1\n"
	"Kthread:\t0\n"
	"Threads:\t1\n";

static const char stat1[] =
	"1 (ckpt-workload) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 15 -5 4 0 0 937984 0 "
	"18446744073709551615 4198400 4769777 140729914668448 0 0 512 2 524292 65538 "
	"0 0 0 0 0 0 0 0 0 0 4945520 4969328 49647616 140729914674968 140729914674992 "
	"140729914674992 140729914675174 0\n";

static const char stat8[] =
	"8 (worker-2) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 -11 0 4 0 0 937984 0 "
	"18446744073709551615 4198400 4769777 140729914668448 0 0 0 8192 524292 65538 "
	"0 0 0 0 0 10 1 0 0 0 4945520 4969328 49647616 140729914674968 140729914674992 "
	"140729914674992 140729914675174 0\n";

static const char stat_zombie[] =
	"6 (zomb) Z 1 1 1 0 -1 4195340 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 "
	"0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 9\n";

static const char maps1[] =
	"00400000-00401000 r--p 00000000 00:00 0                                  /usr/bin/workload\n"
	"00401000-0048d000 r-xp 00001000 00:00 0                                  /usr/bin/workload\n"
	"004bb000-004be000 rw-p 000bb000 00:00 0                                  /usr/bin/workload\n"
	"02f59000-02f7b000 rw-p 00000000 00:00 0                                  [heap]\n"
	"7ff67bae3000-7ff67bae5000 rw-s 00000000 00:00 0                          /tmp/work/ghost.txt (deleted)\n"
	"7ff67bae5000-7ff67bae6000 rw-s 00000000 00:00 0                          /memfd:secret-memfd (deleted)\n"
	"7ff67bae6000-7ff67bae7000 rw-s 00000000 00:00 0                          /dev/zero (deleted)\n"
	"7ff67bae7000-7ff67bae8000 rw-s 00000000 00:00 0                          /dev/zero (deleted)\n"
	"7ff67bae8000-7ff67bae9000 rw-s 00000000 00:00 0 \n"
	"7ff67bae9000-7ff67baeb000 rw-p 00000000 00:00 0 \n"
	"7ff67bbe6000-7ff67bbec000 r--p 00000000 00:00 0                          [vvar]\n"
	"7ff67bbec000-7ff67bbee000 r-xp 00000000 00:00 0                          [vdso]\n"
	"7ff67bbee000-7ff67bbef000 r--p 00002000 00:00 0                          /tmp/linked.bin (deleted)\n"
	"7ff67bbef000-7ff67bbf0000 r--p 00000000 00:00 0                          /proc/77\n"
	"7ffe3c90c000-7ffe3c92d000 rw-p 00000000 00:00 0                          [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

static const char limits1[] =
	"Limit                     Soft Limit           Hard Limit           Units     \n"
	"Max cpu time              unlimited            unlimited            seconds   \n"
	"Max file size             unlimited            unlimited            bytes     \n"
	"Max data size             unlimited            unlimited            bytes     \n"
	"Max stack size            8388608              unlimited            bytes     \n"
	"Max core file size        0                    unlimited            bytes     \n"
	"Max resident set          unlimited            unlimited            bytes     \n"
	"Max processes             1024                 1024                 processes \n"
	"Max open files            1024                 1024                 files     \n"
	"Max locked memory         8388608              8388608              bytes     \n"
	"Max address space         unlimited            unlimited            bytes     \n"
	"Max file locks            unlimited            unlimited            locks     \n"
	"Max pending signals       96365                96365                signals   \n"
	"Max msgqueue size         819200               819200               bytes     \n"
	"Max nice priority         0                    0                    \n"
	"Max realtime priority     0                    0                    \n"
	"Max realtime timeout      unlimited            unlimited            us        \n";

static const uint64_t auxv1[] = { 3, 0x400040, 6, 4096, 25, 0x7ffe3c92cd79, 0, 0 };
static const uint64_t auxv2[] = { 6, 4096, 0, 0 };

/* ---- the table ---- */

enum kind {
	K_STATUS, K_STAT, K_COMM, K_CMDLINE, K_ENVIRON, K_MAPS, K_LIMITS, K_AUXV,
	K_FDINFO, K_FD_TARGET, K_REG_PATH,
};

enum match { EXACT, CONTAINS, LACKS };

struct tcase {
	const char *name;
	enum kind kind;
	const struct ckpt *ck;
	int proc;
	int thread;		/* index into the proc's threads, -1: NULL */
	uint32_t id;		/* file id (fd target, reg path, fdinfo) */
	uint32_t fdflags;	/* fdinfo: fdinfo.flags */
	int rc;
	enum match match;
	const void *want;
	size_t want_len;	/* 0: strlen(want) */
};

#define S(x) x, 0
#define B(x) x, sizeof(x)

static const struct tcase cases[] = {
	/* status */
	{ "status: leader, full", K_STATUS, &ck, P1, -1, 0, 0, 0, EXACT, S(status1) },
	{ "status: leader via its thread entry", K_STATUS, &ck, P1, 0, 0, 0, 0, EXACT, S(status1) },
	{ "status: thread 7 (own comm, creds, mask; seccomp unknown)", K_STATUS, &ck, P1, 1, 0, 0, 0, EXACT,
	  S(status7) },
	{ "status: thread 8 SigBlk per thread", K_STATUS, &ck, P1, 2, 0, 0, 0, CONTAINS,
	  S("\nSigBlk:\t0000000000002000\n") },
	{ "status: thread 9 falls back to tc blk_sigset", K_STATUS, &ck, P1, 3, 0, 0, 0, CONTAINS,
	  S("\nSigBlk:\t0000000000000000\nSigIgn:") },
	{ "status: thread 9 without cap_amb omits CapAmb", K_STATUS, &ck, P1, 3, 0, 0, 0, LACKS, S("CapAmb") },
	{ "status: strict seccomp has no filters", K_STATUS, &ck, P1, 2, 0, 0, 0, CONTAINS,
	  S("\nSeccomp:\t1\nSeccomp_filters:\t0\n") },
	{ "status: filter outside seccomp.img drops Seccomp_filters", K_STATUS, &ck, P1, 3, 0, 0, 0, LACKS,
	  S("Seccomp_filters") },
	{ "status: leader without seccomp_mode is disabled", K_STATUS, &ck, PSTOPPED, -1, 0, 0, 0, CONTAINS,
	  S("\nSeccomp:\t0\nSeccomp_filters:\t0\n") },
	{ "status: zombie has no Umask, Vm*, creds", K_STATUS, &ck, PZOMBIE, -1, 0, 0, 0, EXACT,
	  S(status_zombie) },
	{ "status: stopped", K_STATUS, &ck, PSTOPPED, -1, 0, 0, 0, CONTAINS, S("\nState:\tT (stopped)\n") },
	{ "status: umask 077", K_STATUS, &ck, PSTOPPED, -1, 0, 0, 0, CONTAINS, S("\nUmask:\t0077\n") },
	{ "status: Name escapes backslash and newline", K_STATUS, &ck, PSTOPPED, -1, 0, 0, 0, CONTAINS,
	  S("Name:\ta\\\\b\\nc\n") },
	{ "status: no sigactions, no SigIgn", K_STATUS, &ck, PSTOPPED, -1, 0, 0, 0, LACKS, S("SigIgn") },
	{ "status: empty mm gives zero Vm lines", K_STATUS, &ck, PSTOPPED, -1, 0, 0, 0, CONTAINS,
	  S("VmSize:\t       0 kB\nVmLck:\t       0 kB\n") },
	{ "status: umask 0", K_STATUS, &ck, PNULLS, -1, 0, 0, 0, CONTAINS, S("\nUmask:\t0000\n") },
	{ "status: damaged mm is EIO", K_STATUS, &ck, PBADMM, -1, 0, 0, -EIO, EXACT, S("") },
	{ "status: damaged core is EIO", K_STATUS, &ck, PBADCORE, -1, 0, 0, -EIO, EXACT, S("") },
	/* stat */
	{ "stat: leader", K_STAT, &ck, P1, -1, 0, 0, 0, EXACT, S(stat1) },
	{ "stat: SCHED_FIFO thread", K_STAT, &ck, P1, 2, 0, 0, 0, EXACT, S(stat8) },
	{ "stat: zombie", K_STAT, &ck, PZOMBIE, -1, 0, 0, 0, EXACT, S(stat_zombie) },
	{ "stat: stopped", K_STAT, &ck, PSTOPPED, -1, 0, 0, 0, CONTAINS, S("12 (a\\b\nc) T 1 12 1 0 -1 ") },
	{ "stat: damaged mm is EIO", K_STAT, &ck, PBADMM, -1, 0, 0, -EIO, EXACT, S("") },
	/* comm */
	{ "comm: leader", K_COMM, &ck, P1, -1, 0, 0, 0, EXACT, S("ckpt-workload\n") },
	{ "comm: thread", K_COMM, &ck, P1, 1, 0, 0, 0, EXACT, S("worker-1\n") },
	{ "comm: zombie uses tc.comm", K_COMM, &ck, PZOMBIE, -1, 0, 0, 0, EXACT, S("zomb\n") },
	{ "comm: not escaped", K_COMM, &ck, PSTOPPED, -1, 0, 0, 0, EXACT, S("a\\b\nc\n") },
	{ "comm: damaged core is EIO", K_COMM, &ck, PBADCORE, -1, 0, 0, -EIO, EXACT, S("") },
	/* cmdline / environ without memory */
	{ "cmdline: zombie is empty", K_CMDLINE, &ck, PZOMBIE, -1, 0, 0, 0, EXACT, S("") },
	{ "environ: zombie is empty", K_ENVIRON, &ck, PZOMBIE, -1, 0, 0, 0, EXACT, S("") },
	{ "cmdline: nothing dumped is empty", K_CMDLINE, &ck, P1, -1, 0, 0, 0, EXACT, S("") },
	{ "environ: nothing dumped is empty", K_ENVIRON, &ck, P1, -1, 0, 0, 0, EXACT, S("") },
	{ "cmdline: damaged pages is EIO", K_CMDLINE, &ck, PBADMEM, -1, 0, 0, -EIO, EXACT, S("") },
	{ "environ: damaged pages is EIO", K_ENVIRON, &ck, PBADMEM, -1, 0, 0, -EIO, EXACT, S("") },
	{ "cmdline: damaged mm is EIO", K_CMDLINE, &ck, PBADMM, -1, 0, 0, -EIO, EXACT, S("") },
	/* maps */
	{ "maps: every naming rule and the column", K_MAPS, &ck, P1, -1, 0, 0, 0, EXACT, S(maps1) },
	{ "maps: zombie is empty", K_MAPS, &ck, PZOMBIE, -1, 0, 0, 0, EXACT, S("") },
	{ "maps: damaged mm is EIO", K_MAPS, &ck, PBADMM, -1, 0, 0, -EIO, EXACT, S("") },
	{ "maps: damaged files.img is EIO", K_MAPS, &ck_nofiles, P1, -1, 0, 0, -EIO, EXACT, S("") },
	/* limits */
	{ "limits: table", K_LIMITS, &ck, P1, -1, 0, 0, 0, EXACT, S(limits1) },
	{ "limits: no rlimits stored", K_LIMITS, &ck, PZOMBIE, -1, 0, 0, -ENOENT, EXACT, S("") },
	{ "limits: damaged core is EIO", K_LIMITS, &ck, PBADCORE, -1, 0, 0, -EIO, EXACT, S("") },
	/* auxv */
	{ "auxv: cut vector gets AT_NULL", K_AUXV, &ck, P1, -1, 0, 0, 0, EXACT, B(auxv1) },
	{ "auxv: stops at the stored AT_NULL", K_AUXV, &ck, PSTOPPED, -1, 0, 0, 0, EXACT, B(auxv2) },
	{ "auxv: zombie is empty", K_AUXV, &ck, PZOMBIE, -1, 0, 0, 0, EXACT, S("") },
	{ "auxv: damaged mm is EIO", K_AUXV, &ck, PBADMM, -1, 0, 0, -EIO, EXACT, S("") },
	/* fd targets */
	{ "fd: REG", K_FD_TARGET, &ck, P1, -1, 3, 0, 0, EXACT, S("/dev/null") },
	{ "fd: REG ghost", K_FD_TARGET, &ck, P1, -1, 19, 0, 0, EXACT, S("/tmp/work/ghost.txt (deleted)") },
	{ "fd: REG linked", K_FD_TARGET, &ck, P1, -1, 36, 0, 0, EXACT, S("/tmp/linked.bin (deleted)") },
	{ "fd: REG procfs remap", K_FD_TARGET, &ck, P1, -1, 37, 0, 0, EXACT, S("/proc/77") },
	{ "fd: PIPE", K_FD_TARGET, &ck, P1, -1, 4, 0, 0, EXACT, S("pipe:[23599]") },
	{ "fd: FIFO", K_FD_TARGET, &ck, P1, -1, 17, 0, 0, EXACT, S("/tmp/work/fifo") },
	{ "fd: UNIXSK", K_FD_TARGET, &ck, P1, -1, 10, 0, 0, EXACT, S("socket:[23621]") },
	{ "fd: INETSK", K_FD_TARGET, &ck, P1, -1, 13, 0, 0, EXACT, S("socket:[23624]") },
	{ "fd: NETLINKSK", K_FD_TARGET, &ck, P1, -1, 14, 0, 0, EXACT, S("socket:[555]") },
	{ "fd: PACKETSK", K_FD_TARGET, &ck, P1, -1, 15, 0, 0, EXACT, S("socket:[?]") },
	{ "fd: MEMFD", K_FD_TARGET, &ck, P1, -1, 21, 0, 0, EXACT, S("/memfd:secret-memfd (deleted)") },
	{ "fd: MEMFD of shared anon", K_FD_TARGET, &ck, P1, -1, 35, 0, 0, EXACT, S("/dev/zero (deleted)") },
	{ "fd: MEMFD unknown inode", K_FD_TARGET, &ck, P1, -1, 39, 0, -ENOENT, EXACT, S("") },
	{ "fd: EVENTFD", K_FD_TARGET, &ck, P1, -1, 22, 0, 0, EXACT, S("anon_inode:[eventfd]") },
	{ "fd: TIMERFD", K_FD_TARGET, &ck, P1, -1, 23, 0, 0, EXACT, S("anon_inode:[timerfd]") },
	{ "fd: SIGNALFD", K_FD_TARGET, &ck, P1, -1, 24, 0, 0, EXACT, S("anon_inode:[signalfd]") },
	{ "fd: EVENTPOLL", K_FD_TARGET, &ck, P1, -1, 25, 0, 0, EXACT, S("anon_inode:[eventpoll]") },
	{ "fd: INOTIFY", K_FD_TARGET, &ck, P1, -1, 26, 0, 0, EXACT, S("anon_inode:inotify") },
	{ "fd: FANOTIFY", K_FD_TARGET, &ck, P1, -1, 27, 0, 0, EXACT, S("anon_inode:[fanotify]") },
	{ "fd: BPFMAP", K_FD_TARGET, &ck, P1, -1, 28, 0, 0, EXACT, S("anon_inode:bpf-map") },
	{ "fd: PIDFD", K_FD_TARGET, &ck, P1, -1, 29, 0, 0, EXACT, S("anon_inode:[pidfd]") },
	{ "fd: TTY", K_FD_TARGET, &ck, P1, -1, 30, 0, 0, EXACT, S("/dev/pts/0") },
	{ "fd: NS", K_FD_TARGET, &ck, P1, -1, 32, 0, 0, EXACT, S("net:[?]") },
	{ "fd: TUNF", K_FD_TARGET, &ck, P1, -1, 33, 0, 0, EXACT, S("/dev/net/tun") },
	{ "fd: EXT is unknown", K_FD_TARGET, &ck, P1, -1, 34, 0, -ENOENT, EXACT, S("") },
	/* fdinfo */
	{ "fdinfo: REG with O_CLOEXEC", K_FDINFO, &ck, P1, -1, 3, 1, 0, EXACT,
	  S("pos:\t0\nflags:\t02100002\nmnt_id:\t79\n") },
	{ "fdinfo: REG without O_CLOEXEC, pos", K_FDINFO, &ck, P1, -1, 19, 0, 0, EXACT,
	  S("pos:\t24\nflags:\t0100002\nmnt_id:\t77\n") },
	{ "fdinfo: append-only REG", K_FDINFO, &ck, P1, -1, 20, 1, 0, EXACT,
	  S("pos:\t26\nflags:\t02102001\nmnt_id:\t77\n") },
	{ "fdinfo: PIPE", K_FDINFO, &ck, P1, -1, 4, 0, 0, EXACT, S("pos:\t0\nflags:\t01\nino:\t23599\n") },
	{ "fdinfo: FIFO takes flags and mnt_id from its path", K_FDINFO, &ck, P1, -1, 17, 0, 0, EXACT,
	  S("pos:\t0\nflags:\t0100002\nmnt_id:\t77\nino:\t1073317\n") },
	{ "fdinfo: TTY, mnt_id of its path", K_FDINFO, &ck, P1, -1, 30, 1, 0, EXACT,
	  S("pos:\t0\nflags:\t02000002\nmnt_id:\t80\n") },
	{ "fdinfo: bound unix socket has no mnt_id", K_FDINFO, &ck, P1, -1, 10, 0, 0, EXACT,
	  S("pos:\t0\nflags:\t02\nino:\t23621\n") },
	{ "fdinfo: flags 0", K_FDINFO, &ck, P1, -1, 26, 0, 0, EXACT, S("pos:\t0\nflags:\t00\n") },
	{ "fdinfo: socket", K_FDINFO, &ck, P1, -1, 13, 1, 0, EXACT, S("pos:\t0\nflags:\t02000002\nino:\t23624\n") },
	{ "fdinfo: MEMFD", K_FDINFO, &ck, P1, -1, 21, 0, 0, EXACT, S("pos:\t19\nflags:\t0100002\n") },
	{ "fdinfo: EVENTFD", K_FDINFO, &ck, P1, -1, 22, 1, 0, EXACT,
	  S("pos:\t0\nflags:\t02000002\neventfd-count:                7\n") },
	{ "fdinfo: TIMERFD", K_FDINFO, &ck, P1, -1, 23, 0, 0, EXACT,
	  S("pos:\t0\nflags:\t02\nclockid: 1\nticks: 0\nsettime flags: 00\n"
	    "it_value: (3596, 122588871)\nit_interval: (3600, 0)\n") },
	{ "fdinfo: SIGNALFD", K_FDINFO, &ck, P1, -1, 24, 0, 0, EXACT,
	  S("pos:\t0\nflags:\t04002\nsigmask:\t0000000000004a02\n") },
	{ "fdinfo: PIDFD", K_FDINFO, &ck, P1, -1, 29, 1, 0, EXACT, S("pos:\t0\nflags:\t02000002\nino:\t8572\n") },
	{ "fdinfo: unknown id", K_FDINFO, &ck, P1, -1, 1000, 0, -ENOENT, EXACT, S("") },
	{ "fdinfo: damaged files.img is EIO", K_FDINFO, &ck_nofiles, P1, -1, 3, 0, -EIO, EXACT, S("") },
	/* reg paths (cwd, root, exe) */
	{ "reg path: cwd", K_REG_PATH, &ck, P1, -1, 38, 0, 0, EXACT, S("/tmp/work") },
	{ "reg path: exe", K_REG_PATH, &ck, P1, -1, 1, 0, 0, EXACT, S("/usr/bin/workload") },
	{ "reg path: ghost", K_REG_PATH, &ck, P1, -1, 19, 0, 0, EXACT, S("/tmp/work/ghost.txt (deleted)") },
	{ "reg path: not a REG entry", K_REG_PATH, &ck, P1, -1, 4, 0, -ENOENT, EXACT, S("") },
	{ "reg path: missing id", K_REG_PATH, &ck, P1, -1, 999, 0, -ENOENT, EXACT, S("") },
	{ "reg path: damaged files.img", K_REG_PATH, &ck_nofiles, P1, -1, 1, 0, -EIO, EXACT, S("") },
};

static const struct img_file *file_of(const struct ckpt *c, uint32_t id)
{
	size_t i;

	for (i = 0; i < c->n_files; i++)
		if (c->files[i].id == id)
			return &c->files[i];
	return NULL;
}

static int run(const struct tcase *tc, struct ck_buf *out)
{
	const struct ckpt_proc *p = &procs[tc->proc];
	const struct ckpt_thread *t = tc->thread < 0 ? NULL : &p->threads[tc->thread];
	struct img_fdinfo fd = { .fd = 3, .id = tc->id, .type = 0, .flags = tc->fdflags };
	const struct img_file *f;

	switch (tc->kind) {
	case K_STATUS:
		return render_status(tc->ck, p, t, out);
	case K_STAT:
		return render_stat(tc->ck, p, t, out);
	case K_COMM:
		return render_comm(tc->ck, p, t, out);
	case K_CMDLINE:
		return render_cmdline(tc->ck, p, out);
	case K_ENVIRON:
		return render_environ(tc->ck, p, out);
	case K_MAPS:
		return render_maps(tc->ck, p, out);
	case K_LIMITS:
		return render_limits(tc->ck, p, out);
	case K_AUXV:
		return render_auxv(tc->ck, p, out);
	case K_FDINFO:
		return render_fdinfo(tc->ck, p, &fd, out);
	case K_FD_TARGET:
		f = file_of(tc->ck, tc->id);
		return f ? render_fd_target(tc->ck, f, out) : -ENOENT;
	case K_REG_PATH:
		return render_reg_path(tc->ck, tc->id, out);
	}
	return -EINVAL;
}

static void show(const char *what, const char *s, size_t len)
{
	size_t i;

	printf("# %s (%zu bytes): \"", what, len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			printf("\\n\"\n#   \"");
		else if (c == '\t')
			printf("\\t");
		else if (c < 0x20 || c > 0x7e)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("\"\n");
}

static bool check(const struct tcase *tc, int rc, const struct ck_buf *out)
{
	size_t want_len = tc->want_len ? tc->want_len : strlen(tc->want);
	const char *got = out->data ? out->data : "";
	bool found;

	if (rc != tc->rc) {
		printf("# rc %d, want %d\n", rc, tc->rc);
		return false;
	}
	if (rc < 0) {
		if (out->len == 0)
			return true;
		printf("# failed renderer left output behind\n");
		return false;
	}
	switch (tc->match) {
	case EXACT:
		if (out->len == want_len && memcmp(got, tc->want, want_len) == 0)
			return true;
		break;
	case CONTAINS:
	case LACKS:
		found = out->len >= want_len && memmem(got, out->len, tc->want, want_len) != NULL;
		if (found == (tc->match == CONTAINS))
			return true;
		break;
	}
	show("got", got, out->len);
	show(tc->match == LACKS ? "must lack" : "want", tc->want, want_len);
	return false;
}

/* Appending keeps earlier contents: renderers must not clobber the buffer. */
static bool check_append(void)
{
	struct ck_buf out = { 0 };
	bool ok;

	ck_buf_puts(&out, "X");
	ok = render_comm(&ck, &procs[P1], NULL, &out) == 0 && strcmp(out.data, "Xckpt-workload\n") == 0;
	ok = ok && render_maps(&ck, &procs[PBADMM], &out) == -EIO && strcmp(out.data, "Xckpt-workload\n") == 0;
	ck_buf_done(&out);
	return ok;
}

/* stat always has 52 fields, even for zombies. */
static bool check_stat_fields(void)
{
	static const int which[] = { P1, PZOMBIE, PSTOPPED };
	bool ok = true;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(which); i++) {
		struct ck_buf out = { 0 };
		const char *s;
		int n = 2;	/* pid and comm */

		if (render_stat(&ck, &procs[which[i]], NULL, &out) < 0) {
			ok = false;
			continue;
		}
		s = strrchr(out.data, ')') + 1;
		for (; *s; s++)
			n += *s == ' ';
		if (n != 52) {
			printf("# proc %d: %d fields\n", which[i], n);
			ok = false;
		}
		ck_buf_done(&out);
	}
	return ok;
}

int main(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ck_buf out = { 0 };
		int rc = run(&cases[i], &out);

		CHECK(check(&cases[i], rc, &out), "%s", cases[i].name);
		ck_buf_done(&out);
	}
	CHECK(check_append(), "renderers append and roll back on error");
	CHECK(check_stat_fields(), "stat has 52 fields");
	return tap_done();
}
