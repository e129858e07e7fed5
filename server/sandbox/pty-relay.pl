# labrun's terminal relay: runs inside a sandbox as the terminal's Engine API exec (no engine TTY),
# opens a pty there, starts the shell on it, and copies bytes between the pty and the exec's stdio,
# reading the pty only as far as the server has granted credit. Why: the engine's own TTY exec holds
# about 1.3 MB between the sandbox's pty and the server (a 1 MB fifo plus a socket), so after Ctrl-C
# under `yes` all of it still had to reach the page before the prompt did. With credit, no more than
# the window is ever past the pty, and the kernel's flush of the pty's queue on Ctrl-C (what a tty
# does on an interrupt) drops the rest, as on a local terminal. Only perl-base is used.
#
# Usage: perl -e <this> <cols> <rows> <window bytes> [K=V ...] -- <argv0> [argv1 ...]
#   (the K=V pairs go into the shell's environment only, not into this process's)
# stdin, frames of <type byte> <payload length, 4 bytes big-endian> <payload>:
#   i  keystrokes for the pty      r  resize: cols, rows (2 bytes each)      a  credit: 4 bytes
# stdout: the pty's output, raw. stderr: the relay's own errors, a line each, and flush marks: a NUL,
# "flush", a space and the count of output bytes written to stdout so far, on a line of their own.
# A mark says the tty discarded the output it held (an interrupt under ISIG without NOFLSH, or a
# program's tcflush): whatever the server holds from before that count is as stale as what the
# kernel dropped. The pty runs in packet mode (TIOCPKT) for this: the kernel reports its flushes.
# Exit status: the shell's.
# When stdin closes (the server went away), the shell's session is hung up, as a closed terminal would.
use strict;
use warnings;
use POSIX ();
use Fcntl qw(O_RDWR O_NOCTTY O_NONBLOCK F_GETFL F_SETFL);
use Errno qw(EAGAIN EINTR EIO);

$0 = 'labrun-pty-relay';

# Linux's tty ioctls, the same on x86-64 and arm64 (asm-generic).
use constant {
  TIOCGPTN => 0x80045430, TIOCSPTLCK => 0x40045431, TIOCSCTTY => 0x540E, TIOCSWINSZ => 0x5414,
  TIOCPKT => 0x5420, TIOCPKT_FLUSHWRITE => 0x02,
};

my $master;

# ioctl writes into its argument, so it gets a variable, never a constant.
sub set_size { my $ws = pack('S4', $_[1], $_[0], 0, 0); ioctl($master, TIOCSWINSZ, $ws); }

sub fail { print STDERR "labrun: the terminal could not start: $_[0]\n"; exit(125); }

my ($cols, $rows, $window, @rest) = @ARGV;
my @env;
push(@env, shift(@rest)) while @rest && $rest[0] ne '--';
shift(@rest);
fail('no command given') unless @rest && defined $window && $window > 0;

sysopen($master, '/dev/ptmx', O_RDWR | O_NOCTTY) or fail("/dev/ptmx: $!");
my $number = pack('I', 0);
ioctl($master, TIOCGPTN, $number) or fail("TIOCGPTN: $!");
my $unlock = pack('i', 0);
ioctl($master, TIOCSPTLCK, $unlock) or fail("TIOCSPTLCK: $!");
my $slave_path = '/dev/pts/' . unpack('I', $number);
set_size($cols, $rows);
# Packet mode only makes Ctrl-C quicker: a pty that refuses it still makes a terminal, without marks.
my $on = pack('i', 1);
my $packet_mode = ioctl($master, TIOCPKT, $on) ? 1 : 0;

# A handler (not the default, which ignores it) so that the child's exit interrupts select at once.
$SIG{CHLD} = sub { };
my $pid = fork();
fail("fork: $!") unless defined $pid;
if ($pid == 0) {
  POSIX::setsid();
  sysopen(my $slave, $slave_path, O_RDWR) or do { print STDERR "labrun: $slave_path: $!\n"; POSIX::_exit(125) };
  my $zero = 0;
  ioctl($slave, TIOCSCTTY, $zero);
  POSIX::dup2(fileno($slave), $_) for (0, 1, 2);
  close($slave) if fileno($slave) > 2;
  close($master);
  for my $pair (@env) {
    my ($k, $v) = split(/=/, $pair, 2);
    $ENV{$k} = $v if defined $v && $k ne '';
  }
  { exec { $rest[0] } @rest; }
  print STDERR "labrun: $rest[0]: $!\n";
  POSIX::_exit(127);
}

$SIG{PIPE} = 'IGNORE';
my $flags = fcntl($master, F_GETFL, 0);
fcntl($master, F_SETFL, $flags | O_NONBLOCK);
binmode(STDIN);
binmode(STDOUT);

my $credit = $window;
my $from_server = '';
my $to_pty = '';
my $pty_open = 1;
my $status;
# Output bytes written to stdout, the offset a flush mark names.
my $sent = 0;

