# Thin wrapper over CMake. `make demo` and `make test` are the two commands of the README.
BUILD ?= build
JOBS ?= 2
PY := /usr/bin/python3
CMAKE_FLAGS ?=

.PHONY: deps build test demo report spec-docs clean

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900
	$(PY) -m unittest discover -s plotting -p '*_test.py' -v

demo: build
	$(BUILD)/nmlab run experiments/quickstart.yaml --out results
	$(BUILD)/nmlab report results/quickstart/latest.h5

report: build
	@for f in results/*/latest.h5; do $(BUILD)/nmlab report $$f; done

spec-docs: build
	bash scripts/update-spec-docs.sh $(BUILD)/nmlab

clean:
	rm -rf $(BUILD)
