package kmsemu

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"
)

// unit drives the KMS service through handle(), without HTTP.
type kmsUnit struct {
	t     *testing.T
	k     *kmsService
	clock *Clock
}

func newKMSUnit(t *testing.T, estate *Estate) *kmsUnit {
	t.Helper()
	clock := kmsFrozenClock(kmsT0)
	k := newKMSService(clock, 0)
	if estate != nil {
		if err := k.load(estate); err != nil {
			t.Fatalf("load estate: %v", err)
		}
	}
	return &kmsUnit{t: t, k: k, clock: clock}
}

// do calls op as the default account in us-east-1 and decodes the result.
func (u *kmsUnit) do(op, body string) (map[string]any, *apiError) {
	return u.doAs(DefaultAccount, "us-east-1", op, body)
}

func (u *kmsUnit) doAs(account, region, op, body string) (map[string]any, *apiError) {
	u.t.Helper()
	out, aerr := u.k.handle(&call{Service: "kms", Op: op, Account: account, Region: region,
		Body: []byte(body), Now: u.clock.Now()})
	if aerr != nil {
		return nil, aerr
	}
	if out == nil {
		return nil, nil
	}
	var data []byte
	if raw, ok := out.(json.RawMessage); ok {
		data = raw
	} else {
		var err error
		if data, err = json.Marshal(out); err != nil {
			u.t.Fatalf("%s: marshal response: %v", op, err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		u.t.Fatalf("%s: response %s: %v", op, data, err)
	}
	return m, nil
}

// must calls op and fails the test on an error.
func (u *kmsUnit) must(op, body string) map[string]any {
	u.t.Helper()
	m, err := u.do(op, body)
	if err != nil {
		u.t.Fatalf("%s %s: %v", op, body, err)
	}
	return m
}

// id resolves an alias of the default account in us-east-1.
func (u *kmsUnit) id(alias string) string {
	u.t.Helper()
	id := u.k.resolveKeyID(DefaultAccount, "us-east-1", alias)
	if id == "" {
		u.t.Fatalf("no key behind %s", alias)
	}
	return id
}

func kmsJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func kmsKeyBody(id string) string { return kmsJSON(map[string]string{"KeyId": id}) }

// kmsEpoch reads a timestamp member of a decoded response.
func kmsEpoch(t *testing.T, m map[string]any, field string) time.Time {
	t.Helper()
	f, ok := m[field].(float64)
	if !ok {
		t.Fatalf("%s is %v, want epoch seconds", field, m[field])
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Round(time.Millisecond)
}

// kmsTestEstate has a key of every class, in the default account's us-east-1
// (with a replica in eu-west-1), and a key in a second account.
func kmsTestEstate() *Estate {
	created := kmsT0.AddDate(-1, 0, 0)
	return &Estate{Accounts: []Account{
		{
			ID: DefaultAccount, Name: "management", Regions: []string{"us-east-1", "eu-west-1", "ap-southeast-2"},
			Keys: []KeyDef{
				{Region: "us-east-1", Description: "orders", Created: created, Aliases: []string{"alias/sym"},
					Tags: map[string]string{"team": "orders", "env": "prod"}},
				{Region: "us-east-1", Description: "rotating", Created: created, Aliases: []string{"alias/rotating"},
					Rotation: RotationDef{Enabled: true, PeriodDays: 180, EnabledAt: created}},
				{Region: "us-east-1", Spec: "RSA_4096", Usage: "ENCRYPT_DECRYPT", Created: created, Aliases: []string{"alias/rsa"}},
				{Region: "us-east-1", Spec: "RSA_2048", Usage: "SIGN_VERIFY", Created: created, Aliases: []string{"alias/rsa-sign"}},
				{Region: "us-east-1", Spec: "ECC_NIST_P256", Usage: "KEY_AGREEMENT", Created: created, Aliases: []string{"alias/ecc-ka"}},
				{Region: "us-east-1", Spec: "HMAC_256", Created: created, Aliases: []string{"alias/hmac"}},
				{Region: "us-east-1", Spec: "ML_DSA_65", Created: created, Aliases: []string{"alias/ml-dsa"}},
				{Region: "us-east-1", Spec: "ML_KEM_768", Created: created, Aliases: []string{"alias/ml-kem"}},
				{Region: "us-east-1", Origin: "EXTERNAL", Created: created, Aliases: []string{"alias/ext"}},
				{Region: "us-east-1", Origin: "EXTERNAL", State: "PendingImport", Created: created, Aliases: []string{"alias/ext-pending"}},
				{Region: "us-east-1", Origin: "EXTERNAL", ExpirationModel: "KEY_MATERIAL_EXPIRES",
					ValidTo: kmsT0.Add(48 * time.Hour), Created: created, Aliases: []string{"alias/ext-expiring"}},
				{Region: "us-east-1", Origin: "AWS_CLOUDHSM", CustomKeyStoreID: "cks-0123456789abcdef0", Created: created, Aliases: []string{"alias/cloudhsm"}},
				{Region: "us-east-1", Origin: "AWS_CLOUDHSM", CustomKeyStoreID: "cks-0123456789abcdef0", State: "Unavailable",
					Created: created, Aliases: []string{"alias/unavailable"}},
				{Region: "us-east-1", Origin: "EXTERNAL_KEY_STORE", CustomKeyStoreID: "cks-abcdef0123456789a",
					XksKeyID: "ext-key-1", Created: created, Aliases: []string{"alias/xks"}},
				{Region: "us-east-1", Manager: "AWS", Created: created, Aliases: []string{"alias/aws/ebs"}},
				{Region: "us-east-1", MultiRegion: true, ReplicaRegions: []string{"eu-west-1"}, Created: created,
					Rotation: RotationDef{Enabled: true, EnabledAt: created}, Aliases: []string{"alias/mrk"}},
				{Region: "us-east-1", State: "Disabled", Created: created, Aliases: []string{"alias/disabled"},
					Rotation: RotationDef{Enabled: true, EnabledAt: created}},
				{Region: "us-east-1", State: "PendingDeletion", DeletionDate: kmsT0.AddDate(0, 0, 10), Created: created,
					Aliases: []string{"alias/pending-deletion"}, Rotation: RotationDef{Enabled: true, EnabledAt: created}},
				{Region: "us-east-1", State: "Creating", Created: created, Aliases: []string{"alias/creating"}},
				{Region: "us-east-1", State: "Updating", Created: created, Aliases: []string{"alias/updating"}},
				{Region: "us-east-1", Created: created, Aliases: []string{"alias/overdue"},
					Rotation: RotationDef{Enabled: true, EnabledAt: created.AddDate(-1, 0, 0),
						NextRotation: kmsT0.AddDate(0, -2, 0)}},
			},
		},
		{
			ID: kmsOtherAccount, Name: "member", Regions: []string{"us-east-1"},
			Credentials: []Credential{{AccessKeyID: kmsOtherKeyID, SecretAccessKey: kmsOtherSecret}},
			Keys: []KeyDef{{ID: "11111111-2222-4333-8444-555555555555", Region: "us-east-1",
				Description: "member key", Created: created, Rotation: RotationDef{Enabled: true, EnabledAt: created}}},
		},
	}}
}

func TestKMSUnknownOperation(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, nil)
	_, err := u.do("Encrypt", "{}")
	if err == nil || err.Code != "UnknownOperationException" || err.Status != 400 {
		t.Fatalf("Encrypt: got %v, want 400 UnknownOperationException", err)
	}
}

// TestKMSDecode checks that bodies that are not the operation's JSON get
// AWS-shaped errors and never a panic.
func TestKMSDecode(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, kmsTestEstate())
	sym := u.id("alias/sym")
	tests := []struct {
		op, body string
		code     string
		msg      string
	}{
		{"DescribeKey", `{`, "SerializationException", ""},
		{"DescribeKey", `[]`, "SerializationException", ""},
		{"DescribeKey", `"x"`, "SerializationException", ""},
		{"DescribeKey", `{"KeyId":5}`, "SerializationException", ""},
		{"DescribeKey", `{"KeyId":"` + sym + `"} trailing`, "SerializationException", ""},
		{"EnableKeyRotation", `{"KeyId":"` + sym + `","RotationPeriodInDays":"180"}`, "SerializationException", ""},
		{"EnableKeyRotation", `{"KeyId":"` + sym + `","RotationPeriodInDays":180.5}`, "SerializationException", ""},
		{"CreateKey", `{"Tags":{"a":"b"}}`, "SerializationException", ""},
		{"ListKeys", `{"Limit":true}`, "SerializationException", ""},
		{"ImportKeyMaterial", `{"KeyId":"` + sym + `","ImportToken":"not base64!","EncryptedKeyMaterial":"AA=="}`, "SerializationException", ""},
		{"DescribeKey", ``, "ValidationException",
			"1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"},
		{"DescribeKey", `null`, "ValidationException",
			"1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"},
		{"DescribeKey", `{"KeyId":""}`, "ValidationException",
			"1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"GetKeyRotationStatus", `{}`, "ValidationException",
			"1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"},
		{"EnableKeyRotation", `{"RotationPeriodInDays":1}`, "ValidationException",
			"2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; " +
				"Value '1' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90"},
	}
	for _, tt := range tests {
		_, err := u.do(tt.op, tt.body)
		if err == nil || err.Code != tt.code || err.Status != 400 || (tt.msg != "" && err.Message != tt.msg) {
			t.Errorf("%s %s: got %v, want 400 %s %q", tt.op, tt.body, err, tt.code, tt.msg)
		}
	}
}

// TestKMSAutomaticRotation checks the lazy schedule of §7: rotations missed
// while the clock moved are recorded at their scheduled dates, only while the
// key is Enabled with rotation on, and an overdue estate key stays overdue.
func TestKMSAutomaticRotation(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, kmsTestEstate())
	rotating, disabled, overdue := u.id("alias/rotating"), u.id("alias/disabled"), u.id("alias/overdue")
	created := kmsT0.AddDate(-1, 0, 0)

	// The estate key was enabled a year ago with 180 days: two rotations
	// are due by kmsT0, at enable+180 and enable+360.
	st := u.must("GetKeyRotationStatus", kmsKeyBody(rotating))
	if got, want := kmsEpoch(t, st, "NextRotationDate"), created.AddDate(0, 0, 540); !got.Equal(want) {
		t.Errorf("NextRotationDate after catch-up: got %v, want %v", got, want)
	}
	rots := u.must("ListKeyRotations", kmsKeyBody(rotating))["Rotations"].([]any)
	if len(rots) != 2 {
		t.Fatalf("ListKeyRotations: got %d rotations, want 2: %v", len(rots), rots)
	}
	for i, r := range rots {
		e := r.(map[string]any)
		want := created.AddDate(0, 0, 180*(i+1))
		if got := kmsEpoch(t, e, "RotationDate"); !got.Equal(want) || e["RotationType"] != "AUTOMATIC" {
			t.Errorf("rotation %d: got %v %v, want %v AUTOMATIC", i, got, e["RotationType"], want)
		}
	}
	if got, want := rots[1].(map[string]any)["KeyMaterialState"], "CURRENT"; got != want {
		t.Errorf("last rotation state: got %v, want %v", got, want)
	}
	desc := u.must("DescribeKey", kmsKeyBody(rotating))["KeyMetadata"].(map[string]any)
	if got, want := desc["CurrentKeyMaterialId"], rots[1].(map[string]any)["KeyMaterialId"]; got != want {
		t.Errorf("CurrentKeyMaterialId: got %v, want the last rotation's %v", got, want)
	}

	// A year later: two more rotations; the disabled key and the overdue key
	// did not rotate.
	u.clock.Advance(365 * 24 * time.Hour)
	rots = u.must("ListKeyRotations", kmsKeyBody(rotating))["Rotations"].([]any)
	if len(rots) != 4 {
		t.Errorf("after a year: got %d rotations, want 4", len(rots))
	}
	for _, id := range []string{disabled, overdue} {
		if rots := u.must("ListKeyRotations", kmsKeyBody(id))["Rotations"].([]any); len(rots) != 0 {
			t.Errorf("%s: got %d rotations, want 0", id, len(rots))
		}
	}
	st = u.must("GetKeyRotationStatus", kmsKeyBody(overdue))
	if got, want := kmsEpoch(t, st, "NextRotationDate"), kmsT0.AddDate(0, -2, 0); !got.Equal(want) {
		t.Errorf("overdue key NextRotationDate: got %v, want the estate's %v", got, want)
	}

	// Enabling the disabled key rotates it at once: its date passed (§7).
	u.must("EnableKey", kmsKeyBody(disabled))
	rots = u.must("ListKeyRotations", kmsKeyBody(disabled))["Rotations"].([]any)
	if len(rots) != 1 || !kmsEpoch(t, rots[0].(map[string]any), "RotationDate").Equal(u.clock.Now()) {
		t.Errorf("EnableKey on an overdue disabled key: got rotations %v, want one now", rots)
	}
	// Re-enabling rotation restarts the clock of the overdue key.
	u.must("EnableKeyRotation", kmsJSON(map[string]any{"KeyId": overdue, "RotationPeriodInDays": 90}))
	st = u.must("GetKeyRotationStatus", kmsKeyBody(overdue))
	if got, want := kmsEpoch(t, st, "NextRotationDate"), u.clock.Now().AddDate(0, 0, 90); !got.Equal(want) {
		t.Errorf("re-enabled overdue key: got %v, want %v", got, want)
	}
}

