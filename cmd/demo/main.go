// Command demo runs the whole check locally, without AWS or Docker: it
// builds bootstrap, starts a fake DocSpace portal and moto_server on
// loopback, creates the secret, the topic and a queue subscribed to it,
// runs bootstrap under the AWS Lambda Runtime Interface Emulator, invokes
// it for several portals, and prints the function's log lines and the
// alerts that reached the queue, and once the JSON that a chat channel or
// a webhook (an http subscriber) receives. `make demo` runs it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

// demoKey is the fake portal's key; it is stored in moto's Secrets Manager
// and must never appear in the output.
const demoKey = "sk-demo-0000-not-a-real-key"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// step is one invocation of the demo.
type step struct {
	title   string
	explain string
	// before sets the portal up for the step.
	before func(p *fakeportal.Portal) error
	// payload builds the event from the fake portal's URL.
	payload func(portalURL string) (string, error)
}

func scheduledEvent(root string) func(string) (string, error) {
	return func(string) (string, error) {
		b, err := os.ReadFile(filepath.Join(root, "events", "scheduled.json"))
		return string(b), err
	}
}

func portalInput(scenario fakeportal.Scenario) func(string) (string, error) {
	return func(portalURL string) (string, error) {
		// The demo's secret is bound to the fake portal's base URL, so its
		// key may go to every /p/{name} portal served there.
		return fmt.Sprintf(`{"portalUrl":%q,"secretId":"demo/api-key"}`, portalURL+"/p/"+string(scenario)), nil
	}
}

func setScenario(s fakeportal.Scenario) func(p *fakeportal.Portal) error {
	return func(p *fakeportal.Portal) error { return p.SetConfig(fakeportal.Config{Scenario: s}) }
}

func steps(root string) []step {
	return []step{
		{title: "a healthy portal", explain: "the EventBridge Scheduler event of events/scheduled.json; the portal of PORTAL_URL answers enabled: true, has a daily schedule and a backup 3 h old", payload: scheduledEvent(root)},
		{title: "an inactive backup service", explain: `custom input {"portalUrl": ".../p/inactive", "secretId": "demo/api-key"}: the portal answers enabled: false (a warning)`, payload: portalInput(fakeportal.Inactive)},
		{title: "a key without permission (403)", explain: `custom input {"portalUrl": ".../p/forbidden", "secretId": "demo/api-key"}: the portal answers 403 Access denied, with a stack trace the alert must not carry`, payload: portalInput(fakeportal.Forbidden)},
		{title: "backups stopped: the newest is 5 days old", explain: "the portal of PORTAL_URL still says enabled: true and keeps its daily schedule, but its history ends 5 days ago", before: setScenario(fakeportal.Stale), payload: scheduledEvent(root)},
		{title: "still stale, at the next scheduled run", explain: "run at once here (deployed, the schedule runs it 15 minutes later): the alert state in DynamoDB knows the alert went out, so no duplicate (a reminder follows after REMIND_EVERY, 24 h)", payload: scheduledEvent(root)},
		{title: "backups run again", explain: "a fresh backup appears in the history: the function sends a resolved notice", before: setScenario(fakeportal.Healthy), payload: scheduledEvent(root)},
	}
}

