package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	f, err := os.Open("testdata/run.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	s, err := read(f, &out)
	if err != nil {
		t.Fatalf("read() error = %v", err)
	}
	s.printSkips(&out)
	s.printSlowest(&out, 2)
	got := out.String()
	if !s.failed {
		t.Error("read() of a stream with a failing test: failed = false, want true")
	}
	for _, want := range []string{
		"FAIL\texample.com/m/a\t3.6s\n",
		"ok  \texample.com/m/b\t9.3s\n",
		`a_test.go:20: Check("x") = 1, want 2`,
		"--- FAIL: TestBad (3.00s)",
		"a TestMoto: moto_test.go:5: moto_server is not on PATH",
		"     9.30s  example.com/m/b\n",
		"     9.25s  example.com/m/b TestSlow\n     3.00s  example.com/m/a TestBad\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	for _, notWant := range []string{"quiet detail of a passing test", "=== RUN", "TestOK\n     "} {
		if strings.Contains(got, notWant) {
			t.Errorf("report holds %q:\n%s", notWant, got)
		}
	}
}

func TestReadPassing(t *testing.T) {
	in := `{"Action":"pass","Package":"example.com/m/b","Test":"TestX","Elapsed":1}
{"Action":"pass","Package":"example.com/m/b","Elapsed":1}
`
	s, err := read(strings.NewReader(in), &bytes.Buffer{})
	if err != nil || s.failed {
		t.Errorf("read() = failed %v, %v; want a pass", s.failed, err)
	}
}

func TestReadBuildFailure(t *testing.T) {
	in := `{"ImportPath":"example.com/m/c","Action":"build-output","Output":"c.go:3:1: syntax error\n"}
{"ImportPath":"example.com/m/c","Action":"build-fail"}
{"Action":"output","Package":"example.com/m/c","Output":"FAIL\texample.com/m/c [build failed]\n"}
{"Action":"fail","Package":"example.com/m/c","Elapsed":0}
`
	var out bytes.Buffer
	s, err := read(strings.NewReader(in), &out)
	if err != nil || !s.failed || !strings.Contains(out.String(), "syntax error") {
		t.Errorf("read() = failed %v, %v, output %q; want the build error and a failure", s.failed, err, out.String())
	}
}

func TestReadNotJSON(t *testing.T) {
	if _, err := read(strings.NewReader("ok  \tx\t1s\n"), &bytes.Buffer{}); err == nil {
		t.Error("read() of plain go test output: error = nil, want one (run go test -json)")
	}
}
