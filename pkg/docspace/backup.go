package docspace

import (
	"context"
	"strconv"
	"strings"
)

// Routes of the backup calls that show whether backups actually happen.
// All are GET, owner or admin only, and wrapped in the usual envelope.
const (
	// SchedulePath answers the portal's backup schedule, or nothing.
	SchedulePath = "/api/2.0/backup/getbackupschedule"
	// HistoryPath answers the list of stored backups, unordered.
	HistoryPath = "/api/2.0/backup/getbackuphistory"
	// ProgressPath answers the running or last queued backup job, or nothing.
	ProgressPath = "/api/2.0/backup/getbackupprogress"
)

// CronPeriod is how often a backup schedule runs.
type CronPeriod int

// Periods of a backup schedule, as the server numbers them.
const (
	PeriodDaily   CronPeriod = 0
	PeriodWeekly  CronPeriod = 1
	PeriodMonthly CronPeriod = 2
)

// String returns "daily", "weekly", "monthly" or "CronPeriod(n)".
func (p CronPeriod) String() string {
	switch p {
	case PeriodDaily:
		return "daily"
	case PeriodWeekly:
		return "weekly"
	case PeriodMonthly:
		return "monthly"
	}
	return "CronPeriod(" + strconv.Itoa(int(p)) + ")"
}

// CronParams is when a backup schedule runs. Hour is 0-23 in the portal's
// time zone (which the API does not give). Day is 0 for a daily schedule,
// 1-7 with Sunday=1 for a weekly one, and 1-31 for a monthly one.
type CronParams struct {
	Period CronPeriod `json:"period"`
	Hour   int        `json:"hour"`
	Day    int        `json:"day"`
}

// StorageType is where a backup is stored.
type StorageType int

// Storage types, as the server numbers them.
const (
	StorageDocuments           StorageType = 0
	StorageThirdpartyDocuments StorageType = 1
	StorageCustomCloud         StorageType = 2
	StorageLocal               StorageType = 3
	StorageDataStore           StorageType = 4
	StorageThirdPartyConsumer  StorageType = 5
)

var storageNames = [...]string{"Documents", "ThirdpartyDocuments", "CustomCloud", "Local", "DataStore", "ThirdPartyConsumer"}

// String returns the server's name of the storage type, or "StorageType(n)".
func (s StorageType) String() string {
	if s >= 0 && int(s) < len(storageNames) {
		return storageNames[s]
	}
	return "StorageType(" + strconv.Itoa(int(s)) + ")"
}

// Schedule is a portal's automatic backup schedule.
type Schedule struct {
	StorageType   StorageType       `json:"storageType"`
	StorageParams map[string]string `json:"storageParams,omitempty"`
	CronParams    CronParams        `json:"cronParams"`
	// BackupsStored is how many backups are kept; nil means unlimited.
	BackupsStored *int `json:"backupsStored,omitempty"`
	// LastBackupTime is when the last job was queued (not when one
	// succeeded); Never() when no job was ever queued.
	LastBackupTime Time `json:"lastBackupTime"`
	Dump           bool `json:"dump"`
}

// GetBackupSchedule calls SchedulePath. It returns a nil *Schedule and a
// nil error when the portal has no schedule (a 200 without a "response"
// member). Errors are as for GetBackupServiceState; a 402 (unpaid portal)
// matches ErrPaymentRequired.
func (c *Client) GetBackupSchedule(ctx context.Context) (*Schedule, Result, error) {
	var s Schedule
	present, res, err := c.get(ctx, call{path: SchedulePath, dump: true}, &s)
	if err != nil || !present {
		return nil, res, err
	}
	return &s, res, nil
}

// HistoryRecord is one stored backup.
type HistoryRecord struct {
	ID          string      `json:"id"`
	FileName    string      `json:"fileName"`
	StorageType StorageType `json:"storageType"`
	CreatedOn   Time        `json:"createdOn"`
	ExpiresOn   Time        `json:"expiresOn"`
}

