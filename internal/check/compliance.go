package check

import "maps"

// compliance maps this check to frameworks and their requirement IDs.
var compliance = map[string][]string{
	"CIS-1.4":   {"3.8"},
	"CIS-1.5":   {"3.8"},
	"CIS-2.0":   {"3.8"},
	"CIS-3.0":   {"3.6"},
	"CIS-4.0.1": {"3.6"},
	"CIS-5.0":   {"3.6"},
	"CIS-6.0":   {"4.6"},
	"CIS-7.0":   {"4.6"},
	"AWS-Foundational-Security-Best-Practices": {"KMS.4"},
	"NIST-800-53-Revision-5":                   {"sc_12", "sc_12_2", "sc_12_6", "cm_6_a", "cm_9_b", "sa_9_6"},
	"NIST-800-53-Revision-4":                   {"sc_12"},
	"PCI-4.0":                                  {"3.7.4.5", "3.7.5.2"},
	"HIPAA":                                    {"164_312_a_2_iv"},
	"ISO27001-2022":                            {"A.8.5", "A.8.11", "A.8.24"},
	"SOC2":                                     {"pi_1_5"},
	"FedRAMP-Moderate-Revision-4":              {"sc-12"},
	"FedRAMP-Low-Revision-4":                   {"sc-12"},
	"GDPR":                                     {"article_25", "article_30"},
}

// Compliance returns the frameworks and controls this check maps to (the
// mappings Prowler publishes for kms_cmk_rotation_enabled). Each call returns
// a fresh copy.
func Compliance() map[string][]string {
	out := make(map[string][]string, len(compliance))
	for k, v := range maps.All(compliance) {
		out[k] = append([]string(nil), v...)
	}
	return out
}
