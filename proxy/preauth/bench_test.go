package preauth

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
)

// BenchmarkLogin measures one full pre-auth dialogue through Serve over
// net.Pipe: greeting, LOGIN, tagged OK with the backend's capabilities.
//
//	go test -run XXX -bench Login -benchmem ./proxy/preauth/
func BenchmarkLogin(b *testing.B) {
	benchDialogue(b, "A1 LOGIN alice secret\r\n")
}

// BenchmarkAuthenticatePlain is the same with AUTHENTICATE PLAIN and SASL-IR.
func BenchmarkAuthenticatePlain(b *testing.B) {
	benchDialogue(b, "A1 AUTHENTICATE PLAIN "+b64("\x00alice\x00secret")+"\r\n")
}

func benchDialogue(b *testing.B, cmd string) {
	opts := Options{Hostname: "proxy.test", AllowPlaintext: true}
	login := func(context.Context, Credentials, *State) (LoginResult, error) {
		return LoginResult{Capabilities: []string{"IMAP4rev1", "IDLE"}}, nil
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		cli, srv := net.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := Serve(ctx, srv, opts, login)
			done <- err
		}()
		r := bufio.NewReader(cli)
		if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* OK") {
			b.Fatalf("greeting %q %v", l, err)
		}
		if _, err := cli.Write([]byte(cmd)); err != nil {
			b.Fatal(err)
		}
		if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "A1 OK") {
			b.Fatalf("response %q %v", l, err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		cli.Close()
		srv.Close()
	}
}

// BenchmarkParse measures the parser alone on a LOGIN with literals.
func BenchmarkParse(b *testing.B) {
	in := []byte("A0001 LOGIN {5+}\r\nalice \"s3 \\\"cr\\\\et\"\r\n")
	br := bufio.NewReader(bytes.NewReader(in))
	p := newParser(br, 8192, 8192, func() error { return nil })
	var c command
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		br.Reset(bytes.NewReader(in))
		if err := p.readCommand(&c); err != nil {
			b.Fatal(err)
		}
	}
}
