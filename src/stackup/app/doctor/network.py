"""Checks of the stack's ports: who holds each one, a listener on one loopback family
only while its check or its callers use the other, and CORS preflights from each
frontend's origins to the backends it calls."""

from __future__ import annotations

import re
import socket

from stackup.app.doctor.findings import Finding, Subject
from stackup.config.model import Service
from stackup.system import cors, ports, processes

V4, V6 = "127.0.0.1", "::1"
LOOPBACK = {"localhost", V4, V6, "0.0.0.0", "::"}


def check(subject: Subject) -> list[Finding]:
    services = [s for s in subject.services() if s.port]
    listening = ports.listeners(s.port for s in services if s.port)
    findings: list[Finding] = []
    for svc in services:
        assert svc.port is not None
        strangers = [ln for ln in listening.get(svc.port, []) if not _ours(subject, svc, ln)]
        if strangers and not svc.external:  # an external service's holder is its own
            findings.append(_held(subject, svc, strangers[0]))
        elif listening.get(svc.port) or ports.accepts(svc.port):
            findings += _one_family(subject, svc)
    findings += _cors(subject, services)
    return findings


# ---- who holds the port -------------------------------------------------------------


def _ours(subject: Subject, svc: Service, listener: ports.Listener) -> bool:
    """The service's own listener: in its process tree, or (a child that left the
    tree) carrying this stack's marker for this service."""
    if listener.pid is None:
        return False
    if listener.pid in subject.own_pids(svc.name):
        return True
    proc = processes.process_or_none(listener.pid)
    mark = processes.marker(proc) if proc else None
    return bool(mark and subject.instance and mark == (subject.instance, svc.name)
                and subject.supervisor_alive)


def _held(subject: Subject, svc: Service, holder: ports.Listener) -> Finding:
    where = subject.where(("services", svc.name, "port"))
    if holder.pid is None:
        return Finding(svc.name, "port", f"port {svc.port} is held by a process of another "
                       "user", "stop it, or give the service another port", where)
    proc = processes.process_or_none(holder.pid)
    mark = processes.marker(proc) if proc else None
    who = f"pid {holder.pid} ({holder.command})"
    if mark and mark[0] == subject.instance:
        return Finding(svc.name, "port", f"port {svc.port} is held by {who}, left running by "
                       "this stack's supervisor that died", "`stackup down` stops it")
    if mark:
        other = f"service {mark[1]}" if mark[1] else "a service"
        return Finding(svc.name, "port", f"port {svc.port} is held by {who}, {other} of "
                       "another stackup run (another folder, or an earlier run)",
                       f"stop it there with `stackup down`, or `kill {holder.pid}`")
    return Finding(svc.name, "port", f"port {svc.port} is held by {who}, which stackup did "
                   "not start", f"stop it (`kill {holder.pid}`), or give {svc.name} another "
                   "port (`--port-offset N`, or its port)", where)


# ---- the IPv6 trap --------------------------------------------------------------------


def localhost_order() -> list[str]:
    """The loopback addresses `localhost` resolves to here, first first."""
    try:
        infos = socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    order: list[str] = []
    for family, *_ in infos:
        addr = V6 if family == socket.AF_INET6 else V4
        if addr not in order:
            order.append(addr)
    return order


def _one_family(subject: Subject, svc: Service) -> list[Finding]:
    assert svc.port is not None
    v4, v6 = ports.accepts(svc.port, [V4]), ports.accepts(svc.port, [V6])
    if v4 == v6:
        return []
    has, lacks = (V6, V4) if v6 else (V4, V6)
    first_localhost = (localhost_order() or [V4])[0]
    users = _users_of(subject, svc, lacks, first_localhost)
    if not users:
        return []
    family = "IPv6" if has == V6 else "IPv4"
    if has == V6:
        fix = ("make it listen on 127.0.0.1 too (e.g. `--host 127.0.0.1` or `0.0.0.0`), or "
               "have them call [::1]")
    else:
        fix = "make it listen on ::1 too (e.g. `--host ::`), or have them call 127.0.0.1"
    return [Finding(
        svc.name, "ipv6",
        f"listens on {has} ({family}) only, but {' and '.join(users)} use {lacks}", fix,
    )]


