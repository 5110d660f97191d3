package benchstore

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"msgplex/internal/e2e"
)

// Dovecot runs as root here, so its mail processes need an unprivileged
// uid: Dovecot refuses uid 0 for mail access. The benchmark's mail belongs
// to nobody:nogroup (65534), its login processes run as dovenull and its
// internal services as dovecot (both made by the Debian package).
const (
	dovecotMailUID = 65534
	dovecotMailGID = 65534
	dovecotPass    = "pw"
)

// dovecot is a private Dovecot instance: its own base_dir, state_dir and
// log in dir, listening on a free loopback port, every user's password
// dovecotPass, maildirs under mailRoot/<user>/Maildir.
type dovecot struct {
	Addr     string
	dir      string
	mailRoot string
	conf     string
	cmd      *exec.Cmd
	done     chan struct{}
}

const dovecotConf = `# Private benchmark instance (test/benchstore). Not a production config.
base_dir = {{dir}}/base
state_dir = {{dir}}/state
log_path = {{dir}}/dovecot.log
info_log_path = {{dir}}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_process_limit = 1000
default_client_limit = 4000
mail_location = maildir:{{mail}}/%u/Maildir
# Dovecot's default: fsync where data would otherwise be lost.
mail_fsync = optimized
passdb {
  driver = static
  args = password={{pass}}
}
userdb {
  driver = static
  args = uid={{uid}} gid={{gid}} home={{mail}}/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = {{port}}
  }
  inet_listener imaps {
    port = 0
  }
}
service imap {
  process_limit = 1000
  # The default 256M cannot sync a folder of a million maildir files.
  vsz_limit = 4G
}
protocol imap {
  mail_max_userip_connections = 1000
}
`

// startDovecot writes dir/dovecot.conf and runs `dovecot -F -c` on it.
// dir and mailRoot must be reachable by the unprivileged users above.
func startDovecot(tb testing.TB, dir, mailRoot string) *dovecot {
	tb.Helper()
	addr := e2e.FreeAddr(tb)
	_, port, _ := strings.Cut(addr, ":")
	for _, d := range []string{dir + "/base", dir + "/state", mailRoot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.Chown(mailRoot, dovecotMailUID, dovecotMailGID); err != nil {
		tb.Fatal(err)
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{mail}}", mailRoot, "{{pass}}", dovecotPass,
		"{{uid}}", fmt.Sprint(dovecotMailUID), "{{gid}}", fmt.Sprint(dovecotMailGID), "{{port}}", port).Replace(dovecotConf)
	d := &dovecot{Addr: addr, dir: dir, mailRoot: mailRoot, conf: filepath.Join(dir, "dovecot.conf"), done: make(chan struct{})}
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	d.cmd = exec.Command("dovecot", "-F", "-c", d.conf)
	out, err := os.Create(filepath.Join(dir, "dovecot.out"))
	if err != nil {
		tb.Fatal(err)
	}
	d.cmd.Stdout, d.cmd.Stderr = out, out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		tb.Fatalf("start dovecot: %v", err)
	}
	go func() { d.cmd.Wait(); out.Close(); close(d.done) }()
	tb.Cleanup(d.stop)
	d.waitReady(tb)
	return d
}

// waitReady waits (30 s at most) until a login succeeds.
func (d *dovecot) waitReady(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rc, err := dialLogin(d.Addr, "probe", dovecotPass, "")
		if err == nil {
			rc.Close()
			return
		}
		select {
		case <-d.done:
			tb.Fatalf("dovecot exited at start:\n%s", d.log())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("dovecot not ready on %s in 30s: %v\n%s", d.Addr, err, d.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *dovecot) log() string {
	a, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.out"))
	b, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
	return string(a) + string(b)
}

// stop ends the master (which ends its children), SIGKILLing the process
// group after 10 s.
func (d *dovecot) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
}

// pid is the master's pid: the root of the process tree.
func (d *dovecot) pid() int { return d.cmd.Process.Pid }

// linkUser makes user's mail the maildir home at src (a built, cached
// folder) by a symlink in the mail root.
func (d *dovecot) linkUser(tb testing.TB, user, src string) {
	tb.Helper()
	if err := os.Symlink(src, filepath.Join(d.mailRoot, user)); err != nil {
		tb.Fatal(err)
	}
}

// buildMaildir writes a maildir home at home (home/Maildir/{cur,new,tmp})
// holding n messages cycled from msgs, the way a migration or a restore
// would: message files written straight into cur/ (hard links to one
// file per distinct message, to spare the disk), with S= and W= sizes
// and the flags of flagsFor in their names. Dovecot indexes them at the
// first SELECT (indexFolder), which the figures exclude.
func buildMaildir(tb testing.TB, home string, msgs [][]byte, n int) {
	tb.Helper()
	md := filepath.Join(home, "Maildir")
	for _, d := range []string{home, md, md + "/cur", md + "/new", md + "/tmp", home + "/src"} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(d, dovecotMailUID, dovecotMailGID); err != nil {
			tb.Fatal(err)
		}
	}
	type src struct {
		path        string
		size, vsize int
	}
	srcs := make([]src, len(msgs))
	for i, m := range msgs {
		lf := toLF(m)
		p := filepath.Join(home, "src", fmt.Sprintf("%03d", i))
		if err := os.WriteFile(p, lf, 0o600); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(p, dovecotMailUID, dovecotMailGID); err != nil {
			tb.Fatal(err)
		}
		srcs[i] = src{p, len(lf), len(m)}
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for i := 0; i < n; i++ {
		s := srcs[i%len(srcs)]
		name := fmt.Sprintf("%d.M%dP1Q%d.bench,S=%d,W=%d%s", base+int64(i/100), i%1000000, i, s.size, s.vsize, maildirInfo(i))
		if err := os.Link(s.path, filepath.Join(md, "cur", name)); err != nil {
			tb.Fatalf("maildir link %d: %v", i, err)
		}
	}
}

// indexFolder logs in as user and SELECTs INBOX once, so Dovecot builds
// its index (not measured), and checks that it holds want messages.
// Bounded by the raw client's command timeout.
func (d *dovecot) indexFolder(tb testing.TB, user string, want int) {
	tb.Helper()
	rc, err := dialLogin(d.Addr, user, dovecotPass, "")
	if err != nil {
		tb.Fatalf("dovecot first index of %s: %v\n%s", user, err, d.log())
	}
	defer rc.Close()
	if _, err := timeCommand(rc, "SELECT INBOX", want, 0, 1, ioTimeout); err != nil {
		tb.Fatalf("dovecot first index of %s: %v\n%s", user, err, d.log())
	}
}
