// Package motoserver starts a moto_server AWS emulator on loopback for
// integration tests, the demo and the benchmarks. Outside CI a missing
// moto_server skips a test; in CI (CI set) it fails it.
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

// Start runs moto_server until the test ends and returns its endpoint URL.
func Start(t testing.TB) string {
	t.Helper()
	s, err := Run(context.Background(), nil)
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("moto_server: %v (CI needs it)", err)
	}
	t.Cleanup(s.Close)
	return s.Endpoint
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
