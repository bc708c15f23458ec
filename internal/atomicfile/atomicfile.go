// Package atomicfile replaces files so that no reader ever sees half of
// one: the content goes to a temporary file in the same directory, which is
// synced and then renamed over the destination.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes path with what write produces. A file that exists keeps its
// permission bits; a new one gets perm. On any error the destination is left
// as it was and the temporary file is removed. path itself is replaced: a
// symbolic link there is replaced by a file (callers that mean to follow it
// resolve it first).
func Write(path string, perm fs.FileMode, write func(io.Writer) error) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}

// File is a file being written under a temporary name in its destination's
// directory, for a writer that streams (a report written as a scan goes):
// Commit puts it in place, Abort (or a failed Commit) removes it.
type File struct {
	tmp  *os.File
	path string
	perm fs.FileMode
	done bool
}

// Create starts replacing path; its permission bits are those of the file
// that exists there, else perm.
func Create(path string, perm fs.FileMode) (*File, error) {
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &File{tmp: tmp, path: path, perm: perm}, nil
}

// Write writes to the temporary file.
func (f *File) Write(p []byte) (int, error) { return f.tmp.Write(p) }

// Commit syncs the file and renames it over the destination.
func (f *File) Commit() error {
	if f.done {
		return nil
	}
	f.done = true
	fail := func(err error) error {
		f.tmp.Close()
		os.Remove(f.tmp.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := f.tmp.Chmod(f.perm); err != nil {
		return fail(err)
	}
	if err := f.tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := f.tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(f.tmp.Name(), f.path); err != nil {
		os.Remove(f.tmp.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// Abort removes the temporary file, unless committed; the destination is
// left as it was.
func (f *File) Abort() {
	if !f.done {
		f.done = true
		f.tmp.Close()
		os.Remove(f.tmp.Name())
	}
}

// WriteFile is Write with data as the content.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	})
}
