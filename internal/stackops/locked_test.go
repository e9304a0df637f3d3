package stackops

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// A stack whose lock outlived its process must say exactly what to run; one whose holder may
// still run must say to wait first.
func TestLockedErrorSaysWhatToRun(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	msg := func(pid int, h string) string {
		cli := "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n  file:///state/.pulumi/locks/organization/p/dev/x.json: created by root@" +
			h + " (pid " + strconv.Itoa(pid) + ") at 2026-12-04T20:41:03Z"
		return (&LockedError{Verb: "updating", Stack: "dev", Holder: lockHolder(cli), Err: errors.New(cli)}).Error()
	}
	gone := msg(dead.Process.Pid, host)
	if !strings.Contains(gone, "no longer runs") || !strings.Contains(gone, "\n  pulumi cancel --stack dev --yes\n  metaflow-azure up --stack dev") {
		t.Errorf("a dead holder on this machine:\n%s", gone)
	}
	alive := msg(os.Getpid(), host)
	elsewhere := msg(dead.Process.Pid, "another-host")
	for _, m := range []string{alive, elsewhere} {
		if !strings.Contains(m, "wait for it to end") || strings.Contains(m, "no longer runs") {
			t.Errorf("a holder that may still run:\n%s", m)
		}
	}
}
