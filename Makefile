# SPDX-License-Identifier: MIT
# tproxy-firewalld: one plain Makefile. See README.md for the targets.

# The release version (semantic versioning, see NEWS.md): the one place it is set. debian/changelog,
# the RPM spec, galaxy.yml and NEWS.md name it too; tests/cli/test_packages.py checks they agree.
VERSION      := 0.2.0
SOVERSION    := 0
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/sbin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
DATADIR      ?= $(PREFIX)/share
MANDIR       ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
DESTDIR      ?=

BUILDDIR     ?= build
CC           ?= gcc
PKG_CONFIG   ?= pkg-config
PKGS         := libxml-2.0 dbus-1 glib-2.0 yaml-0.1

# Debian packages needed to build and test (installed by `make deps`).
DEB_BUILD    := build-essential pkg-config libxml2-dev libdbus-1-dev libglib2.0-dev libcmocka-dev \
                libyaml-dev libxml2-utils clang-format python3
# To build the upstream firewalld releases of the test matrix (../shared/firewalld/build); defined
# before DEB_TEST, whose := expands it where it stands.
DEB_FIREWALLD_BUILD := autoconf automake gettext intltool libglib2.0-dev python3-gi python3-dbus \
                python3-nftables python3-decorator
DEB_TEST     := firewalld iptables nftables dbus iproute2 mandoc valgrind python3 ansible-core binutils \
                strace acl attr python3-jsonschema $(DEB_FIREWALLD_BUILD)
# The package builds of tests/cli/test_packages.py (Debian packages, lintian, RPMs).
DEB_PACKAGING := debhelper dpkg-dev fakeroot lintian rpm git

# The firewalld versions the live suites (integration, e2e) run against: "debian" is the
# packaged /usr/sbin/firewalld (1.3.3), the others are upstream releases built once from
# $(FIREWALLD_SRC) into $(FIREWALLD_CACHE)/VERSION (a stamp VERSION.complete marks a finished
# build, which later runs reuse). `make check-quick` runs Debian's only.
FIREWALLD_VERSIONS ?= debian 0.9.11 2.1.4 2.5.0
FIREWALLD_SRC      ?= ../shared/firewalld
FIREWALLD_CACHE    ?= $(CURDIR)/build/firewalld
FIREWALLD_UPSTREAM := $(filter-out debian,$(FIREWALLD_VERSIONS))
# How many firewalld versions the live suites test at once (each in its own sandboxes).
LIVE_JOBS          ?= 2
LIVE_ARGS          := --firewalld-versions "$(FIREWALLD_VERSIONS)" --firewalld-cache $(FIREWALLD_CACHE) \
                      --jobs $(LIVE_JOBS)

WARNINGS     := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Wvla \
                -Wno-unused-parameter
ifeq ($(WERROR),1)
WARNINGS     += -Werror
endif
OPTFLAGS     ?= -O2 -g
ifneq ($(SANITIZE),)
OPTFLAGS     := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
LDSAN        := -fsanitize=$(SANITIZE)
endif

PKG_CFLAGS   := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS     := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
TPFW_DATADIR := $(DATADIR)/tproxy-firewalld
CPPFLAGS     += -Iinclude -D_GNU_SOURCE -DTPFW_VERSION=\"$(VERSION)\" \
                -DTPFW_DATADIR=\"$(TPFW_DATADIR)\"
# libyaml has no version macro: --version reports the one pkg-config found at build time.
CPPFLAGS     += -DTPFW_LIBYAML_VERSION=\"$(shell $(PKG_CONFIG) --modversion yaml-0.1 2>/dev/null)\"
CFLAGS       += -std=gnu11 $(OPTFLAGS) $(WARNINGS) $(PKG_CFLAGS) -fPIC
LDFLAGS      += $(LDSAN)

