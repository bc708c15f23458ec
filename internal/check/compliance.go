package check

import (
	"maps"
	"slices"
	"strings"
)

// compliance maps this check to frameworks and their requirement IDs: the
// 35 frameworks Prowler maps kms_cmk_rotation_enabled to (its
// prowler/compliance/aws/*.json), keyed as Prowler's OCSF output keys them
// (Framework-Version), with each CIS version's own numbering.
var compliance = map[string][]string{
	"AWS-AI-Security-Framework":                      {"AISF-INFRA-07"},
	"AWS-Foundational-Security-Best-Practices":       {"KMS.4"},
	"AWS-Well-Architected-Framework-Security-Pillar": {"SEC02-BP05"},
	"C5-2025":                      {"OIS-08.02B", "CRY-05.02B", "CRY-06.01B", "CRY-07.01B", "CRY-09.02B", "CRY-19.01B"},
	"CCC-v2025.10":                 {"CCC.Core.CN11.AR02", "CCC.Core.CN11.AR05", "CCC.Core.CN11.AR06", "CCC.KeyMgmt.CN03.AR01"},
	"CIS-1.4":                      {"3.8"},
	"CIS-1.5":                      {"3.8"},
	"CIS-2.0":                      {"3.8"},
	"CIS-3.0":                      {"3.6"},
	"CIS-4.0.1":                    {"3.6"},
	"CIS-5.0":                      {"3.6"},
	"CIS-6.0":                      {"4.6"},
	"CIS-7.0":                      {"4.6"},
	"CISA":                         {"your-systems-3"},
	"CMMC-2.0":                     {"SC.L2-3.13.10"},
	"CSA-CCM-4.0":                  {"CEK-12", "LOG-10"},
	"DORA":                         {"Art7"},
	"ENS-RD2022":                   {"op.exp.10.aws.cmk.3"},
	"FedRAMP-20x-KSI-Low":          {"ksi-svc"},
	"FedRAMP-Low-Revision-4":       {"sc-12"},
	"FedRAMP-Moderate-Revision-4":  {"sc-12"},
	"GDPR":                         {"article_25", "article_30"},
	"GxP-21-CFR-Part-11":           {"11.30"},
	"HIPAA":                        {"164_312_a_2_iv"},
	"ISO27001-2022":                {"A.8.5", "A.8.11", "A.8.24"},
	"KISA-ISMS-P-2023":             {"2.7.2", "2.10.1", "2.10.2"},
	"KISA-ISMS-P-2023-korean":      {"2.7.2", "2.10.1", "2.10.2"},
	"NIS2":                         {"11.6.2.c"},
	"NIST-800-53-Revision-4":       {"sc_12"},
	"NIST-800-53-Revision-5":       {"sc_12", "sc_12_2", "sc_12_6", "cm_6_a", "cm_9_b", "sa_9_6"},
	"PCI-4.0":                      {"3.7.4.5", "3.7.5.2"},
	"ProwlerThreatScore-1.0":       {"3.2.1"},
	"RBI-Cyber-Security-Framework": {"annex_i_1_3"},
	"SecNumCloud-3.2":              {"10.5"},
	"SOC2":                         {"pi_1_5"},
}

