# AIJ weekly integration: one Makefile for every program, the tests and the demo.
#
#   make             build every program into $(BUILD)/bin
#   make demo        the sample week through the whole pipeline (installs the
#                    build and run packages first: DEB_BUILD, DEB_RUN)
#   make test        unit tests, integration tests (Criterion) then end-to-end
#                    tests (installs every package first: DEB_PACKAGES)
#   make unit integration   build the Criterion tests only (run: tests/run)
#   make deploy-test the docker-compose deployment run with podman (tests/deploy/run)
#   make deps        install the missing Debian packages, all of them (as root)
#   make fuzz        libFuzzer targets of tests/fuzz/, FUZZ_SECONDS (60) each
#
# Switches: WERROR=1 (warnings are errors), SANITIZE=address,undefined,
# BUILD=dir (out-of-tree build folder, default build/).

BUILD    ?= build
CC       ?= gcc
FUZZ_CC  ?= clang
OPT      ?= -O2 -g
WERROR   ?= 0
SANITIZE ?=

# Debian packages: the build's, the demo's (deploy/aij-local: Redis, curl for
# --serve, python3 for the summary), and the tests' (Criterion, the browser
# tests' Chromium, fuzzing with clang, valgrind, the compose tests:
# docker-compose, and podman to run the deployment, the benchmark's sqlite3
# and postgresql).
DEB_BUILD = make gcc libc6-dev pkg-config \
	librdkafka-dev libprotobuf-c-dev protobuf-c-compiler libhiredis-dev \
	libjansson-dev libssl-dev uthash-dev libmicrohttpd-dev \
	libxlsxwriter-dev zlib1g-dev libcrypt-dev
DEB_RUN  = redis-server curl python3 tzdata
DEB_TEST = libcriterion-dev procps chromium clang libclang-rt-14-dev valgrind \
	docker-compose podman runc netavark aardvark-dns iptables debootstrap \
	sqlite3 bc postgresql
DEB_PACKAGES = $(DEB_BUILD) $(DEB_RUN) $(DEB_TEST)

PKG_LIBS = rdkafka libprotobuf-c hiredis jansson libcrypto
# Libraries only one program links, beyond PKG_LIBS: the reporter's HTTP
# server of /metrics; the editions service's, its XLSX writer and password
# hashes (libcrypt).
PKG_LIBS_reporter = libmicrohttpd
PKG_LIBS_editions = libmicrohttpd xlsxwriter libcrypt

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wformat=2 -Wvla -Wpointer-arith -Wundef -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifneq ($(SANITIZE),)
SANFLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

GEN      = $(BUILD)/gen
CPPFLAGS = -D_GNU_SOURCE -Ilib -I$(GEN) \
	$(shell pkg-config --cflags $(PKG_LIBS) $(PKG_LIBS_reporter) $(PKG_LIBS_editions) 2>/dev/null)
CFLAGS   = -std=c11 $(OPT) $(WARN) $(SANFLAGS) -MMD -MP
LDFLAGS  = $(SANFLAGS)
LDLIBS   = $(shell pkg-config --libs $(PKG_LIBS) 2>/dev/null) -lm -lpthread
# $(call stage_libs,STAGE): the libraries of PKG_LIBS_<STAGE>, if any.
stage_libs = $(if $(PKG_LIBS_$(1)),$(shell pkg-config --libs $(PKG_LIBS_$(1)) 2>/dev/null))

