# timebound-iam: build, test, lint.
#   make build   builds bin/timebound-iam
#   make test    installs the test rig if missing, then runs every test
#   make lint    gofmt, go vet (also for darwin and windows), a windows build, staticcheck and govulncheck (pinned)
#   make fuzz    runs every fuzz target for FUZZTIME (60s) each
#   make demo    installs the rig if missing, then replays the seed scenario
#   make bench   builds the release binary, then measures it against its targets
#   make release-check  checks .goreleaser.yaml and builds this platform's archive as a snapshot
#   make policy-report  prints how many catalog services fit one grant, before and after fitting, and at full with their denies

GO          ?= go
# Go 1.26.8's standard library has known vulnerabilities in crypto/tls,
# crypto/x509 and net/http, which talk to STS; 1.26.10 fixes them. The go
# command fetches this toolchain through the module proxy (about 76 MB, once).
# go.mod's toolchain line says the same to a go command on GOTOOLCHAIN=auto.
export GOTOOLCHAIN := go1.26.11
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
# urfave/cli's man-page and Markdown generators (and their Markdown parser)
# are unused, but their package initialisation would run on every
# credential_process call.
TAGS        := urfave_cli_no_docs
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# v2.17.0 is the newest goreleaser this Go builds (v2.18 needs Go 1.27).
GORELEASER  := github.com/goreleaser/goreleaser/v2@v2.17.0
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0
# vuln.go.dev is generated from the reports in the Go module golang.org/x/vulndb.
# Where vuln.go.dev cannot be reached but the Go module proxy can, lint checks
# against that module instead: VULNDB_DATA (default latest, the newest commit
# the proxy has; pin a version to reproduce a run), indexed with indexdb.
VULNDB_INDEXDB := golang.org/x/vulndb/cmd/indexdb@v0.0.0-20261105234957-e22db6528018
VULNDB_DATA ?= latest
VULNDB_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/timebound-iam/vulndb
FUZZTIME ?= 60s
# New coverage is minimised for up to this long, and the fuzzer does not count
# or report executions meanwhile; the default of 60s would eat the budget.
FUZZMINIMIZETIME ?= 10s
# The fuzz targets write files; on tmpfs their fsyncs cost nothing.
FUZZTMPDIR ?= $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo $${TMPDIR:-/tmp})

.PHONY: build install test rig lint fuzz generate clean demo bench policy-report release-check

# The release build is static (CGO_ENABLED=0): nothing on Linux needs cgo,
# and dynamic libc linking costs every credential_process run about 0.9 ms.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags "$(LDFLAGS)" -o bin/timebound-iam ./cmd/timebound-iam

install:
	CGO_ENABLED=0 $(GO) install -trimpath -tags $(TAGS) -ldflags "$(LDFLAGS)" ./cmd/timebound-iam

# The tests run real peers: MinIO, the AWS CLI v2, boto3, the TypeScript MCP
# SDK, keyctl and dbus-launch. The rig is cached outside the clone.
# The end-to-end tests of cmd/timebound-iam, the escape suites included, take
# about 5 minutes under -race on 2 cores, more on a loaded machine; go test's
# default limit of 10 minutes per package is too close.
test: rig
	$(GO) test -race -count=1 -timeout 30m -tags $(TAGS) ./...

rig:
	@sh .ci/rig >/dev/null

