package kmsemu

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// generatedRegions are the Regions of generated accounts, in order: a spec
// with regions=R gives every account the first R.
var generatedRegions = []string{
	"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1",
	"ap-southeast-2", "us-east-2", "us-west-1", "eu-west-2", "eu-west-3",
	"eu-north-1", "ap-south-1", "ap-northeast-2", "ap-northeast-3",
	"ap-southeast-1", "ca-central-1", "sa-east-1",
}

// Limits of Generate: AWS allows 100,000 customer managed keys per account
// and Region; the total bounds the emulator's memory (about 1 KiB a key).
const (
	maxGenAccounts  = 1000
	maxGenKeys      = 100000
	maxGenTotalKeys = 2000000
)

// GenerateSpec is a parsed Generate spec.
type GenerateSpec struct {
	Accounts int     // 1 to 1000; the first is the management account
	Regions  int     // 1 to 17
	Keys     int     // per account and Region, 0 to 100,000
	Rotating float64 // fraction of keys with rotation enabled, 0 to 1
	Seed     uint64
}

// ParseGenerateSpec reads "accounts=A,regions=R,keys=K,rotating=F,seed=S";
// every part is optional (defaults 1, 1, 10, 0.5, 1).
func ParseGenerateSpec(spec string) (GenerateSpec, error) {
	g := GenerateSpec{Accounts: 1, Regions: 1, Keys: 10, Rotating: 0.5, Seed: 1}
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return g, fmt.Errorf("generate spec part %q: want name=value (accounts, regions, keys, rotating, seed)", part)
		}
		if seen[name] {
			return g, fmt.Errorf("generate spec part %q: %s is given twice", part, name)
		}
		seen[name] = true
		intIn := func(lo, hi int) (int, error) {
			n, err := strconv.Atoi(val)
			if err != nil || n < lo || n > hi {
				return 0, fmt.Errorf("generate spec part %q: %s must be a whole number from %d to %d", part, name, lo, hi)
			}
			return n, nil
		}
		var err error
		switch name {
		case "accounts":
			g.Accounts, err = intIn(1, maxGenAccounts)
		case "regions":
			g.Regions, err = intIn(1, len(generatedRegions))
		case "keys":
			g.Keys, err = intIn(0, maxGenKeys)
		case "rotating":
			f, perr := strconv.ParseFloat(val, 64)
			if perr != nil || !(f >= 0 && f <= 1) {
				err = fmt.Errorf("generate spec part %q: rotating must be a fraction from 0 to 1, e.g. 0.8", part)
			}
			g.Rotating = f
		case "seed":
			n, perr := strconv.ParseUint(val, 10, 64)
			if perr != nil {
				err = fmt.Errorf("generate spec part %q: seed must be a whole number from 0 to %d", part, uint64(math.MaxUint64))
			}
			g.Seed = n
		default:
			err = fmt.Errorf("generate spec part %q: unknown name %q; the parts are accounts, regions, keys, rotating and seed", part, name)
		}
		if err != nil {
			return g, err
		}
	}
	if total := g.Accounts * g.Regions * g.Keys; total > maxGenTotalKeys {
		return g, fmt.Errorf("generate spec %q: %d keys in all (accounts × regions × keys) is more than the %d the emulator holds", spec, total, maxGenTotalKeys)
	}
	return g, nil
}

// Generate builds an estate from "accounts=A,regions=R,keys=K,rotating=F,seed=S".
// Account 1 is the management account 123456789012 (the default
// credentials'); the others are members with OrganizationAccountAccessRole
// assumable from it. Each account has the first R of a fixed list of
// Regions (us-east-1 first) and K symmetric customer managed keys in each,
// of which round(F×K) have rotation on. The same spec gives the same estate.
func Generate(spec string) (*Estate, error) {
	g, err := ParseGenerateSpec(spec)
	if err != nil {
		return nil, err
	}
	return g.Estate(), nil
}

// Estate builds the estate the spec describes.
func (g GenerateSpec) Estate() *Estate {
	rng := rand.New(rand.NewPCG(g.Seed, g.Seed^0x5851f42d4c957f2d))
	const orgChars = "abcdefghijklmnopqrstuvwxyz0123456789"
	orgID := []byte("o-")
	for range 10 {
		orgID = append(orgID, orgChars[rng.IntN(len(orgChars))])
	}
	e := &Estate{Organization: Organization{ID: string(orgID), ManagementAccount: DefaultAccount}}
	regions := generatedRegions[:g.Regions]
	rotating := int(math.Round(g.Rotating * float64(g.Keys)))
	rot := make([]bool, g.Keys)

	e.Accounts = make([]Account, g.Accounts)
	for i := range e.Accounts {
		a := &e.Accounts[i]
		if i == 0 {
			a.ID, a.Name = DefaultAccount, "management"
		} else {
			a.ID, a.Name = fmt.Sprintf("2%011d", i), fmt.Sprintf("member-%04d", i)
			a.Roles = []Role{{Name: "OrganizationAccountAccessRole", TrustedAccounts: []string{DefaultAccount}}}
		}
		a.Email = "aws+" + a.Name + "@example.com"
		a.Regions = slices.Clone(regions)
		a.Keys = make([]KeyDef, 0, g.Keys*len(regions))
		for _, region := range regions {
			for j := range rot {
				rot[j] = j < rotating
			}
			rng.Shuffle(len(rot), func(x, y int) { rot[x], rot[y] = rot[y], rot[x] })
			for j := range g.Keys {
				app := genApps[j%len(genApps)]
				a.Keys = append(a.Keys, KeyDef{
					ID:          genUUID(rng),
					Region:      region,
					Description: app + " data key " + strconv.Itoa(j),
					Rotation:    RotationDef{Enabled: rot[j]},
					Aliases:     []string{"alias/" + app + "-" + strconv.Itoa(j)},
				})
			}
		}
	}
	return e
}

var genApps = []string{"orders", "payments", "sessions", "analytics", "backups", "logs", "search", "media"}

// genUUID returns a random version-4 UUID from rng.
func genUUID(rng *rand.Rand) string {
	var b [16]byte
	hi, lo := rng.Uint64(), rng.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
