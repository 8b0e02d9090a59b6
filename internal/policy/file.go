package policy

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/filewatch"
)

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
// so the gateway does not start without a policy. The watching is
// internal/filewatch's.
type File struct {
	v *filewatch.Value[*Policy]
}

// NewFile loads opts.Path and starts polling it. An unreadable or invalid
// file is an error here (and nothing is left running).
func NewFile(opts FileOptions) (*File, error) {
	if opts.Path == "" {
		return nil, errors.New("policy: no policy file path")
	}
	v, err := filewatch.Watch(filewatch.Options[*Policy]{
		Path:     opts.Path,
		What:     "policy file",
		Interval: opts.Interval,
		MaxSize:  maxPolicySize,
		Parse:    Parse,
		Logger:   opts.Logger,
		OnReload: opts.OnReload,
		Describe: func(p *Policy) []any { return []any{"grants", len(p.grants)} },
	})
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return &File{v: v}, nil
}

// Current returns the policy in force. It is a single atomic load, cheap
// enough for every create to call. A nil File has no policy (which allows
// nothing).
func (f *File) Current() *Policy {
	if f == nil {
		return nil
	}
	return f.v.Current()
}

// Check is Current().Check: it checks the uses against the policy in force
// at the moment of the call.
func (f *File) Check(who Principal, uses ...Use) error {
	return f.Current().Check(who, uses...)
}

// Close stops the poller and waits for it to exit, so no goroutine is left
// behind. Current keeps returning the last policy. Close may be called more
// than once (and on a nil File).
func (f *File) Close() {
	if f == nil {
		return
	}
	f.v.Close()
}
