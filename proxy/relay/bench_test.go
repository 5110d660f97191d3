package relay

import (
	"io"
	"testing"
)

// BenchmarkRelay: bytes/s of 64 MiB from the server peer to the client
// peer, through the engine and through a plain io.Copy relay (kernel
// splice, a goroutine per direction), side by side.
func BenchmarkRelay(b *testing.B) {
	const size = 64 << 20
	for _, name := range []string{"io.Copy", "engine"} {
		b.Run(name, func(b *testing.B) {
			cPeer, cIn := tcpPair(b)
			sIn, sPeer := tcpPair(b)
			if name == "engine" {
				e := New(Options{})
				b.Cleanup(func() { e.Close() })
				if err := e.Add(cIn, sIn, 0, func(Result) {}); err != nil {
					b.Fatal(err)
				}
			} else {
				go io.Copy(sIn, cIn)
				go io.Copy(cIn, sIn)
			}
			buf := make([]byte, 1<<20)
			errs := make(chan error, 1)
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				go func() {
					var err error
					for sent := 0; sent < size && err == nil; sent += len(buf) {
						_, err = sPeer.Write(buf)
					}
					errs <- err
				}()
				if _, err := io.CopyN(io.Discard, cPeer, size); err != nil {
					b.Fatal(err)
				}
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
