/* SPDX-License-Identifier: Apache-2.0 */
/* CRIU image decoding. img.c owns the framing (magic words, length-prefixed
 * protobuf records, extras) and copies what ckptfs needs out of each message
 * into the plain structs below; img-json.c renders any image the way
 * `crit decode [--pretty]` does. This is the only module that includes the
 * generated *.pb-c.h headers. Every decoder returns 0 or -errno: -EBADMSG
 * for bad magic, truncated records or protobuf that does not unpack,
 * -ENOMEM. Nothing here logs above debug level. */
#ifndef CK_IMG_H
#define CK_IMG_H

#include "util.h"

/* pagemap entry flags, normalised (old images: PE_PRESENT unless in_parent). */
#define IMG_PE_PARENT 0x1u
#define IMG_PE_LAZY 0x2u
#define IMG_PE_PRESENT 0x4u

/* vma status bits (VMA_*) that the /proc views need. */
#define IMG_VMA_AREA_REGULAR (1u << 0)
#define IMG_VMA_AREA_STACK (1u << 1)
#define IMG_VMA_AREA_VSYSCALL (1u << 2)
#define IMG_VMA_AREA_VDSO (1u << 3)
#define IMG_VMA_AREA_HEAP (1u << 5)
#define IMG_VMA_FILE_PRIVATE (1u << 6)
#define IMG_VMA_FILE_SHARED (1u << 7)
#define IMG_VMA_ANON_SHARED (1u << 8)
#define IMG_VMA_ANON_PRIVATE (1u << 9)
#define IMG_VMA_AREA_SYSVIPC (1u << 10)
#define IMG_VMA_AREA_SOCKET (1u << 11)
#define IMG_VMA_AREA_VVAR (1u << 12)
#define IMG_VMA_AREA_AIORING (1u << 13)
#define IMG_VMA_AREA_MEMFD (1u << 14)

/* vma prot and flags as stored: the kernel's PROT_* and MAP_* values. */
#define IMG_PROT_READ 0x1u
#define IMG_PROT_WRITE 0x2u
#define IMG_PROT_EXEC 0x4u
#define IMG_MAP_SHARED 0x01u
#define IMG_MAP_GROWSDOWN 0x0100u
#define IMG_MAP_LOCKED 0x2000u

/* tc.task_state values, as CRIU writes them (its compel task states 1, 2,
 * 3 and 6, and its own helper and thread states after compel's last,
 * 0x7f). A zombie is written as DEAD; ZOMBIE, the state seizing reports
 * for one, is accepted as a zombie too. */
enum img_task_state {
	IMG_TASK_ALIVE = 1,
	IMG_TASK_DEAD = 2,
	IMG_TASK_STOPPED = 3,
	IMG_TASK_ZOMBIE = 6,
	IMG_TASK_HELPER = 0x80,
	IMG_TASK_THREAD = 0x81,
};

/* remap-fpath.img remap types. */
enum img_remap_type {
	IMG_REMAP_LINKED = 0,
	IMG_REMAP_GHOST = 1,
	IMG_REMAP_PROCFS = 2,
};

/* Protobuf images larger than this are neither loaded nor rendered as JSON
 * (hostile input). */
#define IMG_MAX_SIZE (256u << 20)

/* CRIU fd_types numbers (files.img entry type). */
enum img_fd_type {
	IMG_FD_UND = 0, IMG_FD_REG = 1, IMG_FD_PIPE = 2, IMG_FD_FIFO = 3, IMG_FD_INETSK = 4,
	IMG_FD_UNIXSK = 5, IMG_FD_EVENTFD = 6, IMG_FD_EVENTPOLL = 7, IMG_FD_INOTIFY = 8,
	IMG_FD_SIGNALFD = 9, IMG_FD_PACKETSK = 10, IMG_FD_TTY = 11, IMG_FD_FANOTIFY = 12,
	IMG_FD_NETLINKSK = 13, IMG_FD_NS = 14, IMG_FD_TUNF = 15, IMG_FD_EXT = 16,
	IMG_FD_TIMERFD = 17, IMG_FD_MEMFD = 18, IMG_FD_BPFMAP = 19, IMG_FD_PIDFD = 20,
	IMG_FD_CTL_TTY = 65534, IMG_FD_AUTOFS_PIPE = 65535,
};

