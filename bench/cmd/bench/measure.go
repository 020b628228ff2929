package main

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// countingProxy forwards every request to an AWS endpoint (moto_server) and
// counts them by operation: the X-Amz-Target header of the JSON protocols
// ("secretsmanager.GetSecretValue"), or the Action form field of the query
// protocols ("Action=Publish"). It also measures how long moto is busy
// (Busy): the wall time with at least one request in flight, moto's share
// of a figure, which real AWS would replace with its own latency.
type countingProxy struct {
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	count map[string]int
	// inFlight requests since the last time there were none; busy is the
	// wall time with some in flight before since.
	inFlight int
	since    time.Time
	busy     time.Duration
}

func newCountingProxy(target string) (*countingProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("proxy target: %w", err)
	}
	return &countingProxy{proxy: httputil.NewSingleHostReverseProxy(u), count: map[string]int{}}, nil
}

func (p *countingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	if op == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err == nil && r.PostForm.Get("Action") != "" {
			op = "Action=" + r.PostForm.Get("Action")
			body := r.PostForm.Encode()
			r.Body = readCloser{strings.NewReader(body)}
			r.ContentLength = int64(len(body))
		}
	}
	if op == "" {
		op = r.Method + " " + r.URL.Path
	}
	p.mu.Lock()
	p.count[op]++
	if p.inFlight == 0 {
		p.since = time.Now()
	}
	p.inFlight++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.inFlight--; p.inFlight == 0 {
			p.busy += time.Since(p.since)
		}
	}()
	p.proxy.ServeHTTP(w, r)
}

// Busy returns the wall time so far during which at least one request was
// in flight (requests that overlap count once).
func (p *countingProxy) Busy() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inFlight > 0 {
		return p.busy + time.Since(p.since)
	}
	return p.busy
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

// Count returns how many requests of operation op went through.
func (p *countingProxy) Count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count[op]
}

// children returns the ids of pid's child processes.
func children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// bootstrapPID finds the function process: the emulator's child whose
// command is bootstrap. It returns 0 when there is none (before the first
// invoke the emulator has not started it).
func bootstrapPID(emulatorPID int) int {
	for _, c := range children(emulatorPID) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c))
		if err == nil && strings.TrimSpace(string(b)) == "bootstrap" {
			return c
		}
	}
	return 0
}

// statusKB returns a "kB" field of /proc/pid/status, such as VmHWM (the
// peak resident set size) or VmRSS.
func statusKB(pid int, field string) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", field, pid)
}

// procRun is one whole process run: wall time from start to exit and the
// peak resident set size from the kernel's rusage.
type procRun struct {
	Wall     time.Duration
	MaxRSSKB int64
	Output   string
	// SMCalls and PortalCalls are the GetSecretValue calls counted at the
	// proxy and the requests the fake portal served during the run.
	SMCalls, PortalCalls int
}

// runProcess runs cmd to its end and measures it.
func runProcess(cmd *exec.Cmd) (procRun, error) {
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := procRun{Wall: time.Since(start), Output: out.String()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.MaxRSSKB = ru.Maxrss // kilobytes on Linux
		}
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, r.Output)
	}
	return r, nil
}

// median returns the median of xs, 0 for none.
func median[T int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
