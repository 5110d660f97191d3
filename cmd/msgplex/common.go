package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"msgplex/config"
)

// loadConfig reads --config (or $MSGPLEX_CONFIG) and reports errors on stderr.
func loadConfig(path string) (config.Config, bool) {
	if path == "" {
		path = os.Getenv("MSGPLEX_CONFIG")
	}
	c, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "msgplex: %v\n", err)
		return c, false
	}
	return c, true
}

// configFlag adds the --config flag every command takes.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "configuration `file` (default $MSGPLEX_CONFIG, else built-in defaults)")
}

// newLogger builds the daemons' slog logger from log.* keys.
func newLogger(c config.Log, component string) *slog.Logger {
	var lvl slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if strings.EqualFold(c.Format, "json") {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return slog.New(h).With("component", component)
}
