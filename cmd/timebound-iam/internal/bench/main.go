// Command bench measures timebound-iam against its targets and prints one
// table: medians, and ratios taken from runs interleaved in this one
// invocation, so that load on the machine hits both sides of a ratio alike.
//
//	make bench      # builds bin/timebound-iam the release way, then runs this
//
// A missed target is a row marked MISS, not a failure: the exit status is
// non-zero only when a measure cannot run at all.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

func main() {
	if file, ok := os.LookupEnv(cpuFileEnv); ok {
		os.Exit(cpuChild(file, os.Args[1:]))
	}
	bin := flag.String("bin", "bin/timebound-iam", "the timebound-iam binary to measure, built as the release is")
	rounds := flag.Int("n", 40, "interleaved rounds for process measures (credential-process: 5n)")
	flag.Parse()
	if err := run(*bin, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// row is one line of the table.
type row struct {
	measure string
	median  time.Duration
	unit    string // "" for durations; otherwise value is printed as is
	value   string
	vs      string // the baseline's name and median, if any
	ratio   float64
	target  string
	ok      bool
	info    bool // a reference point: no verdict
}

func run(bin string, rounds int) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "timebound-iam-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	cache := filepath.Join(cacheDir(), "bench")
	floor, err := buildFloor(work, "floor", fixedJSON)
	if err != nil {
		return err
	}
	cardFloor, err := buildCardFloor(work)
	if err != nil {
		return err
	}
	vault, err := buildAWSVault(cache)
	if err != nil {
		return err
	}
	sts, err := granttest.Start()
	if err != nil {
		return err
	}
	defer sts.Close()
	// keyctl items live in kernel memory until reboot: revoke every grant
	// the bench made, in each state directory it used.
	defer revokeAll(bin)

	var rows []row
	// The helper's targets are ratios of programs of 7 to 60 ms, about 0.2 s
	// a round: 40 rounds left their medians 10% apart from run to run on the
	// bench VM (1.30x and 1.21x for one binary); five times as many cost a
	// minute.
	cp, err := credentialProcess(bin, floor, cardFloor, vault, sts.URL, work, 5*rounds)
	if err != nil {
		return fmt.Errorf("credential-process: %w", err)
	}
	rows = append(rows, cp...)
	if r, err := s3ls(bin, work); err != nil {
		rows = append(rows, row{measure: "aws s3 ls, tb profile vs static keys", value: "skipped: " + err.Error()})
	} else {
		rows = append(rows, r...)
	}
	sv, err := serve(bin, floor, sts.URL, work, rounds)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	rows = append(rows, sv...)
	printTable(os.Stdout, rows)
	return nil
}

func cacheDir() string {
	if d := os.Getenv("TIMEBOUND_IAM_BENCH_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return os.TempDir()
	}
	return filepath.Join(d, "timebound-iam")
}

func printTable(w io.Writer, rows []row) {
	fmt.Fprintf(w, "timebound-iam bench, %s, %s/%s, %d CPUs, %s, %s\n\n", time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tmedian\tbaseline\tratio\ttarget\t")
	for _, r := range rows {
		value := r.value
		if value == "" {
			value = ms(r.median)
		}
		rat := ""
		if r.ratio > 0 {
			rat = fmt.Sprintf("%.2fx", r.ratio)
		}
		verdict := "ok"
		if !r.ok {
			verdict = "MISS"
		}
		if strings.HasPrefix(value, "skipped") || r.info {
			verdict = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t\n", r.measure, value, r.vs, rat, r.target, verdict)
	}
	tw.Flush()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
