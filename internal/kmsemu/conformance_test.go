package kmsemu

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// The KMS kmsConformance suite: one table of scenarios covering §4–§7 of
// shared/reference/kms-api.md (and the wire rules of §1–§3 they rest on).
// Every row cites the row or section of the reference it checks, and runs
// through the real aws-sdk-go-v2 KMS client over HTTP against the emulator
// (Start), each row against a fresh emulator holding kmsTestEstate at kmsT0.
// Rows that check exact bodies, statuses or field presence send signed raw
// HTTP requests.
//
// Messages may name a key by its alias in braces, "{alias/rsa}", which
// stands for that key's ARN in us-east-1 of the default account.

// conf is what a row's steps work with.
type conf struct {
	t     *testing.T
	ctx   context.Context
	env   *kmsEnv
	c     *kms.Client // default account, us-east-1
	other *kms.Client // kmsOtherAccount, us-east-1
	ids   map[string]string
}

func (x *conf) in(region string) *kms.Client { return x.env.client(DefaultAccount, region) }

// id is the key ID behind an alias of the default account in us-east-1.
func (x *conf) id(alias string) string {
	x.t.Helper()
	if id, ok := x.ids[alias]; ok {
		return id
	}
	out, err := x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	if err != nil {
		x.t.Fatalf("resolve %s: %v", alias, err)
	}
	x.ids[alias] = *out.KeyMetadata.KeyId
	return x.ids[alias]
}

func (x *conf) idp(alias string) *string { return aws.String(x.id(alias)) }

func (x *conf) arn(alias string) string { return keyARN(DefaultAccount, "us-east-1", x.id(alias)) }

var confBraced = regexp.MustCompile(`\{(alias/[^}]+)\}`)

// expand replaces {alias/…} with the key's ARN, {id} with the ID of
// alias/sym and {mrk} with the ID of alias/mrk.
func (x *conf) expand(s string) string {
	s = confBraced.ReplaceAllStringFunc(s, func(m string) string { return x.arn(m[1 : len(m)-1]) })
	if strings.Contains(s, "{id}") {
		s = strings.ReplaceAll(s, "{id}", x.id("alias/sym"))
	}
	if strings.Contains(s, "{mrk}") {
		s = strings.ReplaceAll(s, "{mrk}", x.id("alias/mrk"))
	}
	return s
}

// newKey creates a key through the API and returns its ID.
func (x *conf) newKey(in *kms.CreateKeyInput) string {
	x.t.Helper()
	if in == nil {
		in = &kms.CreateKeyInput{}
	}
	out, err := x.c.CreateKey(x.ctx, in)
	if err != nil {
		x.t.Fatalf("create key: %v", err)
	}
	return *out.KeyMetadata.KeyId
}

// confRaw is the outcome of a raw request.
type confRaw struct {
	status int
	body   []byte
}

func (x *conf) raw(op, body string) (any, error) {
	status, data := x.env.raw(x.t, "us-east-1", op, x.expand(body))
	return confRaw{status, data}, nil
}

// confRow is one scenario: steps that end in one call, the error code and
// message AWS gives ("" for a success), and checks of the output.
type confRow struct {
	ref   string
	name  string
	limit int // OnDemandLimit; 0 is the default
	run   func(x *conf) (any, error)
	code  string
	msg   string
	// check returns "" when the output is right, else "got …, want …".
	check func(x *conf, out any) string
}

// Checks used by several rows.

func confFieldsAre(want ...string) func(x *conf, out any) string {
	return func(x *conf, out any) string {
		r := out.(confRaw)
		var got []string
		for name := range kmsFields(x.t, r.body) {
			got = append(got, name)
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			return fmt.Sprintf("fields %v, want %v", got, want)
		}
		return ""
	}
}

// confMetadataHas checks KeyMetadata of a raw DescribeKey: the members it must
// have (with a value, when given as name=json) and the ones it must lack.
func confMetadataHas(has []string, lacks ...string) func(x *conf, out any) string {
	return func(x *conf, out any) string {
		r := out.(confRaw)
		if r.status != 200 {
			return fmt.Sprintf("status %d %s, want 200", r.status, r.body)
		}
		md := kmsFields(x.t, kmsFields(x.t, r.body)["KeyMetadata"])
		for _, h := range has {
			name, val, withVal := strings.Cut(h, "=")
			got, ok := md[name]
			switch {
			case !ok:
				return fmt.Sprintf("KeyMetadata %s lacks %s", r.body, name)
			case withVal && confCompact(got) != x.expand(val):
				return fmt.Sprintf("%s is %s, want %s", name, got, x.expand(val))
			}
		}
		for _, l := range lacks {
			if v, ok := md[l]; ok {
				return fmt.Sprintf("KeyMetadata has %s=%s, want it absent", l, v)
			}
		}
		return ""
	}
}

func confCompact(raw json.RawMessage) string {
	var v any
	_ = json.Unmarshal(raw, &v)
	b, _ := json.Marshal(v)
	return string(b)
}

func confRotationIs(enabled bool, period int32, next time.Time) func(x *conf, out any) string {
	return func(x *conf, out any) string {
		o := out.(*kms.GetKeyRotationStatusOutput)
		got := fmt.Sprintf("enabled=%v period=%v next=%v", o.KeyRotationEnabled,
			aws.ToInt32(o.RotationPeriodInDays), aws.ToTime(o.NextRotationDate).UTC())
		want := fmt.Sprintf("enabled=%v period=%v next=%v", enabled, period, next.UTC())
		if got != want {
			return got + ", want " + want
		}
		return ""
	}
}

func confDescribe(alias string) func(x *conf) (any, error) {
	return func(x *conf) (any, error) { return x.raw("DescribeKey", `{"KeyId":"`+alias+`"}`) }
}

func confStatus(alias string) func(x *conf) (any, error) {
	return func(x *conf) (any, error) {
		return x.c.GetKeyRotationStatus(x.ctx, &kms.GetKeyRotationStatusInput{KeyId: x.idp(alias)})
	}
}

func confEnable(alias string) func(x *conf) (any, error) {
	return func(x *conf) (any, error) {
		return x.c.EnableKeyRotation(x.ctx, &kms.EnableKeyRotationInput{KeyId: x.idp(alias)})
	}
}

func confDisable(alias string) func(x *conf) (any, error) {
	return func(x *conf) (any, error) {
		return x.c.DisableKeyRotation(x.ctx, &kms.DisableKeyRotationInput{KeyId: x.idp(alias)})
	}
}

func confRotate(alias string) func(x *conf) (any, error) {
	return func(x *conf) (any, error) {
		return x.c.RotateKeyOnDemand(x.ctx, &kms.RotateKeyOnDemandInput{KeyId: x.idp(alias)})
	}
}

func confRotations(alias string) func(x *conf) (any, error) {
	return func(x *conf) (any, error) {
		return x.c.ListKeyRotations(x.ctx, &kms.ListKeyRotationsInput{KeyId: x.idp(alias)})
	}
}

func confDisableKey(alias string) func(x *conf) (any, error) {
	return func(x *conf) (any, error) {
		return x.c.DisableKey(x.ctx, &kms.DisableKeyInput{KeyId: x.idp(alias)})
	}
}

func confSchedule(alias string) func(x *conf) (any, error) {
	return func(x *conf) (any, error) {
		return x.c.ScheduleKeyDeletion(x.ctx, &kms.ScheduleKeyDeletionInput{KeyId: x.idp(alias), PendingWindowInDays: aws.Int32(7)})
	}
}

// confNoMessage is a row's msg when AWS answers with an empty message.
const confNoMessage = "(empty)"

const confUUID = "0d6d4c6e-5b8a-4f43-9c1e-6f5b2a7e9d10"

var confCreated = kmsT0.AddDate(-1, 0, 0)

