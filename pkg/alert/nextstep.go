package alert

import "github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"

// NextStep returns what a person should do about a failing reason: the
// "What to do" line of its alert. It returns "" for a healthy verdict and a
// reason without advice.
func NextStep(r backupcheck.Reason) string { return nextSteps[r] }
