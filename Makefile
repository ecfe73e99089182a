# tproxy-firewalld: one plain Makefile. See README.md for the targets.

VERSION      := 0.1.0
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
PKGS         := libxml-2.0 dbus-1 glib-2.0 yaml-0.1 json-glib-1.0

# Debian packages needed to build and test (installed by `make deps`).
DEB_BUILD    := build-essential pkg-config libxml2-dev libdbus-1-dev libglib2.0-dev libcmocka-dev \
                libyaml-dev libjson-glib-dev libxml2-utils clang-format python3
DEB_TEST     := firewalld iptables nftables dbus iproute2 mandoc valgrind python3 ansible-core binutils

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
CPPFLAGS     += -Iinclude -D_GNU_SOURCE -DTPFW_VERSION=\"$(VERSION)\" \
                -DTPFW_DATADIR=\"$(DATADIR)/tproxy-firewalld\"
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

.PHONY: all lib cli tests check test unit cli-test integration asan valgrind install uninstall \
        format format-check deps demo clean man-lint fuzz bench

all: $(SHLIB) $(STLIB) $(CLI) $(CLI_FAULT)

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

$(BUILDDIR)/fuzz-replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(wildcard tests/fuzz/*.h) $(STLIB)
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

integration: all tests
	python3 tests/run.py --builddir $(BUILDDIR) integration

# Everything CI runs: the unit suite under ASan+UBSan and under valgrind, then every suite.
check: all tests
	$(MAKE) asan
	python3 tests/run.py --builddir $(BUILDDIR) --valgrind unit
	python3 tests/run.py --builddir $(BUILDDIR) all

asan:
	$(MAKE) BUILDDIR=build/asan SANITIZE=address,undefined test

valgrind: all tests
	python3 tests/run.py --builddir $(BUILDDIR) --valgrind unit

man-lint:
	mandoc -Tlint -W warning man/tproxy-firewalld.8

format:
	clang-format -i $(LIB_SRCS) $(CLI_SRCS) $(HEADERS) $(TEST_SRCS)

format-check:
	clang-format --dry-run --Werror $(LIB_SRCS) $(CLI_SRCS) $(HEADERS) $(TEST_SRCS)

deps:
	@missing=""; for p in $(DEB_BUILD) $(DEB_TEST); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

demo: all
	TPFW_BUILDDIR=$(abspath $(BUILDDIR)) python3 tests/demo.py

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/tproxy-firewalld \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DATADIR)/tproxy-firewalld $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(COMPLETIONDIR)
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/tproxy-firewalld
	install -m 0755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libtproxy-firewalld.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libtproxy-firewalld.so
	install -m 0644 include/tproxy-firewalld/*.h $(DESTDIR)$(INCLUDEDIR)/tproxy-firewalld/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' \
		src/lib/tproxy-firewalld.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/tproxy-firewalld.pc
	install -m 0644 schemas/* $(DESTDIR)$(DATADIR)/tproxy-firewalld/
	install -m 0644 man/tproxy-firewalld.8 $(DESTDIR)$(MANDIR)/man8/
	[ ! -f contrib/bash-completion/tproxy-firewalld ] || \
		install -m 0644 contrib/bash-completion/tproxy-firewalld $(DESTDIR)$(COMPLETIONDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tproxy-firewalld $(DESTDIR)$(LIBDIR)/libtproxy-firewalld.so* \
		$(DESTDIR)$(PKGCONFIGDIR)/tproxy-firewalld.pc $(DESTDIR)$(MANDIR)/man8/tproxy-firewalld.8 \
		$(DESTDIR)$(COMPLETIONDIR)/tproxy-firewalld
	rm -rf $(DESTDIR)$(INCLUDEDIR)/tproxy-firewalld $(DESTDIR)$(DATADIR)/tproxy-firewalld

clean:
	rm -rf $(BUILDDIR)
