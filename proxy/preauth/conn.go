package preauth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// state is the connection's place in the pre-authentication dialogue
// (RFC 9051 §3: Not Authenticated, then Authenticated or Logout).
type state uint8

const (
	statePlaintext     state = iota // not authenticated, no TLS yet
	stateTLS                        // not authenticated, over TLS (STARTTLS or implicit)
	stateAuthenticated              // login accepted: the proxy takes over
	stateLogout                     // the session is ending
)

func (s state) String() string {
	switch s {
	case statePlaintext:
		return "not-authenticated"
	case stateTLS:
		return "not-authenticated-tls"
	case stateAuthenticated:
		return "authenticated"
	case stateLogout:
		return "logout"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// requirement is what a command needs of the session; checked in one place,
// session.allowed.
type requirement uint8

const (
	needNothing  requirement = iota
	needLogin                // authentication allowed: TLS or AllowPlaintext (RFC 9051 §6.2.3, LOGINDISABLED)
	needStartTLS             // STARTTLS offered: TLSConfig set, not yet TLS (RFC 9051 §6.2.1)
)

// commandSpec is one row of the dispatch table.
type commandSpec struct {
	parse func(p *parser, c *command) error
	run   func(s *session, c *command) error
	need  requirement
}

// commands is the dispatch table of the pre-authentication commands
// (read-only).
var commands = map[string]commandSpec{
	"CAPABILITY":   {parse: parseNoArgs, run: (*session).capability},
	"NOOP":         {parse: parseNoArgs, run: (*session).noop},
	"LOGOUT":       {parse: parseNoArgs, run: (*session).logout},
	"ID":           {parse: parseID, run: (*session).id},
	"STARTTLS":     {parse: parseNoArgs, run: (*session).starttls, need: needStartTLS},
	"LOGIN":        {parse: parseLogin, run: (*session).login, need: needLogin},
	"AUTHENTICATE": {parse: parseAuthenticate, run: (*session).authenticate, need: needLogin},
}

// postAuthCommands are answered "BAD command not valid before
// authentication" rather than "unknown command" (read-only).
var postAuthCommands = map[string]bool{
	"SELECT": true, "EXAMINE": true, "CREATE": true, "DELETE": true, "RENAME": true,
	"SUBSCRIBE": true, "UNSUBSCRIBE": true, "LIST": true, "LSUB": true, "NAMESPACE": true,
	"STATUS": true, "APPEND": true, "IDLE": true, "ENABLE": true, "CHECK": true,
	"CLOSE": true, "UNSELECT": true, "EXPUNGE": true, "SEARCH": true, "FETCH": true,
	"STORE": true, "COPY": true, "MOVE": true, "UID": true, "GETQUOTA": true,
	"GETQUOTAROOT": true, "SETQUOTA": true, "GETACL": true, "SETACL": true,
	"UNAUTHENTICATE": true, "COMPRESS": true,
}

func parseNoArgs(*parser, *command) error { return nil }

// errLoggedIn ends the command loop after a successful login.
var errLoggedIn = errors.New("logged in")

// session is one pre-authentication dialogue.
type session struct {
	opts   Options
	loginf LoginFunc
	parent context.Context // the caller's: its end means drain
	ctx    context.Context // parent plus the pre-auth deadline
	raw    net.Conn        // the accepted connection
	r      *bufio.Reader
	w      *bufio.Writer
	p      *parser
	st     state
	state  State
	cmd    command

	failures, bad int
	creds         Credentials // of the successful login
	inHandshake   bool        // a TLS handshake is under way: no plaintext BYE

	mu        sync.Mutex // guards unwatched against the context watcher
	unwatched bool
	stopWatch func() bool
}

// Serve runs the pre-auth dialogue on conn until a login succeeds
// (Outcome, nil), the client logs out or a limit is reached (error;
// ErrLogout for LOGOUT), or ctx ends (it then sends "* BYE" — used for
// graceful drain). It writes the greeting itself. It never closes conn; on
// success it clears conn's deadlines.
func Serve(ctx context.Context, conn net.Conn, opts Options, login LoginFunc) (*Outcome, error) {
	opts = opts.withDefaults()
	deadline := time.Now().Add(opts.Timeout)
	lctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	s := &session{opts: opts, loginf: login, parent: ctx, ctx: lctx, raw: conn}
	s.r, s.w = getBuffers(conn)
	defer putBuffers(s.r, s.w)
	s.p = newParser(s.r, opts.MaxLine, opts.MaxLiteral, s.continueLiteral)
	s.state = State{Conn: conn, TLS: opts.ImplicitTLS}
	if opts.ImplicitTLS {
		s.st = stateTLS
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("preauth: set deadline: %w", err)
	}
	s.stopWatch = context.AfterFunc(ctx, s.interrupt)
	out, err := s.run()
	s.unwatch()
	if err != nil {
		return nil, err
	}
	if err := s.state.Conn.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("preauth: clear deadline: %w", err)
	}
	return out, nil
}

// Pre-auth buffers are pooled: a login's dialogue is a few hundred bytes,
// and allocating (and zeroing) them per connection showed in profiles.
// The pools hold no session state: a buffer is Reset before reuse and
// nothing read through it outlives Serve (Outcome.Buffered is a copy).
var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readerSize) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writerSize) }}
)

