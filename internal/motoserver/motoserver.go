// Package motoserver starts a moto_server AWS emulator on loopback for
// integration tests, the demo and the benchmarks. Outside CI a missing
// moto_server skips a test; in CI (CI set) it fails it.
//
// A test package whose TestMain calls [Main] shares one server between its
// tests. [StartSerialized] puts a proxy in front that forwards one request
// at a time, for tests that rely on conditional writes under concurrent
// requests (moto does not make them atomic).
package motoserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// ErrNotInstalled means moto_server is not on PATH.
var ErrNotInstalled = errors.New("moto_server is not on PATH (install it with: pip install 'moto[server]')")

// Server is a running moto_server.
type Server struct {
	// Endpoint is the server's URL, for AWS_ENDPOINT_URL.
	Endpoint string
	cmd      *exec.Cmd
}

// Run starts moto_server on a free loopback port and waits until it
// answers. Its own output goes to logs (nil discards it).
func Run(ctx context.Context, logs io.Writer) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if resp, err := http.Get(s.Endpoint + "/moto-api/"); err == nil {
			resp.Body.Close()
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Close()
	return nil, fmt.Errorf("moto_server did not answer at %s within 30s", s.Endpoint)
}

// Close stops the server.
func (s *Server) Close() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// shared is the package's moto_server when the tests run under [Main].
var shared struct {
	sync.Mutex
	active  bool // Main is running the tests
	started bool
	server  *Server
	err     error
}

// Main runs a test package's tests with one moto_server that every [Start]
// and [StartSerialized] of the package shares, started by the first test
// that asks for it (a run of other tests starts none) and stopped when the
// tests end; then it exits with the tests' status. Call it from TestMain:
//
//	func TestMain(m *testing.M) { motoserver.Main(m) }
//
// Starting moto_server and its first request to each service take about a
// second each; a package whose tests each started their own spent most of
// its time there. The tests then share moto's state: each must create its
// resources under names of its own (also across -count runs).
func Main(m *testing.M) {
	shared.Lock()
	shared.active = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	if shared.server != nil {
		shared.server.Close()
	}
	shared.Unlock()
	os.Exit(code)
}

// endpoint returns the shared server's endpoint under Main, or starts a
// server for t alone.
func endpoint(t testing.TB) (string, error) {
	shared.Lock()
	defer shared.Unlock()
	if !shared.active {
		s, err := Run(context.Background(), nil)
		if err != nil {
			return "", err
		}
		t.Cleanup(s.Close)
		return s.Endpoint, nil
	}
	if !shared.started {
		shared.started = true
		shared.server, shared.err = Run(context.Background(), nil)
	}
	if shared.err != nil {
		return "", shared.err
	}
	return shared.server.Endpoint, nil
}

// Start returns the endpoint URL of a moto_server for the test: the
// package's shared one when its TestMain calls [Main], otherwise one
// started for this test and stopped when it ends. Outside CI a missing
// moto_server skips the test; in CI it fails it.
func Start(t testing.TB) string {
	t.Helper()
	url, err := endpoint(t)
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("moto_server: %v (CI needs it)", err)
	}
	return url
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// AWSConfig returns an SDK config pointed at endpoint with test credentials.
func AWSConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}
