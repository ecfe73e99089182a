/* SPDX-License-Identifier: MIT */
/* Store: directory lock, safe read and atomic replace of direct.xml with firewalld's .old backup.
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

#include <tproxy-firewalld/store.h>

#include "util.h"

#define TEMP_INFIX ".tpfw-"

struct TpfwLock {
        int fd;
};

int tpfw_store_lock(const char *dir, int timeout_ms, TpfwLock **ret, TpfwDiag *diag)
{
        _cleanup_close_ int fd = -1;
        gint64 deadline =
                timeout_ms < 0 ? G_MAXINT64 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
        TpfwLock *lock;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return tpfw_diag_set(diag, errno, dir, 0, "cannot open directory: %s",
                                     g_strerror(errno));
        for (;;) {
                int r = tpfw_fault("lock");
                if (r < 0)
                        return tpfw_diag_set(diag, -r, dir, 0, "cannot lock: %s", g_strerror(-r));
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        break;
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return tpfw_diag_set(diag, errno, dir, 0, "cannot lock: %s",
                                             g_strerror(errno));
                if (g_get_monotonic_time() >= deadline)
                        return tpfw_diag_set(diag, ETIMEDOUT, dir, 0,
                                             "another tproxy-firewalld run holds the lock; gave "
                                             "up after %d ms",
                                             timeout_ms);
                g_usleep(10 * 1000);
        }
        lock = g_new0(TpfwLock, 1);
        lock->fd = fd;
        fd = -1;
        *ret = lock;
        return 0;
}

TpfwLock *tpfw_store_unlock(TpfwLock *lock)
{
        if (!lock)
                return NULL;
        close(lock->fd); /* releases the flock */
        g_free(lock);
        return NULL;
}

/* UTF-16 as expat recognises it: a byte order mark, or "<" and a zero byte in either order. */
static bool is_utf16(const char *data, size_t len)
{
        const unsigned char *d = (const unsigned char *)data;

        return len >= 2 && ((d[0] == 0xFF && d[1] == 0xFE) || (d[0] == 0xFE && d[1] == 0xFF) ||
                            (d[0] == '<' && d[1] == 0) || (d[0] == 0 && d[1] == '<'));
}

