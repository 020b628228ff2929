package main

// The echo portal: a portal (or a proxy in front of one) that echoes the
// request's headers, Authorization included, into every field of every
// route, in every shape (right types, wrong types, error bodies, bare
// strings, HTML, cut JSON) and at every size. Whatever it does, no run of
// 8 or more characters of the key may reach any output: the log lines,
// the EMF lines, the verdicts the function returns, its error, and every
// part of every SNS message.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// echoModes is the number of shapes echoPortal plays.
const echoModes = 9

// echoPortal answers every route with the request's headers echoed into
// it, the echo repeated or cut to size bytes and starting at offset (so
// that the key is cut at every position), in the shape mode picks.
func echoPortal(size, offset, mode int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var hb strings.Builder
		_ = r.Header.Write(&hb)
		echo := hb.String() + r.URL.String()
		e := strings.Repeat(echo, (size+offset)/len(echo)+1)[offset : offset+size]
		q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
		date := q(e)
		if mode == 1 {
			date = `"2026-11-29T06:00:00"`
		}
		var resp string
		switch {
		case strings.HasSuffix(r.URL.Path, "getservicestate"):
			resp = `{"enabled":` + map[bool]string{true: "true", false: q(e)}[mode == 1] + `}`
		case strings.HasSuffix(r.URL.Path, "getbackupschedule"):
			resp = fmt.Sprintf(`{"storageType":2,"storageParams":{%s:%s},"cronParams":{"period":0,"hour":2,"day":0},"backupsStored":3,"lastBackupTime":%s,"dump":false}`, q(e), q(e), date)
		case strings.HasSuffix(r.URL.Path, "getbackuphistory"):
			resp = fmt.Sprintf(`[{"id":%s,"fileName":%s,"storageType":2,"createdOn":%s,"expiresOn":%s}]`, q(e), q(e), date, date)
		case strings.HasSuffix(r.URL.Path, "getbackupprogress"):
			resp = fmt.Sprintf(`{"isCompleted":true,"progress":100,"error":%s,"warning":%s,"link":%s,"tenantId":1,"backupProgressEnum":0,"status":2,"taskId":%s}`, q(e), q(e), q(e), q(e))
		case strings.HasSuffix(r.URL.Path, "settings"):
			resp = fmt.Sprintf(`{"standalone":false,"version":%s,"tenantStatus":0}`, q(e))
		default:
			resp = q(e)
		}
		oneLine := strings.NewReplacer("\r", " ", "\n", " ").Replace(e)
		switch mode {
		case 0, 1: // the right shape, strings echoed (mode 1: valid dates)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"response":%s,"count":1,"status":0,"statusCode":200}`, resp)
		case 2: // every member a string, whatever its type should be
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"response":{"enabled":%[1]s,"cronParams":%[1]s,"storageType":%[1]s,"status":%[1]s,"createdOn":%[1]s,"standalone":%[1]s},"status":0}`, q(e))
		case 3: // an error envelope, the status from the size
			status := []int{401, 402, 403, 404, 429, 500, 502}[size%7]
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":{"message":%s,"type":%s,"stack":%s},"status":1,"statusCode":%d}`, q(e), q(e), q(e), status)
		case 4: // a bare JSON string, as the IP restriction answers
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, q(e))
		case 5: // an HTML page, content type echoed
			w.Header().Set("Content-Type", "text/"+oneLine)
			fmt.Fprint(w, "<html>"+e+"</html>")
		case 6: // JSON cut in the middle of the echo
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"response":{"error":"`+e)
		case 7: // the echo in headers of an error without a body
			w.Header().Set("Content-Type", "application/"+oneLine)
			w.Header().Set("Retry-After", oneLine)
			w.WriteHeader(http.StatusTooManyRequests)
		case 8: // the echo as the whole body
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, e)
		}
	})
}

