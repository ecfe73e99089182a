/* SPDX-License-Identifier: MIT */
/* Importer: iptables-restore text (kumactl --dry-run, iptables-save) to a ruleset. */
#include <limits.h>
#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/import.h>

#include "util.h"

/* iptables' limit: XT_EXTENSION_MAXNAMELEN (29) including the NUL. */
#define CHAIN_NAME_MAX 28

typedef enum CommandKind {
        COMMAND_APPEND,
        COMMAND_INSERT,
        COMMAND_NEW_CHAIN,
        COMMAND_UNSUPPORTED,
} CommandKind;

typedef struct Command {
        const char *short_name;
        const char *long_name;
        CommandKind kind;
} Command;

/* Everything iptables-restore accepts as a command; only the first three add chains or rules. */
static const Command commands[] = {
        {"-A", "--append", COMMAND_APPEND},          {"-I", "--insert", COMMAND_INSERT},
        {"-N", "--new-chain", COMMAND_NEW_CHAIN},    {"-P", "--policy", COMMAND_UNSUPPORTED},
        {"-F", "--flush", COMMAND_UNSUPPORTED},      {"-X", "--delete-chain", COMMAND_UNSUPPORTED},
        {"-D", "--delete", COMMAND_UNSUPPORTED},     {"-R", "--replace", COMMAND_UNSUPPORTED},
        {"-Z", "--zero", COMMAND_UNSUPPORTED},       {"-E", "--rename-chain", COMMAND_UNSUPPORTED},
        {"-C", "--check", COMMAND_UNSUPPORTED},      {"-L", "--list", COMMAND_UNSUPPORTED},
        {"-S", "--list-rules", COMMAND_UNSUPPORTED},
};

typedef struct Importer {
        const char *name;
        TpfwDiag *diag;
        TpfwRuleset *rs;
        TpfwIpv ipv;
        char *table; /* the open "*table" block, or NULL */
        unsigned table_line;
        unsigned line;
        /* Rules per (ipv, table, chain) so far, to check -I positions with their line. */
        GHashTable *chain_lengths;
        /* Unique placeholder priorities until tpfw_ruleset_assign_priorities(), so that two
         * identical rules of one chain are not taken for duplicates. */
        int next_priority;
} Importer;

