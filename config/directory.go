package config

// Directory holds directory.* keys: where users and their mail hosts are.
type Directory struct {
	// URL is "ldif:PATH" or one or more space-separated LDAP URLs
	// ("ldap://a ldap://b", "ldaps://…"). Default "ldif:/etc/msgplex/users.ldif".
	URL string `toml:"url"`
	// BaseDN is the search base. Default "dc=example,dc=com".
	BaseDN string `toml:"basedn"`
	// BindDN and BindPassword are the service bind for lookups.
	BindDN       string `toml:"binddn"`
	BindPassword string `toml:"bindpassword"`
	// SearchFormat finds a user; %s is the escaped user name. Default "(uid=%s)".
	SearchFormat string `toml:"searchformat"`
	// StartTLS upgrades ldap:// connections. Default false.
	StartTLS bool `toml:"starttls"`
	// Timeout bounds each directory request. Default 5s.
	Timeout Duration `toml:"timeout"`
	// CacheTTL is how long lookups and successful logins are cached; 0 turns
	// the cache off. Default 60s.
	CacheTTL Duration `toml:"cachettl"`
	// NegativeTTL is how long "no such user" is cached. Default 10s.
	NegativeTTL Duration `toml:"negativettl"`
}

func defaultDirectory() Directory {
	return Directory{
		URL:          "ldif:/etc/msgplex/users.ldif",
		BaseDN:       "dc=example,dc=com",
		SearchFormat: "(uid=%s)",
		Timeout:      Duration(5e9),
		CacheTTL:     Duration(60e9),
		NegativeTTL:  Duration(10e9),
	}
}