// TestKMSRotationPeriodChange checks how EnableKeyRotation on an enabled key
// moves NextRotationDate and how a re-enable restarts it.
func TestKMSRotationPeriodChange(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, nil)
	id := u.must("CreateKey", `{}`)["KeyMetadata"].(map[string]any)["KeyId"].(string)
	next := func() any { return u.must("GetKeyRotationStatus", kmsKeyBody(id))["NextRotationDate"] }
	steps := []struct {
		name    string
		advance time.Duration
		op      string
		body    string
		want    any // NextRotationDate, or nil when absent
	}{
		{"enable 365", 0, "EnableKeyRotation", kmsKeyBody(id), float64(kmsT0.AddDate(0, 0, 365).Unix())},
		{"shorten to 180", 0, "EnableKeyRotation", kmsJSON(map[string]any{"KeyId": id, "RotationPeriodInDays": 180}),
			float64(kmsT0.AddDate(0, 0, 180).Unix())},
		{"same period again keeps the date", 24 * time.Hour, "EnableKeyRotation",
			kmsJSON(map[string]any{"KeyId": id, "RotationPeriodInDays": 180}), float64(kmsT0.AddDate(0, 0, 180).Unix())},
		{"disable omits the date", 0, "DisableKeyRotation", kmsKeyBody(id), nil},
		{"re-enable restarts from now", 24 * time.Hour, "EnableKeyRotation", kmsKeyBody(id),
			float64(kmsT0.Add(48*time.Hour).AddDate(0, 0, 365).Unix())},
	}
	for _, s := range steps {
		u.clock.Advance(s.advance)
		u.must(s.op, s.body)
		if got := next(); got != s.want {
			t.Errorf("%s: NextRotationDate got %v, want %v", s.name, got, s.want)
		}
	}
}

