package kmsemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// stateVersion is the version of the state file's layout.
const stateVersion = 1

// savedState is the state file: the estate without its keys (accounts,
// credentials, roles, organization, deny rules), the KMS service's own
// snapshot of keys and history, and how far the clock was moved.
type savedState struct {
	Version int       `json:"version"`
	SavedAt time.Time `json:"saved_at"`
	// ClockOffset is the emulated clock minus real time, in nanoseconds, so
	// that a moved clock stays moved across restarts.
	ClockOffset time.Duration `json:"clock_offset"`
	Estate      *Estate       `json:"estate"`
	KMS         []byte        `json:"kms"`
}

// persister saves the state to its file on Close and every interval.
type persister struct {
	path  string
	mu    sync.Mutex // one save at a time
	stopc chan struct{}
	done  chan struct{}
}

// load reads the state file; nil, nil when it does not exist yet.
func (p *persister) load() (*savedState, error) {
	data, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	var st savedState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("state file %s is not a kmsrotor emulator state (delete it to start afresh): %w", p.path, err)
	}
	if st.Version != stateVersion || st.Estate == nil {
		return nil, fmt.Errorf("state file %s has version %d, want %d (delete it to start afresh)", p.path, st.Version, stateVersion)
	}
	return &st, nil
}

// restoreState rebuilds the server from a state file.
func (s *Server) restoreState(st *savedState) error {
	if err := validateEstate(st.Estate); err != nil {
		return err
	}
	// The KMS service learns the accounts and their Regions from load; the
	// keys then come from its snapshot.
	if err := s.kms.load(st.Estate); err != nil {
		return fmt.Errorf("load accounts: %w", err)
	}
	if err := s.kms.restore(st.KMS); err != nil {
		return fmt.Errorf("restore keys: %w", err)
	}
	s.setEstate(st.Estate)
	if st.ClockOffset > time.Second || st.ClockOffset < -time.Second {
		s.clock.Set(time.Now().Add(st.ClockOffset))
	}
	return nil
}

// save writes the state atomically: a crash mid-write leaves the old file.
func (p *persister) save(s *Server) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	snap, err := s.kms.snapshot()
	if err != nil {
		return fmt.Errorf("snapshot keys: %w", err)
	}
	now := time.Now()
	st := savedState{
		Version:     stateVersion,
		SavedAt:     now.UTC(),
		ClockOffset: s.clock.Now().Sub(now),
		Estate:      s.estate,
		KMS:         snap,
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.path), filepath.Base(p.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), p.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// start saves the state every interval until stop.
func (p *persister) start(s *Server, interval time.Duration) {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	p.stopc = make(chan struct{})
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				// A failed periodic save is retried at the next tick; Close
				// reports the final save's error.
				p.save(s)
			case <-p.stopc:
				return
			}
		}
	}()
}

// stop ends the periodic saving and saves one last time.
func (p *persister) stop(s *Server) error {
	if p.stopc != nil {
		close(p.stopc)
		<-p.done
	}
	return p.save(s)
}
