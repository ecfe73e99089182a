/* SPDX-License-Identifier: MIT */
/* Corpus replay without libFuzzer: feeds each file named (or found in each directory named) to
 * LLVMFuzzerTestOneInput once, so `make check` reruns every committed input with gcc. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
        g_autofree char *contents = NULL;
        g_autofree uint8_t *exact = NULL;
        g_autoptr(GError) err = NULL;
        gsize len = 0;

        if (!g_file_get_contents(path, &contents, &len, &err)) {
                fprintf(stderr, "replay: %s\n", err->message);
                return -EIO;
        }
        /* A buffer of exactly len bytes, so a sanitizer sees any read past the input. */
        exact = g_malloc(len ? len : 1);
        memcpy(exact, contents, len);
        LLVMFuzzerTestOneInput(exact, len);
        return 0;
}

static gint compare_paths(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, unsigned *count)
{
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        DIR *d = opendir(dir);
        struct dirent *de;
        int r = 0;

        if (!d) {
                fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
                return -errno;
        }
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        g_ptr_array_add(names, g_build_filename(dir, de->d_name, NULL));
        closedir(d);
        /* Sorted, so a failure names the same input on every run. */
        g_ptr_array_sort(names, compare_paths);
        for (guint i = 0; i < names->len && r == 0; i++) {
                r = replay_file(names->pdata[i]);
                (*count)++;
        }
        return r;
}

int main(int argc, char **argv)
{
        unsigned count = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (S_ISDIR(st.st_mode)) {
                        r = replay_dir(argv[i], &count);
                } else {
                        r = replay_file(argv[i]);
                        count++;
                }
                if (r < 0)
                        return 1;
        }
        printf("replayed %u inputs\n", count);
        return 0;
}