# The shared library: lib/*.c plus the generated protobuf code.
PROTO_C  = $(GEN)/aij.pb-c.c
PROTO_H  = $(GEN)/aij.pb-c.h
LIB_SRC  = $(wildcard lib/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/aij.pb-c.o
LIBAIJ   = $(BUILD)/libaij.a

# One program per pipeline folder: <dir>/*.c -> $(BUILD)/bin/aij-<dir>.
STAGES   = ingest matcher reporter indexer inbox editions
PROGRAMS = $(STAGES:%=$(BUILD)/bin/aij-%) $(BUILD)/bin/aij-broker

# Criterion tests, each file a binary $(BUILD)/tests/<kind>/test_<name>:
#   tests/unit/test_<module>.c        one module in one process
#   tests/integration/test_<name>.c   real processes: the programs, aij-broker,
#                                     redis-server, or the test's own children
# each linked with libaij and the helpers of tests/support/ (an archive: a
# test links the helpers it uses; the tests include them as
# "support/<helper>.h"). The unit test of a stage's modules,
# tests/unit/test_<stage>.c or test_<stage>_*.c, links that stage's objects
# too (an archive of them, main.o aside) and its libraries.
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(UNIT_SRC:tests/%.c=$(BUILD)/tests/%)
INTEG_SRC = $(wildcard tests/integration/test_*.c)
INTEG_BIN = $(INTEG_SRC:tests/%.c=$(BUILD)/tests/%)
TSUP_SRC  = $(wildcard tests/support/*.c)
TSUP_OBJ  = $(TSUP_SRC:%.c=$(BUILD)/obj/%.o)
TSUP_LIB  = $(BUILD)/libtestsupport.a

.PHONY: all deps deps-demo test unit integration e2e demo deploy-test bench bench-redis \
	clean fuzz fuzz-build
.DEFAULT_GOAL := all
# Objects are not intermediates to delete: the next make would rebuild them.
.SECONDARY:

# A machine without a build tool or library: say which, and what installs
# it, instead of a compiler's "Error 127" (cheap: a few command -v and one
# pkg-config). Not for the goals that install the packages first.
INSTALLING_GOALS = deps deps-demo demo test bench bench-redis deploy-test clean
ifneq ($(filter-out $(INSTALLING_GOALS),$(or $(MAKECMDGOALS),all)),)
# command:package and pkg-config-name:package, as needed by the goals given.
CHECK_CMDS = $(firstword $(CC)):gcc protoc-c:protobuf-c-compiler pkg-config:pkg-config \
	$(if $(filter fuzz fuzz-build,$(MAKECMDGOALS)),$(FUZZ_CC):clang)
CHECK_LIBS = rdkafka:librdkafka-dev libprotobuf-c:libprotobuf-c-dev hiredis:libhiredis-dev \
	jansson:libjansson-dev libcrypto:libssl-dev libmicrohttpd:libmicrohttpd-dev \
	xlsxwriter:libxlsxwriter-dev libcrypt:libcrypt-dev \
	$(if $(filter unit integration,$(MAKECMDGOALS)),criterion:libcriterion-dev)
TOOLS_MISSING := $(shell \
	for c in $(CHECK_CMDS); do \
		command -v $${c%%:*} >/dev/null 2>&1 || printf '%s (Debian package %s); ' $${c%%:*} $${c##*:}; done; \
	[ -f /usr/include/uthash.h ] || printf '%s ' 'uthash.h (Debian package uthash-dev);'; \
	if command -v pkg-config >/dev/null 2>&1 && \
	   ! pkg-config --exists $(foreach l,$(CHECK_LIBS),$(firstword $(subst :, ,$(l)))); then \
		for l in $(CHECK_LIBS); do \
			pkg-config --exists $${l%%:*} || printf 'library %s (Debian package %s); ' $${l%%:*} $${l##*:}; done; fi)
ifneq ($(strip $(TOOLS_MISSING)),)
$(error missing: $(strip $(TOOLS_MISSING)) run 'make deps' (as root) to install them, or 'make demo' or 'make test', which install what they need first)
endif
endif

all: $(PROGRAMS)

# Every package (DEB_PACKAGES); deps-demo: only those make demo needs.
deps:
	@deploy/install-deps $(DEB_PACKAGES)

deps-demo:
	@deploy/install-deps $(DEB_BUILD) $(DEB_RUN)

# Both files from one protoc-c run (a grouped target): make then knows the
# header is remade, and rebuilds what includes it after a change of the proto.
$(PROTO_C) $(PROTO_H) &: proto/aij.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) $<

# Redis Lua scripts (lib/lua/*.lua) become C string literals, included
# where they are used: the scripts stay files that can be linted and run
# with redis-cli --eval.
LUA_SRC = $(wildcard lib/lua/*.lua)
LUA_H   = $(LUA_SRC:lib/lua/%.lua=$(GEN)/%.lua.h)

$(GEN)/%.lua.h: lib/lua/%.lua
	@mkdir -p $(GEN)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $< > $@

# Every object may include the generated headers: generate them first.
$(BUILD)/obj/%.o: %.c | $(PROTO_C) $(PROTO_H) $(LUA_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/gen/aij.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(filter-out -Wmissing-prototypes -Wundef,$(CFLAGS)) -c $< -o $@

$(LIBAIJ): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

.SECONDEXPANSION:
# (No '%' inside: make would put the stem there.)
$(BUILD)/bin/aij-%: $$(addprefix $(BUILD)/obj/,$$(addsuffix .o,$$(basename $$(wildcard $$*/*.c)))) $(LIBAIJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call stage_libs,$*) $(LDLIBS)

