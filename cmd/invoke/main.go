// Command invoke runs the function once on this machine without Docker: it
// builds bootstrap as `sam build` does (for this machine's architecture),
// runs it under the AWS Lambda Runtime Interface Emulator (the one inside
// `sam local invoke`'s container), sends it an event and prints the
// function's log lines and its result. `make invoke` runs it:
//
//	make invoke EVENT=events/scheduled.json ENV=events/env.json
//	invoke -event events/scheduled.json -env events/env.json [-function HealthCheckFunction]
//
// The function's environment is the variables of the env file, the same
// file and structure `sam local invoke --env-vars` reads ({"Parameters":
// {...}} for every function, {"HealthCheckFunction": {...}} for this one,
// which wins), plus the caller's AWS variables: credentials, region,
// profile and AWS_ENDPOINT_URL. So it calls real AWS with the caller's
// credentials, or moto with AWS_ENDPOINT_URL=http://127.0.0.1:5000. The
// function reads its credentials and region from the environment only, as
// Lambda gives them (pkg/awsenv), so when neither the file nor the caller
// sets them, invoke resolves the caller's (a profile, SSO, ...) with the
// SDK's default chain and passes them on, as `sam local invoke` does.
//
// With -local (`make invoke-local`) it needs no AWS account: it starts
// moto_server and the fake portal (playing -scenario) on loopback, creates
// the secret (bound to the fake portal), the topic with a subscribed queue
// and the alert state table in moto, and runs the function against them
// with dummy credentials and region; the env file's other variables still
// apply. It then prints the notices the topic received.
//
// The emulator's own lines after the invocation (its shutdown, which the
// function reports as "failed to get the next invoke") are not printed.
//
// Exit status: 0 when the function returned a result, 2 when it returned
// an error, 1 when it could not run (bad flags, env file or event, or
// moto_server missing with -local).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

