package alert

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// MaxMessageBytes is SNS's limit on a message: its body (the JSON of the
// per-protocol texts) and its attributes together.
const MaxMessageBytes = 256 * 1024

// maxAttributeBytes caps one message attribute's value (a portal's name is
// a host and a base path, short in practice).
const maxAttributeBytes = 512

// Bounded returns m cut to what SNS delivers: a subject of at most
// MaxSubjectLen printable ASCII characters that starts with a letter, a
// digit or a punctuation mark; an SMS of one GSM-7 segment; the email and
// default texts cut (on a rune boundary, marked) so that the JSON body and
// the attributes stay within MaxMessageBytes however much JSON escaping
// grows them; attribute values capped. Publish sends only bounded
// messages, so a portal that answers megabytes cannot make its alert
// undeliverable.
func (m Message) Bounded() Message {
	m.Subject = strings.TrimLeft(truncate(asciiOnly(m.Subject), MaxSubjectLen), " ")
	if m.Subject == "" {
		m.Subject = "DocSpace backup notice"
	}
	m.SMS = truncate(gsm7Only(m.SMS), MaxSMSLen)
	m.Portal = cutRunes(m.Portal, maxAttributeBytes)
	attrs := len(m.Portal) + len(m.Reason) + len(m.Severity) + len(m.Kind) + 200
	budget := MaxMessageBytes - attrs - 1024
	for range 64 {
		body, _ := json.Marshal(m.structure())
		if len(body) <= budget {
			break
		}
		// Cut both long texts by the excess (at least a tenth), and measure
		// again: escaping makes the encoded size larger than the text's.
		over := len(body) - budget
		for _, s := range []*string{&m.Email, &m.Default} {
			cut := max(over/2+64, len(*s)/10)
			*s = cutRunes(*s, len(*s)-cut)
		}
	}
	return m
}

// cutRunes cuts s to at most n bytes on a rune boundary, marking the cut.
func cutRunes(s string, n int) string {
	const mark = "\n... (cut to fit SNS)"
	if len(s) <= n {
		return s
	}
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