int tpfw_store_read(const char *path, unsigned flags, size_t max_size, char **ret_data,
                    size_t *ret_len, bool *ret_exists, TpfwDiag *diag)
{
        _cleanup_close_ int fd = -1;
        g_autofree char *data = NULL;
        struct stat st;
        size_t len = 0;
        int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
        int r;

        if (!(flags & TPFW_STORE_FOLLOW_SYMLINK))
                oflags |= O_NOFOLLOW;
        r = tpfw_fault("read");
        if (r < 0)
                return tpfw_diag_set(diag, -r, path, 0, "cannot read: %s", g_strerror(-r));
        fd = open(path, oflags);
        if (fd < 0) {
                if (errno == ENOENT) {
                        *ret_data = NULL;
                        *ret_len = 0;
                        *ret_exists = false;
                        return 0;
                }
                if (errno == ELOOP)
                        return tpfw_diag_set(diag, ELOOP, path, 0,
                                             "is a symbolic link; refusing to follow it "
                                             "(--follow-symlink allows it)");
                return tpfw_diag_set(diag, errno, path, 0, "cannot open: %s", g_strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                /* cppcheck-suppress resourceLeak ; fd is _cleanup_close_ */
                return tpfw_diag_set(diag, errno, path, 0, "cannot stat: %s", g_strerror(errno));
        if (S_ISDIR(st.st_mode))
                /* cppcheck-suppress resourceLeak ; fd is _cleanup_close_ */
                return tpfw_diag_set(diag, EISDIR, path, 0, "is a directory, not a file");
        if (!S_ISREG(st.st_mode))
                /* cppcheck-suppress resourceLeak ; fd is _cleanup_close_ */
                return tpfw_diag_set(diag, EINVAL, path, 0, "is not a regular file");
        if ((uint64_t)st.st_size > max_size)
                /* cppcheck-suppress resourceLeak ; fd is _cleanup_close_ */
                return tpfw_diag_set(diag, EFBIG, path, 0,
                                     "is too large (%jd bytes; the limit is %zu)",
                                     (intmax_t)st.st_size, max_size);
        data = g_malloc((size_t)st.st_size + 1);
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, data + len, (size_t)st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return tpfw_diag_set(diag, errno, path, 0, "cannot read: %s",
                                             g_strerror(errno));
                if (n == 0)
                        break; /* shrank while reading: take what is there */
                len += (size_t)n;
        }
        data[len] = '\0';
        /* NUL bytes have no place in an XML text file, except as part of a UTF-16 one */
        if (!is_utf16(data, len) && memchr(data, '\0', len)) {
                size_t off = (size_t)((char *)memchr(data, '\0', len) - data);
                unsigned line = 1;
                for (size_t i = 0; i < off; i++)
                        line += data[i] == '\n';
                return tpfw_diag_set(diag, EINVAL, path, line,
                                     "contains a NUL byte (offset %zu); not an XML text file", off);
        }
        *ret_data = g_steal_pointer(&data);
        *ret_len = len;
        *ret_exists = true;
        return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Temporary files of this tool for base: ".<base>.tpfw-XXXXXX". */
static void remove_stale_temps(int dirfd, const char *base)
{
        g_autofree char *prefix = g_strconcat(".", base, TEMP_INFIX, NULL);
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;
        struct dirent *de;

        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
        while ((de = readdir(d)))
                if (g_str_has_prefix(de->d_name, prefix))
                        (void)unlinkat(dirfd, de->d_name, 0);
        closedir(d);
}

void tpfw_store_remove_stale(const char *path)
{
        g_autofree char *dir = g_path_get_dirname(path);
        g_autofree char *base = g_path_get_basename(path);
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dirfd >= 0)
                remove_stale_temps(dirfd, base);
}

/* Writes data to a new temporary file in dirfd with the given mode/owner; returns its name. */
/*
 * Copies the extended attributes of src to dst: the SELinux label, the ACL
 * (system.posix_acl_access), user.* and any other the filesystem lists. A security.* one that
 * cannot be set (a filesystem or policy without it) is added to warnings and skipped; any other
 * failure is returned as -errno.
 */
static int copy_xattrs(int src, int dst, GString *warnings)
{
        g_autofree char *names = NULL;
        ssize_t n = flistxattr(src, NULL, 0);

        if (n < 0)
                return errno == ENOTSUP ? 0 : -errno;
        if (n == 0)
                return 0;
        names = g_malloc((size_t)n);
        n = flistxattr(src, names, (size_t)n);
        if (n < 0)
                return -errno;
        for (char *name = names; name < names + n; name += strlen(name) + 1) {
                g_autofree char *value = NULL;
                ssize_t vlen = fgetxattr(src, name, NULL, 0);
                int r = 0;

                if (vlen >= 0) {
                        value = g_malloc((size_t)vlen + 1);
                        vlen = fgetxattr(src, name, value, (size_t)vlen);
                }
                if (vlen < 0)
                        r = -errno;
                if (r == 0 && g_str_has_prefix(name, "security."))
                        r = tpfw_fault("xattr-security") < 0 ? -EOPNOTSUPP : 0;
                if (r == 0 && fsetxattr(dst, name, value, (size_t)vlen, 0) < 0)
                        r = -errno;
                if (r < 0 && !g_str_has_prefix(name, "security."))
                        return r;
                if (r < 0)
                        g_string_append_printf(warnings, "%s%s (%s)", warnings->len ? ", " : "",
                                               name, g_strerror(-r));
        }
        return 0;
}

/* Copies the contents of src (from its start) to dst. */
static int copy_contents(int src, int dst)
{
        char buf[65536];

        for (;;) {
                ssize_t n = read(src, buf, sizeof(buf));
                int r;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                r = write_all(dst, buf, (size_t)n);
                if (r < 0)
                        return r;
        }
}

/*
 * Writes a new temporary file in dirfd: data, or with data NULL the contents of srcfd. With srcfd
 * (the file being replaced, or -1) it takes that file's mode, owner and extended attributes,
 * otherwise mode 0644; keep_times also copies its times (for the backup). Returns its name.
 */
static int write_temp(int dirfd, const char *path, const char *base, const char *data, size_t len,
                      int srcfd, bool keep_times, GString *warnings, char **ret_name,
                      TpfwDiag *diag)
{
        struct stat st = {.st_mode = 0644};
        g_autofree char *name = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        for (int attempt = 0; attempt < 100; attempt++) {
                g_free(name);
                name = g_strdup_printf(".%s%s%06x", base, TEMP_INFIX, g_random_int() & 0xffffff);
                /* the backup's copy has fault points of its own: temp-create@2 etc. stay the
                 * rollback's write */
                r = tpfw_fault(keep_times ? "backup-create" : "temp-create");
                if (r < 0)
                        return tpfw_diag_set(diag, -r, path, 0, "cannot create temporary file: %s",
                                             g_strerror(-r));
                fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                            0600);
                if (fd >= 0 || errno != EEXIST)
                        break;
        }
        if (fd < 0)
                return tpfw_diag_set(diag, errno, path, 0, "cannot create temporary file: %s",
                                     g_strerror(errno));
        r = tpfw_fault(keep_times ? "backup-write" : "temp-write");
        if (r == 0 && srcfd >= 0 && fstat(srcfd, &st) < 0)
                r = -errno;
        if (r == 0)
                r = data ? write_all(fd, data, len) : copy_contents(srcfd, fd);
        if (r == 0 && fchmod(fd, st.st_mode & 07777) < 0)
                r = -errno;
        if (r == 0 && srcfd >= 0 && fchown(fd, st.st_uid, st.st_gid) < 0)
                r = -errno;
        /* after fchown, which drops security.capability, and fchmod, which an ACL adjusts */
        if (r == 0 && srcfd >= 0)
                r = copy_xattrs(srcfd, fd, warnings);
        if (r == 0 && keep_times &&
            futimens(fd, (const struct timespec[2]){st.st_atim, st.st_mtim}) < 0)
                r = -errno;
        if (r == 0)
                r = tpfw_fault(keep_times ? "backup-fsync" : "fsync");
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(dirfd, name, 0);
                return tpfw_diag_set(diag, -r, path, 0, "cannot write the %s: %s",
                                     data ? "new version" : "backup", g_strerror(-r));
        }
        *ret_name = g_steal_pointer(&name);
        return 0;
}