/* Identify an image by its file name (basename, e.g. "core-1.img",
 * "stats-dump") and its first bytes. Returns the crit magic name ("CORE",
 * "PAGEMAP", ...) for a protobuf image, or NULL for raw data (pages-*.img,
 * tmpfs-*.tar.gz.img, ...), unknown magics and the types crit cannot decode
 * (SIGNAL, BINFMT_MISC, PIDFD). Only the first 8 bytes of @b are read. */
const char *img_magic_name(const char *name, const struct ck_blob *b);

/* Render @b (the whole file @name) as `crit decode --pretty` (@pretty) or
 * `crit decode` prints it, including the trailing newline, into @out.
 * Returns 0, -EMEDIUMTYPE for a raw or unknown image, -EBADMSG, -ENOMEM. */
int img_render_json(const char *name, const struct ck_blob *b, bool pretty, struct ck_buf *out);

struct img_inventory {
	uint32_t img_version;
	bool fdinfo_per_id;
	bool ns_per_id;
	bool has_root_cg_set;
	uint32_t root_cg_set;
	char *lsmtype;			/* enum name, e.g. "NO_LSM"; NULL if absent */
	char *dump_criu_run_id;		/* NULL if absent */
};
int img_read_inventory(const struct ck_blob *b, struct img_inventory *ret);
void img_inventory_done(struct img_inventory *inv);

struct img_pstree_item {
	uint32_t pid, ppid, pgid, sid;
	uint32_t *threads;
	size_t n_threads;
};
/* All pstree.img entries in file order. */
int img_read_pstree(const struct ck_blob *b, struct img_pstree_item **ret_items, size_t *ret_n);
void img_pstree_free(struct img_pstree_item *items, size_t n);

struct img_creds {
	uint32_t uid, gid, euid, egid, suid, sgid, fsuid, fsgid;
	uint32_t cap_inh[2], cap_prm[2], cap_eff[2], cap_bnd[2], cap_amb[2]; /* [low32, high32] */
	bool has_cap_amb;
	uint32_t secbits;
	uint32_t *groups;
	size_t n_groups;
	bool has_no_new_privs;
	bool no_new_privs;
};

/* x86-64 user_regs_struct, in its order. */
struct img_x86_gpregs {
	uint64_t r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax,
		ip, cs, flags, sp, ss, fs_base, gs_base, ds, es, fs, gs;
	uint32_t mode;			/* 1 native, 2 compat */
};

/* x86 FPU state: the 512-byte fxsave image (user_x86_fpregs_entry) and,
 * when the CPU has XSAVE, the extended components CRIU keeps. Each n_*
 * counts the words the image held, clipped to the array size. */
struct img_x86_fpregs {
	uint32_t cwd, swd, twd, fop;
	uint64_t rip, rdp;
	uint32_t mxcsr, mxcsr_mask;
	uint32_t st_space[32];
	uint32_t xmm_space[64];
	bool has_xsave;
	uint64_t xstate_bv;
	uint32_t ymmh_space[64];	/* AVX: upper halves of ymm0-15 */
	uint64_t bndreg_state[8];	/* MPX bnd0-3 */
	uint64_t bndcsr_state[8];	/* MPX bndcfgu, bndstatus */
	uint64_t opmask_reg[8];		/* AVX-512 k0-7 */
	uint64_t zmm_upper[64];		/* AVX-512 upper halves of zmm0-15 */
	uint64_t hi16_zmm[128];		/* AVX-512 zmm16-31 */
	uint32_t pkru[2];
	size_t n_ymmh_space, n_bndreg_state, n_bndcsr_state, n_opmask_reg, n_zmm_upper,
		n_hi16_zmm, n_pkru;
};

