package docspace

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	// The zone data ships in every binary that reads a portal's zone: the
	// Lambda's image is not guaranteed to have the system's zone files.
	_ "time/tzdata"
)

// TenantStatus is a portal's status, as the server numbers it.
type TenantStatus int

// Portal states.
const (
	TenantActive        TenantStatus = 0
	TenantSuspended     TenantStatus = 1
	TenantRemovePending TenantStatus = 2
	TenantTransferring  TenantStatus = 3
	TenantRestoring     TenantStatus = 4
	TenantMigrating     TenantStatus = 5
	TenantEncryption    TenantStatus = 6
)

var tenantNames = [...]string{"Active", "Suspended", "RemovePending", "Transfering", "Restoring", "Migrating", "Encryption"}

// String returns the server's name of the status, or "TenantStatus(n)".
func (s TenantStatus) String() string {
	if s >= 0 && int(s) < len(tenantNames) {
		return tenantNames[s]
	}
	return "TenantStatus(" + strconv.Itoa(int(s)) + ")"
}

// Busy reports whether the portal refuses most routes for a while because
// it is being restored, transferred or encrypted (the server's status
// filter). A migrating portal is not blocked: it answers as usual.
func (s TenantStatus) Busy() bool {
	switch s {
	case TenantTransferring, TenantRestoring, TenantEncryption:
		return true
	}
	return false
}

// Version is a DocSpace server version such as 3.7.2.1000.
type Version struct {
	Major, Minor, Patch, Build int
}

// Versions from which routes and fields exist.
var (
	// CountSince is the first version with the count route and the state
	// route.
	CountSince = Version{Major: 3, Minor: 5}
	// ProgressStatusSince is the first version whose progress answer has
	// a status member and whose settings route refuses a scope-limited key.
	ProgressStatusSince = Version{Major: 3, Minor: 7, Patch: 1}
)

// ParseVersion reads "3.7.2.1000" (two to four numbers). It reports false
// for anything else.
func ParseVersion(s string) (Version, bool) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 4 {
		return Version{}, false
	}
	var n [4]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, false
		}
		n[i] = v
	}
	return Version{n[0], n[1], n[2], n[3]}, true
}

// AtLeast reports whether v is o or newer.
func (v Version) AtLeast(o Version) bool {
	a, b := [4]int{v.Major, v.Minor, v.Patch, v.Build}, [4]int{o.Major, o.Minor, o.Patch, o.Build}
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return true
}

// String writes the version as major.minor.patch.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// PortalSettings is the part of the settings route's anonymous answer the
// check uses.
type PortalSettings struct {
	// Standalone is true on a self-hosted server.
	Standalone bool `json:"standalone"`
	// Version is the server's version string, "" when not given.
	Version string `json:"version,omitempty"`
	// TenantStatus is the portal's status; nil when not given.
	TenantStatus *TenantStatus `json:"tenantStatus,omitempty"`
}

// ServerVersion returns the parsed Version; false when the server gave
// none or one that does not parse.
func (s PortalSettings) ServerVersion() (Version, bool) { return ParseVersion(s.Version) }

// GetPortalSettings calls SettingsPath without the key: the route answers
// anyone (also while the portal is restored, transferred, encrypted or
// suspended), a scope-limited key would get an empty 403 there from
// v3.7.1, and the IP restriction applies to signed-in callers only. A 200
// without a "response.standalone" member is a *BadResponseError.
func (c *Client) GetPortalSettings(ctx context.Context) (PortalSettings, Result, error) {
	var st struct {
		Standalone   *bool         `json:"standalone"`
		Version      string        `json:"version"`
		TenantStatus *TenantStatus `json:"tenantStatus"`
	}
	present, res, err := c.get(ctx, call{path: SettingsPath, anonymous: true}, &st)
	if err != nil {
		return PortalSettings{}, res, err
	}
	if !present || st.Standalone == nil {
		return PortalSettings{}, res, &BadResponseError{StatusCode: res.StatusCode, Path: SettingsPath, ContentType: "application/json", Reason: `no "response.standalone" member`}
	}
	return PortalSettings{Standalone: *st.Standalone, Version: st.Version, TenantStatus: st.TenantStatus}, res, nil
}

