package remediate

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report is fix's JSON output: the plan, and the results once applied.
type Report struct {
	SchemaVersion int      `json:"schema_version"`
	Mode          string   `json:"mode"` // dry_run or apply
	Estate        string   `json:"estate"`
	Journal       string   `json:"journal,omitempty"`
	Plan          *Plan    `json:"plan"`
	Results       []Result `json:"results,omitempty"`
	Summary       *Tally   `json:"summary,omitempty"`
}

// Tally counts results.
type Tally struct {
	Verified int `json:"verified"`
	Failed   int `json:"failed"`
	Called   int `json:"enable_key_rotation_calls"`
}

// Count tallies results.
func Count(rs []Result) Tally {
	var t Tally
	for _, r := range rs {
		if r.Status == StatusVerified {
			t.Verified++
		} else {
			t.Failed++
		}
		if r.Called {
			t.Called++
		}
	}
	return t
}

// WriteJSON writes the report.
func WriteJSON(w io.Writer, r *Report) error {
	r.SchemaVersion = 1
	if r.Plan.Changes == nil {
		r.Plan.Changes = []Change{}
	}
	if r.Plan.LeftAlone == nil {
		r.Plan.LeftAlone = []LeftAlone{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WritePlanTable writes the plan for people.
func WritePlanTable(w io.Writer, p *Plan) error {
	fmt.Fprintf(w, "Plan: %d key(s) to change (rotation every %d days), %d left alone, %d already rotating within %d days.\n",
		len(p.Changes), p.PeriodDays, len(p.LeftAlone), p.Compliant, p.MaxPeriodDays)
	if len(p.Changes) > 0 {
		fmt.Fprintln(w, "\nTo change:")
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ACCOUNT\tREGION\tKEY\tCHANGE")
		for _, c := range p.Changes {
			what := fmt.Sprintf("enable rotation, every %d days", c.PeriodDays)
			if c.Action == ActionPeriod {
				what = fmt.Sprintf("rotation period %d -> %d days", c.FromPeriodDays, c.PeriodDays)
			}
			if len(c.Replicas) > 0 {
				what += fmt.Sprintf(" (primary of %d replica(s): %s)", len(c.Replicas), strings.Join(c.Replicas, ", "))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.AccountID, c.Region, keyLabel(c.KeyID, c.Name), what)
		}
		tw.Flush()
	}
	if len(p.LeftAlone) > 0 {
		fmt.Fprintln(w, "\nLeft alone:")
		for _, l := range p.LeftAlone {
			fmt.Fprintf(w, "  %s %s %s [%s]\n", l.AccountID, l.Region, keyLabel(l.KeyID, l.Name), whyLabel(l))
			fmt.Fprintf(w, "      %s\n", l.Advice)
		}
	}
	for _, u := range p.Unchecked {
		fmt.Fprintf(w, "\nOwnership could not be checked in %s %s (%s: %s): nothing is changed there unless --include-stack-managed.\n", u.AccountID, u.Region, u.Code, u.Message)
	}
	return nil
}

// WriteResultsTable writes what apply did.
func WriteResultsTable(w io.Writer, rs []Result) error {
	t := Count(rs)
	fmt.Fprintf(w, "\nResults: %d VERIFIED, %d FAILED (%d EnableKeyRotation call(s) in this run).\n", t.Verified, t.Failed, t.Called)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  STATUS\tACCOUNT\tREGION\tKEY\tDETAIL")
	for _, r := range rs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r.Status, r.AccountID, r.Region, keyLabel(r.KeyID, r.Name), r.Reason)
	}
	return tw.Flush()
}

func keyLabel(id, name string) string {
	if name != "" && name != id {
		return id + " (" + name + ")"
	}
	return id
}

func whyLabel(l LeftAlone) string {
	switch l.Why {
	case SkipStackOwned:
		return "stack " + l.Stack + ", resource " + l.LogicalID
	case SkipManagedByTag, SkipExcludedByTag:
		return l.Why + " " + l.Tag
	case SkipIneligible:
		if l.Reason != "" {
			return l.Reason
		}
	}
	return l.Why
}
