package preauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"
)

// Default limits used when the corresponding Options field is zero.
const (
	DefaultMaxLine        = 8192
	DefaultMaxLiteral     = 8192
	DefaultMaxFailures    = 3
	DefaultMaxBadCommands = 10
	DefaultTimeout        = 60 * time.Second
)

// byeWriteTimeout bounds the write of a final BYE once the session's own
// deadline has passed or the caller's context has ended.
const byeWriteTimeout = 5 * time.Second

// Options configure Serve; zero values are documented defaults.
type Options struct {
	Hostname       string            // in the greeting; default os.Hostname()
	AllowPlaintext bool              // LOGIN/AUTHENTICATE before TLS (else LOGINDISABLED until STARTTLS)
	TLSConfig      *tls.Config       // nil: no STARTTLS offered
	ImplicitTLS    bool              // conn is already TLS (port 993): no STARTTLS, plaintext ok
	MaxLine        int               // bytes per command line, literal octets excluded (default 8192)
	MaxLiteral     int               // bytes per literal (default 8192)
	MaxFailures    int               // failed auths before BYE (default 3)
	MaxBadCommands int               // BAD responses (and NO to commands refused in this state) before BYE (default 10)
	Timeout        time.Duration     // total time allowed to authenticate (default 60s)
	ServerID       map[string]string // answered to ID; nil or empty: "* ID NIL"
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.Hostname == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			o.Hostname = h
		} else {
			o.Hostname = "localhost"
		}
	}
	if o.MaxLine <= 0 {
		o.MaxLine = DefaultMaxLine
	}
	if o.MaxLiteral <= 0 {
		o.MaxLiteral = DefaultMaxLiteral
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = DefaultMaxFailures
	}
	if o.MaxBadCommands <= 0 {
		o.MaxBadCommands = DefaultMaxBadCommands
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Credentials from LOGIN or AUTHENTICATE (PLAIN or LOGIN mechanism).
type Credentials struct {
	Mechanism string // "LOGIN" (command), "PLAIN", "LOGIN" (SASL)
	AuthzID   string // PLAIN authorization identity if given ("" otherwise)
	Username  string
	Password  string
}

// String describes the credentials without the password.
func (c Credentials) String() string {
	s := fmt.Sprintf("%s user %q", c.Mechanism, c.Username)
	if c.AuthzID != "" {
		s += fmt.Sprintf(" authz %q", c.AuthzID)
	}
	return s + " password <redacted>"
}

// GoString keeps %#v from printing the password.
func (c Credentials) GoString() string { return "preauth.Credentials{" + c.String() + "}" }

// LogValue keeps log/slog from printing the password.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("mechanism", c.Mechanism),
		slog.String("user", c.Username),
		slog.String("authz", c.AuthzID),
	)
}

// LoginResult is what the proxy answers on success.
type LoginResult struct {
	Capabilities []string // the backend's post-login capabilities, sent as OK [CAPABILITY ...]
}

// Refusal is an error the LoginFunc returns to answer NO with a response code.
type Refusal struct {
	Code            string // e.g. "AUTHENTICATIONFAILED", "UNAVAILABLE", "AUTHORIZATIONFAILED", "CONTACTADMIN", "EXPIRED"
	Text            string // human text; with Alert, sent as an [ALERT] untagged line before the NO
	Alert           bool
	Fatal           bool // close the connection after the NO (with BYE)
	CountsAsFailure bool // counts toward MaxFailures
}

// Error describes the refusal as the client sees it.
func (r *Refusal) Error() string {
	if r.Code == "" {
		return "login refused: " + r.Text
	}
	return "login refused [" + r.Code + "]: " + r.Text
}

// LoginFunc is called for each LOGIN/AUTHENTICATE attempt; the context
// carries the pre-auth deadline. A *Refusal (possibly wrapped) is answered
// with its NO; any other error with "NO [SERVERBUG]", not counted as a
// failure.
type LoginFunc func(ctx context.Context, cr Credentials, s *State) (LoginResult, error)

// State is what the pre-auth phase learned about the connection.
type State struct {
	Conn     net.Conn          // current conn (TLS-wrapped after STARTTLS)
	TLS      bool              // after STARTTLS or with ImplicitTLS
	ClientID map[string]string // from the client's last ID command; field names lower-cased, NIL values ""
}

// Outcome of a successful pre-auth phase: the proxy then splices Conn with
// the backend.
type Outcome struct {
	State
	Credentials Credentials // Password cleared
	Buffered    []byte      // bytes the client sent after its login command, already read: pass them on to the backend
}

// Errors Serve returns when the dialogue ends without a login. Errors from
// the connection are returned wrapped (io.EOF when the client hung up);
// a fatal *Refusal is returned as is (errors.As); when ctx ends, ctx.Err()
// wrapped. The ErrTimeout error also matches os.ErrDeadlineExceeded.
var (
	ErrLogout          = errors.New("preauth: client logged out")
	ErrTimeout         = errors.New("preauth: timed out before authentication")
	ErrTooManyFailures = errors.New("preauth: too many failed authentications")
	ErrTooManyBad      = errors.New("preauth: too many invalid commands")
	ErrLineTooLong     = errors.New("preauth: command line too long")
	ErrLiteralTooLarge = errors.New("preauth: non-synchronising literal too large")
)
