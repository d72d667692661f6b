# timebound-iam: build, test, lint.
#   make build   builds bin/timebound-iam
#   make test    installs the test rig if missing, then runs every test
#   make lint    gofmt, go vet, staticcheck (pinned)
#   make demo    installs the rig if missing, then replays the seed scenario

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build install test rig lint generate clean demo

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/timebound-iam ./cmd/timebound-iam

install:
	$(GO) install -trimpath -ldflags "$(LDFLAGS)" ./cmd/timebound-iam

# The tests run real peers: MinIO, the AWS CLI v2, boto3, the TypeScript MCP
# SDK, keyctl and dbus-launch. The rig is cached outside the clone.
test: rig
	$(GO) test -race -count=1 ./...

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

# Regenerates the service catalog from ../shared/aws-policies.
generate:
	$(GO) generate ./...

clean:
	rm -rf bin