LIB_SRCS     := $(sort $(wildcard src/lib/*.c))
CLI_SRCS     := $(sort $(wildcard src/cli/*.c))
TEST_SRCS    := $(sort $(wildcard tests/unit/test_*.c))
LIB_OBJS     := $(LIB_SRCS:%.c=$(BUILDDIR)/obj/%.o)
CLI_OBJS     := $(CLI_SRCS:%.c=$(BUILDDIR)/obj/%.o)
FAULT_OBJS   := $(LIB_SRCS:%.c=$(BUILDDIR)/obj-fault/%.o) $(CLI_SRCS:%.c=$(BUILDDIR)/obj-fault/%.o)
TEST_BINS    := $(TEST_SRCS:tests/unit/%.c=$(BUILDDIR)/tests/%)
HEADERS      := $(wildcard include/tproxy-firewalld/*.h) $(wildcard src/lib/*.h) $(wildcard src/cli/*.h)

SONAME       := libtproxy-firewalld.so.$(SOVERSION)
SHLIB        := $(BUILDDIR)/libtproxy-firewalld.so.$(VERSION)
STLIB        := $(BUILDDIR)/libtproxy-firewalld.a
CLI          := $(BUILDDIR)/tproxy-firewalld
CLI_FAULT    := $(BUILDDIR)/tproxy-firewalld-fault

.PHONY: all dist lib cli tests check check-quick firewalld-cache test unit cli-test integration e2e asan asan-check valgrind install \
        uninstall format format-check size-check deps demo clean man-lint fuzz bench analyze

all: $(SHLIB) $(STLIB) $(CLI) $(CLI_FAULT)
lib: $(SHLIB) $(STLIB)
cli: $(CLI)

# The build options compiled into objects (git's GIT-CFLAGS): the file changes only when they do,
# and the objects that use them depend on it, so `make; make install PREFIX=/usr` rebuilds the
# files that name the data directory instead of installing a binary that looks under /usr/local.
BUILD_OPTIONS := $(BUILDDIR)/BUILD-OPTIONS
BUILD_OPTIONS_USERS := $(shell grep -l -E 'TPFW_(DATADIR|VERSION)' $(LIB_SRCS) $(CLI_SRCS) 2>/dev/null)
$(BUILD_OPTIONS): FORCE
	@mkdir -p $(dir $@)
	@printf 'VERSION=%s\nPREFIX=%s\nDATADIR=%s\n' '$(VERSION)' '$(PREFIX)' '$(TPFW_DATADIR)' \
		>$@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi
$(BUILD_OPTIONS_USERS:%.c=$(BUILDDIR)/obj/%.o) $(BUILD_OPTIONS_USERS:%.c=$(BUILDDIR)/obj-fault/%.o): \
		$(BUILD_OPTIONS)

FORCE:

$(BUILDDIR)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILDDIR)/obj-fault/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DTPFW_FAULT_INJECTION $(CFLAGS) -c -o $@ $<

$(STLIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHLIB): $(LIB_OBJS) src/lib/libtproxy-firewalld.sym
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/lib/libtproxy-firewalld.sym \
		$(LDFLAGS) -o $@ $(LIB_OBJS) $(PKG_LIBS)
	ln -sf $(notdir $@) $(BUILDDIR)/$(SONAME)
	ln -sf $(SONAME) $(BUILDDIR)/libtproxy-firewalld.so

# The CLI links the library statically: one self-contained binary for operators.
$(CLI): $(CLI_OBJS) $(STLIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(STLIB) $(PKG_LIBS)

# Test-only build with fault points compiled in (never installed).
$(CLI_FAULT): $(FAULT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(FAULT_OBJS) $(PKG_LIBS)

$(BUILDDIR)/tests/%: tests/unit/%.c $(STLIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc/lib -DTPFW_SRCDIR=\"$(CURDIR)\" $(CFLAGS) -o $@ $< $(STLIB) \
		$(LDFLAGS) $(PKG_LIBS) -lcmocka

# Fuzzing. The replay binaries (gcc, no libFuzzer) feed every committed corpus file to each
# harness once, under `make check`; `make fuzz` builds the harnesses with clang libFuzzer and
# ASan+UBSan and runs each for FUZZ_SECONDS, new inputs going to $(BUILDDIR)/fuzz/corpus/<target>.
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_REPLAY  := $(FUZZ_TARGETS:%=$(BUILDDIR)/fuzz-replay/fuzz_%)
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_ARGS    ?=
FUZZ_DIR     := $(BUILDDIR)/fuzz
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=all $(WARNINGS) $(PKG_CFLAGS)
FUZZ_OBJS    := $(LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)

$(BUILDDIR)/fuzz-replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(wildcard tests/fuzz/*.h) \
		$(STLIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DTPFW_FUZZ_REPLAY -DTPFW_SRCDIR=\"$(CURDIR)\" $(CFLAGS) -o $@ $< \
		tests/fuzz/replay.c $(STLIB) $(LDFLAGS) $(PKG_LIBS)

$(FUZZ_DIR)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_OBJS)
	$(FUZZ_CC) $(CPPFLAGS) -DTPFW_SRCDIR=\"$(CURDIR)\" $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_OBJS) $(PKG_LIBS)

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts/$$t; \
		dict=; [ ! -f tests/fuzz/$$t.dict ] || dict=-dict=tests/fuzz/$$t.dict; \
		echo "fuzz $$t: $(FUZZ_SECONDS)s"; \
		$(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/artifacts/$$t/ $$dict $(FUZZ_ARGS) \
			$(FUZZ_DIR)/corpus/$$t fixtures/fuzz/$$t; \
	done

tests: $(TEST_BINS) $(FUZZ_REPLAY)

# Unit tests only (cmocka, one binary per module).
test unit: all tests
	python3 tests/run.py --builddir $(BUILDDIR) unit

cli-test: all tests
	python3 tests/run.py --builddir $(BUILDDIR) cli

integration: all tests firewalld-cache
	python3 tests/run.py --builddir $(BUILDDIR) $(LIVE_ARGS) integration

# Upstream firewalld builds for the matrix; a build that failed half-way has no stamp and is redone.
firewalld-cache: $(FIREWALLD_UPSTREAM:%=$(FIREWALLD_CACHE)/%.complete)

$(FIREWALLD_CACHE)/%.complete:
	rm -rf $(FIREWALLD_CACHE)/$*
	$(FIREWALLD_SRC)/build $* $(FIREWALLD_CACHE)/$*
	touch $@

# Redirected connections through the installed rules: app and remote network namespaces (root).
E2E_HELPER   := $(BUILDDIR)/e2e/nethelper
$(E2E_HELPER): tests/e2e/nethelper.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=gnu11 $(OPTFLAGS) $(WARNINGS) $(LDFLAGS) -o $@ $<

e2e: all $(E2E_HELPER) firewalld-cache
	python3 tests/run.py --builddir $(BUILDDIR) $(LIVE_ARGS) e2e

# Everything CI runs: the unit suite under ASan+UBSan and under valgrind, then every suite, the
# live ones once per firewalld of FIREWALLD_VERSIONS. asan-check runs against Debian's firewalld
# only: it checks the tool's memory safety, which does not depend on the firewalld version.
check: all tests $(E2E_HELPER)
	$(MAKE) -j3 firewalld-cache
	$(MAKE) asan
	$(MAKE) asan-check
	python3 tests/run.py --builddir $(BUILDDIR) --valgrind unit
	python3 tests/run.py --builddir $(BUILDDIR) $(LIVE_ARGS) all

# The same with Debian's firewalld only: the quicker run for development.
check-quick:
	$(MAKE) check FIREWALLD_VERSIONS=debian

asan:
	$(MAKE) BUILDDIR=build/asan SANITIZE=address,undefined test

# The CLI and integration suites against the ASan+UBSan build of the CLI (and of its fault build).
# ASan/LSan reports go to files, so one from a process whose stderr no test reads still fails the
# run; gcc's UBSan in an ASan build writes to stderr only, so it aborts and the test helpers look
# for its "runtime error:". A canary (a leak, an overflow) proves both are caught.
SAN_LOGS     := $(CURDIR)/build/asan/sanitizer-logs
SAN_ENV      := TPFW_SANITIZE=address,undefined \
                ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$(SAN_LOGS)/asan \
                UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
asan-check:
	$(MAKE) BUILDDIR=build/asan SANITIZE=address,undefined all tests
	rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS) && chmod 1777 $(SAN_LOGS)
	$(CC) -fsanitize=address,undefined -fno-sanitize-recover=all -g \
		-o build/asan/sanitizer-canary tests/sanitizer-canary.c
	@! $(SAN_ENV) build/asan/sanitizer-canary leak 2>/dev/null && ls $(SAN_LOGS)/asan.* >/dev/null \
		|| { echo "asan-check: the canary's leak report was not collected"; exit 1; }
	@$(SAN_ENV) build/asan/sanitizer-canary ubsan 2>&1 | grep -q "runtime error:" \
		|| { echo "asan-check: the canary's UBSan report was not seen"; exit 1; }
	rm -f $(SAN_LOGS)/*
	@rc=0; $(SAN_ENV) python3 tests/run.py --builddir build/asan cli || rc=1; \
	$(SAN_ENV) python3 tests/run.py --builddir build/asan integration || rc=1; \
	if ls $(SAN_LOGS)/* >/dev/null 2>&1; then \
		echo "asan-check: sanitizer reports:"; cat $(SAN_LOGS)/*; rc=1; \
	else echo "asan-check: no sanitizer report"; fi; exit $$rc

valgrind: all tests
	python3 tests/run.py --builddir $(BUILDDIR) --valgrind unit

# Release build (-O2, no sanitizers) in its own BUILDDIR, then one table against
# firewall-offline-cmd and a sandboxed firewalld (bench/bench.py; BENCH_ARGS="--runs 9 --repeat 5").
BENCH_BUILDDIR ?= build/bench
bench:
	$(MAKE) BUILDDIR=$(BENCH_BUILDDIR) OPTFLAGS=-O2 SANITIZE= \
		$(BENCH_BUILDDIR)/tproxy-firewalld $(BENCH_BUILDDIR)/bench-parse $(BENCH_BUILDDIR)/bench-run
	python3 bench/bench.py --builddir $(BENCH_BUILDDIR) $(BENCH_ARGS)

$(BUILDDIR)/bench-parse: bench/parse.c $(STLIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(STLIB) $(LDFLAGS) $(PKG_LIBS)

$(BUILDDIR)/bench-run: bench/run.c
	$(CC) $(CFLAGS) -o $@ $<

# Static analysis: gcc -fanalyzer on every source file (any warning fails), then cppcheck, both
# with the fault points compiled in so that every error path is explored.
# -O0: at -O2 gcc 12's analyzer misreads inlined g_autofree cleanups as uses of uninitialised
# memory. Library files see diag.c (-include), so the analyzer knows that tpfw_diag_set() always
# returns a negative errno: "return tpfw_diag_set(...)" is never a success with NULL outputs.
# cppcheck suppressions: varFuncNullUB (NULL is (void *)0 on glibc and musl; GLib's sentinel
# idiom), readdirCalled (readdir_r is deprecated; readdir is safe per stream).
ANALYZE_SRCS := $(LIB_SRCS) $(CLI_SRCS)
analyze:
	@fail=0; for f in $(ANALYZE_SRCS); do \
		inc=; case $$f in src/lib/diag.c) ;; src/lib/*) inc="-include src/lib/diag.c";; esac; \
		out=$$($(CC) -fanalyzer $$inc $(CPPFLAGS) -DTPFW_FAULT_INJECTION -std=gnu11 -O0 \
			$(WARNINGS) $(PKG_CFLAGS) -c -o /dev/null $$f 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; fail=1; fi; \
	done; \
	[ $$fail = 0 ] && echo "gcc -fanalyzer: clean ($(words $(ANALYZE_SRCS)) files)"; \
	cppcheck -q --std=c11 --library=gtk --library=posix \
		--enable=warning,performance,portability --inline-suppr --error-exitcode=1 \
		--suppress=varFuncNullUB --suppress=readdirCalled \
		-Iinclude -Isrc/lib -Isrc/cli -D_GNU_SOURCE -DTPFW_FAULT_INJECTION \
		-DTPFW_VERSION=\"$(VERSION)\" \
		-DTPFW_DATADIR=\"x\" '-DG_GNUC_PRINTF(a,b)=' src/lib src/cli \
		&& echo "cppcheck: clean" || fail=1; \
	exit $$fail

man-lint:
	mandoc -Tlint -W warning man/tproxy-firewalld.8

format:
	clang-format -i $(LIB_SRCS) $(CLI_SRCS) $(HEADERS) $(TEST_SRCS)

format-check:
	clang-format --dry-run --Werror $(LIB_SRCS) $(CLI_SRCS) $(HEADERS) $(TEST_SRCS)

# No source file over 800 lines, no function over 120 (tests/sizes.py; SIZE_ARGS=--list lists every
# function by length).
size-check:
	python3 tests/sizes.py $(SIZE_ARGS) src

deps:
	@missing=""; for p in $(DEB_BUILD) $(DEB_TEST) $(DEB_PACKAGING); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

demo: all
	TPFW_BUILDDIR=$(abspath $(BUILDDIR)) python3 tests/demo.py

# The .pc file names its directories relative to ${prefix} where they lie under PREFIX.
PC_SUBST     := s|@PREFIX@|$(PREFIX)|; s|@VERSION@|$(VERSION)|; \
                s|@LIBDIR@|$(patsubst $(PREFIX)/%,$${exec_prefix}/%,$(LIBDIR))|; \
                s|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|

install: $(SHLIB) $(CLI)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/tproxy-firewalld \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DATADIR)/tproxy-firewalld $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(COMPLETIONDIR)
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/tproxy-firewalld
	install -m 0644 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libtproxy-firewalld.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libtproxy-firewalld.so
	install -m 0644 include/tproxy-firewalld/*.h $(DESTDIR)$(INCLUDEDIR)/tproxy-firewalld/
	sed -e '$(PC_SUBST)' src/lib/tproxy-firewalld.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/tproxy-firewalld.pc
	install -m 0644 schemas/* $(DESTDIR)$(DATADIR)/tproxy-firewalld/
	install -m 0644 man/tproxy-firewalld.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 contrib/bash-completion/tproxy-firewalld $(DESTDIR)$(COMPLETIONDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tproxy-firewalld $(DESTDIR)$(LIBDIR)/libtproxy-firewalld.so* \
		$(DESTDIR)$(PKGCONFIGDIR)/tproxy-firewalld.pc $(DESTDIR)$(MANDIR)/man8/tproxy-firewalld.8 \
		$(DESTDIR)$(COMPLETIONDIR)/tproxy-firewalld
	rm -rf $(DESTDIR)$(INCLUDEDIR)/tproxy-firewalld $(DESTDIR)$(DATADIR)/tproxy-firewalld

# A release tarball of a commit (DIST_REF, default HEAD): $(BUILDDIR)/tproxy-firewalld-VERSION.tar.gz,
# the input of tproxy-firewalld.spec's Source0 and of a Debian build from a clean tree.
DIST_REF     ?= HEAD
DIST_NAME    := tproxy-firewalld-$(VERSION)
dist:
	@mkdir -p $(BUILDDIR)
	git archive --format=tar.gz --prefix=$(DIST_NAME)/ -o $(BUILDDIR)/$(DIST_NAME).tar.gz $(DIST_REF)
	@echo $(BUILDDIR)/$(DIST_NAME).tar.gz

clean:
	rm -rf $(BUILDDIR)