/* Renames the temporary file tmp to name (fault point fault); removes tmp when that fails. */
static int rename_temp(int dirfd, const char *tmp, const char *name, const char *fault)
{
        int r = tpfw_fault(fault);

        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0)
                (void)unlinkat(dirfd, tmp, 0);
        return r;
}

/*
 * Keeps the file being replaced (srcfd) as <base>.old, as firewalld does: a copy under a temporary
 * name, renamed over .old. The backup is its own inode at every moment, never a link to the live
 * file, so a failed or interrupted final rename cannot leave .old and the file the same file
 * (firewalld's own writer then refuses to back up, and the backup would be no backup).
 */
static int keep_backup(int dirfd, const char *target, const char *base, int srcfd,
                       GString *warnings, TpfwDiag *diag)
{
        g_autofree char *old = g_strconcat(base, ".old", NULL);
        g_autofree char *oldtmp = NULL;
        int r;

        r = write_temp(dirfd, target, base, NULL, 0, srcfd, true, warnings, &oldtmp, diag);
        if (r < 0)
                return r;
        r = rename_temp(dirfd, oldtmp, old, "backup");
        if (r < 0)
                return tpfw_diag_set(diag, -r, target, 0, "cannot keep the backup %s.old: %s",
                                     target, g_strerror(-r));
        return 0;
}