func run(ctx context.Context, out io.Writer) error {
	root, err := localrun.ModuleRoot(ctx)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "docspace-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(out, "Building bootstrap and the Lambda Runtime Interface Emulator (seconds; on a fresh machine Go first downloads the modules and builds both, a few minutes)...")
	bootstrap, err := localrun.BuildBootstrap(ctx, root, dir)
	if err != nil {
		return err
	}
	rie, err := localrun.RIEPath(ctx, root)
	if err != nil {
		return err
	}
	moto, err := motoserver.Run(ctx, nil)
	if err != nil {
		return err
	}
	defer moto.Close()
	portal, err := fakeportal.New(demoKey, fakeportal.Config{}, nil)
	if err != nil {
		return err
	}
	portalURL, stopPortal, err := localrun.Serve(portal)
	if err != nil {
		return err
	}
	defer stopPortal()
	stack, err := localrun.CreateStack(ctx, motoserver.AWSConfig(moto.Endpoint), "demo", demoKey, localrun.BoundTo(portalURL))
	if err != nil {
		return err
	}
	hook := &webhook{}
	hookURL, stopHook, err := localrun.Serve(hook)
	if err != nil {
		return err
	}
	defer stopHook()
	if _, err := sns.NewFromConfig(motoserver.AWSConfig(moto.Endpoint)).Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(stack.TopicARN), Protocol: aws.String("http"), Endpoint: aws.String(hookURL + "/hook"),
	}); err != nil {
		return fmt.Errorf("subscribe the webhook: %w", err)
	}
	fnEnv := stack.FunctionEnv(moto.Endpoint, portalURL)
	fnEnv["HTTP_TIMEOUT"] = "2s"
	fn, err := localrun.StartFunction(ctx, rie, bootstrap, fnEnv, nil)
	if err != nil {
		return err
	}
	defer fn.Close()
	fmt.Fprintf(out, "\nFake DocSpace portal: %s\nmoto_server (Secrets Manager, SNS, SQS, DynamoDB): %s\nSecret: %s\nTopic:  %s (an SQS queue and a webhook are subscribed)\nAlert state table: %s\n",
		portalURL, moto.Endpoint, stack.SecretARN, stack.TopicARN, stack.StateTable)

	shownChat := false
	for i, s := range steps(root) {
		fmt.Fprintf(out, "\n=== %d. %s ===\n%s\n", i+1, s.title, s.explain)
		if s.before != nil {
			if err := s.before(portal); err != nil {
				return err
			}
		}
		payload, err := s.payload(portalURL)
		if err != nil {
			return err
		}
		inv, err := fn.Invoke(ctx, []byte(payload))
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "\nFunction log (its CloudWatch EMF metrics lines left out):")
		for _, line := range inv.Logs {
			if strings.HasPrefix(line, "{") && !strings.Contains(line, `"_aws"`) {
				fmt.Fprintln(out, "  "+strings.TrimSpace(line))
			}
		}
		if inv.Report.Raw != "" {
			fmt.Fprintf(out, "Emulator's REPORT line (its own figures: the memory size and Max Memory Used are the emulator's setting, not the function's use, and Init Duration times only its dispatch; bench/ measures the function):\n  %s\n", strings.TrimSpace(inv.Report.Raw))
		}
		if inv.Failed {
			fmt.Fprintf(out, "\nThe invocation FAILED: %s\n", inv.Response)
		}
		alerts, err := stack.Alerts(ctx, 0) // the run has returned: its notices are queued
		if err != nil {
			return err
		}
		printAlerts(out, alerts)
		chats := hook.take()
		if len(chats) > 0 && !shownChat {
			shownChat = true
			printChat(out, chats[0])
		}
		for _, c := range chats {
			alerts = append(alerts, localrun.Alert{Subject: "chat notice", Message: c})
		}
		if err := keyLeak(demoKey, inv, alerts); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "\nDone. The API key never appeared in the function's log, in its responses or in an alert (the demo checked each).")
	return nil
}

// keyLeak returns an error naming where key appeared: a line the function
// or the emulator printed, the function's response, or an alert's subject,
// text or attributes.
func keyLeak(key string, inv localrun.Invocation, alerts []localrun.Alert) error {
	if strings.Contains(strings.Join(inv.Logs, "\n"), key) {
		return errors.New("the API key appeared in the function's log")
	}
	if strings.Contains(string(inv.Response), key) {
		return errors.New("the API key appeared in the function's response")
	}
	for _, a := range alerts {
		attrs, _ := json.Marshal(a.Attributes)
		if strings.Contains(a.Subject+"\n"+a.Message+"\n"+string(attrs), key) {
			return fmt.Errorf("the API key appeared in the alert %q", a.Subject)
		}
	}
	return nil
}

// webhook keeps the messages of the SNS notifications posted to it: the
// http variant of each notice, the chat JSON.
type webhook struct {
	mu   sync.Mutex
	msgs []string
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var n struct{ Type, Message string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&n); err != nil || n.Type != "Notification" {
		http.Error(rw, "not an SNS notification", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.msgs = append(w.msgs, n.Message)
	w.mu.Unlock()
}

// take returns and forgets the messages received so far.
func (w *webhook) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	msgs := w.msgs
	w.msgs = nil
	return msgs
}

// printChat prints one chat notice, indented.
func printChat(out io.Writer, msg string) {
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(msg), "  | ", "  "); err != nil {
		pretty.WriteString(msg)
	}
	fmt.Fprintf(out, "\nThe same notice as Slack, Microsoft Teams (through Amazon Q Developer in chat applications) or a webhook receives it (shown once):\n  | %s\n", pretty.String())
}

func printAlerts(out io.Writer, alerts []localrun.Alert) {
	if len(alerts) == 0 {
		fmt.Fprintln(out, "\nAlerts in the queue: none")
		return
	}
	for _, a := range alerts {
		attrs, _ := json.Marshal(a.Attributes)
		fmt.Fprintf(out, "\nAlert in the queue:\n  Subject: %s\n  Attributes: %s\n", a.Subject, attrs)
		for _, line := range strings.Split(strings.TrimRight(a.Message, "\n"), "\n") {
			fmt.Fprintln(out, "  | "+line)
		}
	}
}
