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
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
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

// Run starts moto_server on a loopback port it picks itself (port 0, so
// that no other process can take the port between a choice and the bind)
// and returns once it listens. Its own output goes to logs (nil discards
// it).
func Run(ctx context.Context, logs io.Writer) (*Server, error) {
	return run(ctx, logs, nil)
}

// RunTrusting starts moto_server as Run does, with the CA certificates in
// the PEM file caFile as the only ones it trusts for the HTTPS requests it
// makes itself: SNS deliveries to https subscribers, which moto posts with
// Python's requests, verifying the certificate (REQUESTS_CA_BUNDLE).
func RunTrusting(ctx context.Context, logs io.Writer, caFile string) (*Server, error) {
	return run(ctx, logs, []string{"REQUESTS_CA_BUNDLE=" + caFile})
}

func run(ctx context.Context, logs io.Writer, env []string) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	if logs == nil {
		logs = io.Discard
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	cmd.Stdout = logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	s := &Server{cmd: cmd}
	// werkzeug says where it listens: " * Running on http://127.0.0.1:PORT".
	found := make(chan string, 1)
	var early []string
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logs, line)
			if m := runningOn.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			} else if len(early) < 20 {
				early = append(early, line)
			}
		}
		close(found)
		_, _ = io.Copy(logs, out)
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case endpoint, ok := <-found:
		if ok {
			s.Endpoint = endpoint
			return s, nil
		}
		s.Close()
		return nil, fmt.Errorf("moto_server exited before it listened:\n%s", strings.Join(early, "\n"))
	case <-timer.C:
		s.Close()
		return nil, errors.New("moto_server did not listen within 30s")
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
}

var runningOn = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

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

// StartTrusting returns the endpoint URL of a moto_server of the test's
// own (see RunTrusting) that trusts the CA certificates in the PEM file
// caFile for its deliveries to https subscribers; it stops when the test
// ends. Outside CI a missing moto_server skips the test; in CI it fails it.
func StartTrusting(t testing.TB, caFile string) string {
	t.Helper()
	s, err := RunTrusting(context.Background(), nil, caFile)
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
