package preauth

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// This file is the strict command parser: the subset of the IMAP grammar
// (RFC 3501 §9, RFC 9051 §9) that the pre-authentication commands use.
// Every byte outside literal data counts toward the line limit.

// badError is a syntax error answered with "tag BAD msg"; the session
// survives it once the parser has resynchronised (resync).
type badError struct{ msg string }

func (e *badError) Error() string { return "syntax error: " + e.msg }

func bad(msg string) error { return &badError{msg: msg} }

// command is one parsed command.
type command struct {
	tag  string
	name string      // upper-cased
	spec commandSpec // from the dispatch table (a copy: no allocation per command)
	// args: LOGIN user password; AUTHENTICATE mechanism [initial-response];
	// ID field value field value ... (NIL values as "").
	args []string
}

// parser reads commands from a client. It is not safe for concurrent use.
type parser struct {
	r          *bufio.Reader
	maxLine    int
	maxLiteral int
	// cont asks the client for the octets of a synchronising literal
	// ("+ Ready for literal", flushed; RFC 3501 §7.5).
	cont func() error

	n         int    // octets of the current line(s), literal data excluded
	lineStart bool   // the last octet read was the LF ending a line
	buf       []byte // scratch
}

func newParser(r *bufio.Reader, maxLine, maxLiteral int, cont func() error) *parser {
	return &parser{r: r, maxLine: maxLine, maxLiteral: maxLiteral, cont: cont, lineStart: true}
}

// readByte reads one octet of a command line, enforcing the line limit.
func (p *parser) readByte() (byte, error) {
	b, err := p.r.ReadByte()
	if err != nil {
		return 0, err
	}
	p.n++
	if p.n > p.maxLine {
		return 0, ErrLineTooLong
	}
	p.lineStart = b == '\n'
	return b, nil
}