def _users_of(subject: Subject, svc: Service, lacks: str, first_localhost: str) -> list[str]:
    """Who connects to the service on the address family it does not listen on: its
    own check, and every env value in the stack that names its port."""
    assert subject.stack is not None and svc.port is not None
    users: list[str] = []
    check = svc.health
    if check.kind in ("tcp", "http") and (check.port or svc.port) == svc.port:
        if check.host == lacks:
            # stackup's own check also tries the other loopback address, so it passed:
            # other clients do not.
            users.append(f"its health check ({check.host}; it passes only because stackup "
                         "tries both)")
        elif check.host == "localhost" and first_localhost == lacks:
            users.append(f"its health check (localhost, which is {lacks} first here)")
    host = re.escape(V4) if lacks == V4 else r"\[::1\]"
    names = rf"(?:{host}|localhost)" if first_localhost == lacks else host
    pattern = re.compile(rf"(?<![\w.]){names}:{svc.port}(?!\d)")
    seen_stack: set[str] = set()
    for other in subject.stack.services.values():
        for key, value in other.env.items():
            if key == "PORT" or not pattern.search(value):
                continue
            if subject.stack.env.get(key) == value:  # the stack's env, in every service
                if key not in seen_stack:
                    seen_stack.add(key)
                    users.append(f"the stack's env {key}")
            elif other.name != svc.name:
                users.append(f"{other.name}'s {key}")
    return users


# ---- CORS -------------------------------------------------------------------------


def origins(port: int) -> list[str]:
    """Where a browser page served on this port comes from: both loopback spellings."""
    return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]


def _cors(subject: Subject, services: list[Service]) -> list[Finding]:
    """For each service with an http check, a preflight from the origins of each
    frontend that depends on it: a service with a port that serves a web page at `/`
    (an API calling another one server to server sends no Origin)."""
    findings: list[Finding] = []
    checked = {s.name for s in services}
    pages: dict[str, bool] = {}

    def is_frontend(svc: Service) -> bool:
        if svc.name not in pages:
            assert svc.port is not None
            hosts = [V4, V6] if svc.host in LOOPBACK else [svc.host]
            pages[svc.name] = any(cors.serves_page(h, svc.port) for h in hosts)
        return pages[svc.name]

    for backend in services:
        check = backend.health
        if check.kind != "http":
            continue
        port = check.port or backend.port
        assert port is not None
        host = _connect_host(check.host)
        callers = [
            s for s in services
            if s.port and s.name in checked and any(d.name == backend.name for d in s.depends_on)
            and is_frontend(s)
        ]
        for caller in callers:
            assert caller.port is not None
            answers = {o: cors.preflight(host, port, check.path, o) for o in origins(caller.port)}
            if any(a.status is None for a in answers.values()):
                break  # it does not answer: its own findings say why
            refused = [o for o, a in answers.items() if not a.allows(o)]
            if refused:
                findings.append(_refused(subject, backend, caller, refused, answers[refused[0]]))
    return findings


def _connect_host(host: str) -> str:
    return V4 if host in ("localhost", "0.0.0.0", "::") else host


CORS_SETTING = re.compile(r"CORS|ALLOWED_ORIGINS|TRUSTED_ORIGINS", re.I)


def _refused(
    subject: Subject, backend: Service, caller: Service, refused: list[str],
    answer: cors.PreflightAnswer,
) -> Finding:
    listed = " and ".join(refused)
    problem = (f"refuses CORS preflights from {listed} ({caller.name}'s origin"
               f"{'s' if len(refused) > 1 else ''}): {answer.describe()}")
    keys = sorted((k for k in backend.env if CORS_SETTING.search(k)),
                  key=lambda k: (k != "CORS_ALLOWED_ORIGINS", k))
    if not keys:
        return Finding(backend.name, "cors", problem,
                       f"allow {listed} in {backend.name}'s CORS settings (Django with "
                       "django-cors-headers: CORS_ALLOWED_ORIGINS)")
    key = keys[0]
    for path in (("services", backend.name, "env", key), ("env", key)):
        if subject.has_key(path):
            return Finding(backend.name, "cors", problem, f"add {listed} to {key}",
                           subject.where(path))
    return Finding(backend.name, "cors", problem,
                   f"add {listed} to {key} (set in an env file)")