// localKey is the fake portal's key in a -local run; the function reads it
// from the secret in moto.
const localKey = "sk-local-fake"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// passedThrough are the caller's variables the function gets, as `sam
// local invoke` passes the caller's credentials and region.
var passedThrough = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
	"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL",
}

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	// The function's lines arrive on another goroutine.
	stderr = &syncWriter{w: stderr}
	// The function's lines reach stderr until the invocation is over.
	fnOut := &gate{w: stderr}
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	eventPath := fs.String("event", "events/scheduled.json", "the event (payload) file")
	envPath := fs.String("env", "events/env.json", "the environment file, as for sam local invoke --env-vars")
	function := fs.String("function", "HealthCheckFunction", "the function's logical ID in the env file")
	bootstrap := fs.String("bootstrap", "", "run this bootstrap instead of building ./functions/healthcheck")
	local := fs.Bool("local", false, "no AWS account: start moto_server and the fake portal, create the secret, topic and table there, dummy credentials and region")
	scenario := fs.String("scenario", string(fakeportal.Healthy), "with -local: the scenario the fake portal plays")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "invoke:", err)
		return 1
	}
	event, err := os.ReadFile(*eventPath)
	if err != nil {
		return fail(fmt.Errorf("event: %w", err))
	}
	if !json.Valid(event) {
		return fail(fmt.Errorf("event %s is not JSON", *eventPath))
	}
	raw, err := os.ReadFile(*envPath)
	if err != nil {
		return fail(fmt.Errorf("env file: %w", err))
	}
	if *local {
		// Not the caller's credentials, profile or endpoint: moto's.
		environ = nil
		if !fakeportal.Scenario(*scenario).Valid() {
			return fail(fmt.Errorf("unknown scenario %q; the scenarios are: %s", *scenario, scenarioList()))
		}
		// Before any build, which takes minutes on a fresh machine.
		if _, err := exec.LookPath("moto_server"); err != nil {
			return fail(motoserver.ErrNotInstalled)
		}
	}
	fnEnv, err := functionEnv(raw, *function, environ)
	if err != nil {
		return fail(fmt.Errorf("env file %s: %w", *envPath, err))
	}
	if !*local {
		if err := withCallerCredentials(ctx, fnEnv, loadCallerConfig); err != nil {
			return fail(err)
		}
	}

	root, err := localrun.ModuleRoot(ctx)
	if err != nil {
		return fail(err)
	}
	if *bootstrap == "" {
		dir, err := os.MkdirTemp("", "docspace-invoke-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		fmt.Fprintln(stderr, "invoke: building bootstrap (the Makefile's sam build recipe) for this machine...")
		if *bootstrap, err = localrun.BuildBootstrap(ctx, root, dir); err != nil {
			return fail(err)
		}
	} else if *bootstrap, err = filepath.Abs(*bootstrap); err != nil {
		return fail(err)
	}
	rie, err := localrun.RIEPath(ctx, root)
	if err != nil {
		return fail(err)
	}
	var stack *localrun.Stack
	if *local {
		var stop func()
		if stack, stop, err = startLocal(ctx, fakeportal.Scenario(*scenario), fnEnv, stderr); err != nil {
			return fail(err)
		}
		defer stop()
	}
	fn, err := localrun.StartFunction(ctx, rie, *bootstrap, fnEnv, fnOut)
	if err != nil {
		return fail(err)
	}
	defer fn.Close()
	timeout, _ := strconv.Atoi(fnEnv["AWS_LAMBDA_FUNCTION_TIMEOUT"])
	ictx, cancel := context.WithTimeout(ctx, time.Duration(max(timeout, 1)+10)*time.Second)
	defer cancel()
	inv, err := fn.Invoke(ictx, event)
	fnOut.close()
	if err != nil {
		return fail(err)
	}
	fmt.Fprintln(stderr, "invoke: START, END and REPORT are the emulator's lines; its Init Duration and Max Memory Used are not measurements of the function (bench/README.md)")
	var pretty bytes.Buffer
	if json.Indent(&pretty, inv.Response, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(inv.Response)
	}
	fmt.Fprintln(stdout, strings.TrimSpace(pretty.String()))
	if stack != nil {
		alerts, err := stack.Alerts(ctx, 0) // the run has returned: its notices are queued
		if err != nil {
			return fail(err)
		}
		printAlerts(stderr, alerts)
	}
	if inv.Failed {
		fmt.Fprintln(stderr, "invoke: the function returned an error")
		return 2
	}
	return 0
}

// startLocal starts moto_server and the fake portal playing scenario,
// creates the secret, topic, queue and table in moto, and points env at
// them. stop stops both.
func startLocal(ctx context.Context, scenario fakeportal.Scenario, env map[string]string, stderr io.Writer) (*localrun.Stack, func(), error) {
	moto, err := motoserver.Run(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	portal, err := fakeportal.New(localKey, fakeportal.Config{Scenario: scenario}, nil)
	if err != nil {
		moto.Close()
		return nil, nil, err
	}
	url, stopPortal, err := localrun.Serve(portal)
	if err != nil {
		moto.Close()
		return nil, nil, err
	}
	stop := func() { stopPortal(); moto.Close() }
	stack, err := localrun.CreateStack(ctx, motoserver.AWSConfig(moto.Endpoint), "local", localKey, localrun.BoundTo(url))
	if err != nil {
		stop()
		return nil, nil, err
	}
	for k, v := range stack.FunctionEnv(moto.Endpoint, url) {
		if k != "AWS_LAMBDA_FUNCTION_TIMEOUT" {
			env[k] = v
		}
	}
	fmt.Fprintf(stderr, "invoke: local run, no AWS account: the fake portal at %s plays %s; moto_server at %s holds the secret %s (bound to the fake portal), the topic %s (a queue subscribed) and the alert state table %s; credentials test/test, region us-east-1\n",
		url, scenario, moto.Endpoint, stack.SecretARN, stack.TopicARN, stack.StateTable)
	return stack, stop, nil
}

// scenarioList names the fake portal's scenarios.
func scenarioList() string {
	names := make([]string, len(fakeportal.Scenarios))
	for i, s := range fakeportal.Scenarios {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// printAlerts prints the notices a -local run's topic received.
func printAlerts(w io.Writer, alerts []localrun.Alert) {
	if len(alerts) == 0 {
		fmt.Fprintln(w, "invoke: notices the topic received: none")
		return
	}
	for _, a := range alerts {
		attrs, _ := json.Marshal(a.Attributes)
		fmt.Fprintf(w, "invoke: notice the topic received:\n  Subject: %s\n  Attributes: %s\n", a.Subject, attrs)
		for _, line := range strings.Split(strings.TrimRight(a.Message, "\n"), "\n") {
			fmt.Fprintln(w, "  | "+line)
		}
	}
}

// gate passes writes to w until it is closed, then drops them.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// functionEnv returns the function's environment: the variables the env
// file gives function, then those of the caller's environment (KEY=value
// lines) that are AWS credentials, region, profile or endpoint and that the
// file does not set, then the deployed function's timeout and memory size
// (template.yaml) unless the file sets them.
func functionEnv(raw []byte, function string, environ []string) (map[string]string, error) {
	env, err := envVars(raw, function)
	if err != nil {
		return nil, err
	}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !(slices.Contains(passedThrough, k) || strings.HasPrefix(k, "AWS_ENDPOINT_URL_")) {
			continue
		}
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	for k, v := range map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "90", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"} {
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	return env, nil
}

// loadCallerConfig is the caller's AWS configuration: the SDK's default
// chain over this process's environment and shared files.
func loadCallerConfig(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx)
}

// withCallerCredentials completes env with the credentials and the region
// of the caller's configuration (load) when env lacks them: the function
// takes them from its environment only, where Lambda puts them. It loads
// nothing when env has an access key, a secret key and a region. The
// error names the missing part, never a key.
func withCallerCredentials(ctx context.Context, env map[string]string, load func(context.Context) (aws.Config, error)) error {
	hasKeys := env["AWS_ACCESS_KEY_ID"] != "" && env["AWS_SECRET_ACCESS_KEY"] != ""
	hasRegion := env["AWS_REGION"] != "" || env["AWS_DEFAULT_REGION"] != ""
	if hasKeys && hasRegion {
		return nil
	}
	cfg, err := load(ctx)
	if err != nil {
		return fmt.Errorf("the function needs AWS credentials and a region; loading yours: %w", err)
	}
	if !hasRegion {
		if cfg.Region == "" {
			return errors.New("the function needs an AWS region: set AWS_REGION (or a region in your profile)")
		}
		env["AWS_REGION"] = cfg.Region
	}
	if !hasKeys {
		if cfg.Credentials == nil {
			return errors.New("the function needs AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return fmt.Errorf("the function needs AWS credentials; retrieving yours: %w", err)
		}
		env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = creds.AccessKeyID, creds.SecretAccessKey
		delete(env, "AWS_SESSION_TOKEN")
		if creds.SessionToken != "" {
			env["AWS_SESSION_TOKEN"] = creds.SessionToken
		}
	}
	return nil
}

// envVars returns the variables the env file gives function: those of
// "Parameters" (every function's), overridden by the function's own, as
// sam local invoke --env-vars reads them. Values must be strings, numbers
// or booleans.
func envVars(raw []byte, function string) (map[string]string, error) {
	var file map[string]map[string]any
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf(`want {"%s": {"NAME": "value", ...}}: %w`, function, err)
	}
	own, ok := file[function]
	if _, global := file["Parameters"]; !ok && !global {
		names := []string{}
		for k := range file {
			names = append(names, fmt.Sprintf("%q", k))
		}
		slices.Sort(names)
		return nil, fmt.Errorf("no %q or \"Parameters\" object (it has: %s)", function, strings.Join(names, ", "))
	}
	env := map[string]string{}
	for _, vars := range []map[string]any{file["Parameters"], own} {
		for k, v := range vars {
			switch v := v.(type) {
			case string:
				env[k] = v
			case float64:
				env[k] = strconv.FormatFloat(v, 'f', -1, 64)
			case bool:
				env[k] = strconv.FormatBool(v)
			default:
				return nil, fmt.Errorf("%s: want a string, number or boolean, got %T", k, v)
			}
		}
	}
	return env, nil
}