# govulncheck fails lint on a vulnerability the code can reach. GOVULNDB
# (a URL, file:// for a local copy) replaces vuln.go.dev. When neither
# vuln.go.dev nor the Go module proxy can be reached it says so and does not
# fail: a network outage is not a finding.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=darwin $(GO) vet -tags $(TAGS) ./...
	GOOS=windows $(GO) vet -tags $(TAGS) ./...
	GOOS=windows CGO_ENABLED=0 $(GO) build -tags $(TAGS) -o /dev/null ./cmd/timebound-iam
	$(GO) run $(STATICCHECK) ./...
	@if [ -n "$(GOVULNDB)" ]; then echo "$(GO) run $(GOVULNCHECK) -db $(GOVULNDB) ./..."; exec $(GO) run $(GOVULNCHECK) -db "$(GOVULNDB)" ./...; fi; \
	echo "$(GO) run $(GOVULNCHECK) ./..."; \
	out=$$($(GO) run $(GOVULNCHECK) ./... 2>&1); rc=$$?; \
	if [ $$rc -eq 0 ] || ! printf '%s\n' "$$out" | grep -q 'fetching vulnerabilities'; then printf '%s\n' "$$out"; exit $$rc; fi; \
	printf '%s\n' "$$out" | grep 'fetching vulnerabilities' >&2; \
	echo "lint: vuln.go.dev is unreachable; checking against golang.org/x/vulndb@$(VULNDB_DATA) from the Go module proxy instead" >&2; \
	info=$$(cd / && $(GO) mod download -json golang.org/x/vulndb@$(VULNDB_DATA) 2>&1); \
	dir=$$(printf '%s\n' "$$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	ver=$$(printf '%s\n' "$$info" | sed -n 's/^[[:space:]]*"Version": "\(.*\)",$$/\1/p'); \
	if [ -z "$$dir" ] || [ ! -d "$$dir/data/osv" ]; then \
		printf '%s\n' "$$info" >&2; \
		echo "lint: WARNING: govulncheck could not reach its database (vuln.go.dev) nor download golang.org/x/vulndb from the Go module proxy: dependencies were NOT checked for known vulnerabilities." >&2; \
		echo "lint: hint: run make lint where https://vuln.go.dev or the Go module proxy is reachable, or point it at a copy of the database: make lint GOVULNDB=file:///path/to/vulndb" >&2; \
		exit 0; \
	fi; \
	db="$(VULNDB_CACHE)/$$ver"; \
	if [ ! -f "$$db/index/db.json" ]; then \
		rm -rf "$$db.tmp" && mkdir -p "$(VULNDB_CACHE)" && \
		$(GO) run $(VULNDB_INDEXDB) -vulns "$$dir/data/osv" -out "$$db.tmp" && mv "$$db.tmp" "$$db" || exit 1; \
	fi; \
	echo "lint: golang.org/x/vulndb@$$ver, $$(ls "$$dir/data/osv" | wc -l) reports; $(GO) run $(GOVULNCHECK) -db file://$$db ./..." >&2; \
	$(GO) run $(GOVULNCHECK) -db "file://$$db" ./...

# Runs each fuzz target (func Fuzz... in a _test.go file) for FUZZTIME, one
# after another: go test -fuzz takes one target per run. A failing input is
# written to the package's testdata/fuzz/<target>/ and fails the run; check
# it in once the bug is fixed, as the regression seed it is. Go 1.26's
# coordinator can end a clean run with a bare "context deadline exceeded"
# (go.dev/issue/75804, fixed in Go 1.27): without a failing input written,
# that is reported and not counted as a failure.
fuzz:
	@tmp=$$(mktemp -d "$(FUZZTMPDIR)/timebound-iam-fuzz.XXXXXX") || exit 1; trap 'rm -rf "$$tmp"' EXIT; \
	files=$$(find . -name '*_test.go' -not -path './.git/*' | xargs grep -l '^func Fuzz' | sort); \
	[ -n "$$files" ] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }; \
	for file in $$files; do \
		pkg=$$(dirname "$$file"); \
		for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$file"); do \
			echo "fuzz: $$pkg $$name for $(FUZZTIME)"; \
			if TMPDIR="$$tmp" $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) "$$pkg" >"$$tmp/log" 2>&1; then \
				grep '^fuzz: elapsed' "$$tmp/log" | tail -n 1; \
			elif ! grep -q '^    Failing input written to' "$$tmp/log" && [ "$$(grep -c '^--- FAIL' "$$tmp/log")" = 1 ] && \
				[ "$$(grep -A1 '^--- FAIL' "$$tmp/log" | tail -n 1)" = "    context deadline exceeded" ]; then \
				grep '^fuzz: elapsed' "$$tmp/log" | tail -n 1; \
				echo "fuzz: $$name: ended with \"context deadline exceeded\" and no failing input: go.dev/issue/75804, not a finding" >&2; \
			else \
				cat "$$tmp/log"; exit 1; \
			fi; \
		done; \
	done

# Replays the seed scenario with the real binary, MinIO, the AWS CLI v2 and
# an MCP client on the TypeScript SDK, printing a transcript. .ci/rig prints
# the rig directory on stdout.
demo:
	@rig=$$(sh .ci/rig) && $(MAKE) --no-print-directory build && \
		TIMEBOUND_IAM_RIG="$$rig" $(GO) run ./cmd/timebound-iam/internal/demo -bin bin/timebound-iam

# Measures the release binary against its targets (README, Performance):
# medians and ratios from runs interleaved in this one invocation. The AWS CLI
# rows, outside and inside the sandbox runtime (srt), need the rig (make rig).
bench: build
	@rig=$$(sh .ci/rig) && TIMEBOUND_IAM_RIG="$$rig" $(GO) run ./cmd/timebound-iam/internal/bench -bin bin/timebound-iam

# Regenerates the service catalog from ../shared/aws-policies, then the
# escalation denies from grant/policy/internal/escgen/data.
generate:
	$(GO) generate ./...

# How many catalog services' session policies fit STS's 2,048 characters
# alone, and how many one grant can hold (packed greedily, smallest first),
# before and after policy-size fitting; the README quotes it. It runs as a
# test of package grant/policy, in the package directory so that its output shows.
# The snapshot's binary must carry the version goreleaser stamped.
release-check:
	$(GO) run $(GORELEASER) check
	$(GO) run $(GORELEASER) build --snapshot --single-target --clean
	@bin=$$(find dist -type f -name timebound-iam | head -n 1); \
	out=$$("$$bin" version); echo "$$bin: $$out"; \
	case "$$out" in *-snapshot+*) ;; *) echo "release-check: $$bin does not carry the snapshot version" >&2; exit 1;; esac

policy-report:
	$(GO) -C grant/policy test -count=1 -tags $(TAGS) -run '^TestPolicyFitReport$$' -report

clean:
	rm -rf bin dist