static int replace(const char *path, const char *data, size_t len, unsigned flags, bool backup,
                   TpfwDiag *diag)
{
        g_autofree char *target = NULL;
        g_autofree char *dir = NULL;
        g_autofree char *base = NULL;
        g_autofree char *tmp = NULL;
        g_autoptr(GString) warnings = g_string_new(NULL);
        _cleanup_close_ int dirfd = -1;
        _cleanup_close_ int srcfd = -1;
        struct stat st;
        int r;

        if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
                if (!(flags & TPFW_STORE_FOLLOW_SYMLINK))
                        return tpfw_diag_set(diag, ELOOP, path, 0,
                                             "is a symbolic link; refusing to replace it "
                                             "(--follow-symlink allows it)");
                target = realpath(path, NULL);
                if (!target)
                        return tpfw_diag_set(diag, errno, path, 0, "cannot resolve symlink: %s",
                                             g_strerror(errno));
        } else {
                target = g_strdup(path);
        }
        dir = g_path_get_dirname(target);
        base = g_path_get_basename(target);
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return tpfw_diag_set(diag, errno, dir, 0, "cannot open directory: %s",
                                     g_strerror(errno));
        remove_stale_temps(dirfd, base);

        if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISDIR(st.st_mode))
                        return tpfw_diag_set(diag, EISDIR, target, 0, "is a directory, not a file");
                if (!S_ISREG(st.st_mode))
                        return tpfw_diag_set(diag, EINVAL, target, 0, "is not a regular file");
                srcfd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (srcfd < 0)
                        return tpfw_diag_set(diag, errno, target, 0, "cannot open: %s",
                                             g_strerror(errno));
        }

        r = write_temp(dirfd, target, base, data, len, srcfd, false, warnings, &tmp, diag);
        if (r == 0 && backup && srcfd >= 0)
                r = keep_backup(dirfd, target, base, srcfd, warnings, diag);
        if (r < 0) {
                if (tmp)
                        (void)unlinkat(dirfd, tmp, 0);
                return r;
        }
        r = rename_temp(dirfd, tmp, base, "rename");
        if (r < 0)
                return tpfw_diag_set(diag, -r, target, 0, "cannot replace: %s", g_strerror(-r));
        r = tpfw_fault("dir-fsync");
        if (r == 0 && fsync(dirfd) < 0)
                r = -errno;
        if (r < 0)
                return tpfw_diag_set(diag, -r, dir, 0,
                                     "replaced the file but cannot sync the directory: %s",
                                     g_strerror(-r));
        if (warnings->len)
                (void)tpfw_diag_set(diag, EOPNOTSUPP, target, 0,
                                    "warning: written without the extended attributes %s",
                                    warnings->str);
        return 0;
}

int tpfw_store_write(const char *path, const char *data, size_t len, unsigned flags, TpfwDiag *diag)
{
        return replace(path, data, len, flags, true, diag);
}

int tpfw_store_restore(const char *path, bool existed, const char *data, size_t len, TpfwDiag *diag)
{
        g_autofree char *dir = NULL;
        _cleanup_close_ int dirfd = -1;

        if (existed)
                return replace(path, data, len, TPFW_STORE_FOLLOW_SYMLINK, false, diag);
        if (unlink(path) < 0 && errno != ENOENT)
                return tpfw_diag_set(diag, errno, path, 0, "cannot remove: %s", g_strerror(errno));
        dir = g_path_get_dirname(path);
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd >= 0)
                (void)fsync(dirfd);
        /* cppcheck-suppress resourceLeak ; dirfd is _cleanup_close_ */
        return 0;
}