// TestKMSOnDemandLifecycle checks §4.6: asynchronous, start date while it
// runs, the automatic schedule untouched, the limit and the conflicts.
func TestKMSOnDemandLifecycle(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, nil)
	u.k.onDemandLimit = 2
	id := u.must("CreateKey", `{}`)["KeyMetadata"].(map[string]any)["KeyId"].(string)
	arn := keyARN(DefaultAccount, "us-east-1", id)
	u.must("EnableKeyRotation", kmsKeyBody(id))
	before := u.must("GetKeyRotationStatus", kmsKeyBody(id))["NextRotationDate"]

	out := u.must("RotateKeyOnDemand", kmsKeyBody(id))
	if out["KeyId"] != arn {
		t.Errorf("RotateKeyOnDemand KeyId: got %v, want the ARN %s", out["KeyId"], arn)
	}
	st := u.must("GetKeyRotationStatus", kmsKeyBody(id))
	if got := kmsEpoch(t, st, "OnDemandRotationStartDate"); !got.Equal(kmsT0) {
		t.Errorf("OnDemandRotationStartDate: got %v, want %v", got, kmsT0)
	}
	if _, err := u.do("RotateKeyOnDemand", kmsKeyBody(id)); err == nil || err.Code != "ConflictException" {
		t.Errorf("second RotateKeyOnDemand while running: got %v, want ConflictException", err)
	}
	if n := len(u.must("ListKeyRotations", kmsKeyBody(id))["Rotations"].([]any)); n != 0 {
		t.Errorf("rotations while running: got %d, want 0", n)
	}
	u.clock.Advance(defaultOnDemandDelay)
	st = u.must("GetKeyRotationStatus", kmsKeyBody(id))
	if _, ok := st["OnDemandRotationStartDate"]; ok || st["NextRotationDate"] != before {
		t.Errorf("after completion: got %v, want no OnDemandRotationStartDate and NextRotationDate %v", st, before)
	}
	rots := u.must("ListKeyRotations", kmsKeyBody(id))["Rotations"].([]any)
	if len(rots) != 1 || rots[0].(map[string]any)["RotationType"] != "ON_DEMAND" {
		t.Fatalf("after completion: got rotations %v, want one ON_DEMAND", rots)
	}
	u.must("RotateKeyOnDemand", kmsKeyBody(id))
	u.clock.Advance(defaultOnDemandDelay)
	_, err := u.do("RotateKeyOnDemand", kmsKeyBody(id))
	wantMsg := "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: " + arn
	if err == nil || err.Code != "LimitExceededException" || err.Message != wantMsg {
		t.Errorf("third RotateKeyOnDemand with limit 2: got %v, want LimitExceededException %q", err, wantMsg)
	}

	// An automatic rotation due within 20 minutes conflicts.
	id2 := u.must("CreateKey", `{}`)["KeyMetadata"].(map[string]any)["KeyId"].(string)
	u.must("EnableKeyRotation", kmsJSON(map[string]any{"KeyId": id2, "RotationPeriodInDays": 90}))
	u.clock.Advance(90*24*time.Hour - 19*time.Minute)
	if _, err := u.do("RotateKeyOnDemand", kmsKeyBody(id2)); err == nil || err.Code != "ConflictException" {
		t.Errorf("RotateKeyOnDemand 19 minutes before an automatic rotation: got %v, want ConflictException", err)
	}
}

