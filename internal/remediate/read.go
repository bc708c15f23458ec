package remediate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// ErrNotReport is returned by ReadFindings for input that is not a
// kmsrotor scan report of live AWS.
var ErrNotReport = errors.New("not a kmsrotor scan report")

// ReadFindings reads the findings of a kmsrotor scan report: the JSON
// document (--output json) or JSON lines (--output jsonl), calling fn for
// each. It is the stand-in for report.Read, which will replace it; only
// findings of live keys (source aws) are accepted, since fix acts on AWS.
func ReadFindings(r io.Reader, fn func(*check.Finding) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	head, _ := br.Peek(4096)
	head = bytes.TrimSpace(head)
	if len(head) == 0 || head[0] != '{' {
		return fmt.Errorf("%w: it does not start with a JSON object", ErrNotReport)
	}
	// The document starts with schema_version; a JSON-lines report starts
	// with a finding.
	dec := json.NewDecoder(br)
	var first map[string]json.RawMessage
	if err := dec.Decode(&first); err != nil {
		return fmt.Errorf("%w: %v", ErrNotReport, err)
	}
	if raw, ok := first["findings"]; ok {
		if _, ok := first["schema_version"]; !ok {
			return fmt.Errorf("%w: it has no schema_version", ErrNotReport)
		}
		var tool struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(first["tool"], &tool)
		if tool.Name != "kmsrotor" {
			return fmt.Errorf("%w: its tool is %q", ErrNotReport, tool.Name)
		}
		var fs []check.Finding
		if err := json.Unmarshal(raw, &fs); err != nil {
			return fmt.Errorf("%w: its findings do not decode: %v", ErrNotReport, err)
		}
		for i := range fs {
			if err := accept(&fs[i]); err != nil {
				return err
			}
			if err := fn(&fs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	line := 1
	for obj := first; ; line++ {
		if _, ok := obj["summary"]; ok {
			return nil
		}
		if _, ok := obj["check_id"]; !ok {
			return fmt.Errorf("%w: line %d is neither a finding nor the summary", ErrNotReport, line)
		}
		b, _ := json.Marshal(obj)
		var f check.Finding
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("%w: line %d: %v", ErrNotReport, line, err)
		}
		if err := accept(&f); err != nil {
			return err
		}
		if err := fn(&f); err != nil {
			return err
		}
		obj = nil
		if err := dec.Decode(&obj); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("%w: line %d: %v", ErrNotReport, line+1, err)
		}
	}
}

func accept(f *check.Finding) error {
	if f.CheckID != check.CheckID {
		return fmt.Errorf("%w: a finding has check_id %q", ErrNotReport, f.CheckID)
	}
	if f.Source != "aws" || f.KeyARN == "" {
		return fmt.Errorf("%w of live AWS: it holds findings of %s files; fix those with kmsrotor iac --fix", ErrNotReport, f.Source)
	}
	return nil
}
