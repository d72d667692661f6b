# timebound-iam: build, test, lint.
#   make build   builds bin/timebound-iam
#   make test    installs the test rig if missing, then runs every test
#   make lint    gofmt, go vet, staticcheck (pinned)
#   make demo    installs the rig if missing, then replays the seed scenario
#   make bench   builds the release binary, then measures it against its targets

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
# urfave/cli's man-page and Markdown generators (and their Markdown parser)
# are unused, but their package initialisation would run on every
# credential_process call.
TAGS        := urfave_cli_no_docs
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build install test rig lint generate clean demo bench

# The release build is static (CGO_ENABLED=0): nothing on Linux needs cgo,
# and dynamic libc linking costs every credential_process run about 0.9 ms.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags "$(LDFLAGS)" -o bin/timebound-iam ./cmd/timebound-iam

install:
	CGO_ENABLED=0 $(GO) install -trimpath -tags $(TAGS) -ldflags "$(LDFLAGS)" ./cmd/timebound-iam

# The tests run real peers: MinIO, the AWS CLI v2, boto3, the TypeScript MCP
# SDK, keyctl and dbus-launch. The rig is cached outside the clone.
test: rig
	$(GO) test -race -count=1 -tags $(TAGS) ./...

rig:
	@sh .ci/rig >/dev/null

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Replays the seed scenario with the real binary, MinIO, the AWS CLI v2 and
# an MCP client on the TypeScript SDK, printing a transcript. .ci/rig prints
# the rig directory on stdout.
demo:
	@rig=$$(sh .ci/rig) && $(MAKE) --no-print-directory build && \
		TIMEBOUND_IAM_RIG="$$rig" $(GO) run ./cmd/timebound-iam/internal/demo -bin bin/timebound-iam

# Measures the release binary against its targets (README, Performance):
# medians and ratios from runs interleaved in this one invocation. The AWS CLI
# row needs the rig (make rig).
bench: build
	@rig=$$(sh .ci/rig) && TIMEBOUND_IAM_RIG="$$rig" $(GO) run ./cmd/timebound-iam/internal/bench -bin bin/timebound-iam

# Regenerates the service catalog from ../shared/aws-policies.
generate:
	$(GO) generate ./...

clean:
	rm -rf bin