// TestKMSPaging walks every List operation page by page and checks that the
// pages cover the list exactly once, and that foreign markers are refused.
func TestKMSPaging(t *testing.T) {
	t.Parallel()
	e := &Estate{Accounts: []Account{{ID: DefaultAccount, Regions: []string{"us-east-1"}}}}
	created := kmsT0.AddDate(-3, 0, 0)
	for i := range 250 {
		def := KeyDef{Region: "us-east-1", Created: created}
		if i == 0 {
			def.Rotation = RotationDef{Enabled: true, PeriodDays: 90, EnabledAt: created}
			def.Tags = map[string]string{}
			for j := range 50 {
				def.Tags["tag-"+string(rune('a'+j/26))+string(rune('a'+j%26))] = "v"
			}
		}
		if i < 120 {
			def.Aliases = []string{"alias/k" + strconv.Itoa(i)}
		}
		e.Accounts[0].Keys = append(e.Accounts[0].Keys, def)
	}
	u := newKMSUnit(t, e)
	first := u.k.resolveKeyID(DefaultAccount, "us-east-1", "alias/k0")

	tests := []struct {
		op, extra, listField, idField string
		limit, want, pages            int
	}{
		{"ListKeys", "", "Keys", "KeyId", 100, 250, 3},
		{"ListKeys", "", "Keys", "KeyId", 50, 250, 5}, // exact pages: no empty last page
		{"ListKeys", "", "Keys", "KeyId", 1000, 250, 1},
		{"ListAliases", "", "Aliases", "AliasName", 7, 120 + len(predefinedAliases), 20},
		{"ListResourceTags", first, "Tags", "TagKey", 20, 50, 3},
		{"ListResourceTags", first, "Tags", "TagKey", 25, 50, 2},
		// 3 years with 90 days: 12 automatic rotations.
		{"ListKeyRotations", first, "Rotations", "KeyMaterialId", 5, 12, 3},
		{"ListKeyRotations", first, "Rotations", "KeyMaterialId", 4, 12, 3},
	}
	for _, tt := range tests {
		seen := map[string]bool{}
		var marker *string
		pages := 0
		for {
			in := map[string]any{"Limit": tt.limit}
			if tt.extra != "" {
				in["KeyId"] = tt.extra
			}
			if marker != nil {
				in["Marker"] = *marker
			}
			out := u.must(tt.op, kmsJSON(in))
			pages++
			items := out[tt.listField].([]any)
			if len(items) > tt.limit {
				t.Fatalf("%s page %d: %d items, limit %d", tt.op, pages, len(items), tt.limit)
			}
			for _, it := range items {
				id := it.(map[string]any)[tt.idField].(string)
				if seen[id] {
					t.Fatalf("%s: %s on two pages", tt.op, id)
				}
				seen[id] = true
			}
			m, more := out["NextMarker"].(string)
			if out["Truncated"] != more {
				t.Fatalf("%s page %d: Truncated %v with NextMarker %q", tt.op, pages, out["Truncated"], m)
			}
			if !more {
				break
			}
			marker = &m
		}
		if len(seen) != tt.want || pages != tt.pages {
			t.Errorf("%s with limit %d: got %d items on %d pages, want %d on %d", tt.op, tt.limit, len(seen), pages, tt.want, tt.pages)
		}
	}

	// A marker is bound to its listing.
	page := u.must("ListKeys", `{"Limit":10}`)
	keysMarker := page["NextMarker"].(string)
	bad := []struct{ op, body string }{
		{"ListKeys", `{"Marker":"not-a-marker"}`},
		{"ListKeys", kmsJSON(map[string]any{"Marker": keysMarker[:len(keysMarker)-2] + "AA"})},
		{"ListAliases", kmsJSON(map[string]any{"Marker": keysMarker})},
		{"ListResourceTags", kmsJSON(map[string]any{"KeyId": first, "Marker": keysMarker})},
	}
	for _, b := range bad {
		if _, err := u.do(b.op, b.body); err == nil || err.Code != "InvalidMarkerException" {
			t.Errorf("%s %s: got %v, want InvalidMarkerException", b.op, b.body, err)
		}
	}
	if _, err := u.doAs(kmsOtherAccount, "us-east-1", "ListKeys", kmsJSON(map[string]any{"Marker": keysMarker})); err == nil ||
		err.Code != "InvalidMarkerException" {
		t.Errorf("ListKeys with another account's marker: got %v, want InvalidMarkerException", err)
	}
	limits := []struct {
		op    string
		limit int
		msg   string
	}{
		{"ListKeys", 0, "Member must have value greater than or equal to 1"},
		{"ListKeys", 1001, "Member must have value less than or equal to 1000"},
		{"ListAliases", 101, "Member must have value less than or equal to 100"},
		{"ListResourceTags", 51, "Member must have value less than or equal to 50"},
		{"ListKeyRotations", 1001, "Member must have value less than or equal to 1000"},
	}
	for _, l := range limits {
		body := kmsJSON(map[string]any{"KeyId": first, "Limit": l.limit})
		_, err := u.do(l.op, body)
		want := "1 validation error detected: Value '" + kmsJSON(l.limit) + "' at 'limit' failed to satisfy constraint: " + l.msg
		if err == nil || err.Code != "ValidationException" || err.Message != want {
			t.Errorf("%s Limit %d: got %v, want ValidationException %q", l.op, l.limit, err, want)
		}
	}
}

func TestKMSLoadDeterministic(t *testing.T) {
	t.Parallel()
	a, b := newKMSUnit(t, kmsTestEstate()), newKMSUnit(t, kmsTestEstate())
	for _, alias := range []string{"alias/sym", "alias/mrk", "alias/hmac"} {
		if x, y := a.id(alias), b.id(alias); x != y || !isKeyIDFormat(x) {
			t.Errorf("%s: loads gave %s and %s, want one well-formed ID", alias, x, y)
		}
	}
	if id := a.id("alias/mrk"); id[:4] != "mrk-" {
		t.Errorf("multi-Region key ID %s, want mrk- prefix", id)
	}
}

func TestKMSLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		def  KeyDef
	}{
		{"unknown spec", KeyDef{Spec: "AES_256"}},
		{"usage not for spec", KeyDef{Spec: "HMAC_256", Usage: "ENCRYPT_DECRYPT"}},
		{"period too short", KeyDef{Rotation: RotationDef{Enabled: true, PeriodDays: 89}}},
		{"period too long", KeyDef{Rotation: RotationDef{Enabled: true, PeriodDays: 2561}}},
		{"rotation on RSA", KeyDef{Spec: "RSA_2048", Rotation: RotationDef{Enabled: true}}},
		{"rotation on EXTERNAL", KeyDef{Origin: "EXTERNAL", Rotation: RotationDef{Enabled: true}}},
		{"replica Region not enabled", KeyDef{MultiRegion: true, ReplicaRegions: []string{"sa-east-1"}}},
		{"replica in own Region", KeyDef{MultiRegion: true, ReplicaRegions: []string{"us-east-1"}}},
		{"replicas of single-Region key", KeyDef{ReplicaRegions: []string{"eu-west-1"}}},
		{"key Region not enabled", KeyDef{Region: "sa-east-1"}},
		{"unknown state", KeyDef{State: "Gone"}},
		{"unknown origin", KeyDef{Origin: "HSM"}},
		{"bad ID", KeyDef{ID: "not-a-key"}},
		{"mrk ID on single-Region", KeyDef{ID: "mrk-0123456789abcdef0123456789abcdef"}},
		{"alias without prefix", KeyDef{Aliases: []string{"orders"}}},
		{"reserved alias on customer key", KeyDef{Aliases: []string{"alias/aws/s3"}}},
		{"AWS managed RSA", KeyDef{Manager: "AWS", Spec: "RSA_2048"}},
		{"multi-Region custom key store", KeyDef{CustomKeyStoreID: "cks-1", MultiRegion: true}},
		{"PendingImport AWS_KMS", KeyDef{State: "PendingImport"}},
		{"history in the future", KeyDef{Rotation: RotationDef{History: []RotationEvent{{Date: kmsT0.AddDate(0, 0, 1), Type: "AUTOMATIC"}}}}},
		{"history of unknown type", KeyDef{Rotation: RotationDef{History: []RotationEvent{{Date: kmsT0, Type: "MANUAL"}}}}},
		{"reserved tag", KeyDef{Tags: map[string]string{"aws:owner": "x"}}},
		{"deletion date on enabled key", KeyDef{DeletionDate: kmsT0}},
		{"expiring without valid_to", KeyDef{Origin: "EXTERNAL", ExpirationModel: "KEY_MATERIAL_EXPIRES"}},
		{"primary with replicas pending deletion", KeyDef{MultiRegion: true, ReplicaRegions: []string{"eu-west-1"}, State: "PendingDeletion"}},
	}
	for _, tt := range tests {
		def := tt.def
		if def.Region == "" {
			def.Region = "us-east-1"
		}
		e := &Estate{Accounts: []Account{{ID: DefaultAccount, Regions: []string{"us-east-1", "eu-west-1"},
			Keys: []KeyDef{{Region: "us-east-1", Aliases: []string{"alias/first"}}, def}}}}
		k := newKMSService(kmsFrozenClock(kmsT0), 0)
		err := k.load(e)
		if err == nil {
			t.Errorf("%s: load %+v: got no error, want one", tt.name, def)
			continue
		}
		if len(k.stores) != 0 {
			t.Errorf("%s: a failed load left %d stores, want none", tt.name, len(k.stores))
		}
	}
	dup := &Estate{Accounts: []Account{{ID: DefaultAccount, Keys: []KeyDef{
		{Region: "us-east-1", Aliases: []string{"alias/x"}}, {Region: "us-east-1", Aliases: []string{"alias/x"}}}}}}
	if err := newKMSService(nil, 0).load(dup); err == nil {
		t.Errorf("load with a duplicate alias: got no error, want one")
	}
}

// TestKMSSnapshotRestore checks that the whole state survives a round trip,
// including pending on-demand rotations and replica links.
func TestKMSSnapshotRestore(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, kmsTestEstate())
	sym, mrk := u.id("alias/sym"), u.id("alias/mrk")
	u.must("EnableKeyRotation", kmsJSON(map[string]any{"KeyId": sym, "RotationPeriodInDays": 200}))
	u.must("RotateKeyOnDemand", kmsKeyBody(sym))
	data, err := u.k.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	v := newKMSUnit(t, nil)
	if err := v.k.restore(data); err != nil {
		t.Fatalf("restore: %v", err)
	}
	for _, q := range []struct{ op, body string }{
		{"DescribeKey", kmsKeyBody(sym)},
		{"DescribeKey", kmsKeyBody("alias/mrk")},
		{"GetKeyRotationStatus", kmsKeyBody(sym)},
		{"ListKeys", `{"Limit":1000}`},
		{"ListAliases", `{"Limit":100}`},
		{"ListResourceTags", kmsKeyBody(sym)},
	} {
		want, _ := json.Marshal(u.must(q.op, q.body))
		got, _ := json.Marshal(v.must(q.op, q.body))
		if string(got) != string(want) {
			t.Errorf("%s %s after restore:\n got %s\nwant %s", q.op, q.body, got, want)
		}
	}
	replica, _ := v.doAs(DefaultAccount, "eu-west-1", "GetKeyRotationStatus", kmsKeyBody(mrk))
	if replica["KeyRotationEnabled"] != true {
		t.Errorf("replica after restore: got %v, want the primary's rotation", replica)
	}
	v.clock.Advance(defaultOnDemandDelay)
	if n := len(v.must("ListKeyRotations", kmsKeyBody(sym))["Rotations"].([]any)); n != 1 {
		t.Errorf("on-demand rotation pending at snapshot: got %d rotations after restore, want 1", n)
	}
	if err := v.k.restore([]byte(`{"version":1,"stores":[{"account":"1","region":"r","keys":[{"id":""}]}]}`)); err == nil {
		t.Errorf("restore of a broken state: got no error, want one")
	}
}

