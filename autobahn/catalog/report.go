package catalog

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// reportFilename is the suite's name for a case's report file.
func reportFilename(agent, id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(agent)) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte(' ')
		}
	}
	clean := strings.ReplaceAll(strings.TrimSpace(b.String()), " ", "_")
	return clean + "_case_" + strings.ReplaceAll(id, ".", "_") + ".json"
}

// logData is the suite's asciiLogData: at most 64 octets, as text when
// they are UTF-8 and as 0x-prefixed hex otherwise.
func logData(s string) string {
	const max, ellipsis = 64, " ..."
	d := s
	cut := len(s) > max-len(ellipsis)
	if len(d) > max {
		d = d[:max]
	}
	if validUTF8([]byte(d)) {
		if cut {
			return d + ellipsis
		}
		return d
	}
	h := hex.EncodeToString([]byte(d))
	if cut {
		h += ellipsis
	}
	return "0x" + h
}

// eventJSON renders an event as the suite's tuple.
func eventJSON(e Event) []any {
	switch e.Kind {
	case "message":
		return []any{e.Kind, logData(e.Data), e.Binary}
	case "ping", "pong":
		return []any{e.Kind, logData(e.Data)}
	}
	return []any{e.Kind, e.Data}
}

func eventsJSON(list []Event) [][]any {
	out := [][]any{}
	for _, e := range list {
		out = append(out, eventJSON(e))
	}
	return out
}

func statsJSON(m map[byte]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[strconv.Itoa(int(k))] = v
	}
	return out
}

// MarshalJSON renders the report with the field names of the suite's
// per-case JSON file.
func (r Report) MarshalJSON() ([]byte, error) {
	expected := map[string][][]any{}
	for _, e := range r.Expected {
		expected[string(e.Verdict)] = eventsJSON(e.Events)
	}
	codes := r.ExpectedClose.CloseCodes
	if codes == nil {
		codes = []int{}
	}
	m := map[string]any{
		"case":          r.Index,
		"id":            r.ID,
		"description":   r.Description,
		"expectation":   r.Expectation,
		"agent":         r.Agent,
		"started":       r.Started.UTC().Format("2006-01-02T15:04:05.000Z"),
		"duration":      r.Duration.Milliseconds(),
		"reportTime":    r.ReportTime,
		"behavior":      r.Behavior,
		"behaviorClose": r.BehaviorClose,
		"expected":      expected,
		"expectedClose": map[string]any{
			"closedByMe":   r.ExpectedClose.ClosedByMe,
			"closeCode":    codes,
			"requireClean": r.ExpectedClose.RequireClean,
		},
		"received":                       eventsJSON(r.Received),
		"result":                         r.Result.Result,
		"resultClose":                    r.ResultClose,
		"closedByMe":                     r.ClosedByMe,
		"failedByMe":                     r.FailedByMe,
		"droppedByMe":                    r.DroppedByMe,
		"wasClean":                       r.WasClean,
		"wasNotCleanReason":              nilIfEmpty(r.WasNotCleanReason),
		"wasServerConnectionDropTimeout": r.WasServerConnectionDropTimeout,
		"wasOpenHandshakeTimeout":        r.WasOpenHandshakeTimeout,
		"wasCloseHandshakeTimeout":       r.WasCloseHandshakeTimeout,
		"localCloseCode":                 r.LocalCloseCode,
		"localCloseReason":               r.LocalCloseReason,
		"remoteCloseCode":                r.RemoteCloseCode,
		"remoteCloseReason":              r.RemoteCloseReason,
		"isServer":                       r.IsServer,
		"createStats":                    true,
		"txFrameStats":                   statsJSON(r.TxFrameStats),
		"rxFrameStats":                   statsJSON(r.RxFrameStats),
		"httpRequest":                    r.HTTPRequest,
		"httpResponse":                   r.HTTPResponse,
		"createWirelog":                  false,
		"wirelog":                        []any{},
	}
	if r.ExpectedClose.ClosedByWrongEndpointIsFatal {
		m["expectedClose"].(map[string]any)["closedByWrongEndpointIsFatal"] = true
	}
	return marshal(m, "")
}

