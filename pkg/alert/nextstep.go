package alert

import "github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"

// NextStep returns what a person should do about a failing reason: the
// "What to do" line of its alert. It returns "" for a healthy verdict and a
// reason without advice. See NextStepFor for a verdict's own portal.
func NextStep(r backupcheck.Reason) string { return nextSteps[r] }

// selfHostedSteps replace nextSteps on a self-hosted server, which has no
// billing: its scheduler and backup worker run in the backup service.
var selfHostedSteps = map[backupcheck.Reason]string{
	backupcheck.NoSchedule:      "Open Settings > Backup > Automatic backup and set the schedule up again; on a self-hosted server a whole-server dump schedule shows only with the dump option on.",
	backupcheck.BackupStale:     "Open Settings > Backup. If jobs are still queued (see above), no backup lands: check the storage's free space and credentials. If no job is queued, the server's scheduler is not running: check the backup service (onlyoffice-backup-background-tasks, which runs the scheduler and the backup worker, and onlyoffice-backup) and its log. Then start a backup by hand.",
	backupcheck.BackupStuck:     "A backup job is stuck Running and the scheduler drops new jobs until it ends (up to 24 h): restart the backup service (onlyoffice-backup-background-tasks, then onlyoffice-backup), then start a backup by hand and watch it finish.",
	backupcheck.PortalSuspended: "The server answers as if the portal were suspended or being removed (an empty 404): check the portal's status in the server's administration.",
}

// NextStepFor returns what a person should do about reason r of verdict
// v: on a self-hosted server the advice names the backup service and never
// payments or the tariff.
func NextStepFor(v backupcheck.Verdict, r backupcheck.Reason) string {
	if v.Standalone != nil && *v.Standalone {
		if s, ok := selfHostedSteps[r]; ok {
			return s
		}
	}
	return nextSteps[r]
}