// TestKMSDeletion checks §4.11: the window, the purge when the clock passes
// it, and a primary that waits for its replicas.
func TestKMSDeletion(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, kmsTestEstate())
	mrk, sym := u.id("alias/mrk"), u.id("alias/sym")
	out := u.must("ScheduleKeyDeletion", kmsJSON(map[string]any{"KeyId": mrk, "PendingWindowInDays": 7}))
	if out["KeyState"] != "PendingReplicaDeletion" || out["DeletionDate"] != nil {
		t.Errorf("ScheduleKeyDeletion on a primary with a replica: got %v, want PendingReplicaDeletion without DeletionDate", out)
	}
	md := u.must("DescribeKey", kmsKeyBody(mrk))["KeyMetadata"].(map[string]any)
	if md["PendingDeletionWindowInDays"] != float64(7) || md["DeletionDate"] != nil {
		t.Errorf("primary metadata: got %v, want PendingDeletionWindowInDays 7 and no DeletionDate", md)
	}
	if _, err := u.doAs(DefaultAccount, "eu-west-1", "ScheduleKeyDeletion", kmsJSON(map[string]any{"KeyId": mrk, "PendingWindowInDays": 7})); err != nil {
		t.Fatalf("ScheduleKeyDeletion on the replica: %v", err)
	}
	u.clock.Advance(7*24*time.Hour + time.Second)
	if _, err := u.doAs(DefaultAccount, "eu-west-1", "DescribeKey", kmsKeyBody(mrk)); err == nil || err.Code != "NotFoundException" {
		t.Errorf("replica after its window: got %v, want NotFoundException", err)
	}
	md = u.must("DescribeKey", kmsKeyBody(mrk))["KeyMetadata"].(map[string]any)
	if md["KeyState"] != "PendingDeletion" || md["DeletionDate"] == nil {
		t.Errorf("primary after its last replica went: got %v, want PendingDeletion with a DeletionDate", md)
	}
	if cfg := md["MultiRegionConfiguration"].(map[string]any); len(cfg["ReplicaKeys"].([]any)) != 0 {
		t.Errorf("primary still lists replicas %v", cfg["ReplicaKeys"])
	}

	u.must("ScheduleKeyDeletion", kmsKeyBody(sym))
	u.clock.Advance(30*24*time.Hour + time.Second)
	if _, err := u.do("DescribeKey", kmsKeyBody("alias/sym")); err == nil || err.Code != "NotFoundException" {
		t.Errorf("alias of a deleted key: got %v, want NotFoundException", err)
	}
	for _, k := range u.must("ListKeys", `{"Limit":1000}`)["Keys"].([]any) {
		if id := k.(map[string]any)["KeyId"]; id == sym || id == mrk {
			t.Errorf("ListKeys still lists deleted key %v", id)
		}
	}
}

// TestKMSImportLifecycle checks the EXTERNAL states and the on-demand
// rotation of imported material (§4.6).
func TestKMSImportLifecycle(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, nil)
	md := u.must("CreateKey", `{"Origin":"EXTERNAL"}`)["KeyMetadata"].(map[string]any)
	id := md["KeyId"].(string)
	if md["KeyState"] != "PendingImport" || md["Enabled"] != false || md["CurrentKeyMaterialId"] != nil {
		t.Fatalf("new EXTERNAL key: got %v, want PendingImport, disabled, no material", md)
	}
	params := func() map[string]any {
		return u.must("GetParametersForImport", kmsJSON(map[string]any{"KeyId": id,
			"WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}))
	}
	imp := func(material string, extra map[string]any) (map[string]any, *apiError) {
		in := map[string]any{"KeyId": id, "ImportToken": params()["ImportToken"],
			"EncryptedKeyMaterial": material, "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
		for k, v := range extra {
			in[k] = v
		}
		return u.do("ImportKeyMaterial", kmsJSON(in))
	}
	if _, err := u.do("RotateKeyOnDemand", kmsKeyBody(id)); err == nil || err.Message != keyARN(DefaultAccount, "us-east-1", id)+" is pending import." {
		t.Errorf("RotateKeyOnDemand before import: got %v, want pending import", err)
	}
	first, err := imp("AAAA", nil)
	if err != nil {
		t.Fatalf("first import: %v", err)
	}
	md = u.must("DescribeKey", kmsKeyBody(id))["KeyMetadata"].(map[string]any)
	if md["KeyState"] != "Enabled" || md["CurrentKeyMaterialId"] != first["KeyMaterialId"] ||
		md["ExpirationModel"] != "KEY_MATERIAL_DOES_NOT_EXPIRE" {
		t.Errorf("after import: got %v, want Enabled with material %v", md, first["KeyMaterialId"])
	}
	if _, err := u.do("RotateKeyOnDemand", kmsKeyBody(id)); err == nil || err.Code != "KMSInvalidStateException" {
		t.Errorf("RotateKeyOnDemand without pending material: got %v, want KMSInvalidStateException", err)
	}
	second, err := imp("BBBB", map[string]any{"ImportType": "NEW_KEY_MATERIAL"})
	if err != nil {
		t.Fatalf("new material: %v", err)
	}
	if _, err := imp("CCCC", map[string]any{"ImportType": "NEW_KEY_MATERIAL"}); err == nil ||
		err.Message != "New key material (id: "+materialID(id, []byte{0x08, 0x20, 0x82})+") cannot be imported into KMS key "+
			id+", because another key material (id: "+second["KeyMaterialId"].(string)+") is pending rotation." {
		t.Errorf("second pending import: got %v, want the recorded KMSInvalidStateException", err)
	}
	all := u.must("ListKeyRotations", kmsJSON(map[string]any{"KeyId": id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}))
	states := []any{}
	for _, r := range all["Rotations"].([]any) {
		states = append(states, r.(map[string]any)["KeyMaterialState"])
	}
	if kmsJSON(states) != `["CURRENT","PENDING_ROTATION"]` {
		t.Errorf("material states before rotation: got %v, want CURRENT, PENDING_ROTATION", states)
	}
	u.must("RotateKeyOnDemand", kmsKeyBody(id))
	u.clock.Advance(defaultOnDemandDelay)
	md = u.must("DescribeKey", kmsKeyBody(id))["KeyMetadata"].(map[string]any)
	if md["CurrentKeyMaterialId"] != second["KeyMaterialId"] {
		t.Errorf("after rotation: CurrentKeyMaterialId %v, want %v", md["CurrentKeyMaterialId"], second["KeyMaterialId"])
	}
	rots := u.must("ListKeyRotations", kmsKeyBody(id))["Rotations"].([]any)
	if len(rots) != 1 || rots[0].(map[string]any)["ImportState"] != "IMPORTED" || rots[0].(map[string]any)["RotationType"] != "ON_DEMAND" {
		t.Errorf("ListKeyRotations after rotation: got %v, want one imported ON_DEMAND rotation", rots)
	}

	// Expiring material sends the key back to PendingImport.
	exp := u.must("CreateKey", `{"Origin":"EXTERNAL"}`)["KeyMetadata"].(map[string]any)["KeyId"].(string)
	id = exp
	if _, err := imp("DDDD", map[string]any{"ExpirationModel": "KEY_MATERIAL_EXPIRES",
		"ValidTo": float64(u.clock.Now().Add(time.Hour).Unix())}); err != nil {
		t.Fatalf("expiring import: %v", err)
	}
	md = u.must("DescribeKey", kmsKeyBody(exp))["KeyMetadata"].(map[string]any)
	if md["ValidTo"] == nil || md["KeyState"] != "Enabled" {
		t.Errorf("expiring import: got %v, want Enabled with ValidTo", md)
	}
	u.clock.Advance(time.Hour)
	md = u.must("DescribeKey", kmsKeyBody(exp))["KeyMetadata"].(map[string]any)
	if md["KeyState"] != "PendingImport" || md["ValidTo"] != nil || md["ExpirationModel"] != nil || md["CurrentKeyMaterialId"] == nil {
		t.Errorf("after expiry: got %v, want PendingImport keeping CurrentKeyMaterialId, without ValidTo", md)
	}
	if _, err := imp("DDDD", nil); err != nil {
		t.Errorf("reimport of the same material: %v", err)
	}
	if _, err := imp("EEEE", nil); err == nil || err.Code != "IncorrectKeyMaterialException" {
		t.Errorf("reimport of other material: got %v, want IncorrectKeyMaterialException", err)
	}
}

// TestKMSConcurrent mixes readers, writers and a moving clock; run with
// -race it checks the locking of the lazy settle and the DescribeKey cache.
func TestKMSConcurrent(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, kmsTestEstate())
	ids := []string{u.id("alias/sym"), u.id("alias/rotating"), u.id("alias/mrk"), u.id("alias/disabled")}
	done := make(chan struct{})
	errs := make(chan string, 64)
	call := func(op, body string) {
		_, err := u.k.handle(&call{Op: op, Account: DefaultAccount, Region: "us-east-1", Body: []byte(body), Now: u.clock.Now()})
		if err != nil && err.Code != "ConflictException" && err.Code != "LimitExceededException" &&
			err.Code != "DisabledException" {
			select {
			case errs <- op + " " + body + ": " + err.Error():
			default:
			}
		}
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				id := ids[(g+i)%len(ids)]
				switch (g + i) % 7 {
				case 0, 1, 2:
					call("DescribeKey", kmsKeyBody(id))
				case 3:
					call("GetKeyRotationStatus", kmsKeyBody(id))
				case 4:
					call("ListKeys", `{}`)
				case 5:
					if id != ids[3] && id != ids[2] {
						call("EnableKeyRotation", kmsJSON(map[string]any{"KeyId": id, "RotationPeriodInDays": 90 + i%100}))
					}
				case 6:
					if id == ids[0] {
						call("RotateKeyOnDemand", kmsKeyBody(id))
					}
				}
			}
		}()
	}
	for range 200 {
		u.clock.Advance(24 * time.Hour)
		time.Sleep(100 * time.Microsecond)
	}
	close(done)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent call: %s", e)
	}
	// The cache must agree with a fresh rendering after all that.
	for _, id := range ids {
		s := u.k.stores[regionKey{DefaultAccount, "us-east-1"}]
		key := s.keys[id]
		cached, _ := key.describeBody()
		key.desc.Store(nil)
		fresh, _ := key.describeBody()
		if string(cached) != string(fresh) {
			t.Errorf("%s: cached DescribeKey body\n%s\ndiffers from a fresh one\n%s", id, cached, fresh)
		}
	}
}

