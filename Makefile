# agent: hand-written Makefile.  `make` builds ./agent; see README.md.

PREFIX ?= /usr/local
DESTDIR ?=

# Debian packages the build and the tests need (`make deps` installs the
# missing ones).
DEB_PKGS = gcc make autoconf pkg-config libev-dev libyajl-dev \
	libcurl4-openssl-dev libbsd-dev libiniparser-dev libseccomp-dev \
	libhttp-parser-dev libcriterion-dev curl git python3 procps iproute2 \
	influxdb openssh-client clang libclang-rt-14-dev locales openssl \
	prometheus systemd logrotate

# A locale with a decimal comma: test_encode.c proves the digits of a
# float do not follow LC_NUMERIC.
TEST_LOCALE = de_DE.UTF-8

# Goals that first install packages or that need no configure step must not
# make GNU make run ./configure (through the include below) before `deps`.
NOCONF_GOALS = deps check run fuzz clean distclean uninstall
ifeq ($(filter $(NOCONF_GOALS),$(MAKECMDGOALS)),)
-include config.mk
endif

CC ?= cc
WARN = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter \
	-Wno-format-truncation
COMMON_CFLAGS = -std=gnu11 -g $(WARN) -D_GNU_SOURCE -Isrc -Isrc/common
BASE_CFLAGS = $(COMMON_CFLAGS) -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
SAN_CFLAGS = $(COMMON_CFLAGS) -O1 $(SAN_FLAGS)
# A unit test's own file is compiled without optimisation: the code it
# tests is the library's, built as above, and optimising the tests' files
# took two thirds of make check's build (test_http.c alone: 2.7 s at -O2,
# 0.8 s at -O0; with the sanitizers 6.2 s at -O1, 2.1 s at -O0).
TEST_CFLAGS = $(COMMON_CFLAGS) -O0 -Itests/unit
SAN_TEST_CFLAGS = $(TEST_CFLAGS) $(SAN_FLAGS)
LIBS = $(CONFIG_LIBS)
# the agent loads libcurl at run time (src/common/curl_dl.h); unit tests
# that call libcurl themselves link it, and libm, whose calls -O0 does not
# turn into builtins
TEST_LIBS = $(LIBS) $(CONFIG_CURL_LIBS) -lm

LIB_SRC = $(sort $(wildcard src/common/*.c) \
	$(filter-out src/master/main.c,$(wildcard src/master/*.c)) \
	$(wildcard src/workers/*.c src/workers/*/*.c))
