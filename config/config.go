// Package config reads msgplex's one configuration file.
//
// The file is TOML. Keys are dotted and reuse the classic product's names
// where one exists (service.imap.numprocesses, store.cleanupsize, …); a
// dotted key may be written flat (`store.purge.count = 500`) or inside a
// table (`[store.purge]` then `count = 500`): TOML treats both the same.
//
// Every key has a default (see Default); an empty or missing file gives a
// working single-machine configuration. Unknown keys are an error, so a
// typo never silently falls back to a default. Durations are Go duration
// strings ("30s", "35m"); sizes are integers of bytes or strings with a
// unit ("512MiB", "1GiB").
//
// Each part of the system owns one file here: store.go (store and its
// imapd), directory.go, proxy.go.
package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole file.
type Config struct {
	Service   Service   `toml:"service"`
	Store     Store     `toml:"store"`
	Directory Directory `toml:"directory"`
	Proxy     Proxy     `toml:"proxy"`
	Log       Log       `toml:"log"`
}

// Log configures the daemons' own slog output (not the proxy's session log).
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `toml:"level"`
	// Format is text or json. Default text.
	Format string `toml:"format"`
}

// Default returns the configuration with every key at its documented default.
func Default() Config {
	return Config{
		Service:   defaultService(),
		Store:     defaultStore(),
		Directory: defaultDirectory(),
		Proxy:     defaultProxy(),
		Log:       Log{Level: "info", Format: "text"},
	}
}

// Load reads path over the defaults. An empty path returns the defaults.
func Load(path string) (Config, error) {
	c := Default()
	if path == "" {
		return c, c.Validate()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	if err := c.parse(string(data)); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads TOML text over the defaults (for tests and tools).
func Parse(text string) (Config, error) {
	c := Default()
	err := c.parse(text)
	return c, err
}

func (c *Config) parse(text string) error {
	md, err := toml.Decode(text, c)
	if err != nil {
		return err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return fmt.Errorf("unknown keys: %s", strings.Join(keys, ", "))
	}
	return c.Validate()
}

// Validate checks values that decode but make no sense.
func (c *Config) Validate() error {
	var errs []error
	if c.Service.IMAP.NumProcesses < 1 {
		errs = append(errs, errors.New("service.imap.numprocesses must be at least 1"))
	}
	if c.Service.IMAP.MaxSessions < 1 {
		errs = append(errs, errors.New("service.imap.maxsessions must be at least 1"))
	}
	if c.Service.IMAP.VMBudget < 1<<20 {
		errs = append(errs, errors.New("service.imap.vmbudget must be at least 1MiB"))
	}
	if c.Store.DataRoot == "" {
		errs = append(errs, errors.New("store.dataroot must be set"))
	}
	if c.Store.Purge.Percentage < 0 || c.Store.Purge.Percentage > 100 {
		errs = append(errs, errors.New("store.purge.percentage must be 0..100"))
	}
	return errors.Join(errs...)
}

// Duration is a time.Duration written as a Go duration string.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Size is a byte count written as an integer or with a unit (KiB, MiB, GiB,
// TiB, or KB, MB, GB, TB as powers of 1000).
type Size int64

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

// UnmarshalTOML accepts a bare integer as well as a string.
func (s *Size) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		*s = Size(x)
		return nil
	case string:
		return s.UnmarshalText([]byte(x))
	}
	return fmt.Errorf("size: want integer or string, got %T", v)
}

// ParseSize parses "1024", "512MiB", "1GiB", "10MB".
func ParseSize(str string) (int64, error) {
	t := strings.TrimSpace(str)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("bad size %q", str)
	}
	return n * mult, nil
}
