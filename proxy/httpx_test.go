package proxy

import (
	"bytes"
	"net/http"
)

type respRecorder struct {
	buf *bytes.Buffer
	h   http.Header
}

func (r *respRecorder) Header() http.Header {
	if r.h == nil {
		r.h = http.Header{}
	}
	return r.h
}
func (r *respRecorder) Write(b []byte) (int, error) { return r.buf.Write(b) }
func (r *respRecorder) WriteHeader(int)             {}

func httpNewRequest(path string) (*http.Request, error) {
	return http.NewRequest("GET", path, nil)
}