var kmsConformance = []confRow{
	// §1 Wire protocol.
	{ref: "§1 error body and HTTP 400", name: "NotFound is 400 {__type, message}",
		run: func(x *conf) (any, error) { return x.raw("DescribeKey", `{"KeyId":"`+confUUID+`"}`) },
		check: func(x *conf, out any) string {
			r := out.(confRaw)
			want := `{"__type":"NotFoundException","message":"Key 'arn:aws:kms:us-east-1:123456789012:key/` + confUUID + `' does not exist"}`
			if r.status != 400 || confCompact(r.body) != want {
				return fmt.Sprintf("%d %s, want 400 %s", r.status, r.body, want)
			}
			return ""
		}},
	{ref: "§1 success responses: empty body", name: "EnableKeyRotation answers 200 with an empty body",
		run: func(x *conf) (any, error) { return x.raw("EnableKeyRotation", `{"KeyId":"{alias/sym}"}`) },
		check: func(x *conf, out any) string {
			if r := out.(confRaw); r.status != 200 || len(strings.TrimSpace(string(r.body))) != 0 {
				return fmt.Sprintf("%d %q, want 200 and no body", r.status, r.body)
			}
			return ""
		}},
	{ref: "§1 malformed body (SerializationException)", name: "malformed JSON",
		run: func(x *conf) (any, error) { return x.raw("DescribeKey", `{"KeyId":`) },
		check: func(x *conf, out any) string {
			r := out.(confRaw)
			if r.status != 400 || !strings.Contains(string(r.body), `"__type":"SerializationException"`) {
				return fmt.Sprintf("%d %s, want 400 SerializationException", r.status, r.body)
			}
			return ""
		}},
	{ref: "§1 timestamps are epoch seconds", name: "CreationDate is a JSON number",
		run: confDescribe("alias/sym"),
		check: func(x *conf, out any) string {
			md := kmsFields(x.t, kmsFields(x.t, out.(confRaw).body)["KeyMetadata"])
			if got, want := string(md["CreationDate"]), fmt.Sprint(confCreated.Unix()); got != want {
				return "CreationDate " + got + ", want " + want
			}
			return ""
		}},
	{ref: "§4 ValidationException: missing required KeyId", name: "DescribeKey without KeyId",
		run: func(x *conf) (any, error) { return x.raw("DescribeKey", `{}`) },
		check: func(x *conf, out any) string {
			r := out.(confRaw)
			want := `{"__type":"ValidationException","message":"1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"}`
			if r.status != 400 || confCompact(r.body) != want {
				return fmt.Sprintf("%d %s, want 400 %s", r.status, r.body, want)
			}
			return ""
		}},

	// §2 Identifiers.
	{ref: "§2 DescribeKey accepts ID, ARN, alias, alias ARN", name: "four ways to name one key",
		run: func(x *conf) (any, error) {
			var got []string
			for _, ref := range []string{x.id("alias/sym"), x.arn("alias/sym"), "alias/sym",
				aliasARN(DefaultAccount, "us-east-1", "alias/sym")} {
				out, err := x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
				if err != nil {
					return nil, err
				}
				got = append(got, *out.KeyMetadata.KeyId)
			}
			return got, nil
		},
		check: func(x *conf, out any) string {
			for _, id := range out.([]string) {
				if id != x.id("alias/sym") {
					return fmt.Sprintf("key IDs %v, want all %s", out, x.id("alias/sym"))
				}
			}
			return ""
		}},
	{ref: "§2 DescribeKey unknown ID", name: "well-formed ID of no key",
		run: func(x *conf) (any, error) {
			return x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: aws.String(confUUID)})
		},
		code: "NotFoundException", msg: "Key 'arn:aws:kms:us-east-1:123456789012:key/" + confUUID + "' does not exist"},
	{ref: "§2 DescribeKey malformed ID", name: "fake-key-id",
		run: func(x *conf) (any, error) {
			return x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: aws.String("fake-key-id")})
		},
		code: "NotFoundException", msg: "Invalid keyId 'fake-key-id'"},
	{ref: "§2 DescribeKey malformed mrk ID", name: "mrk-fake-key-id",
		run: func(x *conf) (any, error) {
			return x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: aws.String("mrk-fake-key-id")})
		},
		code: "NotFoundException", msg: "Invalid keyId 'mrk-fake-key-id'"},
	{ref: "§2 ARN of another Region", name: "ARN of eu-west-1 asked in us-east-1",
		run: func(x *conf) (any, error) {
			return x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: aws.String(
				keyARN(DefaultAccount, "eu-west-1", x.id("alias/sym")))})
		},
		code: "NotFoundException", msg: "Invalid arn eu-west-1"},
	{ref: "§2 ID of a key in another Region", name: "us-east-1 key ID asked in ap-southeast-2",
		run: func(x *conf) (any, error) {
			return x.in("ap-southeast-2").DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: x.idp("alias/sym")})
		},
		code: "NotFoundException", msg: "Key 'arn:aws:kms:ap-southeast-2:123456789012:key/{id}' does not exist"},
	{ref: "§2 alias that does not exist", name: "DescribeKey alias/nope",
		run: func(x *conf) (any, error) {
			return x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/nope")})
		},
		code: "NotFoundException", msg: "Alias arn:aws:kms:us-east-1:123456789012:alias/nope is not found."},
	{ref: "§2 cross-account DescribeKey by ARN", name: "member key described from the management account",
		run: func(x *conf) (any, error) {
			return x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: aws.String(
				keyARN(kmsOtherAccount, "us-east-1", "11111111-2222-4333-8444-555555555555"))})
		},
		check: func(x *conf, out any) string {
			if got := aws.ToString(out.(*kms.DescribeKeyOutput).KeyMetadata.AWSAccountId); got != kmsOtherAccount {
				return "AWSAccountId " + got + ", want " + kmsOtherAccount
			}
			return ""
		}},
	{ref: "§2 cross-account GetKeyRotationStatus by ARN", name: "member key rotation read from the management account",
		run: func(x *conf) (any, error) {
			return x.c.GetKeyRotationStatus(x.ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(
				keyARN(kmsOtherAccount, "us-east-1", "11111111-2222-4333-8444-555555555555"))})
		},
		check: confRotationIs(true, 365, confCreated.AddDate(0, 0, 365*2))},
	{ref: "§2 cross-account use: No (EnableKeyRotation)", name: "member key enabled from the management account",
		run: func(x *conf) (any, error) {
			return x.c.EnableKeyRotation(x.ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(
				keyARN(kmsOtherAccount, "us-east-1", "11111111-2222-4333-8444-555555555555"))})
		},
		code: "AccessDeniedException"},
	{ref: "§2 / §13 item 6 rotation operations take key ID or ARN", name: "GetKeyRotationStatus with an alias",
		run: func(x *conf) (any, error) {
			return x.c.GetKeyRotationStatus(x.ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String("alias/sym")})
		},
		code: "NotFoundException", msg: "Invalid keyId 'alias/sym'"},

	// §3 KeyMetadata field presence.
	{ref: "§3 fresh symmetric key: exact field set", name: "CreateKey symmetric",
		run: func(x *conf) (any, error) { return x.raw("CreateKey", `{"Description":"test key 123"}`) },
		check: func(x *conf, out any) string {
			r := out.(confRaw)
			return confFieldsAre("AWSAccountId", "Arn", "CreationDate", "CurrentKeyMaterialId", "CustomerMasterKeySpec",
				"Description", "Enabled", "EncryptionAlgorithms", "KeyId", "KeyManager", "KeySpec", "KeyState",
				"KeyUsage", "MultiRegion", "Origin")(x, confRaw{r.status, kmsFields(x.t, r.body)["KeyMetadata"]})
		}},
	{ref: "§3 MultiRegion false on single-Region keys", name: "single-Region key",
		run: confDescribe("alias/sym"),
		check: confMetadataHas([]string{"MultiRegion=false", "Enabled=true", `EncryptionAlgorithms=["SYMMETRIC_DEFAULT"]`},
			"MultiRegionConfiguration", "DeletionDate", "ExpirationModel", "ValidTo", "CustomKeyStoreId")},
	{ref: "§3 HMAC: MacAlgorithms, no CurrentKeyMaterialId", name: "HMAC_256",
		run: confDescribe("alias/hmac"),
		check: confMetadataHas([]string{`MacAlgorithms=["HMAC_SHA_256"]`, `KeyUsage="GENERATE_VERIFY_MAC"`, `CustomerMasterKeySpec="HMAC_256"`},
			"EncryptionAlgorithms", "SigningAlgorithms", "CurrentKeyMaterialId")},
	{ref: "§3 RSA encryption algorithms", name: "RSA_4096 ENCRYPT_DECRYPT",
		run:   confDescribe("alias/rsa"),
		check: confMetadataHas([]string{`EncryptionAlgorithms=["RSAES_OAEP_SHA_1","RSAES_OAEP_SHA_256"]`}, "SigningAlgorithms", "CurrentKeyMaterialId")},
	{ref: "§3 RSA signing algorithms", name: "RSA_2048 SIGN_VERIFY",
		run: confDescribe("alias/rsa-sign"),
		check: confMetadataHas([]string{`SigningAlgorithms=["RSASSA_PSS_SHA_256","RSASSA_PSS_SHA_384","RSASSA_PSS_SHA_512","RSASSA_PKCS1_V1_5_SHA_256","RSASSA_PKCS1_V1_5_SHA_384","RSASSA_PKCS1_V1_5_SHA_512"]`},
			"EncryptionAlgorithms")},
	{ref: "§3 KeyAgreementAlgorithms", name: "ECC_NIST_P256 KEY_AGREEMENT",
		run:   confDescribe("alias/ecc-ka"),
		check: confMetadataHas([]string{`KeyAgreementAlgorithms=["ECDH"]`}, "SigningAlgorithms")},
	{ref: "§3 ML-DSA: not in the CustomerMasterKeySpec enum", name: "ML_DSA_65",
		run:   confDescribe("alias/ml-dsa"),
		check: confMetadataHas([]string{`SigningAlgorithms=["ML_DSA_SHAKE_256"]`, `KeySpec="ML_DSA_65"`}, "CustomerMasterKeySpec")},
	{ref: "§3 ML-KEM: EncapsulationAlgorithms", name: "ML_KEM_768",
		run:   confDescribe("alias/ml-kem"),
		check: confMetadataHas([]string{`EncapsulationAlgorithms=["ML_KEM"]`, `KeyUsage="ENCAPSULATE_DECAPSULATE"`})},
	{ref: "§3 ExpirationModel only EXTERNAL", name: "imported, not expiring",
		run:   confDescribe("alias/ext"),
		check: confMetadataHas([]string{`ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE"`, `Origin="EXTERNAL"`, "CurrentKeyMaterialId"}, "ValidTo")},
	{ref: "§3 ValidTo only EXTERNAL expiring", name: "imported, expiring",
		run:   confDescribe("alias/ext-expiring"),
		check: confMetadataHas([]string{`ExpirationModel="KEY_MATERIAL_EXPIRES"`, fmt.Sprintf("ValidTo=%d", kmsT0.Add(48*time.Hour).Unix())})},
	{ref: "§3 fresh EXTERNAL key", name: "PendingImport",
		run:   confDescribe("alias/ext-pending"),
		check: confMetadataHas([]string{"Enabled=false", `KeyState="PendingImport"`}, "CurrentKeyMaterialId", "ExpirationModel")},
	{ref: "§3 CustomKeyStoreId, CloudHsmClusterId", name: "AWS_CLOUDHSM",
		run:   confDescribe("alias/cloudhsm"),
		check: confMetadataHas([]string{`CustomKeyStoreId="cks-0123456789abcdef0"`, "CloudHsmClusterId"}, "XksKeyConfiguration", "CurrentKeyMaterialId")},
	{ref: "§3 XksKeyConfiguration", name: "EXTERNAL_KEY_STORE",
		run:   confDescribe("alias/xks"),
		check: confMetadataHas([]string{`XksKeyConfiguration={"Id":"ext-key-1"}`, `CustomKeyStoreId="cks-abcdef0123456789a"`}, "CloudHsmClusterId")},
	{ref: "§3 MultiRegionConfiguration of a primary", name: "primary lists its replica",
		run: confDescribe("alias/mrk"),
		check: confMetadataHas([]string{"MultiRegion=true",
			`MultiRegionConfiguration={"MultiRegionKeyType":"PRIMARY","PrimaryKey":{"Arn":"{alias/mrk}","Region":"us-east-1"},"ReplicaKeys":[{"Arn":"arn:aws:kms:eu-west-1:123456789012:key/{mrk}","Region":"eu-west-1"}]}`})},
	{ref: "§3 DeletionDate only PendingDeletion", name: "pending deletion",
		run:   confDescribe("alias/pending-deletion"),
		check: confMetadataHas([]string{fmt.Sprintf("DeletionDate=%d", kmsT0.AddDate(0, 0, 10).Unix()), "Enabled=false"}, "PendingDeletionWindowInDays")},
	{ref: "§3 KeyManager AWS", name: "AWS managed key",
		run:   confDescribe("alias/aws/ebs"),
		check: confMetadataHas([]string{`KeyManager="AWS"`, "CurrentKeyMaterialId"})},
	{ref: "§4.2 DescribeKey creates a predefined AWS managed key", name: "alias/aws/s3",
		run:   confDescribe("alias/aws/s3"),
		check: confMetadataHas([]string{`KeyManager="AWS"`, `KeyState="Enabled"`})},

	// §4.1 ListKeys.
	{ref: "§4.1 ListKeys lists every state and AWS managed keys", name: "ListKeys",
		run: func(x *conf) (any, error) { return x.c.ListKeys(x.ctx, &kms.ListKeysInput{Limit: aws.Int32(1000)}) },
		check: func(x *conf, out any) string {
			var ids []string
			for _, k := range out.(*kms.ListKeysOutput).Keys {
				ids = append(ids, *k.KeyId)
			}
			for _, alias := range []string{"alias/pending-deletion", "alias/aws/ebs", "alias/creating", "alias/mrk"} {
				if !slices.Contains(ids, x.id(alias)) {
					return fmt.Sprintf("ListKeys lacks %s (%s)", alias, x.id(alias))
				}
			}
			if len(ids) != 21 {
				return fmt.Sprintf("%d keys, want 21", len(ids))
			}
			return ""
		}},
	{ref: "§4.1 Limit 1–1000, NextMarker only when Truncated", name: "ListKeys paged by 5",
		run: func(x *conf) (any, error) {
			var pages []*kms.ListKeysOutput
			p := kms.NewListKeysPaginator(x.c, &kms.ListKeysInput{Limit: aws.Int32(5)})
			for p.HasMorePages() {
				out, err := p.NextPage(x.ctx)
				if err != nil {
					return nil, err
				}
				pages = append(pages, out)
			}
			return pages, nil
		},
		check: func(x *conf, out any) string {
			pages := out.([]*kms.ListKeysOutput)
			n := 0
			for i, p := range pages {
				n += len(p.Keys)
				if last := i == len(pages)-1; p.Truncated == last || (p.NextMarker == nil) != last {
					return fmt.Sprintf("page %d: Truncated %v NextMarker %v", i, p.Truncated, p.NextMarker)
				}
			}
			if len(pages) != 5 || n != 21 {
				return fmt.Sprintf("%d pages, %d keys, want 5 pages of 21 keys", len(pages), n)
			}
			return ""
		}},
	{ref: "§4.1 Limit out of range", name: "ListKeys Limit 1001",
		run:  func(x *conf) (any, error) { return x.c.ListKeys(x.ctx, &kms.ListKeysInput{Limit: aws.Int32(1001)}) },
		code: "ValidationException",
		msg:  "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000"},
	{ref: "§4.1 InvalidMarkerException", name: "ListKeys with a forged marker",
		run: func(x *conf) (any, error) {
			return x.c.ListKeys(x.ctx, &kms.ListKeysInput{Marker: aws.String(x.id("alias/sym"))})
		},
		code: "InvalidMarkerException"},

	// §4.3 GetKeyRotationStatus.
	{ref: "§4.3 rotation disabled: only KeyId and KeyRotationEnabled", name: "disabled status fields",
		run: func(x *conf) (any, error) { return x.raw("GetKeyRotationStatus", `{"KeyId":"{alias/sym}"}`) },
		check: func(x *conf, out any) string {
			if s := confFieldsAre("KeyId", "KeyRotationEnabled")(x, out); s != "" {
				return s
			}
			if got := confCompact(kmsFields(x.t, out.(confRaw).body)["KeyRotationEnabled"]); got != "false" {
				return "KeyRotationEnabled " + got + ", want false"
			}
			return ""
		}},
	{ref: "§4.3 rotation enabled: KeyId, KeyRotationEnabled, NextRotationDate, RotationPeriodInDays", name: "enabled status fields",
		run:   func(x *conf) (any, error) { return x.raw("GetKeyRotationStatus", `{"KeyId":"{alias/rotating}"}`) },
		check: confFieldsAre("KeyId", "KeyRotationEnabled", "NextRotationDate", "RotationPeriodInDays")},
	{ref: "§4.3 AWS managed keys: always true", name: "AWS managed status",
		run: func(x *conf) (any, error) {
			return x.c.GetKeyRotationStatus(x.ctx, &kms.GetKeyRotationStatusInput{KeyId: x.idp("alias/aws/ebs")})
		},
		check: confRotationIs(true, 365, confCreated.AddDate(0, 0, 365*2))},

	// §4.4 EnableKeyRotation.
	{ref: "§4.4 RotationPeriodInDays 90–2560: below", name: "period 1",
		run: func(x *conf) (any, error) {
			return x.c.EnableKeyRotation(x.ctx, &kms.EnableKeyRotationInput{KeyId: x.idp("alias/sym"), RotationPeriodInDays: aws.Int32(1)})
		},
		code: "ValidationException",
		msg:  "1 validation error detected: Value '1' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90"},
	{ref: "§4.4 RotationPeriodInDays 90–2560: above", name: "period 2561",
		run: func(x *conf) (any, error) {
			return x.c.EnableKeyRotation(x.ctx, &kms.EnableKeyRotationInput{KeyId: x.idp("alias/sym"), RotationPeriodInDays: aws.Int32(2561)})
		},
		code: "ValidationException",
		msg:  "1 validation error detected: Value '2561' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value less than or equal to 2560"},
	{ref: "§4.4 / §7 period; NextRotationDate = enable date + period", name: "enable with 180 days",
		run: func(x *conf) (any, error) {
			if _, err := x.c.EnableKeyRotation(x.ctx, &kms.EnableKeyRotationInput{KeyId: x.idp("alias/sym"),
				RotationPeriodInDays: aws.Int32(180)}); err != nil {
				return nil, err
			}
			return confStatus("alias/sym")(x)
		},
		check: confRotationIs(true, 180, kmsT0.AddDate(0, 0, 180))},
	{ref: "§4.4 a new period on an enabled key modifies it", name: "enable again with 90 days",
		run: func(x *conf) (any, error) {
			for _, p := range []int32{180, 90} {
				if _, err := x.c.EnableKeyRotation(x.ctx, &kms.EnableKeyRotationInput{KeyId: x.idp("alias/sym"),
					RotationPeriodInDays: aws.Int32(p)}); err != nil {
					return nil, err
				}
			}
			return confStatus("alias/sym")(x)
		},
		check: confRotationIs(true, 90, kmsT0.AddDate(0, 0, 90))},

	// §4.6 RotateKeyOnDemand.
	{ref: "§4.6 returns the key ARN; asynchronous; schedule unchanged", name: "on-demand rotation",
		run: func(x *conf) (any, error) {
			out, err := x.c.RotateKeyOnDemand(x.ctx, &kms.RotateKeyOnDemandInput{KeyId: x.idp("alias/rotating")})
			if err != nil {
				return nil, err
			}
			during, err := x.c.GetKeyRotationStatus(x.ctx, &kms.GetKeyRotationStatusInput{KeyId: x.idp("alias/rotating")})
			if err != nil {
				return nil, err
			}
			x.env.clock.Advance(2 * time.Second)
			after, err := x.c.GetKeyRotationStatus(x.ctx, &kms.GetKeyRotationStatusInput{KeyId: x.idp("alias/rotating")})
			if err != nil {
				return nil, err
			}
			rots, err := x.c.ListKeyRotations(x.ctx, &kms.ListKeyRotationsInput{KeyId: x.idp("alias/rotating")})
			return []any{out, during, after, rots}, err
		},
		check: func(x *conf, out any) string {
			o := out.([]any)
			id := aws.ToString(o[0].(*kms.RotateKeyOnDemandOutput).KeyId)
			during, after := o[1].(*kms.GetKeyRotationStatusOutput), o[2].(*kms.GetKeyRotationStatusOutput)
			rots := o[3].(*kms.ListKeyRotationsOutput).Rotations
			last := rots[len(rots)-1]
			switch {
			case id != x.arn("alias/rotating"):
				return "KeyId " + id + ", want the ARN"
			case !aws.ToTime(during.OnDemandRotationStartDate).Equal(kmsT0):
				return fmt.Sprintf("OnDemandRotationStartDate while running %v, want %v", during.OnDemandRotationStartDate, kmsT0)
			case after.OnDemandRotationStartDate != nil:
				return "OnDemandRotationStartDate after completion, want none"
			case !aws.ToTime(after.NextRotationDate).Equal(aws.ToTime(during.NextRotationDate)):
				return "NextRotationDate moved"
			case last.RotationType != types.RotationTypeOnDemand || last.KeyMaterialState != types.KeyMaterialStateCurrent:
				return fmt.Sprintf("last rotation %s %s, want ON_DEMAND CURRENT", last.RotationType, last.KeyMaterialState)
			}
			return ""
		}},
	{ref: "§4.6 limit per key (configurable), exact message", name: "limit 2", limit: 2,
		run: func(x *conf) (any, error) {
			for range 2 {
				if _, err := confRotate("alias/sym")(x); err != nil {
					return nil, err
				}
				x.env.clock.Advance(2 * time.Second)
			}
			return confRotate("alias/sym")(x)
		},
		code: "LimitExceededException",
		msg:  "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {alias/sym}"},
	{ref: "§4.6 ConflictException: automatic rotation within 20 minutes", name: "conflict",
		run: func(x *conf) (any, error) {
			st, err := x.c.GetKeyRotationStatus(x.ctx, &kms.GetKeyRotationStatusInput{KeyId: x.idp("alias/rotating")})
			if err != nil {
				return nil, err
			}
			x.env.clock.Set(st.NextRotationDate.Add(-10 * time.Minute))
			return confRotate("alias/rotating")(x)
		},
		code: "ConflictException"},

	// §4.7 ListKeyRotations.
	{ref: "§4.7 ROTATIONS_ONLY vs ALL_KEY_MATERIAL", name: "first material only with ALL_KEY_MATERIAL",
		run: func(x *conf) (any, error) {
			only, err := confRotations("alias/rotating")(x)
			if err != nil {
				return nil, err
			}
			all, err := x.c.ListKeyRotations(x.ctx, &kms.ListKeyRotationsInput{KeyId: x.idp("alias/rotating"),
				IncludeKeyMaterial: types.IncludeKeyMaterialAllKeyMaterial})
			return []*kms.ListKeyRotationsOutput{only.(*kms.ListKeyRotationsOutput), all}, err
		},
		check: func(x *conf, out any) string {
			o := out.([]*kms.ListKeyRotationsOutput)
			only, all := o[0].Rotations, o[1].Rotations
			if len(only) != 2 || len(all) != 3 || all[0].RotationDate != nil || all[0].RotationType != "" ||
				all[0].KeyMaterialState != types.KeyMaterialStateNonCurrent {
				return fmt.Sprintf("%d rotations and %d materials (first %+v), want 2 and 3 with a bare first", len(only), len(all), all[0])
			}
			return ""
		}},

	// §4.8 ListAliases.
	{ref: "§4.8 predefined aliases without TargetKeyId", name: "ListAliases",
		run: func(x *conf) (any, error) {
			return x.c.ListAliases(x.ctx, &kms.ListAliasesInput{Limit: aws.Int32(100)})
		},
		check: func(x *conf, out any) string {
			var s3, ebs *types.AliasListEntry
			for i, a := range out.(*kms.ListAliasesOutput).Aliases {
				switch aws.ToString(a.AliasName) {
				case "alias/aws/s3":
					s3 = &out.(*kms.ListAliasesOutput).Aliases[i]
				case "alias/aws/ebs":
					ebs = &out.(*kms.ListAliasesOutput).Aliases[i]
				}
			}
			if s3 == nil || s3.TargetKeyId != nil || ebs == nil || aws.ToString(ebs.TargetKeyId) != x.id("alias/aws/ebs") {
				return fmt.Sprintf("alias/aws/s3 %+v, alias/aws/ebs %+v: want s3 without a target, ebs with its key", s3, ebs)
			}
			return ""
		}},
	{ref: "§4.8 KeyId filter", name: "ListAliases of one key",
		run: func(x *conf) (any, error) {
			return x.c.ListAliases(x.ctx, &kms.ListAliasesInput{KeyId: x.idp("alias/sym")})
		},
		check: func(x *conf, out any) string {
			a := out.(*kms.ListAliasesOutput).Aliases
			if len(a) != 1 || aws.ToString(a[0].AliasName) != "alias/sym" || a[0].CreationDate == nil {
				return fmt.Sprintf("%+v, want alias/sym with dates", a)
			}
			return ""
		}},
	{ref: "§4.8 / §13 item 11 Limit 1–100 as documented", name: "ListAliases Limit 101",
		run: func(x *conf) (any, error) {
			return x.c.ListAliases(x.ctx, &kms.ListAliasesInput{Limit: aws.Int32(101)})
		},
		code: "ValidationException",
		msg:  "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"},

	// §4.9 ListResourceTags.
	{ref: "§4.9 tags; every key state (KS22)", name: "ListResourceTags",
		run: func(x *conf) (any, error) {
			return x.c.ListResourceTags(x.ctx, &kms.ListResourceTagsInput{KeyId: x.idp("alias/sym")})
		},
		check: func(x *conf, out any) string {
			var got []string
			for _, tg := range out.(*kms.ListResourceTagsOutput).Tags {
				got = append(got, *tg.TagKey+"="+*tg.TagValue)
			}
			if want := []string{"env=prod", "team=orders"}; !slices.Equal(got, want) {
				return fmt.Sprintf("%v, want %v", got, want)
			}
			return ""
		}},
	{ref: "§4.9 Limit 1–50", name: "ListResourceTags Limit 51",
		run: func(x *conf) (any, error) {
			return x.c.ListResourceTags(x.ctx, &kms.ListResourceTagsInput{KeyId: x.idp("alias/sym"), Limit: aws.Int32(51)})
		},
		code: "ValidationException",
		msg:  "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50"},

	// §4.10 CreateKey.
	{ref: "§4.10 KeyUsage required for non-symmetric specs", name: "HMAC without KeyUsage",
		run: func(x *conf) (any, error) {
			return x.c.CreateKey(x.ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256})
		},
		code: "ValidationException", msg: "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."},
	{ref: "§4.10 ValidationException for enum violations", name: "KeySpec HMAC_random",
		run: func(x *conf) (any, error) {
			return x.c.CreateKey(x.ctx, &kms.CreateKeyInput{KeySpec: "HMAC_random", KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
		},
		code: "ValidationException"},
	{ref: "§4.10 custom key stores: SYMMETRIC_DEFAULT only", name: "RSA in CloudHSM",
		run: func(x *conf) (any, error) {
			return x.c.CreateKey(x.ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify,
				Origin: types.OriginTypeAwsCloudhsm, CustomKeyStoreId: aws.String("cks-0123456789abcdef0")})
		},
		code: "UnsupportedOperationException"},
	{ref: "§4.10 MultiRegion gives mrk- IDs; §3 ReplicaKeys [] on a new primary", name: "CreateKey MultiRegion",
		run: func(x *conf) (any, error) {
			return x.c.CreateKey(x.ctx, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
		},
		check: func(x *conf, out any) string {
			md := out.(*kms.CreateKeyOutput).KeyMetadata
			if !strings.HasPrefix(*md.KeyId, "mrk-") || md.MultiRegionConfiguration == nil ||
				md.MultiRegionConfiguration.ReplicaKeys == nil || len(md.MultiRegionConfiguration.ReplicaKeys) != 0 {
				return fmt.Sprintf("%s %+v, want an mrk- primary with no replicas", *md.KeyId, md.MultiRegionConfiguration)
			}
			return ""
		}},
	{ref: "§4.10 TagException: aws: prefix", name: "reserved tag",
		run: func(x *conf) (any, error) {
			return x.c.CreateKey(x.ctx, &kms.CreateKeyInput{Tags: []types.Tag{{TagKey: aws.String("aws:x"), TagValue: aws.String("v")}}})
		},
		code: "TagException", msg: "Tags beginning with aws: are reserved"},

	// §4.11 ScheduleKeyDeletion / CancelKeyDeletion.
	{ref: "§4.11 output: KeyId is the ARN, DeletionDate, KeyState, window", name: "ScheduleKeyDeletion",
		run: confSchedule("alias/sym"),
		check: func(x *conf, out any) string {
			o := out.(*kms.ScheduleKeyDeletionOutput)
			if aws.ToString(o.KeyId) != x.arn("alias/sym") || !aws.ToTime(o.DeletionDate).Equal(kmsT0.AddDate(0, 0, 7)) ||
				o.KeyState != types.KeyStatePendingDeletion || aws.ToInt32(o.PendingWindowInDays) != 7 {
				return fmt.Sprintf("%+v, want the ARN, now+7d, PendingDeletion, 7", o)
			}
			return ""
		}},
	{ref: "§4.11 CancelKeyDeletion leaves the key Disabled; §4.3 status restored", name: "cancel deletion",
		run: func(x *conf) (any, error) {
			if _, err := x.c.CancelKeyDeletion(x.ctx, &kms.CancelKeyDeletionInput{KeyId: x.idp("alias/pending-deletion")}); err != nil {
				return nil, err
			}
			d, err := x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: x.idp("alias/pending-deletion")})
			if err != nil {
				return nil, err
			}
			s, err := confStatus("alias/pending-deletion")(x)
			return []any{d, s}, err
		},
		check: func(x *conf, out any) string {
			o := out.([]any)
			md := o[0].(*kms.DescribeKeyOutput).KeyMetadata
			if md.KeyState != types.KeyStateDisabled || md.DeletionDate != nil {
				return fmt.Sprintf("state %s, DeletionDate %v, want Disabled and none", md.KeyState, md.DeletionDate)
			}
			return confRotationIs(true, 365, confCreated.AddDate(0, 0, 365))(x, o[1])
		}},
	{ref: "§6 CancelKeyDeletion ✗4", name: "cancel on an Enabled key",
		run: func(x *conf) (any, error) {
			return x.c.CancelKeyDeletion(x.ctx, &kms.CancelKeyDeletionInput{KeyId: x.idp("alias/sym")})
		},
		code: "KMSInvalidStateException", msg: "{alias/sym} is not pending deletion."},

	// §4.12 DisableKey.
	{ref: "§4.12 idempotent on a Disabled key", name: "DisableKey twice", run: confDisableKey("alias/disabled")},

	// §4.13 ReplicateKey.
	{ref: "§4.13 replica is Creating, then Enabled; both list it", name: "ReplicateKey",
		run: func(x *conf) (any, error) {
			out, err := x.c.ReplicateKey(x.ctx, &kms.ReplicateKeyInput{KeyId: x.idp("alias/mrk"), ReplicaRegion: aws.String("ap-southeast-2")})
			if err != nil {
				return nil, err
			}
			x.env.clock.Advance(2 * time.Second)
			d, err := x.in("ap-southeast-2").DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: x.idp("alias/mrk")})
			return []any{out, d}, err
		},
		check: func(x *conf, out any) string {
			o := out.([]any)
			r := o[0].(*kms.ReplicateKeyOutput)
			md := r.ReplicaKeyMetadata
			after := o[1].(*kms.DescribeKeyOutput).KeyMetadata
			switch {
			case md.KeyState != types.KeyStateCreating || md.Enabled || md.CurrentKeyMaterialId != nil || aws.ToString(md.Description) != "":
				return fmt.Sprintf("replica %s enabled=%v material=%v description=%q, want Creating, false, none, empty",
					md.KeyState, md.Enabled, md.CurrentKeyMaterialId, aws.ToString(md.Description))
			case !strings.Contains(aws.ToString(r.ReplicaPolicy), `"Sid":"Enable IAM User Permissions"`):
				return "ReplicaPolicy " + aws.ToString(r.ReplicaPolicy) + ", want the default policy"
			case after.KeyState != types.KeyStateEnabled || after.CurrentKeyMaterialId == nil:
				return fmt.Sprintf("replica after 2s: %s, material %v, want Enabled with material", after.KeyState, after.CurrentKeyMaterialId)
			case len(after.MultiRegionConfiguration.ReplicaKeys) != 2:
				return fmt.Sprintf("ReplicaKeys %+v, want 2", after.MultiRegionConfiguration.ReplicaKeys)
			}
			return ""
		}},
	{ref: "§4.13 replicating a replica", name: "ReplicateKey on a replica",
		run: func(x *conf) (any, error) {
			return x.in("eu-west-1").ReplicateKey(x.ctx, &kms.ReplicateKeyInput{KeyId: x.idp("alias/mrk"), ReplicaRegion: aws.String("ap-southeast-2")})
		},
		code: "UnsupportedOperationException", msg: "arn:aws:kms:eu-west-1:123456789012:key/{mrk} is not a multi-region primary key."},

	{ref: "§4.6 imported key material: NEW_KEY_MATERIAL, PENDING_ROTATION, RotateKeyOnDemand", name: "imported rotation",
		run: func(x *conf) (any, error) {
			id := x.newKey(&kms.CreateKeyInput{Origin: types.OriginTypeExternal})
			var ids []string
			for i, material := range [][]byte{[]byte("first material"), []byte("second material")} {
				p, err := x.c.GetParametersForImport(x.ctx, &kms.GetParametersForImportInput{KeyId: &id,
					WrappingAlgorithm: types.AlgorithmSpecRsaesOaepSha256, WrappingKeySpec: types.WrappingKeySpecRsa2048})
				if err != nil {
					return nil, err
				}
				if !aws.ToTime(p.ParametersValidTo).Equal(kmsT0.Add(24 * time.Hour)) {
					return nil, fmt.Errorf("ParametersValidTo %v, want a day later", p.ParametersValidTo)
				}
				in := &kms.ImportKeyMaterialInput{KeyId: &id, ImportToken: p.ImportToken, EncryptedKeyMaterial: material,
					ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}
				if i == 1 {
					in.ImportType = types.ImportTypeNewKeyMaterial
				}
				out, err := x.c.ImportKeyMaterial(x.ctx, in)
				if err != nil {
					return nil, err
				}
				ids = append(ids, aws.ToString(out.KeyMaterialId))
			}
			if _, err := x.c.RotateKeyOnDemand(x.ctx, &kms.RotateKeyOnDemandInput{KeyId: &id}); err != nil {
				return nil, err
			}
			x.env.clock.Advance(2 * time.Second)
			d, err := x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: &id})
			return []any{ids, d}, err
		},
		check: func(x *conf, out any) string {
			o := out.([]any)
			ids, md := o[0].([]string), o[1].(*kms.DescribeKeyOutput).KeyMetadata
			if md.KeyState != types.KeyStateEnabled || aws.ToString(md.CurrentKeyMaterialId) != ids[1] ||
				md.ExpirationModel != types.ExpirationModelTypeKeyMaterialDoesNotExpire {
				return fmt.Sprintf("%s material %v expiration %s, want Enabled with %s, not expiring",
					md.KeyState, aws.ToString(md.CurrentKeyMaterialId), md.ExpirationModel, ids[1])
			}
			return ""
		}},
	{ref: "§4.9 TagResource / UntagResource", name: "tag, retag, untag",
		run: func(x *conf) (any, error) {
			tag := func(k, v string) types.Tag { return types.Tag{TagKey: aws.String(k), TagValue: aws.String(v)} }
			if _, err := x.c.TagResource(x.ctx, &kms.TagResourceInput{KeyId: x.idp("alias/sym"),
				Tags: []types.Tag{tag("team", "payments"), tag("cost", "42")}}); err != nil {
				return nil, err
			}
			if _, err := x.c.UntagResource(x.ctx, &kms.UntagResourceInput{KeyId: x.idp("alias/sym"), TagKeys: []string{"env"}}); err != nil {
				return nil, err
			}
			return x.c.ListResourceTags(x.ctx, &kms.ListResourceTagsInput{KeyId: x.idp("alias/sym")})
		},
		check: func(x *conf, out any) string {
			var got []string
			for _, tg := range out.(*kms.ListResourceTagsOutput).Tags {
				got = append(got, *tg.TagKey+"="+*tg.TagValue)
			}
			if want := []string{"cost=42", "team=payments"}; !slices.Equal(got, want) {
				return fmt.Sprintf("%v, want %v", got, want)
			}
			return ""
		}},
	{ref: "§4.8 CreateAlias / DeleteAlias", name: "alias round trip",
		run: func(x *conf) (any, error) {
			if _, err := x.c.CreateAlias(x.ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/new"), TargetKeyId: x.idp("alias/rsa")}); err != nil {
				return nil, err
			}
			d, err := x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/new")})
			if err != nil {
				return nil, err
			}
			if *d.KeyMetadata.KeyId != x.id("alias/rsa") {
				return nil, fmt.Errorf("alias/new names %s, want %s", *d.KeyMetadata.KeyId, x.id("alias/rsa"))
			}
			if _, err := x.c.DeleteAlias(x.ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/new")}); err != nil {
				return nil, err
			}
			return x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/new")})
		},
		code: "NotFoundException", msg: "Alias arn:aws:kms:us-east-1:123456789012:alias/new is not found."},
	{ref: "§4.8 alias names start with alias/ (recorded)", name: "CreateAlias without prefix",
		run: func(x *conf) (any, error) {
			return x.c.CreateAlias(x.ctx, &kms.CreateAliasInput{AliasName: aws.String("orders"), TargetKeyId: x.idp("alias/sym")})
		},
		code: "ValidationException", msg: `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`},
	{ref: "§6 GetKeyPolicy ✓ in every state", name: "policy of a pending-deletion key",
		run: func(x *conf) (any, error) {
			return x.c.GetKeyPolicy(x.ctx, &kms.GetKeyPolicyInput{KeyId: x.idp("alias/pending-deletion")})
		},
		check: func(x *conf, out any) string {
			o := out.(*kms.GetKeyPolicyOutput)
			if aws.ToString(o.PolicyName) != "default" || !strings.Contains(aws.ToString(o.Policy), "arn:aws:iam::123456789012:root") {
				return fmt.Sprintf("%s %s, want the default policy", aws.ToString(o.PolicyName), aws.ToString(o.Policy))
			}
			return ""
		}},

	// §5 Rotation operations by key class.
	{ref: "§5 customer symmetric × all five", name: "symmetric",
		run: func(x *conf) (any, error) {
			for _, f := range []func(*conf) (any, error){confEnable("alias/sym"), confStatus("alias/sym"),
				confRotate("alias/sym"), confRotations("alias/sym"), confDisable("alias/sym")} {
				if _, err := f(x); err != nil {
					return nil, err
				}
			}
			return nil, nil
		}},
	{ref: "§5 asymmetric × GetKeyRotationStatus: 200 false", name: "RSA status", run: confStatus("alias/rsa"),
		check: confRotationIs(false, 0, time.Time{})},
	{ref: "§5 asymmetric × EnableKeyRotation: Unsupported, empty message", name: "RSA enable",
		run: confEnable("alias/rsa"), code: "UnsupportedOperationException", msg: confNoMessage},
	{ref: "§5 asymmetric × DisableKeyRotation (UNCONFIRMED: documented Unsupported)", name: "RSA disable",
		run: confDisable("alias/rsa"), code: "UnsupportedOperationException"},
	{ref: "§5 asymmetric × RotateKeyOnDemand: Unsupported, empty message", name: "RSA on demand",
		run: confRotate("alias/rsa"), code: "UnsupportedOperationException", msg: confNoMessage},
	{ref: "§5 asymmetric × ListKeyRotations: Unsupported [I]", name: "RSA rotations",
		run: confRotations("alias/rsa"), code: "UnsupportedOperationException"},
	{ref: "§5 ML-DSA × EnableKeyRotation", name: "ML-DSA enable",
		run: confEnable("alias/ml-dsa"), code: "UnsupportedOperationException"},
	{ref: "§5 HMAC × GetKeyRotationStatus: 200 false", name: "HMAC status", run: confStatus("alias/hmac"),
		check: confRotationIs(false, 0, time.Time{})},
	{ref: "§5 HMAC × EnableKeyRotation: Unsupported", name: "HMAC enable",
		run: confEnable("alias/hmac"), code: "UnsupportedOperationException"},
	{ref: "§5 HMAC × RotateKeyOnDemand: Unsupported", name: "HMAC on demand",
		run: confRotate("alias/hmac"), code: "UnsupportedOperationException"},
	{ref: "§5 EXTERNAL × GetKeyRotationStatus (KS22 fn 6)", name: "imported status",
		run: confStatus("alias/ext"), code: "UnsupportedOperationException",
		msg: "{alias/ext} origin is EXTERNAL which is not valid for this operation."},
	{ref: "§5 EXTERNAL × EnableKeyRotation", name: "imported enable",
		run: confEnable("alias/ext"), code: "UnsupportedOperationException",
		msg: "{alias/ext} origin is EXTERNAL which is not valid for this operation."},
	{ref: "§5 EXTERNAL × RotateKeyOnDemand without pending material", name: "imported on demand",
		run: confRotate("alias/ext"), code: "KMSInvalidStateException",
		msg: "No available key material pending rotation for the key: {alias/ext}."},
	{ref: "§5 EXTERNAL × ListKeyRotations: supported", name: "imported rotations", run: confRotations("alias/ext")},
	{ref: "§5 EXTERNAL PendingImport × GetKeyRotationStatus", name: "pending import status",
		run: confStatus("alias/ext-pending"), code: "UnsupportedOperationException",
		msg: "{alias/ext-pending} origin is EXTERNAL which is not valid for this operation."},
	{ref: "§5 EXTERNAL PendingImport × RotateKeyOnDemand", name: "pending import on demand",
		run: confRotate("alias/ext-pending"), code: "KMSInvalidStateException", msg: "{alias/ext-pending} is pending import."},
	{ref: "§5 custom key store × GetKeyRotationStatus (KS22 fn 7)", name: "CloudHSM status",
		run: confStatus("alias/cloudhsm"), code: "UnsupportedOperationException",
		msg: "{alias/cloudhsm} origin is AWS_CLOUDHSM which is not valid for this operation."},
	{ref: "§5 custom key store × EnableKeyRotation", name: "XKS enable",
		run: confEnable("alias/xks"), code: "UnsupportedOperationException",
		msg: "{alias/xks} origin is EXTERNAL_KEY_STORE which is not valid for this operation."},
	{ref: "§5 custom key store × RotateKeyOnDemand", name: "CloudHSM on demand",
		run: confRotate("alias/cloudhsm"), code: "UnsupportedOperationException"},
	{ref: "§5 AWS managed × EnableKeyRotation (UNCONFIRMED: AccessDenied)", name: "AWS managed enable",
		run: confEnable("alias/aws/ebs"), code: "AccessDeniedException"},
	{ref: "§5 AWS managed × RotateKeyOnDemand (UNCONFIRMED: AccessDenied)", name: "AWS managed on demand",
		run: confRotate("alias/aws/ebs"), code: "AccessDeniedException"},
	{ref: "§5 multi-Region primary × EnableKeyRotation propagates; replica × Get shares it", name: "primary enable",
		run: func(x *conf) (any, error) {
			if _, err := x.c.EnableKeyRotation(x.ctx, &kms.EnableKeyRotationInput{KeyId: x.idp("alias/mrk"),
				RotationPeriodInDays: aws.Int32(120)}); err != nil {
				return nil, err
			}
			return x.in("eu-west-1").GetKeyRotationStatus(x.ctx, &kms.GetKeyRotationStatusInput{KeyId: x.idp("alias/mrk")})
		},
		check: confRotationIs(true, 120, kmsT0.AddDate(0, 0, 120))},
	{ref: "§5 replica × EnableKeyRotation (UNCONFIRMED: Unsupported)", name: "replica enable",
		run: func(x *conf) (any, error) {
			return x.in("eu-west-1").EnableKeyRotation(x.ctx, &kms.EnableKeyRotationInput{KeyId: x.idp("alias/mrk")})
		},
		code: "UnsupportedOperationException"},
	{ref: "§5 replica × RotateKeyOnDemand: only on the primary", name: "replica on demand",
		run: func(x *conf) (any, error) {
			return x.in("eu-west-1").RotateKeyOnDemand(x.ctx, &kms.RotateKeyOnDemandInput{KeyId: x.idp("alias/mrk")})
		},
		code: "UnsupportedOperationException"},
	{ref: "§5 order of checks: state before spec", name: "disabled RSA on demand",
		run: func(x *conf) (any, error) {
			if _, err := confDisableKey("alias/rsa")(x); err != nil {
				return nil, err
			}
			return confRotate("alias/rsa")(x)
		},
		code: "DisabledException", msg: "{alias/rsa} is disabled."},

	// §6 Key state × operation.
	{ref: "§6 Disabled × GetKeyRotationStatus ?7: status unchanged", name: "disabled status",
		run: confStatus("alias/disabled"), check: confRotationIs(true, 365, confCreated.AddDate(0, 0, 365))},
	{ref: "§6 Disabled × EnableKeyRotation ✗1", name: "disabled enable",
		run: confEnable("alias/disabled"), code: "DisabledException", msg: "{alias/disabled} is disabled."},
	{ref: "§6 Disabled × DisableKeyRotation ✗1", name: "disabled disable rotation",
		run: confDisable("alias/disabled"), code: "DisabledException", msg: "{alias/disabled} is disabled."},
	{ref: "§6 Disabled × RotateKeyOnDemand ✗1", name: "disabled on demand",
		run: confRotate("alias/disabled"), code: "DisabledException", msg: "{alias/disabled} is disabled."},
	{ref: "§6 Disabled × ScheduleKeyDeletion ✓", name: "disabled schedule", run: confSchedule("alias/disabled")},
	{ref: "§6 Disabled × ReplicateKey ✗1", name: "disabled primary replicate",
		run: func(x *conf) (any, error) {
			if _, err := confDisableKey("alias/mrk")(x); err != nil {
				return nil, err
			}
			return x.c.ReplicateKey(x.ctx, &kms.ReplicateKeyInput{KeyId: x.idp("alias/mrk"), ReplicaRegion: aws.String("ap-southeast-2")})
		},
		code: "DisabledException", msg: "{alias/mrk} is disabled."},
	{ref: "§6 PendingDeletion × GetKeyRotationStatus: returns false", name: "pending deletion status",
		run: confStatus("alias/pending-deletion"), check: confRotationIs(false, 0, time.Time{})},
	{ref: "§6 PendingDeletion × EnableKeyRotation ✗3", name: "pending deletion enable",
		run: confEnable("alias/pending-deletion"), code: "KMSInvalidStateException", msg: "{alias/pending-deletion} is pending deletion."},
	{ref: "§6 PendingDeletion × RotateKeyOnDemand ✗3", name: "pending deletion on demand",
		run: confRotate("alias/pending-deletion"), code: "KMSInvalidStateException", msg: "{alias/pending-deletion} is pending deletion."},
	{ref: "§6 PendingDeletion × DisableKey ✗3", name: "pending deletion disable",
		run: confDisableKey("alias/pending-deletion"), code: "KMSInvalidStateException", msg: "{alias/pending-deletion} is pending deletion."},
	{ref: "§6 PendingDeletion × ScheduleKeyDeletion ✗3", name: "pending deletion schedule",
		run: confSchedule("alias/pending-deletion"), code: "KMSInvalidStateException", msg: "{alias/pending-deletion} is pending deletion."},
	{ref: "§6 PendingDeletion × ListResourceTags ✓", name: "pending deletion tags",
		run: func(x *conf) (any, error) {
			return x.c.ListResourceTags(x.ctx, &kms.ListResourceTagsInput{KeyId: x.idp("alias/pending-deletion")})
		}},
	{ref: "§6 PendingImport × DisableKey ✗5", name: "pending import disable",
		run: confDisableKey("alias/ext-pending"), code: "KMSInvalidStateException", msg: "{alias/ext-pending} is pending import."},
	{ref: "§6 PendingImport × ScheduleKeyDeletion ✓", name: "pending import schedule", run: confSchedule("alias/ext-pending")},
	{ref: "§6 Unavailable × GetKeyRotationStatus ✗7", name: "unavailable status",
		run: confStatus("alias/unavailable"), code: "UnsupportedOperationException"},
	{ref: "§6 Unavailable × DisableKey ✓12 (state unchanged)", name: "unavailable disable",
		run: func(x *conf) (any, error) {
			if _, err := confDisableKey("alias/unavailable")(x); err != nil {
				return nil, err
			}
			return x.c.DescribeKey(x.ctx, &kms.DescribeKeyInput{KeyId: x.idp("alias/unavailable")})
		},
		check: func(x *conf, out any) string {
			if s := out.(*kms.DescribeKeyOutput).KeyMetadata.KeyState; s != types.KeyStateUnavailable {
				return fmt.Sprintf("state %s, want Unavailable", s)
			}
			return ""
		}},
	{ref: "§6 Creating × EnableKeyRotation ✗14", name: "creating enable",
		run: confEnable("alias/creating"), code: "KMSInvalidStateException", msg: "{alias/creating} is creating."},
	{ref: "§6 Creating × DisableKey ✗14", name: "creating disable",
		run: confDisableKey("alias/creating"), code: "KMSInvalidStateException", msg: "{alias/creating} is creating."},
	{ref: "§6 Updating × DisableKey ✗15", name: "updating disable",
		run: confDisableKey("alias/updating"), code: "KMSInvalidStateException", msg: "{alias/updating} is updating."},
	{ref: "§6 Updating × ScheduleKeyDeletion ✗15", name: "updating schedule",
		run: confSchedule("alias/updating"), code: "KMSInvalidStateException", msg: "{alias/updating} is updating."},
	{ref: "§6 Updating × EnableKeyRotation ?7", name: "updating enable", run: confEnable("alias/updating")},

	// §7 Rotation semantics.
	{ref: "§7 automatic rotation when the clock passes NextRotationDate", name: "a year later",
		run: func(x *conf) (any, error) {
			id := x.newKey(nil)
			if _, err := x.c.EnableKeyRotation(x.ctx, &kms.EnableKeyRotationInput{KeyId: &id, RotationPeriodInDays: aws.Int32(100)}); err != nil {
				return nil, err
			}
			x.env.clock.Advance(250 * 24 * time.Hour)
			rots, err := x.c.ListKeyRotations(x.ctx, &kms.ListKeyRotationsInput{KeyId: &id})
			if err != nil {
				return nil, err
			}
			st, err := x.c.GetKeyRotationStatus(x.ctx, &kms.GetKeyRotationStatusInput{KeyId: &id})
			return []any{rots, st}, err
		},
		check: func(x *conf, out any) string {
			o := out.([]any)
			rots := o[0].(*kms.ListKeyRotationsOutput).Rotations
			var dates []time.Time
			for _, r := range rots {
				if r.RotationType != types.RotationTypeAutomatic {
					return fmt.Sprintf("rotation type %s, want AUTOMATIC", r.RotationType)
				}
				dates = append(dates, aws.ToTime(r.RotationDate).UTC())
			}
			want := []time.Time{kmsT0.AddDate(0, 0, 100), kmsT0.AddDate(0, 0, 200)}
			if !slices.EqualFunc(dates, want, time.Time.Equal) {
				return fmt.Sprintf("rotations at %v, want %v", dates, want)
			}
			return confRotationIs(true, 100, kmsT0.AddDate(0, 0, 300))(x, o[1])
		}},
	{ref: "§7 re-enabling restarts the clock", name: "disable, wait, enable",
		run: func(x *conf) (any, error) {
			for _, f := range []func(*conf) (any, error){confEnable("alias/sym"), confDisable("alias/sym")} {
				if _, err := f(x); err != nil {
					return nil, err
				}
			}
			x.env.clock.Advance(30 * 24 * time.Hour)
			if _, err := confEnable("alias/sym")(x); err != nil {
				return nil, err
			}
			return confStatus("alias/sym")(x)
		},
		check: confRotationIs(true, 365, kmsT0.AddDate(0, 0, 30+365))},
	{ref: "§7 disabled keys are not rotated", name: "disabled key a year later",
		run: func(x *conf) (any, error) {
			x.env.clock.Advance(400 * 24 * time.Hour)
			return confRotations("alias/disabled")(x)
		},
		check: func(x *conf, out any) string {
			if n := len(out.(*kms.ListKeyRotationsOutput).Rotations); n != 0 {
				return fmt.Sprintf("%d rotations, want 0", n)
			}
			return ""
		}},
	{ref: "§7 AWS managed keys rotate yearly", name: "AWS managed key two years later",
		run: func(x *conf) (any, error) {
			x.env.clock.Advance(2 * 366 * 24 * time.Hour)
			return x.c.ListKeyRotations(x.ctx, &kms.ListKeyRotationsInput{KeyId: x.idp("alias/aws/ebs")})
		},
		check: func(x *conf, out any) string {
			rots := out.(*kms.ListKeyRotationsOutput).Rotations
			if len(rots) != 3 || !aws.ToTime(rots[0].RotationDate).Equal(confCreated.AddDate(0, 0, 365)) {
				return fmt.Sprintf("%d rotations (first %v), want 3 from %v", len(rots), rots[0].RotationDate, confCreated.AddDate(0, 0, 365))
			}
			return ""
		}},
}

func TestKMSConformance(t *testing.T) {
	t.Parallel()
	for _, row := range kmsConformance {
		t.Run(row.ref+"/"+row.name, func(t *testing.T) {
			t.Parallel()
			env := startKMS(t, kmsTestEstate(), row.limit)
			x := &conf{t: t, ctx: context.Background(), env: env, ids: map[string]string{}}
			x.c = env.client(DefaultAccount, "us-east-1")
			x.other = env.client(kmsOtherAccount, "us-east-1")
			out, err := row.run(x)
			code, msg := kmsErrOf(err)
			if code != row.code {
				t.Fatalf("[%s] %s: got error %q %q, want %q", row.ref, row.name, code, msg, row.code)
			}
			if row.code != "" && row.msg != "" {
				want := x.expand(row.msg)
				if row.msg == confNoMessage {
					want = ""
				}
				if msg != want {
					t.Fatalf("[%s] %s: got message %q, want %q", row.ref, row.name, msg, want)
				}
			}
			if row.code == "" && row.check != nil {
				if problem := row.check(x, out); problem != "" {
					t.Errorf("[%s] %s: %s", row.ref, row.name, problem)
				}
			}
		})
	}
}