struct img_core {
	uint32_t mtype;			/* 1 X86_64, 2 ARM, 3 AARCH64, ... */
	/* task_core_entry (thread-group leader only) */
	bool has_tc;
	uint32_t task_state;		/* enum img_task_state */
	uint32_t exit_code;
	uint32_t personality;
	uint32_t flags;			/* task flags (PF_*) */
	bool has_tc_blk_sigset;
	uint64_t tc_blk_sigset;
	char *tc_comm;
	bool has_stop_signo;
	uint32_t stop_signo;
	bool has_loginuid;
	uint32_t loginuid;
	bool has_oom_score_adj;
	int32_t oom_score_adj;
	size_t n_rlimits;		/* 0 when tc.rlimits is absent */
	uint64_t rlim_cur[32], rlim_max[32];
	size_t n_sigactions;		/* SIGMAX-2 entries: signals 1..64 without 9 and 19 */
	uint64_t sigaction_handler[64];
	uint64_t shdpnd;		/* OR of 1 << (signo - 1) over tc.signals_s */
	bool has_child_subreaper;
	bool child_subreaper;
	/* thread_core_entry */
	bool has_thread_core;
	bool has_blk_sigset;
	uint64_t blk_sigset;
	char *comm;			/* thread_core.comm, NULL if absent */
	bool has_sched_nice;
	int32_t sched_nice;
	bool has_sched_policy;
	uint32_t sched_policy;
	bool has_sched_prio;
	uint32_t sched_prio;
	bool has_seccomp_mode;
	uint32_t seccomp_mode;		/* 0 disabled, 1 strict, 2 filter */
	bool has_seccomp_filter;
	uint32_t seccomp_filter;	/* index into seccomp.img seccomp_filters */
	bool has_creds;
	struct img_creds creds;
	uint64_t sigpnd;		/* OR of 1 << (signo - 1) over thread_core.signals_p */
	bool has_cg_set;
	uint32_t cg_set;
	bool has_pdeath_sig;
	uint32_t pdeath_sig;
	/* thread_info (x86-64) */
	bool has_regs;
	struct img_x86_gpregs gpregs;
	uint64_t clear_tid_addr;
	bool has_fpregs;
	struct img_x86_fpregs fpregs;
};
int img_read_core(const struct ck_blob *b, struct img_core **ret_core);
void img_core_free(struct img_core *c);
DEFINE_CLEANUP(img_core_freep, struct img_core, img_core_free)

struct img_vma {
	uint64_t start, end;
	uint64_t pgoff;			/* bytes */
	uint64_t shmid;
	uint32_t prot;			/* PROT_* */
	uint32_t flags;			/* MAP_* */
	uint32_t status;		/* IMG_VMA_* */
	int32_t fd;
};

struct img_mm {
	uint64_t mm_start_code, mm_end_code, mm_start_data, mm_end_data;
	uint64_t mm_start_stack, mm_start_brk, mm_brk;
	uint64_t mm_arg_start, mm_arg_end, mm_env_start, mm_env_end;
	uint32_t exe_file_id;
	uint64_t *auxv;			/* mm_saved_auxv words, as stored */
	size_t n_auxv;
	struct img_vma *vmas;		/* in image order (ascending) */
	size_t n_vmas;
	bool has_dumpable;
	uint32_t dumpable;
};
int img_read_mm(const struct ck_blob *b, struct img_mm **ret_mm);
void img_mm_free(struct img_mm *mm);
DEFINE_CLEANUP(img_mm_freep, struct img_mm, img_mm_free)

struct img_fs {
	uint32_t cwd_id, root_id;
	bool has_umask;
	uint32_t umask;
};
int img_read_fs(const struct ck_blob *b, struct img_fs *ret);

/* task_kobj_ids_entry; has_* says which ids were present. */
struct img_ids {
	uint32_t vm_id, files_id, fs_id, sighand_id;
	bool has_pid_ns_id, has_net_ns_id, has_ipc_ns_id, has_uts_ns_id, has_mnt_ns_id,
		has_user_ns_id, has_cgroup_ns_id, has_time_ns_id;
	uint32_t pid_ns_id, net_ns_id, ipc_ns_id, uts_ns_id, mnt_ns_id, user_ns_id,
		cgroup_ns_id, time_ns_id;
};
int img_read_ids(const struct ck_blob *b, struct img_ids *ret);

struct img_fdinfo {
	uint32_t fd;
	uint32_t id;			/* files.img id */
	uint32_t type;			/* enum img_fd_type */
	uint32_t flags;			/* bit 0: FD_CLOEXEC */
};
int img_read_fdinfo(const struct ck_blob *b, struct img_fdinfo **ret_fds, size_t *ret_n);

struct img_pagemap_entry {
	uint64_t vaddr;
	uint64_t nr_pages;		/* field 5 when present, else field 2 */
	uint32_t flags;			/* IMG_PE_* */
};
struct img_pagemap {
	uint32_t pages_id;
	struct img_pagemap_entry *entries;	/* file order */
	size_t n_entries;
};
int img_read_pagemap(const struct ck_blob *b, struct img_pagemap *ret);
void img_pagemap_done(struct img_pagemap *pm);