HDRS = $(wildcard src/common/*.h src/master/*.h src/workers/*.h \
	src/workers/*/*.h) src/config.h
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
# the tests' shared fixtures and helpers (as_nobody.h, json_events.h, ...)
UNIT_HDRS = $(wildcard tests/unit/*.h)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=build/unit/%)
SAN_UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=build/unit-san/%)

.PHONY: all deps check unit unit-san peers integration integration-san run install \
	uninstall \
	clean distclean fuzz fuzz-regress bench

all: agent

configure: configure.ac
	autoconf
	@touch $@

src/config.h.in: configure.ac
	autoheader
	@touch $@

config.mk src/config.h: configure config.mk.in src/config.h.in
	./configure --quiet CFLAGS=""
	@touch config.mk src/config.h

build/obj/%.o: %.c $(HDRS) config.mk
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -c -o $@ $<

build/san/%.o: %.c $(HDRS) config.mk
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -c -o $@ $<

build/libagent.a: $(LIB_SRC:%.c=build/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

build/libagent-san.a: $(LIB_SRC:%.c=build/san/%.o)
	@rm -f $@
	ar rcs $@ $^

agent: build/obj/src/master/main.o build/libagent.a
	$(CC) -o $@ $^ $(LIBS)

build/agent-san: build/san/src/master/main.o build/libagent-san.a
	$(CC) -fsanitize=address,undefined -o $@ $^ $(LIBS)

build/unit/%: tests/unit/%.c build/libagent.a $(HDRS) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< build/libagent.a -lcriterion $(TEST_LIBS)

build/unit-san/%: tests/unit/%.c build/libagent-san.a $(HDRS) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(SAN_TEST_CFLAGS) -o $@ $< build/libagent-san.a -lcriterion $(TEST_LIBS)

deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		    grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make deps: missing packages:$$missing (run as root)"; exit 1; \
		fi; \
		echo "make deps: installing$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y $$missing || \
		    { apt-get update && apt-get install -y $$missing; } || exit 1; \
	fi; \
	if ! locale -a 2>/dev/null | grep -qix '$(subst UTF-8,utf8,$(TEST_LOCALE))'; \
	then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make deps: locale $(TEST_LOCALE) missing (run as root)"; \
			exit 1; \
		fi; \
		echo "make deps: generating the locale $(TEST_LOCALE)"; \
		grep -qx '$(TEST_LOCALE) UTF-8' /etc/locale.gen 2>/dev/null || \
		    sed -i 's/^# *\($(TEST_LOCALE) UTF-8\)$$/\1/' /etc/locale.gen; \
		grep -qx '$(TEST_LOCALE) UTF-8' /etc/locale.gen || \
		    echo '$(TEST_LOCALE) UTF-8' >> /etc/locale.gen; \
		locale-gen >/dev/null || exit 1; \
	fi

# Each binary also writes a TAP report beside itself: the skipped tests
# and their reasons are listed, and counted, at the end.
SKIPPED = sh -c 'grep -h "\# SKIP" "$$@" | \
	sed "s/^ok - /  skipped: /; s/  *\# SKIP \(skipped: \)\{0,1\}/: /"; \
	echo "$$0: $$(cat "$$@" | grep -c "\# SKIP") skipped"'

unit: $(UNIT_BIN)
	@rm -f build/unit/*.tap
	@tests/unit/run-suite $(UNIT_BIN)
	@$(SKIPPED) unit build/unit/*.tap

# The same unit tests built with AddressSanitizer and UBSan; any
# sanitizer report fails the run (tests/unit/run-suite says how).
unit-san: $(SAN_UNIT_BIN)
	@rm -f build/unit-san/*.tap
	@tests/unit/run-suite --san $(SAN_UNIT_BIN)
	@$(SKIPPED) unit-san build/unit-san/*.tap

# The test doubles first: a peer that drifts from its protocol would make
# the integration tests prove nothing.
peers:
	python3 -m unittest tests/peers/test_nsqd_double.py
	python3 -m unittest tests/peers/test_registry_double.py

# Three modules at a time, in port windows 0 to 2; the sanitizer run uses
# 3 to 5, so that check can run both at once (run.py --first-slot).  The
# modules spend most of their time waiting (for rounds, timeouts, other
# processes): three at a time keep the longest two from bounding the run.
INTEGRATION_JOBS = 3
integration: agent
	python3 tests/integration/run.py --agent ./agent \
	    --jobs $(INTEGRATION_JOBS)

# The integration tests again against a sanitizer build of the daemon.
# Reports go to files (workers have no terminal); any file fails the run.
# The front is chrooted and cannot write one, but a crash there fails tests.
integration-san: build/agent-san
	@rm -rf build/san-reports && mkdir -p build/san-reports && \
		chmod 1777 build/san-reports
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$(CURDIR)/build/san-reports/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(CURDIR)/build/san-reports/ubsan \
		python3 tests/integration/run.py --agent build/agent-san \
		    --jobs $(INTEGRATION_JOBS) --first-slot $(INTEGRATION_JOBS)
	@if [ -n "$$(ls build/san-reports)" ]; then \
		cat build/san-reports/*; echo "sanitizer reports above"; exit 1; fi

# The two daemons are built first, two compilers at a time.  Both
# integration suites then start at once, and the unit tests, the fuzz
# corpora and the test doubles' own tests are built and run beside them:
# the integration suites are the longest part, and they mostly wait
# (about a third of two cores busy), which the compilers and the unit
# suites fill.  -Otarget prints each suite's output whole when it ends,
# so the log reads as a serial run.
check: deps
	$(MAKE) -j2 all build/agent-san
	$(MAKE) -j4 -Otarget integration-san integration peers unit unit-san \
	    fuzz-regress

run: deps
	$(MAKE) all
	sh etc/quickstart/quickstart.sh
	./agent start -F -f etc/quickstart/agent.conf

# libFuzzer targets (tests/fuzz/Makefile), built with clang.  `fuzz`
# fuzzes each for FUZZ_TIME seconds (60); `fuzz-regress`, part of check,
# runs each once over its committed corpus, so a fixed crash stays fixed.
FUZZ_TIME ?= 60

fuzz: deps
	$(MAKE) src/config.h
	$(MAKE) -C tests/fuzz FUZZ_TIME=$(FUZZ_TIME)

# Two at a time, or as many as the jobserver of a parallel make allows.
# The targets replay against the sanitizer archive (tests/fuzz/Makefile).
fuzz-regress: src/config.h build/libagent-san.a
	$(MAKE) -C tests/fuzz $(if $(findstring jobserver,$(MAKEFLAGS)),,-j2) \
	    regress

bench: agent
	$(MAKE) -C bench

# The unit goes where systemd looks for local units, with ExecStart
# pointing at the installed binary.
UNITDIR ?= $(PREFIX)/lib/systemd/system

install: agent
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)/etc \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)/etc/logrotate.d
	install -m 0755 agent $(DESTDIR)$(PREFIX)/sbin/agent
	sed 's|/usr/local/sbin/agent|$(PREFIX)/sbin/agent|' \
	    contrib/agent.service > $(DESTDIR)$(UNITDIR)/agent.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/agent.service
	[ -e $(DESTDIR)/etc/logrotate.d/agent ] || \
	    install -m 0644 contrib/agent.logrotate $(DESTDIR)/etc/logrotate.d/agent
	install -m 0644 doc/agent.8 $(DESTDIR)$(PREFIX)/share/man/man8/agent.8
	install -m 0644 doc/agent.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/agent.conf.5
	install -d $(DESTDIR)/etc/sysusers.d
	install -m 0644 contrib/agent.sysusers $(DESTDIR)/etc/sysusers.d/agent.conf
	@if [ -n "$(DESTDIR)" ]; then \
		echo "make install: on the target, run systemd-sysusers" \
		    "/etc/sysusers.d/agent.conf to make the accounts"; \
	elif command -v systemd-sysusers >/dev/null; then \
		echo "systemd-sysusers /etc/sysusers.d/agent.conf"; \
		systemd-sysusers /etc/sysusers.d/agent.conf || exit 1; \
	else \
		echo "make install: no systemd-sysusers: make the system" \
		    "users _agent and _agentplug (contrib/agent.sysusers)"; \
	fi
	@if [ ! -e $(DESTDIR)/etc/agent.conf ]; then \
		( umask 077 && sed -f contrib/install-conf.sed etc/agent.conf \
		    > $(DESTDIR)/etc/agent.conf.new ) && \
		grep -q '^	user = "_agent"$$' $(DESTDIR)/etc/agent.conf.new && \
		grep -q '^	logdir = "/var/log/agent"$$' \
		    $(DESTDIR)/etc/agent.conf.new || \
		{ echo "make install: contrib/install-conf.sed no longer" \
		    "matches etc/agent.conf"; rm -f $(DESTDIR)/etc/agent.conf.new; \
		    exit 1; }; \
		chmod 0600 $(DESTDIR)/etc/agent.conf.new && \
		mv $(DESTDIR)/etc/agent.conf.new $(DESTDIR)/etc/agent.conf; \
	fi

# What install put in place, but for what is the operator's by now: the
# config (perhaps edited; it may hold the token), a logrotate snippet
# that is not ours as shipped, the accounts (files they own stay behind:
# checkouts, the spool) and the data (pluginsdir, /var/lib/agent,
# /var/log/agent).  A service running under systemd is stopped and
# disabled first.
uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ] && \
	    command -v systemctl >/dev/null; then \
		echo "systemctl disable --now agent.service"; \
		systemctl disable --now agent.service || true; \
	fi
	rm -f $(DESTDIR)$(PREFIX)/sbin/agent $(DESTDIR)$(UNITDIR)/agent.service \
	    $(DESTDIR)$(PREFIX)/share/man/man8/agent.8 \
	    $(DESTDIR)$(PREFIX)/share/man/man5/agent.conf.5 \
	    $(DESTDIR)/etc/sysusers.d/agent.conf
	@if cmp -s contrib/agent.logrotate $(DESTDIR)/etc/logrotate.d/agent; \
	then \
		echo "rm -f $(DESTDIR)/etc/logrotate.d/agent"; \
		rm -f $(DESTDIR)/etc/logrotate.d/agent; \
	elif [ -e $(DESTDIR)/etc/logrotate.d/agent ]; then \
		echo "make uninstall: kept /etc/logrotate.d/agent (changed)"; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ] && \
	    command -v systemctl >/dev/null; then \
		systemctl daemon-reload || true; \
	fi
	@echo "make uninstall: kept /etc/agent.conf, the accounts _agent and" \
	    "_agentplug (userdel _agent; userdel _agentplug), and the data:" \
	    "pluginsdir (/usr/local/agent-plugins), /var/lib/agent," \
	    "/var/log/agent, /var/empty/agent"

clean:
	rm -rf build agent

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache \
	    src/config.h src/config.h.in src/config.h.in~
