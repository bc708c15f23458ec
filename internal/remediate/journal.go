package remediate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Record types of the journal.
const (
	RecordBegin    = "begin"
	RecordIntent   = "intent"
	RecordApplied  = "applied"
	RecordVerified = "verified"
	RecordEnd      = "end"
)

// Record is one line of the journal: one action, fsynced before the next.
type Record struct {
	Type string    `json:"type"`
	At   time.Time `json:"at"`
	// Estate identifies the accounts the run acts on (begin).
	Estate   string   `json:"estate,omitempty"`
	Accounts []string `json:"accounts,omitempty"`

	KeyARN     string `json:"key_arn,omitempty"`
	AccountID  string `json:"account_id,omitempty"`
	Region     string `json:"region,omitempty"`
	Action     Action `json:"action,omitempty"`
	PeriodDays int    `json:"period_days,omitempty"`
	// Status is VERIFIED or FAILED (verified), OK or the error code (applied).
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// EstateID identifies an estate by its accounts: the same accounts are the
// same estate, whichever scan or report they come from.
func EstateID(accounts []string) string {
	a := slices.Sorted(slices.Values(accounts))
	a = slices.Compact(a)
	sum := sha256.Sum256([]byte(strings.Join(a, ",")))
	return hex.EncodeToString(sum[:8])
}

// DefaultJournalPath is the journal of an estate in the user's state
// directory: $XDG_STATE_HOME/kmsrotor/, else ~/.local/state/kmsrotor/.
func DefaultJournalPath(getenv func(string) string, estate string) (string, error) {
	dir := getenv("XDG_STATE_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home := getenv("HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("find the state directory: %w; pass --journal FILE", err)
			}
			home = h
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "kmsrotor", "fix-"+estate+".jsonl"), nil
}

// ErrOtherEstate is returned by OpenJournal for a journal of another estate.
var ErrOtherEstate = errors.New("journal of another estate")

// Resume is what an unfinished earlier run recorded, per key ARN.
type Resume struct {
	// Verified holds keys read back VERIFIED, with the period they were
	// verified at.
	Verified map[string]int
	// Touched holds keys whose change was started (intent) and not verified:
	// their state is read before any new call.
	Touched map[string]bool
}

// Journal appends records to a file, one JSON line each, fsynced.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	path string
	now  func() time.Time
}

// OpenJournal opens (creating it and its directory) the journal at path
// for estate. When its last run did not end, what it recorded is returned
// so that this run resumes it; a journal whose runs are of another estate is
// refused with ErrOtherEstate.
func OpenJournal(path, estate string, accounts []string, now func() time.Time) (*Journal, *Resume, error) {
	res := &Resume{Verified: map[string]int{}, Touched: map[string]bool{}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, nil, fmt.Errorf("read journal %s: %w", path, err)
	default:
		if err := readJournal(data, estate, res); err != nil {
			return nil, nil, fmt.Errorf("journal %s: %w", path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("create journal directory: %w", err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		// A kill mid-write left half a line (readJournal ignored it): cut it
		// off so the next record starts on its own line.
		if err := os.Truncate(path, int64(bytes.LastIndexByte(data, '\n')+1)); err != nil {
			return nil, nil, fmt.Errorf("repair journal %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j := &Journal{f: f, path: path, now: now}
	if err := j.Write(Record{Type: RecordBegin, Estate: estate, Accounts: accounts}); err != nil {
		f.Close()
		return nil, nil, err
	}
	return j, res, nil
}

// readJournal fills res from the last run of data if it did not end.
func readJournal(data []byte, estate string, res *Resume) error {
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			if i == len(lines)-1 || (i == len(lines)-2 && len(lines[len(lines)-1]) == 0) {
				continue // the torn last line of a killed run
			}
			return fmt.Errorf("line %d is not a kmsrotor journal record: %v", i+1, err)
		}
		switch r.Type {
		case RecordBegin:
			if r.Estate != estate {
				return fmt.Errorf("%w: it records estate %s (accounts %s), not this one (%s)", ErrOtherEstate, r.Estate, strings.Join(r.Accounts, ", "), estate)
			}
			// A new run: what an ended run did is history; what an unfinished
			// one did carries over, since its keys were not all settled.
		case RecordEnd:
			clear(res.Verified)
			clear(res.Touched)
		case RecordIntent:
			res.Touched[r.KeyARN] = true
		case RecordVerified:
			if r.Status == StatusVerified {
				res.Verified[r.KeyARN] = r.PeriodDays
				delete(res.Touched, r.KeyARN)
			}
		case RecordApplied:
		default:
			return fmt.Errorf("line %d has an unknown record type %q", i+1, r.Type)
		}
	}
	return nil
}

// Write appends r, stamped with the time, and fsyncs the file.
func (j *Journal) Write(r Record) error {
	if j == nil {
		return nil
	}
	r.At = j.now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal %s: %w", j.path, err)
	}
	return nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Close closes the file.
func (j *Journal) Close() error {
	if j == nil {
		return nil
	}
	return j.f.Close()
}

// JournalWriter is what Apply records to; nil records nothing.
type JournalWriter interface{ Write(Record) error }
