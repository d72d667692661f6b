# timebound-iam: build, test, lint.
#   make build   builds bin/timebound-iam
#   make test    installs the test rig if missing, then runs every test
#   make lint    gofmt, go vet, staticcheck (pinned)

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build install test rig lint generate clean

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

# Regenerates the service catalog from ../shared/aws-policies.
generate:
	$(GO) generate ./...

clean:
	rm -rf bin