const (
	readerSize = 4096 // one read takes a whole login command
	writerSize = 1024 // the greeting and any response fit; larger writes go straight through
)

func getBuffers(conn net.Conn) (*bufio.Reader, *bufio.Writer) {
	r, w := readerPool.Get().(*bufio.Reader), writerPool.Get().(*bufio.Writer)
	r.Reset(conn)
	w.Reset(conn)
	return r, w
}

func putBuffers(r *bufio.Reader, w *bufio.Writer) {
	r.Reset(nil)
	w.Reset(nil)
	readerPool.Put(r)
	writerPool.Put(w)
}

// interrupt runs when the caller's context ends: it wakes the blocked read.
func (s *session) interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.unwatched {
		s.raw.SetDeadline(time.Now())
	}
}

// unwatch stops interrupt from touching the connection's deadlines again.
func (s *session) unwatch() {
	s.stopWatch()
	s.mu.Lock()
	s.unwatched = true
	s.mu.Unlock()
}

// run is the command loop.
func (s *session) run() (*Outcome, error) {
	s.untagged("OK [CAPABILITY " + s.capabilities() + "] " + sanitize(s.opts.Hostname) + " IMAP proxy ready")
	if err := s.w.Flush(); err != nil {
		return nil, s.finish(fmt.Errorf("write greeting: %w", err))
	}
	for {
		err := s.p.readCommand(&s.cmd)
		if err == nil {
			err = s.dispatch(&s.cmd)
		} else {
			err = s.syntaxError(&s.cmd, err)
		}
		if ferr := s.w.Flush(); ferr != nil && (err == nil || err == errLoggedIn) {
			err = fmt.Errorf("write response: %w", ferr)
		}
		if err == errLoggedIn {
			return s.outcome(), nil
		}
		if err != nil {
			return nil, s.finish(err)
		}
	}
}

// dispatch checks the command against the session and runs it.
func (s *session) dispatch(c *command) error {
	if ok, err := s.allowed(c); !ok {
		return err
	}
	return c.spec.run(s, c)
}

// allowed is the one place state requirements are checked. It answers a
// refused command itself (ok false) and returns a non-nil error only to end
// the session.
func (s *session) allowed(c *command) (ok bool, err error) {
	switch c.spec.need {
	case needLogin:
		if !s.loginAllowed() {
			// RFC 9051 §7.1: PRIVACYREQUIRED.
			return false, s.reject(c.tag, "NO", "[PRIVACYREQUIRED] Authentication disabled until STARTTLS")
		}
	case needStartTLS:
		if !s.startTLSOffered() {
			return false, s.reject(c.tag, "BAD", "STARTTLS not available")
		}
	}
	return true, nil
}

