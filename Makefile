# Thin wrapper over the CMake presets: every target delegates.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps check check-dev check-asan asan release fuzz bench run clean crash-long

all:
	@test -f build/CMakeCache.txt || cmake --preset dev >/dev/null
	cmake --build build -j$(JOBS)

deps:
	./scripts/install-deps.sh

# The whole suite, then the whole suite again under ASan+UBSan.
check: deps
	cmake --preset dev >/dev/null
	cmake --build build -j$(JOBS)
	cd build && ctest --output-on-failure -j$(JOBS) --timeout 300
	cmake --build build --target core-size
	cmake --preset asan >/dev/null
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j$(JOBS) --timeout 600

check-dev: all
	cd build && ctest --output-on-failure -j$(JOBS)

asan:
	cmake --preset asan >/dev/null
	cmake --build build-asan -j$(JOBS)

release:
	cmake --preset release >/dev/null
	cmake --build build-release -j$(JOBS)

fuzz:
	cmake --preset fuzz >/dev/null
	cmake --build build-fuzz -j$(JOBS)
	./fuzz/run.sh build-fuzz $(or $(SECONDS),60)

# The crash tests at length: SIGKILL at thousands of points (make check
# runs 200 of each). OTA_CRASH_ROUNDS=N to change, OTA_CRASH_SEED to replay.
CRASH_ROUNDS ?= 2000
crash-long: all
	cd build/tests && for t in publish_crash apply_crash update_crash; do \
		OTA_CRASH_ROUNDS=$(CRASH_ROUNDS) ./itest_$$t >$$t.log 2>&1; \
		rc=$$?; grep 'crash:' $$t.log; \
		[ $$rc -eq 0 ] || { echo "$$t failed: build/tests/$$t.log"; \
		exit 1; }; done

bench: all
	./bench/bench.sh

# Start the server on the bundled example catalog (README's first command),
# with two example releases in build/run-data: demo/app (a MicroPython
# module) and demo/blink (an ESP8266 image). Each is published once.
RUN_DATA = build/run-data
run: deps all
	@./build/ota release show --data $(RUN_DATA) demo/app 1.0.0 >/dev/null 2>&1 || \
		./build/ota publish --data $(RUN_DATA) demo/app 1.0.0 examples/module/main
	@./build/ota release show --data $(RUN_DATA) demo/blink 1.0.0 >/dev/null 2>&1 || \
		./build/ota publish --data $(RUN_DATA) demo/blink 1.0.0 examples/catalog/blink-1.0.0.bin
	./build/ota serve --catalog examples/catalog --data $(RUN_DATA)

clean:
	rm -rf build build-asan build-release build-fuzz
