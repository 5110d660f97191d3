package backend

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
)

// maxResponseLine bounds one store response line during login.
const maxResponseLine = 64 << 10

// proto is the few IMAP exchanges of a proxy login.
type proto struct {
	conn net.Conn
	r    *bufio.Reader
}

func (p *proto) readLine() (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := p.r.ReadLine()
		if err != nil {
			return "", fmt.Errorf("read: %w", err)
		}
		b = append(b, chunk...)
		if len(b) > maxResponseLine {
			return "", errors.New("response line too long")
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

func (p *proto) write(s string) error {
	if _, err := p.conn.Write([]byte(s)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// greeting reads the greeting; caps is nil when it carried none.
func (p *proto) greeting() (caps []string, err error) {
	line, err := p.readLine()
	if err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	switch {
	case hasPrefixFold(line, "* OK"):
		return capCode(line[4:]), nil
	case hasPrefixFold(line, "* BYE"):
		return nil, fmt.Errorf("greeting: store says %q", clip(line))
	case hasPrefixFold(line, "* PREAUTH"):
		return nil, errors.New("greeting: PREAUTH from a store is not expected")
	}
	return nil, fmt.Errorf("greeting: unexpected %q", clip(line))
}

// capability runs CAPABILITY.
func (p *proto) capability(tag string) ([]string, error) {
	if err := p.write(tag + " CAPABILITY\r\n"); err != nil {
		return nil, err
	}
	var caps []string
	for {
		line, err := p.readLine()
		if err != nil {
			return nil, fmt.Errorf("capability: %w", err)
		}
		if hasPrefixFold(line, "* CAPABILITY ") {
			caps = strings.Fields(line[len("* CAPABILITY "):])
			continue
		}
		if hasPrefixFold(line, tag+" ") {
			if !hasPrefixFold(line, tag+" OK") {
				return nil, fmt.Errorf("capability: %q", clip(line))
			}
			return caps, nil
		}
	}
}

// authenticate logs in with SASL PLAIN; it returns the capabilities the
// store sent with its OK (or as untagged CAPABILITY), nil if none.
func (p *proto) authenticate(tag string, caps []string, user, admin, password string) ([]string, error) {
	if !hasCap(caps, "AUTH=PLAIN") {
		return nil, fmt.Errorf("store lacks AUTH=PLAIN: %w", ErrRefused)
	}
	ir := plainIR(user, admin, password)
	if hasCap(caps, "SASL-IR") {
		if err := p.write(tag + " AUTHENTICATE PLAIN " + ir + "\r\n"); err != nil {
			return nil, err
		}
	} else if err := p.write(tag + " AUTHENTICATE PLAIN\r\n"); err != nil {
		return nil, err
	}
	var after []string
	for {
		line, err := p.readLine()
		if err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		switch {
		case strings.HasPrefix(line, "+"):
			if err := p.write(ir + "\r\n"); err != nil {
				return nil, err
			}
			ir = "*" // a second challenge: cancel
		case hasPrefixFold(line, "* CAPABILITY "):
			after = strings.Fields(line[len("* CAPABILITY "):])
		case hasPrefixFold(line, tag+" OK"):
			if c := capCode(line[len(tag)+3:]); c != nil {
				after = c
			}
			return after, nil
		case hasPrefixFold(line, tag+" "):
			return nil, fmt.Errorf("%w: %s", ErrRefused, clip(line[len(tag)+1:]))
		}
	}
}

// capCode extracts the list of a leading " [CAPABILITY …]" response code.
func capCode(rest string) []string {
	rest = strings.TrimLeft(rest, " ")
	if !hasPrefixFold(rest, "[CAPABILITY ") {
		return nil
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return nil
	}
	return strings.Fields(rest[len("[CAPABILITY "):end])
}

func hasCap(caps []string, c string) bool {
	for _, x := range caps {
		if strings.EqualFold(x, c) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// clip shortens store text for error messages.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