sub write_all {
  my ($fh, $data) = @_;
  while (length($data) > 0) {
    my $n = syswrite($fh, $data);
    if (!defined $n) { next if $! == EINTR; return 0; }
    substr($data, 0, $n, '');
  }
  return 1;
}

sub write_output {
  write_all(\*STDOUT, $_[0]) or return 0;
  $sent += length($_[0]);
  return 1;
}

sub mark_flush { write_all(\*STDERR, "\0flush $sent\n"); }

# One read of the pty, at most $room bytes of output. In packet mode each read starts with a status
# byte, 0 and then output, or flags alone (a read with no room then only collects a status). Returns
# the output (possibly empty) and whether the kernel reported an output flush, or nothing when the pty
# gave nothing. Up to the line discipline's own few kB of older output may still follow a flush: it
# is past the queue the kernel drops, and nothing tells it apart.
sub read_pty {
  my ($room) = @_;
  return () if $room == 0 && !$packet_mode;
  my $n = sysread($master, my $got, $room + $packet_mode);
  if (!$n) {
    # EIO (or end of file): every process has closed the pty's other end; the shell's exit follows.
    $pty_open = 0 if defined $n || ($! != EAGAIN && $! != EINTR);
    return ();
  }
  return ($got, 0) if !$packet_mode;
  my $flags = ord($got);
  return (substr($got, 1), 0) if $flags == 0;
  return ('', ($flags & TIOCPKT_FLUSHWRITE) ? 1 : 0);
}

sub hang_up_and_exit {
  kill('HUP', -$pid);
  kill('CONT', -$pid);
  exit(0);
}

sub handle_frames {
  while (length($from_server) >= 5) {
    my ($type, $len) = unpack('a1 N', $from_server);
    last if length($from_server) < 5 + $len;
    my $payload = substr($from_server, 5, $len);
    substr($from_server, 0, 5 + $len, '');
    if ($type eq 'i') { $to_pty .= $payload; }
    elsif ($type eq 'a' && $len == 4) { $credit += unpack('N', $payload); $credit = $window if $credit > $window; }
    elsif ($type eq 'r' && $len == 4) {
      my ($c, $r) = unpack('n n', $payload);
      set_size($c, $r);
    }
  }
}

# Reads what the pty holds right now, credit or not: the shell has exited, this is its last word.
sub drain_pty {
  while ($pty_open) {
    my ($data, $flushed) = read_pty(65536);
    last unless defined $data;
    mark_flush() if $flushed;
    write_output($data) or return;
  }
}

while (1) {
  my ($rin, $win, $ein) = ('', '', '');
  vec($rin, fileno(STDIN), 1) = 1;
  vec($rin, fileno($master), 1) = 1 if $pty_open && $credit > 0;
  vec($win, fileno($master), 1) = 1 if $pty_open && length($to_pty) > 0;
  # A status change (the kernel's flush on Ctrl-C) shows as an exceptional condition, credit or not:
  # the server hears of it while the page is still working through a full window.
  vec($ein, fileno($master), 1) = 1 if $pty_open && $packet_mode;
  # The timeout is a backstop only: a shell that exits while a job it left holds the pty open
  # gives no end of file, so its exit is noticed by waitpid.
  my $ready = select(my $rout = $rin, my $wout = $win, my $eout = $ein, 0.5);
  if (!defined $status && waitpid($pid, POSIX::WNOHANG()) == $pid) {
    $status = $?;
    drain_pty();
    exit(POSIX::WIFEXITED($status) ? POSIX::WEXITSTATUS($status) : 128 + POSIX::WTERMSIG($status));
  }
  next if $ready <= 0;
  if (vec($rout, fileno(STDIN), 1)) {
    my $n = sysread(STDIN, $from_server, 65536, length($from_server));
    if (defined $n && $n == 0) { hang_up_and_exit(); }
    handle_frames() if $n;
  }
  if ($pty_open && vec($wout, fileno($master), 1)) {
    my $n = syswrite($master, $to_pty);
    if (defined $n) { substr($to_pty, 0, $n, ''); }
    elsif ($! != EAGAIN && $! != EINTR) { $to_pty = ''; }
  }
  if ($pty_open && (vec($rout, fileno($master), 1) || vec($eout, fileno($master), 1))) {
    # The pty hands out ~4 kB a read: gather what it has (within credit) into one write, so the
    # engine forwards fewer, bigger chunks. Without credit this only collects a status (no room).
    my $chunk = '';
    my $limit = $credit < 65536 ? $credit : 65536;
    while ($pty_open) {
      my $room = $limit - length($chunk);
      my ($data, $flushed) = read_pty($room);
      last unless defined $data;
      if ($flushed) {
        # What this pass gathered is older than the flush: drop it as the kernel dropped the rest.
        $chunk = '';
        mark_flush();
        next;
      }
      last if $data eq '' && $room == 0;
      $chunk .= $data;
    }
    if (length($chunk) > 0) {
      $credit -= length($chunk);
      write_output($chunk) or hang_up_and_exit();
    }
  }
}
