/* SPDX-License-Identifier: Apache-2.0 */
/* The container engine's files in a checkpoint archive: config.dump and
 * spec.dump (JSON the engine wrote at checkpoint time), network.status
 * (Podman's per-network addresses) and deleted.files (a JSON list of paths
 * removed from the image). Parsed with json-c into plain C strings that
 * struct spec_info owns. */
#ifndef CK_SPEC_H
#define CK_SPEC_H

#include "arc.h"
#include "util.h"

struct spec_kv {
	char *key, *value;
};

struct spec_mount {
	char *destination, *type, *source;
};

struct spec_iface {
	char *network;		/* "podman" */
	char *name;		/* "eth0" */
	char *ip;		/* the last subnet's ipnet, "10.88.0.8/16", as
				 * checkpointctl shows it per interface; NULL if none */
	char *addrs;		/* every subnet's address without its prefix
				 * length, ", "-joined: "10.88.0.8"; NULL if none */
	char *gateway;
	char *mac;
};

struct spec_info {
	/* config.dump */
	char *id;
	char *config_name;		/* "name" */
	char *image;			/* "rootfsImageName" */
	char *runtime;			/* "runtime" */
	char *created_time;		/* "createdTime", as written */
	char *checkpointed_time;	/* "checkpointedTime", as written; NULL if absent */
	/* spec.dump */
	struct spec_kv *annotations;	/* in file order */
	size_t n_annotations;
	struct spec_mount *mounts;
	size_t n_mounts;
	char *cgroups_path;		/* "linux"."cgroupsPath"; NULL if absent */
	/* set by the caller: when the archive says the checkpoint was taken
	 * (seconds; 0 unknown), for spec_checkpoint_time() without a
	 * checkpointedTime */
	int64_t archive_time;
	/* network.status, sorted by network, then interface name */
	struct spec_iface *ifaces;
	size_t n_ifaces;
	/* the container image the checkpoint was read from (arc_image());
	 * borrowed, not freed by spec_info_done(); NULL for other inputs.
	 * containerd's checkpoint index (oci->containerd) is containerd's
	 * whatever spec.dump's annotations say (spec_engine()) */
	const struct arc_image *oci;
};

/* Add what config.dump / spec.dump / network.status in @b say to @info.
 * Returns 0, -EBADMSG (not JSON or not an object) or -ENOMEM; on failure
 * @info keeps what it had. */
int spec_parse_config(const struct ck_blob *b, struct spec_info *info);
int spec_parse_spec(const struct ck_blob *b, struct spec_info *info);
int spec_parse_network(const struct ck_blob *b, struct spec_info *info);
/* containerd's checkpoint index (@info->oci->containerd) has no
 * config.dump: where config.dump said nothing, take the container's image
 * (ARC_ANN_REF) and runtime (ARC_ANN_CTRD_RUNTIME) from the index's
 * annotations, and its id from spec.dump's linux.cgroupsPath when that has
 * the shape containerd gives it ("/NAMESPACE/ID", or "SLICE:cri-containerd:ID"
 * from its CRI with systemd cgroups). Call after spec_parse_spec(); a no-op
 * for other inputs. Returns 0 or -ENOMEM. */
int spec_parse_ctrd(struct spec_info *info);
/* Release what @info owns and zero it. Accepts NULL. */
void spec_info_done(struct spec_info *info);

/* The value of annotation @key, or NULL; borrowed from @info. */
const char *spec_annotation(const struct spec_info *info, const char *key);

/* Who wrote the checkpoint, from the annotation io.container.manager as
 * checkpointctl reads it: "libpod" is Podman, "cri-o" CRI-O, anything else
 * containerd. The strings are static. */
const char *spec_engine(const struct spec_info *info);

/* The container as its engine names it (Podman: config "name"; CRI-O: the
 * "name" of the io.kubernetes.cri-o.Metadata JSON; containerd:
 * io.kubernetes.cri.container-name, else for its checkpoint index the
 * container's id, the only name `ctr` gives), the pod, the Kubernetes namespace and
 * the creation time (Podman, containerd: createdTime; CRI-O:
 * io.kubernetes.cri-o.Created). Each is malloc'ed, or NULL when unknown.
 * Returns 0 or -ENOMEM. */
int spec_container_name(const struct spec_info *info, char **ret);
const char *spec_pod_name(const struct spec_info *info);
const char *spec_namespace(const struct spec_info *info);
const char *spec_created(const struct spec_info *info);

/* @ts (RFC 3339 with optional fractional seconds) as Go's time.RFC3339
 * prints it: seconds only, "Z" or "+hh:mm". Writes into @out (@size bytes)
 * and returns 0, or -EINVAL when @ts is not such a time or is Go's zero time
 * (year 1). */
