"""busybox (docker.io/library/busybox:<tag>): a deliberately tiny interpreter of the container's
command, for the forms workshops use.

Nothing from the manifest is ever executed on the host and nothing touches the filesystem:
SANDBOX_ARGV is parsed into a small tree by this file, checked completely, then evaluated by
this file. Understood:

  sleep N | sleep infinity           echo [-n] [-e] TEXT       true, false, :, exit [N]
  wget [-q] -O- [-T SEC] [-S] URL    hostname
  sh -c "SCRIPT" (also /bin/sh, ash, busybox sh), where SCRIPT is those commands joined with
  ;  &&  ||  or newlines, `while COND; do BODY; done`, quotes, $VAR, and the redirections
  >/dev/null, 2>/dev/null, 2>&1, >&2.

Anything else prints why on stderr and exits 127 before running anything. No command at all
is busybox's default `sh`, which finds no terminal and exits 0 at once. As PID 1 of its
container, busybox's sh and sleep install no SIGTERM handler, so the kernel drops the signal:
deleting the pod takes the whole grace period, then SIGKILL. The same happens here.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
import common  # noqa: E402
from common import CONTRACT  # noqa: E402

SUPPORTED = "sleep, wget, echo and while-loops"
COMMANDS = {"sleep", "wget", "echo", "true", "false", ":", "exit", "hostname"}


class Unsupported(Exception):
    """The command cannot be interpreted here; the message says why."""


class ExitShell(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def unsupported(what: str, why: str | None = None) -> Unsupported:
    return Unsupported(
        why or f'"{what}" is not supported here; the sandbox only interprets {SUPPORTED}'
    )


# ---------------------------------------------------------------------------------------------
# Lexer: words (quotes and $VAR expanded) and operators
# ---------------------------------------------------------------------------------------------

OPERATORS = (
    "&&",
    "||",
    ";;",
    "2>&1",
    ">&2",
    "1>&2",
    "2>",
    ">>",
    ";",
    "\n",
    "&",
    "|",
    ">",
    "<",
    "(",
    ")",
)


def tokenize(script: str, env: dict[str, str]) -> list[tuple[str, str]]:
    """[("word", text) | ("op", op)]. Expansion happens here: the environment is fixed."""
    tokens: list[tuple[str, str]] = []
    word: list[str] = []
    in_word = False
    i, n = 0, len(script)

    def flush() -> None:
        nonlocal word, in_word
        if in_word:
            tokens.append(("word", "".join(word)))
        word, in_word = [], False

    def expand(j: int) -> tuple[str, int]:
        """$NAME or ${NAME} at script[j] == '$'; returns (value, next index)."""
        if j + 1 < n and script[j + 1] == "(":
            raise unsupported(
                "$(...)",
                "command substitution $(...) is not supported here; "
                f"the sandbox only interprets {SUPPORTED}",
            )
        if j + 1 < n and script[j + 1] == "{":
            end = script.find("}", j + 2)
            if end < 0:
                raise Unsupported("syntax error: bad substitution")
            name = script[j + 2 : end]
            if not name.replace("_", "a").isalnum():
                raise unsupported(
                    "${" + name + "}", f"parameter expansion ${{{name}}} is not supported here"
                )
            return env.get(name, ""), end + 1
        k = j + 1
        while k < n and (script[k].isalnum() or script[k] == "_"):
            k += 1
        if k == j + 1:
            if k < n and script[k] in "?$!#@*0123456789-":
                raise unsupported(
                    f"${script[k]}", f"the special parameter ${script[k]} is not supported here"
                )
            return "$", k
        return env.get(script[j + 1 : k], ""), k

    while i < n:
        c = script[i]
        if c == "#" and not in_word:
            while i < n and script[i] != "\n":
                i += 1
            continue
        if c in " \t":
            flush()
            i += 1
            continue
        if c == "`":
            raise unsupported(
                "`...`",
                f"command substitution `...` is not supported here; "
                f"the sandbox only interprets {SUPPORTED}",
            )
        if c == "\\":
            if i + 1 < n and script[i + 1] == "\n":
                i += 2
                continue
            word.append(script[i + 1] if i + 1 < n else "")
            in_word = True
            i += 2
            continue
        if c == "'":
            end = script.find("'", i + 1)
            if end < 0:
                raise Unsupported("syntax error: unterminated quoted string")
            word.append(script[i + 1 : end])
            in_word = True
            i = end + 1
            continue
        if c == '"':
            in_word = True
            i += 1
            while True:
                if i >= n:
                    raise Unsupported("syntax error: unterminated quoted string")
                c = script[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and script[i + 1] in '"\\$`\n':
                    word.append("" if script[i + 1] == "\n" else script[i + 1])
                    i += 2
                elif c == "$":
                    value, i = expand(i)
                    word.append(value)
                elif c == "`":
                    raise unsupported("`...`", "command substitution `...` is not supported here")
                else:
                    word.append(c)
                    i += 1
            continue
        if c == "$":
            value, i = expand(i)
            word.append(value)
            in_word = True
            continue
        op = next((o for o in OPERATORS if script.startswith(o, i)), None)
        if op is not None and op[0].isdigit() and in_word:
            op = None  # "12>" is a word followed by ">", not a file-descriptor redirection
        if op is not None:
            flush()
            tokens.append(("op", op))
            i += len(op)
            continue
        word.append(c)
        in_word = True
        i += 1
    flush()
    return tokens


# ---------------------------------------------------------------------------------------------
# Parser: list / and-or / while / simple command
# ---------------------------------------------------------------------------------------------


class Simple:
    __slots__ = ("argv", "out", "err")

    def __init__(self, argv: list[str], out: str = "stdout", err: str = "stderr") -> None:
        self.argv, self.out, self.err = argv, out, err


class While:
    __slots__ = ("cond", "body")

    def __init__(self, cond: list, body: list) -> None:
        self.cond, self.body = cond, body


# A list is [(connector, node)], the connector before the node: None, ";", "&&" or "||".
Node = Simple | While


class Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def at_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1] in words

    def parse_script(self) -> list:
        items = self.parse_list(stop=())
        if self.peek() is not None:
            raise Unsupported(f'syntax error: unexpected "{self.peek()[1]}"')
        return items

    def parse_list(self, stop: tuple[str, ...]) -> list:
        items: list = []
        connector: str | None = None
        while True:
            while self.peek() in (("op", ";"), ("op", "\n")):
                self.take()
                if items:
                    connector = ";"
            tok = self.peek()
            if tok is None or (tok[0] == "word" and tok[1] in stop):
                return items
            items.append((connector, self.parse_command()))
            tok = self.peek()
            if tok is None or (tok[0] == "word" and tok[1] in stop):
                return items
            if tok[0] != "op":
                raise Unsupported(f'syntax error: unexpected "{tok[1]}"')
            if tok[1] in ("&&", "||"):
                connector = self.take()[1]
                while self.peek() == ("op", "\n"):
                    self.take()
            elif tok[1] in (";", "\n"):
                connector = ";"
            elif tok[1] == "&":
                raise unsupported("&", "background jobs (&) are not supported here")
            elif tok[1] == "|":
                raise unsupported("|", "pipes (|) are not supported here")
            else:
                raise Unsupported(f'syntax error: unexpected "{tok[1]}"')

    def parse_command(self) -> Node:
        tok = self.peek()
        assert tok is not None
        if tok == ("word", "while"):
            self.take()
            cond = self.parse_list(stop=("do",))
            if not self.at_word("do") or not cond:
                raise Unsupported('syntax error: "while" without "do"')
            self.take()
            body = self.parse_list(stop=("done",))
            if not self.at_word("done"):
                raise Unsupported('syntax error: "do" without "done"')
            self.take()
            return While(cond, body)
        if tok[0] == "word" and tok[1] in ("if", "for", "until", "case", "function"):
            raise unsupported(tok[1])
        if tok[0] == "op" and tok[1] in ("(", ")"):
            raise unsupported("(", "subshells ( ... ) are not supported here")
        argv: list[str] = []
        out, err = "stdout", "stderr"
        while True:
            tok = self.peek()
            if tok is None:
                break
            if tok[0] == "word":
                if not argv and "=" in tok[1] and tok[1].split("=", 1)[0].isidentifier():
                    raise unsupported(tok[1], "variable assignments are not supported here")
                argv.append(self.take()[1])
                continue
            op = tok[1]
            if op in (">", ">>", "2>"):
                self.take()
                target = self.take() if self.peek() and self.peek()[0] == "word" else ("word", "")
                if target[1] != "/dev/null":
                    raise unsupported(
                        f"{op} {target[1]}",
                        "redirecting to files is not supported "
                        "here (the sandbox never touches the filesystem); only "
                        "/dev/null",
                    )
                if op == "2>":
                    err = "null"
                else:
                    out = "null"
                continue
            if op == "2>&1":
                self.take()
                err = out
                continue
            if op in (">&2", "1>&2"):
                self.take()
                out = err
                continue
            if op == "<":
                raise unsupported("<", "reading from files is not supported here")
            break
        if not argv:
            raise Unsupported("syntax error: empty command")
        return check_simple(Simple(argv, out, err))


def command_name(word: str) -> str:
    """`/bin/sleep` and `/usr/bin/wget` are the same busybox applets as `sleep` and `wget`."""
    return word.rsplit("/", 1)[-1] if word.startswith(("/bin/", "/usr/bin/", "/sbin/")) else word


def check_simple(cmd: Simple) -> Simple:
    """Reject at parse time what the evaluator cannot do, so nothing runs half-way."""
    if command_name(cmd.argv[0]) == "busybox" and len(cmd.argv) > 1:
        cmd.argv = cmd.argv[1:]
    name = command_name(cmd.argv[0])
    if name not in COMMANDS:
        raise unsupported(name)
    if name == "wget":
        parse_wget(cmd.argv[1:])
    return cmd


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def sleep_seconds(args: list[str]) -> float | None:
    """busybox sleep: the sum of its arguments, with s/m/h/d suffixes and `inf`; None if bad."""
    if not args:
        return None
    total = 0.0
    for arg in args:
        scale = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(arg[-1:], 0)
        number = arg[:-1] if scale else arg
        try:
            value = float(number)
        except ValueError:
            return None
        if value < 0 or number.lower() in ("nan",):
            return None
        total += value * (scale or 1)
    return total


class WgetOptions:
    __slots__ = ("quiet", "url", "timeout", "spider", "show_headers", "headers", "agent")

    def __init__(self) -> None:
        self.quiet = False
        self.url = ""
        self.timeout = 900.0  # busybox's default network read timeout
        self.spider = False
        self.show_headers = False
        self.headers: list[str] = []
        self.agent = "Wget"


def _seconds(value: str, default: float) -> float:
    try:
        return float(value) or default
    except ValueError:
        raise Unsupported(f"wget: invalid number '{value}'") from None


def parse_wget(args: list[str]) -> WgetOptions:
    opts = WgetOptions()
    output: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("--"):
            name, has, value = arg[2:].partition("=")
            if name in ("quiet",):
                opts.quiet = True
            elif name == "spider":
                opts.spider = True
            elif name == "server-response":
                opts.show_headers = True
            elif name in ("output-document", "timeout", "header", "user-agent"):
                if not has:
                    value = args[i] if i < len(args) else ""
                    i += 1
                if name == "output-document":
                    output = value
                elif name == "timeout":
                    opts.timeout = _seconds(value, opts.timeout)
                elif name == "header":
                    opts.headers.append(value)
                else:
                    opts.agent = value
            elif name in ("no-check-certificate", "proxy"):
                pass
            else:
                raise unsupported(f"wget --{name}", f'wget option "--{name}" is not supported here')
            continue
        if arg.startswith("-") and len(arg) > 1:
            flags = arg[1:]
            while flags:
                f, flags = flags[0], flags[1:]
                if f == "q":
                    opts.quiet = True
                elif f == "s":
                    opts.spider = True
                elif f == "S":
                    opts.show_headers = True
                elif f in "OTUYt":
                    value = flags or (args[i] if i < len(args) else "")
                    if not flags:
                        i += 1
                    flags = ""
                    if f == "O":
                        output = value
                    elif f == "T":
                        opts.timeout = _seconds(value, opts.timeout)
                    elif f == "U":
                        opts.agent = value
                else:
                    raise unsupported(f"wget -{f}", f'wget option "-{f}" is not supported here')
            continue
        if opts.url:
            raise unsupported("wget", "wget with more than one URL is not supported here")
        opts.url = arg
    if not opts.url:
        raise Unsupported("wget: missing URL")
    if not opts.spider and output != "-":
        raise unsupported(
            "wget",
            'wget without "-O-" would save a file, and the sandbox never '
            'touches the filesystem: use "wget -q -O- URL"',
        )
    if not opts.url.startswith("http://") and "://" in opts.url:
        raise unsupported("wget", f"only http:// URLs are supported here, not {opts.url}")
    return opts


def split_url(url: str) -> tuple[str, int, str, str]:
    """http://host[:port]/path -> (host, port, path, Host header). busybox adds http://."""
    rest = url[len("http://") :] if url.startswith("http://") else url
    hostport, slash, path = rest.partition("/")
    path = "/" + path if slash else "/"
    host, colon, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    return host, int(port) if colon and port.isdigit() else 80, path, hostport


