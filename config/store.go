package config

// Service holds service.* keys.
type Service struct {
	IMAP IMAPService `toml:"imap"`
}

// IMAPService holds service.imap.* keys: the store's imapd.
type IMAPService struct {
	// Listen is the store's IMAP address. Default "127.0.0.1:1143".
	Listen string `toml:"listen"`
	// NumProcesses is the number of imapd worker processes. Default 2.
	NumProcesses int `toml:"numprocesses"`
	// MaxSessions is the most sessions one worker serves. Default 4000.
	MaxSessions int `toml:"maxsessions"`
	// VMBudget is the bytes of index mappings one process may hold. Default 1GiB.
	VMBudget Size `toml:"vmbudget"`
	// AllowPlaintext permits LOGIN/AUTHENTICATE without TLS from any
	// address. Default false: only loopback and store.trustedproxies.
	AllowPlaintext bool `toml:"allowplaintext"`
	// TLSCert and TLSKey enable STARTTLS when both are set.
	TLSCert string `toml:"tlscert"`
	TLSKey  string `toml:"tlskey"`
}

// Store holds store.* keys.
type Store struct {
	// DataRoot is where partitions, the mboxlist and the queue live.
	// Default "/var/lib/msgplex".
	DataRoot string `toml:"dataroot"`
	// Admin is the store-admin credential the proxy logs in with.
	Admin Credential `toml:"admin"`
	// TrustedProxies are addresses/CIDRs allowed to use the store-admin
	// login and to send a PROXY protocol header. Default loopback.
	TrustedProxies []string `toml:"trustedproxies"`
	// AppendLimit is the largest message APPEND accepts. Default 100MiB.
	AppendLimit Size `toml:"appendlimit"`
	// CleanupSize is the number of expunged records after which store.exp
	// is handed to a Clean task. Default 100.
	CleanupSize int `toml:"cleanupsize"`
	// CleanupAge is how long expunged message files are kept. Default 1h.
	CleanupAge Duration `toml:"cleanupage"`
	Purge      Purge    `toml:"purge"`
}

// Credential is a user name and password.
type Credential struct {
	User     string `toml:"user"`
	Password string `toml:"password"`
}

// Purge holds store.purge.* keys.
type Purge struct {
	// Enable runs impurge as a daemon inside the store. Default true.
	Enable bool `toml:"enable"`
	// Count is the number of expunged cache records before a cache purge.
	// Default 500.
	Count int `toml:"count"`
	// Percentage is the share of expunged cache records before a cache
	// purge. Default 5.
	Percentage int `toml:"percentage"`
}

func defaultService() Service {
	return Service{IMAP: IMAPService{
		Listen:       "127.0.0.1:1143",
		NumProcesses: 2,
		MaxSessions:  4000,
		VMBudget:     1 << 30,
	}}
}

func defaultStore() Store {
	return Store{
		DataRoot:       "/var/lib/msgplex",
		Admin:          Credential{User: "msgplex-admin"},
		TrustedProxies: []string{"127.0.0.0/8", "::1/128"},
		AppendLimit:    100 << 20,
		CleanupSize:    100,
		CleanupAge:     Duration(3600e9),
		Purge:          Purge{Enable: true, Count: 500, Percentage: 5},
	}
}
