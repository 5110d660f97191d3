// Package sessionlog writes the proxy's per-session log, the format
// operators grep and capacity planners aggregate (DESIGN.md, "The proxy
// session log"). Every line is one event of one session:
//
//	[25/Feb/2026:09:55:57 +0000] mmp1 msgplex-proxy[7264]: (sid 0xfc1a14) session start, client IP 10.32.254.3:4331, server IP 10.15.24.249:143
//	[…] (sid 0xfc1a14) login user alice, mailhost store1.example.com:143
//	[…] (sid 0xfc1a14) client socket IO error 104 (connection reset by peer)
//	[…] (sid 0xfc1a14) 1834 C->S bytes, 5520330 S->C bytes in 34 seconds
//	[…] (sid 0xfc1a14) session end
//
// The JSON variant writes one object per line with the same facts as
// fields: time (RFC 3339), host, program, pid, sid ("0x…"), event, the
// event's own fields, and msg (the text after the sid in the text format).
//
// Invariants: a line is written whole under one lock, so concurrent
// sessions never interleave; output is buffered and flushed at least every
// FlushInterval and on Flush/Close; Reopen (SIGHUP, log rotation) swaps the
// file without losing buffered lines. No event carries a password: there is
// no field for one.
package sessionlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// FlushInterval bounds how long a line may sit in the buffer.
const FlushInterval = 200 * time.Millisecond

// Options configure a Logger; zero values are the documented defaults.
type Options struct {
	Path     string           // file path; "" or "stderr": standard error
	Format   string           // "text" (default) or "json"
	Hostname string           // default: os.Hostname()
	Program  string           // default "msgplex-proxy"
	PID      int              // default os.Getpid()
	Now      func() time.Time // default time.Now
}

// Logger writes session events. Safe for concurrent use.
type Logger struct {
	opts  Options
	json  bool
	mu    sync.Mutex
	w     *bufio.Writer
	f     *os.File // nil for stderr
	dirty bool
	stop  chan struct{}
	done  chan struct{}
}

// Open creates a Logger and starts its flusher.
func Open(o Options) (*Logger, error) {
	if o.Program == "" {
		o.Program = "msgplex-proxy"
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch o.Format {
	case "", "text", "json":
	default:
		return nil, fmt.Errorf("sessionlog: unknown format %q (text or json)", o.Format)
	}
	l := &Logger{opts: o, json: o.Format == "json", stop: make(chan struct{}), done: make(chan struct{})}
	if err := l.open(); err != nil {
		return nil, err
	}
	go l.flusher()
	return l, nil
}

func (l *Logger) open() error {
	if l.opts.Path == "" || l.opts.Path == "stderr" {
		l.f = nil
		l.w = bufio.NewWriterSize(os.Stderr, 64<<10)
		return nil
	}
	f, err := os.OpenFile(l.opts.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("sessionlog: %w", err)
	}
	l.f = f
	l.w = bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Reopen flushes and reopens the file (after log rotation).
func (l *Logger) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	old := l.f
	if err := l.open(); err != nil {
		l.f = old
		l.w = bufio.NewWriterSize(old, 64<<10)
		return err
	}
	if old != nil {
		old.Close()
	}
	return nil
}

// Flush writes buffered lines out.
func (l *Logger) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dirty = false
	return l.w.Flush()
}

// Close stops the flusher, flushes and closes the file.
func (l *Logger) Close() error {
	select {
	case <-l.stop:
		return nil
	default:
	}
	close(l.stop)
	<-l.done
	err := l.Flush()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		if cerr := l.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (l *Logger) flusher() {
	defer close(l.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			if l.dirty {
				l.w.Flush()
				l.dirty = false
			}
			l.mu.Unlock()
		}
	}
}

// Log writes one event of session sid.
func (l *Logger) Log(sid uint64, e Event) {
	now := l.opts.Now()
	var line []byte
	if l.json {
		line = l.jsonLine(now, sid, e)
	} else {
		line = l.textLine(now, sid, e)
	}
	l.mu.Lock()
	l.w.Write(line)
	l.dirty = true
	l.mu.Unlock()
}

// TimeLayout is the time stamp of text lines.
const TimeLayout = "02/Jan/2006:15:04:05 -0700"

func (l *Logger) textLine(now time.Time, sid uint64, e Event) []byte {
	b := make([]byte, 0, 160)
	b = append(b, '[')
	b = now.AppendFormat(b, TimeLayout)
	b = append(b, "] "...)
	b = append(b, l.opts.Hostname...)
	b = append(b, ' ')
	b = append(b, l.opts.Program...)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(l.opts.PID), 10)
	b = append(b, "]: (sid 0x"...)
	b = strconv.AppendUint(b, sid, 16)
	b = append(b, ") "...)
	b = append(b, e.Text()...)
	return append(b, '\n')
}

func (l *Logger) jsonLine(now time.Time, sid uint64, e Event) []byte {
	rec := struct {
		Time    string `json:"time"`
		Host    string `json:"host"`
		Program string `json:"program"`
		PID     int    `json:"pid"`
		SID     string `json:"sid"`
		Event
		C2S     *int64 `json:"c2s,omitempty"`
		S2C     *int64 `json:"s2c,omitempty"`
		Seconds *int64 `json:"seconds,omitempty"`
		Msg     string `json:"msg"`
	}{Time: now.Format(time.RFC3339), Host: l.opts.Hostname, Program: l.opts.Program, PID: l.opts.PID,
		SID: "0x" + strconv.FormatUint(sid, 16), Event: e, Msg: e.Text()}
	if e.Kind == Transfer {
		rec.C2S, rec.S2C, rec.Seconds = &e.C2S, &e.S2C, &e.Seconds
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return []byte(`{"event":"error","msg":` + strconv.Quote(err.Error()) + "}\n")
	}
	return buf.Bytes()
}