// PortalZone is the portal's time zone, from the settings route's answer
// to a signed-in caller. The backup scheduler reads the schedule's hour in
// this zone.
type PortalZone struct {
	// TimeZone is the IANA name, such as "Asia/Tokyo"; "" when not given.
	TimeZone string `json:"timezone,omitempty"`
	// UTCOffset is the offset as "09:00:00" or "-03:30:00".
	UTCOffset string `json:"utcOffset,omitempty"`
	// UTCHoursOffset is the offset in hours, such as 9 or 5.5; nil when
	// not given.
	UTCHoursOffset *float64 `json:"utcHoursOffset,omitempty"`
}

// Location returns the zone's location: the IANA zone, daylight saving
// included; else a fixed zone of the offset the server gave (exact says
// false: daylight saving is then not followed). It returns an error when
// the answer names no zone and no offset.
func (z PortalZone) Location() (loc *time.Location, exact bool, err error) {
	if z.TimeZone != "" {
		if loc, err := time.LoadLocation(z.TimeZone); err == nil {
			return loc, true, nil
		}
	}
	name := z.TimeZone
	if name == "" {
		name = "UTC"
	}
	if off, ok := parseOffset(z.UTCOffset); ok {
		return time.FixedZone(name, off), false, nil
	}
	if z.UTCHoursOffset != nil && *z.UTCHoursOffset >= -14 && *z.UTCHoursOffset <= 14 {
		return time.FixedZone(name, int(*z.UTCHoursOffset*3600)), false, nil
	}
	if z.TimeZone != "" {
		return nil, false, fmt.Errorf("unknown time zone %q and no offset", shorten(z.TimeZone, maxQuoted))
	}
	return nil, false, fmt.Errorf("the settings answer has no time zone")
}

// parseOffset reads "09:00:00", "-03:30:00" or "09:00" into seconds east
// of UTC.
func parseOffset(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	sign := 1
	switch s[0] {
	case '-':
		sign, s = -1, s[1:]
	case '+':
		s = s[1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || h < 0 || h > 14 || m < 0 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// GetPortalZone calls SettingsPath with the key: only a signed-in caller
// gets the portal's time zone. A key whose scopes do not cover the route
// gets an empty 403 from v3.7.1 (an *APIError matching
// ErrPermissionDenied), and so does an address the IP restriction
// refuses. An answer without any zone member is a *BadResponseError.
func (c *Client) GetPortalZone(ctx context.Context) (PortalZone, Result, error) {
	var z PortalZone
	present, res, err := c.get(ctx, call{path: SettingsPath}, &z)
	if err != nil {
		return PortalZone{}, res, err
	}
	if !present || (z.TimeZone == "" && z.UTCOffset == "" && z.UTCHoursOffset == nil) {
		return PortalZone{}, res, &BadResponseError{StatusCode: res.StatusCode, Path: SettingsPath, ContentType: "application/json", Reason: `no "response.timezone" member: the answer is the one for callers who are not signed in`}
	}
	return z, res, nil
}

// CountPath is the count route (DocSpace v3.5.0+): one database count of
// the portal's backups, no call to the backup storage, no side effect.
const CountPath = "/api/2.0/backup/getbackupscount"

// countDate writes a count route bound as the server stores dates: UTC,
// whole seconds, no offset.
func countDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// GetBackupsCount calls CountPath: how many backups of the portal were
// created in [from, to] with the given paid flag (an exact match; ask both
// values to count all). Records the server removed from the history are
// counted too, and whole-server dump backups are not. It returns an error
// without asking when from is after to (the server answers 400). Errors are
// as for GetBackupSchedule; a 200 without a number is a *BadResponseError.
func (c *Client) GetBackupsCount(ctx context.Context, from, to time.Time, paid bool) (int, Result, error) {
	if from.After(to) {
		return 0, Result{}, fmt.Errorf("docspace: count backups: from %s is after to %s", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	q := map[string][]string{"from": {countDate(from)}, "to": {countDate(to)}, "paid": {strconv.FormatBool(paid)}}
	var n *int
	present, res, err := c.get(ctx, call{path: CountPath, query: q}, &n)
	if err != nil {
		return 0, res, err
	}
	if !present || n == nil || *n < 0 {
		return 0, res, &BadResponseError{StatusCode: res.StatusCode, Path: CountPath, ContentType: "application/json", Reason: `no count in "response"`}
	}
	return *n, res, nil
}