// GetBackupHistory calls HistoryPath, with ?dump=true when the client was
// made WithDump: the server files a whole-server dump's backups under no
// portal, so only that query lists them. The records come in no particular
// order (use Newest); a 200 without a "response" member gives an empty,
// non-nil list. Errors are as for GetBackupSchedule.
func (c *Client) GetBackupHistory(ctx context.Context) ([]HistoryRecord, Result, error) {
	var records []HistoryRecord
	_, res, err := c.get(ctx, call{path: HistoryPath, dump: true, noRetry5xx: true}, &records)
	if err != nil {
		return nil, res, err
	}
	if records == nil {
		records = []HistoryRecord{}
	}
	return records, res, nil
}

// Newest returns the record with the latest CreatedOn, skipping records
// whose CreatedOn is Never(). It reports false when no record has a date.
func Newest(records []HistoryRecord) (HistoryRecord, bool) {
	var newest HistoryRecord
	found := false
	for _, r := range records {
		if r.CreatedOn.Never() {
			continue
		}
		if !found || r.CreatedOn.After(newest.CreatedOn.Time) {
			newest, found = r, true
		}
	}
	return newest, found
}

// ProgressStatus is the state of a backup job.
type ProgressStatus int

// Job states, as the server numbers them.
const (
	ProgressCreated   ProgressStatus = 0
	ProgressRunning   ProgressStatus = 1
	ProgressCompleted ProgressStatus = 2
	ProgressCanceled  ProgressStatus = 3
	ProgressFailed    ProgressStatus = 4
)

var progressNames = [...]string{"Created", "Running", "Completed", "Canceled", "Failed"}

// String returns the server's name of the status, or "ProgressStatus(n)".
func (s ProgressStatus) String() string {
	if s >= 0 && int(s) < len(progressNames) {
		return progressNames[s]
	}
	return "ProgressStatus(" + strconv.Itoa(int(s)) + ")"
}

// Progress is the running or last queued backup job.
type Progress struct {
	IsCompleted bool `json:"isCompleted"`
	// Progress is 0-100.
	Progress int `json:"progress"`
	// Error is the server's error text, "" when the job is fine.
	Error   string `json:"error"`
	Warning string `json:"warning,omitempty"`
	Link    string `json:"link"`
	// TenantID is the portal's tenant number.
	TenantID int `json:"tenantId"`
	// BackupProgressEnum is the job kind: 0 Backup, 1 Restore, 2 Transfer.
	BackupProgressEnum int `json:"backupProgressEnum"`
	// Status is the job's state; nil when the server left it out (servers
	// before v3.7.1 do), which means unknown, not Created.
	Status *ProgressStatus `json:"status,omitempty"`
	TaskID string          `json:"taskId"`
}

// StatusName returns the job's status name, or "unknown" when the server
// did not give one.
func (p Progress) StatusName() string {
	if p.Status == nil {
		return "unknown"
	}
	return p.Status.String()
}

// Failed reports whether the job failed: a non-empty Error, whatever the
// status (the server usually marks a failed job Completed with an error),
// or status Failed.
func (p Progress) Failed() bool {
	return strings.TrimSpace(p.Error) != "" || (p.Status != nil && *p.Status == ProgressFailed)
}

// Cancelled reports whether the job was cancelled (status Canceled, no
// error): not a failure.
func (p Progress) Cancelled() bool {
	return !p.Failed() && p.Status != nil && *p.Status == ProgressCanceled
}

// Done reports whether the job has ended: status Completed, Canceled or
// Failed, or, without a status, IsCompleted.
func (p Progress) Done() bool {
	if p.Status == nil {
		return p.IsCompleted
	}
	switch *p.Status {
	case ProgressCompleted, ProgressCanceled, ProgressFailed:
		return true
	}
	return false
}

// GetBackupProgress calls ProgressPath. It returns a nil *Progress and a
// nil error when there is no job (a 200 without a "response" member).
// Errors are as for GetBackupServiceState.
func (c *Client) GetBackupProgress(ctx context.Context) (*Progress, Result, error) {
	var p Progress
	present, res, err := c.get(ctx, call{path: ProgressPath, dump: true}, &p)
	if err != nil || !present {
		return nil, res, err
	}
	return &p, res, nil
}