// marshal encodes v as JSON without escaping HTML (the suite's
// descriptions hold markup), indented when indent is set.
func marshal(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// indexEntry is a case's line in index.json.
type indexEntry struct {
	Behavior        Verdict `json:"behavior"`
	BehaviorClose   Verdict `json:"behaviorClose"`
	Duration        int64   `json:"duration"`
	RemoteCloseCode *int    `json:"remoteCloseCode"`
	ReportFile      string  `json:"reportfile"`
}

// WriteReports writes index.json ({agent: {caseId: {behavior,
// behaviorClose, duration, remoteCloseCode, reportfile}}}) and one JSON
// file per case into dir, as the original suite does.
func WriteReports(dir string, byAgent map[string][]Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	index := map[string]map[string]indexEntry{}
	for agent, reports := range byAgent {
		index[agent] = map[string]indexEntry{}
		for _, r := range reports {
			name := reportFilename(agent, r.ID)
			index[agent][r.ID] = indexEntry{r.Behavior, r.BehaviorClose, r.Duration.Milliseconds(), r.RemoteCloseCode, name}
			b, err := marshal(r, "   ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return err
			}
		}
	}
	b, err := marshal(index, "   ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.json"), b, 0o644)
}

// SectionSummary counts the verdicts of one section.
type SectionSummary struct {
	Section       string
	Cases         int
	OK            int
	NonStrict     int
	Informational int
	Unimplemented int
	Failed        int // behaviour FAILED or anything else
	// CloseNotOK counts cases whose close verdict is neither OK nor
	// INFORMATIONAL.
	CloseNotOK int
}

// Summarize counts verdicts per section (the case ID's first number), in
// section order.
func Summarize(reports []Report) []SectionSummary {
	by := map[string]*SectionSummary{}
	var order []string
	for _, r := range reports {
		sec, _, _ := strings.Cut(r.ID, ".")
		s := by[sec]
		if s == nil {
			s = &SectionSummary{Section: sec}
			by[sec] = s
			order = append(order, sec)
		}
		s.Cases++
		switch r.Behavior {
		case OK:
			s.OK++
		case NonStrict:
			s.NonStrict++
		case Informational:
			s.Informational++
		case Unimplemented:
			s.Unimplemented++
		default:
			s.Failed++
		}
		if r.BehaviorClose != OK && r.BehaviorClose != Informational {
			s.CloseNotOK++
		}
	}
	sort.Slice(order, func(i, j int) bool { return lessID(order[i], order[j]) })
	out := make([]SectionSummary, 0, len(order))
	for _, k := range order {
		out = append(out, *by[k])
	}
	return out
}

// WriteSummary prints the per-section table, then every case that is not
// OK or INFORMATIONAL in both verdicts.
func WriteSummary(w io.Writer, reports []Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "section\tcases\tOK\tNON-STRICT\tINFORMATIONAL\tUNIMPLEMENTED\tFAILED/other\tclose not OK\t")
	var total SectionSummary
	for _, s := range Summarize(reports) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", s.Section, s.Cases, s.OK, s.NonStrict, s.Informational, s.Unimplemented, s.Failed, s.CloseNotOK)
		total.Cases += s.Cases
		total.OK += s.OK
		total.NonStrict += s.NonStrict
		total.Informational += s.Informational
		total.Unimplemented += s.Unimplemented
		total.Failed += s.Failed
		total.CloseNotOK += s.CloseNotOK
	}
	fmt.Fprintf(tw, "all\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", total.Cases, total.OK, total.NonStrict, total.Informational, total.Unimplemented, total.Failed, total.CloseNotOK)
	tw.Flush()
	for _, r := range reports {
		if !r.Strict() {
			fmt.Fprintf(w, "case %s: %s / %s: %s; %s (remote close code %s)\n", r.ID, r.Behavior, r.BehaviorClose, r.Result.Result, r.ResultClose, codeString(r.RemoteCloseCode))
		}
	}
}

func codeString(p *int) string {
	if p == nil {
		return "none"
	}
	return strconv.Itoa(*p)
}
