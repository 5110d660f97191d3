// Package entry turns an LDAP entry (from a server or an LDIF file) into a
// directory.User. Both backends read the same attributes, so they agree on
// what every value means.
package entry

import (
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"msgplex/directory"
)

// Attribute names the backends read.
const (
	UID      = "uid"
	Mail     = "mail"
	MailHost = "mailHost"
	Status   = "mailUserStatus"
	Quota    = "mailQuota"
	Password = "userPassword"
)

// Attributes returns the attributes a lookup asks for (never the password).
func Attributes() []string {
	return []string{UID, Mail, MailHost, Status, Quota}
}

// User builds the User of e. A missing uid falls back to the value of the
// login attribute the entry was found by (name). A mailQuota that is not a
// non-negative integer reads as 0 (no quota) and bad reports it.
func User(e *ldap.Entry, name string) (u directory.User, bad bool) {
	u = directory.User{
		UID:      e.GetEqualFoldAttributeValue(UID),
		DN:       e.DN,
		Mail:     e.GetEqualFoldAttributeValue(Mail),
		MailHost: strings.TrimSpace(e.GetEqualFoldAttributeValue(MailHost)),
		Status:   directory.ParseStatus(e.GetEqualFoldAttributeValue(Status)),
	}
	if u.UID == "" {
		u.UID = name
	}
	if q := strings.TrimSpace(e.GetEqualFoldAttributeValue(Quota)); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n < 0 {
			return u, true
		}
		u.Quota = n
	}
	return u, false
}
