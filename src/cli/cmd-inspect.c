/* SPDX-License-Identifier: MIT */
/* validate and list-owners: read-only looks at a direct.xml. */
#include <errno.h>
#include <string.h>

#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/store.h>

#include "cli.h"

/*
 * The direct.xml schema: $TPROXY_FIREWALLD_SCHEMA, else the installed one (in the DATADIR the
 * build was configured with), else, for a binary run from its build directory (BUILDDIR or
 * BUILDDIR/asan in the source tree), the source tree's. NULL when none is there.
 */
static char *find_schema(void)
{
        const char *env = getenv("TPROXY_FIREWALLD_SCHEMA");
        g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
        g_autofree char *dir = exe ? g_path_get_dirname(exe) : NULL;
        const char *const from_build[] = {"..", "../.."};

        if (env && *env)
                return g_strdup(env);
        if (g_file_test(TPFW_DATADIR "/direct.rng", G_FILE_TEST_IS_REGULAR))
                return g_strdup(TPFW_DATADIR "/direct.rng");
        for (size_t i = 0; dir && i < G_N_ELEMENTS(from_build); i++) {
                g_autofree char *p =
                        g_build_filename(dir, from_build[i], "schemas", "direct.rng", NULL);

                if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
                        return g_steal_pointer(&p);
        }
        return NULL;
}

/* Reads path; prints the error and returns an exit code when it fails. */
static int read_file(const char *path, bool missing_ok, char **ret_data, size_t *ret_len,
                     bool *ret_exists)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        int r = tpfw_store_read(path, TPFW_STORE_FOLLOW_SYMLINK, TPFW_DIRECT_MAX_SIZE, ret_data,
                                ret_len, ret_exists, &diag);

        if (r < 0) {
                cli_error(&diag, "cannot read the file");
                tpfw_diag_clear(&diag);
                return EXIT_FAIL;
        }
        if (!*ret_exists && !missing_ok) {
                cli_errorf("%s: no such file", path);
                return EXIT_FAIL;
        }
        return 0;
}

/* Reads and parses path; prints the error and returns an exit code when it fails. */
static int load(const char *path, bool missing_ok, TpfwDirect **ret)
{
        g_autofree char *data = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        size_t len = 0;
        bool exists;
        int r = read_file(path, missing_ok, &data, &len, &exists);

        if (r != 0)
                return r;
        if (!exists) {
                *ret = tpfw_direct_new_empty(path);
                return 0;
        }
        if (tpfw_direct_parse(path, data, len, ret, &diag) < 0) {
                cli_error(&diag, "cannot read the file");
                tpfw_diag_clear(&diag);
                return EXIT_FAIL;
        }
        return 0;
}

static void validate_json(CliGlobal *g, const char *path, const size_t *n_entries,
                          const char *schema, const char *not_editable, const char *error)
{
        TpfwJsonWriter w;

        cli_json_begin(&w);
        tpfw_json_member_string(&w, "file", path);
        tpfw_json_member_bool(&w, "valid", !error);
        tpfw_json_member(&w, "entries");
        if (n_entries)
                tpfw_json_int(&w, (int64_t)*n_entries);
        else
                tpfw_json_null(&w);
        tpfw_json_member_bool(&w, "editable", n_entries && !not_editable && !error);
        tpfw_json_member_string_or_null(&w, "not_editable_reason", not_editable);
        tpfw_json_member_string_or_null(&w, "schema", schema);
        cli_json_end(g, &w, error);
}

static int validate_parse_args(CliGlobal *g, int argc, char **argv, const char **path)
{
        static const char *const names[] = {NULL};

        for (int i = 1; i < argc; i++) {
                int r;

                if (cli_is_help(argv[i])) {
                        printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] validate [FILE]\n"
                               "\n"
                               "Check a direct.xml (default: DIR/direct.xml) as firewalld would,\n"
                               "and against the direct.xml schema. Exit 0 when firewalld would\n"
                               "accept it, 1 with 'path:line: reason' when not.\n");
                        return EXIT_OK;
                }
                r = cli_take_global(g, argc, argv, &i, false);
                if (r < 0)
                        return EXIT_USAGE;
                if (r > 0)
                        continue;
                if (argv[i][0] == '-' && argv[i][1] != '\0')
                        return cli_unknown_option(g, argv[i], names, false);
                if (*path) {
                        cli_errorf("validate: takes one FILE at most");
                        return EXIT_USAGE;
                }
                *path = argv[i];
        }
        return cli_check_global(g) == EXIT_OK ? -1 : EXIT_USAGE;
}