// loginAllowed: over TLS, or in plaintext when configured so.
func (s *session) loginAllowed() bool {
	return s.st == stateTLS || s.st == statePlaintext && s.opts.AllowPlaintext
}

// startTLSOffered: in plaintext with a TLS configuration.
func (s *session) startTLSOffered() bool {
	return s.st == statePlaintext && s.opts.TLSConfig != nil
}

// syntaxError answers a parse error, resynchronising on the next line.
func (s *session) syntaxError(c *command, err error) error {
	tag := c.tag
	if tag == "" {
		tag = "*"
	}
	if !errFatal(err) {
		if rerr := s.p.resync(); rerr != nil {
			err = rerr
		} else {
			return s.reject(tag, "BAD", err.(*badError).msg)
		}
	}
	if errors.Is(err, ErrLiteralTooLarge) {
		s.tagged(tag, "BAD", "literal too large")
	}
	return err
}

// reject answers a refused command and counts it toward MaxBadCommands.
func (s *session) reject(tag, status, text string) error {
	s.tagged(tag, status, text)
	s.bad++
	if s.bad >= s.opts.MaxBadCommands {
		return ErrTooManyBad
	}
	return nil
}

// finish ends the session for err: it sends the BYE err calls for and
// returns the error Serve reports.
func (s *session) finish(err error) error {
	s.unwatch()
	var ref *Refusal
	switch {
	case s.inHandshake: // no plaintext BYE in the middle of a handshake
		return fmt.Errorf("preauth: %w", err)
	case s.parent.Err() != nil:
		s.bye("Server shutting down")
		return fmt.Errorf("preauth: %w", s.parent.Err())
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		s.bye("Autologout; idle for too long")
		// Both: errors.Is(err, ErrTimeout) and (os.ErrDeadlineExceeded).
		return fmt.Errorf("%w (%w)", ErrTimeout, os.ErrDeadlineExceeded)
	case err == ErrLineTooLong:
		s.bye("line too long")
	case err == ErrLiteralTooLarge:
		s.bye("literal too large")
	case err == ErrTooManyBad:
		s.bye("Too many invalid commands")
	case err == ErrTooManyFailures:
		s.bye("Too many authentication failures")
	case errors.As(err, &ref):
		s.bye(refusalText(ref))
	case err == ErrLogout:
	default:
		return fmt.Errorf("preauth: %w", err)
	}
	return err
}

// bye sends a final untagged BYE, best effort, under its own write deadline.
func (s *session) bye(text string) {
	s.state.Conn.SetWriteDeadline(time.Now().Add(byeWriteTimeout))
	s.untagged("BYE " + text)
	s.w.Flush()
}

// outcome is the result of a successful login.
func (s *session) outcome() *Outcome {
	s.st = stateAuthenticated
	out := &Outcome{State: s.state, Credentials: s.creds}
	out.Credentials.Password = ""
	if n := s.r.Buffered(); n > 0 {
		b, _ := s.r.Peek(n)
		out.Buffered = append([]byte(nil), b...)
	}
	return out
}

// continueLiteral asks for a synchronising literal (RFC 3501 §7.5).
func (s *session) continueLiteral() error {
	s.w.WriteString("+ Ready for literal\r\n")
	return s.w.Flush()
}

func (s *session) untagged(text string) {
	s.w.WriteString("* ")
	s.w.WriteString(text)
	s.w.WriteString("\r\n")
}

func (s *session) tagged(tag, status, text string) {
	s.w.WriteString(tag)
	s.w.WriteByte(' ')
	s.w.WriteString(status)
	s.w.WriteByte(' ')
	s.w.WriteString(text)
	s.w.WriteString("\r\n")
}

// sanitize makes text safe as resp-text: no CR, LF or NUL.
func sanitize(text string) string {
	if !strings.ContainsAny(text, "\r\n\x00") {
		return text
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, text)
}

// isAtom reports whether s is a non-empty atom.
func isAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtomChar(s[i]) {
			return false
		}
	}
	return true
}
