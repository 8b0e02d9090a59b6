package auth

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// maxFileSize bounds the JWK Set and authz files.
const maxFileSize = 1 << 20

// fileState identifies one version of a file: the file itself (device and
// inode, so an atomic rename or a Kubernetes ConfigMap symlink swap is seen),
// its size and its modification time.
type fileState struct {
	info os.FileInfo
}

func (s fileState) same(o fileState) bool {
	if s.info == nil || o.info == nil {
		return s.info == nil && o.info == nil
	}
	return os.SameFile(s.info, o.info) && s.info.Size() == o.info.Size() &&
		s.info.ModTime().Equal(o.info.ModTime())
}

// reloader holds the parsed content of a file and re-reads the file lazily:
// at most once per interval, from whichever call comes first, and only when
// its identity, size or modification time changed. A new version that does
// not parse keeps the previous content and is logged once at warn. No
// goroutine is started.
type reloader[T any] struct {
	path     string
	what     string // "JWK Set file", "authz file": for errors and logs
	interval time.Duration
	now      func() time.Time
	logger   *slog.Logger
	parse    func([]byte) (*T, error)
	loaded   func(*T) []any // log attributes of a successful reload

	cur  atomic.Pointer[T]
	next atomic.Int64 // unix nanoseconds of the next check

	mu   sync.Mutex // serialises checks; held by one goroutine at a time
	seen fileState  // the version last read (parsed or not)
	bad  string     // the error of the version last read, "" if it parsed
}

// load reads and parses the file; used at start, where any error is fatal.
func (r *reloader[T]) load() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, st, err := r.read()
	if err != nil {
		return fmt.Errorf("auth: %s %q: %w", r.what, r.path, err)
	}
	r.cur.Store(v)
	r.seen = st
	r.next.Store(r.now().Add(r.interval).UnixNano())
	return nil
}

// get returns the current content, first checking the file when the
// interval has passed. A check in progress elsewhere is not waited for.
func (r *reloader[T]) get() *T {
	if now := r.now().UnixNano(); now >= r.next.Load() && r.mu.TryLock() {
		if now >= r.next.Load() {
			r.next.Store(now + int64(r.interval))
			r.check()
		}
		r.mu.Unlock()
	}
	return r.cur.Load()
}

// check re-reads the file if it changed. r.mu is held.
func (r *reloader[T]) check() {
	info, err := os.Stat(r.path)
	if err != nil {
		r.fail(fileState{}, err)
		return
	}
	if (fileState{info}).same(r.seen) {
		return
	}
	v, st, err := r.read()
	if err != nil {
		r.fail(st, err)
		return
	}
	r.cur.Store(v)
	r.seen = st
	r.bad = ""
	r.logger.Info("auth: "+r.what+" reloaded", append([]any{"path", r.path}, r.loaded(v)...)...)
}

// fail records a version that could not be used, logging it once.
func (r *reloader[T]) fail(st fileState, err error) {
	msg := err.Error()
	if st.same(r.seen) && r.bad == msg {
		return
	}
	r.seen = st
	r.bad = msg
	r.logger.Warn("auth: "+r.what+" changed but cannot be used; keeping the previous version",
		"path", r.path, "error", msg)
}

// read opens, reads (bounded) and parses the file, returning the state of
// the file actually read.
func (r *reloader[T]) read() (*T, fileState, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return nil, fileState{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fileState{}, err
	}
	st := fileState{info}
	if !info.Mode().IsRegular() {
		return nil, st, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, st, err
	}
	if len(data) > maxFileSize {
		return nil, st, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	v, err := r.parse(data)
	if err != nil {
		return nil, st, err
	}
	return v, st, nil
}
