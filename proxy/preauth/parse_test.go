package preauth

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// parseOne parses the first command of in with small limits and returns
// it, the error, how many continuations were asked for and what is left
// unread after resynchronising.
func parseOne(t *testing.T, in string) (command, error, int, string) {
	t.Helper()
	conts := 0
	r := bufio.NewReader(strings.NewReader(in))
	p := newParser(r, 64, 16, func() error { conts++; return nil })
	var c command
	err := p.readCommand(&c)
	if err != nil && !errFatal(err) {
		if rerr := p.resync(); rerr != nil {
			err = rerr
		}
	}
	rest, _ := io.ReadAll(r)
	return c, err, conts, string(rest)
}

func TestParseGood(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		tag, cmd string
		args     []string
		conts    int
		rest     string
	}{
		{"capability", "a1 capability\r\n", "a1", "CAPABILITY", nil, 0, ""},
		{"noop pipelined", "A.2 NOOP\r\nA3 LOGOUT\r\n", "A.2", "NOOP", nil, 0, "A3 LOGOUT\r\n"},
		{"tag with ]", "x]1 NOOP\r\n", "x]1", "NOOP", nil, 0, ""},
		{"login atoms", "A1 LOGIN alice s3cr]t\r\n", "A1", "LOGIN", []string{"alice", "s3cr]t"}, 0, ""},
		{"login quoted", `A1 LOGIN "al ice" "p\"w\\d"` + "\r\n", "A1", "LOGIN", []string{"al ice", `p"w\d`}, 0, ""},
		{"login empty quoted", `A1 LOGIN "" ""` + "\r\n", "A1", "LOGIN", []string{"", ""}, 0, ""},
		{"login utf8 quoted", "A1 LOGIN \"j\xc3\xb6rg\" \"\xe2\x82\xac\"\r\n", "A1", "LOGIN", []string{"jörg", "€"}, 0, ""},
		{"login sync literals", "A1 LOGIN {5}\r\nalice {3}\r\np w\r\n", "A1", "LOGIN", []string{"alice", "p w"}, 2, ""},
		{"login literal+", "A1 LOGIN {5+}\r\nalice {3+}\r\np\"w\r\nA2 NOOP\r\n", "A1", "LOGIN", []string{"alice", `p"w`}, 0, "A2 NOOP\r\n"},
		{"login empty literal", "A1 LOGIN {0}\r\n {0+}\r\n\r\n", "A1", "LOGIN", []string{"", ""}, 1, ""},
		{"literal 8-bit", "A1 LOGIN {2+}\r\n\xff\xfe x\r\n", "A1", "LOGIN", []string{"\xff\xfe", "x"}, 0, ""},
		{"literal with CRLF", "A1 LOGIN {4+}\r\na\r\nb x\r\n", "A1", "LOGIN", []string{"a\r\nb", "x"}, 0, ""},
		{"literal max size", "A1 LOGIN {16+}\r\n0123456789abcdef x\r\n", "A1", "LOGIN", []string{"0123456789abcdef", "x"}, 0, ""},
		{"literal leading zeros", "A1 LOGIN {003}\r\nabc x\r\n", "A1", "LOGIN", []string{"abc", "x"}, 1, ""},
		{"authenticate", "A1 authenticate plain\r\n", "A1", "AUTHENTICATE", []string{"PLAIN"}, 0, ""},
		{"authenticate ir", "A1 AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n", "A1", "AUTHENTICATE", []string{"PLAIN", "AGFsaWNlAHB3"}, 0, ""},
		{"authenticate empty ir", "A1 AUTHENTICATE PLAIN =\r\n", "A1", "AUTHENTICATE", []string{"PLAIN", "="}, 0, ""},
		{"id nil", "A1 ID NIL\r\n", "A1", "ID", nil, 0, ""},
		{"id empty list", "A1 ID ()\r\n", "A1", "ID", nil, 0, ""},
		{"id pairs", `A1 ID ("Name" "imaplib" "version" NIL)` + "\r\n", "A1", "ID", []string{"name", "imaplib", "version", ""}, 0, ""},
		{"id literal value", "A1 ID (\"name\" {2+}\r\nab)\r\n", "A1", "ID", []string{"name", "ab"}, 0, ""},
		{"starttls", "S STARTTLS\r\nA LOGIN x y\r\n", "S", "STARTTLS", nil, 0, "A LOGIN x y\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err, conts, rest := parseOne(t, tt.in)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.in, err)
			}
			if c.tag != tt.tag || c.name != tt.cmd || !slices.Equal(c.args, tt.args) {
				t.Errorf("parse %q = tag %q cmd %q args %q; want %q %q %q", tt.in, c.tag, c.name, c.args, tt.tag, tt.cmd, tt.args)
			}
			if conts != tt.conts {
				t.Errorf("parse %q: %d continuations, want %d", tt.in, conts, tt.conts)
			}
			if rest != tt.rest {
				t.Errorf("parse %q: left %q, want %q", tt.in, rest, tt.rest)
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	t.Parallel()
	long := "A1 LOGIN " + strings.Repeat("x", 80) + " y\r\n"
	tests := []struct {
		name, in string
		tag      string // tag known to the error response
		msg      string // substring of the BAD text; "" when fatal is set
		fatal    error
		conts    int
		rest     string // left after resynchronising
	}{
		{"empty line", "\r\nA2 NOOP\r\n", "", "empty command line", nil, 0, "A2 NOOP\r\n"},
		{"bare LF line", "\nA2 NOOP\r\n", "", "empty command line", nil, 0, "A2 NOOP\r\n"},
		{"plus tag", "+ NOOP\r\nA2 NOOP\r\n", "", "invalid tag", nil, 0, "A2 NOOP\r\n"},
		{"star tag", "* NOOP\r\n", "", "invalid tag", nil, 0, ""},
		{"8-bit tag", "\xc3\xa9 NOOP\r\n", "", "invalid tag", nil, 0, ""},
		{"tag only", "A1\r\nA2 NOOP\r\n", "A1", "single space", nil, 0, "A2 NOOP\r\n"},
		{"two spaces", "A1  NOOP\r\n", "A1", "missing command name", nil, 0, ""},
		{"unknown", "A1 FROB x y\r\nA2 NOOP\r\n", "A1", "unknown command", nil, 0, "A2 NOOP\r\n"},
		{"post-auth", "A1 SELECT INBOX\r\n", "A1", "not valid before authentication", nil, 0, ""},
		{"post-auth sync literal not asked for", "A1 APPEND INBOX {10}\r\nA2 NOOP\r\n", "A1", "not valid before", nil, 0, "A2 NOOP\r\n"},
		{"unknown literal+ skipped", "A1 FROB {5+}\r\n\r\nA9 x\r\nA2 NOOP\r\n", "A1", "unknown command", nil, 0, "A2 NOOP\r\n"},
		{"trailing space", "A1 NOOP \r\n", "A1", "end of line", nil, 0, ""},
		{"noop with arg", "A1 NOOP x\r\nA2 NOOP\r\n", "A1", "end of line", nil, 0, "A2 NOOP\r\n"},
		{"bare LF ends command", "A1 NOOP\nA2 NOOP\r\n", "A1", "end of line", nil, 0, "A2 NOOP\r\n"},
		{"CR without LF", "A1 NOOP\rx\r\nA2 NOOP\r\n", "A1", "CR not followed by LF", nil, 0, "A2 NOOP\r\n"},
		{"login no args", "A1 LOGIN\r\n", "A1", "single space", nil, 0, ""},
		{"login one arg", "A1 LOGIN alice\r\n", "A1", "single space", nil, 0, ""},
		{"login empty arg", "A1 LOGIN  pw\r\n", "A1", "expected a string", nil, 0, ""},
		{"login three args", "A1 LOGIN a b c\r\n", "A1", "end of line", nil, 0, ""},
		{"login wildcard atom", "A1 LOGIN a* b\r\n", "A1", "single space", nil, 0, ""},
		{"login 8-bit atom", "A1 LOGIN j\xc3\xb6rg b\r\n", "A1", "single space", nil, 0, ""},
		{"unterminated quote", "A1 LOGIN \"alice\r\nA2 NOOP\r\n", "A1", "invalid character", nil, 0, "A2 NOOP\r\n"},
		{"bad escape", `A1 LOGIN "a\b" c` + "\r\n", "A1", "invalid escape", nil, 0, ""},
		{"NUL in quoted", "A1 LOGIN \"a\x00b\" c\r\n", "A1", "invalid character", nil, 0, ""},
		{"invalid UTF-8 quoted", "A1 LOGIN \"\xff\xfe\" c\r\n", "A1", "not valid UTF-8", nil, 0, ""},
		{"NUL in literal", "A1 LOGIN {3+}\r\na\x00b c\r\nA2 NOOP\r\n", "A1", "NUL in literal", nil, 0, "A2 NOOP\r\n"},
		{"literal no digits", "A1 LOGIN {} x\r\n", "A1", "invalid literal", nil, 0, ""},
		{"literal junk", "A1 LOGIN {5x}\r\n", "A1", "invalid literal", nil, 0, ""},
		{"literal8 form", "A1 LOGIN ~{5}\r\n", "A1", "single space", nil, 0, ""},
		{"sync literal too large", "A1 LOGIN {17}\r\nA2 NOOP\r\n", "A1", "literal too large", nil, 0, "A2 NOOP\r\n"},
		{"sync literal huge", "A1 LOGIN {99999999999999999999}\r\n", "A1", "literal too large", nil, 0, ""},
		{"literal+ too large", "A1 LOGIN {17+}\r\n01234567890123456 x\r\n", "A1", "", ErrLiteralTooLarge, 0, "01234567890123456 x\r\n"},
		{"skipped literal+ too large", "A1 FROB {17+}\r\n01234567890123456\r\n", "A1", "", ErrLiteralTooLarge, 0, "01234567890123456\r\n"},
		{"line too long", long, "A1", "", ErrLineTooLong, 0, long[65:]},
		{"authenticate no mech", "A1 AUTHENTICATE\r\n", "A1", "single space", nil, 0, ""},
		{"authenticate bad ir", "A1 AUTHENTICATE PLAIN a$b\r\n", "A1", "end of line", nil, 0, ""},
		{"authenticate literal ir", "A1 AUTHENTICATE PLAIN {4}\r\nA2 NOOP\r\n", "A1", "invalid initial response", nil, 0, "A2 NOOP\r\n"},
		{"id no args", "A1 ID\r\n", "A1", "single space", nil, 0, ""},
		{"id atom", "A1 ID foo\r\n", "A1", "expected a", nil, 0, ""},
		{"id odd", `A1 ID ("name")` + "\r\n", "A1", "single space", nil, 0, ""},
		{"id atom field", `A1 ID (name "x")` + "\r\n", "A1", "quoted string or literal", nil, 0, ""},
		{"id unclosed", `A1 ID ("a" "b"` + "\r\n", "A1", "single space", nil, 0, ""},
		{"id long field", `A1 ID ("` + strings.Repeat("f", 31) + `" NIL)` + "\r\n", "A1", "field name too long", nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err, conts, rest := parseOne(t, tt.in)
			if tt.fatal != nil {
				if !errors.Is(err, tt.fatal) {
					t.Fatalf("parse %q: err %v, want %v", tt.in, err, tt.fatal)
				}
			} else {
				var be *badError
				if !errors.As(err, &be) || !strings.Contains(be.msg, tt.msg) {
					t.Fatalf("parse %q: err %v, want BAD %q", tt.in, err, tt.msg)
				}
			}
			if c.tag != tt.tag {
				t.Errorf("parse %q: tag %q, want %q", tt.in, c.tag, tt.tag)
			}
			if conts != tt.conts {
				t.Errorf("parse %q: %d continuations, want %d", tt.in, conts, tt.conts)
			}
			if rest != tt.rest {
				t.Errorf("parse %q: left %q, want %q", tt.in, rest, tt.rest)
			}
		})
	}
}

func TestReadLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		bad      bool
		fatal    error
	}{
		{"AGFsaWNlAHB3\r\n", "AGFsaWNlAHB3", false, nil},
		{"\r\n", "", false, nil},
		{"*\r\n", "*", false, nil},
		{"abc\n", "", true, nil},
		{strings.Repeat("A", 70) + "\r\n", "", false, ErrLineTooLong},
		{"abc", "", false, io.EOF},
	}
	for _, tt := range tests {
		p := newParser(bufio.NewReader(strings.NewReader(tt.in)), 64, 16, nil)
		got, err := p.readLine()
		switch {
		case tt.fatal != nil:
			if !errors.Is(err, tt.fatal) {
				t.Errorf("readLine(%q) err %v, want %v", tt.in, err, tt.fatal)
			}
		case tt.bad:
			if err == nil || errFatal(err) {
				t.Errorf("readLine(%q) err %v, want BAD", tt.in, err)
			}
		case err != nil || string(got) != tt.want:
			t.Errorf("readLine(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestDecodeResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"=", "", true},
		{"", "", true},
		{"YWxpY2U=", "alice", true},
		{"YWxpY2U", "", false},  // padding required
		{"YWxpY2V=", "", false}, // non-zero padding bits
		{"YW\rxp", "", false},
		{"Y W=", "", false},
	}
	for _, tt := range tests {
		got, ok := decodeResponse(tt.in)
		if ok != tt.ok || ok && (got == nil || string(got) != tt.want) {
			t.Errorf("decodeResponse(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
