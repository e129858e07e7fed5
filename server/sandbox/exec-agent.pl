# labrun's exec agent: one long-lived process inside a sandbox that runs the server's commands
# (check probes, setup and solve scripts) with fork and exec, instead of one Engine API exec each,
# which costs 20-50 ms of runc work per command. It runs where an exec would (the same container,
# cgroup, seccomp profile and user namespace), as the same user, so it can do nothing an exec could
# not. Only perl-base is used: every Debian image has it.
#
# Protocol, one line each way, every field hex-encoded so that no byte needs escaping:
#   run:      R <id> <max bytes> <hex cwd> <hex env "K=V\0K=V"> <hex argv0> [<hex argv1> ...]
#   kill:     K <id>            (the server's timeout passed: kill the command's process group)
#   response: D <id> <exit code or -> <killed 0|1> <truncated 0|1> <hex stdout> <hex stderr>
# Timeouts are the server's (perl-base has no sub-second clock). The agent exits when its stdin
# closes (the server went away), killing what it started.
use strict;
use warnings;
use POSIX ();
use IO::Select;

$0 = 'labrun-exec-agent';
$| = 1;
$SIG{PIPE} = 'IGNORE';

# One agent per sandbox: a server that restarted starts a new one, and the old one's stdin may stay open.
my $pidfile = '/run/labrun-exec-agent.pid';
if (open(my $old, '<', $pidfile)) {
  my $pid = <$old>;
  close($old);
  if (defined $pid && $pid =~ /^(\d+)$/ && $1 != $$ && open(my $cmd, '<', "/proc/$1/cmdline")) {
    my $line = <$cmd> // '';
    close($cmd);
    kill('KILL', $1) if $line =~ /^labrun-exec-agent/;
  }
}
if (open(my $me, '>', $pidfile)) { print $me "$$\n"; close($me); }

my $select = IO::Select->new(\*STDIN);
my %jobs;      # pid => job
my %by_fd;     # fileno => [pid, 'out' | 'err', handle]
my %pid_of;    # request id => pid
my $input = '';

sub unhex { my ($h) = @_; return pack('H*', $h); }

sub spawn {
  my ($id, $max, $cwd, $env, @argv) = @_;
  pipe(my $out_r, my $out_w) or return reply_error($id, "pipe: $!");
  pipe(my $err_r, my $err_w) or return reply_error($id, "pipe: $!");
  my $pid = fork();
  return reply_error($id, "fork: $!") unless defined $pid;
  if ($pid == 0) {
    POSIX::setpgid(0, 0);
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>&', $out_w);
    open(STDERR, '>&', $err_w);
    close($_) for ($out_r, $err_r, $out_w, $err_w);
    $SIG{PIPE} = 'DEFAULT';
    if ($cwd ne '' && !chdir($cwd)) {
      print STDERR "cannot enter $cwd: $!\n";
      POSIX::_exit(126);
    }
    for my $pair (split(/\0/, $env)) {
      my ($k, $v) = split(/=/, $pair, 2);
      $ENV{$k} = $v if defined $v && $k ne '';
    }
    { exec { $argv[0] } @argv; }
    print STDERR "$argv[0]: $!\n";
    POSIX::_exit(127);
  }
  close($out_w);
  close($err_w);
  my $job = { id => $id, max => $max, out => '', err => '', truncated => 0, open => 2, status => undef, killed => 0 };
  $jobs{$pid} = $job;
  $pid_of{$id} = $pid;
  for ([$out_r, 'out'], [$err_r, 'err']) {
    $by_fd{ fileno($_->[0]) } = [$pid, $_->[1], $_->[0]];
    $select->add($_->[0]);
  }
}

sub reply_error {
  my ($id, $message) = @_;
  print 'D ', $id, ' - 0 0 ', '', ' ', unpack('H*', "labrun-exec-agent: $message\n"), "\n";
}

sub finish_done_jobs {
  for my $pid (keys %jobs) {
    my $job = $jobs{$pid};
    next if $job->{open} > 0 || !defined $job->{status};
    my $status = $job->{status};
    my $code = $job->{killed} ? '-'
      : POSIX::WIFEXITED($status) ? POSIX::WEXITSTATUS($status)
      : 128 + POSIX::WTERMSIG($status);
    print 'D ', $job->{id}, ' ', $code, ' ', $job->{killed}, ' ', $job->{truncated}, ' ',
      unpack('H*', $job->{out}), ' ', unpack('H*', $job->{err}), "\n";
    delete $jobs{$pid};
    delete $pid_of{ $job->{id} };
  }
}

sub kill_all { kill('KILL', -$_) for keys %jobs; }

# Kills a command and what it started, and stops waiting for its output: a process that left the
# group could hold the pipes open forever.
sub kill_job {
  my ($id) = @_;
  my $pid = $pid_of{$id};
  return unless defined $pid && $jobs{$pid};
  my $job = $jobs{$pid};
  kill('KILL', -$pid);
  $job->{killed} = 1;
  $job->{status} //= 9;
  for my $fd (keys %by_fd) {
    next unless $by_fd{$fd}[0] == $pid;
    $select->remove($by_fd{$fd}[2]);
    close($by_fd{$fd}[2]);
    delete $by_fd{$fd};
  }
  $job->{open} = 0;
}

while (1) {
  # Block until something happens; poll briefly only while a command's pipes closed before it could
  # be reaped (a process closes its files a moment before its exit status is ready).
  my $unreaped = grep { $_->{open} == 0 && !defined $_->{status} } values %jobs;
  my @ready = $select->can_read($unreaped ? 0.002 : 1);
  for my $fh (@ready) {
    if (fileno($fh) == fileno(STDIN)) {
      my $n = sysread(STDIN, $input, 65536, length($input));
      if (!$n) { kill_all(); exit(0); }
      while ($input =~ s/^([^\n]*)\n//) {
        my @f = split(/ /, $1);
        if (@f >= 6 && $f[0] eq 'R') { spawn($f[1], $f[2], unhex($f[3]), unhex($f[4]), map { unhex($_) } @f[5 .. $#f]); }
        elsif (@f == 2 && $f[0] eq 'K') { kill_job($f[1]); }
      }
      next;
    }
    my $entry = $by_fd{ fileno($fh) } or next;
    my ($pid, $which, $handle) = @$entry;
    my $job = $jobs{$pid};
    my $n = sysread($fh, my $chunk, 65536);
    if (!$n) {
      $select->remove($fh);
      delete $by_fd{ fileno($fh) };
      close($handle);
      $job->{open}-- if $job;
      next;
    }
    next unless $job;
    my $room = $job->{max} - length($job->{$which});
    if ($room < length($chunk)) {
      $job->{truncated} = 1;
      $chunk = substr($chunk, 0, $room > 0 ? $room : 0);
    }
    $job->{$which} .= $chunk;
  }
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    $jobs{$pid}{status} = $? if $jobs{$pid} && !defined $jobs{$pid}{status};
  }
  finish_done_jobs();
}