int cmd_validate(CliGlobal *g, int argc, char **argv)
{
        g_autofree char *default_path = NULL;
        g_autofree char *data = NULL;
        g_autofree char *schema = NULL;
        g_autofree char *not_editable = NULL;
        const char *path = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        size_t len = 0, n_entries = 0;
        bool exists;
        int code;

        code = validate_parse_args(g, argc, argv, &path);
        if (code >= 0)
                return code;
        default_path = g_build_filename(g->firewalld_dir, "direct.xml", NULL);
        if (!path)
                path = default_path;
        /* firewalld's verdict without the model: memory stays near the file's size */
        code = read_file(path, false, &data, &len, &exists);
        if (code == 0 && tpfw_direct_check(path, data, len, &n_entries, &not_editable, &diag) < 0) {
                cli_error(&diag, "cannot read the file");
                tpfw_diag_clear(&diag);
                code = EXIT_FAIL;
        }
        if (code == 0) {
                schema = find_schema();
                if (schema)
                        cli_verbosef(g, "schema: %s", schema);
                else
                        cli_warnf(g,
                                  "warning: schema %s/direct.rng not found (set "
                                  "TPROXY_FIREWALLD_SCHEMA); checked as firewalld would, not "
                                  "against the schema",
                                  TPFW_DATADIR);
        }
        if (code == 0 && schema && tpfw_direct_validate_schema(schema, data, len, &diag) < 0) {
                if (!diag.file)
                        diag.file = g_strdup(path);
                cli_error(&diag, "does not match the direct.xml schema");
                tpfw_diag_clear(&diag);
                code = EXIT_FAIL;
        }
        if (g->json) {
                validate_json(g, path, code == 0 ? &n_entries : NULL, schema,
                              code == 0 ? not_editable : NULL, code == 0 ? NULL : cli_last_error());
        } else if (code == 0 && !g->quiet) {
                printf("%s: valid (%zu entries)\n", path, n_entries);
                if (not_editable)
                        printf("note: firewalld accepts it, but tproxy-firewalld will not edit it: "
                               "%s\n",
                               not_editable);
        }
        return code;
}

static void list_owners_json(CliGlobal *g, const char *path, const TpfwOwnerCount *counts, size_t n)
{
        TpfwJsonWriter w;

        cli_json_begin(&w);
        tpfw_json_member_string(&w, "file", path);
        tpfw_json_member(&w, "owners");
        tpfw_json_begin_array(&w);
        for (size_t i = 0; i < n; i++) {
                tpfw_json_begin_object(&w);
                tpfw_json_member_string(&w, "owner", counts[i].owner);
                tpfw_json_member_int(&w, "rules", (int64_t)counts[i].rules);
                tpfw_json_member_int(&w, "chains", (int64_t)counts[i].chains);
                tpfw_json_end_object(&w);
        }
        tpfw_json_end_array(&w);
        cli_json_end(g, &w, NULL);
}

int cmd_list_owners(CliGlobal *g, int argc, char **argv)
{
        g_autofree char *path = NULL;
        g_autoptr(TpfwDirect) doc = NULL;
        TpfwOwnerCount *counts = NULL;
        size_t n = 0;
        int code;

        code = cli_parse_no_options(g, argc, argv,
                                    "Usage: tproxy-firewalld [GLOBAL OPTIONS] list-owners\n"
                                    "\n"
                                    "List the owners that have entries in DIR/direct.xml.\n");
        if (code >= 0)
                return code;
        path = g_build_filename(g->firewalld_dir, "direct.xml", NULL);
        code = load(path, true, &doc);
        if (code != 0)
                return code;
        if (tpfw_direct_list_owners(doc, &counts, &n) < 0) {
                cli_errorf("out of memory");
                return EXIT_FAIL;
        }
        if (g->json) {
                list_owners_json(g, path, counts, n);
        } else {
                if (n == 0 && !g->quiet)
                        printf("%s: no tproxy-firewalld owners\n", path);
                for (size_t i = 0; i < n; i++)
                        printf("%-32s %6zu rules %4zu chains\n", counts[i].owner, counts[i].rules,
                               counts[i].chains);
        }
        tpfw_owner_counts_free(counts, n);
        return EXIT_OK;
}
