package mutelist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const list = `Mutelist:
  Accounts:
    "111111111111":
      Checks:
        "kms_cmk_rotation_enabled":
          Regions:
            - "eu-west-1"
          Resources:
            - "alias/legacy-.*"
          reason: "legacy, SEC-1"
          expires: 2026-12-31
    "222222222222":
      Checks:
        "kms_.*":
          Regions: ["*"]
          Resources: ["*"]
          Tags:
            - "env=dev"
            - "team=sandbox"
          Exceptions:
            Regions: ["us-east-1"]
            Tags: ["keep=yes"]
    "*":
      Checks:
        "*":
          Regions: ["ap-.*"]
          Resources: ["*4444"]
          expires: 2026-05-31
        "kms_cmk_rotation_enabled":
          Resources: ["arn:aws:kms:sa-east-1:.*:key/"]
`

func finding(account, region, id string, aliases []string, tags map[string]string) check.Finding {
	return check.Finding{CheckID: check.CheckID, Status: check.StatusFail, AccountID: account, Region: region,
		KeyID: id, KeyARN: "arn:aws:kms:" + region + ":" + account + ":key/" + id, Aliases: aliases, Tags: tags}
}

func TestApply(t *testing.T) {
	l, err := Parse("mute.yaml", []byte(list), now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		f      check.Finding
		muted  bool
		reason string
	}{
		{"alias regex and region", finding("111111111111", "eu-west-1", "k1", []string{"alias/legacy-db"}, nil), true, "legacy, SEC-1"},
		{"other region", finding("111111111111", "eu-west-2", "k1", []string{"alias/legacy-db"}, nil), false, ""},
		{"alias does not match", finding("111111111111", "eu-west-1", "k1", []string{"alias/prod"}, nil), false, ""},
		{"account not listed, no wildcard entry matches", finding("333333333333", "eu-west-1", "k1", nil, nil), false, ""},
		{"tag OR, first", finding("222222222222", "eu-west-1", "k2", nil, map[string]string{"env": "dev"}), true, ""},
		{"tag OR, second", finding("222222222222", "eu-west-1", "k2", nil, map[string]string{"team": "sandbox", "x": "y"}), true, ""},
		{"no tag", finding("222222222222", "eu-west-1", "k2", nil, map[string]string{"env": "prod"}), false, ""},
		{"exception needs all its lists: region only", finding("222222222222", "us-east-1", "k2", nil, map[string]string{"env": "dev"}), true, ""},
		{"exception region and tag", finding("222222222222", "us-east-1", "k2", nil, map[string]string{"env": "dev", "keep": "yes"}), false, ""},
		{"expired wildcard entry mutes nothing", finding("333333333333", "ap-south-1", "k4444", nil, nil), false, ""},
		{"wildcard account, ARN prefix", finding("333333333333", "sa-east-1", "k5", nil, nil), true, ""},
	} {
		f := tc.f
		reason, muted := l.Apply(&f)
		if muted != tc.muted || f.Muted != tc.muted || reason != tc.reason {
			t.Errorf("%s: got muted %v (finding %v) reason %q, want %v %q", tc.name, muted, f.Muted, reason, tc.muted, tc.reason)
		}
		if f.Status != check.StatusFail {
			t.Errorf("%s: status became %s; a muted finding keeps its status", tc.name, f.Status)
		}
	}
	w := l.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "line 25") || !strings.Contains(w[0], "expired on 2026-05-31") {
		t.Errorf("warnings = %q; want one naming line 25 and 2026-05-31", w)
	}
}

func TestExpiryIsEndOfDay(t *testing.T) {
	src := "Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        \"*\":\n          expires: 2026-06-01\n"
	for _, tc := range []struct {
		at    time.Time
		muted bool
	}{{now, true}, {now.Add(12 * time.Hour), false}} {
		l, err := Parse("m.yaml", []byte(src), tc.at)
		if err != nil {
			t.Fatal(err)
		}
		f := finding("1", "r", "k", nil, nil)
		if _, muted := l.Apply(&f); muted != tc.muted {
			t.Errorf("at %s: muted %v, want %v", tc.at, muted, tc.muted)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"not yaml", "Mutelist:\n  Accounts: [\n", "mutelist m.yaml: not valid YAML: line"},
		{"no Mutelist", "Allow:\n  x: 1\n", `line 1: the document has an unknown key "Allow"`},
		{"accounts a list", "Mutelist:\n  Accounts:\n    - a\n", "line 3: Accounts must be a mapping"},
		{"unknown key in entry", "Mutelist:\n  Accounts:\n    \"1\":\n      Checks:\n        \"*\":\n          Region: [a]\n", `line 6: check * of account 1 has an unknown key "Region"`},
		{"regions a string", "Mutelist:\n  Accounts:\n    \"1\":\n      Checks:\n        \"*\":\n          Regions: eu-west-1\n", "line 6: Regions of check * of account 1 must be a list"},
		{"bad regex", "Mutelist:\n  Accounts:\n    \"1\":\n      Checks:\n        \"*\":\n          Resources: [\"(\"]\n", `line 6: "(" is not a valid regular expression`},
		{"bad date", "Mutelist:\n  Accounts:\n    \"1\":\n      Checks:\n        \"*\":\n          expires: soon\n", `line 6: expires of check * of account 1 is "soon", not a date`},
		{"empty", "", "the file is empty"},
	} {
		_, err := Parse("m.yaml", []byte(tc.src), now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"), now)
	if err == nil || !os.IsNotExist(errUnwrap(err)) {
		t.Errorf("got %v, want a not-exist error", err)
	}
}

func errUnwrap(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
