package check

import (
	"slices"
	"testing"
)

func TestComplianceFrameworks(t *testing.T) {
	fs := Frameworks()
	if len(fs) < 35 {
		t.Errorf("got %d frameworks, want at least the 35 Prowler maps", len(fs))
	}
	ids := map[string]bool{}
	for _, f := range fs {
		if f.ID == "" || len(f.Requirements) == 0 {
			t.Errorf("framework %s: id %q, requirements %v; want both", f.Key, f.ID, f.Requirements)
		}
		if ids[f.ID] {
			t.Errorf("framework id %s used twice", f.ID)
		}
		ids[f.ID] = true
	}
	for key, want := range map[string][]string{
		"CIS-1.4": {"3.8"}, "CIS-2.0": {"3.8"}, "CIS-3.0": {"3.6"}, "CIS-5.0": {"3.6"}, "CIS-7.0": {"4.6"},
		"AWS-Foundational-Security-Best-Practices": {"KMS.4"},
	} {
		if got := compliance[key]; !slices.Equal(got, want) {
			t.Errorf("compliance[%s] = %v, want %v", key, got, want)
		}
	}
	if len(frameworkIDs) != len(compliance) {
		t.Errorf("frameworkIDs has %d entries, compliance %d; want one ID per framework", len(frameworkIDs), len(compliance))
	}
}

func TestLookupFramework(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"cis_5.0_aws", "CIS-5.0", true},
		{"CIS-5.0", "CIS-5.0", true},
		{"CIS_4.0_AWS", "CIS-4.0.1", true},
		{"cis_9.0_aws", "", false},
	} {
		f, ok := LookupFramework(tc.name)
		if ok != tc.ok || f.Key != tc.want {
			t.Errorf("LookupFramework(%q) = %q, %v; want %q, %v", tc.name, f.Key, ok, tc.want, tc.ok)
		}
	}
	close := CloseFrameworks("cis_9.0_aws")
	if !slices.Contains(close, "cis_5.0_aws") || slices.Contains(close, "hipaa_aws") {
		t.Errorf("CloseFrameworks(cis_9.0_aws) = %v; want the CIS versions only", close)
	}
}
