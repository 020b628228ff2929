// Package docspace is a small client for the backup API of ONLYOFFICE
// DocSpace portals.
//
// It authenticates with an API key sent as "Authorization: Bearer sk-...",
// unwraps the {"response": ...} envelope every DocSpace answer carries,
// turns non-2xx answers into typed errors (*APIError, *BadResponseError,
// *TransportError) and retries transport errors, 429 and 5xx (but 501) with
// bounded exponential backoff and jitter.
//
// GetBackupServiceState reads the paid-backup switch; GetBackupSchedule,
// GetBackupsCount and GetBackupProgress show whether backups actually
// happen. GetBackupHistory lists the stored backups, but a real server asks
// the storage about every record while answering and removes the records
// it cannot confirm: read it rarely (the client never asks it again after
// a 5xx). GetPortalSettings, asked without the key, tells a self-hosted
// server from a cloud portal and gives the server's version and the
// portal's status (restoring, suspended, ...), which explains an empty 403
// or 404; GetPortalZone, asked with the key, gives the portal's time zone.
// A Client is safe for concurrent use and keeps at
// most MaxInFlight requests open at once. Dates are Time values, which accept the server's dates without
// an offset as UTC.
package docspace
