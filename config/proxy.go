package config

// Proxy holds proxy.* keys: the multiplexor.
type Proxy struct {
	// Listen is the IMAP (STARTTLS) address. Default "127.0.0.1:2143".
	Listen string `toml:"listen"`
	// TLSListen is the implicit-TLS address; empty disables. Default "127.0.0.1:2993".
	TLSListen string `toml:"tlslisten"`
	// TLSCert and TLSKey are PEM files.
	TLSCert string `toml:"tlscert"`
	TLSKey  string `toml:"tlskey"`
	// AllowPlaintext permits LOGIN before STARTTLS. Default false.
	AllowPlaintext bool `toml:"allowplaintext"`
	// Hostname is the name in session log lines. Default: the OS host name.
	Hostname string `toml:"hostname"`
	// BackendPort is used when mailHost has no port. Default 143.
	BackendPort int `toml:"backendport"`
	// StoreAdmin is the credential used to log in at the store for a user.
	StoreAdmin Credential `toml:"storeadmin"`
	// SendProxyProtocol sends a PROXY v2 header to the store. Default false.
	SendProxyProtocol bool `toml:"sendproxyprotocol"`
	// TrustedLoadBalancers may send a PROXY protocol header. Default none.
	TrustedLoadBalancers []string `toml:"trustedloadbalancers"`
	// ServerDownAlert is the text clients see when their store is down.
	ServerDownAlert string `toml:"serverdownalert"`
	// MaxConnections bounds all client connections (0 = no limit). Default 10000.
	MaxConnections int `toml:"maxconnections"`
	// ConnLimits bounds connections per client address (0 = no limit). Default 50.
	ConnLimits int `toml:"connlimits"`
	// BackendTimeout bounds connecting and logging in to a store. Default 10s.
	BackendTimeout Duration `toml:"backendtimeout"`
	// BackendRetry is how long a failed store address is avoided. Default 30s.
	BackendRetry Duration `toml:"backendretry"`
	// PreauthTimeout bounds the time to authenticate. Default 60s.
	PreauthTimeout Duration `toml:"preauthtimeout"`
	// IdleTimeout ends a spliced session silent both ways this long. Default 35m.
	IdleTimeout Duration `toml:"idletimeout"`
	// SpliceEngine moves a spliced session's bytes between plain TCP legs:
	// "epoll" (event loops with splice(2), no goroutine per session; package
	// proxy/relay) or "goroutines" (two goroutines per session). TLS legs
	// always use goroutines. Default "epoll".
	SpliceEngine string `toml:"spliceengine"`
	// MaxLineLength bounds a pre-auth command line. Default 8KiB.
	MaxLineLength Size `toml:"maxlinelength"`
	// MaxLiteral bounds a pre-auth literal. Default 8KiB.
	MaxLiteral Size `toml:"maxliteral"`
	// MaxAuthFailures per connection before it is closed. Default 3.
	MaxAuthFailures int `toml:"maxauthfailures"`
	// FailDelay is the first delay after a failed login; it doubles per
	// failure per address and per user up to FailDelayMax. Defaults 1s, 30s.
	FailDelay    Duration `toml:"faildelay"`
	FailDelayMax Duration `toml:"faildelaymax"`
	// DrainTimeout is how long spliced sessions may finish on SIGTERM. Default 30s.
	DrainTimeout Duration `toml:"draintimeout"`
	// SessionLog is a file path or "stderr". Default "stderr".
	SessionLog string `toml:"sessionlog"`
	// SessionLogFormat is "text" (DESIGN.md) or "json". Default "text".
	SessionLogFormat string `toml:"sessionlogformat"`
	// MetricsListen serves Prometheus /metrics; empty disables.
	MetricsListen string `toml:"metricslisten"`
	// StateDir holds the counters file counterutil reads. Default "/var/run/msgplex".
	StateDir string `toml:"statedir"`
}

func defaultProxy() Proxy {
	return Proxy{
		Listen:           "127.0.0.1:2143",
		TLSListen:        "127.0.0.1:2993",
		BackendPort:      143,
		StoreAdmin:       Credential{User: "msgplex-admin"},
		ServerDownAlert:  "Your mail server is temporarily unavailable; please try again in a few minutes.",
		MaxConnections:   10000,
		ConnLimits:       50,
		BackendTimeout:   Duration(10e9),
		BackendRetry:     Duration(30e9),
		PreauthTimeout:   Duration(60e9),
		IdleTimeout:      Duration(35 * 60e9),
		SpliceEngine:     "epoll",
		MaxLineLength:    8 << 10,
		MaxLiteral:       8 << 10,
		MaxAuthFailures:  3,
		FailDelay:        Duration(1e9),
		FailDelayMax:     Duration(30e9),
		DrainTimeout:     Duration(30e9),
		SessionLog:       "stderr",
		SessionLogFormat: "text",
		StateDir:         "/var/run/msgplex",
	}
}