// pieceOf returns the first run of 8 characters of key found in s.
func pieceOf(s, key string) (string, bool) {
	for i := 0; i+8 <= len(key); i++ {
		if strings.Contains(s, key[i:i+8]) {
			return key[i : i+8], true
		}
	}
	return "", false
}

// runEcho checks one portal shape through the handler and fails the test
// if any output holds a piece of the key.
func runEcho(t *testing.T, size, offset, mode int) {
	t.Helper()
	srv := httptest.NewServer(echoPortal(size, offset, mode))
	defer srv.Close()
	vars := map[string]string{"PORTAL_URL": srv.URL, "SECRET_ID": "docspace/key", "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts", "ALLOW_INSECURE_HTTP": "true", "HTTP_TIMEOUT": "2s"}
	cfg, err := loadConfig(func(name string) string { return vars[name] })
	if err != nil {
		t.Fatal(err)
	}
	pub, logs, emf := &fakePublisher{}, &syncBuffer{}, &syncBuffer{}
	h := &handler{cfg: cfg, keys: fakeKeys{portal: srv.URL}, publisher: pub, logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), metrics: emf, now: time.Now,
		clientOptions: []docspace.Option{docspace.WithRetryPolicy(docspace.RetryPolicy{MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})}}
	out, herr := h.Handle(context.Background(), json.RawMessage(`{"portals":[{"portalUrl":"`+srv.URL+`/p/x","secretId":"docspace/key"}]}`))
	outJSON, _ := json.Marshal(out)
	places := map[string]string{"logs": logs.String(), "EMF lines": emf.String(), "verdicts": string(outJSON)}
	if herr != nil {
		places["error"] = herr.Error()
	}
	pub.mu.Lock()
	for i, in := range pub.inputs {
		b, _ := json.Marshal(in.MessageAttributes)
		places[fmt.Sprintf("SNS message %d", i)] = aws.ToString(in.Subject) + "\n" + aws.ToString(in.Message) + "\n" + string(b)
	}
	pub.mu.Unlock()
	for where, text := range places {
		if p, ok := pieceOf(text, testKey); ok {
			t.Fatalf("size %d, offset %d, mode %d: the %s hold %q of the key:\n%.2000s", size, offset, mode, where, p, text)
		}
	}
	if len(out.Verdicts) == 0 && herr == nil {
		t.Fatalf("size %d, mode %d: no verdict and no error", size, mode)
	}
}

// TestEchoPortalLeaksNoKey walks sizes from nothing to more than the
// client reads, cutting the echo at every position of the key near the
// edges where texts are cut (quoted values, error texts), in every shape.
// FuzzEchoPortal explores further in make test.
func TestEchoPortalLeaksNoKey(t *testing.T) {
	sizes := []int{0, 1, 8, 9, 41, 299, 301, 1000, 70_000}
	for mode := range echoModes {
		for _, size := range sizes {
			runEcho(t, size, 0, mode)
		}
		for offset := 0; offset < len(testKey)+len("Authorization: Bearer "); offset += 4 {
			runEcho(t, 300+offset%7, offset, mode)
		}
	}
	// Larger than the client reads, and a value of 600 KB.
	runEcho(t, docspace.MaxBodyBytes+10, 0, 0)
	runEcho(t, 600_000, 5, 1)
	runEcho(t, 600_000, 9, 3)
}

// FuzzEchoPortal lets the fuzzer pick the size, the cut and the shape;
// make test runs it for a bounded time.
func FuzzEchoPortal(f *testing.F) {
	f.Add(uint32(40), uint16(3), uint8(0))
	f.Add(uint32(300), uint16(17), uint8(3))
	f.Add(uint32(5000), uint16(0), uint8(6))
	f.Fuzz(func(t *testing.T, size uint32, offset uint16, mode uint8) {
		runEcho(t, int(size%(docspace.MaxBodyBytes+100)), int(offset)%256, int(mode)%echoModes)
	})
}