class Shell:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.out = sys.stdout.buffer
        self.err = sys.stderr.buffer

    def write(self, where: str, data: bytes) -> None:
        if where == "null" or not data:
            return
        stream = self.out if where == "stdout" else self.err
        try:
            stream.write(data)
            stream.flush()
        except (OSError, ValueError):
            pass

    def run_list(self, items: list) -> int:
        status = 0
        for connector, node in items:
            if (connector == "&&" and status != 0) or (connector == "||" and status == 0):
                continue
            status = self.run_node(node)
        return status

    def run_node(self, node: Node) -> int:
        if isinstance(node, While):
            status = 0
            while self.run_list(node.cond) == 0:
                status = self.run_list(node.body)
            return status
        return self.run_simple(node)

    def run_simple(self, cmd: Simple) -> int:
        name, args = command_name(cmd.argv[0]), cmd.argv[1:]
        if name in ("true", ":"):
            return 0
        if name == "false":
            return 1
        if name == "exit":
            try:
                raise ExitShell(int(args[0]) & 0xFF if args else 0)
            except ValueError:
                self.write(cmd.err, f"sh: exit: Illegal number: {args[0]}\n".encode())
                raise ExitShell(2) from None
        if name == "hostname":
            self.write(cmd.out, (CONTRACT.hostname + "\n").encode())
            return 0
        if name == "echo":
            return self.echo(cmd, args)
        if name == "sleep":
            seconds = sleep_seconds(args)
            if seconds is None:
                bad = args[0] if args else ""
                self.write(
                    cmd.err,
                    (
                        f"sleep: invalid number '{bad}'\n"
                        if args
                        else "BusyBox: sleep: missing operand\n"
                    ).encode(),
                )
                return 1
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(min(left, 3600.0))
            return 0
        if name == "wget":
            return self.wget(cmd, parse_wget(args))
        raise unsupported(name)  # check_simple keeps this from happening

    def echo(self, cmd: Simple, args: list[str]) -> int:
        newline, escapes = True, False
        while args and args[0] in ("-n", "-e", "-E", "-ne", "-en"):
            newline = newline and "n" not in args[0]
            escapes = "e" in args[0]
            args = args[1:]
        text = " ".join(args)
        if escapes:
            for seq, char in (("\\n", "\n"), ("\\t", "\t"), ("\\\\", "\\")):
                text = text.replace(seq, char)
        self.write(cmd.out, (text + ("\n" if newline else "")).encode())
        return 0

    def wget(self, cmd: Simple, opts: WgetOptions, redirects: int = 0) -> int:
        host, port, path, host_header = split_url(opts.url)
        ip = common.resolve(host)
        if ip is None:
            self.write(cmd.err, f"wget: bad address '{host}'\n".encode())
            return 1
        if not opts.quiet:
            self.write(cmd.err, f"Connecting to {host_header} ({ip}:{port})\n".encode())
        try:
            sock = socket.create_connection((ip, common.dial_port(port)), timeout=opts.timeout)
        except OSError as exc:
            reason = exc.strerror or (
                "Connection timed out" if isinstance(exc, TimeoutError) else str(exc)
            )
            self.write(cmd.err, f"wget: can't connect to remote host ({ip}): {reason}\n".encode())
            return 1
        method = "HEAD" if opts.spider else "GET"
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {host_header}",
            f"User-Agent: {opts.agent}",
            *opts.headers,
            "Connection: close",
        ]
        try:
            with sock:
                sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
                status_line, headers, body = read_response(sock, method)
        except (OSError, ValueError) as exc:
            self.write(cmd.err, f"wget: error getting response: {exc}\n".encode())
            return 1
        if opts.show_headers:
            shown = "".join(f"  {h}\n" for h in [status_line, *(f"{k}: {v}" for k, v in headers)])
            self.write(cmd.err, shown.encode())
        parts = status_line.split(" ", 2)
        code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        location = next((v for k, v in headers if k.lower() == "location"), "")
        if code in (301, 302, 303, 307, 308) and location and redirects < 20:
            if location.startswith("/"):
                location = f"http://{host_header}{location}"
            opts.url = location
            return self.wget(cmd, opts, redirects + 1)
        if not 200 <= code < 300:
            self.write(cmd.err, f"wget: server returned error: {status_line}\n".encode())
            return 1
        if not opts.quiet and not opts.spider:
            self.write(cmd.err, b"writing to stdout\n")
        if not opts.spider:
            self.write(cmd.out, body)
        if not opts.quiet and not opts.spider:
            self.write(cmd.err, b"written to stdout\n")
        return 0


