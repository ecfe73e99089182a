/* SPDX-License-Identifier: MIT */
/* Store: lock the firewalld directory, read direct.xml safely, replace it atomically with a backup.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <tproxy-firewalld/diag.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TpfwLock TpfwLock;

/*
 * Takes an exclusive advisory lock (flock) on the directory dir itself, so no lock file is left
 * behind and a lock held by a dead process is released by the kernel. Waits up to timeout_ms
 * (negative: forever). Returns 0, -ETIMEDOUT, or -errno from opening dir (diag filled).
 */
int tpfw_store_lock(const char *dir, int timeout_ms, TpfwLock **ret, TpfwDiag *diag);
/* Releases and frees the lock. NULL is accepted; returns NULL. */
TpfwLock *tpfw_store_unlock(TpfwLock *lock);

typedef enum TpfwStoreFlags {
        TPFW_STORE_FOLLOW_SYMLINK = 1u << 0, /* accept direct.xml being a symlink */
} TpfwStoreFlags;

/*
 * Reads path whole. A missing file gives 0 with *ret_exists false and *ret_data NULL. Refuses a
 * symlink (-ELOOP, unless TPFW_STORE_FOLLOW_SYMLINK), a non-regular file (-EISDIR/-EINVAL), a file
 * over max_size (-EFBIG) and NUL bytes (-EINVAL) unless it starts with a UTF-16 byte order mark.
 * *ret_data is NUL-terminated; free with free().
 */
int tpfw_store_read(const char *path, unsigned flags, size_t max_size, char **ret_data,
                    size_t *ret_len, bool *ret_exists, TpfwDiag *diag);

/*
 * Replaces path with data atomically: a temporary file in the same directory
 * (O_EXCL|O_CLOEXEC|O_NOFOLLOW), the old file's mode, owner and extended attributes (SELinux
 * label, ACL, user.*; new file: 0644), fsync, the old file copied to "<path>.old" (firewalld's
 * convention, when it existed; always a separate file, never a link to path), rename over path,
 * fsync of the directory. Stale temporary files of earlier crashed runs are removed first.
 * Returns 0 or -errno with diag. On success diag holds a warning (message starting "warning: ")
 * when a security.* attribute could not be set on the new file (a filesystem or policy without
 * it); the write itself is done.
 */
int tpfw_store_write(const char *path, const char *data, size_t len, unsigned flags,
                     TpfwDiag *diag);

/*
 * Removes the temporary files that runs killed mid-write left next to path (the same ones
 * tpfw_store_write() removes first), so a run that writes nothing still clears them. Call with
 * the lock held: a live run's temporary file is never stale.
 */
void tpfw_store_remove_stale(const char *path);

/*
 * Puts back a previous state for rollback: data (existed true) is written as tpfw_store_write()
 * does but without touching "<path>.old"; existed false removes path.
 */
int tpfw_store_restore(const char *path, bool existed, const char *data, size_t len,
                       TpfwDiag *diag);

#ifdef __cplusplus
}
#endif
