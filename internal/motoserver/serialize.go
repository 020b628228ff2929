package motoserver

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Serializer is a reverse proxy in front of moto_server that forwards one
// request at a time. moto's DynamoDB does not make a conditional write
// atomic when requests arrive at once (two PutItems conditional on the same
// version can both succeed), so a test of overlapping runs against plain
// moto is flaky by construction; through a Serializer every request is
// handled by moto alone, as DynamoDB's conditional writes are.
//
// The Host header reaches moto unchanged, so a SigV4 signature made for
// the proxy's address stays valid. An SQS ReceiveMessage passes without
// waiting its turn: a long poll would otherwise hold every other request,
// including the publish it waits for.
type Serializer struct {
	// URL is the proxy's base URL, for AWS_ENDPOINT_URL or [AWSConfig].
	URL string

	srv     *http.Server
	turn    sync.Mutex
	waiting atomic.Int32 // requests that found the line taken and wait (for tests)
}

// Serialize starts a Serializer on a free loopback port in front of the
// moto_server at endpoint. Close stops it. It returns an error when
// endpoint is not an http(s) URL or no port is free.
func Serialize(endpoint string) (*Serializer, error) {
	target, err := url.Parse(endpoint)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return nil, fmt.Errorf("serialize: endpoint %q is not an http(s) URL", endpoint)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serialize: listen: %w", err)
	}
	s := &Serializer{URL: "http://" + l.Addr().String()}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// SetURL sets the Host header to moto's address; the client
			// signed the proxy's address (the host header is part of
			// every SigV4 signature), so keep it.
			r.Out.Host = r.In.Host
		},
	}
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !isReceiveMessage(r) {
				if !s.turn.TryLock() {
					s.waiting.Add(1)
					s.turn.Lock()
					s.waiting.Add(-1)
				}
				defer s.turn.Unlock()
			}
			proxy.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// isReceiveMessage reports whether r is an SQS ReceiveMessage, in the JSON
// protocol the SDK uses or in the older query protocol's URL.
func isReceiveMessage(r *http.Request) bool {
	return r.Header.Get("X-Amz-Target") == "AmazonSQS.ReceiveMessage" || r.URL.Query().Get("Action") == "ReceiveMessage"
}

// Close stops the proxy and closes its connections.
func (s *Serializer) Close() { _ = s.srv.Close() }

// StartSerialized returns the endpoint URL of a [Serializer], stopped when
// the test ends, in front of the moto_server of [Start]. Use it in every
// test that relies on conditional writes under concurrent requests. With a
// shared server (see [Main]) only the requests through this proxy wait for
// each other; the other tests' requests go to moto directly, on resources
// of their own.
func StartSerialized(t testing.TB) string {
	t.Helper()
	s, err := Serialize(Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s.URL
}
