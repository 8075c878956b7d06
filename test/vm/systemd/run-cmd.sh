#!/bin/sh
# ExecStart of hostnet-vm-test.service: marks the command started, runs cmd.sh (written by
# run.sh: environment, cwd, the command), keeps its exit code for run.sh.
stty -onlcr 2>/dev/null # the host terminal adds its own \r
: >/run/hostnet-vm/started
/bin/sh /run/hostnet-vm/cmd.sh
echo $? >/run/hostnet-vm/rc
sync