$(BUILD)/bin/aij-broker: $(BUILD)/obj/deploy/broker.o $(LIBAIJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/tests/%.o: CPPFLAGS += -Itests

$(TSUP_LIB): $(TSUP_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^

# A stage's objects but its main.o, for the unit tests of its modules.
$(BUILD)/stage/lib%.a: $$(filter-out $(BUILD)/obj/$$*/main.o,$$(addprefix $(BUILD)/obj/,$$(addsuffix .o,$$(basename $$(wildcard $$*/*.c)))))
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^

# $(call test_stage,KIND/test_NAME): the stage a unit test is of, if any.
test_stage = $(firstword $(foreach s,$(STAGES),$(if $(filter unit/test_$(s) unit/test_$(s)_%,$(1)),$(s))))

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $$(addprefix $(BUILD)/stage/lib,$$(addsuffix .a,$$(call test_stage,$$*))) $(TSUP_LIB) $(LIBAIJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call stage_libs,$(call test_stage,$*)) $(LDLIBS) -lcriterion

unit: $(UNIT_BIN)

integration: $(INTEG_BIN)

test: deps
	@$(MAKE) --no-print-directory all unit integration
	@BUILD=$(BUILD) tests/run

demo: deps-demo
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) deploy/demo

# The docker-compose deployment, run for real with podman (as root; a few
# minutes, the first time more: it makes the base image and builds the
# images); closes with "N passed, N failed".
deploy-test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/deploy/run

# Fuzzing: tests/fuzz/fuzz_<target>.c, each built with clang and libFuzzer
# (with ASan + UBSan) from the library's sources, then run by tests/fuzz/run.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS  = reader record normalize proto report
FUZZ_BIN      = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_FLAGS    = -std=c11 -O1 -g $(filter-out -Wmissing-prototypes -Wundef,$(WARN)) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC) $(wildcard lib/*.h) $(PROTO_C) $(LUA_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(PROTO_C) $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

# The benchmark (bench/, issue 6): the in-memory reference uses the
# collector and the writers of the library, the reporter's, so its outputs
# compare byte for byte.
BENCH_LINES    ?= 1000000
BENCH_DOSSIERS ?= 2000000
BENCH_RUNS     ?= 1
BENCH_DIR      ?= $(BUILD)/bench

all: $(BUILD)/bin/aij-bench-inmem $(BUILD)/bin/aij-bench-measure $(BUILD)/bin/aij-bench-redis

$(BUILD)/bin/aij-bench-inmem: $(BUILD)/obj/bench/inmem/main.o $(LIBAIJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The week's Redis work alone, without Kafka (bench/redis-floor).
$(BUILD)/bin/aij-bench-redis: $(BUILD)/obj/bench/redis/main.o $(LIBAIJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# What bench/run wraps each measured program in (wall time, CPU, peak RSS).
$(BUILD)/bin/aij-bench-measure: $(BUILD)/obj/bench/measure/main.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) BENCH_LINES=$(BENCH_LINES) BENCH_DOSSIERS=$(BENCH_DOSSIERS) \
		BENCH_RUNS=$(BENCH_RUNS) BENCH_DIR=$(BENCH_DIR) bench/run

# The week's Redis work alone, through the script and as plain commands.
bench-redis: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) BENCH_LINES=$(BENCH_LINES) BENCH_DOSSIERS=$(BENCH_DOSSIERS) \
		BENCH_RUNS=$(BENCH_RUNS) BENCH_DIR=$(BENCH_DIR) bench/redis-floor

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
