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
		if !isPrefix && b == nil {
			return string(chunk), nil
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

// stepwise sends the PROXY header (if any), reads the greeting, asks
// CAPABILITY if the greeting carried none, and logs in with SASL PLAIN
// (ir is the base64 initial response), with SASL-IR if offered. It returns
// the capabilities the store sent with its OK (nil if none) and whether
// the store allows a pipelined login next time.
func (p *proto) stepwise(tag string, hdr []byte, ir string) (after []string, pipeline bool, err error) {
	if len(hdr) > 0 {
		if _, err := p.conn.Write(hdr); err != nil {
			return nil, false, fmt.Errorf("send PROXY header: %w", err)
		}
	}
	caps, err := p.greeting()
	if err != nil {
		return nil, false, err
	}
	if caps == nil {
		if caps, err = p.capability("A0"); err != nil {
			return nil, false, err
		}
	}
	if !hasCap(caps, "AUTH=PLAIN") {
		return nil, false, fmt.Errorf("store lacks AUTH=PLAIN: %w", ErrRefused)
	}
	pipeline = hasCap(caps, "SASL-IR")
	if pipeline {
		err = p.write(tag + " AUTHENTICATE PLAIN " + ir + "\r\n")
	} else {
		err = p.write(tag + " AUTHENTICATE PLAIN\r\n")
	}
	if err != nil {
		return nil, false, err
	}
	after, err = p.authResult(tag, ir)
	return after, pipeline, err
}

// pipelined sends the PROXY header (if any) and AUTHENTICATE PLAIN with
// its initial response in one write, then reads the greeting and the
// result: for a store known to offer AUTH=PLAIN and SASL-IR.
func (p *proto) pipelined(tag string, hdr []byte, ir string) ([]string, error) {
	b := make([]byte, 0, len(hdr)+len(tag)+len(ir)+24)
	b = append(b, hdr...)
	b = append(b, tag...)
	b = append(b, " AUTHENTICATE PLAIN "...)
	b = append(b, ir...)
	b = append(b, "\r\n"...)
	if _, err := p.conn.Write(b); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	if _, err := p.greeting(); err != nil {
		return nil, err
	}
	return p.authResult(tag, "*") // a continuation means the IR was not taken: cancel
}

// authResult reads the responses to AUTHENTICATE up to its tagged one,
// answering a continuation with ir (then cancelling any further one). It
// returns the capabilities the store sent with its OK (or as untagged
// CAPABILITY), nil if none.
func (p *proto) authResult(tag, ir string) ([]string, error) {
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
