package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// stopper runs the cleanups of what the demo started, once, in reverse
// order, from main or from the signal handler, whichever comes first.
type stopper struct {
	mu      sync.Mutex
	stopped bool
	exit    atomic.Int32 // set by a signal: the exit status
	fns     []func()
}

// interrupt stops everything on a signal; the demo then exits with code.
func (s *stopper) interrupt(code int) {
	s.exit.Store(int32(code))
	s.stop()
}

// interrupted reports whether a signal has stopped the demo.
func (s *stopper) interrupted() bool { return s.exit.Load() != 0 }

func (s *stopper) code() int { return int(s.exit.Load()) }

// start runs fn, which starts something and returns how to stop it, under
// the lock: a signal arriving meanwhile waits for the cleanup to be known,
// so nothing started escapes it (MinIO runs in its own process group, where
// a terminal's ^C does not reach).
func (s *stopper) start(fn func() (func(), error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("interrupted")
	}
	stop, err := fn()
	if stop != nil {
		s.fns = append(s.fns, stop)
	}
	return err
}

func (s *stopper) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	for i := len(s.fns) - 1; i >= 0; i-- {
		s.fns[i]()
	}
	s.fns = nil
}

// removeAll removes dir, again when something recreated it: on a signal, a
// child that was just killed or told to stop (the MCP server after its
// client, an mc, an aws) may still be writing into it for a moment.
func removeAll(dir string) {
	var err error
	for range 5 {
		err = os.RemoveAll(dir)
		time.Sleep(100 * time.Millisecond)
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "demo: could not remove %s: %v\n", dir, err)
}