/* One eventpoll target (eventpoll_tfd_entry). */
struct img_epoll_tfd {
	uint32_t tfd;
	uint32_t events;
	uint64_t data;
	bool has_dev, has_inode, has_pos;
	uint32_t dev;
	uint64_t inode;
	uint64_t pos;
};

/* One files.img entry, flattened. Fields not meaningful for a type stay 0/NULL. */
struct img_file {
	uint32_t id;
	uint32_t type;			/* enum img_fd_type */
	uint32_t flags;			/* open flags as stored (O_CLOEXEC lives in fdinfo) */
	uint64_t pos;
	char *name;			/* REG: path; NS: ns kind name if known */
	bool has_mnt_id;
	int32_t mnt_id;
	bool has_size;
	uint64_t size;
	bool has_mode;
	uint32_t mode;
	uint32_t ino;			/* PIPE/FIFO: pipe_id; sockets: ino; PIDFD: ino */
	uint32_t regf_id;		/* FIFO, TTY: REG entry with the path */
	uint32_t memfd_inode_id;	/* MEMFD */
	/* sockets */
	uint32_t sk_family, sk_type, sk_proto, sk_state;
	uint32_t src_port, dst_port;
	uint32_t src_addr[4], dst_addr[4];	/* as stored (network order in each word) */
	size_t n_src_addr, n_dst_addr;
	bool has_ns_id;
	uint32_t ns_id;
	uint32_t peer;			/* unix: peer ino */
	uint32_t backlog;
	uint8_t *sk_name;		/* unix: name bytes (may hold NULs); NULL if absent */
	size_t sk_name_len;
	bool has_name_dir;
	char *sk_name_dir;
	/* eventfd / signalfd / timerfd */
	uint64_t efd_counter;
	uint64_t sigmask;
	uint32_t clockid;
	uint64_t ticks;
	uint32_t settime_flags;
	uint64_t vsec, vnsec, isec, insec;
	/* eventpoll targets */
	struct img_epoll_tfd *tfds;
	size_t n_tfds;
	uint32_t tty_info_id;		/* TTY: tty-info.img id */
	uint32_t ns_cflag;		/* NS: CLONE_NEW* of the namespace */
};
/* All files.img entries in file order. */
int img_read_files(const struct ck_blob *b, struct img_file **ret_files, size_t *ret_n);
void img_files_free(struct img_file *files, size_t n);

/* remap-fpath.img: orig_id -> remap_id with a type (enum img_remap_type). */
struct img_remap {
	uint32_t orig_id, remap_id, type;
};
int img_read_remaps(const struct ck_blob *b, struct img_remap **ret, size_t *ret_n);

/* memfd.img inode entries. */
struct img_memfd {
	uint32_t inode_id;
	char *name;
	uint64_t size;
	uint32_t shmid;
	uint32_t seals;
};
int img_read_memfds(const struct ck_blob *b, struct img_memfd **ret, size_t *ret_n);
void img_memfds_free(struct img_memfd *m, size_t n);

/* seccomp.img: for each filter, the index of its prev filter or -1. Links
 * out of range and cycles give -EBADMSG, so following prev always ends. */
int img_read_seccomp_chain(const struct ck_blob *b, int64_t **ret_prev, size_t *ret_n);

/* Why the image @name (basename, e.g. "pstree.img") with content @b does not
 * decode: a static phrase ("bad magic", "truncated record", "undecodable
 * record", "no entries", ...), or NULL when its framing and records are
 * sound or its kind is not one the model reads. For error messages. */
const char *img_explain(const char *name, const struct ck_blob *b);

/* ---- namespaces, cgroups, TCP queues (img-ns.c) ---- */

/* One mountpoints-<ns>.img entry (mnt_entry). Strings are never NULL for
 * the required fields; @fsname is NULL when absent. */
struct img_mnt {
	uint32_t mnt_id, parent_mnt_id;
	uint32_t root_dev;		/* kernel dev_t: major << 20 | minor */
	uint32_t fstype;		/* CRIU fstype enum: 0 unsupported (name lost), 16 auto (see fsname) */
	uint32_t flags;			/* MS_* of the mount, propagation bits included */
	bool has_sb_flags;
	uint32_t sb_flags;		/* MS_* of the superblock (MS_RDONLY, ...) */
	bool has_shared_id, has_master_id;
	uint32_t shared_id, master_id;
	char *root, *mountpoint, *source;	/* unescaped */
	char *options;			/* superblock options without rw/ro, as mountinfo spelled them */
	char *fsname;
};
/* All entries in file order (CRIU writes children before parents). */
int img_read_mnts(const struct ck_blob *b, struct img_mnt **ret, size_t *ret_n);
void img_mnts_free(struct img_mnt *m, size_t n);