int spec_rfc3339(const char *ts, char *out, size_t size);

/* @ts (RFC 3339, as spec_rfc3339() accepts it) as seconds since the epoch
 * into *@ret. Returns 0 or -EINVAL. */
int spec_epoch(const char *ts, int64_t *ret);

/* deleted.files holds one JSON string per path; larger is not a list. */
#define SPEC_DELETED_MAX (16u << 20)

/* The checkpoint's time, in seconds (0 unknown): the one rule for
 * container.json's "checkpointed" and /stat's btime. The engine's own
 * record, config.dump's checkpointedTime, when it is a valid time (what
 * checkpointctl, podman inspect and crictl show); else, for containerd's
 * checkpoint index, what its criu.tar blob records (@info->oci->ctrd_time:
 * its stats-dump's mtime, else its newest member's; never the blob files'
 * mtimes); else @info->archive_time, what the archive records (the
 * caller's: stats-dump's mtime, which CRIU writes as the dump ends, else
 * the newest member's). @ret_engine (may be NULL): whether it is the
 * engine's record. */
int64_t spec_checkpoint_time(const struct spec_info *info, bool *ret_engine);

/* deleted.files (a JSON array of strings) as text, one path a line.
 * Returns 0, -EBADMSG or -ENOMEM. */
int spec_render_deleted(const struct ck_blob *b, struct ck_buf *out);

/* CRIU's dump statistics (stats-dump), the fields checkpointctl shows. */
struct spec_stats {
	uint32_t freezing_time, frozen_time, memdump_time, memwrite_time;
	uint64_t pages_scanned, pages_written;
};
/* Read the statistics from the crit-style JSON of stats-dump (@b, as
 * img_render_json() prints it). Returns 0 or -EBADMSG. */
int spec_parse_stats(const struct ck_blob *b, struct spec_stats *ret);

/* Byte counts of the archive, as checkpointctl sums them: regular members
 * of the images directory, its pages-*.img, and rootfs-diff.tar. */
struct spec_sizes {
	uint64_t total, pages, rootfs_diff;
};

/* One process for the process tree; all strings borrowed by the caller. */
struct spec_proc {
	uint32_t pid, ppid;
	const char *comm;
	const char *cmdline;	/* arguments joined by spaces; NULL if unknown */
	const char *task_state;	/* the state's name as checkpointctl shows it ("Alive", ...) */
	bool live;		/* alive or stopped: has memory, so cmdline and children are shown */
};

/* Process levels in "process_tree" of /container.json. jq 1.6 (Debian
 * 12's) refuses to open an object or array once its parser holds 256
 * entries, where an open object counts once and once more for the key
 * being read: the document and "process_tree" take 2, each process level 3
 * (its object, "children" and the array), so the object of the process at
 * level d opens at 2 + 3 * d, and 85 levels would be the most jq reads.
 * 64 levels (the deepest object opening at 191) leave 64 levels to spare
 * for a document that embeds container.json (jq -s, a list of inspect
 * outputs), and match the indentation of /ps. A process whose children
 * are cut says how many processes are below it; /ps lists them. */
#define SPEC_PS_LEVELS_MAX 64

/* What "process_tree" leaves out: processes below SPEC_PS_LEVELS_MAX
 * levels, processes below one that is not alive (whose children are not
 * shown), and processes outside the first root's tree. */
struct spec_ps_left_out {
	size_t deep, not_live, other_trees;
};
/* Count them for @procs (@n, any order) into @ret. Returns 0 or -ENOMEM. */
int spec_ps_tree_left_out(const struct spec_proc *procs, size_t n, struct spec_ps_left_out *ret);

/* /container.json: one element of `checkpointctl inspect --format json --all`,
 * with its key names (README.md lists them), plus "oci_image" (format,
 * reference, manifest digest, created, annotations) when @info->oci is set. @stats may be NULL; @procs
 * (@n_procs, any order) build "process_tree" from the first process whose
 * parent is not among them; what that tree leaves out is counted in it
 * ("descendants_left_out" of a process whose children are cut) and in
 * "process_tree_left_out". Returns 0 or -ENOMEM. */
int spec_render_container(const struct spec_info *info, const struct spec_sizes *sizes,
			  const struct spec_stats *stats, const struct spec_proc *procs, size_t n_procs,
			  struct ck_buf *out);

/* The top-level keys of /container.json that describe the dump rather
 * than the container: when and how it was taken, how large it is, and the
 * process tree (which the processes themselves show). NULL-ended. */
extern const char *const spec_dump_keys[];

#endif
