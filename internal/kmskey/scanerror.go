package kmskey

// ScanError is a failure that is not one key's: a Region whose keys could
// not be listed (ListKeys, ListAliases), an account that could not be
// entered (AssumeRole) or whose Regions could not be listed
// (DescribeRegions), an organization that could not be listed
// (ListAccounts), a file that does not parse (File, Line). Every source
// reports it and every report carries it in errors[].
type ScanError struct {
	AccountID string `json:"account_id,omitempty"`
	Region    string `json:"region,omitempty"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	Operation string `json:"operation,omitempty"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// SkippedAccount is an organization account that was not scanned because it
// is not ACTIVE (suspended, closed): listed so that no key goes missing
// unseen.
type SkippedAccount struct {
	AccountID string `json:"account_id"`
	State     string `json:"state"`
}
