// Package filewatch keeps a value parsed from a file current: it loads the
// file once in [Watch], then polls it and installs each changed version
// that parses, so a long-running process picks up edits (a policy file,
// page-token keys) without a restart.
//
// It polls (every [Options.Interval], default 2s) rather than using
// fsnotify, which misses edits through symbolic links and on some network
// file systems. Symbolic links are followed on every poll, so a Kubernetes
// ConfigMap or Secret mount, whose update swaps a symlink, is picked up. A
// file whose modification time, size or SHA-256 content hash changed is
// parsed once two polls in a row read it the same, so a file caught
// half-written is not installed. Replacing the file atomically (write a
// temporary file, then rename it over the old one) is still the safe way
// to edit it.
//
// A reload that fails to read or parse keeps the last good value; the
// failure is logged at error level with the path, once per distinct
// failure, not on every poll. The first load failing is [Watch]'s error.
//
// File contents are never logged, since the file may hold secrets: log
// lines carry the path, [Options.What], the size, a SHA-256 prefix, errors
// (so a Parse function's errors must not quote the content) and whatever
// [Options.Describe] returns. The package imports only the standard
// library.
package filewatch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero Options fields.
const (
	DefaultInterval = 2 * time.Second
	DefaultMaxSize  = 1 << 20
)

// Options configures Watch.
type Options[T any] struct {
	// Path is the file to watch. Required. Symbolic links are followed on
	// every poll.
	Path string
	// What names the file in log lines and errors, such as "policy file"
	// or "page-token keys". Empty means "file".
	What string
	// Interval between polls; zero or negative means DefaultInterval (2s).
	Interval time.Duration
	// MaxSize is the largest file accepted, in bytes; a larger one is a
	// read error. Zero or negative means DefaultMaxSize (1 MiB).
	MaxSize int64
	// Parse turns the file's content into a value. Required. Its errors
	// are logged (on reload) and returned (on the first load), so they
	// must not quote the content when the file holds secrets.
	Parse func(data []byte) (T, error)
	// Logger receives reload successes (info) and failures (error, with
	// the path). Nil means slog.Default().
	Logger *slog.Logger
	// OnReload, when set, is called from the poller goroutine with each
	// value a reload installs (not the one Watch loads), after Current
	// returns it. It must not block for long, nor call Close.
	OnReload func(T)
	// Describe, when set, returns slog attributes (key-value pairs) added
	// to the "reloaded" info line, such as "grants", 3. Never secrets.
	Describe func(T) []any
}

// Value is a file's parsed content, kept current by a poller goroutine
// until Close.
type Value[T any] struct {
	o   Options[T] // defaults applied
	cur atomic.Pointer[T]

	// Poller state; only the poller goroutine touches it after Watch.
	applied [sha256.Size]byte // content hash of the installed value
	seen    fileState         // last state decided on (installed or refused)
	pending *fileState        // a changed state waiting for a second, identical read
	readErr string            // last read error logged, "" when reading works

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type fileState struct {
	mtime int64 // UnixNano
	size  int64
	hash  [sha256.Size]byte
}

// Watch loads o.Path and starts polling it. A file that cannot be read or
// parsed is an error here, naming What and the path, and nothing is left
// running.
func Watch[T any](o Options[T]) (*Value[T], error) {
	v, err := load(o)
	if err != nil {
		return nil, err
	}
	go v.run()
	return v, nil
}

// load applies the defaults and loads the file, without starting the
// poller.
func load[T any](o Options[T]) (*Value[T], error) {
	if o.What == "" {
		o.What = "file"
	}
	if o.Path == "" {
		return nil, fmt.Errorf("filewatch: no path for the %s", o.What)
	}
	if o.Parse == nil {
		return nil, fmt.Errorf("filewatch: no Parse function for the %s", o.What)
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	v := &Value[T]{o: o, stop: make(chan struct{}), done: make(chan struct{})}
	st, data, err := readFile(o.Path, o.MaxSize)
	if err == nil {
		var x T
		if x, err = o.Parse(data); err == nil {
			v.cur.Store(&x)
			v.applied, v.seen = st.hash, st
			return v, nil
		}
	}
	return nil, fmt.Errorf("load %s %s: %w", o.What, o.Path, err)
}

// Current returns the value in force: a single atomic load, cheap enough
// for every request. A nil Value returns the zero T.
func (v *Value[T]) Current() T {
	if v == nil {
		var zero T
		return zero
	}
	return *v.cur.Load()
}

// Close stops the poller and waits for it to exit, so no goroutine is left
// behind. Current keeps returning the last value. Close may be called more
// than once, and on a nil Value.
func (v *Value[T]) Close() {
	if v == nil {
		return
	}
	v.closeOnce.Do(func() { close(v.stop) })
	<-v.done
}

func (v *Value[T]) run() {
	defer close(v.done)
	t := time.NewTicker(v.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.poll()
		}
	}
}

// poll reads the file once and decides whether to install it.
func (v *Value[T]) poll() {
	o := &v.o
	st, data, err := readFile(o.Path, o.MaxSize)
	if err != nil {
		v.pending = nil
		if msg := err.Error(); msg != v.readErr {
			v.readErr = msg
			o.Logger.Error("cannot read "+o.What+"; keeping the last good one", "path", o.Path, "error", err)
		}
		return
	}
	if v.readErr != "" {
		v.readErr = ""
		o.Logger.Info(o.What+" readable again", "path", o.Path)
	}
	if st == v.seen {
		v.pending = nil
		return
	}
	// Changed: wait until two reads in a row agree, so that a file being
	// written is not installed half-way.
	if v.pending == nil || *v.pending != st {
		v.pending = &st
		return
	}
	v.pending = nil
	v.seen = st
	if st.hash == v.applied {
		return // touched, or reverted to what is in force: nothing to do
	}
	x, err := o.Parse(data)
	if err != nil {
		o.Logger.Error(o.What+" reload failed; keeping the last good one", "path", o.Path,
			"size", st.size, "sha256", hashPrefix(st.hash), "error", err)
		return
	}
	v.cur.Store(&x)
	v.applied = st.hash
	attrs := []any{"path", o.Path}
	if o.Describe != nil {
		attrs = append(attrs, o.Describe(x)...)
	}
	attrs = append(attrs, "size", st.size, "sha256", hashPrefix(st.hash))
	// OnReload first: the log line means "in force" (operators and tests
	// wait for it before they rely on the new content).
	if o.OnReload != nil {
		o.OnReload(x)
	}
	o.Logger.Info(o.What+" reloaded", attrs...)
}

// hashPrefix is the first 8 bytes of a content hash, in hex: enough to
// tell versions apart in logs, useless for recovering secret content.
func hashPrefix(h [sha256.Size]byte) string { return hex.EncodeToString(h[:8]) }

// readFile reads path (at most maxSize bytes) and describes what it read.
func readFile(path string, maxSize int64) (fileState, []byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return fileState{}, nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return fileState{}, nil, err
	}
	if !fi.Mode().IsRegular() {
		return fileState{}, nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxSize+1))
	if err != nil {
		return fileState{}, nil, err
	}
	if int64(len(data)) > maxSize {
		return fileState{}, nil, fmt.Errorf("%s is larger than %d bytes", path, maxSize)
	}
	return fileState{mtime: fi.ModTime().UnixNano(), size: int64(len(data)), hash: sha256.Sum256(data)}, data, nil
}
