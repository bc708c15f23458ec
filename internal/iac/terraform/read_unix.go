//go:build unix

package terraform

import (
	"fmt"
	"syscall"

	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
)

// readFile reads a whole file with four system calls (open, fstat, read,
// close). os.ReadFile also registers the descriptor with the runtime poller
// (fcntl and epoll_ctl calls that fail for regular files) and reads again to
// see EOF: more than twice the calls, and on 2,000 small files the system
// calls cost more than parsing them. A file over limit.FileBytes is
// limit.ErrTooLarge (the diagnostic names the file), whatever it claims its
// size is.
func readFile(path string) ([]byte, error) {
	fd, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return nil, fmt.Errorf("read %s: is a directory", path)
	}
	if st.Size > limit.FileBytes {
		return nil, limit.ErrTooLarge
	}
	buf := make([]byte, 0, max(st.Size, 512))
	for {
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		buf = buf[:len(buf)+n]
		if len(buf) > limit.FileBytes {
			return nil, limit.ErrTooLarge
		}
		// A read that fills the stat size is the whole file; a file that
		// does not report its size (a pipe, some FUSE files) is read to EOF.
		if n == 0 || (st.Size > 0 && int64(len(buf)) == st.Size) {
			return buf, nil
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

func open(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}
