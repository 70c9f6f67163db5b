# patchphot - build every program into bin/, run the tests, install.
#
#   make                    build libcommon.a, every tool and the tests
#   make check              build, then run all tests with prove (TAP)
#   make check SANITIZE=1   the same under AddressSanitizer + UBSan
#   make install PREFIX=/usr/local [DESTDIR=...]
#
# Objects and programs go to build/<flavour>/ so that a plain and a
# sanitizer build never mix; bin/ gets a copy of the last flavour built,
# and `make check` tests the programs of its own flavour.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
JOBS     ?= 2

CC       ?= cc
PKGS     := cfitsio wcslib yaml-0.1 jansson gsl fftw3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
# -fno-trapping-math: nothing here reads the floating-point exception
# flags, and without it comparisons block vectorisation of pixel loops;
# -fvect-cost-model=dynamic lets -O2 vectorise loops that need a runtime
# alias check (gcc 12's -O2 default, "very-cheap", refuses them).
CFLAGS   ?= -O2 -g -fno-trapping-math -fvect-cost-model=dynamic -fopenmp-simd
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DPP_VERSION='"$(VERSION)"' $(WARN) \
              $(CFLAGS) -pthread -Ilibcommon $(PKG_CFLAGS)
LDLIBS   := $(PKG_LIBS) -lsep -lcsv -lm -pthread

ifeq ($(SANITIZE),1)
FLAVOUR  := san
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
else
FLAVOUR  := plain
endif

B        := build/$(FLAVOUR)
LIB      := $(B)/libcommon.a
LIB_SRC  := $(wildcard libcommon/*.c)
LIB_OBJ  := $(patsubst %.c,$(B)/%.o,$(LIB_SRC))
# Programs are the tools/pp-*/ directories with a main.c; a directory
# without one (an engine library growing ahead of its program) only
# provides objects to its unit tests.
TOOL_DIRS := $(notdir $(wildcard tools/pp-*))
TOOLS    := $(notdir $(patsubst %/main.c,%,$(wildcard tools/pp-*/main.c)))
PROGS    := $(addprefix bin/,$(TOOLS))
BPROGS   := $(addprefix $(B)/bin/,$(TOOLS))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
CLI_TESTS := $(wildcard tests/cli/t[0-9]*.sh)
# Test helpers (independent of patchphot's code: plain cfitsio).
HELP_SRC := $(wildcard tests/data/*.c)
HELP_BIN := $(patsubst tests/data/%.c,$(B)/tests/%,$(HELP_SRC))
SCRIPTS  := $(filter-out scripts/install-deps.sh,$(wildcard scripts/pp-*))
MAN1     := $(wildcard man/man1/*.1)
MAN7     := $(wildcard man/man7/*.7)

.PHONY: all check install clean FORCE
.SECONDARY:
all: $(PROGS) $(UNIT_BIN) $(HELP_BIN)

# Replaced by rename, so a program that is running (a pipeline in
# progress) keeps its old file and the copy never fails "text file busy".
bin/%: $(B)/bin/% FORCE
	@mkdir -p bin
	@cmp -s $< $@ || { cp $< $@.new && mv -f $@.new $@; }

# Rebuild everything when the flags change (a stamp holding the flags).
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
	  echo '$(ALL_CFLAGS) $(LDFLAGS)' > $@

$(B)/%.o: %.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# One program per tools/<name>/ directory, linked from all its .c files.
# A unit test tests/unit/test_<stem>_*.c of tools/pp-<stem>/ is linked
# with that tool's objects but main.o.
define TOOL_RULE
$(1)_OBJ := $$(patsubst %.c,$(B)/%.o,$$(wildcard tools/$(1)/*.c))
$(1)_LIBOBJ := $$(filter-out %/main.o,$$($(1)_OBJ))
$(B)/bin/$(1): $$($(1)_OBJ) $(LIB) $(B)/.flags
	@mkdir -p $(B)/bin
	$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJ) $(LIB) $$(LDLIBS)
$(B)/tests/test_$(patsubst pp-%,%,$(1))_%: \
		$(B)/tests/unit/test_$(patsubst pp-%,%,$(1))_%.o $$($(1)_LIBOBJ) $(LIB)
	$$(CC) $$(LDFLAGS) -o $$@ $$< $$($(1)_LIBOBJ) $(LIB) $$(LDLIBS)
$(B)/tests/unit/test_$(patsubst pp-%,%,$(1))_%.o: \
		tests/unit/test_$(patsubst pp-%,%,$(1))_%.c $(B)/.flags
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) -Itests -Itools/$(1) -MMD -MP -c $$< -o $$@
endef
$(foreach t,$(TOOL_DIRS),$(eval $(call TOOL_RULE,$(t))))

# Accuracy tests of pp-fit against pp-sim's independent renderer
# (tests/unit/test_fitsim_*.c) link both tools' objects.
$(B)/tests/test_fitsim_%: $(B)/tests/unit/test_fitsim_%.o $(pp-fit_LIBOBJ) \
		$(pp-sim_LIBOBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(pp-fit_LIBOBJ) $(pp-sim_LIBOBJ) $(LIB) \
	  $(LDLIBS)
$(B)/tests/unit/test_fitsim_%.o: tests/unit/test_fitsim_%.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -Itools/pp-fit -Itools/pp-sim -MMD -MP \
	  -c $< -o $@

$(B)/tests/test_%: $(B)/tests/unit/test_%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(B)/tests/%: tests/data/%.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(B)/tests/unit/%.o: tests/unit/%.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -c $< -o $@

# Unit tests run from tests/unit so that they find their data files; CLI
# tests find the programs through PP_BIN.
check: all
	cd tests && PP_BIN=$(CURDIR)/$(B)/bin PP_TOP=$(CURDIR) \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  PP_TESTBIN=$(CURDIR)/$(B)/tests \
	  prove -j$(JOBS) -e '' $(addprefix $(CURDIR)/,$(UNIT_BIN)) \
	  $(addprefix $(CURDIR)/,$(CLI_TESTS))

install: $(PROGS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(PROGS) $(SCRIPTS) $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 $(MAN7) $(DESTDIR)$(PREFIX)/share/man/man7

clean:
	rm -rf build bin tests/cli/trash.*

-include $(LIB_OBJ:.o=.d) $(wildcard $(B)/tools/*/*.d) $(wildcard $(B)/tests/unit/*.d)