static int fail(Importer *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(Importer *im, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = tpfw_diag_setv(im->diag, EINVAL, im->name, im->line, fmt, ap);
        va_end(ap);
        return r;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r';
}

/* The line without leading and trailing blanks, as a new string. */
static char *trimmed(const char *line)
{
        const char *end = line + strlen(line);

        while (is_blank(*line))
                line++;
        while (end > line && is_blank(end[-1]))
                end--;
        return g_strndup(line, end - line);
}

static char *chain_length_key(TpfwIpv ipv, const char *table, const char *chain)
{
        return g_strdup_printf("%d/%s/%s", (int)ipv, table, chain);
}

static bool has_control_char(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* A name iptables -N would accept, restricted to what direct.xml can hold. */
static int check_chain_name(Importer *im, const char *chain)
{
        static const char *const targets[] = {"ACCEPT", "DROP", "QUEUE", "RETURN"};

        if (chain[0] == '\0')
                return fail(im, "empty chain name");
        if (strlen(chain) > CHAIN_NAME_MAX)
                return fail(im, "chain name %s is longer than %d characters", chain,
                            CHAIN_NAME_MAX);
        if (chain[0] == '-' || chain[0] == '!')
                return fail(im, "invalid chain name %s: it must not start with '%c'", chain,
                            chain[0]);
        if (has_control_char(chain) || strpbrk(chain, " ") || !g_utf8_validate(chain, -1, NULL))
                return fail(im, "invalid chain name: it holds a control character, a space or "
                                "invalid UTF-8");
        for (size_t i = 0; i < G_N_ELEMENTS(targets); i++)
                if (strcmp(chain, targets[i]) == 0)
                        return fail(im, "invalid chain name %s: it is a standard target", chain);
        return 0;
}

/*
 * Built-in chains of the kernel that firewalld's direct interface cannot address: firewalld hooks
 * its *_direct chains only into the chains of its BUILT_IN_CHAINS (firewall/core/ipXtables.py),
 * and nat INPUT is not among them. A rule there cannot be stored, and declaring the chain would
 * make firewalld create a custom chain the kernel already has.
 */
static bool is_unaddressable_builtin(const char *table, const char *chain)
{
        return strcmp(table, "nat") == 0 && strcmp(chain, "INPUT") == 0;
}

static int refuse_unaddressable(Importer *im, const char *chain)
{
        return fail(im,
                    "chain %s of table %s is built into the kernel, but firewalld's direct "
                    "interface cannot address it (it hooks only its own built-in chains); rules "
                    "in it cannot be stored in direct.xml",
                    chain, im->table);
}

static int declare_chain(Importer *im, const char *chain)
{
        int r;

        r = check_chain_name(im, chain);
        if (r < 0)
                return r;
        if (tpfw_is_builtin_chain(im->table, chain) || is_unaddressable_builtin(im->table, chain))
                return fail(im, "chain %s is a built-in chain of table %s and cannot be created",
                            chain, im->table);
        r = tpfw_ruleset_add_chain(im->rs, im->ipv, im->table, chain);
        if (r == -EEXIST)
                return fail(im, "chain %s is already declared in table %s (%s)", chain, im->table,
                            tpfw_ipv_name(im->ipv));
        if (r < 0)
                return tpfw_diag_set(im->diag, r, im->name, im->line, "cannot declare chain %s",
                                     chain);
        return 0;
}

/* "[packets:bytes]", as iptables-save -c prints before a rule. */
static bool is_counters(const char *s, size_t len)
{
        size_t i = 1, digits;

        if (len < 5 || s[0] != '[' || s[len - 1] != ']')
                return false;
        for (digits = 0; i < len && g_ascii_isdigit(s[i]); i++)
                digits++;
        if (digits == 0 || i >= len || s[i++] != ':')
                return false;
        for (digits = 0; i < len && g_ascii_isdigit(s[i]); i++)
                digits++;
        return digits > 0 && i == len - 1;
}

/* ":CHAIN POLICY [packets:bytes]" */
static int parse_chain_line(Importer *im, const char *line)
{
        g_auto(GStrv) argv = NULL;
        const char *chain, *policy;
        int r;

        if (!im->table)
                return fail(im, "chain declaration outside a table (missing *table line)");
        r = tpfw_args_split(line + 1, &argv, NULL);
        if (r < 0 || !argv[0])
                return fail(im, "malformed chain declaration");
        chain = argv[0];
        policy = argv[1];
        if (!policy)
                return fail(im, "chain declaration for %s has no policy (use \"-\")", chain);
        if (argv[2] && (argv[3] || !is_counters(argv[2], strlen(argv[2]))))
                return fail(im, "unexpected text after the policy of chain %s", chain);
        /* iptables-save prints every built-in chain of a table: declaring one adds nothing */
        if (tpfw_is_builtin_chain(im->table, chain) || is_unaddressable_builtin(im->table, chain)) {
                /* "-" leaves the policy alone and ACCEPT is the kernel's default. */
                if (strcmp(policy, "-") != 0 && strcmp(policy, "ACCEPT") != 0)
                        return fail(im,
                                    "policy %s for built-in chain %s cannot be expressed as "
                                    "firewalld direct rules",
                                    policy, chain);
                return 0;
        }
        if (strcmp(policy, "-") != 0)
                return fail(im,
                            "custom chain %s cannot have policy %s (use \"-\"); policies cannot be "
                            "expressed as firewalld direct rules",
                            chain, policy);
        return declare_chain(im, chain);
}

static int parse_table_line(Importer *im, const char *line)
{
        g_autofree char *table = trimmed(line + 1);

        if (im->table)
                return fail(im, "table %s starts before COMMIT of table %s (line %u)", table,
                            im->table, im->table_line);
        if (table[0] == '\0')
                return fail(im, "missing table name after '*'");
        if (!tpfw_is_known_table(table))
                return fail(im,
                            "unknown table \"%s\" (expected raw, nat, mangle, filter or security)",
                            table);
        im->table = g_steal_pointer(&table);
        im->table_line = im->line;
        return 0;
}

static const Command *find_command(const char *name)
{
        for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
                if (strcmp(name, commands[i].short_name) == 0 ||
                    strcmp(name, commands[i].long_name) == 0)
                        return &commands[i];
        return NULL;
}

/* Rule arguments must survive direct.xml and firewalld's own re-quoting unchanged. */
static int check_rule_args(Importer *im, const char *const *args)
{
        for (size_t i = 0; args[i]; i++) {
                if (!g_utf8_validate(args[i], -1, NULL))
                        return fail(im, "argument %zu is not valid UTF-8", i + 1);
                if (has_control_char(args[i]))
                        return fail(im,
                                    "argument %zu contains a control character, which firewalld "
                                    "cannot store reliably",
                                    i + 1);
                /* A -t after a value or at the start is the table option, never an option value
                 * (iptables-restore: "The -t option cannot be used"). */
                if ((strcmp(args[i], "-t") == 0 || strcmp(args[i], "--table") == 0 ||
                     g_str_has_prefix(args[i], "--table=")) &&
                    (i == 0 || args[i - 1][0] != '-'))
                        return fail(im, "%s cannot be used in a rule; use a *table line", args[i]);
        }
        return 0;
}

/* Parses N of "-I CHAIN N" like iptables: a decimal number of 1 or more. */
static int parse_position(Importer *im, const char *s, unsigned *ret)
{
        unsigned long v = 0;

        if (!*s)
                return fail(im, "invalid rule number \"\"");
        for (const char *p = s; *p; p++) {
                if (!g_ascii_isdigit(*p))
                        return fail(im, "invalid rule number \"%s\"", s);
                v = v * 10 + (unsigned long)(*p - '0');
                if (v > INT_MAX)
                        return fail(im, "rule number %s is too large", s);
        }
        if (v == 0)
                return fail(im, "invalid rule number \"%s\" (rules are numbered from 1)", s);
        *ret = (unsigned)v;
        return 0;
}

static int add_rule(Importer *im, const Command *cmd, const char *const *argv)
{
        const char *chain = argv[1];
        const char *const *args;
        g_autofree char *key = NULL;
        unsigned position = 0, length;
        int r;

        if (!chain)
                return fail(im, "%s needs a chain name", argv[0]);
        args = argv + 2;
        if (cmd->kind == COMMAND_INSERT && args[0] && args[0][0] != '-' && args[0][0] != '!') {
                r = parse_position(im, args[0], &position);
                if (r < 0)
                        return r;
                args++;
        }
        if (is_unaddressable_builtin(im->table, chain))
                return refuse_unaddressable(im, chain);
        if (!tpfw_is_builtin_chain(im->table, chain) &&
            !tpfw_ruleset_has_chain(im->rs, im->ipv, im->table, chain))
                return fail(im,
                            "chain %s is neither a built-in chain of table %s nor declared "
                            "before (-N %s or :%s -)",
                            chain, im->table, chain, chain);
        if (!args[0])
                return fail(im,
                            "rule for chain %s has no arguments; firewalld cannot store an "
                            "empty rule",
                            chain);
        r = check_rule_args(im, args);
        if (r < 0)
                return r;

        key = chain_length_key(im->ipv, im->table, chain);
        length = GPOINTER_TO_UINT(g_hash_table_lookup(im->chain_lengths, key));
        if (position > length + 1)
                return fail(im,
                            "index of insertion too big: -I %s %u, but the chain holds %u rule%s",
                            chain, position, length, length == 1 ? "" : "s");

        r = tpfw_ruleset_add_rule(im->rs, im->ipv, im->table, chain, im->next_priority++, args,
                                  cmd->kind == COMMAND_INSERT ? TPFW_RULE_INSERT : TPFW_RULE_APPEND,
                                  position);
        if (r < 0)
                return tpfw_diag_set(im->diag, r, im->name, im->line, "cannot add rule to %s",
                                     chain);
        g_hash_table_insert(im->chain_lengths, g_steal_pointer(&key), GUINT_TO_POINTER(length + 1));
        return 0;
}

static int parse_command_line(Importer *im, const char *line)
{
        g_auto(GStrv) words = NULL;
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        const Command *cmd;
        TpfwDiag split_diag = TPFW_DIAG_INIT;
        const char *eq;
        int r;

        r = tpfw_args_split(line, &words, &split_diag);
        if (r < 0) {
                r = fail(im, "cannot split line: %s", split_diag.message);
                tpfw_diag_clear(&split_diag);
                return r;
        }
        if (!words[0])
                return 0;

        /* getopt_long also accepts "--append=CHAIN". */
        eq = g_str_has_prefix(words[0], "--") ? strchr(words[0], '=') : NULL;
        if (eq) {
                g_ptr_array_add(argv, g_strndup(words[0], eq - words[0]));
                g_ptr_array_add(argv, g_strdup(eq + 1));
        } else {
                g_ptr_array_add(argv, g_strdup(words[0]));
        }
        for (size_t i = 1; words[i]; i++)
                g_ptr_array_add(argv, g_strdup(words[i]));
        g_ptr_array_add(argv, NULL);

        cmd = find_command(argv->pdata[0]);
        if (!cmd)
                return fail(im, "unknown command %s", (char *)argv->pdata[0]);
        if (cmd->kind == COMMAND_UNSUPPORTED)
                return fail(im,
                            "unsupported command %s (%s %s): it cannot be expressed as firewalld "
                            "direct rules, which can only add chains and rules",
                            (char *)argv->pdata[0], cmd->short_name, cmd->long_name);
        if (!im->table)
                return fail(im, "%s outside a table (missing *table line)", (char *)argv->pdata[0]);
        if (cmd->kind == COMMAND_NEW_CHAIN) {
                if (argv->len < 3)
                        return fail(im, "%s needs a chain name", (char *)argv->pdata[0]);
                if (argv->len > 3)
                        return fail(im, "unexpected argument after %s %s", (char *)argv->pdata[0],
                                    (char *)argv->pdata[1]);
                return declare_chain(im, argv->pdata[1]);
        }
        return add_rule(im, cmd, (const char *const *)argv->pdata);
}

static int parse_line(Importer *im, const char *raw)
{
        g_autofree char *line = trimmed(raw);
        /* Commands are split untrimmed: a backslash before a final space escapes it. */
        const char *command = raw + strspn(raw, " \t\r");

        if (line[0] == '\0')
                return 0;
        if (line[0] == '#') {
                TpfwIpv ipv;

                if (strcmp(line, "### IPv4 ###") == 0)
                        ipv = TPFW_IPV4;
                else if (strcmp(line, "### IPv6 ###") == 0)
                        ipv = TPFW_IPV6;
                else
                        return 0;
                if (im->table)
                        return fail(im, "family header inside table %s (missing COMMIT?)",
                                    im->table);
                im->ipv = ipv;
                return 0;
        }
        if (line[0] == '*')
                return parse_table_line(im, line);
        if (line[0] == ':')
                return parse_chain_line(im, line);
        if (strcmp(line, "COMMIT") == 0) {
                if (!im->table)
                        return fail(im, "COMMIT outside a table");
                g_clear_pointer(&im->table, g_free);
                return 0;
        }
        if (line[0] == '[') {
                /* iptables-save -c: "[packets:bytes] -A ..."; the counters are not kept. */
                const char *end = strchr(command, ']');

                if (!end || !is_counters(command, end - command + 1) ||
                    (end[1] != '\0' && !is_blank(end[1])))
                        return fail(im, "malformed counters");
                if (end[1 + strspn(end + 1, " \t\r")] != '-')
                        return fail(im, "counters without a command");
                return parse_command_line(im, end + 1);
        }
        if (line[0] == '-')
                return parse_command_line(im, command);
        return fail(im, "unrecognised line (expected *table, :CHAIN, a command, COMMIT or "
                        "a # comment)");
}

int tpfw_import_iptables_restore(const char *name, const char *text, size_t len,
                                 TpfwIpv default_ipv, TpfwRuleset **ret, TpfwDiag *diag)
{
        g_autoptr(TpfwRuleset) rs = NULL;
        g_autoptr(GHashTable) chain_lengths = NULL;
        Importer im = {0};
        const char *p, *end, *nul;
        int r = 0;

        if ((!text && len > 0) || !ret || (default_ipv != TPFW_IPV4 && default_ipv != TPFW_IPV6))
                return tpfw_diag_set(diag, EINVAL, name, 0, "invalid arguments");
        if (!text)
                text = "";

        nul = memchr(text, '\0', len);
        if (nul) {
                unsigned line = 1;

                for (p = text; p < nul; p++)
                        line += *p == '\n';
                return tpfw_diag_set(diag, EINVAL, name, line, "NUL byte in input");
        }

        rs = tpfw_ruleset_new();
        chain_lengths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        im = (Importer){
                .name = name,
                .diag = diag,
                .rs = rs,
                .ipv = default_ipv,
                .chain_lengths = chain_lengths,
        };

        end = text + len;
        for (p = text; p < end && r == 0;) {
                const char *eol = memchr(p, '\n', end - p);
                g_autofree char *line = NULL;

                if (!eol)
                        eol = end;
                im.line++;
                line = g_strndup(p, eol - p);
                r = parse_line(&im, line);
                p = eol + 1;
        }
        if (r == 0 && im.table) {
                im.line = im.table_line;
                r = fail(&im, "table %s is not closed by COMMIT before the end of the input",
                         im.table);
        }
        g_free(im.table);
        if (r < 0)
                return r;

        r = tpfw_ruleset_assign_priorities(rs, diag);
        if (r < 0) {
                if (diag && !diag->file)
                        diag->file = g_strdup(name);
                return r;
        }
        *ret = g_steal_pointer(&rs);
        return 0;
}
