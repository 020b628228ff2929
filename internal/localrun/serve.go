package localrun

import (
	"net"
	"net/http"
	"time"
)

// Serve serves h on a free loopback port until close is called, and
// returns its base URL.
func Serve(h http.Handler) (url string, close func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() { _ = srv.Close() }, nil
}
