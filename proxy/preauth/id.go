package preauth

import (
	"maps"
	"slices"
	"strings"
)

// ID (RFC 2971): the proxy answers with Options.ServerID and remembers the
// client's parameters in State.ClientID.

// Limits of RFC 2971 §3.3.
const (
	maxIDField = 30
	maxIDValue = 1024
	maxIDPairs = 30
)

// parseID reads SP id_params_list, where
// id_params_list ::= "(" #(string SPACE nstring) ")" / nil
// (RFC 2971 §4; the pairs are separated by SP as in its examples). "()" is
// taken as NIL. A NIL value is recorded as "".
func parseID(p *parser, c *command) error {
	if err := p.sp(); err != nil {
		return err
	}
	b, err := p.peek()
	if err != nil {
		return err
	}
	if b != '(' {
		if _, isNil, err := p.nstring(); err != nil || !isNil {
			return orBad(err, "expected a parameter list or NIL")
		}
		return nil
	}
	if _, err := p.readByte(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		if b, err = p.peek(); err != nil {
			return err
		}
		if b == ')' {
			_, err := p.readByte()
			return err
		}
		if i > 0 {
			if err := p.sp(); err != nil {
				return err
			}
		}
		if err := parseIDPair(p, c); err != nil {
			return err
		}
		if i+1 > maxIDPairs {
			return bad("too many ID parameters")
		}
	}
}

// parseIDPair reads string SP nstring.
func parseIDPair(p *parser, c *command) error {
	field, err := p.str()
	if err != nil {
		return err
	}
	if len(field) > maxIDField {
		return bad("ID field name too long")
	}
	if err := p.sp(); err != nil {
		return err
	}
	value, _, err := p.nstring()
	if err != nil {
		return err
	}
	if len(value) > maxIDValue {
		return bad("ID value too long")
	}
	c.args = append(c.args, strings.ToLower(field), value)
	return nil
}

// orBad returns err, or a BAD with msg when err is nil.
func orBad(err error, msg string) error {
	if err != nil {
		return err
	}
	return bad(msg)
}

func (s *session) id(c *command) error {
	id := make(map[string]string, len(c.args)/2)
	for i := 0; i+1 < len(c.args); i += 2 {
		id[c.args[i]] = c.args[i+1]
	}
	s.state.ClientID = id
	s.untagged("ID " + formatID(s.opts.ServerID))
	s.tagged(c.tag, "OK", "ID completed")
	return nil
}

// formatID renders id_params_list for the server's parameters, sorted.
func formatID(id map[string]string) string {
	if len(id) == 0 {
		return "NIL"
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, k := range slices.Sorted(maps.Keys(id)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quote(k))
		b.WriteByte(' ')
		b.WriteString(quote(id[k]))
	}
	b.WriteByte(')')
	return b.String()
}

// quote renders s as a quoted string, dropping what a quoted string cannot
// hold (CR, LF, NUL).
func quote(s string) string {
	s = sanitize(s)
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
