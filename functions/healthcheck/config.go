package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/metrics"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
)

// DefaultPortalTimeout is PORTAL_TIMEOUT's default: the worst case of one
// route with the default retry policy and HTTP_TIMEOUT (3 x 10 s + 2 x 5 s).
const DefaultPortalTimeout = 40 * time.Second

// DefaultScheduleInterval is SCHEDULE_INTERVAL's default, the template's
// default schedule, rate(15 minutes).
const DefaultScheduleInterval = 15 * time.Minute

// DefaultHistoryEvery is HISTORY_EVERY's default.
const DefaultHistoryEvery = 24 * time.Hour

// config is the function's configuration, read from the environment.
type config struct {
	PortalURL      string
	SecretID       string
	SecretKeyField string
	TopicARN       string
	SecretCacheTTL time.Duration
	HTTPTimeout    time.Duration
	StatePath      string
	// AllowHTTP allows http:// and internal hosts (loopback, private and
	// link-local addresses), for local tests only (ALLOW_INSECURE_HTTP).
	AllowHTTP bool
	// AllowedHosts, when set (ALLOWED_HOSTS, comma-separated), are the
	// only hosts checked: exact names or "*.domain" (docspace.MatchHost).
	AllowedHosts []string
	// MaxPortals caps the portals one invocation may list (MAX_PORTALS).
	MaxPortals int

	// Signals are the checks made (CHECK_STATE, CHECK_SCHEDULE, ...).
	Signals backupcheck.Signals
	// StaleAfter overrides the age limit derived from the schedule; 0
	// keeps the derived one.
	StaleAfter time.Duration
	// HistoryEvery is the least time between two reads of a portal's
	// history (HISTORY_EVERY): every read asks the storage about each
	// record and may remove records.
	HistoryEvery time.Duration
	// StateTable is the DynamoDB alert state table; "" alerts on every
	// failing run, without thresholds, reminders or resolved notices.
	StateTable string
	// Policy sets thresholds, reminders and resolving.
	Policy alertstate.Policy
	// MaxConcurrency bounds the portals checked at once in one run.
	MaxConcurrency int
	// PortalTimeout is each portal's budget: its key, alert state and
	// check. A portal starts only when its whole budget fits.
	PortalTimeout time.Duration
	// Dump reads schedules, the history and jobs with ?dump=true (DUMP); a portal's
	// "dump" input overrides it.
	Dump bool
	// SelfHosted is SELF_HOSTED: nil asks each portal's settings route; a
	// portal's "selfHosted" input overrides it.
	SelfHosted       *bool
	MetricsNamespace string
	// RegistryTag registers a secret with this function; a zero Value
	// turns the secrets' registry off.
	RegistryTag registry.Tag
	// RegistryParameterPath is the Parameter Store path under which each
	// SecureString parameter registers a portal (REGISTRY_PARAMETER_PATH);
	// "" turns the parameters' registry off.
	RegistryParameterPath string
	// RegistryPageSize is the MaxResults of each ListSecrets call.
	RegistryPageSize int
	// QueueURL is the SQS queue of the fan-out; "" checks every portal
	// in the run that names it.
	QueueURL string
	// DispatchAbove is the most portals a run checks itself; with more,
	// it puts them on QueueURL.
	DispatchAbove int
	// ScheduleInterval is the schedule's interval (SCHEDULE_INTERVAL,
	// default 15m): a queued portal whose run began longer ago is dropped,
	// since a later run has queued it again.
	ScheduleInterval time.Duration
	// PortalMetrics are the portals that get per-portal metrics besides
	// the fleet metrics; none by default.
	PortalMetrics metrics.Selection
	// FleetMetrics writes the fleet metrics once per invocation
	// (FLEET_METRICS, default true; the template sets it from its
	// Dashboard parameter, off by default, as they cost $0.90 a month and
	// more).
	FleetMetrics bool
}

