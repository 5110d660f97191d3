package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/BurntSushi/toml"
)

func init() {
	register("config", "print the effective configuration (defaults merged with --config)", runConfig)
}

// runConfig prints every key with its effective value, passwords redacted,
// so an administrator can see what a daemon will use.
func runConfig(args []string) int {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, ok := loadConfig(*cfgPath)
	if !ok {
		return 1
	}
	for _, p := range []*string{&c.Store.Admin.Password, &c.Proxy.StoreAdmin.Password, &c.Directory.BindPassword} {
		if *p != "" {
			*p = "(redacted)"
		}
	}
	if err := toml.NewEncoder(os.Stdout).Encode(c); err != nil {
		fmt.Fprintf(os.Stderr, "msgplex config: %v\n", err)
		return 1
	}
	return 0
}
