/* SPDX-License-Identifier: MIT */
/* Unit tests: directory lock, safe reads, atomic replace with backup, restore; and unified diff. */
#include "testutil.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <tproxy-firewalld/apply.h>
#include <tproxy-firewalld/store.h>

static char *make_tmpdir(void)
{
        char *d = g_dir_make_tmp("tpfw-store-XXXXXX", NULL);
        assert_non_null(d);
        return d;
}

static void rm_rf(const char *dir)
{
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

static void put(const char *path, const char *text)
{
        assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void assert_content(const char *path, const char *want)
{
        g_autofree char *t = NULL;

        assert_true(g_file_get_contents(path, &t, NULL, NULL));
        assert_string_equal(t, want);
}

static void test_lock_excludes_second_holder(void **state)
{
        g_autofree char *dir = make_tmpdir();
        TpfwLock *a = NULL, *b = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;

        assert_int_equal(tpfw_store_lock(dir, 1000, &a, NULL), 0);
        assert_int_equal(tpfw_store_lock(dir, 50, &b, &diag), -ETIMEDOUT);
        assert_non_null(strstr(diag.message, "holds the lock"));
        tpfw_store_unlock(a);
        assert_int_equal(tpfw_store_lock(dir, 50, &b, NULL), 0);
        tpfw_store_unlock(b);
        /* no lock file is left behind */
        {
                GDir *d = g_dir_open(dir, 0, NULL);
                assert_null(g_dir_read_name(d));
                g_dir_close(d);
        }
        tpfw_diag_clear(&diag);
        rm_rf(dir);
}

static void test_lock_missing_dir(void **state)
{
        TpfwLock *a = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;

        assert_int_equal(tpfw_store_lock("/nonexistent/tpfw", 10, &a, &diag), -ENOENT);
        assert_string_equal(diag.file, "/nonexistent/tpfw");
        tpfw_diag_clear(&diag);
}

static void test_read_cases(void **state)
{
        g_autofree char *dir = make_tmpdir();
        g_autofree char *f = g_build_filename(dir, "direct.xml", NULL);
        g_autofree char *l = g_build_filename(dir, "link.xml", NULL);
        g_autofree char *sub = g_build_filename(dir, "sub", NULL);
        TpfwDiag diag = TPFW_DIAG_INIT;
        char *data = NULL;
        size_t len = 0;
        bool exists = true;

        assert_int_equal(tpfw_store_read(f, 0, 100, &data, &len, &exists, NULL), 0);
        assert_false(exists);
        assert_null(data);

        put(f, "<direct/>\n");
        assert_int_equal(tpfw_store_read(f, 0, 100, &data, &len, &exists, NULL), 0);
        assert_true(exists);
        assert_int_equal(len, 10);
        assert_string_equal(data, "<direct/>\n");
        g_free(data);

        assert_int_equal(tpfw_store_read(f, 0, 5, &data, &len, &exists, &diag), -EFBIG);
        assert_non_null(strstr(diag.message, "too large"));

        assert_int_equal(symlink(f, l), 0);
        assert_int_equal(tpfw_store_read(l, 0, 100, &data, &len, &exists, &diag), -ELOOP);
        assert_non_null(strstr(diag.message, "symbolic link"));
        assert_int_equal(
                tpfw_store_read(l, TPFW_STORE_FOLLOW_SYMLINK, 100, &data, &len, &exists, NULL), 0);
        g_free(data);

        assert_int_equal(mkdir(sub, 0755), 0);
        assert_int_equal(tpfw_store_read(sub, 0, 100, &data, &len, &exists, &diag), -EISDIR);

        assert_true(g_file_set_contents(f, "<direct>\n\0</direct>\n", 20, NULL));
        assert_int_equal(tpfw_store_read(f, 0, 100, &data, &len, &exists, &diag), -EINVAL);
        assert_int_equal(diag.line, 2);
        assert_non_null(strstr(diag.message, "NUL"));
        tpfw_diag_clear(&diag);
        rm_rf(dir);
}

static void test_write_new_and_replace(void **state)
{
        g_autofree char *dir = make_tmpdir();
        g_autofree char *f = g_build_filename(dir, "direct.xml", NULL);
        g_autofree char *old = g_build_filename(dir, "direct.xml.old", NULL);
        g_autofree char *stale = g_build_filename(dir, ".direct.xml.tpfw-abcdef", NULL);
        struct stat st;

        assert_int_equal(tpfw_store_write(f, "one\n", 4, 0, NULL), 0);
        assert_int_equal(stat(f, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_false(g_file_test(old, G_FILE_TEST_EXISTS));

        assert_int_equal(chmod(f, 0600), 0);
        put(stale, "left by a crashed run");
        assert_int_equal(tpfw_store_write(f, "two\n", 4, 0, NULL), 0);
        assert_int_equal(stat(f, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_content(f, "two\n");
        assert_content(old, "one\n");
        assert_false(g_file_test(stale, G_FILE_TEST_EXISTS));

        /* restore puts the previous bytes back without touching .old */
        assert_int_equal(tpfw_store_restore(f, true, "one\n", 4, NULL), 0);
        assert_content(f, "one\n");
        assert_content(old, "one\n");
        /* restore of "did not exist" removes the file */
        assert_int_equal(tpfw_store_restore(f, false, NULL, 0, NULL), 0);
        assert_false(g_file_test(f, G_FILE_TEST_EXISTS));

        /* only direct.xml and its backup remain: no temporary files */
        {
                GDir *d = g_dir_open(dir, 0, NULL);
                const char *name;
                while ((name = g_dir_read_name(d)))
                        assert_string_equal(name, "direct.xml.old");
                g_dir_close(d);
        }
        rm_rf(dir);
}

/* The backup is a copy: never the same inode as the file, whatever came before. */
static void test_backup_is_a_separate_file(void **state)
{
        g_autofree char *dir = make_tmpdir();
        g_autofree char *f = g_build_filename(dir, "direct.xml", NULL);
        g_autofree char *old = g_build_filename(dir, "direct.xml.old", NULL);
        struct stat st_f, st_old, st_before;

        put(f, "one\n");
        assert_int_equal(stat(f, &st_before), 0);
        assert_int_equal(tpfw_store_write(f, "two\n", 4, 0, NULL), 0);
        assert_int_equal(stat(f, &st_f), 0);
        assert_int_equal(stat(old, &st_old), 0);
        assert_int_not_equal(st_f.st_ino, st_old.st_ino);
        assert_int_equal(st_old.st_nlink, 1);
        assert_int_equal(st_f.st_nlink, 1);
        /* an exact copy: contents, mode and modification time */
        assert_int_equal(st_old.st_mtim.tv_sec, st_before.st_mtim.tv_sec);
        assert_int_equal(st_old.st_mtim.tv_nsec, st_before.st_mtim.tv_nsec);
        assert_content(old, "one\n");

        /* a .old left as a hard link of the file (what a crash did before) is replaced by a copy */
        assert_int_equal(unlink(old), 0);
        assert_int_equal(link(f, old), 0);
        assert_int_equal(tpfw_store_write(f, "three\n", 6, 0, NULL), 0);
        assert_int_equal(stat(f, &st_f), 0);
        assert_int_equal(stat(old, &st_old), 0);
        assert_int_not_equal(st_f.st_ino, st_old.st_ino);
        assert_content(old, "two\n");
        assert_content(f, "three\n");
        rm_rf(dir);
}

static char *xattr(const char *path, const char *name)
{
        char buf[256];
        ssize_t n = getxattr(path, name, buf, sizeof(buf) - 1);

        if (n < 0)
                return NULL;
        buf[n] = '\0';
        return g_strdup(buf);
}

/* user.* attributes of the replaced file are on the new file and on the backup. */
static void test_write_keeps_extended_attributes(void **state)
{
        g_autofree char *dir = make_tmpdir();
        g_autofree char *f = g_build_filename(dir, "direct.xml", NULL);
        g_autofree char *old = g_build_filename(dir, "direct.xml.old", NULL);
        g_autofree char *a = NULL, *b = NULL, *c = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;

        put(f, "one\n");
        if (setxattr(f, "user.tpfw.test", "label one", 9, 0) < 0) {
                rm_rf(dir);
                skip(); /* a filesystem without user.* attributes */
        }
        assert_int_equal(setxattr(f, "user.tpfw.empty", "", 0, 0), 0);
        assert_int_equal(tpfw_store_write(f, "two\n", 4, 0, &diag), 0);
        assert_null(diag.message);
        a = xattr(f, "user.tpfw.test");
        b = xattr(old, "user.tpfw.test");
        c = xattr(f, "user.tpfw.empty");
        assert_string_equal(a, "label one");
        assert_string_equal(b, "label one");
        assert_string_equal(c, "");
        rm_rf(dir);
}

static void test_write_refuses_symlink_and_dir(void **state)
{
        g_autofree char *dir = make_tmpdir();
        g_autofree char *f = g_build_filename(dir, "direct.xml", NULL);
        g_autofree char *target = g_build_filename(dir, "real.xml", NULL);
        TpfwDiag diag = TPFW_DIAG_INIT;

        put(target, "real\n");
        assert_int_equal(symlink("real.xml", f), 0);
        assert_int_equal(tpfw_store_write(f, "new\n", 4, 0, &diag), -ELOOP);
        assert_content(target, "real\n");
        /* with the flag, the target is replaced and the link stays a link */
        assert_int_equal(tpfw_store_write(f, "new\n", 4, TPFW_STORE_FOLLOW_SYMLINK, NULL), 0);
        assert_content(target, "new\n");
        assert_true(g_file_test(f, G_FILE_TEST_IS_SYMLINK));
        assert_int_equal(unlink(f), 0);
        assert_int_equal(mkdir(f, 0755), 0);
        assert_int_equal(tpfw_store_write(f, "new\n", 4, 0, &diag), -EISDIR);
        tpfw_diag_clear(&diag);
        rm_rf(dir);
}

static void test_write_missing_dir(void **state)
{
        TpfwDiag diag = TPFW_DIAG_INIT;

        assert_int_equal(tpfw_store_write("/nonexistent/tpfw/direct.xml", "x", 1, 0, &diag),
                         -ENOENT);
        assert_non_null(strstr(diag.message, "cannot open directory"));
        tpfw_diag_clear(&diag);
}

static void test_unified_diff(void **state)
{
        const char *a = "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\n";
        const char *b = "l1\nl2\nl3\nl4\nl5\nNEW\nl6\nl7\nl8\nl9\n";
        g_autofree char *d = tpfw_unified_diff(a, strlen(a), b, strlen(b), "a", "b");
        g_autofree char *same = tpfw_unified_diff(a, strlen(a), a, strlen(a), "a", "b");
        g_autofree char *del = tpfw_unified_diff(b, strlen(b), a, strlen(a), "a", "b");
        g_autofree char *nonl = tpfw_unified_diff("x\n", 2, "x\ny", 3, "a", "b");
        g_autofree char *two = NULL;

        assert_string_equal(same, "");
        assert_string_equal(d,
                            "--- a\n+++ b\n@@ -3,6 +3,7 @@\n l3\n l4\n l5\n+NEW\n l6\n l7\n l8\n");
        assert_string_equal(del,
                            "--- a\n+++ b\n@@ -3,7 +3,6 @@\n l3\n l4\n l5\n-NEW\n l6\n l7\n l8\n");
        assert_string_equal(nonl,
                            "--- a\n+++ b\n@@ -1 +1,2 @@\n x\n+y\n\\ No newline at end of file\n");
        /* two changes far apart: two hunks */
        {
                const char *c = "X\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nY\n";
                two = tpfw_unified_diff(a, strlen(a), c, strlen(c), "a", "b");
                assert_string_equal(two, "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-l1\n+X\n l2\n l3\n l4\n"
                                         "@@ -6,4 +6,4 @@\n l6\n l7\n l8\n-l9\n+Y\n");
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lock_excludes_second_holder),
                cmocka_unit_test(test_lock_missing_dir),
                cmocka_unit_test(test_read_cases),
                cmocka_unit_test(test_write_new_and_replace),
                cmocka_unit_test(test_backup_is_a_separate_file),
                cmocka_unit_test(test_write_keeps_extended_attributes),
                cmocka_unit_test(test_write_refuses_symlink_and_dir),
                cmocka_unit_test(test_write_missing_dir),
                cmocka_unit_test(test_unified_diff),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
