package alert

import "github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"

// terminalSteps replace the advice of a notice that speaks of the deployed
// function (its secret, its address in AWS, its options) for a person
// checking a portal from a terminal with check-portal.
var terminalSteps = map[backupcheck.Reason]string{
	backupcheck.ServiceInactive:  "Nothing is broken yet: on this cloud portal automatic backups use the free backups left this month. To keep them running after that, switch on paid backups in the portal's Settings > Backup (wallet). If the portal is in fact self-hosted, set SELF_HOSTED=true.",
	backupcheck.PermissionDenied: "Check the API key in DOCSPACE_API_KEY: 401 means the key is wrong, expired or not sent as a Bearer token; a 403 with a message means its user is not owner or admin; an empty 403 on an active portal means the key's scopes lack *:read (create a key with *:read or no scopes); a 403 with an HTML page comes from a firewall or proxy in front of the portal, which must let this machine through.",
	backupcheck.IPRestricted:     "The portal's IP restriction (Settings > Security > IP security) refuses this machine's address: allow it, or check from an address the portal allows.",
	backupcheck.Unreachable:      "The portal did not answer after retries, or kept answering 429 (rate limited) or 5xx: the problem above says which. Check that it is up and reachable from this machine (the URL, DNS, a proxy); for 429, try again later or raise the portal's rate limit.",
}

// TerminalStep returns what a person checking a portal from a terminal
// should do about a failing reason: NextStep's advice, worded for the
// terminal where it speaks of the deployed function. It returns "" for a
// healthy verdict and a reason without advice.
func TerminalStep(r backupcheck.Reason) string {
	if s, ok := terminalSteps[r]; ok {
		return s
	}
	return NextStep(r)
}

// TerminalStepFor is TerminalStep for reason r of verdict v: on a
// self-hosted server the advice names the backup service and never
// payments or the tariff (see NextStepFor).
func TerminalStepFor(v backupcheck.Verdict, r backupcheck.Reason) string {
	if s, ok := terminalSteps[r]; ok {
		return s
	}
	return NextStepFor(v, r)
}