// TestKMSResolveKeyID checks the lookup the frame's deny rules use.
func TestKMSResolveKeyID(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, kmsTestEstate())
	sym, mrk := u.id("alias/sym"), u.id("alias/mrk")
	tests := []struct {
		account, region, keyID, want string
	}{
		{DefaultAccount, "us-east-1", sym, sym},
		{DefaultAccount, "us-east-1", keyARN(DefaultAccount, "us-east-1", sym), sym},
		{DefaultAccount, "us-east-1", "alias/sym", sym},
		{DefaultAccount, "us-east-1", aliasARN(DefaultAccount, "us-east-1", "alias/sym"), sym},
		{DefaultAccount, "eu-west-1", mrk, mrk},
		{DefaultAccount, "eu-west-1", sym, ""},
		{DefaultAccount, "us-east-1", keyARN(DefaultAccount, "eu-west-1", sym), ""},
		{DefaultAccount, "us-east-1", "alias/nope", ""},
		{DefaultAccount, "us-east-1", "alias/aws/s3", ""},
		{DefaultAccount, "us-east-1", keyARN(kmsOtherAccount, "us-east-1", "11111111-2222-4333-8444-555555555555"),
			"11111111-2222-4333-8444-555555555555"},
		{kmsOtherAccount, "us-east-1", sym, ""},
		{DefaultAccount, "us-east-1", "arn:aws:kms:us-east-1", ""},
		{DefaultAccount, "us-east-1", "", ""},
	}
	for _, tt := range tests {
		if got := u.k.resolveKeyID(tt.account, tt.region, tt.keyID); got != tt.want {
			t.Errorf("resolveKeyID(%s, %s, %q): got %q, want %q", tt.account, tt.region, tt.keyID, got, tt.want)
		}
	}
}

// TestKMSCreateKeyRules checks CreateKey's input rules (§4.10).
func TestKMSCreateKeyRules(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, nil)
	tests := []struct {
		body, code, msg string
	}{
		{`{"KeySpec":"RSA_2048"}`, "ValidationException", "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."},
		{`{"KeySpec":"HMAC_256","KeyUsage":"ENCRYPT_DECRYPT"}`, "ValidationException", ""},
		{`{"KeySpec":"AES_256"}`, "ValidationException", ""},
		{`{"KeyUsage":"RANDOM"}`, "ValidationException", ""},
		{`{"KeySpec":"RSA_2048","CustomerMasterKeySpec":"RSA_2048","KeyUsage":"SIGN_VERIFY"}`, "ValidationException", ""},
		{`{"Origin":"AWS_CLOUDHSM"}`, "ValidationException", ""},
		{`{"Origin":"EXTERNAL_KEY_STORE","CustomKeyStoreId":"cks-1"}`, "ValidationException", ""},
		{`{"CustomKeyStoreId":"cks-1","MultiRegion":true}`, "UnsupportedOperationException", ""},
		{`{"Policy":"not json"}`, "MalformedPolicyDocumentException", ""},
		{`{"Tags":[{"TagKey":"a","TagValue":"1"},{"TagKey":"a","TagValue":"2"}]}`, "TagException", "Duplicate tag keys"},
		{`{"Tags":[{"TagKey":"AWS:a","TagValue":"1"}]}`, "TagException", "Tags beginning with aws: are reserved"},
		{`{"Tags":[{"TagKey":"a"}]}`, "ValidationException",
			"1 validation error detected: Value null at 'tags.1.member.tagValue' failed to satisfy constraint: Member must not be null"},
		{`{"KeySpec":"ML_KEM_512","KeyUsage":"ENCAPSULATE_DECAPSULATE"}`, "", ""},
		{`{"CustomKeyStoreId":"cks-1"}`, "", ""},
		{`{"Origin":"EXTERNAL_KEY_STORE","CustomKeyStoreId":"cks-1","XksKeyId":"k1"}`, "", ""},
	}
	for _, tt := range tests {
		out, err := u.do("CreateKey", tt.body)
		code, msg := "", ""
		if err != nil {
			code, msg = err.Code, err.Message
		}
		if code != tt.code || (tt.msg != "" && msg != tt.msg) {
			t.Errorf("CreateKey %s: got %q %q, want %q %q", tt.body, code, msg, tt.code, tt.msg)
		}
		if tt.code == "" && out["KeyMetadata"] == nil {
			t.Errorf("CreateKey %s: got %v, want KeyMetadata", tt.body, out)
		}
	}
	var tags []map[string]string
	for i := range 51 {
		tags = append(tags, map[string]string{"TagKey": "k" + strconv.Itoa(i), "TagValue": ""})
	}
	if _, err := u.do("CreateKey", kmsJSON(map[string]any{"Tags": tags})); err == nil || err.Message != "Too many tags" {
		t.Errorf("CreateKey with 51 tags: got %v, want TagException Too many tags", err)
	}
}

