package localrun

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
)

// Function is bootstrap running under the Runtime Interface Emulator.
type Function struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	// scanned is closed when every output line has been read.
	scanned chan struct{}

	mu    sync.Mutex
	lines []string
	// changed is closed, and replaced, whenever a line arrives.
	changed chan struct{}
	tee     io.Writer
}

// StartFunction runs rie with bootstrap on a free loopback port. env is
// the whole environment of the function (nothing is inherited but PATH and
// HOME; a race-enabled caller adds GORACE=halt_on_error=1, so that a data
// race in a race-built bootstrap ends its invocation with an error). Every
// output line is also written to tee when it is not nil.
//
// The emulator's two ports are picked free just before it starts; should
// another process take one in between, the emulator exits at once and
// StartFunction tries again with new ports (up to 3 times).
func StartFunction(ctx context.Context, rie, bootstrap string, env map[string]string, tee io.Writer) (*Function, error) {
	var err error
	for range 3 {
		var f *Function
		if f, err = startFunction(ctx, rie, bootstrap, env, tee); !errors.Is(err, errExitedAtStart) {
			return f, err
		}
	}
	return nil, err
}

// errExitedAtStart is the emulator exiting before it listened.
var errExitedAtStart = errors.New("the emulator exited at start")

func startFunction(ctx context.Context, rie, bootstrap string, env map[string]string, tee io.Writer) (*Function, error) {
	port, err := motoserver.FreePort()
	if err != nil {
		return nil, err
	}
	// The emulator's own Runtime API defaults to 127.0.0.1:9001; a free
	// port lets several emulators (tests, the demo, benchmarks) run at once.
	apiPort, err := motoserver.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), bootstrap)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if raceEnabled {
		cmd.Env = append(cmd.Env, "GORACE=halt_on_error=1")
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// Its own process group, so that Close stops bootstrap (the emulator's
	// child) with it instead of leaving it to fail on its own.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	f := &Function{url: "http://" + addr + "/2015-03-31/functions/function/invocations", cmd: cmd, done: make(chan struct{}), scanned: make(chan struct{}), changed: make(chan struct{}), tee: tee}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", rie, err)
	}
	go func() {
		defer close(f.scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			f.mu.Lock()
			f.lines = append(f.lines, sc.Text())
			close(f.changed)
			f.changed = make(chan struct{})
			if f.tee != nil {
				fmt.Fprintln(f.tee, sc.Text())
			}
			f.mu.Unlock()
		}
		// A line too long for the scanner ends it: drain the rest, so that
		// the processes never block on a full pipe.
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() { _ = cmd.Wait(); pw.Close(); close(f.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-f.done:
			<-f.scanned
			return nil, fmt.Errorf("%w:\n%s", errExitedAtStart, strings.Join(f.Lines(), "\n"))
		default:
		}
		if c, err := (&http.Client{Timeout: time.Second}).Get("http://" + addr + "/"); err == nil {
			c.Body.Close()
			return f, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.Close()
	return nil, fmt.Errorf("the emulator did not listen on %s", addr)
}

// PID returns the emulator's process id (bootstrap is its child).
func (f *Function) PID() int { return f.cmd.Process.Pid }

// Lines returns every output line so far: the function's logs and the
// emulator's START, END and REPORT lines.
func (f *Function) Lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

// Close stops the emulator and the function, and returns once their last
// output line has been read (and written to tee).
func (f *Function) Close() {
	_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
	<-f.done
	<-f.scanned
}

// Invocation is the outcome of one invoke.
type Invocation struct {
	// Response is the function's result, or its error document.
	Response []byte
	// Failed is true when the function returned an error.
	Failed bool
	// Logs are the lines printed during the invocation.
	Logs []string
	// Report is the emulator's REPORT line, parsed.
	Report Report
	// Responded is when the result arrived, before Invoke waited for the
	// REPORT line: the end of a wall time measured around Invoke.
	Responded time.Time
	// InitReportMs is the durationMs of the emulator's INIT REPORT line:
	// from the start of bootstrap to its first request for an event, the
	// Init phase as Lambda reports (and bills) it; 0 on a warm invoke. The
	// emulator logs it at its INFO level (LOG_LEVEL of its environment).
	InitReportMs float64
}

// Report holds the figures of a REPORT line, in milliseconds.
type Report struct {
	InitMs     float64
	DurationMs float64
	Raw        string
}

var (
	initReport     = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)`)
	reportInit     = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)
	reportDuration = regexp.MustCompile(`\tDuration: ([0-9.]+) ms|^REPORT RequestId: \S+\s+Duration: ([0-9.]+) ms`)
)

func parseReport(line string) Report {
	r := Report{Raw: line}
	if m := reportInit.FindStringSubmatch(line); m != nil {
		r.InitMs, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reportDuration.FindStringSubmatch(line); m != nil {
		v := m[1]
		if v == "" {
			v = m[2]
		}
		r.DurationMs, _ = strconv.ParseFloat(v, 64)
	}
	return r
}

// parseInitReport returns the durationMs of the INIT REPORT line among
// lines, and whether there is one.
func parseInitReport(lines []string) (float64, bool) {
	for _, l := range lines {
		if m := initReport.FindStringSubmatch(l); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

// Invoke sends payload and waits for the result and the REPORT line,
// woken by each new line rather than polling for it.
func (f *Function) Invoke(ctx context.Context, payload []byte) (Invocation, error) {
	mark := len(f.Lines())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		return Invocation{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Invocation{}, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Invocation{}, fmt.Errorf("invoke: read result: %w", err)
	}
	inv := Invocation{Response: body, Responded: time.Now(), Failed: resp.Header.Get("X-Amz-Function-Error") != "" || bytes.HasPrefix(bytes.TrimSpace(body), []byte(`{"errorMessage"`))}
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	ended := false
	for {
		f.mu.Lock()
		lines, changed := append([]string(nil), f.lines[mark:]...), f.changed
		f.mu.Unlock()
		for _, l := range lines {
			if strings.HasPrefix(l, "REPORT RequestId:") {
				inv.Logs, inv.Report = lines, parseReport(l)
				inv.InitReportMs, _ = parseInitReport(lines)
				return inv, nil
			}
		}
		if ended {
			inv.Logs = lines
			return inv, errors.New("invoke: the emulator ended without a REPORT line")
		}
		select {
		case <-changed:
		case <-f.scanned:
			ended = true // one more look at the last lines
		case <-timeout.C:
			inv.Logs = lines
			return inv, errors.New("invoke: no REPORT line from the emulator")
		case <-ctx.Done():
			inv.Logs = lines
			return inv, fmt.Errorf("invoke: waiting for the REPORT line: %w", ctx.Err())
		}
	}
}