// frameworkIDs names each framework of compliance as Prowler's
// --compliance flag does (the stem of its compliance file), so that
// `--compliance cis_5.0_aws` means what it means to a Prowler user.
var frameworkIDs = map[string]string{
	"AWS-AI-Security-Framework":                      "aws_ai_security_framework_aws",
	"AWS-Foundational-Security-Best-Practices":       "aws_foundational_security_best_practices_aws",
	"AWS-Well-Architected-Framework-Security-Pillar": "aws_well_architected_framework_security_pillar_aws",
	"C5-2025":                      "c5_aws",
	"CCC-v2025.10":                 "ccc_aws",
	"CIS-1.4":                      "cis_1.4_aws",
	"CIS-1.5":                      "cis_1.5_aws",
	"CIS-2.0":                      "cis_2.0_aws",
	"CIS-3.0":                      "cis_3.0_aws",
	"CIS-4.0.1":                    "cis_4.0_aws",
	"CIS-5.0":                      "cis_5.0_aws",
	"CIS-6.0":                      "cis_6.0_aws",
	"CIS-7.0":                      "cis_7.0_aws",
	"CISA":                         "cisa_aws",
	"CMMC-2.0":                     "cmmc2_level2_aws",
	"CSA-CCM-4.0":                  "csa_ccm_4.0_aws",
	"DORA":                         "dora_aws",
	"ENS-RD2022":                   "ens_rd2022_aws",
	"FedRAMP-20x-KSI-Low":          "fedramp_20x_ksi_low_aws",
	"FedRAMP-Low-Revision-4":       "fedramp_low_revision_4_aws",
	"FedRAMP-Moderate-Revision-4":  "fedramp_moderate_revision_4_aws",
	"GDPR":                         "gdpr_aws",
	"GxP-21-CFR-Part-11":           "gxp_21_cfr_part_11_aws",
	"HIPAA":                        "hipaa_aws",
	"ISO27001-2022":                "iso27001_2022_aws",
	"KISA-ISMS-P-2023":             "kisa_isms_p_2023_aws",
	"KISA-ISMS-P-2023-korean":      "kisa_isms_p_2023_korean_aws",
	"NIS2":                         "nis2_aws",
	"NIST-800-53-Revision-4":       "nist_800_53_revision_4_aws",
	"NIST-800-53-Revision-5":       "nist_800_53_revision_5_aws",
	"PCI-4.0":                      "pci_4.0_aws",
	"ProwlerThreatScore-1.0":       "prowler_threatscore_aws",
	"RBI-Cyber-Security-Framework": "rbi_cyber_security_framework_aws",
	"SecNumCloud-3.2":              "secnumcloud_3.2_aws",
	"SOC2":                         "soc2_aws",
}

// Framework is one compliance framework this check maps to.
type Framework struct {
	// Key is the framework's key in a finding's compliance map (CIS-5.0).
	Key string `json:"framework"`
	// ID is Prowler's name for it (cis_5.0_aws).
	ID string `json:"id"`
	// Requirements are the framework's requirement IDs this check covers.
	Requirements []string `json:"requirements"`
}

// Frameworks lists every framework this check maps to, sorted by key.
func Frameworks() []Framework {
	out := make([]Framework, 0, len(compliance))
	for _, k := range slices.Sorted(maps.Keys(compliance)) {
		out = append(out, Framework{Key: k, ID: frameworkIDs[k], Requirements: append([]string(nil), compliance[k]...)})
	}
	return out
}

// LookupFramework finds a framework by its key (CIS-5.0) or its Prowler ID
// (cis_5.0_aws), ignoring case.
func LookupFramework(name string) (Framework, bool) {
	for _, f := range Frameworks() {
		if strings.EqualFold(name, f.Key) || strings.EqualFold(name, f.ID) {
			return f, true
		}
	}
	return Framework{}, false
}

// CloseFrameworks returns the Prowler IDs of the frameworks whose key or ID
// is close to name (a shared prefix or a small edit distance), for a usage
// error; all of them when none is close.
func CloseFrameworks(name string) []string {
	n := strings.ToLower(name)
	var close []string
	for _, f := range Frameworks() {
		id, key := strings.ToLower(f.ID), strings.ToLower(f.Key)
		family := strings.FieldsFunc(id, func(r rune) bool { return r == '_' || r == '-' })[0]
		if strings.Contains(id, n) || strings.Contains(key, n) || strings.HasPrefix(n, family) ||
			editDistance(n, id) <= 3 || editDistance(n, key) <= 3 {
			close = append(close, f.ID)
		}
	}
	if len(close) == 0 {
		for _, f := range Frameworks() {
			close = append(close, f.ID)
		}
	}
	slices.Sort(close)
	return close
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