// peek returns the next octet without consuming it.
func (p *parser) peek() (byte, error) {
	b, err := p.r.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// readCommand reads and parses one command (RFC 9051 §9 "command") into c:
// tag SP name [arguments] CRLF. On a *badError c.tag holds the tag if one
// was read; the caller then calls resync.
func (p *parser) readCommand(c *command) error {
	*c = command{args: c.args[:0]}
	p.n, p.lineStart = 0, false
	b, err := p.peek()
	if err != nil {
		return err
	}
	if b == '\r' || b == '\n' {
		return bad("empty command line")
	}
	tag, err := p.token(isTagChar)
	if err != nil {
		return err
	}
	if tag == "" {
		return bad("invalid tag")
	}
	c.tag = tag
	if err := p.sp(); err != nil {
		return err
	}
	name, err := p.token(isAtomChar)
	if err != nil {
		return err
	}
	if name == "" {
		return bad("missing command name")
	}
	c.name = strings.ToUpper(name)
	spec, ok := commands[c.name]
	if !ok {
		if postAuthCommands[c.name] {
			return bad("command not valid before authentication")
		}
		return bad("unknown command")
	}
	c.spec = spec
	if err := spec.parse(p, c); err != nil {
		return err
	}
	return p.crlf()
}

// token reads 1*<octets accepted by ok>; "" when the next octet is not one.
func (p *parser) token(ok func(byte) bool) (string, error) {
	p.buf = p.buf[:0]
	for {
		b, err := p.peek()
		if err != nil {
			return "", err
		}
		if !ok(b) {
			return string(p.buf), nil
		}
		if _, err := p.readByte(); err != nil {
			return "", err
		}
		p.buf = append(p.buf, b)
	}
}

// sp reads the single SP separating arguments.
func (p *parser) sp() error {
	b, err := p.readByte()
	if err != nil {
		return err
	}
	if b != ' ' {
		return bad("expected a single space")
	}
	return nil
}

// crlf reads the CRLF ending a line; a bare LF is an error.
func (p *parser) crlf() error {
	b, err := p.readByte()
	if err != nil {
		return err
	}
	if b != '\r' {
		return bad("expected end of line")
	}
	if b, err = p.readByte(); err != nil {
		return err
	}
	if b != '\n' {
		return bad("CR not followed by LF")
	}
	return nil
}

// astring reads an astring: 1*ASTRING-CHAR / string (RFC 9051 §9).
func (p *parser) astring() (string, error) {
	b, err := p.peek()
	if err != nil {
		return "", err
	}
	switch b {
	case '"':
		return p.quoted()
	case '{':
		return p.literal()
	}
	s, err := p.token(isAstringChar)
	if err == nil && s == "" {
		err = bad("expected a string")
	}
	return s, err
}

// str reads a string: quoted / literal.
func (p *parser) str() (string, error) {
	b, err := p.peek()
	if err != nil {
		return "", err
	}
	switch b {
	case '"':
		return p.quoted()
	case '{':
		return p.literal()
	}
	return "", bad("expected a quoted string or literal")
}

// nstring reads string / "NIL"; NIL is returned as isNil.
func (p *parser) nstring() (s string, isNil bool, err error) {
	b, err := p.peek()
	if err != nil {
		return "", false, err
	}
	if b == 'N' || b == 'n' {
		a, err := p.token(isAtomChar)
		if err != nil {
			return "", false, err
		}
		if !strings.EqualFold(a, "NIL") {
			return "", false, bad("expected a string or NIL")
		}
		return "", true, nil
	}
	s, err = p.str()
	return s, false, err
}

// quoted reads DQUOTE *QUOTED-CHAR DQUOTE. QUOTED-CHAR is any TEXT-CHAR but
// the quoted-specials, or "\" quoted-special (RFC 3501 §9); 8-bit octets are
// accepted only as UTF-8 (RFC 9051 §9, utf8-quoted). NUL, CR and LF are not
// TEXT-CHARs.
func (p *parser) quoted() (string, error) {
	if _, err := p.readByte(); err != nil { // the opening DQUOTE
		return "", err
	}
	p.buf = p.buf[:0]
	for {
		b, err := p.readByte()
		if err != nil {
			return "", err
		}
		switch b {
		case '"':
			if !utf8.Valid(p.buf) {
				return "", bad("quoted string is not valid UTF-8")
			}
			return string(p.buf), nil
		case '\\':
			if b, err = p.readByte(); err != nil {
				return "", err
			}
			if b != '"' && b != '\\' {
				return "", bad(`invalid escape in quoted string`)
			}
		case 0, '\r', '\n':
			return "", bad("invalid character in quoted string")
		}
		p.buf = append(p.buf, b)
	}
}

// literal reads "{" number ["+"] "}" CRLF *CHAR8 (RFC 3501 §4.3, §7.5;
// "+" is LITERAL+, RFC 7888 §3). A synchronising literal over maxLiteral is
// refused before the client sends it; a non-synchronising one is fatal
// (ErrLiteralTooLarge). CHAR8 excludes NUL.
func (p *parser) literal() (string, error) {
	if _, err := p.readByte(); err != nil { // "{"
		return "", err
	}
	size, digits, tooLarge := 0, 0, false
	for {
		b, err := p.peek()
		if err != nil {
			return "", err
		}
		if b < '0' || b > '9' {
			break
		}
		if _, err := p.readByte(); err != nil {
			return "", err
		}
		digits++
		if size = size*10 + int(b-'0'); size > p.maxLiteral {
			tooLarge, size = true, p.maxLiteral+1
		}
	}
	if digits == 0 {
		return "", bad("invalid literal")
	}
	b, err := p.readByte()
	if err != nil {
		return "", err
	}
	sync := b != '+'
	if !sync {
		if b, err = p.readByte(); err != nil {
			return "", err
		}
	}
	if b != '}' {
		return "", bad("invalid literal")
	}
	if err := p.crlf(); err != nil {
		return "", err
	}
	if tooLarge {
		if sync {
			return "", bad("literal too large")
		}
		return "", ErrLiteralTooLarge
	}
	if sync {
		if err := p.cont(); err != nil {
			return "", err
		}
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(p.r, data); err != nil {
		return "", err
	}
	p.lineStart = false
	if bytes.IndexByte(data, 0) >= 0 {
		return "", bad("NUL in literal")
	}
	return string(data), nil
}

// readLine reads one line (an AUTHENTICATE response, RFC 9051 §6.2.2) and
// returns it without its CRLF. It always consumes through the LF.
func (p *parser) readLine() ([]byte, error) {
	p.n = 0
	p.buf = p.buf[:0]
	for {
		b, err := p.readByte()
		if err != nil {
			return nil, err
		}
		if b == '\n' {
			break
		}
		p.buf = append(p.buf, b)
	}
	if len(p.buf) == 0 || p.buf[len(p.buf)-1] != '\r' {
		return nil, bad("line not ended by CRLF")
	}
	return p.buf[:len(p.buf)-1], nil
}

// resync skips the rest of the current line after a syntax error. A line
// announcing a non-synchronising literal is followed through the literal's
// octets (already on their way) to the end of the command; a synchronising
// literal is not asked for: the tagged BAD ends that command for the
// client (RFC 3501 §7.5).
func (p *parser) resync() error {
	for !p.lineStart {
		size, sync, ok, err := p.skipToLF()
		if err != nil {
			return err
		}
		if !ok || sync {
			return nil
		}
		if size > p.maxLiteral {
			return ErrLiteralTooLarge
		}
		if _, err := p.r.Discard(size); err != nil {
			return err
		}
		p.lineStart = false
	}
	return nil
}

// skipToLF reads through the next LF and reports whether the line ended in
// a literal announcement "{n}" or "{n+}" before its CRLF.
func (p *parser) skipToLF() (size int, sync, ok bool, err error) {
	const (
		none = iota
		open
		plus
		closed
		cr
	)
	st, digits := none, 0
	for {
		b, err := p.readByte()
		if err != nil {
			return 0, false, false, err
		}
		switch {
		case b == '\n':
			return size, sync, st == cr, nil
		case b == '{':
			st, size, digits, sync = open, 0, 0, true
		case st == open && b >= '0' && b <= '9':
			digits++
			if size = size*10 + int(b-'0'); size > p.maxLiteral {
				size = p.maxLiteral + 1
			}
		case st == open && b == '+' && digits > 0:
			st, sync = plus, false
		case (st == open && digits > 0 || st == plus) && b == '}':
			st = closed
		case st == closed && b == '\r':
			st = cr
		default:
			st = none
		}
	}
}

// Character classes of RFC 9051 §9.

func isAtomChar(b byte) bool {
	if b <= 0x1f || b >= 0x7f { // CTL and 8-bit
		return false
	}
	switch b {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

func isAstringChar(b byte) bool { return b == ']' || isAtomChar(b) }

// isTagChar: tag = 1*<any ASTRING-CHAR except "+">.
func isTagChar(b byte) bool { return b != '+' && isAstringChar(b) }

func isBase64Char(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '='
}

// errFatal reports whether err ends the session (anything but a BAD).
func errFatal(err error) bool {
	var be *badError
	return !errors.As(err, &be)
}
