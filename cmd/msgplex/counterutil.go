package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"msgplex/config"
	"msgplex/counters"
)

func init() {
	register("counterutil", "print live counters (-o imapstat)", runCounterutil)
}

// staleAfter: a counters file older than this means the service is not
// publishing (stopped or hung).
const staleAfter = 10 * time.Second

func runCounterutil(args []string) int {
	fs := flag.NewFlagSet("counterutil", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	object := fs.String("o", "imapstat", "monitor `object` to print (imapstat)")
	interval := fs.Int("i", 0, "repeat every `SECONDS`")
	count := fs.Int("n", 0, "print `COUNT` times (default 1, or unbounded with -i)")
	service := fs.String("service", "proxy", "whose counters: proxy or store")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *object != "imapstat" {
		fmt.Fprintf(os.Stderr, "counterutil: unknown object %q (only imapstat)\n", *object)
		return 2
	}
	c, ok := loadConfig(*cfgPath)
	if !ok {
		return 1
	}
	path, err := countersPath(c, *service)
	if err != nil {
		fmt.Fprintln(os.Stderr, "counterutil:", err)
		return 2
	}
	n := *count
	if n <= 0 && *interval <= 0 {
		n = 1
	}
	for i := 0; n <= 0 || i < n; i++ {
		if i > 0 {
			time.Sleep(time.Duration(*interval) * time.Second)
			fmt.Println()
		}
		if err := printCounters(os.Stdout, path, *service); err != nil {
			fmt.Fprintln(os.Stderr, "counterutil:", err)
			return 1
		}
	}
	return 0
}

func countersPath(c config.Config, service string) (string, error) {
	switch service {
	case "proxy":
		return counters.FileFor("proxy", c.Proxy.StateDir), nil
	case "store":
		return counters.FileFor("store", c.Store.DataRoot), nil
	}
	return "", fmt.Errorf("unknown service %q (proxy or store)", service)
}

func printCounters(w io.Writer, path, service string) error {
	snap, err := counters.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w (is the %s running?)", err, service)
	}
	if st, err := os.Stat(path); err == nil && time.Since(st.ModTime()) > staleAfter {
		fmt.Fprintf(os.Stderr, "counterutil: warning: %s is %s old; is the %s running?\n",
			path, time.Since(st.ModTime()).Round(time.Second), service)
	}
	fmt.Fprintf(w, "Monitor object name: imapstat (%s)\n", service)
	for _, v := range snap {
		fmt.Fprintf(w, "%-34s %d\n", v.Name, v.Value)
	}
	return nil
}
