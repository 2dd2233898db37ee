# Targets a newcomer can guess. The test command README gives is `make test`'s recipe.
GO ?= go
# The patched Go release the gateway is built with (README, "Go version").
export GOTOOLCHAIN ?= go1.27.3
PKGS := ./...
FUZZTIME ?= 30s

.PHONY: build test lint bench fuzz demo clean

build:
	$(GO) build -o bin/rampart ./cmd/rampart

test:
	$(GO) test -race -count=1 $(PKGS)

lint:
	gofmt -l $$(git ls-files '*.go')
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

bench: build
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)
	./bin/rampart bench

fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "$$pkg $$t"; $(GO) test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

demo: build
	./bin/rampart demo

clean:
	rm -rf bin rampart-data
