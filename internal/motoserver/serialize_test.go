package motoserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func serialize(t *testing.T, backend http.Handler) *Serializer {
	t.Helper()
	srv := httptest.NewServer(backend)
	t.Cleanup(srv.Close)
	s, err := Serialize(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestSerializeOneAtATime holds a first request at the backend and sends a
// second: the second must wait at the proxy, not reach the backend, until
// the first is answered.
func TestSerializeOneAtATime(t *testing.T) {
	var inflight, most atomic.Int32
	firstIn, release, overlap := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var overlapOnce sync.Once
	s := serialize(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		if n > most.Load() {
			most.Store(n)
		}
		if n > 1 {
			overlapOnce.Do(func() { close(overlap) })
		}
		if r.URL.Path == "/first" {
			close(firstIn)
			select {
			case <-release:
			case <-overlap:
			}
		}
		io.WriteString(w, r.URL.Path)
	}))

	get := func(path string, done chan<- string) {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Errorf("GET %s error = %v", path, err)
			done <- ""
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}
	first, second := make(chan string, 1), make(chan string, 1)
	go get("/first", first)
	<-firstIn
	go get("/second", second)
	// Wait until the second request waits for its turn, or reached the
	// backend while the first was there (the failure).
wait:
	for s.waiting.Load() == 0 {
		select {
		case <-overlap:
			t.Error("the second request reached the backend while the first was still there")
			break wait
		default:
			runtime.Gosched()
		}
	}
	close(release)
	if got := <-first; got != "/first" {
		t.Errorf("first response = %q, want /first", got)
	}
	if got := <-second; got != "/second" {
		t.Errorf("second response = %q, want /second", got)
	}
	if m := most.Load(); m != 1 {
		t.Errorf("requests at the backend at once = %d, want 1", m)
	}
}

// TestSerializeKeepsSigV4 signs a request for the proxy's address, as the
// SDK does with AWS_ENDPOINT_URL pointing at the proxy, and checks at the
// backend that the signature still verifies with the Host it received.
func TestSerializeKeepsSigV4(t *testing.T) {
	const body = `{"TableName":"t"}`
	hash := sha256.Sum256([]byte(body))
	payloadHash := hex.EncodeToString(hash[:])
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	verified := make(chan string, 1)
	s := serialize(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil {
			verified <- "bad X-Amz-Date: " + err.Error()
			return
		}
		// Re-sign what arrived, with only the headers the client signed.
		check, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), strings.NewReader(body))
		check.Host = r.Host
		for _, h := range []string{"Content-Type", "X-Amz-Target"} {
			check.Header.Set(h, r.Header.Get(h))
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, check, payloadHash, "dynamodb", "us-east-1", signedAt); err != nil {
			verified <- err.Error()
			return
		}
		if want := check.Header.Get("Authorization"); got != want {
			verified <- "signature mismatch at host " + r.Host + ":\n got " + got + "\nwant " + want
			return
		}
		verified <- ""
	}))

	req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.DescribeTable")
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, "dynamodb", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if msg := <-verified; msg != "" {
		t.Error(msg)
	}
}

func TestSerializeRejectsBadEndpoint(t *testing.T) {
	for _, endpoint := range []string{"", "127.0.0.1:5000", "ftp://127.0.0.1/", "http://"} {
		if s, err := Serialize(endpoint); err == nil {
			s.Close()
			t.Errorf("Serialize(%q) error = nil, want an error", endpoint)
		}
	}
}

// TestSerializedReceiveMessagePasses checks that an SQS long poll does not
// hold the line: a request sent while a ReceiveMessage waits at the
// backend still gets through.
func TestSerializedReceiveMessagePasses(t *testing.T) {
	release := make(chan struct{})
	pollIn := make(chan struct{})
	s := serialize(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == "AmazonSQS.ReceiveMessage" {
			close(pollIn)
			<-release
		}
		io.WriteString(w, "{}")
	}))
	poll := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", "AmazonSQS.ReceiveMessage")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		poll <- err
	}()
	<-pollIn
	published := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", "AmazonSNS.Publish")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		published <- err
	}()
	// The publish either gets through or waits for its turn behind the poll.
	for done := false; !done; {
		select {
		case err := <-published:
			if err != nil {
				t.Errorf("a publish during a long poll: error = %v", err)
			}
			done = true
		default:
			if s.waiting.Load() > 0 {
				t.Error("a publish waited for a ReceiveMessage to end")
				close(release)
				<-published
				<-poll
				return
			}
			runtime.Gosched()
		}
	}
	close(release)
	if err := <-poll; err != nil {
		t.Errorf("ReceiveMessage error = %v", err)
	}
}

// TestSerializedConditionalWrites races conditional PutItems that create
// the same item: through the proxy exactly one of them succeeds, as on
// DynamoDB (plain moto sometimes lets several through).
func TestSerializedConditionalWrites(t *testing.T) {
	client := dynamodb.NewFromConfig(AWSConfig(StartSerialized(t)))
	ctx := context.Background()
	table := fmt.Sprintf("race-%d", time.Now().UnixNano())
	if _, err := client.CreateTable(ctx, createTableInput(table)); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		const writers = 8
		var ok atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() {
				<-start
				if _, err := client.PutItem(ctx, conditionalPut(table, round, i)); err == nil {
					ok.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := ok.Load(); n != 1 {
			t.Errorf("round %d: %d of %d racing conditional PutItems succeeded, want 1", round, n, writers)
		}
	}
}