// TestKMSWrappingKeys checks that GetParametersForImport hands out real
// public keys a client can wrap material with.
func TestKMSWrappingKeys(t *testing.T) {
	t.Parallel()
	for _, spec := range wrappingKeySpecs {
		der := wrappingPublicKey(spec)
		pub, err := x509.ParsePKIXPublicKey(der)
		if spec == "SM2" {
			// Go's x509 does not know the SM2 curve; the bytes are a DER SPKI.
			if len(der) != 91 || der[0] != 0x30 {
				t.Errorf("%s: got %d bytes %x, want a 91-byte SPKI", spec, len(der), der[:2])
			}
			continue
		}
		rsaPub, ok := pub.(*rsa.PublicKey)
		if err != nil || !ok || rsaPub.N.BitLen() != rsaBitsOf(spec) {
			t.Errorf("%s: got %T (%v), want a %d-bit RSA key", spec, pub, err, rsaBitsOf(spec))
		}
	}
}

func rsaBitsOf(spec string) int {
	n, _ := strconv.Atoi(spec[len("RSA_"):])
	return n
}

// TestKMSDelays checks that zero delays complete on-demand rotations and
// replica creation at the next request.
func TestKMSDelays(t *testing.T) {
	t.Parallel()
	u := newKMSUnit(t, kmsTestEstate())
	u.k.setDelays(0, 0)
	sym, mrk := u.id("alias/sym"), u.id("alias/mrk")
	u.must("RotateKeyOnDemand", kmsKeyBody(sym))
	if n := len(u.must("ListKeyRotations", kmsKeyBody(sym))["Rotations"].([]any)); n != 1 {
		t.Errorf("on-demand rotation with no delay: got %d rotations, want 1", n)
	}
	out := u.must("ReplicateKey", kmsJSON(map[string]any{"KeyId": mrk, "ReplicaRegion": "ap-southeast-2"}))
	if st := out["ReplicaKeyMetadata"].(map[string]any)["KeyState"]; st != "Enabled" {
		t.Errorf("replica with no delay: got %v, want Enabled", st)
	}
}

// TestKMSLoadsFrameEstates checks that the built-in demo and a generated
// estate load, and that every demo key answers DescribeKey and, where its
// class allows, GetKeyRotationStatus.
func TestKMSLoadsFrameEstates(t *testing.T) {
	t.Parallel()
	gen, err := Generate("accounts=3,regions=2,keys=40,rotating=0.5,seed=7")
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	for name, e := range map[string]*Estate{"demo": DemoEstateAt(kmsT0), "generated": gen} {
		u := newKMSUnit(t, e)
		n := 0
		for _, s := range u.k.stores {
			for _, id := range s.ids {
				n++
				if _, err := u.doAs(s.account, s.region, "DescribeKey", kmsKeyBody(id)); err != nil {
					t.Errorf("%s: DescribeKey %s in %s/%s: %v", name, id, s.account, s.region, err)
				}
				key := s.keys[id]
				_, err := u.doAs(s.account, s.region, "GetKeyRotationStatus", kmsKeyBody(id))
				if wantErr := key.Origin != originAWSKMS || key.State == statePendingImport; (err != nil) != wantErr {
					t.Errorf("%s: GetKeyRotationStatus %s (%s %s %s): got %v, want error %v", name, id, key.Spec, key.Origin, key.State, err, wantErr)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no keys loaded", name)
		}
	}
}

// TestKMSFastKeyID checks that the fast path reads only what the general
// decoder would read the same way.
func TestKMSFastKeyID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want string
		ok   bool
	}{
		{`{"KeyId":"alias/x"}`, "alias/x", true},
		{`{"KeyId":"arn:aws:kms:us-east-1:123456789012:key/` + keyUUIDForTest + `"}`, "arn:aws:kms:us-east-1:123456789012:key/" + keyUUIDForTest, true},
		{`{"KeyId":""}`, "", false},
		{`{"KeyId":"a\"b"}`, "", false},
		{`{"KeyId":"a\u0041"}`, "", false},
		{`{"KeyId":"a"} `, "", false},
		{`{"KeyId": "a"}`, "", false},
		{`{"KeyId":"a","GrantTokens":[]}`, "", false},
		{"{\"KeyId\":\"caf\xc3\xa9\"}", "", false},
		{`{"KeyId":"a"`, "", false},
	}
	for _, tt := range tests {
		got, ok := fastKeyID([]byte(tt.body))
		if got != tt.want || ok != tt.ok {
			t.Errorf("fastKeyID(%s): got %q %v, want %q %v", tt.body, got, ok, tt.want, tt.ok)
		}
		if ok {
			var in keyIDInput
			if err := json.Unmarshal([]byte(tt.body), &in); err != nil || *in.KeyID != got {
				t.Errorf("fastKeyID(%s) = %q, but encoding/json reads %v (%v)", tt.body, got, in.KeyID, err)
			}
		}
	}
}

const keyUUIDForTest = "0d6d4c6e-5b8a-4f43-9c1e-6f5b2a7e9d10"