def read_response(sock: socket.socket, method: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status line, headers and body of one HTTP/1.x response (length, chunked or to close)."""
    f = sock.makefile("rb")
    status_line = f.readline(65536).decode("latin-1").rstrip("\r\n")
    if not status_line.startswith("HTTP/"):
        raise ValueError("malformed response" if status_line else "connection closed")
    headers: list[tuple[str, str]] = []
    while True:
        line = f.readline(65536).decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    lookup = {k.lower(): v for k, v in headers}
    if method == "HEAD":
        return status_line, headers, b""
    if "chunked" in lookup.get("transfer-encoding", "").lower():
        body = b""
        while True:
            size = int(f.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                break
            body += f.read(size)
            f.readline(8)
        return status_line, headers, body
    if "content-length" in lookup:
        return status_line, headers, f.read(int(lookup["content-length"]))
    return status_line, headers, f.read()


# ---------------------------------------------------------------------------------------------
# Entry: the container's argv
# ---------------------------------------------------------------------------------------------


def parse_argv(argv: list[str], env: dict[str, str]) -> list:
    """The container command as a list tree; raises Unsupported for anything we do not do."""
    if not argv:
        return []
    if command_name(argv[0]) == "busybox":
        argv = argv[1:] or ["sh"]
    name = command_name(argv[0])
    if name in ("sh", "ash"):
        args = argv[1:]
        if not args:
            return []  # no terminal on stdin: the shell reads EOF and exits 0
        if args[0].startswith("-") and "c" in args[0] and set(args[0][1:]) <= set("cexu"):
            if len(args) < 2:
                raise Unsupported("sh: -c requires an argument")
            return Parser(tokenize(args[1], env)).parse_script()
        raise unsupported(
            f"{name} {args[0]}",
            f'"{name} {args[0]}" (a script file or shell '
            f"options) is not supported here; use \"sh -c '...'\" with {SUPPORTED}",
        )
    if name == "bash":
        raise unsupported(
            "bash",
            '"bash" is not in the busybox image (exec: "bash": executable '
            'file not found in $PATH); the sandbox interprets "sh -c"',
        )
    # The exec form: no shell, so no expansion or operators; one simple command.
    return [(None, check_simple(Simple(list(argv))))]


def main() -> None:
    common.ignore_signals(signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)
    env = CONTRACT.app_env()
    try:
        program = parse_argv(CONTRACT.argv, env)
    except Unsupported as exc:
        common.log(f"sandbox busybox: {exc}", sys.stderr)
        common.exit_now(127)
    code = 0
    try:
        code = Shell(env).run_list(program)
    except ExitShell as stop:
        code = stop.code
    common.exit_now(code)


if __name__ == "__main__":
    main()