// loadConfig reads and validates the configuration; the error names every
// bad or missing variable at once.
func loadConfig(getenv func(string) string) (config, error) {
	var errs []error
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	required := func(name string) string {
		v := get(name, "")
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
		return v
	}
	duration := func(name string, def time.Duration, zeroOK bool) time.Duration {
		v := get(name, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d == 0 && !zeroOK) {
			errs = append(errs, fmt.Errorf("%s=%q is not a positive duration such as 30s, 5m or 24h", name, v))
			return def
		}
		return d
	}
	boolean := func(name string, def bool) bool {
		v := get(name, "")
		if v == "" {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not true or false", name, v))
			return def
		}
		return b
	}
	positive := func(name string, def int) int {
		v := get(name, "")
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s=%q is not a whole number of at least 1", name, v))
			return def
		}
		return n
	}
	policy := alertstate.DefaultPolicy()
	transient := positive("FAIL_AFTER_TRANSIENT", policy.FailAfter[string(backupcheck.Unreachable)])
	policy.FailAfter = map[string]int{string(backupcheck.Unreachable): transient, string(backupcheck.BadResponse): transient, string(backupcheck.PortalBusy): transient}
	policy.Remind = map[string]time.Duration{string(backupcheck.ServiceInactive): duration("REMIND_INACTIVE_EVERY", policy.Remind[string(backupcheck.ServiceInactive)], true)}
	policy.Lease = duration("NOTICE_LEASE", policy.Lease, false)
	policy.DefaultFailAfter = positive("FAIL_AFTER", policy.DefaultFailAfter)
	policy.RemindEvery = duration("REMIND_EVERY", policy.RemindEvery, true)
	policy.ResolveAfter = positive("RESOLVE_AFTER", policy.ResolveAfter)
	policy.TTL = duration("STATE_TTL", policy.TTL, false)

	tag := registry.Tag{Key: get("REGISTRY_TAG_KEY", registry.DefaultTagKey), Value: get("REGISTRY_TAG_VALUE", "")}
	paramPath := get("REGISTRY_PARAMETER_PATH", "")
	if paramPath != "" {
		if err := registry.ValidateParameterPath(paramPath); err != nil {
			errs = append(errs, fmt.Errorf("REGISTRY_PARAMETER_PATH: %w", err))
		}
	}
	portalURL, secretID := get("PORTAL_URL", ""), get("SECRET_ID", "")
	if tag.Value == "" && paramPath == "" {
		// Without the registry, PORTAL_URL is the portal of every run
		// whose input names none.
		portalURL, secretID = required("PORTAL_URL"), required("SECRET_ID")
	} else {
		if err := tag.Validate(); err != nil && tag.Value != "" {
			errs = append(errs, fmt.Errorf("REGISTRY_TAG_KEY/REGISTRY_TAG_VALUE: %w", err))
		}
		if portalURL != "" && secretID == "" {
			errs = append(errs, errors.New("SECRET_ID is required with PORTAL_URL"))
		}
	}
	c := config{
		PortalURL:        portalURL,
		SecretID:         secretID,
		RegistryTag:      tag,
		RegistryPageSize: positive("REGISTRY_PAGE_SIZE", registry.DefaultPageSize),
		QueueURL:         get("QUEUE_URL", ""),
		DispatchAbove:    positive("DISPATCH_ABOVE", 50),
		ScheduleInterval: duration("SCHEDULE_INTERVAL", DefaultScheduleInterval, false),
		TopicARN:         required("TOPIC_ARN"),
		SecretKeyField:   get("SECRET_KEY_FIELD", "apiKey"),
		SecretCacheTTL:   duration("SECRET_CACHE_TTL", 5*time.Minute, false),
		HTTPTimeout:      duration("HTTP_TIMEOUT", docspace.DefaultTimeout, false),
		StatePath:        get("STATE_PATH", docspace.DefaultStatePath),
		AllowHTTP:        boolean("ALLOW_INSECURE_HTTP", false),
		Signals: backupcheck.Signals{
			State:    boolean("CHECK_STATE", true),
			Schedule: boolean("CHECK_SCHEDULE", true),
			History:  boolean("CHECK_HISTORY", true),
			Progress: boolean("CHECK_PROGRESS", true),
		},
		StaleAfter:       duration("STALE_AFTER", 0, true),
		HistoryEvery:     duration("HISTORY_EVERY", DefaultHistoryEvery, false),
		StateTable:       get("STATE_TABLE", ""),
		Policy:           policy,
		MaxConcurrency:   positive("MAX_CONCURRENCY", 10),
		MaxPortals:       positive("MAX_PORTALS", DefaultMaxPortals),
		PortalTimeout:    duration("PORTAL_TIMEOUT", DefaultPortalTimeout, false),
		Dump:             boolean("DUMP", false),
		MetricsNamespace: get("METRICS_NAMESPACE", metrics.DefaultNamespace),
		FleetMetrics:     boolean("FLEET_METRICS", true),
	}
	c.RegistryParameterPath = paramPath
	switch v := strings.ToLower(get("SELF_HOSTED", "")); v {
	case "", "auto":
	default:
		if b, err := strconv.ParseBool(v); err == nil {
			c.SelfHosted = &b
		} else {
			errs = append(errs, fmt.Errorf("SELF_HOSTED=%q is not true, false or auto", v))
		}
	}
	for _, p := range strings.Split(get("ALLOWED_HOSTS", ""), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if err := docspace.ValidHostPattern(p); err != nil {
			errs = append(errs, fmt.Errorf("ALLOWED_HOSTS: %w (want names such as portal.example.com or *.example.com)", err))
			continue
		}
		c.AllowedHosts = append(c.AllowedHosts, p)
	}
	if c.PortalURL != "" {
		u, err := docspace.ValidateBaseURL(c.PortalURL, c.AllowHTTP)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("PORTAL_URL: %w", err))
		case len(c.AllowedHosts) > 0 && !slices.ContainsFunc(c.AllowedHosts, func(p string) bool { return docspace.MatchHost(p, u) }):
			errs = append(errs, fmt.Errorf("PORTAL_URL: host %s is not in ALLOWED_HOSTS", u.Hostname()))
		}
	}
	if c.QueueURL != "" && !strings.HasPrefix(c.QueueURL, "https://") && !strings.HasPrefix(c.QueueURL, "http://") {
		errs = append(errs, fmt.Errorf("QUEUE_URL=%q is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", c.QueueURL))
	}
	if sel, err := metrics.ParseSelection(get("PORTAL_METRICS", "")); err != nil {
		errs = append(errs, fmt.Errorf("PORTAL_METRICS: %w (want none, all, or a comma-separated list of portals)", err))
	} else {
		c.PortalMetrics = sel
	}
	if c.RegistryPageSize > 100 {
		errs = append(errs, fmt.Errorf("REGISTRY_PAGE_SIZE=%d is more than the 100 ListSecrets allows", c.RegistryPageSize))
	}
	if c.TopicARN != "" && !strings.HasPrefix(c.TopicARN, "arn:") {
		errs = append(errs, fmt.Errorf("TOPIC_ARN=%q is not an ARN", c.TopicARN))
	}
	if !strings.HasPrefix(c.StatePath, "/") {
		errs = append(errs, fmt.Errorf("STATE_PATH=%q must start with /", c.StatePath))
	}
	if c.Signals == (backupcheck.Signals{}) {
		errs = append(errs, errors.New("CHECK_STATE, CHECK_SCHEDULE, CHECK_HISTORY and CHECK_PROGRESS are all false: nothing to check"))
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

// registries says which registries the function lists, for logs: "secrets
// tagged docspace-backup-watch=prod and parameters under
// /docspace-backup-watch/prod".
func (c config) registries() string {
	var names []string
	if c.RegistryTag.Value != "" {
		names = append(names, "secrets tagged "+c.RegistryTag.String())
	}
	if c.RegistryParameterPath != "" {
		names = append(names, "parameters under "+c.RegistryParameterPath)
	}
	return strings.Join(names, " and ")
}
