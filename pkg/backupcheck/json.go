package backupcheck

import "encoding/json"

// MarshalJSON writes v with its durations in milliseconds (staleAfterMs,
// and the result's latencyMs), the names of the function's log line and of
// check-portal.
func (v Verdict) MarshalJSON() ([]byte, error) {
	type plain Verdict
	return json.Marshal(struct {
		plain
		StaleAfterMs int64 `json:"staleAfterMs,omitempty"`
	}{plain(v), v.StaleAfter.Milliseconds()})
}