/* cgroup.img: one cg_set_entry and its members (controller name, path). */
struct img_cg_member {
	char *name;			/* "cpu", "name=systemd", "" for the v2 hierarchy */
	char *path;
	bool has_cgns_prefix;
	uint32_t cgns_prefix;
};
struct img_cg_set {
	uint32_t id;
	struct img_cg_member *ctls;
	size_t n_ctls;
};
/* Every set of every cgroup.img record, in file order. */
int img_read_cg_sets(const struct ck_blob *b, struct img_cg_set **ret, size_t *ret_n);
void img_cg_sets_free(struct img_cg_set *s, size_t n);

/* tcp-stream-<ino hex>.img: the queue lengths of its first entry. -EBADMSG
 * also when the queue bytes the lengths announce are missing. */
struct img_tcp_stream {
	uint32_t inq_len, outq_len;
};
int img_read_tcp_stream(const struct ck_blob *b, struct img_tcp_stream *ret);

/* inventory.img root_ids (the namespaces of the dumping criu's tree root).
 * Returns 0, -ENOENT when the field is absent, -EBADMSG. */
int img_read_root_ids(const struct ck_blob *b, struct img_ids *ret);

/* Data behind file descriptors (docs/formats.md §8), img-content.c. The scanners
 * read pipes-data.img, fifo-data.img, sk-queues.img, tcp-stream-*.img and
 * ghost-file-*.img record by record through @src and report where each extra
 * payload lies in the image; they never read the payload itself. */
struct img_src {
	/* Copy up to @len bytes at @off of the image: the count or -errno. */
	ssize_t (*read)(const void *ctx, void *buf, size_t len, uint64_t off);
	const void *ctx;
	uint64_t size;			/* the image's byte size */
};

/* One extra: @len bytes at offset @off of the image. @err is -EBADMSG when
 * they run past its end. */
struct img_data_rec {
	uint32_t key;			/* pipe_id (pipes/fifo-data), id_for (sk-queues) */
	uint64_t off, len;
	int err;
};
struct img_data_recs {
	struct img_data_rec *recs;	/* file order */
	size_t n;
	bool truncated;			/* the framing breaks after recs[n - 1]: records may be lost */
};
/* pipes-data.img (or fifo-data.img when @fifo). Returns 0 with the records
 * found before any damage, -EBADMSG (bad magic), -EIO, -ENOMEM. Free with
 * img_data_recs_done(). */
int img_scan_pipe_data(const struct img_src *src, bool fifo, struct img_data_recs *ret);
/* sk-queues.img, one record per queued packet. Same returns. */
int img_scan_sk_queues(const struct img_src *src, struct img_data_recs *ret);
void img_data_recs_done(struct img_data_recs *r);

/* tcp-stream-<ino hex>.img: where its receive and send queues lie (key
 * unused). Returns 0, -EBADMSG when the entry itself is bad, -EIO, -ENOMEM. */
struct img_tcp_queues {
	struct img_data_rec inq, outq;
};
int img_scan_tcp_stream(const struct img_src *src, struct img_tcp_queues *ret);

/* ghost-file-<id hex>.img: the deleted file's bytes [off, off + len) are at
 * @img_off of the image; what no chunk covers reads as zeros. */
struct img_ghost_chunk {
	uint64_t off, len, img_off;
};
struct img_ghost {
	uint32_t mode;
	bool chunked;
	uint64_t size;			/* chunked: `size` (else the end of the last chunk); raw: data to EOF */
	struct img_ghost_chunk *chunks;	/* ascending, disjoint, none empty */
	size_t n_chunks;
	int err;			/* -EBADMSG: a chunk runs past the image, overlaps or the list breaks */
};
/* Returns 0, -EBADMSG when the ghost_file_entry is bad, -EIO, -ENOMEM. Free
 * with img_ghost_done(). */
int img_scan_ghost(const struct img_src *src, struct img_ghost *ret);
void img_ghost_done(struct img_ghost *g);

#endif
