package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// defaultInterval is how often a File polls its path when
// FileOptions.Interval is not set.
const defaultInterval = 2 * time.Second

// FileOptions configures NewFile.
type FileOptions struct {
	// Path is the policy file (--policy-file). Required. Symbolic links are
	// followed on every poll, so a Kubernetes ConfigMap mount, whose update
	// swaps a symlink, is picked up.
	Path string
	// Interval between polls; zero or negative means 2s.
	Interval time.Duration
	// Logger receives reload successes (info) and failures (error, with the
	// path). Nil means slog.Default().
	Logger *slog.Logger
	// OnReload, when set, is called from the poller goroutine with each
	// policy a reload installs (not the one NewFile loads). It must not
	// block for long, nor call Close.
	OnReload func(*Policy)
}

// File is a policy file kept current: loaded at New, re-read when its
// modification time, size or content hash changes (poll every Interval,
// default 2s; stdlib only, no fsnotify, which misses edits through
// symlinks and on some network file systems). A changed file is parsed once
// two polls in a row read it the same, so a half-written file is not
// installed. A file that fails to load or parse on reload keeps the last
// good policy and the error is logged at error level (log/slog) with the
// path, once per distinct failure; the first load failing is New's error,
// so the gateway does not start without a policy.
type File struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	onReload func(*Policy)

	cur atomic.Pointer[Policy]

	// Poller state; only the poller goroutine touches it after NewFile.
	applied [sha256.Size]byte // content hash of the installed policy
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

// NewFile loads opts.Path and starts polling it. An unreadable or invalid
// file is an error here (and nothing is left running).
func NewFile(opts FileOptions) (*File, error) {
	if opts.Path == "" {
		return nil, errors.New("policy: no policy file path")
	}
	f := &File{
		path:     opts.Path,
		interval: opts.Interval,
		log:      opts.Logger,
		onReload: opts.OnReload,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if f.interval <= 0 {
		f.interval = defaultInterval
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	st, data, err := readFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("policy: load %s: %w", f.path, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("policy: load %s: %w", f.path, err)
	}
	f.cur.Store(p)
	f.applied, f.seen = st.hash, st
	go f.run()
	return f, nil
}

// Current returns the policy in force. It is a single atomic load, cheap
// enough for every create to call. A nil File has no policy (which allows
// nothing).
func (f *File) Current() *Policy {
	if f == nil {
		return nil
	}
	return f.cur.Load()
}

// Check is Current().Check: it checks the uses against the policy in force
// at the moment of the call.
func (f *File) Check(who Principal, uses ...Use) error {
	return f.Current().Check(who, uses...)
}

// Close stops the poller and waits for it to exit, so no goroutine is left
// behind. Current keeps returning the last policy. Close may be called more
// than once.
func (f *File) Close() {
	f.closeOnce.Do(func() { close(f.stop) })
	<-f.done
}

func (f *File) run() {
	defer close(f.done)
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			f.poll()
		}
	}
}

// poll reads the file once and decides whether to install it.
func (f *File) poll() {
	st, data, err := readFile(f.path)
	if err != nil {
		f.pending = nil
		if msg := err.Error(); msg != f.readErr {
			f.readErr = msg
			f.log.Error("policy: cannot read policy file; keeping the last good policy", "path", f.path, "error", err)
		}
		return
	}
	if f.readErr != "" {
		f.readErr = ""
		f.log.Info("policy: policy file readable again", "path", f.path)
	}
	if st == f.seen {
		f.pending = nil
		return
	}
	// Changed: wait until two reads in a row agree, so that a file being
	// written is not installed half-way.
	if f.pending == nil || *f.pending != st {
		f.pending = &st
		return
	}
	f.pending = nil
	f.seen = st
	if st.hash == f.applied {
		return // touched, or reverted to what is in force: nothing to do
	}
	p, err := Parse(data)
	if err != nil {
		f.log.Error("policy: reload failed; keeping the last good policy", "path", f.path, "error", err)
		return
	}
	f.cur.Store(p)
	f.applied = st.hash
	f.log.Info("policy: reloaded policy file", "path", f.path, "grants", len(p.grants), "sha256", hex.EncodeToString(st.hash[:8]))
	if f.onReload != nil {
		f.onReload(p)
	}
}

// readFile reads path (bounded by maxPolicySize) and describes what it read.
func readFile(path string) (fileState, []byte, error) {
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
	data, err := io.ReadAll(io.LimitReader(fh, maxPolicySize+1))
	if err != nil {
		return fileState{}, nil, err
	}
	if len(data) > maxPolicySize {
		return fileState{}, nil, fmt.Errorf("%s is larger than %d bytes", path, maxPolicySize)
	}
	return fileState{mtime: fi.ModTime().UnixNano(), size: fi.Size(), hash: sha256.Sum256(data)}, data, nil
}
